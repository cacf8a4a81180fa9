// Istio 1.28's steps around the merge: moving a user's istio-proxy for native
// sidecars, re-applying the user's container over the injected one, the
// overrides annotation, and the init container's user. The realistic cases use
// Istio's kube-inject inputs with the sidecar of the hello golden as the
// rendered template, and check the fields the upstream goldens show.

#include "patch/pod_overlay.hpp"

#include <gtest/gtest.h>

#include "patch/json_tree_writer.hpp"
#include "tests/support/support.hpp"

namespace {

namespace json = meshinject::core::json;
namespace mt = meshinject::test;
using meshinject::core::arena;
using meshinject::patch::pod_overlay;
using meshinject::patch::reapply_options;
using nl = nlohmann::json;

class overlay_test : public ::testing::Test {
 protected:
  arena a;
  simdjson::dom::parser parser;
  pod_overlay overlay;

  json::value tree(const nl& j) {
    json::value v;
    const json::error err = json::parse(j.dump(), parser, a, v);
    EXPECT_FALSE(err) << err.message;
    return v;
  }
  static nl to_nl(const json::value& v) {
    std::string text;
    meshinject::patch::append_json(text, v);
    return nl::parse(text);
  }

  // The pod after apply_template (each render in turn) and the reapply step,
  // with `use`; `template_pod` gets what the template pod became.
  nl inject_with(meshinject::patch::render_use use, const nl& pod_in, const std::vector<nl>& renders, bool native,
                 reapply_options options, nl& template_pod_out) {
    const json::value original = tree(pod_in);
    json::value pod = tree(pod_in);
    json::value template_pod = json::value::object();
    for (const nl& r : renders) {
      const json::error err = overlay.apply_template(pod, template_pod, tree(r), native, a, use);
      EXPECT_FALSE(err) << err.message;
    }
    const json::error err = overlay.reapply_overwritten_containers(pod, original, template_pod, options, a);
    EXPECT_FALSE(err) << err.message;
    template_pod_out = to_nl(template_pod);
    return to_nl(pod);
  }

  // As inject_with(copy), and checks that linking the renders (the named
  // path's render_use::link) gives the same pod and the same names in each of
  // the template pod's lists.
  nl inject(const nl& pod_in, const std::vector<nl>& renders, bool native, reapply_options options = {}) {
    using meshinject::patch::render_use;
    nl copied_template, linked_template;
    const nl copied = inject_with(render_use::copy, pod_in, renders, native, options, copied_template);
    const nl linked = inject_with(render_use::link, pod_in, renders, native, options, linked_template);
    EXPECT_EQ(linked, copied);
    for (std::string_view list : meshinject::patch::template_pod_lists) {
      const nl::json_pointer at("/spec/" + std::string(list));
      EXPECT_EQ(list_names(linked_template, at), list_names(copied_template, at)) << list;
    }
    return copied;
  }

  static nl list_names(const nl& pod, const nl::json_pointer& at) {
    if (!pod.contains(at)) return nullptr;
    nl out = nl::array();
    for (const auto& c : pod[at]) out.push_back(c.is_object() ? c.value("name", nl()) : c);
    return out;
  }
};

nl names(const nl& list) {
  nl out = nl::array();
  for (const auto& c : list) out.push_back(c.value("name", ""));
  return out;
}

const nl sidecar_render = nl::parse(R"({
  "metadata": {"labels": {"security.istio.io/tlsMode": "istio"}},
  "spec": {
    "initContainers": [
      {"name": "istio-init", "image": "proxyv2", "args": ["istio-iptables", "-u", "1337", "-m", "REDIRECT"],
       "securityContext": {"runAsUser": 0, "runAsGroup": 0}},
      {"name": "istio-proxy", "image": "proxyv2", "args": ["proxy", "sidecar"], "restartPolicy": "Always",
       "env": [{"name": "A", "value": "1"}],
       "securityContext": {"runAsUser": 1337, "runAsGroup": 1337, "runAsNonRoot": true, "privileged": false}}],
    "volumes": [{"name": "istio-envoy", "emptyDir": {"medium": "Memory"}}]}})");

