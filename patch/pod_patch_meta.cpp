#include "patch/pod_patch_meta.hpp"

namespace meshinject::patch::smp {
namespace {

using S = list_strategy;

// A list merged by `key` (or a scalar list merged as a set when key is "").
constexpr field_meta merged(std::string_view name, std::string_view key, const type_meta* elem = nullptr,
                            bool retain_keys = false) {
  return field_meta{name, elem, S::merge, key, retain_keys};
}
// A list replaced whole (the default, listed for the reader).
constexpr field_meta replaced(std::string_view name) { return field_meta{name, nullptr, S::replace, {}, false}; }
// An object whose own fields have rules.
constexpr field_meta object(std::string_view name, const type_meta* type) {
  return field_meta{name, type, S::replace, {}, false};
}

constexpr field_meta container_fields[] = {
    merged("ports", "containerPort"),   // the tag names containerPort alone (not protocol)
    merged("env", "name"),
    merged("volumeMounts", "mountPath"),
    merged("volumeDevices", "devicePath"),
    replaced("command"),
    replaced("args"),
    replaced("envFrom"),
    replaced("resizePolicy"),
    replaced("restartPolicyRules"),
};
constexpr type_meta container_t{"Container", container_fields};

constexpr field_meta object_meta_fields[] = {
    merged("finalizers", ""),
    merged("ownerReferences", "uid"),
    replaced("managedFields"),
};
constexpr type_meta object_meta_t{"ObjectMeta", object_meta_fields};

constexpr field_meta pod_spec_fields[] = {
    merged("volumes", "name", nullptr, true),
    merged("initContainers", "name", &container_t),
    merged("containers", "name", &container_t),
    merged("ephemeralContainers", "name", &container_t),
    merged("imagePullSecrets", "name"),
    merged("hostAliases", "ip"),
    merged("topologySpreadConstraints", "topologyKey"),
    merged("schedulingGates", "name"),
    merged("resourceClaims", "name", nullptr, true),
    replaced("tolerations"),
    replaced("readinessGates"),
};
constexpr type_meta pod_spec_t{"PodSpec", pod_spec_fields};

constexpr field_meta pod_status_fields[] = {
    merged("conditions", "type"),
    merged("hostIPs", "ip"),
    merged("podIPs", "ip"),
    merged("resourceClaimStatuses", "name", nullptr, true),
    replaced("initContainerStatuses"),
    replaced("containerStatuses"),
    replaced("ephemeralContainerStatuses"),
};
constexpr type_meta pod_status_t{"PodStatus", pod_status_fields};

constexpr field_meta pod_fields[] = {
    object("metadata", &object_meta_t),
    object("spec", &pod_spec_t),
    object("status", &pod_status_t),
};
constexpr type_meta pod_t{"Pod", pod_fields};

}  // namespace

const field_meta* type_meta::find(std::string_view json_name) const noexcept {
  for (const field_meta& f : fields)
    if (f.name == json_name) return &f;
  return nullptr;
}

const type_meta& pod() noexcept { return pod_t; }
const type_meta& pod_spec() noexcept { return pod_spec_t; }
const type_meta& container() noexcept { return container_t; }
const type_meta& object_meta() noexcept { return object_meta_t; }

}  // namespace meshinject::patch::smp
