// Once warm, the 1.28 request-path steps (the pod's tree from simdjson, the
// merge of a sidecar with the native-sidecar move and re-applied user
// containers, and the diff) make no heap call. Every allocation of this program
// passes through tests/support/counting_heap; it is counted inside the measured loop.

#include <gtest/gtest.h>

#include "core/json_tree.hpp"
#include "patch/json_diff.hpp"
#include "patch/pod_overlay.hpp"
#include "tests/support/counting_heap.hpp"

namespace {

namespace json = meshinject::core::json;
namespace smp = meshinject::patch::smp;

TEST(merge_alloc, a_warm_core_merges_and_diffs_without_the_heap) {
#if defined(MESHINJECT_SANITIZED)
  GTEST_SKIP() << "the sanitizers replace the allocator";
#endif
  const simdjson::padded_string body(std::string(R"({"metadata":{"name":"web","annotations":{"a":"1"}},"spec":{
      "containers":[{"name":"web","image":"nginx","ports":[{"containerPort":80}],"env":[{"name":"A","value":"1"}]},
      {"name":"istio-proxy","image":"auto","args":["-c","x"],"securityContext":{"runAsUser":1234}}],
      "initContainers":[{"name":"setup","image":"busybox"}],"volumes":[{"name":"data","emptyDir":{}}]}})"));
  const std::string render = R"({"metadata":{"labels":{"security.istio.io/tlsMode":"istio"}},"spec":{
      "initContainers":[{"name":"istio-init","args":["istio-iptables","-u","1337"]},
      {"name":"istio-proxy","image":"proxyv2","restartPolicy":"Always","args":["proxy","sidecar"],
       "env":[{"name":"POD_NAME","value":"x"}],"securityContext":{"runAsUser":1337,"runAsNonRoot":true}}],
      "volumes":[{"name":"istio-envoy","emptyDir":{"medium":"Memory"}}]}})";
  meshinject::core::arena arena, render_arena;
  simdjson::dom::parser request_parser, text_parser;
  simdjson::dom::element dom;
  ASSERT_EQ(request_parser.parse(body).get(dom), simdjson::SUCCESS);
  json::value overlay;
  ASSERT_FALSE(json::parse(render, text_parser, render_arena, overlay));
  meshinject::patch::pod_overlay steps;
  meshinject::patch::json_differ differ;
  std::string patch;
  auto request = [&] {
    arena.reset();
    json::value original, pod, template_pod = json::value::object();
    ASSERT_FALSE(json::from_simdjson(dom, arena, original));
    ASSERT_FALSE(json::deep_copy(original, arena, pod));
    ASSERT_FALSE(steps.apply_template(pod, template_pod, overlay, true, arena));
    ASSERT_FALSE(steps.reapply_overwritten_containers(pod, original, template_pod, {}, arena));
    patch.clear();
    ASSERT_FALSE(differ.diff(original, pod, &smp::pod(), arena, patch));
  };
  for (int i = 0; i < 3; ++i) request();
  ASSERT_GT(differ.operations(), 3u);
  namespace heap = meshinject::test::counting_heap;
  {
    heap::scope counting;
    for (int i = 0; i < 100; ++i) request();
  }
  EXPECT_EQ(heap::calls(), 0u);
}

}  // namespace
