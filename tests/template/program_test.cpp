// The compiled program: what is folded at load, what varies per request
// (decisions and holes), variants, memos, the lookup fast path, purity, and the
// request path's memory.

#include <gtest/gtest.h>

#include "tests/template/sprig_fixture.hpp"

namespace {

using namespace meshinject::test;
namespace tt = meshinject::tmpl;

TEST(template_folding, configuration_only_expressions_are_folded) {
  const auto prog = compile_test_template(
      "a: {{ .Config.name }}\n{{ if gt .Config.num 0 }}c: 1{{ end }}\n{{ range .Config.list }}- {{ . }}\n{{ end }}"
      "{{ $x := .Config.num }}d: {{ $x }}\n{{ with .Config.nested }}{{ .a.b }}{{ end }}{{ upper \"k\" }}");
  EXPECT_EQ(prog->decision_count(), 0u);
  EXPECT_EQ(prog->hole_sites(), 0u);
  test_data d;
  const exec_result r = run_program(*prog, d);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_TRUE(r.trace.empty());
  EXPECT_EQ(r.holes, 0u);
  EXPECT_EQ(r.out, "a: demo\nc: 1\n- a\n- b\n- c\nd: 3\ndeepK");
}

TEST(template_folding, per_request_parts_are_decisions_and_holes) {
  const auto prog = compile_test_template(
      "{{ .Name }} {{ .Config.name }}\n{{ if .Labels }}L{{ end }}{{ index .Labels \"x\" }}\n"
      "{{ range .Items }}{{ .Name }}{{ end }}{{ $n := .Name }}{{ $n }}");
  EXPECT_EQ(prog->decision_count(), 2u);  // the if and the range
  EXPECT_EQ(prog->hole_sites(), 4u);      // name, index, .Name in the range, $n
}

TEST(template_folding, impure_functions_are_not_folded) {
  // `stamp` may not run at load; `upper` may.
  const auto prog = compile_test_template("{{ stamp }} {{ upper \"a\" }}");
  test_data d;
  EXPECT_EQ(run_program(*prog, d).out, "stamp A");
}

TEST(template_folding, a_failing_constant_is_left_for_the_request) {
  // Folding does not fail the load; the request that reaches it does.
  const auto prog = compile_test_template("{{ if .Labels }}{{ index .Config.list 9 }}{{ end }}");
  test_data d;
  EXPECT_TRUE(contains(run_program(*prog, d).error, "index out of range"));
  d.labels.clear();
  EXPECT_TRUE(run_program(*prog, d).ok);
}

TEST(template_variants, traces_follow_the_decisions_only) {
  const auto prog = compile_test_template("{{ if .Labels.app }}A{{ end }}{{ range .List }}x{{ end }}{{ .Name }}");
  test_data a, b, c;
  b.name = "other";
  c.labels.clear();
  const exec_result ra = run_program(*prog, a), rb = run_program(*prog, b), rc = run_program(*prog, c);
  EXPECT_EQ(ra.trace, rb.trace);  // the name is a hole, not a decision
  EXPECT_NE(ra.trace, rc.trace);
  EXPECT_EQ(ra.out, "Axxxweb-1");
  EXPECT_EQ(rb.out, "Axxxother");
  EXPECT_EQ(rc.out, "xxxweb-1");
}

TEST(template_variants, holes_are_values_and_renders_have_placeholders) {
  const auto prog = compile_test_template("<{{ .Name }}|{{ .Count }}|{{ .Config.name }}>");
  test_data d;
  tt::trace_state state;
  ASSERT_TRUE(prog->trace(test_root(d), state)) << state.error;
  ASSERT_EQ(state.holes.size(), 2u);
  EXPECT_EQ(state.holes[0].s, "web-1");
  EXPECT_EQ(state.holes[1].i, 3);
  tt::render_result rendered;
  std::string error;
  ASSERT_TRUE(prog->render(test_root(d), state.trace, rendered, error)) << error;
  EXPECT_EQ(rendered.text, "<" + std::string(tt::hole_open) + "0" + std::string(tt::hole_close) + "|" +
                               std::string(tt::hole_open) + "1" + std::string(tt::hole_close) + "|demo>");
  ASSERT_EQ(rendered.holes.size(), 2u);
  EXPECT_EQ(rendered.holes[1].pos, 13u);
}

TEST(template_variants, a_render_needs_the_whole_trace) {
  const auto prog = compile_test_template("{{ if .Labels }}x{{ end }}");
  test_data d;
  tt::render_result rendered;
  std::string error;
  EXPECT_FALSE(prog->render(test_root(d), {}, rendered, error));
  EXPECT_TRUE(contains(error, "variant key too short"));
}

TEST(template_lookups, index_of_a_map_from_the_root_runs_as_one_lookup) {
  const auto prog = compile_test_template("{{ index .Labels \"app\" }}|{{ index .Labels \"nope\" }}|{{ .Name }}");
  test_data d;
  const int before = test_binding().fetches;
  const exec_result r = run_program(*prog, d);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.out, "web||web-1");
  // Two planned lookups of `.Labels` share one fetch; the resolved `.Name` chain is the other.
  EXPECT_EQ(test_binding().fetches - before, 2);
}

