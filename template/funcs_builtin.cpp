// Go's builtin template functions (text/template funcs.go): and or not eq ne lt
// le gt ge index len print printf println.

#include <algorithm>
#include <charconv>

#include "template/binding.hpp"
#include "template/funcs_support.hpp"
#include "template/functions.hpp"

namespace meshinject::tmpl {

// ------------------------------------------------------------------- table

void function_table::add(const function_entry& e) {
  for (function_entry& f : entries_) {
    if (f.name == e.name) {
      f = e;
      return;
    }
  }
  entries_.push_back(e);
}

const function_entry* function_table::find(std::string_view name) const noexcept {
  for (const function_entry& f : entries_)
    if (f.name == name) return &f;
  return nullptr;
}

namespace {

value fail_value(call_context& cx, std::string_view message) {
  cx.fail(message);
  return value{};
}

// The value as a Go basic kind: host types expose theirs (an enum is an int).
value as_basic(const value& v) noexcept {
  value b;
  if (v.k == kind::object && v.type->basic(v, b)) return b;
  return v;
}

bool is_basic(const value& v) noexcept {
  return v.k == kind::boolean || v.k == kind::integer || v.k == kind::floating || v.k == kind::string;
}

bool is_valid(const value& v) noexcept { return v.k != kind::invalid && v.k != kind::nil; }

// ----------------------------------------------------------- comparisons

value compare_fail(call_context& cx, std::string_view name, std::string_view what) {
  std::string& m = cx.scratch(1);
  m = "error calling ";
  m += name;
  m += ": ";
  m += what;
  return fail_value(cx, m);
}

// eq arg1 arg2...: true when arg1 equals any of the others.
value equal_any(call_context& cx, std::span<value> a, std::string_view name, bool& result) {
  const value x = as_basic(a[0]);
  for (std::size_t k = 1; k < a.size(); ++k) {
    const value y = as_basic(a[k]);
    bool equal = false;
    if (x.k != y.k) {
      if (is_basic(x) && is_basic(y)) return compare_fail(cx, name, "incompatible types for comparison");
      if (is_valid(x) && is_valid(y)) {
        if (is_basic(x) || is_basic(y)) return compare_fail(cx, name, "incompatible types for comparison");
        return compare_fail(cx, name, "non-comparable types");
      }
      equal = !is_valid(x) && !is_valid(y);
    } else {
      switch (x.k) {
        case kind::boolean: equal = x.b == y.b; break;
        case kind::integer: equal = x.i == y.i; break;
        case kind::floating: equal = x.f == y.f; break;
        case kind::string: equal = x.s == y.s; break;
        case kind::invalid:
        case kind::nil: equal = true; break;
        default: return compare_fail(cx, name, "non-comparable types");
      }
    }
    if (equal) {
      result = true;
      return value{};
    }
  }
  result = false;
  return value{};
}

value fn_eq(call_context& cx, std::span<value> a) {
  bool r = false;
  equal_any(cx, a, "eq", r);
  return value::boolean(r);
}

value fn_ne(call_context& cx, std::span<value> a) {
  bool r = false;
  equal_any(cx, a, "ne", r);
  return value::boolean(!r);
}

// -1, 0, 1 for lt/le/gt/ge; false after failing.
bool order(call_context& cx, std::span<value> a, std::string_view name, int& c) {
  const value x = as_basic(a[0]);
  const value y = as_basic(a[1]);
  if (x.k == kind::boolean || y.k == kind::boolean || !is_basic(x) || !is_basic(y)) {
    compare_fail(cx, name, "invalid type for comparison");
    return false;
  }
  if (x.k != y.k) {
    compare_fail(cx, name, "incompatible types for comparison");
    return false;
  }
  if (x.k == kind::integer) c = x.i < y.i ? -1 : x.i > y.i ? 1 : 0;
  else if (x.k == kind::floating) c = x.f < y.f ? -1 : x.f > y.f ? 1 : 0;
  else c = x.s < y.s ? -1 : x.s > y.s ? 1 : 0;
  return true;
}

value fn_lt(call_context& cx, std::span<value> a) {
  int c = 0;
  return order(cx, a, "lt", c) ? value::boolean(c < 0) : value{};
}
value fn_le(call_context& cx, std::span<value> a) {
  int c = 0;
  return order(cx, a, "le", c) ? value::boolean(c <= 0) : value{};
}
value fn_gt(call_context& cx, std::span<value> a) {
  int c = 0;
  return order(cx, a, "gt", c) ? value::boolean(c > 0) : value{};
}
value fn_ge(call_context& cx, std::span<value> a) {
  int c = 0;
  return order(cx, a, "ge", c) ? value::boolean(c >= 0) : value{};
}

// ------------------------------------------------------- logic, index, len

// and/or are evaluated lazily by the machine; these run only if a host calls them.
value fn_and(call_context&, std::span<value> a) {
  for (const value& v : a)
    if (!truth(v)) return v;
  return a.back();
}

value fn_or(call_context&, std::span<value> a) {
  for (const value& v : a)
    if (truth(v)) return v;
  return a.back();
}

value fn_not(call_context&, std::span<value> a) { return value::boolean(!truth(a[0])); }

value fn_index(call_context& cx, std::span<value> a) {
  if (a.size() == 2) return index_value(a[0], a[1], cx);
  value v = a[0];
  for (std::size_t k = 1; k < a.size() && !cx.failed(); ++k) v = index_value(v, a[k], cx);
  return v;
}

// `index .A.B "key"` on a map reached from the root: one direct lookup.
bool plan_index(std::span<const call_site_arg> args, lookup_plan& plan) {
  if (args.size() != 2 || !args[0].root_chain || !args[1].constant || args[1].constant->k != kind::string)
    return false;
  plan.mode = lookup_plan::result::index;
  plan.chain = *args[0].root_chain;
  plan.key = std::string(args[1].constant->s);
  return true;
}

value fn_len(call_context& cx, std::span<value> a) {
  const value& v = a[0];
  if (v.k == kind::string) return value::integer(static_cast<std::int64_t>(v.s.size()));
  std::int64_t n = 0;
  if (v.type && v.type->length(v, n)) return value::integer(n);
  std::string& m = cx.scratch(1);
  m = "error calling len: len of type ";
  m += type_name(v);
  return fail_value(cx, m);
}

// ------------------------------------------------------------------- print

// Sprint puts a space between operands when neither is a string; Sprintln always does.
value print_all(call_context& cx, std::span<value> a, bool line) {
  std::string& out = cx.scratch(0);
  out.clear();
  for (std::size_t k = 0; k < a.size(); ++k) {
    if (k > 0 && (line || (a[k - 1].k != kind::string && a[k].k != kind::string))) out += ' ';
    sprint(a[k], out);
  }
  if (line) out += '\n';
  return cx.text(out);
}

value fn_print(call_context& cx, std::span<value> a) { return print_all(cx, a, false); }
value fn_println(call_context& cx, std::span<value> a) { return print_all(cx, a, true); }

// ------------------------------------------------------------------ printf

struct verb_spec {
  bool minus = false, zero = false, plus = false;
  int width = -1, precision = -1;
  char verb = 0;
};

// Reads flags, width, precision and the verb after a '%'. False: the format
// ends without a verb, or a width or precision is over Go's 1e6 (fmt's parsenum
// tooLarge): the rest of the format is consumed and the verb reported missing.
bool parse_verb(std::string_view f, std::size_t& i, verb_spec& spec) {
  for (; i < f.size(); ++i) {
    if (f[i] == '-') spec.minus = true;
    else if (f[i] == '0') spec.zero = true;
    else if (f[i] == '+') spec.plus = true;
    else if (f[i] != ' ' && f[i] != '#') break;
  }
  bool too_large = false;
  // Checking before each digit also keeps the int from overflowing.
  auto number = [&](int& n) {
    for (n = 0; i < f.size() && f[i] >= '0' && f[i] <= '9'; ++i) {
      if (n > 1'000'000) {
        too_large = true;
        i = f.size();
        return;
      }
      n = n * 10 + (f[i] - '0');
    }
  };
  if (i < f.size() && f[i] >= '0' && f[i] <= '9') number(spec.width);
  if (i < f.size() && f[i] == '.') {
    ++i;
    number(spec.precision);
  }
  if (too_large || i >= f.size()) return false;
  spec.verb = f[i];
  return true;
}

// fmt's bad verb: %!v(type=value), or %!v(<nil>) for a nil argument.
void bad_verb(char verb, const value& v, std::string& out) {
  out = "%!";
  out += verb;
  out += '(';
  if (v.k == kind::nil || v.k == kind::invalid) {
    out += "<nil>";
  } else {
    out += type_name(v);
    out += '=';
    sprint(v, out);
  }
  out += ')';
}

void integer_in_base(std::int64_t v, char verb, std::string& out) {
  const int base = verb == 'o' ? 8 : verb == 'b' ? 2 : 16;
  const bool neg = v < 0;
  const std::uint64_t mag = neg ? 0 - static_cast<std::uint64_t>(v) : static_cast<std::uint64_t>(v);
  char buf[72];
  const auto r = std::to_chars(buf, buf + sizeof buf, mag, base);
  if (neg) out += '-';
  const std::size_t start = out.size();
  out.append(buf, static_cast<std::size_t>(r.ptr - buf));
  if (verb == 'X') std::transform(out.begin() + static_cast<std::ptrdiff_t>(start), out.end(), out.begin() + static_cast<std::ptrdiff_t>(start),
                                  [](char c) { return c >= 'a' && c <= 'f' ? static_cast<char>(c - 'a' + 'A') : c; });
}

// %e %f %g with C's formats, which Go's agree with for finite values; %g
// without a precision is Go's shortest form.
void floating_point(double d, const verb_spec& spec, std::string& out) {
  const char verb = spec.verb;
  if ((verb == 'g' || verb == 'G') && spec.precision < 0) {
    append_float(out, d);
    if (verb == 'G') std::transform(out.begin(), out.end(), out.begin(), [](char c) { return c == 'e' ? 'E' : c; });
    return;
  }
  const std::chars_format format = verb == 'f' || verb == 'F'   ? std::chars_format::fixed
                                   : verb == 'e' || verb == 'E' ? std::chars_format::scientific
                                                                : std::chars_format::general;
  const int precision = spec.precision < 0 ? 6 : spec.precision;
  // Room for 309 integer digits, the point, the precision and an exponent.
  out.resize(static_cast<std::size_t>(precision) + 400);
  const auto r = std::to_chars(out.data(), out.data() + out.size(), d, format, precision);
  out.resize(static_cast<std::size_t>(r.ptr - out.data()));
  if (verb == 'E' || verb == 'G')
    std::transform(out.begin(), out.end(), out.begin(), [](char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 32) : c; });
}

// One verb applied to one argument, into `out` (empty on entry).
void format_verb(const verb_spec& spec, const value& arg, std::string& out) {
  const value v = as_basic(arg);
  switch (spec.verb) {
    case 'v': sprint(arg, out); return;
    case 's':
      if (arg.k == kind::integer || arg.k == kind::floating || arg.k == kind::boolean || !is_valid(arg)) break;
      sprint(arg, out);
      // Precision cuts strings and named values (an enum's name).
      if (spec.precision >= 0 && (arg.k == kind::string || v.k != arg.k) &&
          out.size() > static_cast<std::size_t>(spec.precision))
        out.resize(static_cast<std::size_t>(spec.precision));
      return;
    case 'q':
      if (v.k != kind::string) break;
      sprig::go_quote(v.s, out);
      return;
    case 'd':
      if (v.k != kind::integer) break;
      if (spec.plus && v.i >= 0) out += '+';
      append_int(out, v.i);
      return;
    case 'x':
    case 'X':
    case 'o':
    case 'b':
      if (arg.k == kind::integer) {
        integer_in_base(v.i, spec.verb, out);
        return;
      }
      if (arg.k != kind::string || spec.verb == 'o' || spec.verb == 'b') break;
      for (unsigned char ch : arg.s) {
        const char* digits = spec.verb == 'x' ? "0123456789abcdef" : "0123456789ABCDEF";
        out += digits[ch >> 4];
        out += digits[ch & 15];
      }
      return;
    case 't':
      if (arg.k != kind::boolean) break;
      out += arg.b ? "true" : "false";
      return;
    case 'c':
      if (arg.k != kind::integer) break;
      out += static_cast<char>(arg.i);
      return;
    case 'f':
    case 'F':
    case 'e':
    case 'E':
    case 'g':
    case 'G':
      if (arg.k != kind::floating) break;
      floating_point(arg.f, spec, out);
      return;
    default:
      break;
  }
  bad_verb(spec.verb, arg, out);
}

// Widths count runes, not bytes.
void pad(const verb_spec& spec, std::string& s) {
  if (spec.width <= 0) return;
  std::size_t runes = 0;
  for (const char ch : s) runes += (static_cast<unsigned char>(ch) & 0xC0) != 0x80;
  if (runes >= static_cast<std::size_t>(spec.width)) return;
  const std::size_t n = static_cast<std::size_t>(spec.width) - runes;
  if (spec.minus) {
    s.append(n, ' ');
  } else if (spec.zero && spec.verb != 's' && spec.verb != 'v' && spec.verb != 'q') {
    const std::size_t sign = (!s.empty() && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
    s.insert(sign, n, '0');
  } else {
    s.insert(0, n, ' ');
  }
}

// Arguments no verb used: %!(EXTRA type=value, ...).
void extra(std::span<const value> rest, std::string& out) {
  if (rest.empty()) return;
  out += "%!(EXTRA ";
  for (std::size_t k = 0; k < rest.size(); ++k) {
    if (k) out += ", ";
    out += type_name(rest[k]);
    out += '=';
    sprint(rest[k], out);
  }
  out += ')';
}

value fn_printf(call_context& cx, std::span<value> a) {
  if (a[0].k != kind::string) {
    std::string& m = cx.scratch(1);
    m = "wrong type for value; expected string; got ";
    m += type_name(a[0]);
    return fail_value(cx, m);
  }
  const std::string_view f = a[0].s;
  std::string& out = cx.scratch(0);
  std::string& piece = cx.scratch(1);
  out.clear();
  std::size_t arg = 1;
  for (std::size_t i = 0; i < f.size(); ++i) {
    if (f[i] != '%') {
      out += f[i];
      continue;
    }
    ++i;
    verb_spec spec;
    if (!parse_verb(f, i, spec)) {
      out += "%!(NOVERB)";
      break;
    }
    if (spec.verb == '%') {
      out += '%';
      continue;
    }
    if (arg >= a.size()) {
      out += "%!";
      out += spec.verb;
      out += "(MISSING)";
      continue;
    }
    piece.clear();
    format_verb(spec, a[arg++], piece);
    pad(spec, piece);
    out += piece;
  }
  extra(a.subspan(std::min(arg, a.size())), out);
  return cx.text(out);
}

}  // namespace

// ----------------------------------------------------------------- shared

bool builtin_index(const function_entry& f) noexcept { return f.impl == fn_index; }

int builtin_equality(const function_entry& f) noexcept {
  if (f.impl == fn_eq) return 0;
  if (f.impl == fn_ne) return 1;
  return -1;
}

value index_value(const value& container, const value& key, call_context& cx) {
  switch (container.k) {
    case kind::unknown:
      return container;
    case kind::nil:
    case kind::invalid:
      cx.fail("error calling index: index of untyped nil");
      return value{};
    case kind::list:
    case kind::map:
    case kind::json:
    case kind::object:
      return container.type->index(container, key, cx);
    default: {
      std::string& m = cx.scratch(1);
      m = "error calling index: can't index item of type ";
      m += type_name(container);
      cx.fail(m);
      return value{};
    }
  }
}

void add_builtin_functions(function_table& t) {
  using e = function_entry;
  t.add({.name = "and", .impl = fn_and, .min_args = 1, .lazy = e::special::and_});
  t.add({.name = "or", .impl = fn_or, .min_args = 1, .lazy = e::special::or_});
  t.add({.name = "not", .impl = fn_not, .min_args = 1, .max_args = 1});
  t.add({.name = "eq", .impl = fn_eq, .min_args = 2});
  t.add({.name = "ne", .impl = fn_ne, .min_args = 2, .max_args = 2});
  t.add({.name = "lt", .impl = fn_lt, .min_args = 2, .max_args = 2});
  t.add({.name = "le", .impl = fn_le, .min_args = 2, .max_args = 2});
  t.add({.name = "gt", .impl = fn_gt, .min_args = 2, .max_args = 2});
  t.add({.name = "ge", .impl = fn_ge, .min_args = 2, .max_args = 2});
  t.add({.name = "index", .impl = fn_index, .min_args = 1, .specialize = plan_index});
  t.add({.name = "len", .impl = fn_len, .min_args = 1, .max_args = 1});
  t.add({.name = "print", .impl = fn_print});
  t.add({.name = "printf", .impl = fn_printf, .min_args = 1});
  t.add({.name = "println", .impl = fn_println});
}

function_table builtin_functions() {
  function_table t;
  add_builtin_functions(t);
  return t;
}

}  // namespace meshinject::tmpl