TEST_F(overlay_test, move_container_appends_to_the_other_list) {
  json::value pod = tree(nl::parse(
      R"({"spec":{"containers":[{"name":"app"},{"name":"istio-proxy","image":"auto"}],"initContainers":[{"name":"i"}]}})"));
  json::error err;
  EXPECT_TRUE(meshinject::patch::move_container(pod, "istio-proxy", "containers", "initContainers", a, err));
  EXPECT_FALSE(err);
  EXPECT_EQ(to_nl(pod), nl::parse(
      R"({"spec":{"containers":[{"name":"app"}],"initContainers":[{"name":"i"},{"name":"istio-proxy","image":"auto"}]}})"));
  EXPECT_FALSE(meshinject::patch::move_container(pod, "nope", "containers", "initContainers", a, err));
  json::value bare = tree(nl::parse(R"({"spec":{"containers":[{"name":"x"}]}})"));
  EXPECT_TRUE(meshinject::patch::move_container(bare, "x", "containers", "initContainers", a, err));
  EXPECT_EQ(to_nl(bare), nl::parse(R"({"spec":{"containers":[],"initContainers":[{"name":"x"}]}})"));
}

TEST_F(overlay_test, a_users_proxy_moves_to_init_containers_for_native_sidecars_and_keeps_its_fields) {
  const nl pod = nl::parse(R"({"metadata":{"name":"p"},"spec":{"containers":[{"name":"app"},
      {"name":"istio-proxy","image":"auto","args":["-c","my.yaml"],"command":["envoy"],"stdin":false,"tty":false,
       "env":[{"name":"B","value":"2"}],"resources":{}}]}})");
  const nl got = inject(pod, {sidecar_render}, true);
  EXPECT_EQ(names(got["spec"]["containers"]), nl::parse(R"(["app"])"));
  EXPECT_EQ(names(got["spec"]["initContainers"]), nl::parse(R"(["istio-init","istio-proxy"])"));
  const nl& proxy = got["spec"]["initContainers"][1];
  EXPECT_EQ(proxy["image"], "proxyv2") << "image: auto leaves the injected image";
  EXPECT_EQ(proxy["args"], nl::parse(R"(["-c","my.yaml"])")) << "the user's args win";
  EXPECT_EQ(proxy["command"], nl::parse(R"(["envoy"])"));
  EXPECT_EQ(proxy["restartPolicy"], "Always");
  EXPECT_EQ(proxy["env"], nl::parse(R"([{"name":"A","value":"1"},{"name":"B","value":"2"}])"));
  const nl overrides = nl::parse(got["metadata"]["annotations"]["proxy.istio.io/overrides"].get<std::string>());
  EXPECT_EQ(overrides, nl::parse(R"({"initContainers":[{"name":"istio-proxy","args":["-c","my.yaml"],
      "command":["envoy"],"env":[{"name":"B","value":"2"}]}]})"));
}

TEST_F(overlay_test, the_pod_annotation_can_turn_native_sidecars_off) {
  const nl pod = nl::parse(R"({"metadata":{"annotations":{"sidecar.istio.io/nativeSidecar":"false"}},
      "spec":{"containers":[{"name":"app"},{"name":"istio-proxy","image":"auto","args":["x"]}]}})");
  const nl got = inject(pod, {sidecar_render}, true);
  EXPECT_EQ(names(got["spec"]["containers"]), nl::parse(R"(["app","istio-proxy"])"))
      << "not moved: the user's container stays where it was";
  EXPECT_EQ(names(got["spec"]["initContainers"]), nl::parse(R"(["istio-init","istio-proxy"])"));
  // The init-list proxy is found in the pod's containers (FindContainerFromPod) and re-applied.
  EXPECT_EQ(got["spec"]["initContainers"][1]["args"], nl::parse(R"(["x"])"));
}

TEST_F(overlay_test, classic_sidecars_reapply_into_containers) {
  nl render = sidecar_render;
  render["spec"]["containers"] = nl::array({render["spec"]["initContainers"][1]});
  render["spec"]["containers"][0].erase("restartPolicy");
  render["spec"]["initContainers"].erase(1);
  const nl pod = nl::parse(R"({"spec":{"containers":[{"name":"app"},
      {"name":"istio-proxy","image":"auto","securityContext":{"readOnlyRootFilesystem":false}}]}})");
  const nl got = inject(pod, {render}, false);
  EXPECT_EQ(names(got["spec"]["containers"]), nl::parse(R"(["app","istio-proxy"])"))
      << "the pod already had the proxy after app: its place is kept";
  EXPECT_EQ(got["spec"]["containers"][1]["securityContext"],
            nl::parse(R"({"runAsUser":1337,"runAsGroup":1337,"runAsNonRoot":true,"privileged":false,"readOnlyRootFilesystem":false})"));
  EXPECT_EQ(nl::parse(got["metadata"]["annotations"]["proxy.istio.io/overrides"].get<std::string>()),
            nl::parse(R"({"containers":[{"name":"istio-proxy","securityContext":{"readOnlyRootFilesystem":false}}]})"));
}

