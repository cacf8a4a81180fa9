// The compile workspace's part memo (patch/sidecar.hpp): a core's compile that
// copies the JSON it kept for parts of the rendered text must give the variant
// a full compile gives, byte for byte. Checked on every shape of
// bench/shapes_bench's rotation (load/shapes.mjs's rules: eight of Istio 1.1's
// template branches, 0-39 user volumes, 1-3 containers, 1-4 ports), with one
// memo warmed across the rotation as a core's is, and again with a memo so
// small that it is emptied over and over.

#include <gtest/gtest.h>

#include <simdjson.h>

#include <iostream>
#include <memory>
#include <sstream>

#include "core/mesh_config.hpp"
#include "patch/injector.hpp"
#include "patch/sidecar.hpp"
#include "patch/template_data.hpp"
#include "tests/support/pod_shapes.hpp"
#include "tests/support/support.hpp"

namespace {

namespace mt = meshinject::test;
namespace core = meshinject::core;
namespace patch = meshinject::patch;
namespace tmpl = meshinject::tmpl;
using mt::json;

// Shape k of shapes_bench's rotation, on a pod of its own.
json shape_pod(int k) {
  json pod = json::parse(R"({"metadata":{"name":"orders","namespace":"shop","labels":{"app":"orders","version":"v1"},
      "annotations":{}},"spec":{"serviceAccountName":"orders","containers":[{"name":"orders","image":"orders:1"}]}})");
  mt::apply_pod_shape(pod, k);
  return pod;
}

struct renderer {
  core::mesh_config mesh = core::default_mesh_config();
  core::config_node values = core::config_node::make_map();
  std::unique_ptr<tmpl::program> program;
  simdjson::dom::parser parser;
  tmpl::trace_state state;

  explicit renderer(const std::string& template_text)
      : program(patch::compile_template(template_text, mesh, values)) {}

  bool render(const json& pod_json, tmpl::render_result& out) {
    const std::string pod_text = pod_json.dump();
    simdjson::dom::element el;
    if (parser.parse(pod_text).get(el)) return false;
    patch::pod pod;
    std::string error;
    if (!patch::parse_pod(el, "default", pod, error)) return false;
    patch::template_data data;
    data.p = &pod;
    data.proxy_config = &mesh.proxy_config();
    data.mesh = &mesh.root;
    data.values = &values;
    return program->trace(patch::template_root(data), state) &&
           program->render(patch::template_root(data), state.trace, out, error);
  }
};

std::string describe(const patch::segment& s) {
  std::ostringstream o;
  o << static_cast<int>(s.k) << '/' << static_cast<int>(s.scalar_type) << '/' << static_cast<int>(s.point) << '/'
    << static_cast<int>(s.flags) << '/' << s.a << '/' << s.b;
  return o.str();
}
std::string describe(const patch::value_ref& r) {
  return std::to_string(static_cast<int>(r.k)) + "/" + std::to_string(r.hole) + "/" + std::to_string(r.literal.offset) +
         "/" + std::to_string(r.literal.length);
}

// Every field of the two variants, as text: equal exactly when the variants are.
std::string describe(const patch::sidecar_variant& v) {
  std::ostringstream o;
  o << "pool " << v.pool.size() << ':' << v.pool << "\nsegments";
  for (const auto& s : v.segments) o << ' ' << describe(s);
  o << "\nkeys";
  for (const auto& k : v.keys) o << ' ' << k.offset << '/' << k.length;
  o << "\nitems";
  for (const auto& i : v.items) o << ' ' << i.json.first << '+' << i.json.count << ':' << describe(i.name);
  o << "\nlists";
  for (const auto e : v.list_end) o << ' ' << e;
  o << "\ndns " << v.has_dns_config << ' ' << v.dns_config.first << '+' << v.dns_config.count;
  o << "\nprobe " << describe(v.rewrite_probe) << " proxy " << v.proxy << " status " << describe(v.status_port) << ' '
    << v.status_port_flag << " concurrency " << describe(v.concurrency) << ' ' << v.concurrency_flag << " cpu "
    << describe(v.cpu) << "\nwarnings " << v.warnings.size() << " status " << v.status_cache << " shared "
    << (v.shared != nullptr);
  return o.str();
}

