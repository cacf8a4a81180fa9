// The evaluator: pipelines, field chains, variables and their scopes, if/with/
// range and what they iterate, with Go's errors.

#include <gtest/gtest.h>

#include "tests/template/template_fixture.hpp"

namespace {

using namespace meshinject::test;

TEST(template_pipelines, the_piped_value_is_the_last_argument) {
  EXPECT_EQ(out(R"({{ "abc" | printf "%s-%s" "x" }})"), "x-abc");
  EXPECT_EQ(out("{{ 3 | print 1 2 }}"), "1 2 3");
  EXPECT_EQ(out(R"({{ .Name | printf "<%s>" | printf "[%s]" }})"), "[<web-1>]");
  EXPECT_EQ(out("{{ .Labels | len }}"), "2");
}

TEST(template_pipelines, parenthesized_calls) {
  EXPECT_EQ(out(R"({{ print (len "abc") (print "x") }})"), "3x");
  EXPECT_EQ(out(R"({{ (index .Items 1).Name }})"), "proxy");
  EXPECT_EQ(out(R"({{ (.Config.nested.a).b }})"), "deep");
  EXPECT_EQ(out(R"({{ printf "%d" (len (print (len "ab") "c")) }})"), "2");
}

TEST(template_pipelines, field_chains) {
  EXPECT_EQ(out("{{ .Name }}"), "web-1");
  EXPECT_EQ(out("{{ $.Name }}"), "web-1");
  EXPECT_EQ(out("{{ .Labels.app }}"), "web");
  EXPECT_EQ(out("{{ .Config.nested.a.b }}"), "deep");
  EXPECT_EQ(out("{{ .JSON.a.x }}"), "1.5");
  EXPECT_EQ(out("{{ with .Config }}{{ .name }}{{ end }}"), "demo");
}

TEST(template_pipelines, go_field_errors) {
  EXPECT_TRUE(contains(run_error("{{ .Nil.X }}"), "nil pointer evaluating interface {}.X"));
  EXPECT_TRUE(contains(run_error("{{ .Name.X }}"), "can't evaluate field X in type string"));
  EXPECT_TRUE(contains(run_error("{{ .List.X }}"), "can't evaluate field X in type []interface {}"));
  EXPECT_TRUE(contains(run_error("{{ .Mode.X }}"), "can't evaluate field X in type test.Mode"));
  EXPECT_TRUE(contains(run_error("{{ .JSON.b.X }}"), "can't evaluate field X in type []interface {}"));
  // Elements of a value that came from somewhere (an annotation) say where.
  EXPECT_TRUE(contains(run_error("{{ range .JSON }}{{ .X }}{{ end }}"),
                       "annotation test-json: can't evaluate field X in type []interface {}"));
  // A missing key of a map is "<no value>".
  EXPECT_EQ(out("{{ .Labels.nope }} {{ .Map.nope }} {{ .JSON.nope }}"), "<no value> <no value> <no value>");
}

TEST(template_variables, declare_and_use) {
  EXPECT_EQ(out("{{ $x := 1 }}{{ $x }}"), "1");
  EXPECT_EQ(out("{{ $n := .Name }}<{{ $n }}>"), "<web-1>");
  EXPECT_EQ(out("{{ $x := .Config.nested }}{{ $x.a.b }}"), "deep");
  EXPECT_EQ(out("{{ $x := .Items }}{{ (index $x 2).Name }}"), "side");
}

TEST(template_variables, go_scoping) {
  // A declaration inside if/range/with ends at its {{end}}.
  EXPECT_EQ(out("{{ $x := 1 }}{{ if true }}{{ $x := 2 }}{{ $x }}{{ end }}{{ $x }}"), "21");
  EXPECT_EQ(out("{{ $x := 1 }}{{ range .Config.list }}{{ $x := . }}{{ $x }}{{ end }}{{ $x }}"), "abc1");
  EXPECT_EQ(out("{{ $x := 1 }}{{ with .Config.name }}{{ $x := . }}{{ $x }}{{ end }}{{ $x }}"), "demo1");
  // `=` assigns the outer variable.
  EXPECT_EQ(out("{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ end }}{{ $x }}"), "2");
  EXPECT_EQ(out("{{ $x := \"none\" }}{{ range .Config.list }}{{ $x = . }}{{ end }}{{ $x }}"), "c");
  // ... also with per-request data, across a per-request branch.
  EXPECT_EQ(out("{{ $x := \"a\" }}{{ if .Labels }}{{ $x = .Name }}{{ end }}{{ $x }}"), "web-1");
  EXPECT_EQ(out("{{ $x := \"a\" }}{{ if .Labels }}{{ $x = \"b\" }}{{ end }}{{ $x }}"), "b");
  EXPECT_EQ(out("{{ $x := \"a\" }}{{ if .Labels }}{{ $x = \"b\" }}{{ end }}{{ $x }}",
                [](test_data& d) { d.labels.clear(); }),
            "a");
  EXPECT_EQ(out("{{ $x := 0 }}{{ range $c := .Items }}{{ $x = $c.Name }}{{ end }}{{ $x }}"), "side");
  // The variable declared in `if` is visible in its else branch.
  EXPECT_EQ(out("{{ if $v := .Labels.nope }}{{ $v }}{{ else }}[{{ $v }}]{{ end }}"), "[<no value>]");
  // `$` is the data even inside with/range.
  EXPECT_EQ(out("{{ range .Config.list }}{{ $.Name }}{{ end }}"), "web-1web-1web-1");
  EXPECT_EQ(out("{{ with .Config.nested }}{{ $.Config.name }}{{ end }}"), "demo");
}

TEST(template_variables, an_assignment_late_in_a_loop_makes_earlier_uses_vary) {
  const std::string t =
      "{{ $x := \"a\" }}{{ range .Config.list }}{{ if eq $x \"web-1\" }}W{{ else }}-{{ end }}{{ $x }} "
      "{{ $x = $.Name }}{{ end }}";
  EXPECT_EQ(out(t), "-a Wweb-1 Wweb-1 ");
  EXPECT_EQ(out(t, [](test_data& d) { d.name = "zz"; }), "-a -zz -zz ");
  EXPECT_EQ(compile_test_template(t)->decision_count(), 1u);
}

TEST(template_variables, hold_lists_and_maps) {
  EXPECT_EQ(out("{{ $l := list 1 \"b\" .Name }}{{ len $l }} {{ index $l 2 }} {{ $l }}"), "3 web-1 [1 b web-1]");
  EXPECT_EQ(out("{{ $m := .Map }}{{ $m.alpha }} {{ index $m \"zeta\" }} {{ len $m }}"), "x 1 3");
  EXPECT_EQ(out("{{ range $i, $c := list .Name \"x\" }}{{ $i }}={{ $c }};{{ end }}"), "0=web-1;1=x;");
  EXPECT_EQ(out("{{ $l := list }}{{ range $l }}x{{ else }}empty{{ end }} {{ len $l }}"), "empty 0");
}

TEST(template_control, if_else_if_else) {
  const std::string t = R"({{ if eq .Name "a" }}A{{ else if eq .Name "b" }}B{{ else }}C{{ end }})";
  EXPECT_EQ(out(t, [](test_data& d) { d.name = "a"; }), "A");
  EXPECT_EQ(out(t, [](test_data& d) { d.name = "b"; }), "B");
  EXPECT_EQ(out(t, [](test_data& d) { d.name = "c"; }), "C");
}

TEST(template_control, truth) {
  EXPECT_EQ(out("{{ if 0 }}t{{ else }}f{{ end }}"), "f");
  EXPECT_EQ(out("{{ if 0.0 }}t{{ else }}f{{ end }}"), "f");
  EXPECT_EQ(out("{{ if \"\" }}t{{ else }}f{{ end }}"), "f");
  EXPECT_EQ(out("{{ if .Config.empty }}t{{ else }}f{{ end }}"), "f");
  EXPECT_EQ(out("{{ if .Config.missing }}t{{ else }}f{{ end }}"), "f");
  EXPECT_EQ(out("{{ if .Config.list }}t{{ else }}f{{ end }}"), "t");
  EXPECT_EQ(out("{{ if .Nil }}t{{ else }}f{{ end }}"), "f");
  EXPECT_EQ(out("{{ if .Mode }}t{{ else }}f{{ end }}"), "f");
  EXPECT_EQ(out("{{ if list }}t{{ else }}f{{ end }}"), "f");
  EXPECT_EQ(out("{{ if .Labels }}t{{ else }}f{{ end }}"), "t");
  EXPECT_EQ(out("{{ if .Labels }}t{{ else }}f{{ end }}", [](test_data& d) { d.labels.clear(); }), "f");
  EXPECT_EQ(out("{{ if .JSON }}t{{ else }}f{{ end }}"), "t");
}

TEST(template_control, with_else) {
  const std::string t = "{{ with .Labels.app }}[{{ . }}]{{ else }}none{{ end }}";
  EXPECT_EQ(out(t), "[web]");
  EXPECT_EQ(out(t, [](test_data& d) { d.labels = {{"x", "y"}}; }), "none");
  EXPECT_EQ(out("{{ with .Config.nested }}{{ .a.b }}{{ end }}"), "deep");
  EXPECT_EQ(out("{{ with $v := .Config.name }}{{ $v }}={{ . }}{{ end }}"), "demo=demo");
}

TEST(template_control, range_over_maps_in_key_order) {
  EXPECT_EQ(out("{{ range $k, $v := .Labels }}{{ $k }}={{ $v }};{{ end }}"), "app=web;tier=front;");
  EXPECT_EQ(out("{{ range .Labels }}{{ . }},{{ end }}"), "web,front,");
  EXPECT_EQ(out("{{ range $v := .Labels }}{{ $v }},{{ end }}"), "web,front,");
  EXPECT_EQ(out("{{ range $k, $v := .Map }}{{ $k }} {{ end }}"), "alpha mid zeta ");
  EXPECT_EQ(out("{{ range $k, $v := .JSON }}{{ $k }}={{ $v }} {{ end }}"), "a=map[x:1.5] b=[1 2] n=5 ");
}

TEST(template_control, range_over_lists) {
  EXPECT_EQ(out("{{ range .Config.list }}{{ . }}{{ end }}"), "abc");
  EXPECT_EQ(out("{{ range $i, $v := .List }}{{ $i }}{{ $v }}{{ end }}"), "0a1b2c");
  EXPECT_EQ(out("{{ range $i, $c := .Items }}{{ $i }}:{{ $c.Name }} {{ end }}"), "0:app 1:proxy 2:side ");
  EXPECT_EQ(out("{{ range (index .Items 0).Ports }}{{ .Port }}/{{ .Name }} {{ end }}"), "80/ 8080/http ");
  EXPECT_EQ(out("{{ range .JSON.b }}{{ . }} {{ end }}"), "1 2 ");
}

TEST(template_control, range_else) {
  const std::string t = "{{ range .Labels }}x{{ else }}empty{{ end }}";
  EXPECT_EQ(out(t), "xx");
  EXPECT_EQ(out(t, [](test_data& d) { d.labels.clear(); }), "empty");
  EXPECT_EQ(out("{{ range .Config.missing }}x{{ else }}empty{{ end }}"), "empty");
  EXPECT_EQ(out("{{ range .Nil }}x{{ else }}empty{{ end }}"), "empty");
}

TEST(template_control, nested_ranges) {
  EXPECT_EQ(out("{{ range $c := .Items }}{{ range $c.Ports }}{{ $c.Name }}:{{ .Port }} {{ end }}{{ end }}"),
            "app:80 app:8080 proxy:15090 side:80 ");
  EXPECT_EQ(out("{{ range $i, $a := .Config.list }}{{ range $j, $b := $.Config.res }}{{ $a }}{{ $b }}{{ $i }}"
                "{{ $j }} {{ end }}{{ end }}"),
            "ax00 az01 bx10 bz11 cx20 cz21 ");
}

TEST(template_control, range_over_an_integer) {
  EXPECT_EQ(out("{{ range 3 }}{{ . }}{{ end }}"), "012");
  EXPECT_EQ(out("{{ range $i := 2 }}{{ $i }}{{ end }}"), "01");
  EXPECT_EQ(out("{{ range .Count }}{{ . }}{{ end }}"), "012");
}

TEST(template_control, range_over_what_cannot_be_ranged_fails) {
  EXPECT_TRUE(contains(run_error("{{ range .Name }}x{{ end }}"), "range can't iterate over web-1"));
  EXPECT_TRUE(contains(run_error("{{ range .Mode }}x{{ end }}"), "range can't iterate over REDIRECT"));
}

}  // namespace
