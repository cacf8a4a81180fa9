// sprig's defaults and reflection functions (defaults.go, reflect.go): default
// empty coalesce ternary required fail, and typeOf kindOf kindIs.

#include "template/binding.hpp"
#include "template/funcs_support.hpp"

namespace meshinject::tmpl {
namespace {

// default D [GIVEN]: GIVEN unless it is empty (or absent), else D.
value fn_default(call_context&, std::span<value> a) {
  if (a.size() < 2 || sprig::empty(a[1])) return a[0];
  return a[1];
}

value fn_empty(call_context&, std::span<value> a) { return value::boolean(sprig::empty(a[0])); }

value fn_coalesce(call_context&, std::span<value> a) {
  for (const value& v : a)
    if (!sprig::empty(v)) return v;
  return value::nil();
}

value fn_ternary(call_context& cx, std::span<value> a) {
  bool condition = false;
  if (!sprig::want_bool(cx, a[2], condition)) return {};
  return condition ? a[0] : a[1];
}

// required MESSAGE VALUE: the value, or the call fails with MESSAGE when it is nil or "".
value fn_required(call_context& cx, std::span<value> a) {
  std::string_view message;
  if (!sprig::want_string(cx, a[0], message)) return {};
  if (sprig::is_nil(a[1]) || (a[1].k == kind::string && a[1].s.empty())) return sprig::fail_with(cx, "required", message);
  return a[1];
}

value fn_fail(call_context& cx, std::span<value> a) {
  std::string_view message;
  if (!sprig::want_string(cx, a[0], message)) return {};
  return sprig::fail_with(cx, "fail", message);
}

// fmt's %T.
std::string_view go_type(const value& v) noexcept {
  if (v.k == kind::nil || v.k == kind::invalid) return "<nil>";
  return type_name(v);
}

// reflect.Kind's name: a host value with a basic value (an enum) is that value's kind.
std::string_view go_kind(const value& v) noexcept {
  value b;
  if (v.k == kind::object && v.type->basic(v, b)) return sprig::kind_name(b);
  return sprig::kind_name(v);
}

value fn_type_of(call_context&, std::span<value> a) { return value::string(go_type(a[0])); }
value fn_kind_of(call_context&, std::span<value> a) { return value::string(go_kind(a[0])); }

value fn_kind_is(call_context& cx, std::span<value> a) {
  std::string_view target;
  if (!sprig::want_string(cx, a[0], target)) return {};
  return value::boolean(go_kind(a[1]) == target);
}

value fn_type_is(call_context& cx, std::span<value> a) {
  std::string_view target;
  if (!sprig::want_string(cx, a[0], target)) return {};
  return value::boolean(go_type(a[1]) == target);
}

}  // namespace

bool sprig_default(const function_entry& f) noexcept { return f.impl == fn_default; }

void add_default_functions(function_table& t) {
  t.add({.name = "default", .impl = fn_default, .min_args = 1});
  t.add({.name = "empty", .impl = fn_empty, .min_args = 1, .max_args = 1});
  t.add({.name = "coalesce", .impl = fn_coalesce});
  t.add({.name = "ternary", .impl = fn_ternary, .min_args = 3, .max_args = 3});
  // Their error is the template's author speaking: never folded, so a config
  // that never reaches them still loads, as with Go.
  t.add({.name = "required", .impl = fn_required, .min_args = 2, .max_args = 2, .pure = false});
  t.add({.name = "fail", .impl = fn_fail, .min_args = 1, .max_args = 1, .pure = false});
  t.add({.name = "typeOf", .impl = fn_type_of, .min_args = 1, .max_args = 1});
  t.add({.name = "kindOf", .impl = fn_kind_of, .min_args = 1, .max_args = 1});
  t.add({.name = "kindIs", .impl = fn_kind_is, .min_args = 2, .max_args = 2});
  t.add({.name = "typeIs", .impl = fn_type_is, .min_args = 2, .max_args = 2});
}

}  // namespace meshinject::tmpl