TEST_F(overlay_test, re_injection_leaves_listed_containers_to_the_new_template) {
  const nl pod = nl::parse(R"({"metadata":{"annotations":{
      "sidecar.istio.io/status":"{\"initContainers\":[\"istio-init\",\"istio-proxy\"],\"containers\":null}"}},
      "spec":{"containers":[{"name":"app"}],"initContainers":[{"name":"istio-init","image":"old"},
      {"name":"istio-proxy","image":"old","args":["old"]}]}})");
  const nl got = inject(pod, {sidecar_render}, true);
  const nl& proxy = got["spec"]["initContainers"][1];
  EXPECT_EQ(proxy["args"], nl::parse(R"(["proxy","sidecar"])"));
  EXPECT_FALSE(got["metadata"]["annotations"].contains("proxy.istio.io/overrides"));
}

TEST_F(overlay_test, an_earlier_injections_overrides_are_applied_again) {
  const nl pod = nl::parse(R"({"metadata":{"annotations":{
      "sidecar.istio.io/status":"{\"initContainers\":[\"istio-init\"]}",
      "proxy.istio.io/overrides":"{\"initContainers\":[{\"name\":\"istio-proxy\",\"args\":[\"from-annotation\"]}]}"}},
      "spec":{"containers":[{"name":"app"}],"initContainers":[{"name":"istio-proxy","args":["from-pod"]}]}})");
  const nl got = inject(pod, {sidecar_render}, true);
  EXPECT_EQ(got["spec"]["initContainers"][1]["args"], nl::parse(R"(["from-annotation"])"));
  EXPECT_EQ(got["metadata"]["annotations"]["proxy.istio.io/overrides"],
            pod["metadata"]["annotations"]["proxy.istio.io/overrides"])
      << "an injected pod keeps its annotation as it was";
}

TEST_F(overlay_test, a_broken_overrides_annotation_is_an_error) {
  for (const char* bad : {"{", "[]", R"({"containers":{}})", R"({"initContainers":[1]})"}) {
    nl pod = nl::parse(R"({"spec":{"containers":[{"name":"app"}]}})");
    pod["metadata"]["annotations"]["proxy.istio.io/overrides"] = bad;
    const json::value original = tree(pod);
    json::value merged = tree(pod);
    json::value template_pod = json::value::object();
    ASSERT_FALSE(overlay.apply_template(merged, template_pod, tree(sidecar_render), true, a));
    const json::error err = overlay.reapply_overwritten_containers(merged, original, template_pod, {}, a);
    EXPECT_EQ(err.code, json::errc::invalid_json) << bad;
  }
}

TEST_F(overlay_test, the_init_container_runs_iptables_for_the_users_uid) {
  const nl pod = nl::parse(R"({"spec":{"containers":[{"name":"app"},
      {"name":"istio-proxy","image":"auto","securityContext":{"runAsUser":1234,"runAsGroup":4321}}]}})");
  nl got = inject(pod, {sidecar_render}, true);
  EXPECT_EQ(got["spec"]["initContainers"][0]["args"], nl::parse(R"(["istio-iptables","-u","1234","-m","REDIRECT"])"));
  EXPECT_EQ(got["spec"]["initContainers"][0]["securityContext"], nl::parse(R"({"runAsUser":0,"runAsGroup":0})"));
  EXPECT_EQ(got["spec"]["initContainers"][1]["securityContext"]["runAsUser"], 1234);

  got = inject(pod, {sidecar_render}, true, reapply_options{true});
  EXPECT_EQ(got["spec"]["initContainers"][1]["securityContext"]["runAsUser"], 0) << "TPROXY: the proxy runs as root";
  EXPECT_EQ(got["spec"]["initContainers"][1]["securityContext"]["runAsGroup"], 4321);
  EXPECT_EQ(got["spec"]["initContainers"][0]["args"][2], "1234");

  nl annotated = pod;
  annotated["metadata"]["annotations"]["sidecar.istio.io/interceptionMode"] = "TPROXY";
  got = inject(annotated, {sidecar_render}, true);
  EXPECT_EQ(got["spec"]["initContainers"][1]["securityContext"]["runAsUser"], 0);
}

