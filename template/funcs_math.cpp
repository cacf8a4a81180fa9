// sprig's integer math and conversions (numeric.go, functions.go): add add1 sub
// mul div mod max min int int64 float64 toString atoi. Arguments go through
// cast.ToInt64 as sprig's do (a bad string is 0); results are int64, which
// meshinject's single integer kind also prints and compares as Go's int.
// Overflow wraps, as Go's int64 does.

#include <algorithm>
#include <charconv>

#include "template/binding.hpp"
#include "template/funcs_support.hpp"

namespace meshinject::tmpl {
namespace {

using sprig::to_int64;

std::int64_t wrap_add(std::int64_t x, std::int64_t y) noexcept {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(x) + static_cast<std::uint64_t>(y));
}
std::int64_t wrap_mul(std::int64_t x, std::int64_t y) noexcept {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(x) * static_cast<std::uint64_t>(y));
}

value fn_add(call_context&, std::span<value> a) {
  std::int64_t sum = 0;
  for (const value& v : a) sum = wrap_add(sum, to_int64(v));
  return value::integer(sum);
}

value fn_add1(call_context&, std::span<value> a) { return value::integer(wrap_add(to_int64(a[0]), 1)); }

value fn_sub(call_context&, std::span<value> a) {
  return value::integer(wrap_add(to_int64(a[0]), wrap_mul(to_int64(a[1]), -1)));
}

value fn_mul(call_context&, std::span<value> a) {
  std::int64_t product = to_int64(a[0]);
  for (const value& v : a.subspan(1)) product = wrap_mul(product, to_int64(v));
  return value::integer(product);
}

// Go's integer division panics on zero; text/template turns that into the call's error.
bool divisor(call_context& cx, const value& v, std::string_view name, std::int64_t& d) {
  d = to_int64(v);
  if (d != 0) return true;
  sprig::fail_with(cx, name, "runtime error: integer divide by zero");
  return false;
}

value fn_div(call_context& cx, std::span<value> a) {
  std::int64_t d = 0;
  if (!divisor(cx, a[1], "div", d)) return {};
  const std::int64_t n = to_int64(a[0]);
  if (n == INT64_MIN && d == -1) return value::integer(n);  // Go wraps
  return value::integer(n / d);
}

value fn_mod(call_context& cx, std::span<value> a) {
  std::int64_t d = 0;
  if (!divisor(cx, a[1], "mod", d)) return {};
  if (d == -1) return value::integer(0);
  return value::integer(to_int64(a[0]) % d);
}

value fn_max(call_context&, std::span<value> a) {
  std::int64_t best = to_int64(a[0]);
  for (const value& v : a.subspan(1)) best = std::max(best, to_int64(v));
  return value::integer(best);
}

value fn_min(call_context&, std::span<value> a) {
  std::int64_t best = to_int64(a[0]);
  for (const value& v : a.subspan(1)) best = std::min(best, to_int64(v));
  return value::integer(best);
}

value fn_int(call_context&, std::span<value> a) { return value::integer(to_int64(a[0])); }
value fn_float64(call_context&, std::span<value> a) { return value::floating(sprig::to_float64(a[0])); }

value fn_to_string(call_context& cx, std::span<value> a) {
  if (a[0].k == kind::string) return a[0];
  std::string& out = cx.scratch(0);
  out.clear();
  sprig::strval(a[0], out);
  return cx.text(out);
}

// strconv.Atoi: decimal with an optional sign, nothing else; an error gives 0.
value fn_atoi(call_context& cx, std::span<value> a) {
  std::string_view s;
  if (!sprig::want_string(cx, a[0], s)) return {};
  bool negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  std::uint64_t magnitude = 0;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), magnitude, 10);
  if (s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size() ||
      magnitude > static_cast<std::uint64_t>(INT64_MAX) + (negative ? 1 : 0))
    return value::integer(0);
  return value::integer(negative ? static_cast<std::int64_t>(0 - magnitude) : static_cast<std::int64_t>(magnitude));
}

}  // namespace

void add_math_functions(function_table& t) {
  t.add({.name = "add", .impl = fn_add});
  t.add({.name = "add1", .impl = fn_add1, .min_args = 1, .max_args = 1});
  t.add({.name = "sub", .impl = fn_sub, .min_args = 2, .max_args = 2});
  t.add({.name = "mul", .impl = fn_mul, .min_args = 1});
  t.add({.name = "div", .impl = fn_div, .min_args = 2, .max_args = 2});
  t.add({.name = "mod", .impl = fn_mod, .min_args = 2, .max_args = 2});
  t.add({.name = "max", .impl = fn_max, .min_args = 1});
  t.add({.name = "min", .impl = fn_min, .min_args = 1});
  t.add({.name = "int", .impl = fn_int, .min_args = 1, .max_args = 1});
  t.add({.name = "int64", .impl = fn_int, .min_args = 1, .max_args = 1});
  t.add({.name = "float64", .impl = fn_float64, .min_args = 1, .max_args = 1});
  t.add({.name = "toString", .impl = fn_to_string, .min_args = 1, .max_args = 1});
  t.add({.name = "atoi", .impl = fn_atoi, .min_args = 1, .max_args = 1});
}

}  // namespace meshinject::tmpl
