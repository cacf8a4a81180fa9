#include "core/yaml_scalar.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <system_error>

namespace meshinject::core {
namespace {

bool is_one_of(std::string_view s, std::initializer_list<std::string_view> set) {
  for (std::string_view x : set)
    if (s == x) return true;
  return false;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// `s` has passed looks_like_yaml_float. Out of range, the C library's answers are kept
// (what this code has always given): infinity when too large, zero when too small.
// With at most 64 characters, only a negative exponent can make a value too small.
double parse_yaml_float(std::string_view s) {
  const bool negative = !s.empty() && s[0] == '-';
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) s.remove_prefix(1);
  double v = 0;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec == std::errc::result_out_of_range) {
    const std::size_t e = s.find_first_of("eE");
    const bool too_small = e != std::string_view::npos && e + 1 < s.size() && s[e + 1] == '-';
    v = too_small ? 0.0 : std::numeric_limits<double>::infinity();
  }
  return negative ? -v : v;
}

// ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$ — go-yaml's float syntax.
bool looks_like_yaml_float(std::string_view s) {
  std::size_t i = 0;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
  if (i < s.size() && s[i] == '.') {
    ++i;
    const std::size_t start = i;
    while (i < s.size() && is_digit(s[i])) ++i;
    if (i == start) return false;
  } else {
    const std::size_t start = i;
    while (i < s.size() && is_digit(s[i])) ++i;
    if (i == start) return false;
    if (i < s.size() && s[i] == '.') {
      ++i;
      while (i < s.size() && is_digit(s[i])) ++i;
    }
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    const std::size_t start = i;
    while (i < s.size() && is_digit(s[i])) ++i;
    if (i == start) return false;
  }
  return i == s.size();
}

// Go's strconv.ParseInt(s, 0, 64): optional sign, then 0x/0o/0b prefixes, a bare
// leading 0 meaning octal, underscores only between digits after a prefix.
bool parse_go_int(std::string_view s, std::int64_t& out) {
  if (s.empty()) return false;
  bool negative = false;
  std::size_t i = 0;
  if (s[0] == '+' || s[0] == '-') {
    negative = s[0] == '-';
    i = 1;
  }
  int base = 10;
  if (s.size() - i >= 2 && s[i] == '0') {
    const char p = static_cast<char>(s[i + 1] | 0x20);
    if (p == 'x') base = 16, i += 2;
    else if (p == 'o') base = 8, i += 2;
    else if (p == 'b') base = 2, i += 2;
    else base = 8, i += 1;
  }
  if (i >= s.size()) return base == 8 && s.size() - (negative || s[0] == '+') == 1 ? (out = 0, true) : false;
  unsigned long long magnitude = 0;
  bool any = false;
  for (; i < s.size(); ++i) {
    const char c = s[i];
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
    else return false;
    if (d >= base) return false;
    if (magnitude > (std::numeric_limits<unsigned long long>::max() - static_cast<unsigned>(d)) / static_cast<unsigned>(base))
      return false;
    magnitude = magnitude * static_cast<unsigned>(base) + static_cast<unsigned>(d);
    any = true;
  }
  if (!any) return false;
  if (negative) {
    if (magnitude > static_cast<unsigned long long>(std::numeric_limits<std::int64_t>::max()) + 1) return false;
    out = static_cast<std::int64_t>(0 - magnitude);
  } else {
    if (magnitude > static_cast<unsigned long long>(std::numeric_limits<std::int64_t>::max())) return false;
    out = static_cast<std::int64_t>(magnitude);
  }
  return true;
}

}  // namespace

