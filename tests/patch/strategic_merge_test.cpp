// Strategic merge as apimachinery applies it to a Pod, rule by rule: objects,
// null, scalars, merged and replaced lists and their order, every directive,
// and the errors. Results are compared as JSON with nlohmann (object member
// order free, list order significant) and, where the order of members matters,
// as text.

#include "patch/strategic_merge.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "patch/json_tree_writer.hpp"

namespace {

namespace json = meshinject::core::json;
namespace smp = meshinject::patch::smp;
using meshinject::core::arena;
using nl = nlohmann::json;

class strategic_merge : public ::testing::Test {
 protected:
  arena a;
  simdjson::dom::parser parser;
  json::error last;

  json::value tree(std::string_view text) {
    json::value v;
    const json::error err = json::parse(text, parser, a, v);
    EXPECT_FALSE(err) << err.message;
    return v;
  }

  // The merged target as JSON text, or "" with `last` set on error.
  std::string merge_text(std::string_view target, std::string_view patch, const smp::type_meta* type = &smp::pod()) {
    json::value t = tree(target);
    const json::value p = tree(patch);
    last = smp::merge(t, p, type, a);
    if (last) return "";
    std::string out;
    meshinject::patch::append_json(out, t);
    return out;
  }

  nl merged(std::string_view target, std::string_view patch, const smp::type_meta* type = &smp::pod()) {
    const std::string text = merge_text(target, patch, type);
    EXPECT_FALSE(last) << last.message;
    return text.empty() ? nl() : nl::parse(text);
  }