TEST_F(overlay_test, istio_validation_takes_the_users_uid_and_gid) {
  nl render = sidecar_render;
  render["spec"]["initContainers"][0] = nl::parse(R"({"name":"istio-validation","args":["istio-iptables","-u","1337"]})");
  const nl pod = nl::parse(R"({"spec":{"containers":[{"name":"app"},
      {"name":"istio-proxy","image":"auto","securityContext":{"runAsUser":1234,"runAsGroup":4321}}]}})");
  const nl got = inject(pod, {render}, true);
  EXPECT_EQ(got["spec"]["initContainers"][0]["securityContext"], nl::parse(R"({"runAsUser":1234,"runAsGroup":4321})"));
  EXPECT_EQ(got["spec"]["initContainers"][0]["args"][2], "1234");
}

TEST_F(overlay_test, uid_zero_leaves_iptables_alone) {
  const nl pod = nl::parse(R"({"spec":{"containers":[{"name":"app"},
      {"name":"istio-proxy","image":"auto","securityContext":{"runAsUser":0}}]}})");
  const nl got = inject(pod, {sidecar_render}, true);
  EXPECT_EQ(got["spec"]["initContainers"][0]["args"][2], "1337");
}

TEST_F(overlay_test, templates_merge_in_order) {
  const nl second = nl::parse(R"({"spec":{"initContainers":[{"name":"istio-proxy","env":[{"name":"EXTRA","value":"x"}]}],
      "containers":[{"name":"app","env":[{"name":"APP","value":"y"}]}]}})");
  const nl got = inject(nl::parse(R"({"spec":{"containers":[{"name":"app"}]}})"), {sidecar_render, second}, true);
  EXPECT_EQ(got["spec"]["initContainers"][1]["env"],
            nl::parse(R"([{"name":"EXTRA","value":"x"},{"name":"A","value":"1"}])"));
  EXPECT_EQ(got["spec"]["containers"][0]["env"], nl::parse(R"([{"name":"APP","value":"y"}])"));
  // A template that edits an app container makes it an "override" too, as in Istio.
  EXPECT_EQ(nl::parse(got["metadata"]["annotations"]["proxy.istio.io/overrides"].get<std::string>()),
            nl::parse(R"({"containers":[{"name":"app"}]})"));
}

// ---- with Istio's inputs and goldens

nl pod_template(const nl& doc) {
  if (doc.value("kind", "") == "Pod") return doc;
  return doc["spec"]["template"];
}

// The hello golden's sidecar, as a template would render it.
nl hello_sidecar(const std::filesystem::path& dir) {
  const nl golden = pod_template(mt::yaml_to_json(mt::read_file(dir / "hello.yaml.injected")));
  nl render;
  render["metadata"]["labels"]["security.istio.io/tlsMode"] = "istio";
  render["spec"]["initContainers"] = golden["spec"]["initContainers"];
  render["spec"]["volumes"] = golden["spec"]["volumes"];
  return render;
}

nl find_named(const nl& list, const std::string& name) {
  for (const auto& c : list)
    if (c.value("name", "") == name) return c;
  return nl();
}

TEST_F(overlay_test, istio_proxy_override_runas) {
  MESHINJECT_REQUIRE_CONFORMANCE(root);
  const auto dir = root / "istio-1.28" / "inject";
  const nl input = pod_template(mt::yaml_to_json(mt::read_file(dir / "proxy-override-runas.yaml")));
  const nl golden = pod_template(mt::yaml_to_json(mt::read_file(dir / "proxy-override-runas.yaml.injected")));
  const nl got = inject(input, {hello_sidecar(dir)}, true);
  EXPECT_EQ(names(got["spec"]["containers"]), names(golden["spec"]["containers"]));
  EXPECT_EQ(names(got["spec"]["initContainers"]), names(golden["spec"]["initContainers"]));
  const nl proxy = find_named(got["spec"]["initContainers"], "istio-proxy");
  const nl want_proxy = find_named(golden["spec"]["initContainers"], "istio-proxy");
  EXPECT_EQ(mt::semantic_diff(proxy["securityContext"], want_proxy["securityContext"]), "");
  EXPECT_EQ(find_named(got["spec"]["initContainers"], "istio-init")["args"],
            find_named(golden["spec"]["initContainers"], "istio-init")["args"]);
  const auto& want_annotation = golden["metadata"]["annotations"]["proxy.istio.io/overrides"];
  EXPECT_EQ(mt::semantic_diff(got["metadata"]["annotations"]["proxy.istio.io/overrides"], want_annotation), "");
}