yaml_scalar resolve_plain_scalar(std::string_view text) noexcept {
  yaml_scalar r;
  if (is_one_of(text, {"", "~", "null", "Null", "NULL"})) {
    r.k = yaml_scalar::kind::null;
    return r;
  }
  if (is_one_of(text, {"y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"})) {
    r.k = yaml_scalar::kind::boolean;
    r.b = true;
    return r;
  }
  if (is_one_of(text, {"n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"})) {
    r.k = yaml_scalar::kind::boolean;
    r.b = false;
    return r;
  }
  if (is_one_of(text, {".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"})) {
    r.k = yaml_scalar::kind::floating;
    r.f = std::numeric_limits<double>::infinity();
    return r;
  }
  if (is_one_of(text, {"-.inf", "-.Inf", "-.INF"})) {
    r.k = yaml_scalar::kind::floating;
    r.f = -std::numeric_limits<double>::infinity();
    return r;
  }
  if (is_one_of(text, {".nan", ".NaN", ".NAN"})) {
    r.k = yaml_scalar::kind::floating;
    r.f = std::numeric_limits<double>::quiet_NaN();
    return r;
  }
  const char c0 = text[0];
  if (!(is_digit(c0) || c0 == '-' || c0 == '+' || c0 == '.')) return r;
  // go-yaml drops every underscore before trying the numeric forms.
  std::array<char, 64> buf;
  if (text.size() >= buf.size()) return r;
  std::size_t n = 0;
  for (char c : text)
    if (c != '_') buf[n++] = c;
  const std::string_view plain(buf.data(), n);
  std::int64_t iv;
  if (parse_go_int(plain, iv)) {
    r.k = yaml_scalar::kind::integer;
    r.i = iv;
    return r;
  }
  if (looks_like_yaml_float(plain)) {
    r.k = yaml_scalar::kind::floating;
    r.f = parse_yaml_float(plain);
    return r;
  }
  return r;
}

std::string format_go_float(double v, int bits) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  // Shortest round-trip digits, then Go's %g layout: exponent form when the
  // decimal exponent is < -4 or >= 6 (strconv's rule for the shortest format).
  char digits[64];
  std::to_chars_result res;
  if (bits == 32)
    res = std::to_chars(digits, digits + sizeof digits, static_cast<float>(v), std::chars_format::scientific);
  else
    res = std::to_chars(digits, digits + sizeof digits, v, std::chars_format::scientific);
  std::string_view sci(digits, static_cast<std::size_t>(res.ptr - digits));
  const std::size_t e = sci.find('e');
  std::string mantissa(sci.substr(0, e));
  std::string_view exp_text = sci.substr(e + 1);
  if (!exp_text.empty() && exp_text[0] == '+') exp_text.remove_prefix(1);
  int exp10 = 0;
  std::from_chars(exp_text.data(), exp_text.data() + exp_text.size(), exp10);
  bool negative = false;
  if (!mantissa.empty() && mantissa[0] == '-') {
    negative = true;
    mantissa.erase(0, 1);
  }
  std::string ds;  // significant digits without the point
  for (char c : mantissa)
    if (c != '.') ds += c;
  while (ds.size() > 1 && ds.back() == '0') ds.pop_back();
  std::string out = negative ? "-" : "";
  if (exp10 < -4 || exp10 >= 6) {
    out += ds[0];
    if (ds.size() > 1) {
      out += '.';
      out += ds.substr(1);
    }
    // Go writes at least two exponent digits: 1e+06, 1e-07, 1e+100.
    out += exp10 < 0 ? "e-" : "e+";
    const int magnitude = exp10 < 0 ? -exp10 : exp10;
    if (magnitude < 10) out += '0';
    char eb[8];
    const auto written = std::to_chars(eb, eb + sizeof eb, magnitude);
    out.append(eb, static_cast<std::size_t>(written.ptr - eb));
    return out;
  }
  if (exp10 < 0) {
    out += "0.";
    out.append(static_cast<std::size_t>(-exp10 - 1), '0');
    out += ds;
    return out;
  }
  const auto int_digits = static_cast<std::size_t>(exp10) + 1;
  if (ds.size() <= int_digits) {
    out += ds;
    out.append(int_digits - ds.size(), '0');
  } else {
    out += ds.substr(0, int_digits);
    out += '.';
    out += ds.substr(int_digits);
  }
  return out;
}

}  // namespace meshinject::core