  json::error merge_error(std::string_view target, std::string_view patch, const smp::type_meta* type = &smp::pod()) {
    merge_text(target, patch, type);
    return last;
  }
};

// ---- objects, null, scalars

TEST_F(strategic_merge, objects_merge_key_by_key_keeping_order) {
  EXPECT_EQ(merge_text(R"({"a":1,"b":{"c":1,"d":2}})", R"({"b":{"c":3,"e":4},"f":5})"),
            R"({"a":1,"b":{"c":3,"d":2,"e":4},"f":5})");
}

TEST_F(strategic_merge, null_deletes_a_key_and_new_values_lose_their_nulls) {
  EXPECT_EQ(merged(R"({"a":1,"b":2})", R"({"a":null,"c":{"d":null,"e":[{"f":null,"g":1},null]},"x":null})"),
            nl::parse(R"({"b":2,"c":{"e":[{"g":1},null]}})"));
  EXPECT_EQ(merged(R"({"metadata":{"annotations":{"a":"1","b":"2"}}})", R"({"metadata":{"annotations":{"a":null}}})"),
            nl::parse(R"({"metadata":{"annotations":{"b":"2"}}})"));
}

TEST_F(strategic_merge, scalars_and_null_targets_are_replaced) {
  EXPECT_EQ(merged(R"({"port":"http","b":true})", R"({"port":15020,"b":false})"), nl::parse(R"({"port":15020,"b":false})"));
  EXPECT_EQ(merged(R"({"a":null})", R"({"a":{"b":1}})"), nl::parse(R"({"a":{"b":1}})"));
  EXPECT_EQ(merged(R"({"a":null})", R"({"a":[1]})"), nl::parse(R"({"a":[1]})"));
}

TEST_F(strategic_merge, an_object_over_a_list_is_a_type_conflict) {
  json::error err = merge_error(R"({"spec":{"containers":[{"name":"a"}]}})", R"({"spec":{"containers":{"name":"a"}}})");
  EXPECT_EQ(err.code, json::errc::type_conflict);
  EXPECT_EQ(err.message, "/spec/containers: cannot merge an object over a list");
  err = merge_error(R"({"a":"x"})", R"({"a":{"b":1}})");
  EXPECT_EQ(err.code, json::errc::type_conflict);
  EXPECT_EQ(err.message, "/a: cannot merge an object over a string");
  EXPECT_EQ(merge_error(R"({"a":[1]})", R"({"a":2})").code, json::errc::type_conflict);
}

TEST_F(strategic_merge, the_patch_stays_as_it_was_and_the_result_is_independent) {
  json::value t = tree(R"({"spec":{"containers":[{"name":"app"}]}})");
  const json::value p = tree(R"({"spec":{"containers":[{"name":"istio-proxy","env":[{"name":"A","value":"1"}]}]}})");
  json::value before;
  ASSERT_FALSE(json::deep_copy(p, a, before));
  ASSERT_FALSE(smp::merge(t, p, &smp::pod(), a));
  json::value* env = t.find("spec")->find("containers")->items()[0].find("env");
  ASSERT_NE(env, nullptr);
  ASSERT_FALSE(env->push_back(a, json::value::string("x")));
  EXPECT_TRUE(json::equal(p, before));
}

// ---- linking a throwaway patch instead of copying it (smp::patch_use::link)

// The same merge in both modes, written as text (member order included).
std::string merged_text_in(arena& a, simdjson::dom::parser& parser, std::string_view target, std::string_view patch,
                           smp::patch_use use) {
  json::value t, p;
  if (json::parse(target, parser, a, t) || json::parse(patch, parser, a, p)) return "unparsable";
  if (const json::error err = smp::merge(t, p, &smp::pod(), a, use)) return "error: " + std::string(err.message);
  std::string out;
  meshinject::patch::append_json(out, t);
  return out;
}

TEST_F(strategic_merge, linking_gives_the_copys_result_byte_for_byte) {
  const std::pair<std::string_view, std::string_view> cases[] = {
      {R"({"spec":{"containers":[{"name":"app"}]}})",
       R"({"spec":{"containers":[{"name":"istio-proxy","env":[{"name":"A","value":"1"}],"args":["a","b"]}]}})"},
      {R"({"spec":{}})",
       R"({"spec":{"initContainers":[{"name":"i","securityContext":{"x":null,"runAsUser":1}}],"volumes":[{"name":"v","emptyDir":{}}]}})"},
      {R"({"spec":{}})", R"({"spec":{"securityContext":{"$patch":"delete"},"x":[{"$patch":"delete"},1,null]}})"},
      {R"({"spec":{}})", R"({"spec":{"s":{"a":{"$retainKeys":["b"],"b":1},"c":[{"d":{"$patch":"replace"}},{"e":2}]}}})"},
      {R"({"spec":{"containers":[{"name":"a"},{"name":"b"}]}})",
       R"({"spec":{"containers":[{"$patch":"replace"},{"name":"c","x":null,"y":{"z":null,"w":[1]}}]}})"},
      {R"({"spec":{"securityContext":{"runAsUser":1,"fsGroup":2}}})",
       R"({"spec":{"securityContext":{"$patch":"replace","runAsUser":3,"x":null,"y":{"k":null}}}})"},
      {R"({"metadata":{"annotations":{"a":"1"}},"spec":{"containers":[{"name":"app","ports":[{"containerPort":80}]}]}})",
       R"({"metadata":{"annotations":{"b":"2"},"labels":{"l":"v"}},"spec":{"containers":[{"name":"app","ports":[{"containerPort":81,"name":null}]},{"name":"p"}]}})"},
      {R"({"spec":{}})", R"({"spec":{"$deleteFromPrimitiveList/x":[1],"y":{"$setElementOrder/z":[]}}})"},
  };
  for (const auto& [target, patch] : cases) {
    const std::string copied = merged_text_in(a, parser, target, patch, smp::patch_use::copy);
    EXPECT_EQ(merged_text_in(a, parser, target, patch, smp::patch_use::link), copied) << target << " + " << patch;
  }
}

TEST_F(strategic_merge, linking_shares_clean_values_and_rebuilds_only_the_way_to_a_dropped_member) {
  json::value t = tree(R"({"spec":{}})");
  const json::value p = tree(
      R"({"spec":{"initContainers":[{"name":"i","args":["x"]}],"volumes":[{"name":"v","emptyDir":{"medium":null},"secret":{"secretName":"s"}}]}})");
  json::value before;
  ASSERT_FALSE(json::deep_copy(p, a, before));
  ASSERT_FALSE(smp::merge(t, p, &smp::pod(), a, smp::patch_use::link));
  const json::value& ps = *p.find("spec");
  const json::value& ts = *t.find("spec");
  // Nothing dropped: the result holds the patch's own list.
  EXPECT_EQ(ts.find("initContainers")->items().data(), ps.find("initContainers")->items().data());
  // A null member dropped: the list, the volume and emptyDir are new, the secret is linked.
  const json::value& volume = ts.find("volumes")->items()[0];
  const json::value& patch_volume = ps.find("volumes")->items()[0];
  EXPECT_NE(ts.find("volumes")->items().data(), ps.find("volumes")->items().data());
  EXPECT_NE(volume.members().data(), patch_volume.members().data());
  EXPECT_TRUE(volume.find("emptyDir")->empty());
  EXPECT_EQ(volume.find("secret")->members().data(), patch_volume.find("secret")->members().data());
  EXPECT_TRUE(json::equal(p, before));  // the patch keeps its null
  // A copy shares nothing.
  json::value copied = tree(R"({"spec":{}})");
  ASSERT_FALSE(smp::merge(copied, p, &smp::pod(), a, smp::patch_use::copy));
  EXPECT_NE(copied.find("spec")->find("initContainers")->items().data(), ps.find("initContainers")->items().data());
}

// ---- lists merged by key

TEST_F(strategic_merge, a_new_container_comes_before_the_pods_own) {
  EXPECT_EQ(merged(R"({"spec":{"containers":[{"name":"app","image":"a"}]}})",
                   R"({"spec":{"containers":[{"name":"istio-proxy","image":"p"}]}})"),
            nl::parse(R"({"spec":{"containers":[{"name":"istio-proxy","image":"p"},{"name":"app","image":"a"}]}})"));
  EXPECT_EQ(merged(R"({"spec":{"initContainers":[{"name":"init-one"},{"name":"init-two"}]}})",
                   R"({"spec":{"initContainers":[{"name":"istio-init"},{"name":"istio-proxy"}]}})")["spec"]["initContainers"],
            nl::parse(R"([{"name":"istio-init"},{"name":"istio-proxy"},{"name":"init-one"},{"name":"init-two"}])"));
}

TEST_F(strategic_merge, a_container_of_the_same_name_is_merged_field_by_field) {
  const nl got = merged(
      R"({"spec":{"containers":[{"name":"istio-proxy","image":"auto","args":["-c","x"],"resources":{"limits":{"cpu":"1"}}},{"name":"app"}]}})",
      R"({"spec":{"containers":[{"name":"istio-proxy","image":"proxyv2","args":["proxy"],"resources":{"requests":{"cpu":"100m"}}}]}})");
  EXPECT_EQ(got["spec"]["containers"], nl::parse(R"([{"name":"istio-proxy","image":"proxyv2","args":["proxy"],
      "resources":{"limits":{"cpu":"1"},"requests":{"cpu":"100m"}}},{"name":"app"}])"));
}

