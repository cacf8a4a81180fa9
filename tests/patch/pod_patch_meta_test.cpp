// The Pod's strategic-merge table against the struct tags of k8s.io/api
// v0.34.1 core/v1/types.go and apimachinery's ObjectMeta, list by list.

#include "patch/pod_patch_meta.hpp"

#include <gtest/gtest.h>

namespace {

namespace smp = meshinject::patch::smp;

struct expected_list {
  const smp::type_meta& type;
  const char* field;
  smp::list_strategy strategy;
  const char* key;
  bool retain_keys;
};

TEST(pod_patch_meta, lists_have_the_tags_of_kubernetes_1_34) {
  using S = smp::list_strategy;
  const expected_list lists[] = {
      {smp::object_meta(), "finalizers", S::merge, "", false},
      {smp::object_meta(), "ownerReferences", S::merge, "uid", false},
      {smp::pod_spec(), "volumes", S::merge, "name", true},
      {smp::pod_spec(), "initContainers", S::merge, "name", false},
      {smp::pod_spec(), "containers", S::merge, "name", false},
      {smp::pod_spec(), "ephemeralContainers", S::merge, "name", false},
      {smp::pod_spec(), "imagePullSecrets", S::merge, "name", false},
      {smp::pod_spec(), "hostAliases", S::merge, "ip", false},
      {smp::pod_spec(), "topologySpreadConstraints", S::merge, "topologyKey", false},
      {smp::pod_spec(), "schedulingGates", S::merge, "name", false},
      {smp::pod_spec(), "resourceClaims", S::merge, "name", true},
      {smp::pod_spec(), "tolerations", S::replace, "", false},
      {smp::pod_spec(), "readinessGates", S::replace, "", false},
      {smp::container(), "ports", S::merge, "containerPort", false},
      {smp::container(), "env", S::merge, "name", false},
      {smp::container(), "volumeMounts", S::merge, "mountPath", false},
      {smp::container(), "volumeDevices", S::merge, "devicePath", false},
      {smp::container(), "args", S::replace, "", false},
      {smp::container(), "command", S::replace, "", false},
      {smp::container(), "resizePolicy", S::replace, "", false},
  };
  for (const auto& l : lists) {
    const smp::field_meta* f = smp::lookup(&l.type, l.field);
    ASSERT_NE(f, nullptr) << l.type.name << "." << l.field;
    EXPECT_EQ(f->strategy, l.strategy) << l.field;
    EXPECT_EQ(f->merge_key, l.key) << l.field;
    EXPECT_EQ(f->retain_keys, l.retain_keys) << l.field;
  }
}

TEST(pod_patch_meta, containers_lead_to_the_container_type) {
  for (const char* list : {"initContainers", "containers", "ephemeralContainers"})
    EXPECT_EQ(smp::lookup(&smp::pod_spec(), list)->type, &smp::container()) << list;
  EXPECT_EQ(smp::lookup(&smp::pod(), "spec")->type, &smp::pod_spec());
  EXPECT_EQ(smp::lookup(&smp::pod(), "metadata")->type, &smp::object_meta());
}

TEST(pod_patch_meta, unlisted_fields_follow_the_default_rules) {
  EXPECT_EQ(smp::lookup(&smp::container(), "securityContext"), nullptr);
  EXPECT_EQ(smp::lookup(&smp::pod_spec(), "affinity"), nullptr);
  EXPECT_EQ(smp::lookup(nullptr, "anything"), nullptr);
  // Volume sources have no merged lists: the element type is the default.
  EXPECT_EQ(smp::lookup(&smp::pod_spec(), "volumes")->type, nullptr);
}

}  // namespace
