#pragma once
// How Kubernetes' strategic merge patch treats each list of a Pod: the
// `patchStrategy` and `patchMergeKey` struct tags of the Go types, as
// k8s.io/api v0.34.1 (Kubernetes 1.34, what Istio 1.28 builds against) declares
// them in core/v1/types.go, and k8s.io/apimachinery v0.34.1 in
// pkg/apis/meta/v1/types.go for ObjectMeta. The tags are the same through
// v0.34.9 and in v0.33.
//
// The table names only what differs from the default: lists with the merge
// strategy, the types on the way to them (Pod -> PodSpec -> Container ...), and,
// for the record, a few lists people expect to merge but that are replaced
// (tolerations, args). Everything else -- a field not listed, or any field of a
// type given as nullptr (securityContext, probes, resources, lifecycle, affinity,
// volume sources, ...) -- follows the default: objects merge key by key, lists
// are replaced whole. No Pod field has `patchStrategy:"replace"` on an object.
//
// The table is static and immutable; any core may read it.

#include <cstdint>
#include <span>
#include <string_view>

namespace meshinject::patch::smp {

enum class list_strategy : std::uint8_t { replace, merge };

struct type_meta;

struct field_meta {
  std::string_view name;                           // the JSON name
  const type_meta* type = nullptr;                 // the field's (a list's element) type; nullptr: default rules
  list_strategy strategy = list_strategy::replace; // for lists
  std::string_view merge_key;                      // merged lists of objects; "" for merged scalar lists
  bool retain_keys = false;                        // `retainKeys` (it matters to patch creation, not to merging)
};

struct type_meta {
  std::string_view name;  // the Go type, for messages
  std::span<const field_meta> fields;

  const field_meta* find(std::string_view json_name) const noexcept;
};

// The types a merge starts from.
const type_meta& pod() noexcept;
const type_meta& pod_spec() noexcept;
const type_meta& container() noexcept;  // also EphemeralContainer (same tags)
const type_meta& object_meta() noexcept;

// The field `key` of `type` (nullptr for a type with default rules, or a field
// the table does not list).
inline const field_meta* lookup(const type_meta* type, std::string_view key) noexcept {
  return type == nullptr ? nullptr : type->find(key);
}

}  // namespace meshinject::patch::smp