TEST(template_lookups, a_resolved_chain_is_fetched_once_per_trace_and_again_for_the_next) {
  const auto prog = compile_test_template(
      "{{ index .Labels \"app\" }}|{{ index .Labels \"tier\" }}|{{ len .Labels }}|{{ if index .Labels \"x\" }}X{{ end }}");
  EXPECT_EQ(prog->fetch_slots(), 1u);
  test_data d;
  tt::trace_state state;  // one state for both requests, as a reactor keeps it
  const int before = test_binding().fetches;
  ASSERT_TRUE(prog->trace(test_root(d), state)) << state.error;
  EXPECT_EQ(test_binding().fetches - before, 1);
  ASSERT_EQ(state.holes.size(), 3u);
  EXPECT_EQ(state.holes[0].s, "web");
  EXPECT_EQ(state.holes[1].s, "front");
  EXPECT_EQ(state.holes[2].i, 2);
  const std::vector<std::uint8_t> without_x = state.trace;

  // The next request brings other labels: nothing of the first is read back.
  test_data other;
  other.labels = {{"app", "api"}, {"x", "1"}, {"tier", "back"}};
  ASSERT_TRUE(prog->trace(test_root(other), state)) << state.error;
  EXPECT_EQ(test_binding().fetches - before, 2);
  ASSERT_EQ(state.holes.size(), 3u);
  EXPECT_EQ(state.holes[0].s, "api");
  EXPECT_EQ(state.holes[1].s, "back");
  EXPECT_EQ(state.holes[2].i, 3);
  EXPECT_NE(state.trace, without_x);  // the label changed the branch: another variant
}

TEST(template_memo, a_repeated_scope_free_expression_is_evaluated_once_per_request) {
  const auto prog = compile_test_template("{{ index .Labels \"app\" }}{{ index .Labels \"app\" }}{{ index .Labels \"app\" }}");
  EXPECT_EQ(prog->memo_slots(), 1u);
  test_data d;
  const int before = test_binding().fetches;
  EXPECT_EQ(run_program(*prog, d).out, "webwebweb");
  EXPECT_EQ(test_binding().fetches - before, 1);
  // The next request starts afresh.
  d.labels = {{"app", "api"}};
  EXPECT_EQ(run_program(*prog, d).out, "apiapiapi");
}

TEST(template_memo, a_per_request_chain_without_accessor_is_walked_once_per_trace) {
  // `.Labels.app` has no accessor (the test binding resolves `.Labels` alone):
  // two different pipelines read it, and it is walked by name once per request.
  const auto prog = compile_test_template("{{ printf \"<%s>\" .Labels.app }}|{{ eq .Labels.app \"web\" }}");
  EXPECT_EQ(prog->memo_slots(), 3u);  // the two pipelines and the chain
  test_data d;
  tt::trace_state state;
  const int before = test_binding().field_reads;
  ASSERT_TRUE(prog->trace(test_root(d), state)) << state.error;
  EXPECT_EQ(test_binding().field_reads - before, 1);
  ASSERT_EQ(state.holes.size(), 2u);
  EXPECT_EQ(state.holes[0].s, "<web>");
  EXPECT_TRUE(state.holes[1].b);

  test_data other;
  other.labels = {{"app", "api"}};
  ASSERT_TRUE(prog->trace(test_root(other), state)) << state.error;
  EXPECT_EQ(test_binding().field_reads - before, 2);
  ASSERT_EQ(state.holes.size(), 2u);
  EXPECT_EQ(state.holes[0].s, "<api>");
  EXPECT_FALSE(state.holes[1].b);
  EXPECT_EQ(run_program(*prog, other).out, "<api>|false");
}