std::string istio11_template(const std::filesystem::path& root) {
  return mt::yaml_to_json(mt::read_file(root / "istio-1.1" / "injector-config.yaml"))["template"];
}

// Compiles shapes first, first + step, ... with `memo` (kept across them) and
// with a workspace without the memo, and compares the two variants.
void compare_rotation(const std::string& text, patch::compile_workspace& memo, int step) {
  renderer r(text);
  tmpl::render_result plain_render;
  ASSERT_TRUE(r.render(shape_pod(0), plain_render));
  patch::sidecar_variant sample;
  std::string error;
  ASSERT_TRUE(patch::compile_sidecar(*r.program, plain_render, sample, error)) << error;
  const patch::shared_variant_text shared(sample);

  patch::compile_workspace full;
  full.collect_warnings = false;
  full.memo_parts = false;
  memo.collect_warnings = false;
  tmpl::render_result rendered;
  for (int k = 0; k < 10'000; k += step) {
    ASSERT_TRUE(r.render(shape_pod(k), rendered)) << k;
    patch::sidecar_variant a, b;
    ASSERT_TRUE(patch::compile_sidecar(*r.program, rendered, a, error, full, &shared)) << k << ": " << error;
    ASSERT_TRUE(patch::compile_sidecar(*r.program, rendered, b, error, memo, &shared)) << k << ": " << error;
    ASSERT_EQ(describe(a), describe(b)) << "shape " << k;
  }
  EXPECT_EQ(full.memo_hits() + full.memo_misses(), 0u);
}