TEST_F(overlay_test, istio_proxy_override_runas_tproxy) {
  MESHINJECT_REQUIRE_CONFORMANCE(root);
  const auto dir = root / "istio-1.28" / "inject";
  const nl input = pod_template(mt::yaml_to_json(mt::read_file(dir / "proxy-override-runas.yaml")));
  const nl golden = pod_template(mt::yaml_to_json(mt::read_file(dir / "proxy-override-runas.yaml.tproxy.injected")));
  const nl got = inject(input, {hello_sidecar(dir)}, true, reapply_options{true});
  const nl proxy = find_named(got["spec"]["initContainers"], "istio-proxy");
  const nl want_proxy = find_named(golden["spec"]["initContainers"], "istio-proxy");
  EXPECT_EQ(proxy["securityContext"]["runAsUser"], want_proxy["securityContext"]["runAsUser"]);
  EXPECT_EQ(proxy["securityContext"]["runAsGroup"], want_proxy["securityContext"]["runAsGroup"]);
  // The value after -u (the rest of the args come from the TPROXY template).
  EXPECT_EQ(find_named(got["spec"]["initContainers"], "istio-init")["args"][6],
            find_named(golden["spec"]["initContainers"], "istio-init")["args"][6]);
}

TEST_F(overlay_test, istio_proxy_override_args) {
  MESHINJECT_REQUIRE_CONFORMANCE(root);
  const auto dir = root / "istio-1.28" / "inject";
  const nl input = pod_template(mt::yaml_to_json(mt::read_file(dir / "proxy-override-args.yaml")));
  const nl golden = pod_template(mt::yaml_to_json(mt::read_file(dir / "proxy-override-args.yaml.injected")));
  const nl got = inject(input, {hello_sidecar(dir)}, true);
  const nl proxy = find_named(got["spec"]["initContainers"], "istio-proxy");
  const nl want_proxy = find_named(golden["spec"]["initContainers"], "istio-proxy");
  EXPECT_EQ(proxy["args"], want_proxy["args"]);
  EXPECT_EQ(proxy["command"], want_proxy["command"]);
  EXPECT_EQ(proxy["image"], want_proxy["image"]);
  EXPECT_EQ(mt::semantic_diff(got["metadata"]["annotations"]["proxy.istio.io/overrides"],
                              golden["metadata"]["annotations"]["proxy.istio.io/overrides"]),
            "");
}

TEST_F(overlay_test, istio_multi_init_puts_injected_init_containers_first) {
  MESHINJECT_REQUIRE_CONFORMANCE(root);
  const auto dir = root / "istio-1.28" / "inject";
  const nl input = pod_template(mt::yaml_to_json(mt::read_file(dir / "multi-init.yaml")));
  const nl golden = pod_template(mt::yaml_to_json(mt::read_file(dir / "multi-init.yaml.injected")));
  const nl got = inject(input, {hello_sidecar(dir)}, true);
  EXPECT_EQ(names(got["spec"]["initContainers"]), names(golden["spec"]["initContainers"]));
  EXPECT_EQ(names(got["spec"]["volumes"]), names(golden["spec"]["volumes"]));
}

}  // namespace

namespace {

// A later render's directives decide the template pod's names as they decide
// the pod's: the linked path keeps them when it cuts the template pod to names.
TEST_F(overlay_test, linked_renders_keep_the_directives_that_decide_the_template_pods_names) {
  const nl pod = nl::parse(R"({"metadata":{"name":"p"},"spec":{"containers":[{"name":"app","image":"app"}]}})");
  const nl first = nl::parse(R"({"spec":{"containers":[{"name":"istio-proxy","image":"proxy","args":["a"]}],
    "volumes":[{"name":"v","emptyDir":{}}],"initContainers":[{"name":"istio-init","image":"proxy"}]}})");
  const nl second = nl::parse(R"({"spec":{"containers":[{"name":"istio-proxy","$patch":"delete"},{"name":"agent"}],
    "volumes":[{"$patch":"replace"},{"name":"w","secret":{"secretName":"s","x":null}}],
    "initContainers":[{"name":"istio-init","args":null,"env":[{"name":"E","value":"1"}]}]}})");
  const nl result = inject(pod, {first, second}, false);
  EXPECT_EQ(names(result["spec"]["containers"]), nl::parse(R"(["agent","app"])"));
  EXPECT_EQ(names(result["spec"]["volumes"]), nl::parse(R"(["w"])"));
  EXPECT_EQ(result["spec"]["initContainers"][0]["env"][0]["value"], "1");
  nl linked_template;
  inject_with(meshinject::patch::render_use::link, pod, {first, second}, false, {}, linked_template);
  EXPECT_EQ(linked_template, nl::parse(R"({"spec":{"containers":[{"name":"agent"}],
    "initContainers":[{"name":"istio-init"}],"volumes":[{"name":"w"}]}})"));
}

}  // namespace