TEST_F(strategic_merge, env_merges_by_name_and_keeps_the_targets_order_for_known_names) {
  const nl got = merged(
      R"({"spec":{"containers":[{"name":"c","env":[{"name":"A","value":"1"},{"name":"B","value":"2"}]}]}})",
      R"({"spec":{"containers":[{"name":"c","env":[{"name":"B","value":"3"},{"name":"C","value":"4"}]}]}})");
  EXPECT_EQ(got["spec"]["containers"][0]["env"],
            nl::parse(R"([{"name":"A","value":"1"},{"name":"B","value":"3"},{"name":"C","value":"4"}])"));
}

TEST_F(strategic_merge, patch_order_wins_over_the_targets_for_the_items_it_names) {
  // apimachinery without $setElementOrder: [a b c] + [c a] -> [b c a].
  const nl got = merged(R"({"spec":{"volumes":[{"name":"a"},{"name":"b"},{"name":"c"}]}})",
                        R"({"spec":{"volumes":[{"name":"c","emptyDir":{}},{"name":"a","emptyDir":{}}]}})");
  EXPECT_EQ(got["spec"]["volumes"],
            nl::parse(R"([{"name":"b"},{"name":"c","emptyDir":{}},{"name":"a","emptyDir":{}}])"));
  // [a b c] + [d b] -> [d a b c]
  EXPECT_EQ(merged(R"({"spec":{"volumes":[{"name":"a"},{"name":"b"},{"name":"c"}]}})",
                   R"({"spec":{"volumes":[{"name":"d"},{"name":"b","x":1}]}})")["spec"]["volumes"],
            nl::parse(R"([{"name":"d"},{"name":"a"},{"name":"b","x":1},{"name":"c"}])"));
}

