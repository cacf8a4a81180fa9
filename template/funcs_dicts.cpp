// sprig's dict functions (dict.go): dict get set unset hasKey keys pick omit
// merge values. A dict is a map[string]interface{} (the library's maps, JSON
// objects, host maps of that type); as in Go, a map[string]string is refused.
// Go's maps change in place under set/unset/merge; meshinject's values are
// immutable (folded constants are shared by every request), so these return
// the changed map and leave their argument as it was (README, "Differences").

#include <algorithm>

#include "template/binding.hpp"
#include "template/funcs_support.hpp"

namespace meshinject::tmpl {
namespace {

constexpr std::string_view dict_type = "map[string]interface {}";

bool dict_or_fail(call_context& cx, const value& v, std::span<const map_entry>& entries) {
  if (sprig::as_dict(cx, v, entries)) return true;
  if (sprig::is_nil(v)) {
    entries = {};
    return true;  // a nil map reads as empty
  }
  sprig::wrong_type(cx, dict_type, v);
  return false;
}

const map_entry* find(std::span<const map_entry> entries, std::string_view key) noexcept {
  const auto it = std::lower_bound(entries.begin(), entries.end(), key,
                                   [](const map_entry& e, std::string_view k) { return e.key < k; });
  return it != entries.end() && it->key == key ? &*it : nullptr;
}

// dict k1 v1 k2 v2 ...: keys printed as strings; a last key without a value maps to "".
value fn_dict(call_context& cx, std::span<value> a) {
  const std::size_t n = (a.size() + 1) / 2;
  map_entry* entries = sprig::new_entries(cx, n);
  std::string& key = cx.scratch(0);
  for (std::size_t k = 0; k < n; ++k) {
    key.clear();
    sprig::strval(a[2 * k], key);
    entries[k] = map_entry{cx.strings().copy(key), 2 * k + 1 < a.size() ? a[2 * k + 1] : value::string("")};
  }
  return make_map(cx.strings(), {entries, n});
}

value fn_get(call_context& cx, std::span<value> a) {
  std::span<const map_entry> entries;
  std::string_view key;
  if (!dict_or_fail(cx, a[0], entries) || !sprig::want_string(cx, a[1], key)) return {};
  const map_entry* e = find(entries, key);
  return e ? e->v : value::string("");
}

value fn_has_key(call_context& cx, std::span<value> a) {
  std::span<const map_entry> entries;
  std::string_view key;
  if (!dict_or_fail(cx, a[0], entries) || !sprig::want_string(cx, a[1], key)) return {};
  return value::boolean(find(entries, key) != nullptr);
}

value fn_set(call_context& cx, std::span<value> a) {
  std::span<const map_entry> entries;
  std::string_view key;
  if (!dict_or_fail(cx, a[0], entries) || !sprig::want_string(cx, a[1], key)) return {};
  map_entry* out = sprig::new_entries(cx, entries.size() + 1);
  std::copy(entries.begin(), entries.end(), out);
  out[entries.size()] = map_entry{key, a[2]};
  return make_map(cx.strings(), {out, entries.size() + 1});  // the last of equal keys wins
}

value fn_unset(call_context& cx, std::span<value> a) {
  std::span<const map_entry> entries;
  std::string_view key;
  if (!dict_or_fail(cx, a[0], entries) || !sprig::want_string(cx, a[1], key)) return {};
  map_entry* out = sprig::new_entries(cx, entries.size());
  std::size_t n = 0;
  for (const map_entry& e : entries)
    if (e.key != key) out[n++] = e;
  return make_map(cx.strings(), {out, n});
}

// keys of every dict given, in key order per dict (Go's order is random).
value fn_keys(call_context& cx, std::span<value> a) {
  std::size_t total = 0;
  for (const value& d : a) {
    std::span<const map_entry> entries;
    if (!dict_or_fail(cx, d, entries)) return {};
    total += entries.size();
  }
  value* out = sprig::new_values(cx, total);
  std::size_t n = 0;
  for (const value& d : a) {
    std::span<const map_entry> entries;
    dict_or_fail(cx, d, entries);
    for (const map_entry& e : entries) out[n++] = value::string(e.key);
  }
  return make_list(cx.strings(), {out, n});
}

// pick / omit DICT k...: the entries named (pick) or not named (omit).
value select(call_context& cx, std::span<value> a, bool keep_named) {
  std::span<const map_entry> entries;
  if (!dict_or_fail(cx, a[0], entries)) return {};
  const std::span<const value> names = a.subspan(1);
  for (const value& name : names) {
    std::string_view ignored;
    if (!sprig::want_string(cx, name, ignored)) return {};
  }
  map_entry* out = sprig::new_entries(cx, entries.size());
  std::size_t n = 0;
  for (const map_entry& e : entries) {
    bool named = false;
    for (const value& name : names) named = named || name.s == e.key;
    if (named == keep_named) out[n++] = e;
  }
  return make_map(cx.strings(), {out, n});
}

value fn_pick(call_context& cx, std::span<value> a) { return select(cx, a, true); }
value fn_omit(call_context& cx, std::span<value> a) { return select(cx, a, false); }

// mergo.Merge without overwrite: a key missing (or nil) in dst takes src's value;
// two dicts under one key merge the same way, deeper.
value merge_two(call_context& cx, std::span<const map_entry> dst, std::span<const map_entry> src) {
  map_entry* out = sprig::new_entries(cx, dst.size() + src.size());
  std::size_t n = 0;
  for (const map_entry& e : dst) out[n++] = e;
  for (const map_entry& s : src) {
    map_entry* mine = nullptr;
    for (std::size_t k = 0; k < dst.size(); ++k)
      if (out[k].key == s.key) mine = &out[k];
    if (!mine) {
      out[n++] = s;
      continue;
    }
    if (sprig::is_nil(mine->v)) {
      mine->v = s.v;
      continue;
    }
    std::span<const map_entry> deeper_dst, deeper_src;
    if (sprig::as_dict(cx, mine->v, deeper_dst) && sprig::as_dict(cx, s.v, deeper_src))
      mine->v = merge_two(cx, deeper_dst, deeper_src);
  }
  return make_map(cx.strings(), {out, n});
}

value fn_merge(call_context& cx, std::span<value> a) {
  std::span<const map_entry> dst;
  if (!dict_or_fail(cx, a[0], dst)) return {};
  value result = make_map(cx.strings(), dst);
  for (const value& src_value : a.subspan(1)) {
    std::span<const map_entry> src;
    if (!dict_or_fail(cx, src_value, src)) return {};
    result = merge_two(cx, map_entries(result), src);
  }
  return result;
}

value fn_values(call_context& cx, std::span<value> a) {
  std::span<const map_entry> entries;
  if (!dict_or_fail(cx, a[0], entries)) return {};
  value* out = sprig::new_values(cx, entries.size());
  for (std::size_t k = 0; k < entries.size(); ++k) out[k] = entries[k].v;
  return make_list(cx.strings(), {out, entries.size()});
}

}  // namespace

void add_dict_functions(function_table& t) {
  t.add({.name = "dict", .impl = fn_dict});
  t.add({.name = "get", .impl = fn_get, .min_args = 2, .max_args = 2});
  t.add({.name = "set", .impl = fn_set, .min_args = 3, .max_args = 3});
  t.add({.name = "unset", .impl = fn_unset, .min_args = 2, .max_args = 2});
  t.add({.name = "hasKey", .impl = fn_has_key, .min_args = 2, .max_args = 2});
  t.add({.name = "keys", .impl = fn_keys});
  t.add({.name = "pick", .impl = fn_pick, .min_args = 1});
  t.add({.name = "omit", .impl = fn_omit, .min_args = 1});
  t.add({.name = "merge", .impl = fn_merge, .min_args = 1});
  t.add({.name = "values", .impl = fn_values, .min_args = 1, .max_args = 1});
}

}  // namespace meshinject::tmpl