TEST(template_trace, visits_the_pod_dependent_nodes_inside_configuration_and_nothing_else) {
  // Text and constant actions around and between the per-request parts; the
  // per-request `if` and hole sit inside a constant `if` and a constant `with`.
  const auto prog = compile_test_template(
      "a{{ .Config.name }}b{{ if .Config.num }}c{{ .Config.name }}{{ if .Labels.app }}{{ .Name }}{{ end }}d{{ end }}"
      "{{ with .Config.nested }}{{ .a.b }}{{ $.Name }}{{ end }}{{ range .Config.list }}{{ . }}{{ end }}e");
  EXPECT_EQ(prog->traced_top_nodes(), 2u);  // the constant `if` and the `with`, which hold per-request parts
  test_data d;
  tt::trace_state state;
  ASSERT_TRUE(prog->trace(test_root(d), state)) << state.error;
  ASSERT_EQ(state.holes.size(), 2u);
  EXPECT_EQ(state.holes[0].s, "web-1");
  EXPECT_EQ(state.holes[1].s, "web-1");
  // The constant if, the per-request if, its hole, the with and its hole: the
  // constant range and every text node cost no step.
  EXPECT_EQ(state.steps, 5u);
  EXPECT_EQ(run_program(*prog, d).out, "ademobcdemoweb-1ddeepweb-1abce");

  test_data unlabelled;
  unlabelled.labels.clear();
  const exec_result r = run_program(*prog, unlabelled);
  EXPECT_EQ(r.out, "ademobcdemoddeepweb-1abce");
  ASSERT_TRUE(prog->trace(test_root(unlabelled), state)) << state.error;
  EXPECT_EQ(state.holes.size(), 1u);
}

// The flat form against the tree walk for one template and one data set: the
// outcome, error, steps, trace key and every hole (kind and printed value).
void expect_flat_traces_as_walk(const tt::program& prog, const test_data& d, const std::string& where) {
  tt::trace_state flat, walked;
  const bool flat_ok = prog.trace(test_root(d), flat);
  const bool walk_ok = prog.trace_by_walk(test_root(d), walked);
  ASSERT_EQ(flat_ok, walk_ok) << where << ": " << flat.error << " / " << walked.error;
  EXPECT_EQ(flat.error, walked.error) << where;
  EXPECT_EQ(flat.steps, walked.steps) << where;
  EXPECT_EQ(flat.trace, walked.trace) << where;
  ASSERT_EQ(flat.holes.size(), walked.holes.size()) << where;
  for (std::size_t h = 0; h < flat.holes.size(); ++h) {
    std::string a, b;
    tt::print_value(flat.holes[h], a);
    tt::print_value(walked.holes[h], b);
    EXPECT_EQ(flat.holes[h].k, walked.holes[h].k) << where << ", hole " << h;
    EXPECT_EQ(a, b) << where << ", hole " << h;
  }
}