TEST_F(strategic_merge, ports_merge_by_container_port_mounts_by_mount_path) {
  const nl got = merged(
      R"({"spec":{"containers":[{"name":"c","ports":[{"containerPort":80,"name":"http"}],
          "volumeMounts":[{"name":"a","mountPath":"/a"}],"volumeDevices":[{"name":"d","devicePath":"/dev/x"}]}]}})",
      R"({"spec":{"containers":[{"name":"c","ports":[{"containerPort":80,"protocol":"TCP"},{"containerPort":15090}],
          "volumeMounts":[{"name":"b","mountPath":"/a"},{"name":"c","mountPath":"/c"}],
          "volumeDevices":[{"name":"e","devicePath":"/dev/x"}]}]}})");
  const nl& c = got["spec"]["containers"][0];
  EXPECT_EQ(c["ports"], nl::parse(R"([{"containerPort":80,"name":"http","protocol":"TCP"},{"containerPort":15090}])"));
  EXPECT_EQ(c["volumeMounts"], nl::parse(R"([{"name":"b","mountPath":"/a"},{"name":"c","mountPath":"/c"}])"));
  EXPECT_EQ(c["volumeDevices"], nl::parse(R"([{"name":"e","devicePath":"/dev/x"}])"));
}

TEST_F(strategic_merge, keys_compare_by_meaning) {
  // 80 and 80.0 are the same port (Go decodes both to float64).
  const nl got = merged(R"({"spec":{"containers":[{"name":"c","ports":[{"containerPort":80,"name":"http"}]}]}})",
                        R"({"spec":{"containers":[{"name":"c","ports":[{"containerPort":80.0,"protocol":"TCP"}]}]}})");
  EXPECT_EQ(got["spec"]["containers"][0]["ports"].size(), 1u);
}

TEST_F(strategic_merge, other_pod_lists_merge_by_their_keys) {
  const nl got = merged(
      R"({"metadata":{"ownerReferences":[{"uid":"1","name":"rs"}]},"spec":{"imagePullSecrets":[{"name":"a"}],
          "hostAliases":[{"ip":"1.1.1.1","hostnames":["a"]}],"ephemeralContainers":[{"name":"dbg","image":"x"}],
          "topologySpreadConstraints":[{"topologyKey":"zone","maxSkew":1}],"schedulingGates":[{"name":"g"}],
          "resourceClaims":[{"name":"r"}]},"status":{"conditions":[{"type":"Ready","status":"False"}]}})",
      R"({"metadata":{"ownerReferences":[{"uid":"1","kind":"ReplicaSet"}]},"spec":{"imagePullSecrets":[{"name":"b"}],
          "hostAliases":[{"ip":"1.1.1.1","hostnames":["b"]}],"ephemeralContainers":[{"name":"dbg","tty":true}],
          "topologySpreadConstraints":[{"topologyKey":"zone","maxSkew":2}],"schedulingGates":[{"name":"h"}],
          "resourceClaims":[{"name":"r","resourceClaimName":"c"}]},"status":{"conditions":[{"type":"Ready","status":"True"}]}})");
  EXPECT_EQ(got, nl::parse(
      R"({"metadata":{"ownerReferences":[{"uid":"1","name":"rs","kind":"ReplicaSet"}]},"spec":{"imagePullSecrets":[{"name":"b"},{"name":"a"}],
          "hostAliases":[{"ip":"1.1.1.1","hostnames":["b"]}],"ephemeralContainers":[{"name":"dbg","image":"x","tty":true}],
          "topologySpreadConstraints":[{"topologyKey":"zone","maxSkew":2}],"schedulingGates":[{"name":"h"},{"name":"g"}],
          "resourceClaims":[{"name":"r","resourceClaimName":"c"}]},"status":{"conditions":[{"type":"Ready","status":"True"}]}})"));
}

// ---- lists replaced, scalar lists merged

