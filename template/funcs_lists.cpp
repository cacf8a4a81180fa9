// sprig's list functions (list.go): list append (push) prepend first last rest
// initial uniq has without compact concat. A list is any slice Go would accept:
// the library's lists, JSON arrays, host lists. Results are new lists in the
// request's arena; the argument is never changed.

#include <algorithm>

#include "template/binding.hpp"
#include "template/funcs_support.hpp"

namespace meshinject::tmpl {
namespace {

using sprig::as_list;
using sprig::kind_name;

bool list_or_fail(call_context& cx, const value& v, std::string_view what, std::span<const value>& items) {
  if (as_list(cx, v, items)) return true;
  std::string& m = cx.scratch(1);
  m = "Cannot ";
  m += what;
  m += " on type ";
  m += kind_name(v);
  cx.fail(m);
  return false;
}

value fn_list(call_context& cx, std::span<value> a) { return make_list(cx.strings(), a); }

value fn_append(call_context& cx, std::span<value> a) {
  std::span<const value> items;
  if (!list_or_fail(cx, a[0], "push", items)) return {};
  value* out = sprig::new_values(cx, items.size() + 1);
  std::copy(items.begin(), items.end(), out);
  out[items.size()] = a[1];
  return make_list(cx.strings(), {out, items.size() + 1});
}

value fn_prepend(call_context& cx, std::span<value> a) {
  std::span<const value> items;
  if (!list_or_fail(cx, a[0], "prepend", items)) return {};
  value* out = sprig::new_values(cx, items.size() + 1);
  out[0] = a[1];
  std::copy(items.begin(), items.end(), out + 1);
  return make_list(cx.strings(), {out, items.size() + 1});
}

value fn_first(call_context& cx, std::span<value> a) {
  std::span<const value> items;
  if (!list_or_fail(cx, a[0], "find first", items)) return {};
  return items.empty() ? value::nil() : items.front();
}

value fn_last(call_context& cx, std::span<value> a) {
  std::span<const value> items;
  if (!list_or_fail(cx, a[0], "find last", items)) return {};
  return items.empty() ? value::nil() : items.back();
}

// rest / initial of an empty list are nil, as sprig returns them.
value fn_rest(call_context& cx, std::span<value> a) {
  std::span<const value> items;
  if (!list_or_fail(cx, a[0], "find rest", items)) return {};
  if (items.empty()) return value::nil();
  return make_list(cx.strings(), items.subspan(1));
}

value fn_initial(call_context& cx, std::span<value> a) {
  std::span<const value> items;
  if (!list_or_fail(cx, a[0], "find initial", items)) return {};
  if (items.empty()) return value::nil();
  return make_list(cx.strings(), items.first(items.size() - 1));
}

bool in(std::span<const value> items, const value& v) noexcept {
  for (const value& x : items)
    if (sprig::deep_equal(x, v)) return true;
  return false;
}

value fn_uniq(call_context& cx, std::span<value> a) {
  std::span<const value> items;
  if (!list_or_fail(cx, a[0], "find uniq", items)) return {};
  value* out = sprig::new_values(cx, items.size());
  std::size_t n = 0;
  for (const value& v : items)
    if (!in({out, n}, v)) out[n++] = v;
  return make_list(cx.strings(), {out, n});
}

// has NEEDLE LIST: a nil list has nothing.
value fn_has(call_context& cx, std::span<value> a) {
  if (sprig::is_nil(a[1])) return value::boolean(false);
  std::span<const value> items;
  if (!list_or_fail(cx, a[1], "find has", items)) return {};
  return value::boolean(in(items, a[0]));
}

value fn_without(call_context& cx, std::span<value> a) {
  std::span<const value> items;
  if (!list_or_fail(cx, a[0], "find without", items)) return {};
  const std::span<const value> drop = a.subspan(1);
  value* out = sprig::new_values(cx, items.size());
  std::size_t n = 0;
  for (const value& v : items)
    if (!in(drop, v)) out[n++] = v;
  return make_list(cx.strings(), {out, n});
}

value fn_compact(call_context& cx, std::span<value> a) {
  std::span<const value> items;
  if (!list_or_fail(cx, a[0], "compact", items)) return {};
  value* out = sprig::new_values(cx, items.size());
  std::size_t n = 0;
  for (const value& v : items)
    if (!sprig::empty(v)) out[n++] = v;
  return make_list(cx.strings(), {out, n});
}

value fn_concat(call_context& cx, std::span<value> a) {
  std::size_t total = 0;
  // Two passes over small lists: sizes first, so the result is one arena block.
  for (const value& l : a) {
    std::span<const value> items;
    if (!as_list(cx, l, items)) {
      std::string& m = cx.scratch(1);
      m = "Cannot concat type ";
      m += kind_name(l);
      m += " as list";
      cx.fail(m);
      return {};
    }
    total += items.size();
  }
  if (total == 0) return value::nil();  // sprig's result starts as a nil slice
  value* out = sprig::new_values(cx, total);
  std::size_t n = 0;
  for (const value& l : a) {
    std::span<const value> items;
    as_list(cx, l, items);
    for (const value& v : items) out[n++] = v;
  }
  return make_list(cx.strings(), {out, n});
}

}  // namespace

void add_list_functions(function_table& t) {
  t.add({.name = "list", .impl = fn_list});
  t.add({.name = "append", .impl = fn_append, .min_args = 2, .max_args = 2});
  t.add({.name = "push", .impl = fn_append, .min_args = 2, .max_args = 2});
  t.add({.name = "prepend", .impl = fn_prepend, .min_args = 2, .max_args = 2});
  t.add({.name = "first", .impl = fn_first, .min_args = 1, .max_args = 1});
  t.add({.name = "last", .impl = fn_last, .min_args = 1, .max_args = 1});
  t.add({.name = "rest", .impl = fn_rest, .min_args = 1, .max_args = 1});
  t.add({.name = "initial", .impl = fn_initial, .min_args = 1, .max_args = 1});
  t.add({.name = "uniq", .impl = fn_uniq, .min_args = 1, .max_args = 1});
  t.add({.name = "has", .impl = fn_has, .min_args = 2, .max_args = 2});
  t.add({.name = "without", .impl = fn_without, .min_args = 1});
  t.add({.name = "compact", .impl = fn_compact, .min_args = 1, .max_args = 1});
  t.add({.name = "concat", .impl = fn_concat});
}

}  // namespace meshinject::tmpl
