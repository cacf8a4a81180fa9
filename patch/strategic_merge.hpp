#pragma once
// Kubernetes strategic merge patch, applied as Istio >= 1.9 applies a rendered
// template to a pod (k8s.io/apimachinery v0.34 strategicpatch.
// StrategicMergeMapPatchUsingLookupPatchMeta: parallel lists merged, unmatched
// nulls ignored), with the list rules of pod_patch_meta.hpp.
//
// The rules, for `patch` merged over `target`:
// - Objects merge key by key; a patch key absent from the target is added (its
//   null members left out); `key: null` deletes the key.
// - Scalars, and values of another kind where the target holds null, replace.
// - Lists with the merge strategy: lists of objects merge item by item by their
//   merge key (a new item is appended, an existing one merged recursively);
//   lists of scalars become the union. The result's order is apimachinery's:
//   the patch's items in patch order, with the target's other items placed
//   before the first patch item that followed them in the target (so new items
//   come first: [app] + [istio-proxy] -> [istio-proxy, app]).
// - Other lists are replaced whole.
// - Directives: `$patch: replace` on an object (the object becomes the patch's)
//   or as a list item (the list becomes the patch's items); `$patch: delete` on
//   an object (it becomes {}) or as a list item with the merge key (matching
//   items removed); `$retainKeys: [...]` (target keys not listed are dropped;
//   a patch key not listed is an error); `$deleteFromPrimitiveList/<list>: [...]`
//   (those scalars removed from the list).
//
// Errors (apimachinery's, as values): a list item without its merge key; a
// merged list mixing kinds, holding nulls or lists; a list of objects with the
// merge strategy but no merge key; `$patch` other than replace/delete (`merge`
// too, which apimachinery refuses); a bad `$retainKeys`.
// Deliberately different:
// - An object or list meeting a value of another (non-null) kind is an error
//   (type_conflict). apimachinery replaces it and Istio's decode into the typed
//   Pod then fails, so the pod is refused either way, with a clearer message here.
// - `$setElementOrder/<list>` is refused (unsupported): kubectl writes it when it
//   computes a patch; an injection template has no reason to.
//   `$deleteFromPrimitiveList` on a list of objects is refused as well.
// - Values copied from the patch lose directive objects, directive keys and null
//   members at every depth. apimachinery copies some of them through, and Istio's
//   typed decode then turns them into zero values or drops them; the JSON the
//   webhook answers with is the same unless a template nests `$patch` inside a
//   new value.
// - Members keep their order (the target's, then new keys in patch order); Go
//   maps have none.
//
// Memory: the result is built in `a` (no heap once warm); it shares strings
// (not structure) with `patch`, so `patch`'s strings must live as long.
// Recursion is bounded by the trees' depth and by core::json::max_depth.

#include <cstdint>

#include "core/arena.hpp"
#include "core/json_tree.hpp"
#include "patch/pod_patch_meta.hpp"

namespace meshinject::patch::smp {

// Merges `patch` (an object) over `target` (an object) in place. `type` is the
// Kubernetes type of both (smp::pod() for a pod; nullptr: default rules). On
// error `target` may be partly merged; the message names the JSON pointer of
// the failing value and lives in `a`.
//
// `use`: what the result may do with the patch's arrays and objects.
// - copy: the result gets its own copies; `patch` stays as it was.
// - link: a value the result takes whole (a container the pod did not have, a
//   volume, an init container) is linked into the result, not copied, when it
//   holds no directive and no null member at any depth (else the parts that do
//   are rebuilt, the rest still linked). For a patch that is a throwaway tree of
//   the request (a render read for this pod): the result and `patch` then share
//   storage, so the caller must not read `patch` again, and nothing may change
//   `patch` while the result is used. The merge itself never writes into what
//   it linked (a patch list naming one merge key twice, or a list with its
//   $deleteFromPrimitiveList, gets a copy first), so `patch` may share storage
//   with a tree the caller keeps (a kept render's plain subtrees).
enum class patch_use : std::uint8_t { copy, link };

core::json::error merge(core::json::value& target, const core::json::value& patch, const type_meta* type,
                        core::arena& a, patch_use use = patch_use::copy) noexcept;

// Whether link mode takes `v` whole, dropping nothing from it: no null member
// and no key that may be a directive (any key starting with `$`), at any depth.
// A kept render's text records it once (core::json::prepared_text::links_whole).
bool links_whole(const core::json::value& v) noexcept;

}  // namespace meshinject::patch::smp