TEST_F(strategic_merge, lists_without_the_merge_strategy_are_replaced) {
  const nl got = merged(
      R"({"spec":{"tolerations":[{"key":"a"}],"readinessGates":[{"conditionType":"x"}],"containers":[{"name":"c",
          "args":["a","b"],"command":["x"],"resizePolicy":[{"resourceName":"cpu"}],
          "securityContext":{"capabilities":{"add":["NET_ADMIN"],"drop":["ALL"]}}}],
          "affinity":{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[{"a":1}]}}}}})",
      R"({"spec":{"tolerations":[{"key":"b"}],"readinessGates":[],"containers":[{"name":"c","args":["c"],"command":[],
          "resizePolicy":[{"resourceName":"memory"}],"securityContext":{"capabilities":{"add":["NET_RAW"]}}}],
          "affinity":{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[{"b":2}]}}}}})");
  EXPECT_EQ(got, nl::parse(
      R"({"spec":{"tolerations":[{"key":"b"}],"readinessGates":[],"containers":[{"name":"c","args":["c"],"command":[],
          "resizePolicy":[{"resourceName":"memory"}],"securityContext":{"capabilities":{"add":["NET_RAW"],"drop":["ALL"]}}}],
          "affinity":{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[{"b":2}]}}}}})"));
}

TEST_F(strategic_merge, a_merged_scalar_list_is_a_union_in_apimachinerys_order) {
  EXPECT_EQ(merged(R"({"metadata":{"finalizers":["a","b","c"]}})", R"({"metadata":{"finalizers":["d","b"]}})"),
            nl::parse(R"({"metadata":{"finalizers":["d","a","b","c"]}})"));
  EXPECT_EQ(merged(R"({"metadata":{"finalizers":["a","a","b"]}})", R"({"metadata":{"finalizers":["b","b"]}})"),
            nl::parse(R"({"metadata":{"finalizers":["a","b"]}})"));
  EXPECT_EQ(merged(R"({"metadata":{"finalizers":[]}})", R"({"metadata":{"finalizers":["x"]}})"),
            nl::parse(R"({"metadata":{"finalizers":["x"]}})"));
  EXPECT_EQ(merged(R"({"metadata":{"finalizers":["x"]}})", R"({"metadata":{"finalizers":[]}})"),
            nl::parse(R"({"metadata":{"finalizers":["x"]}})"));
}

// ---- directives

TEST_F(strategic_merge, patch_replace_on_an_object_takes_the_patchs_object) {
  EXPECT_EQ(merged(R"({"spec":{"securityContext":{"runAsUser":1,"fsGroup":2}}})",
                   R"({"spec":{"securityContext":{"$patch":"replace","runAsUser":3,"x":null}}})"),
            nl::parse(R"({"spec":{"securityContext":{"runAsUser":3}}})"));
}

TEST_F(strategic_merge, patch_delete_on_an_object_empties_it) {
  EXPECT_EQ(merged(R"({"spec":{"securityContext":{"runAsUser":1}}})", R"({"spec":{"securityContext":{"$patch":"delete"}}})"),
            nl::parse(R"({"spec":{"securityContext":{}}})"));
  EXPECT_EQ(merged(R"({"spec":{}})", R"({"spec":{"securityContext":{"$patch":"delete"},"x":[{"$patch":"delete"},1]}})"),
            nl::parse(R"({"spec":{"x":[1]}})"));
}

TEST_F(strategic_merge, patch_delete_as_a_list_item_removes_by_merge_key) {
  EXPECT_EQ(merged(R"({"spec":{"containers":[{"name":"a"},{"name":"b"},{"name":"a","x":1}]}})",
                   R"({"spec":{"containers":[{"name":"a","$patch":"delete"},{"name":"c"}]}})")["spec"]["containers"],
            nl::parse(R"([{"name":"c"},{"name":"b"}])"));
  const json::error err = merge_error(R"({"spec":{"containers":[{"name":"a"}]}})",
                                      R"({"spec":{"containers":[{"$patch":"delete"}]}})");
  EXPECT_EQ(err.code, json::errc::missing_merge_key);
}

TEST_F(strategic_merge, patch_replace_as_a_list_item_replaces_the_list) {
  EXPECT_EQ(merged(R"({"spec":{"containers":[{"name":"a"},{"name":"b"}]}})",
                   R"({"spec":{"containers":[{"$patch":"replace"},{"name":"c","x":null}]}})")["spec"]["containers"],
            nl::parse(R"([{"name":"c"}])"));
}