// trace() runs the flat form of the traced nodes (ifs as jumps, lookups,
// eq/ne against a constant string, and/or and declarations in place); trace_by_walk() is the
// tree walk it replaced. Same result, key, holes, steps and error, whichever way
// each condition goes.
TEST(template_trace, the_flat_form_traces_as_the_tree_walk) {
  const char* const templates[] = {
      "{{ if and (index .Labels \"app\") (eq .Name \"web-1\") }}A{{ else }}B{{ end }}",
      "{{ if or (index .Labels \"x\") (index .Labels \"tier\") .Name }}A{{ .Name }}{{ else }}B{{ end }}",
      "{{ if and .Labels (ne (index .Labels \"app\") \"web\") }}{{ range .List }}{{ . }}{{ end }}{{ end }}|"
      "{{ if and .Labels (ne (index .Labels \"app\") \"web\") }}again{{ end }}",
      "{{ if eq .Name \"web-1\" }}a{{ else if ne \"other\" .Name }}b{{ else }}c{{ end }}",
      "{{ if (index .Labels \"app\") }}{{ if (eq (index .Labels \"app\") \"web\") }}w{{ end }}{{ end }}"
      "{{ if (eq (index .Labels \"app\") \"web\") }}W{{ else }}{{ index .Labels \"tier\" }}{{ end }}",
      "{{ if eq .Count \"3\" }}mixed types fail in eq{{ end }}",
      "{{ if and (eq .Name \"web-1\") (eq .Count \"3\") }}the second operand fails when reached{{ end }}",
      "{{ if or .Labels (eq .Count \"3\") }}or stops at the first true{{ end }}",
      "{{ if .Labels }}{{ .Name }}{{ index .Labels \"app\" }}{{ else }}none{{ end }}{{ .Count }}",
      "{{ $n := .Name }}{{ if eq $n \"web-1\" }}{{ $n }}{{ end }}",
      // Declarations: of a planned lookup, of eq/ne (bare, parenthesised,
      // after the same condition filled its memo slot), of an expression the
      // evaluator runs, of a constant, and an assignment in a body.
      "{{ $a := (index .Labels \"app\") }}{{ $b := (eq (index .Labels \"app\") \"web\") }}"
      "{{ $c := ne .Name \"web-1\" }}{{ $d := printf \"%s/%v\" .Name $a }}{{ $k := (print \"k\") }}"
      "{{ if $b }}{{ $a }}{{ end }}{{ $c }}{{ $d }}{{ $k }}",
      "{{ if eq (index .Labels \"app\") \"web\" }}x{{ end }}{{ $b := (eq (index .Labels \"app\") \"web\") }}{{ $b }}"
      "{{ $t := ((index .Labels \"tier\")) }}{{ $t }}",
      "{{ $x := \"none\" }}{{ if .Labels }}{{ $x = index .Labels \"app\" }}{{ end }}{{ $x }}",
      "{{ $e := (eq .Count \"3\") }}declared: mixed types fail in eq{{ $e }}",
      "{{ $e := ne .Count \"3\" }}declared bare: mixed types fail in ne{{ $e }}",
  };
  auto variant = [](int k, test_data& d) {
    if (k == 1) d.labels.clear();
    if (k == 2) d.name = "other";
    if (k == 3) d.labels = {{"app", "api"}, {"x", "1"}};
  };
  for (const char* text : templates) {
    const auto prog = compile_test_template(text);
    for (int k = 0; k < 4; ++k) {
      test_data d;
      variant(k, d);
      expect_flat_traces_as_walk(*prog, d, std::string(text) + ", data " + std::to_string(k));
    }
  }
  // The cases above do fail somewhere (eq of an int and a string).
  const test_data d;
  EXPECT_FALSE(run_program(*compile_test_template(templates[5]), d).ok);
}

// `index .A.B "k" | default X ...` runs in the flat form without its generic
// calls (node.hpp, default_chain): values, steps, memo slots and errors as the
// walk's, whether the key is there, empty or absent, and whatever follows.
TEST(template_trace, default_chains_trace_as_the_tree_walk) {
  const char* const templates[] = {
      "{{ index .Labels \"app\" | default \"none\" }}",
      "{{ index .Labels \"x\" | default (index .Labels \"tier\") | default .Name | quote }}",
      "{{ index .Labels \"x\" | default \"\" | default .Name | trunc 3 }}|{{ index .Labels \"x\" | default \"\" | default .Name | trunc 3 }}",
      "{{ index .Labels (print \"ap\" \"p\") | default .Count }}",
      "{{ index .Labels \"app\" | quote }}",
      "{{ $v := index .Labels \"x\" | default \"d\" }}{{ $v }}",
      "{{ if eq (index .Labels \"app\" | default \"web\") \"web\" }}w{{ else }}o{{ end }}",
      "{{ with index .Labels \"tier\" | default .Name }}{{ . }}{{ end }}",
      "{{ range $i, $x := .List }}{{ index $.Labels \"x\" | default $x }}{{ end }}",
      "{{ index .Labels \"app\" | default \"a\" | trunc \"x\" }}",
      "{{ index .Labels \"x\" | default .Nil | default .Count }}",
      // A per-request chain with no accessor (its memo slot) as the map, with
      // or without defaults after it.
      "{{ index .Map \"alpha\" }}{{ index .Map \"zeta\" | default 7 }}{{ index .Map \"none\" | default \"n\" }}",
      "{{ if eq (index .Map \"alpha\") \"x\" }}x{{ end }}{{ if eq (index .Map \"alpha\") \"y\" }}y{{ end }}",
      "{{ index .Nil \"k\" }}",
      "{{ index .List \"k\" | default \"d\" }}",
  };
  auto variant = [](int k, test_data& d) {
    if (k == 1) d.labels.clear();
    if (k == 2) d.labels = {{"app", ""}, {"x", "1"}, {"tier", ""}};
    if (k == 3) d.has_labels = false;
  };
  for (const char* text : templates) {
    const auto prog = compile_sprig_template(text);
    EXPECT_GE(prog->default_chains(), 1u) << text;
    for (int k = 0; k < 4; ++k) {
      test_data d;
      variant(k, d);
      expect_flat_traces_as_walk(*prog, d, std::string(text) + ", data " + std::to_string(k));
    }
  }
  // And the values are the ones Go gives.
  EXPECT_EQ(sout(templates[1]), "\"front\"");
  EXPECT_EQ(sout(templates[1], [](test_data& d) { d.labels.clear(); }), "\"web-1\"");
  EXPECT_EQ(sout(templates[2], [](test_data& d) { d.labels = {{"x", ""}}; }), "web|web");
  EXPECT_EQ(sout(templates[3], [](test_data& d) { d.labels = {{"app", ""}}; }), "3");
  EXPECT_NE(serror(templates[9]).find("wrong type"), std::string::npos);
  EXPECT_EQ(sout(templates[11]), "x1n");
  EXPECT_EQ(sout(templates[12]), "x");
  EXPECT_NE(serror(templates[13]).find("index of untyped nil"), std::string::npos);
}

