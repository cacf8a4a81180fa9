#pragma once
// A JSON Patch (RFC 6902) as the difference between two trees: the webhook's
// answer once the pod has been merged with its templates (Istio >= 1.9 answers
// with jsonpatch.CreatePatch(original pod, injected pod)).
//
// Applied in order, the operations turn `a` into `b` (equal by meaning: object
// member order is free, 1 and 1.0 are the same number).
// - Objects: `add` for a key only b has, `remove` for one only a has, and for a
//   key both have, the difference of the two values.
// - Lists: the common prefix and suffix are left alone. The rest is aligned by
//   a longest common subsequence in which two items correspond when they are
//   equal, or when both are objects with the same identity: the list's merge
//   key from pod_patch_meta.hpp (containers by name, ports by containerPort,
//   ...), else `name`. Items of a that correspond to nothing are removed
//   first, highest index first; then, in b's order, items of b that correspond
//   to nothing are added at their index, and corresponding items are diffed in
//   place. An unmatched item removed and another added at the same place become
//   one `replace` (or, for two objects without identities, their difference).
//   So an init container injected at the front is one `add` at index 0, and an
//   env var appended is one `add`, where Istio's jsonpatch (which aligns lists
//   of objects by index) replaces every element after the insertion point.
//   Middles larger than 256 x 256 items are aligned by position instead.
// - Scalars and values of another kind: `replace` (the whole document: path "").
// - An array or object that b shares with a (the same storage, as the named
//   path's pod shares managedFields with the pod as received) is equal without
//   a look inside.
// Paths escape `~` and `/` as RFC 6901 says; text goes through the project's
// JSON escaper.
//
// One json_differ per core: it keeps its path and alignment buffers, so once
// warm it writes a patch without the heap beyond growing `out`; scratch lists
// go to the caller's arena. Recursion is bounded by the trees' depth and by
// core::json::max_depth.

#include <cstdint>
#include <string>
#include <vector>

#include "core/arena.hpp"
#include "core/json_tree.hpp"
#include "patch/pod_patch_meta.hpp"

namespace meshinject::patch {

class json_differ {
 public:
  // Appends to `out` a JSON array of operations turning `a` into `b`. `type`:
  // the Kubernetes type of both (smp::pod() for pods), for list identities;
  // nullptr for any JSON.
  core::json::error diff(const core::json::value& a, const core::json::value& b, const smp::type_meta* type,
                         core::arena& arena, std::string& out);

  // Operations written by the last diff().
  std::size_t operations() const noexcept { return ops_; }

 private:
  struct step;

  core::json::error value(const core::json::value& a, const core::json::value& b, const smp::field_meta* field,
                          const smp::type_meta* type, std::size_t depth);
  core::json::error object(const core::json::value& a, const core::json::value& b, const smp::type_meta* type,
                           std::size_t depth);
  core::json::error array(const core::json::value& a, const core::json::value& b, const smp::field_meta* field,
                          std::size_t depth);
  core::json::error align(const core::json::value* a, std::size_t na, const core::json::value* b, std::size_t nb,
                          std::string_view key, step*& steps, std::size_t& count);
  core::json::error apply_steps(const core::json::value* a, const core::json::value* b, std::size_t offset,
                                const step* steps, std::size_t count, std::string_view key,
                                const smp::type_meta* elem, std::size_t depth);

  // The path is kept as segments while walking and spelled out (RFC 6901, then
  // JSON-escaped) only when an operation is written, and then only past the
  // part an earlier operation already spelled: most keys walked lead to no
  // operation, and operations next to each other share their prefix.
  struct segment {
    std::string_view key;
    std::size_t index;
    bool is_index;
  };
  void push_key(std::string_view key) { segments_.push_back({key, 0, false}); }
  void push_index(std::size_t index) { segments_.push_back({{}, index, true}); }
  void pop() noexcept;
  void spell_path();
  void write_op(std::string_view op, const core::json::value* v);

  std::string* out_ = nullptr;
  core::arena* arena_ = nullptr;
  std::vector<segment> segments_;    // the current location
  std::string path_;                 // segments_[0, spelled_) as JSON text of a JSON Pointer
  std::vector<std::size_t> marks_;   // path_'s length before each spelled segment
  std::size_t spelled_ = 0;
  std::string key_scratch_;          // a key with `~` or `/` escaped
  std::vector<std::uint32_t> lcs_;   // alignment table, reused
  std::size_t ops_ = 0;
};

}  // namespace meshinject::patch