TEST_F(strategic_merge, patch_merge_and_unknown_directives_are_errors) {
  EXPECT_EQ(merge_error(R"({"spec":{"containers":[]}})", R"({"spec":{"containers":[{"$patch":"merge"}]}})").code,
            json::errc::unsupported);
  EXPECT_EQ(merge_error(R"({"spec":{"x":{}}})", R"({"spec":{"x":{"$patch":"merge"}}})").code, json::errc::bad_directive);
  EXPECT_EQ(merge_error(R"({"spec":{"x":{}}})", R"({"spec":{"x":{"$patch":"shred"}}})").code, json::errc::bad_directive);
  EXPECT_EQ(merge_error(R"({"spec":{"containers":[{"name":"a"}]}})",
                        R"({"spec":{"containers":[{"name":"a","$patch":1}]}})").code,
            json::errc::bad_directive);
}

TEST_F(strategic_merge, retain_keys_drops_the_targets_other_fields) {
  const nl got = merged(
      R"({"spec":{"volumes":[{"name":"v","emptyDir":{}}]}})",
      R"({"spec":{"volumes":[{"name":"v","$retainKeys":["name","hostPath"],"hostPath":{"path":"/x"}}]}})");
  EXPECT_EQ(got["spec"]["volumes"], nl::parse(R"([{"name":"v","hostPath":{"path":"/x"}}])"));
  const json::error err = merge_error(R"({"spec":{"volumes":[{"name":"v","emptyDir":{}}]}})",
                                      R"({"spec":{"volumes":[{"name":"v","$retainKeys":["name"],"hostPath":{}}]}})");
  EXPECT_EQ(err.code, json::errc::bad_directive);
  EXPECT_EQ(err.message, "/spec/volumes/0: a patched field is missing from $retainKeys");
  EXPECT_EQ(merge_error(R"({"a":{}})", R"({"a":{"$retainKeys":"name"}})").code, json::errc::bad_directive);
  // A new value does not carry the directive.
  EXPECT_EQ(merged(R"({"spec":{}})", R"({"spec":{"volumes":[{"name":"v","$retainKeys":["name"]}]}})"),
            nl::parse(R"({"spec":{"volumes":[{"name":"v"}]}})"));
}

TEST_F(strategic_merge, delete_from_primitive_list_removes_values) {
  EXPECT_EQ(merged(R"({"metadata":{"finalizers":["a","b","a"]}})",
                   R"({"metadata":{"$deleteFromPrimitiveList/finalizers":["a","z"]}})"),
            nl::parse(R"({"metadata":{"finalizers":["b"]}})"));
  EXPECT_EQ(merged(R"({"metadata":{}})", R"({"metadata":{"$deleteFromPrimitiveList/finalizers":["a"]}})"),
            nl::parse(R"({"metadata":{}})"));
  // Also on lists that are otherwise replaced, as apimachinery does.
  EXPECT_EQ(merged(R"({"spec":{"containers":[{"name":"c","args":["-a","-b"]}]}})",
                   R"({"spec":{"containers":[{"name":"c","$deleteFromPrimitiveList/args":["-a"]}]}})")["spec"]["containers"],
            nl::parse(R"([{"name":"c","args":["-b"]}])"));
  EXPECT_EQ(merge_error(R"({"metadata":{"finalizers":["a"]}})", R"({"metadata":{"$deleteFromPrimitiveListfinalizers":["a"]}})").code,
            json::errc::bad_directive);
  EXPECT_EQ(merge_error(R"({"spec":{"containers":[{"name":"a"}]}})",
                        R"({"spec":{"$deleteFromPrimitiveList/containers":[{"name":"a"}]}})").code,
            json::errc::unsupported);
}

TEST_F(strategic_merge, set_element_order_is_refused) {
  const json::error err = merge_error(R"({"metadata":{"finalizers":["a"]}})",
                                      R"({"metadata":{"$setElementOrder/finalizers":["a"]}})");
  EXPECT_EQ(err.code, json::errc::unsupported);
  EXPECT_EQ(err.message, "/metadata: $setElementOrder is not supported in injection templates");
}

