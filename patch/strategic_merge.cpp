#include "patch/strategic_merge.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <utility>

namespace meshinject::patch::smp {
namespace {

namespace json = core::json;
using json::errc;
using json::kind;

constexpr std::string_view patch_key = "$patch";
constexpr std::string_view retain_keys_key = "$retainKeys";
constexpr std::string_view delete_prefix = "$deleteFromPrimitiveList";
constexpr std::string_view order_prefix = "$setElementOrder";

bool starts_with(std::string_view s, std::string_view prefix) noexcept {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

// Every directive key starts with `$`; no field's does.
bool may_be_directive(std::string_view k) noexcept { return !k.empty() && k.front() == '$'; }

// Keys that only steer the merge and never reach the result.
bool is_directive_key(std::string_view k) noexcept {
  if (!may_be_directive(k)) return false;
  return k == patch_key || k == retain_keys_key || starts_with(k, delete_prefix) || starts_with(k, order_prefix);
}

bool is_container(const json::value& v) noexcept { return v.is_object() || v.is_array(); }

std::string_view kind_name(kind k) noexcept {
  switch (k) {
    case kind::null: return "null";
    case kind::boolean: return "a boolean";
    case kind::number: return "a number";
    case kind::string: return "a string";
    case kind::array: return "a list";
    case kind::object: return "an object";
  }
  return "a value";
}

class merger {
 public:
  merger(core::arena& a, patch_use use) noexcept : a_(a), link_(use == patch_use::link) {}

  json::error merge_map(json::value& target, const json::value& patch, const type_meta* type) noexcept;

 private:
  struct ranked {
    json::value v;
    std::size_t rank;  // first place in the target's order; npos: not there
  };
  struct segment {
    std::string_view key;
    std::size_t index;
    bool is_index;
  };

  json::error fail(errc code, std::string_view what) noexcept;
  json::error enter(std::string_view key) noexcept { return push({key, 0, false}); }
  json::error enter(std::size_t index) noexcept { return push({{}, index, true}); }
  json::error push(segment s) noexcept {
    if (depth_ >= json::max_depth) return fail(errc::too_deep, "nested deeper than 512 levels");
    path_[depth_++] = s;
    return {};
  }
  void leave() noexcept { --depth_; }

  json::error copy_patch_value(const json::value& v, json::value& out, bool& kept, std::size_t depth) noexcept;
  json::error link_patch_value(const json::value& v, json::value& out, bool& kept, bool& rebuilt,
                               std::size_t depth) noexcept;
  json::error apply_map_directive(json::value& target, const json::value& directive,
                                  const json::value& patch) noexcept;
  json::error apply_retain_keys(json::value& target, const json::value& patch, const json::value& keys) noexcept;
  json::error merge_member(json::value& target, std::string_view key, const json::value& pv,
                           const type_meta* type) noexcept;
  json::error merge_existing(json::value& existing, const json::value& pv, const field_meta* field,
                             bool delete_list) noexcept;
  json::error merge_list(json::value& target, const json::value& patch, const field_meta& field,
                         bool delete_list) noexcept;
  json::error check_element_kinds(const json::value& target, const json::value& patch, kind& k) noexcept;
  json::error merge_scalar_list(json::value& target, const json::value& patch, bool delete_list) noexcept;
  json::error merge_object_list(json::value& target, const json::value& patch, const field_meta& field) noexcept;
  json::error strip_list_directives(json::value& target, const json::value& patch, std::string_view key,
                                    json::value& items, bool& replace) noexcept;
  json::error merge_items_by_key(json::value& list, const json::value& items, const field_meta& field) noexcept;
  json::error merge_ranked(json::value& out, const ranked* server, std::size_t ns, const ranked* ours,
                           std::size_t np) noexcept;
  json::error order_like_apimachinery(json::value& list, const json::value& patch_items,
                                      const json::value& server_order, std::string_view key) noexcept;

  core::arena& a_;
  bool link_;
  segment path_[json::max_depth + 1];
  std::size_t depth_ = 0;
};

json::error merger::fail(errc code, std::string_view what) noexcept {
  // "<pointer>: <what>", written into the arena.
  std::size_t len = what.size() + 2;
  char digits[24];
  for (std::size_t i = 0; i < depth_; ++i)
    len += 1 + (path_[i].is_index ? static_cast<std::size_t>(
                                        std::to_chars(digits, digits + sizeof digits, path_[i].index).ptr - digits)
                                  : path_[i].key.size());
  auto* p = static_cast<char*>(a_.allocate(len, 1));
  if (p == nullptr) return json::error{code, what};
  char* w = p;
  for (std::size_t i = 0; i < depth_; ++i) {
    *w++ = '/';
    if (path_[i].is_index) {
      w = std::to_chars(w, p + len, path_[i].index).ptr;
    } else {
      std::memcpy(w, path_[i].key.data(), path_[i].key.size());
      w += path_[i].key.size();
    }
  }
  *w++ = ':';
  *w++ = ' ';
  std::memcpy(w, what.data(), what.size());
  w += what.size();
  return json::error{code, {p, static_cast<std::size_t>(w - p)}};
}

// A value of the patch as it lands in the result: objects carrying `$patch` are
// dropped (kept = false), as are directive keys and null members.
json::error merger::copy_patch_value(const json::value& v, json::value& out, bool& kept, std::size_t depth) noexcept {
  if (link_) {
    bool rebuilt = false;
    return link_patch_value(v, out, kept, rebuilt, depth);
  }
  kept = true;
  if (depth > json::max_depth) return fail(errc::too_deep, "nested deeper than 512 levels");
  if (v.is_object()) {
    if (v.find(patch_key) != nullptr) {
      kept = false;
      return {};
    }
    out = json::value::object();
    if (auto err = out.reserve(a_, v.size())) return err;
    for (const json::member& m : v.members()) {
      if (m.v.is_null() || is_directive_key(m.key)) continue;
      json::value c;
      bool child_kept = true;
      if (auto err = copy_patch_value(m.v, c, child_kept, depth + 1)) return err;
      if (child_kept)
        if (auto err = out.append_member(a_, m.key, c)) return err;
    }
    return {};
  }
  if (v.is_array()) {
    out = json::value::array();
    if (auto err = out.reserve(a_, v.size())) return err;
    for (const json::value& item : v.items()) {
      json::value c;
      bool child_kept = true;
      if (auto err = copy_patch_value(item, c, child_kept, depth + 1)) return err;
      if (child_kept)
        if (auto err = out.push_back(a_, c)) return err;
    }
    return {};
  }
  out = v;
  return {};
}

// copy_patch_value's result without copying: `out` is `v` itself when nothing in
// it is dropped; otherwise (`rebuilt`) the arrays and objects on the way to a
// dropped member are new, and every untouched subtree is still linked.
json::error merger::link_patch_value(const json::value& v, json::value& out, bool& kept, bool& rebuilt,
                                     std::size_t depth) noexcept {
  kept = true;
  rebuilt = false;
  out = v;
  if (depth > json::max_depth) return fail(errc::too_deep, "nested deeper than 512 levels");
  // A subtree of a kept render, copied for this request and not changed before
  // its merge (link mode's patch is the request's fresh render): its skeleton
  // was found to hold nothing this walk would drop, and to nest shallowly enough.
  if (const json::prepared_text* p = v.prepared();
      p != nullptr && p->links_whole && depth + p->depth < json::max_depth)
    return {};
  // A scalar child is linked as it is (unless null or under a directive key):
  // no call for it, as long as the call would not have refused its depth.
  const bool leaves_linked = depth < json::max_depth;
  if (v.is_object()) {
    const auto members = v.members();
    for (const json::member& m : members)
      if (m.key == patch_key) {
        kept = false;
        return {};
      }
    for (std::size_t i = 0; i < members.size(); ++i) {
      const json::member& m = members[i];
      json::value c;
      bool child_kept = !m.v.is_null() && !is_directive_key(m.key), child_rebuilt = false;
      if (child_kept && leaves_linked && !is_container(m.v)) {
        c = m.v;
      } else if (child_kept) {
        if (auto err = link_patch_value(m.v, c, child_kept, child_rebuilt, depth + 1)) return err;
      }
      if (!rebuilt && child_kept && !child_rebuilt) continue;
      if (!rebuilt) {
        rebuilt = true;
        out = json::value::object();
        if (auto err = out.reserve(a_, members.size())) return err;
        for (std::size_t j = 0; j < i; ++j)
          if (auto err = out.append_member(a_, members[j].key, members[j].v)) return err;
      }
      if (child_kept)
        if (auto err = out.append_member(a_, m.key, c)) return err;
    }
    return {};
  }
  if (v.is_array()) {
    const auto items = v.items();
    for (std::size_t i = 0; i < items.size(); ++i) {
      json::value c;
      bool child_kept = true, child_rebuilt = false;
      if (leaves_linked && !is_container(items[i]))
        c = items[i];
      else if (auto err = link_patch_value(items[i], c, child_kept, child_rebuilt, depth + 1))
        return err;
      if (!rebuilt && child_kept && !child_rebuilt) continue;
      if (!rebuilt) {
        rebuilt = true;
        out = json::value::array();
        if (auto err = out.reserve(a_, items.size())) return err;
        for (std::size_t j = 0; j < i; ++j)
          if (auto err = out.push_back(a_, items[j])) return err;
      }
      if (child_kept)
        if (auto err = out.push_back(a_, c)) return err;
    }
  }
  return {};
}

json::error merger::merge_map(json::value& target, const json::value& patch, const type_meta* type) noexcept {
  if (!target.is_object() || !patch.is_object()) return fail(errc::type_conflict, "expected an object");
  // Directives are rare: one look for a `$` key spares two lookups that miss.
  const auto members = patch.members();
  const bool directives =
      std::any_of(members.begin(), members.end(), [](const json::member& m) { return may_be_directive(m.key); });
  if (directives) {
    if (const json::value* directive = patch.find(patch_key)) return apply_map_directive(target, *directive, patch);
    if (const json::value* keys = patch.find(retain_keys_key))
      if (auto err = apply_retain_keys(target, patch, *keys)) return err;
  }
  for (const json::member& m : members) {
    if (directives && m.key == retain_keys_key) continue;
    if (directives && starts_with(m.key, order_prefix))
      return fail(errc::unsupported, "$setElementOrder is not supported in injection templates");
    if (auto err = enter(m.key)) return err;
    if (auto err = merge_member(target, m.key, m.v, type)) return err;
    leave();
  }
  return {};
}

json::error merger::apply_map_directive(json::value& target, const json::value& directive,
                                        const json::value& patch) noexcept {
  if (directive.is_string() && directive.as_string() == "replace") {
    bool kept = true;
    json::value copy;
    json::value without = json::value::object();
    if (auto err = without.reserve(a_, patch.size())) return err;
    for (const json::member& m : patch.members())
      if (m.key != patch_key)
        if (auto err = without.append_member(a_, m.key, m.v)) return err;
    if (auto err = copy_patch_value(without, copy, kept, depth_)) return err;
    target = copy;
    return {};
  }
  if (directive.is_string() && directive.as_string() == "delete") {
    target = json::value::object();
    return {};
  }
  return fail(errc::bad_directive, "$patch on an object must be \"replace\" or \"delete\"");
}

json::error merger::apply_retain_keys(json::value& target, const json::value& patch, const json::value& keys) noexcept {
  if (!keys.is_array()) return fail(errc::bad_directive, "$retainKeys must be a list");
  auto listed = [&keys](std::string_view k) {
    for (const json::value& item : keys.items())
      if (item.is_string() && item.as_string() == k) return true;
    return false;
  };
  for (const json::member& m : patch.members()) {
    if (m.v.is_null() || m.key == retain_keys_key || starts_with(m.key, delete_prefix) ||
        starts_with(m.key, order_prefix))
      continue;
    if (!listed(m.key)) return fail(errc::bad_directive, "a patched field is missing from $retainKeys");
  }
  for (std::size_t i = target.size(); i-- > 0;)
    if (!listed(target.members()[i].key)) target.erase(i);
  return {};
}

json::error merger::merge_member(json::value& target, std::string_view key, const json::value& pv,
                                 const type_meta* type) noexcept {
  bool delete_list = false;
  if (starts_with(key, delete_prefix)) {
    if (key.size() <= delete_prefix.size() || key[delete_prefix.size()] != '/')
      return fail(errc::bad_directive, "$deleteFromPrimitiveList must be followed by /<list>");
    key.remove_prefix(delete_prefix.size() + 1);
    delete_list = true;
  }
  if (pv.is_null()) {
    target.erase(key);
    return {};
  }
  json::value* existing = target.find(key);
  // Link mode: `key` may have been linked from this patch a moment ago (the
  // patch names the list and its $deleteFromPrimitiveList); what a patch links
  // may be storage the caller shares, so it is written into only as a copy.
  if (existing != nullptr && delete_list && link_) {
    json::value own;
    if (auto err = json::deep_copy(*existing, a_, own)) return err;
    *existing = own;
  }
  if (existing == nullptr) {
    if (delete_list) return {};
    json::value copy;
    bool kept = true;
    if (auto err = copy_patch_value(pv, copy, kept, depth_)) return err;
    if (kept) return target.append_member(a_, key, copy);
    return {};
  }
  return merge_existing(*existing, pv, lookup(type, key), delete_list);
}

json::error merger::merge_existing(json::value& existing, const json::value& pv, const field_meta* field,
                                   bool delete_list) noexcept {
  if (delete_list && !pv.is_array()) return fail(errc::bad_directive, "$deleteFromPrimitiveList needs a list");
  if (existing.type() != pv.type()) {
    if (delete_list) return {};
    if (!existing.is_null() && (is_container(existing) || is_container(pv)))
      return fail(errc::type_conflict, json::message(a_, json::message(a_, "cannot merge ", kind_name(pv.type())),
                                                     json::message(a_, " over ", kind_name(existing.type()))));
    json::value copy;
    bool kept = true;
    if (auto err = copy_patch_value(pv, copy, kept, depth_)) return err;
    existing = kept ? copy : json::value();
    return {};
  }
  if (pv.is_object()) return merge_map(existing, pv, field != nullptr ? field->type : nullptr);
  if (pv.is_array()) {
    static constexpr field_meta replaced_list{};
    const field_meta& f = field != nullptr ? *field : replaced_list;
    if (f.strategy == list_strategy::merge || delete_list) return merge_list(existing, pv, f, delete_list);
    json::value copy;
    bool kept = true;
    if (auto err = copy_patch_value(pv, copy, kept, depth_)) return err;
    existing = copy;
    return {};
  }
  existing = pv;
  return {};
}

json::error merger::check_element_kinds(const json::value& target, const json::value& patch, kind& k) noexcept {
  bool seen = false;
  for (const json::value* list : {&target, &patch}) {
    for (const json::value& item : list->items()) {
      if (item.is_null()) return fail(errc::mixed_list, "a merged list holds null");
      if (item.is_array()) return fail(errc::mixed_list, "lists of lists cannot be merged");
      if (!seen) {
        k = item.type();
        seen = true;
      } else if (item.type() != k) {
        return fail(errc::mixed_list, "list element kinds are not identical");
      }
    }
  }
  return {};
}

json::error merger::merge_list(json::value& target, const json::value& patch, const field_meta& field,
                               bool delete_list) noexcept {
  if (target.empty() && patch.empty()) return {};
  kind k = kind::null;
  if (auto err = check_element_kinds(target, patch, k)) return err;
  if (k != kind::object) return merge_scalar_list(target, patch, delete_list);
  if (delete_list) return fail(errc::unsupported, "$deleteFromPrimitiveList on a list of objects");
  if (field.merge_key.empty()) return fail(errc::missing_merge_key, "cannot merge a list of objects without a merge key");
  return merge_object_list(target, patch, field);
}

// A merged list of scalars: the union (each value once), or the target without
// the patch's values for $deleteFromPrimitiveList.
json::error merger::merge_scalar_list(json::value& target, const json::value& patch, bool delete_list) noexcept {
  auto index_in = [](const json::value& list, const json::value& v, std::size_t end) {
    const auto items = list.items();
    for (std::size_t i = 0; i < end && i < items.size(); ++i)
      if (json::equal(items[i], v)) return i;
    return json::value::npos;
  };
  if (delete_list) {
    for (std::size_t i = target.size(); i-- > 0;)
      if (index_in(patch, target.items()[i], patch.size()) != json::value::npos) target.erase(i);
    return {};
  }
  // apimachinery: the patch's values in patch order and the target's others in
  // target order, interleaved by merge_ranked().
  const std::size_t n = target.size() + patch.size();
  auto* server = a_.allocate_array<ranked>(n);
  auto* ours = a_.allocate_array<ranked>(n);
  if (server == nullptr || ours == nullptr) return fail(errc::out_of_memory, "out of memory");
  std::size_t ns = 0, np = 0;
  for (std::size_t i = 0; i < patch.size(); ++i) {
    const json::value& v = patch.items()[i];
    if (index_in(patch, v, i) != json::value::npos) continue;
    ours[np++] = ranked{v, index_in(target, v, target.size())};
  }
  for (std::size_t i = 0; i < target.size(); ++i) {
    const json::value& v = target.items()[i];
    if (index_in(target, v, i) != json::value::npos || index_in(patch, v, patch.size()) != json::value::npos)
      continue;
    server[ns++] = ranked{v, i};
  }
  return merge_ranked(target, server, ns, ours, np);
}

// apimachinery's mergeSortedSlice: takes from `server` (ranked by their place
// in the target) while the next server item came before the next patch item in
// the target; patch items the target did not have are taken first.
json::error merger::merge_ranked(json::value& out, const ranked* server, std::size_t ns, const ranked* ours,
                                 std::size_t np) noexcept {
  json::value result = json::value::array();
  if (auto err = result.reserve(a_, ns + np)) return err;
  std::size_t i = 0, j = 0;
  while (i < ns || j < np) {
    const bool take_server =
        j >= np || (i < ns && ours[j].rank != json::value::npos && server[i].rank < ours[j].rank);
    if (auto err = result.push_back(a_, take_server ? server[i++].v : ours[j++].v)) return err;
  }
  out = result;
  return {};
}

json::error merger::merge_object_list(json::value& target, const json::value& patch, const field_meta& field) noexcept {
  const std::string_view key = field.merge_key;
  json::value items;
  bool replace = false;
  if (auto err = strip_list_directives(target, patch, key, items, replace)) return err;
  if (replace) {
    bool kept = true;
    if (auto err = copy_patch_value(items, target, kept, depth_)) return err;
    items = json::value::array();
  }
  // The target's merge keys before patch items are appended: its order.
  json::value server_keys = json::value::array();
  if (auto err = server_keys.reserve(a_, target.size())) return err;
  for (const json::value& item : target.items()) {
    const json::value* k = item.find(key);
    if (k == nullptr) return fail(errc::missing_merge_key, json::message(a_, "a list item has no merge key ", key));
    if (auto err = server_keys.push_back(a_, *k)) return err;
  }
  if (auto err = merge_items_by_key(target, items, field)) return err;
  return order_like_apimachinery(target, items, server_keys, key);
}

json::error merger::strip_list_directives(json::value& target, const json::value& patch, std::string_view key,
                                          json::value& items, bool& replace) noexcept {
  items = json::value::array();
  if (auto err = items.reserve(a_, patch.size())) return err;
  for (const json::value& p : patch.items()) {
    const json::value* d = p.find(patch_key);
    if (d == nullptr) {
      if (auto err = items.push_back(a_, p)) return err;
      continue;
    }
    const std::string_view directive = d->is_string() ? d->as_string() : std::string_view("?");
    if (directive == "delete") {
      const json::value* kv = p.find(key);
      if (kv == nullptr) return fail(errc::missing_merge_key, json::message(a_, "$patch: delete needs the merge key ", key));
      for (std::size_t i = target.size(); i-- > 0;) {
        const json::value* tk = target.items()[i].find(key);
        if (tk != nullptr && json::equal(*tk, *kv)) target.erase(i);
      }
    } else if (directive == "replace") {
      replace = true;
    } else if (directive == "merge") {
      return fail(errc::unsupported, "merging lists cannot yet be specified in the patch");
    } else {
      return fail(errc::bad_directive, "$patch on a list item must be \"replace\" or \"delete\"");
    }
  }
  return {};
}

json::error merger::merge_items_by_key(json::value& list, const json::value& items, const field_meta& field) noexcept {
  const std::string_view key = field.merge_key;
  const std::size_t listed = list.size();  // items from here on are linked from this patch
  for (std::size_t pi = 0; pi < items.size(); ++pi) {
    const json::value& p = items.items()[pi];
    const json::value* kv = p.find(key);
    if (kv == nullptr || kv->is_null())
      return fail(errc::missing_merge_key, json::message(a_, "a patch list item has no merge key ", key));
    json::value* match = nullptr;
    std::size_t at = 0;
    for (; at < list.size(); ++at) {
      const json::value* tk = list.items()[at].find(key);
      if (tk != nullptr && json::equal(*tk, *kv)) {
        match = &list.items()[at];
        break;
      }
    }
    if (auto err = enter(at)) return err;
    if (match != nullptr) {
      // A patch naming one key twice merges its second item into the first:
      // in link mode that item may be storage the caller shares, so a copy.
      if (link_ && at >= listed) {
        json::value own;
        if (auto err = json::deep_copy(*match, a_, own)) return err;
        *match = own;
      }
      if (auto err = merge_map(*match, p, field.type)) return err;
    } else {
      json::value copy;
      bool kept = true;
      if (auto err = copy_patch_value(p, copy, kept, depth_)) return err;
      if (auto err = list.push_back(a_, copy)) return err;
    }
    leave();
  }
  return {};
}

// apimachinery's normalizeElementOrder for a list merged by key: the items the
// patch names, in patch order, and the target's others in target order,
// interleaved by merge_ranked() on their place in the target.
json::error merger::order_like_apimachinery(json::value& list, const json::value& patch_items,
                                            const json::value& server_keys, std::string_view key) noexcept {
  auto rank_of = [](const json::value& keys, const json::value& k) {
    const auto all = keys.items();
    for (std::size_t i = 0; i < all.size(); ++i)
      if (json::equal(all[i], k)) return i;
    return json::value::npos;
  };
  json::value patch_keys = json::value::array();
  if (auto err = patch_keys.reserve(a_, patch_items.size())) return err;
  for (const json::value& p : patch_items.items())
    if (auto err = patch_keys.push_back(a_, *p.find(key))) return err;
  const std::size_t n = list.size();
  auto* server = a_.allocate_array<ranked>(n + 1);
  auto* ours = a_.allocate_array<ranked>(n + 1);
  auto* order = a_.allocate_array<std::size_t>(n + 1);
  if (server == nullptr || ours == nullptr || order == nullptr) return fail(errc::out_of_memory, "out of memory");
  std::size_t ns = 0, np = 0;
  for (const json::value& item : list.items()) {
    const json::value* k = item.find(key);
    if (k == nullptr) return fail(errc::missing_merge_key, json::message(a_, "a list item has no merge key ", key));
    const std::size_t in_patch = rank_of(patch_keys, *k);
    if (in_patch == json::value::npos) {
      server[ns++] = ranked{item, rank_of(server_keys, *k)};
    } else {
      order[np] = in_patch;
      ours[np++] = ranked{item, rank_of(server_keys, *k)};
    }
  }
  // Stable sorts (insertion: the lists are short and nearly sorted): server
  // items by their first place in the target, patch items by theirs in the patch.
  for (std::size_t i = 1; i < ns; ++i)
    for (std::size_t j = i; j > 0 && server[j].rank < server[j - 1].rank; --j) std::swap(server[j], server[j - 1]);
  for (std::size_t i = 1; i < np; ++i)
    for (std::size_t j = i; j > 0 && order[j] < order[j - 1]; --j) {
      std::swap(order[j], order[j - 1]);
      std::swap(ours[j], ours[j - 1]);
    }
  return merge_ranked(list, server, ns, ours, np);
}

}  // namespace

json::error merge(json::value& target, const json::value& patch, const type_meta* type, core::arena& a,
                  patch_use use) noexcept {
  merger m(a, use);
  return m.merge_map(target, patch, type);
}

bool links_whole(const json::value& v) noexcept {
  if (v.is_object()) {
    for (const json::member& m : v.members())
      if (m.v.is_null() || may_be_directive(m.key) || !links_whole(m.v)) return false;
  } else if (v.is_array()) {
    for (const json::value& item : v.items())
      if (!links_whole(item)) return false;
  }
  return true;
}

}  // namespace meshinject::patch::smp