TEST(part_memo, a_warm_memo_gives_the_full_compiles_variant_on_every_shape_of_the_rotation) {
  MESHINJECT_REQUIRE_CONFORMANCE(root);
  patch::compile_workspace memo;
  compare_rotation(istio11_template(root), memo, 1);
  // The memo was used (else this compares the full compile with itself), and
  // mostly copied.
  EXPECT_GT(memo.memo_hits(), 10 * memo.memo_misses()) << memo.memo_hits() << " / " << memo.memo_misses();
  std::cout << "parts copied " << memo.memo_hits() << ", written " << memo.memo_misses() << ", memo emptied "
            << memo.memo_clears() << " times, " << memo.memo_bytes() << " bytes; read cut " << memo.cut_compiles()
            << " times, started over " << memo.cut_redos() << " times\n";
  EXPECT_LE(memo.memo_bytes(), memo.memo_limit + 64 * 1024);
  // And the parts it held were not read (the text read was cut), but for a
  // few compiles that met a part the memo had let go of since the scan.
  EXPECT_GT(memo.cut_compiles(), 9'000u);
  EXPECT_LT(memo.cut_redos(), 100u);
}

TEST(part_memo, a_memo_emptied_over_and_over_gives_the_same_variants) {
  MESHINJECT_REQUIRE_CONFORMANCE(root);
  patch::compile_workspace memo;
  memo.memo_limit = 16 * 1024;
  compare_rotation(istio11_template(root), memo, 7);
  EXPECT_GT(memo.memo_hits(), 0u);
}

// Parts whose text differs only in hole numbers by an offset share kept JSON
// (each user volume's item after the first), written with their own numbers.
TEST(part_memo, hole_numbers_count_from_the_parts_first_hole) {
  const std::string text =
      "containers:\n"
      "- name: a\n"
      "  image: \"x\"\n"
      "volumes:\n"
      "[[ range $i, $v := fromJSON (index .ObjectMeta.Annotations `v`) ]]\n"
      "- name: \"[[ $i ]]\"\n"
      "  [[ toYaml $v | indent 2 ]]\n"
      "[[ end ]]\n";
  renderer r(text);
  patch::compile_workspace full, memo;
  full.collect_warnings = memo.collect_warnings = false;
  full.memo_parts = false;
  std::string error;
  for (const char* v : {R"({"a":{"emptyDir":{}},"b":{"emptyDir":{}}})", R"({"c":{"secret":{"secretName":"s"}}})",
                        R"({"a":{"emptyDir":{}},"b":{"emptyDir":{}},"c":{"emptyDir":{}}})"}) {
    json pod = json::parse(R"({"metadata":{"name":"p","annotations":{}},"spec":{"containers":[{"name":"app"}]}})");
    pod["metadata"]["annotations"]["v"] = v;
    tmpl::render_result rendered;
    ASSERT_TRUE(r.render(pod, rendered));
    patch::sidecar_variant a, b;
    ASSERT_TRUE(patch::compile_sidecar(*r.program, rendered, a, error, full)) << error;
    ASSERT_TRUE(patch::compile_sidecar(*r.program, rendered, b, error, memo)) << error;
    EXPECT_EQ(describe(a), describe(b)) << v;
  }
  EXPECT_GT(memo.memo_hits(), 0u);
}

// The same part text with a hole that is the YAML of pod data in one render
// and a plain value in the next: the kept JSON of the first (a splice) must not
// be copied for the second (a string), so the key says which each hole is.
TEST(part_memo, a_hole_spliced_in_one_render_and_plain_in_the_next_is_not_copied) {
  const std::string text =
      "containers:\n"
      "- name: a\n"
      "  image: \"x\"\n"
      "volumes:\n"
      "- name: v\n"
      "  secret:\n"
      "    secretName: [[ if eq (index .ObjectMeta.Annotations `k`) `s` ]][[ toYaml (index .ObjectMeta.Annotations "
      "`v`) ]][[ else ]][[ index .ObjectMeta.Annotations `v` ]][[ end ]]\n";
  renderer r(text);
  patch::compile_workspace full, memo;
  full.collect_warnings = memo.collect_warnings = false;
  full.memo_parts = false;
  std::string error;
  std::string previous_text;
  std::vector<std::string> described;
  for (const char* k : {"s", "p", "s"}) {
    json pod = json::parse(R"({"metadata":{"name":"p","annotations":{"v":"name"}},"spec":{"containers":[{"name":"app"}]}})");
    pod["metadata"]["annotations"]["k"] = k;
    tmpl::render_result rendered;
    ASSERT_TRUE(r.render(pod, rendered));
    // The premise: both branches render the same text, differing only in the hole's kind.
    if (!previous_text.empty()) {
      ASSERT_EQ(rendered.text, previous_text);
    }
    previous_text = rendered.text;
    ASSERT_EQ(rendered.holes.size(), 1u);
    EXPECT_EQ(rendered.holes[0].structured, std::string_view(k) == "s");
    patch::sidecar_variant a, b;
    ASSERT_TRUE(patch::compile_sidecar(*r.program, rendered, a, error, full)) << error;
    ASSERT_TRUE(patch::compile_sidecar(*r.program, rendered, b, error, memo)) << error;
    EXPECT_EQ(describe(a), describe(b)) << k;
    described.push_back(describe(a));
  }
  EXPECT_NE(described[0], described[1]);  // the two kinds compile differently
  EXPECT_GT(memo.memo_hits(), 0u);        // and the third render copied the first's parts
}

// Text that starts like a hole marker but is not one (a marker's first bytes
// and a number with no close after it): the key must not read it as a hole,
// else two parts that differ only in the bytes after the number would share
// a key and the second would copy the first's JSON.
TEST(part_memo, text_that_only_starts_like_a_marker_is_not_read_as_a_hole) {
  const std::string open(tmpl::hole_open);
  const std::string text =
      "containers:\n"
      "- name: a\n"
      "  image: \"[[ index .ObjectMeta.Annotations `v` ]]\"\n"
      "volumes:\n"
      "- name: \"" + open + "0[[ if eq (index .ObjectMeta.Annotations `k`) `1` ]]abc[[ else ]]abd[[ end ]]\"\n"
      "  emptyDir: {}\n";
  renderer r(text);
  patch::compile_workspace full, memo;
  full.collect_warnings = memo.collect_warnings = false;
  full.memo_parts = false;
  std::string error;
  std::vector<std::string> described;
  for (const char* k : {"1", "2"}) {
    json pod = json::parse(R"({"metadata":{"name":"p","annotations":{"v":"img"}},"spec":{"containers":[{"name":"app"}]}})");
    pod["metadata"]["annotations"]["k"] = k;
    tmpl::render_result rendered;
    ASSERT_TRUE(r.render(pod, rendered));
    ASSERT_EQ(rendered.holes.size(), 1u);
    patch::sidecar_variant a, b;
    ASSERT_TRUE(patch::compile_sidecar(*r.program, rendered, a, error, full)) << error;
    ASSERT_TRUE(patch::compile_sidecar(*r.program, rendered, b, error, memo)) << error;
    EXPECT_EQ(describe(a), describe(b)) << k;
    described.push_back(describe(a));
  }
  EXPECT_NE(described[0], described[1]);  // the two names compile differently
}


// ---- Reading without the parts the memo holds (skip_copied_parts) ----

// Renders `text` once for each value of the annotation `k` and compiles each
// render with one memo kept across them (the held parts cut from what is
// read) and with a full compile: the two give the same variant, or fail with
// the same message. Returns the full compile's error of each render ("" when
// it compiled).
std::vector<std::string> compare_renders(const std::string& text, std::initializer_list<const char*> ks,
                                         patch::compile_workspace& memo) {
  renderer r(text);
  patch::compile_workspace full;
  full.collect_warnings = memo.collect_warnings = false;
  full.memo_parts = false;
  std::vector<std::string> errors;
  for (const char* k : ks) {
    json pod = json::parse(R"({"metadata":{"name":"p","annotations":{"v":"img"}},"spec":{"containers":[{"name":"app"}]}})");
    pod["metadata"]["annotations"]["k"] = k;
    tmpl::render_result rendered;
    EXPECT_TRUE(r.render(pod, rendered)) << k;
    patch::sidecar_variant a, b;
    std::string error_a, error_b;
    const bool ok_a = patch::compile_sidecar(*r.program, rendered, a, error_a, full);
    const bool ok_b = patch::compile_sidecar(*r.program, rendered, b, error_b, memo);
    EXPECT_EQ(ok_a, ok_b) << k << ": " << error_a << " / " << error_b;
    EXPECT_EQ(error_a, error_b) << k;
    if (ok_a && ok_b) {
      EXPECT_EQ(describe(a), describe(b)) << "k=" << k << "\n" << rendered.text;
    }
    errors.push_back(ok_a ? std::string() : error_a);
  }
  return errors;
}

// The proxy-like container all the cases below share: parts the memo holds
// from the first render are cut from the later ones' reading.
const char* const container_head =
    "initContainers:\n"
    "- name: a\n"
    "  image: \"[[ index .ObjectMeta.Annotations `v` ]]\"\n";

TEST(part_memo_cut, held_parts_are_cut_and_a_part_that_differs_after_a_held_one_is_read) {
  // The item differs between renders only in its last member (after the
  // scan's boundary of the members before it): the item is read, its held
  // members are not.
  const std::string text = std::string(container_head) +
                           "  workingDir: /w\n"
                           "  resources:\n"
                           "    limits:\n"
                           "      cpu: 100m\n"
                           "  ports:\n"
                           "  - containerPort: 1\n"
                           "  - containerPort: 2\n"
                           "  stdin: [[ if eq (index .ObjectMeta.Annotations `k`) `1` ]]true[[ else ]]false[[ end ]]\n"
                           "volumes:\n"
                           "- name: v\n"
                           "  emptyDir: {}\n";
  patch::compile_workspace memo;
  compare_renders(text, {"1", "2", "1", "2"}, memo);
  EXPECT_GT(memo.cut_compiles(), 0u);
  EXPECT_EQ(memo.cut_redos(), 0u);
}

TEST(part_memo_cut, a_block_scalar_in_a_held_part) {
  const std::string text = std::string(container_head) +
                           "  env:\n"
                           "  - name: A\n"
                           "    value: |\n"
                           "      text\n"
                           "\n"
                           "        - name: B\n"
                           "      more: x\n"
                           "  - name: C\n"
                           "    value: >-\n"
                           "      folded\n"
                           "      text\n"
                           "  stdin: [[ if eq (index .ObjectMeta.Annotations `k`) `1` ]]true[[ else ]]false[[ end ]]\n";
  patch::compile_workspace memo;
  compare_renders(text, {"1", "2", "1"}, memo);
  EXPECT_GT(memo.cut_compiles(), 0u);
}

// A quoted scalar (quote `q`) whose lines go on below at its key's column: the
// reader reads them into the scalar, so the scan must not take the member
// lines among them (held from the first render) for members.
std::vector<std::string> compile_quoted_over_lines(char q) {
  const std::string quote(1, q);
  const std::string text = std::string(container_head) +
                           "  command:\n"
                           "  - [[ if eq (index .ObjectMeta.Annotations `k`) `1` ]]x[[ else ]]" + quote + "x[[ end ]]\n"
                           "  workingDir: /w\n"
                           "  stdin: true[[ if eq (index .ObjectMeta.Annotations `k`) `1` ]][[ else ]]" + quote + "[[ end ]]\n";
  patch::compile_workspace memo;
  return compare_renders(text, {"1", "2"}, memo);
}

TEST(part_memo_cut, a_quoted_scalar_over_several_lines) {
  EXPECT_EQ(compile_quoted_over_lines('"'), (std::vector<std::string>{"", ""}));
}

TEST(part_memo_cut, a_single_quoted_scalar_over_several_lines) {
  EXPECT_EQ(compile_quoted_over_lines('\''), (std::vector<std::string>{"", ""}));
}

// A flow sequence over several lines, its lines below at its key's column.
TEST(part_memo_cut, a_flow_collection_over_several_lines) {
  const std::string text = std::string(container_head) +
                           "  command: [[ if eq (index .ObjectMeta.Annotations `k`) `1` ]][][[ else ]][x,[[ end ]]\n"
                           "  workingDir: /w\n"
                           "  args: [[ if eq (index .ObjectMeta.Annotations `k`) `1` ]][][[ else ]]]"
                           "[[ end ]]\n";
  patch::compile_workspace memo;
  compare_renders(text, {"1", "2", "1"}, memo);
}

// A comment line at column 0 between members: the reader skips it, the scan
// gives up on any `#`.
TEST(part_memo_cut, a_comment_between_held_parts) {
  const std::string text = std::string(container_head) +
                           "  workingDir: /w\n"
                           "[[ if eq (index .ObjectMeta.Annotations `k`) `2` ]]# a comment\n[[ end ]]"
                           "  resources:\n"
                           "    limits:\n"
                           "      cpu: 100m\n";
  patch::compile_workspace memo;
  compare_renders(text, {"1", "2", "1"}, memo);
}

// An error in a render whose parts are held: the message and its position
// are the whole text's.
TEST(part_memo_cut, an_error_after_held_parts_is_the_full_reads) {
  const std::string text = std::string(container_head) +
                           "  workingDir: /w\n"
                           "  resources:\n"
                           "    limits:\n"
                           "      cpu: 100m\n"
                           "[[ if eq (index .ObjectMeta.Annotations `k`) `2` ]]  stdin: notabool\n[[ end ]]"
                           "[[ if eq (index .ObjectMeta.Annotations `k`) `3` ]]   bad: indentation\n[[ end ]]";
  patch::compile_workspace memo;
  const auto errors = compare_renders(text, {"1", "2", "3"}, memo);
  EXPECT_EQ(errors[0], "");
  EXPECT_NE(errors[1], "");
  EXPECT_NE(errors[2], "");
  EXPECT_GT(memo.cut_redos(), 0u);
}

}  // namespace