// ---- errors

TEST_F(strategic_merge, list_items_need_their_merge_key) {
  json::error err = merge_error(R"({"spec":{"containers":[{"name":"a"}]}})", R"({"spec":{"containers":[{"image":"x"}]}})");
  EXPECT_EQ(err.code, json::errc::missing_merge_key);
  EXPECT_EQ(err.message, "/spec/containers: a patch list item has no merge key name");
  err = merge_error(R"({"spec":{"containers":[{"image":"x"}]}})", R"({"spec":{"containers":[{"name":"a"}]}})");
  EXPECT_EQ(err.code, json::errc::missing_merge_key);
}

TEST_F(strategic_merge, merged_lists_hold_one_kind_of_element) {
  EXPECT_EQ(merge_error(R"({"metadata":{"finalizers":["a"]}})", R"({"metadata":{"finalizers":[1]}})").code,
            json::errc::mixed_list);
  EXPECT_EQ(merge_error(R"({"metadata":{"finalizers":["a"]}})", R"({"metadata":{"finalizers":[null]}})").code,
            json::errc::mixed_list);
  EXPECT_EQ(merge_error(R"({"metadata":{"finalizers":[["a"]]}})", R"({"metadata":{"finalizers":["b"]}})").code,
            json::errc::mixed_list);
  EXPECT_EQ(merge_error(R"({"spec":{"containers":[{"name":"a"}]}})", R"({"spec":{"containers":["b"]}})").code,
            json::errc::mixed_list);
}

TEST_F(strategic_merge, a_merged_list_of_objects_without_a_key_is_an_error) {
  static constexpr smp::field_meta fields[] = {{"items", nullptr, smp::list_strategy::merge, "", false}};
  static constexpr smp::type_meta custom{"Custom", fields};
  EXPECT_EQ(merge_error(R"({"items":[{"a":1}]})", R"({"items":[{"a":2}]})", &custom).code,
            json::errc::missing_merge_key);
  EXPECT_EQ(merged(R"({"items":["a"]})", R"({"items":["b"]})", &custom), nl::parse(R"({"items":["b","a"]})"));
}

TEST_F(strategic_merge, the_top_level_must_be_objects) {
  EXPECT_EQ(merge_error("[1]", "{}").code, json::errc::type_conflict);
  EXPECT_EQ(merge_error("{}", "[1]").code, json::errc::type_conflict);
}

TEST_F(strategic_merge, deep_trees_end_in_an_error_not_a_crash) {
  json::value t = json::value::object();
  json::value p = json::value::object();
  json::value* tc = &t;
  json::value* pc = &p;
  for (int i = 0; i < 600; ++i) {
    ASSERT_FALSE(tc->set(a, "k", json::value::object(), &tc));
    ASSERT_FALSE(pc->set(a, "k", json::value::object(), &pc));
  }
  ASSERT_FALSE(pc->set(a, "leaf", json::value::integer(1)));
  EXPECT_EQ(smp::merge(t, p, nullptr, a).code, json::errc::too_deep);
}

TEST_F(strategic_merge, a_warm_arena_merges_without_the_heap) {
  const std::string pod =
      R"({"metadata":{"labels":{"app":"x"}},"spec":{"containers":[{"name":"app","env":[{"name":"A","value":"1"}]}],"volumes":[{"name":"v"}]}})";
  const std::string overlay =
      R"({"metadata":{"labels":{"security.istio.io/tlsMode":"istio"}},"spec":{"initContainers":[{"name":"istio-init","args":["-u","1337"]}],)"
      R"("containers":[{"name":"istio-proxy","env":[{"name":"B","value":"2"}]}],"volumes":[{"name":"istio-envoy","emptyDir":{}}]}})";
  auto once = [&] {
    a.reset();
    json::value t = tree(pod);
    const json::value p = tree(overlay);
    ASSERT_FALSE(smp::merge(t, p, &smp::pod(), a));
  };
  once();
  once();
  const std::size_t warm = a.heap_allocations();
  for (int i = 0; i < 20; ++i) once();
  EXPECT_EQ(a.heap_allocations(), warm);
}

}  // namespace