TEST(template_trace, the_flat_form_hands_with_and_range_to_the_walk) {
  const auto ifs = compile_test_template("{{ if .Labels }}{{ .Name }}{{ else if eq .Name \"x\" }}x{{ end }}{{ .Count }}");
  EXPECT_EQ(ifs->trace_walks(), 0u);
  EXPECT_EQ(ifs->trace_ops(), 5u);  // if, hole, jump over the else, the else's if (its body is text), hole
  const auto loops =
      compile_test_template("{{ if .Labels }}{{ range .List }}{{ . }}{{ end }}{{ with .Name }}{{ . }}{{ end }}{{ end }}");
  EXPECT_EQ(loops->trace_walks(), 2u);
  // A declaration is an instruction; a range's two variables are bound by the walk.
  const auto declarations = compile_test_template(
      "{{ $a := index .Labels \"app\" }}{{ $b := (eq .Name \"x\") }}{{ $c := (index .Labels \"tier\") }}"
      "{{ range $i, $v := .List }}{{ $v }}{{ end }}");
  EXPECT_EQ(declarations->trace_ops(), 4u);
  EXPECT_EQ(declarations->trace_walks(), 1u);
}

TEST(template_request_errors, are_values_with_positions) {
  const auto prog = compile_test_template("ok\n  {{ index .Items 7 }}");
  test_data d;
  tt::trace_state state;
  EXPECT_FALSE(prog->trace(test_root(d), state));
  EXPECT_EQ(state.error, "template:2:6: error calling index: index out of range: 7");
  // The state is reusable after a failure.
  const auto good = compile_test_template("{{ .Name }}");
  EXPECT_TRUE(good->trace(test_root(d), state));
  EXPECT_TRUE(state.error.empty());
}

TEST(template_request_path, a_warm_trace_state_keeps_its_memory) {
  const auto prog = compile_test_template(
      "{{ printf \"%s-%05d-%.3f\" .Name .Count 1.5 }}{{ range $k, $v := .Labels }}{{ $k }}{{ end }}"
      "{{ list .Name .Count }}{{ print .Map }}");
  test_data d;
  tt::trace_state state;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(prog->trace(test_root(d), state)) << state.error;
  const std::size_t arena = state.strings.capacity();
  const std::size_t holes = state.holes.capacity();
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(prog->trace(test_root(d), state));
  EXPECT_EQ(state.strings.capacity(), arena);
  EXPECT_EQ(state.holes.capacity(), holes);
}

TEST(template_functions, a_host_registers_its_own) {
  tt::function_table t = tt::builtin_functions();
  ASSERT_NE(t.find("printf"), nullptr);
  EXPECT_EQ(t.find("upper"), nullptr);
  t.add({.name = "upper", .impl = fn_upper, .min_args = 1, .max_args = 1});
  ASSERT_NE(t.find("upper"), nullptr);
  // Adding a name again replaces the entry.
  t.add({.name = "upper", .impl = fn_stamp, .min_args = 1, .max_args = 1});
  test_data load;
  load.request = false;
  tt::program prog("{{ upper .Name }}", t, test_root(load));
  test_data d;
  EXPECT_EQ(run_program(prog, d).out, "stamp");
}

}  // namespace
