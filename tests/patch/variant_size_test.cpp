// What a compiled variant costs the cache: variant_cache::size_of, which the
// per-core byte bound (`serve --variant-cache-bytes`) counts, against the heap
// the variant really holds (tests/support/counting_heap counts every allocation
// of this program with its size), for Istio 1.1's production template with a
// plain pod and with a pod of 40 user volumes (load/shapes.mjs's largest shapes).

#include <gtest/gtest.h>

#include <simdjson.h>

#include <iostream>
#include <memory>

#include "core/mesh_config.hpp"
#include "patch/injector.hpp"
#include "patch/sidecar.hpp"
#include "patch/template_data.hpp"
#include "patch/variant_cache.hpp"
#include "tests/support/counting_heap.hpp"
#include "tests/support/support.hpp"

namespace {

namespace mt = meshinject::test;
namespace core = meshinject::core;
namespace patch = meshinject::patch;
namespace tmpl = meshinject::tmpl;
using mt::json;

json user_volumes_pod(int volumes) {
  json pod = json::parse(R"({"metadata":{"name":"p","labels":{"app":"a"},"annotations":{}},
      "spec":{"containers":[{"name":"app","image":"app:1","ports":[{"containerPort":8080}]}]}})");
  json declared = json::object(), mounts = json::object();
  for (int i = 0; i < volumes; ++i) {
    const std::string name = "extra-" + std::to_string(i);
    declared[name] = {{"secret", {{"secretName", name}}}};
    mounts[name] = {{"mountPath", "/etc/extra/" + std::to_string(i)}, {"readOnly", true}};
  }
  if (volumes > 0) {
    pod["metadata"]["annotations"]["sidecar.istio.io/userVolume"] = declared.dump();
    pod["metadata"]["annotations"]["sidecar.istio.io/userVolumeMount"] = mounts.dump();
  }
  return pod;
}

// The heap of one compile's variant, with the workspace already grown by a
// first compile of the same text (as a core's is after its first misses).
struct measured {
  std::size_t size_of = 0;
  std::int64_t held = 0;
  std::size_t segments = 0;
};

struct rendered_pod {
  core::mesh_config mesh = core::default_mesh_config();
  core::config_node values = core::config_node::make_map();
  std::unique_ptr<tmpl::program> program;
  tmpl::render_result rendered;
};

std::unique_ptr<rendered_pod> render(const std::string& template_text, const json& pod_json) {
  auto r = std::make_unique<rendered_pod>();
  r->program = patch::compile_template(template_text, r->mesh, r->values);
  const std::string pod_text = pod_json.dump();
  simdjson::dom::parser parser;
  simdjson::dom::element el;
  EXPECT_FALSE(parser.parse(pod_text).get(el));
  patch::pod pod;
  std::string error;
  EXPECT_TRUE(patch::parse_pod(el, "default", pod, error)) << error;
  patch::template_data data;
  data.p = &pod;
  data.proxy_config = &r->mesh.proxy_config();
  data.mesh = &r->mesh.root;
  data.values = &r->values;
  tmpl::trace_state state;
  EXPECT_TRUE(r->program->trace(patch::template_root(data), state)) << state.error;
  EXPECT_TRUE(r->program->render(patch::template_root(data), state.trace, r->rendered, error)) << error;
  return r;
}

// The text a snapshot of this template shares among its variants, as
// snapshot::build makes it: from the variant of a plain pod.
std::unique_ptr<patch::shared_variant_text> shared_text_of(const std::string& template_text) {
  const auto plain = render(template_text, user_volumes_pod(0));
  patch::sidecar_variant sample;
  std::string error;
  EXPECT_TRUE(patch::compile_sidecar(*plain->program, plain->rendered, sample, error)) << error;
  return std::make_unique<patch::shared_variant_text>(sample);
}

measured measure(const std::string& template_text, const json& pod_json,
                 const patch::shared_variant_text* shared = nullptr) {
  const auto r = render(template_text, pod_json);
  std::string error;
  patch::compile_workspace workspace;
  workspace.collect_warnings = false;  // as a core compiles
  patch::sidecar_variant first;
  EXPECT_TRUE(patch::compile_sidecar(*r->program, r->rendered, first, error, workspace, shared)) << error;

  // The shared text was allocated before this point: a variant that points
  // into it holds none of it, and size_of must not count it either.
  measured m;
  const std::int64_t before = mt::counting_heap::live_bytes();
  auto v = std::make_unique<patch::sidecar_variant>();
  const std::int64_t with_object = mt::counting_heap::live_bytes();
  EXPECT_TRUE(patch::compile_sidecar(*r->program, r->rendered, *v, error, workspace, shared)) << error;
  m.held = mt::counting_heap::live_bytes() - with_object;
  EXPECT_EQ(with_object - before, static_cast<std::int64_t>(sizeof(patch::sidecar_variant)));
  EXPECT_EQ(v->shared, shared);
  m.size_of = patch::variant_cache::size_of(*v);
  m.segments = v->segments.size();
  return m;
}

std::string istio11_template(const std::filesystem::path& root) {
  return mt::yaml_to_json(mt::read_file(root / "istio-1.1" / "injector-config.yaml"))["template"];
}

TEST(variant_size, size_of_is_exactly_the_heap_a_variant_holds) {
  MESHINJECT_REQUIRE_CONFORMANCE(root);
  const std::string text = istio11_template(root);
  const auto shared = shared_text_of(text);
  for (const int volumes : {0, 1, 10, 40}) {
    for (const patch::shared_variant_text* with : {static_cast<const patch::shared_variant_text*>(nullptr),
                                                   static_cast<const patch::shared_variant_text*>(shared.get())}) {
      const measured m = measure(text, user_volumes_pod(volumes), with);
      const char* how = with ? " with the snapshot's shared text" : " alone";
      EXPECT_GT(m.held, 0) << volumes;
      EXPECT_EQ(m.size_of, static_cast<std::size_t>(m.held)) << volumes << " user volumes" << how;
      std::cout << volumes << " user volumes" << how << ": " << m.size_of << " bytes on the heap, " << m.segments
                << " segments, sizeof(sidecar_variant) " << sizeof(patch::sidecar_variant) << "\n";
    }
  }
  std::cout << "the snapshot's shared text: " << shared->heap_bytes() << " bytes, once\n";
}

// Guards the compact layout (sidecar.hpp; bench/RESULTS.md, issue 15). Alone,
// these hold ~2.4 KB and ~6.4 KB (with 12-byte segments and a key set per
// user volume they held ~2.7 KB and ~10.2 KB). With their snapshot's shared
// text, as a core compiles them, ~0.45 KB and ~4.4 KB: the plain pod's text is
// all in the shared text, and what the 40 volumes add is mostly their 8-byte
// segments (with 12-byte ones, ~6.0 KB; with a key set per volume, ~5.6 KB).
TEST(variant_size, the_istio_11_variants_stay_compact) {
  MESHINJECT_REQUIRE_CONFORMANCE(root);
  const std::string text = istio11_template(root);
  EXPECT_LE(measure(text, user_volumes_pod(0)).size_of, 2'600u);
  EXPECT_LE(measure(text, user_volumes_pod(40)).size_of, 7'000u);
  const auto shared = shared_text_of(text);
  EXPECT_LE(measure(text, user_volumes_pod(0), shared.get()).size_of, 600u);
  EXPECT_LE(measure(text, user_volumes_pod(40), shared.get()).size_of, 5'000u);
}

}  // namespace
