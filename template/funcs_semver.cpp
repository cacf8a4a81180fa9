// sprig's semverCompare (semver.go over Masterminds/semver v3): `semverCompare
// CONSTRAINT VERSION`. Constraints: comparisons (= != > < >= <=, also => =<),
// tilde (~, ~>), caret (^), wildcards (x X *), hyphen ranges (1.2 - 1.4), AND by
// comma or space, OR by ||. A version with a pre-release matches only a
// constraint that names a pre-release, as in semver v3.

#include <charconv>

#include "template/binding.hpp"
#include "template/funcs_support.hpp"

namespace meshinject::tmpl {
namespace {

struct version {
  std::uint64_t part[3] = {0, 0, 0};
  std::string_view pre;  // pre-release, without '-'
};

struct bound {
  version v;
  int given = 3;         // how many of major.minor.patch were numbers (a wildcard stops the count)
  bool wildcard = false; // some part was x, X or *, or missing
};

bool digits(std::string_view s, std::uint64_t& out) noexcept {
  if (s.empty()) return false;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

bool is_wild(std::string_view s) noexcept { return s == "x" || s == "X" || s == "*"; }

// "v1.2.3-pre+meta", parts may be missing ("1", "1.2") or wild (constraints only).
bool parse_bound(std::string_view s, bound& b, bool allow_wild) noexcept {
  if (!s.empty() && (s[0] == 'v' || s[0] == 'V')) s.remove_prefix(1);
  const std::size_t plus = s.find('+');
  if (plus != std::string_view::npos) s = s.substr(0, plus);
  const std::size_t dash = s.find('-');
  if (dash != std::string_view::npos) {
    b.v.pre = s.substr(dash + 1);
    if (b.v.pre.empty()) return false;
    s = s.substr(0, dash);
  }
  b.given = 0;
  for (int k = 0; k < 3; ++k) {
    if (s.empty()) {
      if (k == 0) return false;
      b.wildcard = b.wildcard || allow_wild;
      break;
    }
    const std::size_t dot = s.find('.');
    const std::string_view part = s.substr(0, dot);
    if (is_wild(part)) {
      if (!allow_wild) return false;
      b.wildcard = true;
    } else if (b.wildcard || !digits(part, b.v.part[k])) {
      return false;
    } else {
      ++b.given;
    }
    if (dot == std::string_view::npos) {
      s = {};
    } else {
      s = s.substr(dot + 1);
      if (s.empty()) return false;
    }
  }
  return s.empty();
}

int compare_pre(std::string_view x, std::string_view y) noexcept {
  if (x.empty() || y.empty()) return x.empty() == y.empty() ? 0 : x.empty() ? 1 : -1;
  while (!x.empty() && !y.empty()) {
    const std::size_t dx = x.find('.'), dy = y.find('.');
    const std::string_view a = x.substr(0, dx), b = y.substr(0, dy);
    std::uint64_t na = 0, nb = 0;
    const bool numeric_a = digits(a, na), numeric_b = digits(b, nb);
    int c = 0;
    if (numeric_a && numeric_b) c = na < nb ? -1 : na > nb ? 1 : 0;
    else if (numeric_a != numeric_b) c = numeric_a ? -1 : 1;
    else c = a < b ? -1 : a > b ? 1 : 0;
    if (c != 0) return c;
    x = dx == std::string_view::npos ? std::string_view() : x.substr(dx + 1);
    y = dy == std::string_view::npos ? std::string_view() : y.substr(dy + 1);
  }
  return x.empty() == y.empty() ? 0 : x.empty() ? -1 : 1;
}

int compare(const version& x, const version& y) noexcept {
  for (int k = 0; k < 3; ++k)
    if (x.part[k] != y.part[k]) return x.part[k] < y.part[k] ? -1 : 1;
  return compare_pre(x.pre, y.pre);
}

// One comparison of an AND group.
bool check(std::string_view op, const bound& c, const version& v) noexcept {
  if (!v.pre.empty() && c.v.pre.empty() && !(op == "!=" && !c.wildcard)) return false;
  const int cmp = compare(v, c.v);
  const auto& p = v.part;
  const auto& q = c.v.part;
  if (op.empty() || op == "=") {
    if (!c.wildcard) return cmp == 0;
    if (c.given == 0) return true;
    if (p[0] != q[0]) return false;
    return c.given == 1 || p[1] == q[1];
  }
  if (op == "!=") return !check("=", c, v);
  if (op == ">") {
    if (!c.wildcard) return cmp > 0;
    if (c.given <= 1) return p[0] > q[0];
    return p[0] > q[0] || (p[0] == q[0] && p[1] > q[1]);
  }
  if (op == "<") return cmp < 0;
  if (op == ">=" || op == "=>") return cmp >= 0;
  if (op == "<=" || op == "=<") {
    if (!c.wildcard) return cmp <= 0;
    if (c.given <= 1) return p[0] <= q[0];
    return p[0] < q[0] || (p[0] == q[0] && p[1] <= q[1]);
  }
  if (op == "~" || op == "~>") {
    if (cmp < 0) return false;
    if (p[0] != q[0]) return false;
    return c.given < 2 || p[1] == q[1];
  }
  if (op == "^") {
    if (cmp < 0) return false;
    if (q[0] > 0 || c.given < 2) return p[0] == q[0];
    if (p[0] > 0) return false;
    if (q[1] > 0 || c.given < 3) return p[1] == q[1];
    if (p[1] > 0) return false;
    return p[2] == q[2];
  }
  return false;
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool is_op_char(char c) noexcept { return c == '=' || c == '!' || c == '>' || c == '<' || c == '~' || c == '^'; }

// An AND group: "OP VERSION" terms separated by commas or spaces, or "A - B".
// Sets `ok` false when the text is not a constraint.
bool check_group(std::string_view group, const version& v, bool& ok) noexcept {
  group = trim(group);
  const std::size_t hyphen = group.find(" - ");
  if (hyphen != std::string_view::npos) {
    bound low, high;
    if (!parse_bound(trim(group.substr(0, hyphen)), low, true) ||
        !parse_bound(trim(group.substr(hyphen + 3)), high, true)) {
      ok = false;
      return false;
    }
    return check(">=", low, v) && check("<=", high, v);
  }
  bool all = true;
  while (!group.empty()) {
    std::size_t k = 0;
    while (k < group.size() && is_op_char(group[k])) ++k;
    const std::string_view op = group.substr(0, k);
    group = trim(group.substr(k));
    std::size_t end = 0;
    while (end < group.size() && group[end] != ',' && group[end] != ' ' && !is_op_char(group[end])) ++end;
    bound b;
    if (!parse_bound(group.substr(0, end), b, true) ||
        !(op.empty() || op == "=" || op == "!=" || op == ">" || op == "<" || op == ">=" || op == "=>" ||
          op == "<=" || op == "=<" || op == "~" || op == "~>" || op == "^")) {
      ok = false;
      return false;
    }
    all = check(op, b, v) && all;
    group = group.substr(end);
    while (!group.empty() && (group[0] == ',' || group[0] == ' ' || group[0] == '\t')) group.remove_prefix(1);
  }
  return all;
}

value fn_semver_compare(call_context& cx, std::span<value> a) {
  std::string_view constraint, text;
  if (!sprig::want_string(cx, a[0], constraint) || !sprig::want_string(cx, a[1], text)) return {};
  bound parsed;
  if (!parse_bound(trim(text), parsed, false)) return sprig::fail_with(cx, "semverCompare", "Invalid Semantic Version");
  bool ok = true, any = false;
  std::string_view rest = constraint;
  if (trim(rest).empty()) ok = false;
  while (ok) {
    const std::size_t bar = rest.find("||");
    any = check_group(rest.substr(0, bar), parsed.v, ok) || any;
    if (bar == std::string_view::npos) break;
    rest = rest.substr(bar + 2);
  }
  if (!ok) {
    std::string& m = cx.scratch(0);
    m = "improper constraint: ";
    m += constraint;
    return sprig::fail_with(cx, "semverCompare", m);
  }
  return value::boolean(any);
}

}  // namespace

void add_semver_functions(function_table& t) {
  t.add({.name = "semverCompare", .impl = fn_semver_compare, .min_args = 2, .max_args = 2});
}

}  // namespace meshinject::tmpl
