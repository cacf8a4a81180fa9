#include "template/funcs_support.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "core/json_text.hpp"
#include "template/binding.hpp"

namespace meshinject::tmpl::sprig {
namespace {

// Through a function, so the result does not point into a temporary.
simdjson::dom::array array_of(simdjson::dom::element e) noexcept { return e.get_array().value_unsafe(); }
simdjson::dom::object object_of(simdjson::dom::element e) noexcept { return e.get_object().value_unsafe(); }

}  // namespace

std::string_view kind_name(const value& v) noexcept {
  switch (v.k) {
    case kind::invalid:
    case kind::nil: return "invalid";
    case kind::boolean: return "bool";
    case kind::integer: return "int";
    case kind::floating: return "float64";
    case kind::string: return "string";
    case kind::list: return "slice";
    case kind::map: return "map";
    case kind::json: return v.j.is_array() ? "slice" : "map";
    default: {
      const std::string_view n = type_name(v);
      if (n.substr(0, 2) == "[]") return "slice";
      if (n.substr(0, 3) == "map") return "map";
      if (n.substr(0, 1) == "*") return "ptr";
      return "struct";
    }
  }
}

value wrong_type(call_context& cx, std::string_view expected, const value& got) {
  std::string& m = cx.scratch(1);
  m = "wrong type for value; expected ";
  m += expected;
  m += "; got ";
  m += type_name(got);
  cx.fail(m);
  return value{};
}

value fail_with(call_context& cx, std::string_view function, std::string_view message) {
  std::string& m = cx.scratch(1);
  m = "error calling ";
  m += function;
  m += ": ";
  m += message;
  cx.fail(m);
  return value{};
}

namespace {

value basic_of(const value& v) noexcept {
  value b;
  if (v.k == kind::object && v.type->basic(v, b)) return b;
  return v;
}

}  // namespace

bool want_string(call_context& cx, const value& v, std::string_view& out) {
  const value b = basic_of(v);
  if (b.k == kind::string) {
    out = b.s;
    return true;
  }
  wrong_type(cx, "string", v);
  return false;
}

bool want_int(call_context& cx, const value& v, std::int64_t& out) {
  const value b = basic_of(v);
  if (b.k == kind::integer) {
    out = b.i;
    return true;
  }
  wrong_type(cx, "int", v);
  return false;
}

bool want_bool(call_context& cx, const value& v, bool& out) {
  const value b = basic_of(v);
  if (b.k == kind::boolean) {
    out = b.b;
    return true;
  }
  wrong_type(cx, "bool", v);
  return false;
}

bool is_nil(const value& v) noexcept { return v.k == kind::nil || v.k == kind::invalid; }

void strval(const value& v, std::string& out) {
  if (v.k == kind::string) {
    out.append(v.s);
    return;
  }
  sprint(v, out);
}

namespace {

// cast's trimZeroDecimal: "12.000" reads as "12".
std::string_view trim_zero_decimal(std::string_view s) noexcept {
  const std::size_t dot = s.find('.');
  if (dot == std::string_view::npos || dot == 0) return s;
  for (std::size_t k = dot + 1; k < s.size(); ++k)
    if (s[k] != '0') return s;
  return s.substr(0, dot);
}

// strconv.ParseInt(s, 0, 64): sign, then 0x / 0o / 0b / 0 prefixes, underscores
// only with a prefix.
bool parse_go_int(std::string_view s, std::int64_t& out) noexcept {
  bool negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  int base = 10;
  if (s.size() > 1 && s[0] == '0') {
    const char p = static_cast<char>(s[1] | 0x20);
    if (p == 'x') base = 16, s.remove_prefix(2);
    else if (p == 'o') base = 8, s.remove_prefix(2);
    else if (p == 'b') base = 2, s.remove_prefix(2);
    else base = 8, s.remove_prefix(1);
  }
  if (s.empty()) return false;
  std::uint64_t magnitude = 0;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), magnitude, base);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size()) return false;
  if (magnitude > static_cast<std::uint64_t>(INT64_MAX) + (negative ? 1 : 0)) return false;
  out = negative ? static_cast<std::int64_t>(0 - magnitude) : static_cast<std::int64_t>(magnitude);
  return true;
}

}  // namespace

std::int64_t to_int64(const value& v) noexcept {
  const value b = basic_of(v);
  switch (b.k) {
    case kind::integer: return b.i;
    case kind::floating: return std::isfinite(b.f) ? static_cast<std::int64_t>(b.f) : 0;
    case kind::boolean: return b.b ? 1 : 0;
    case kind::string: {
      std::int64_t n = 0;
      return parse_go_int(trim_zero_decimal(b.s), n) ? n : 0;
    }
    default: return 0;
  }
}

double to_float64(const value& v) noexcept {
  const value b = basic_of(v);
  switch (b.k) {
    case kind::integer: return static_cast<double>(b.i);
    case kind::floating: return b.f;
    case kind::boolean: return b.b ? 1 : 0;
    case kind::string: {
      double d = 0;
      std::string_view s = b.s;
      if (!s.empty() && s[0] == '+') s.remove_prefix(1);
      const auto r = std::from_chars(s.data(), s.data() + s.size(), d);
      return r.ec == std::errc() && r.ptr == s.data() + s.size() ? d : 0;
    }
    default: return 0;
  }
}

bool empty(const value& v) noexcept {
  if (v.deferred) return false;
  const value b = basic_of(v);
  switch (b.k) {
    case kind::invalid:
    case kind::nil: return true;
    case kind::boolean: return !b.b;
    case kind::integer: return b.i == 0;
    case kind::floating: return b.f == 0;
    case kind::string: return b.s.empty();
    case kind::unknown: return false;
    default: {
      std::int64_t n = 0;
      if (b.type->length(b, n)) return n == 0;
      return !b.type->truth(b);  // a struct is never empty in sprig; a nil pointer is
    }
  }
}

namespace {

// Collects a host value's elements (or entries) through its binding.
class collector final : public range_visitor {
 public:
  collector(value* items, map_entry* entries, std::size_t room) : items_(items), entries_(entries), room_(room) {}
  bool visit(const value& key, const value& element) override {
    if (n_ >= room_) return false;
    if (key.k == kind::string) {
      saw_string_key_ = true;
      if (entries_) entries_[n_] = map_entry{key.s, element};
    } else if (items_) {
      items_[n_] = element;
    }
    ++n_;
    return true;
  }
  std::size_t count() const noexcept { return n_; }
  bool saw_string_key() const noexcept { return saw_string_key_; }

 private:
  value* items_;
  map_entry* entries_;
  std::size_t room_;
  std::size_t n_ = 0;
  bool saw_string_key_ = false;
};

bool is_generic_map_type(const value& v) noexcept {
  return type_name(v) == "map[string]interface {}";
}

}  // namespace

value* new_values(call_context& cx, std::size_t n) { return cx.strings().allocate_array<value>(n == 0 ? 1 : n); }
map_entry* new_entries(call_context& cx, std::size_t n) {
  return cx.strings().allocate_array<map_entry>(n == 0 ? 1 : n);
}

bool as_list(call_context& cx, const value& v, std::span<const value>& out) {
  if (v.k == kind::list) {
    out = list_items(v);
    return true;
  }
  if (v.k == kind::json) {
    if (!v.j.is_array()) return false;
    const auto arr = array_of(v.j);
    value* items = new_values(cx, arr.size());
    std::size_t n = 0;
    for (auto e : arr) items[n++] = from_json(e, v.origin);
    out = {items, n};
    return true;
  }
  if (v.k != kind::object || is_string_map(v) || is_generic_map_type(v)) return false;
  const std::string_view name = type_name(v);
  if (name.substr(0, 2) != "[]") return false;
  std::int64_t n = 0;
  if (!v.type->length(v, n) || n < 0) return false;
  value* items = new_values(cx, static_cast<std::size_t>(n));
  collector c(items, nullptr, static_cast<std::size_t>(n));
  if (!v.type->range(v, c, cx) || c.saw_string_key()) return false;
  out = {items, c.count()};
  return true;
}

bool as_dict(call_context& cx, const value& v, std::span<const map_entry>& out) {
  if (v.k == kind::map) {
    out = map_entries(v);
    return true;
  }
  if (v.k == kind::json) {
    if (!v.j.is_object()) return false;
    const auto obj = object_of(v.j);
    map_entry* entries = new_entries(cx, obj.size());
    std::size_t n = 0;
    for (auto kv : obj) entries[n++] = map_entry{kv.key, from_json(kv.value, v.origin)};
    std::sort(entries, entries + n, [](const map_entry& a, const map_entry& b) { return a.key < b.key; });
    out = {entries, n};
    return true;
  }
  if (v.k != kind::object || !is_generic_map_type(v)) return false;
  std::int64_t n = 0;
  if (!v.type->length(v, n) || n < 0) return false;
  map_entry* entries = new_entries(cx, static_cast<std::size_t>(n));
  collector c(nullptr, entries, static_cast<std::size_t>(n));
  if (!v.type->range(v, c, cx)) return false;
  // A host may range in document order; dicts are read in key order.
  std::sort(entries, entries + c.count(), [](const map_entry& a, const map_entry& b) { return a.key < b.key; });
  out = {entries, c.count()};
  return true;
}

bool as_string_dict(call_context& cx, const value& v, std::span<const map_entry>& out) {
  if (!is_string_map(v)) return false;
  std::int64_t n = 0;
  v.type->length(v, n);
  map_entry* entries = new_entries(cx, static_cast<std::size_t>(n));
  collector c(nullptr, entries, static_cast<std::size_t>(n));
  if (!v.type->range(v, c, cx)) return false;
  // A repeated label key: the last one wins, as a Go map built from them would.
  std::size_t kept = 0;
  for (std::size_t k = 0; k < c.count(); ++k) {
    if (kept > 0 && entries[kept - 1].key == entries[k].key) entries[kept - 1] = entries[k];
    else entries[kept++] = entries[k];
  }
  out = {entries, kept};
  return true;
}

value make_string_map(call_context& cx, std::span<const map_entry> entries) {
  core::label* labels = cx.strings().allocate_array<core::label>(entries.empty() ? 1 : entries.size());
  std::size_t n = 0;
  for (const map_entry& e : entries) {
    // Keep the last of equal keys, as assigning into a Go map does.
    std::size_t at = 0;
    while (at < n && labels[at].key != e.key) ++at;
    labels[at] = core::label{e.key, e.v.s};
    if (at == n) ++n;
  }
  return string_map({labels, n}, true);
}

bool deep_equal(const value& a, const value& b) noexcept {
  const value x = basic_of(a);
  const value y = basic_of(b);
  if (x.k != y.k) return false;
  switch (x.k) {
    case kind::invalid:
    case kind::nil: return true;
    case kind::boolean: return x.b == y.b;
    case kind::integer: return x.i == y.i;
    case kind::floating: return x.f == y.f;
    case kind::string: return x.s == y.s;
    case kind::list: {
      const auto p = list_items(x), q = list_items(y);
      if (p.size() != q.size()) return false;
      for (std::size_t k = 0; k < p.size(); ++k)
        if (!deep_equal(p[k], q[k])) return false;
      return true;
    }
    case kind::map: {
      const auto p = map_entries(x), q = map_entries(y);
      if (p.size() != q.size()) return false;
      for (std::size_t k = 0; k < p.size(); ++k)
        if (p[k].key != q[k].key || !deep_equal(p[k].v, q[k].v)) return false;
      return true;
    }
    case kind::json: {
      if (x.j.is_array() != y.j.is_array()) return false;
      if (x.j.is_array()) {
        const auto p = array_of(x.j), q = array_of(y.j);
        if (p.size() != q.size()) return false;
        auto it = q.begin();
        for (auto e : p) {
          if (!deep_equal(from_json(e), from_json(*it))) return false;
          ++it;
        }
        return true;
      }
      const auto p = object_of(x.j), q = object_of(y.j);
      if (p.size() != q.size()) return false;
      for (auto kv : p) {
        auto other = q.at_key(kv.key);
        if (other.error() || !deep_equal(from_json(kv.value), from_json(other.value_unsafe()))) return false;
      }
      return true;
    }
    default: return x.type == y.type && x.p == y.p && x.i == y.i && x.aux == y.aux;
  }
}

// ------------------------------------------------------------------ JSON

namespace {

// encoding/json's string form: HTML characters and U+2028/9 escaped too.
void json_string(std::string_view s, std::string& out) { core::append_json_string(out, s, /*html=*/true); }

void newline(std::string& out, int depth) {
  if (depth < 0) return;
  out += '\n';
  out.append(static_cast<std::size_t>(depth) * 2, ' ');
}

int deeper(int depth) { return depth < 0 ? -1 : depth + 1; }

// encoding/json's float form: %f-like within [1e-6, 1e21), else exponent with
// at least two digits.
void json_float(double f, std::string& out) {
  char buf[64];
  const double a = std::fabs(f);
  std::to_chars_result r{};
  if (a != 0 && (a < 1e-6 || a >= 1e21)) {
    r = std::to_chars(buf, buf + sizeof buf, f, std::chars_format::scientific);
    std::string_view s(buf, static_cast<std::size_t>(r.ptr - buf));
    // Go writes "1e-07" as "1e-7" (and "1e+21" as is).
    const std::size_t e = s.find('e');
    if (s.size() == e + 4 && s[e + 1] == '-' && s[e + 2] == '0') {
      out.append(s.substr(0, e + 2));
      out += s[e + 3];
      return;
    }
    out.append(s);
    return;
  }
  r = std::to_chars(buf, buf + sizeof buf, f, std::chars_format::fixed);
  out.append(buf, static_cast<std::size_t>(r.ptr - buf));
}

class json_writer final : public range_visitor {
 public:
  json_writer(call_context& cx, std::string& out, int depth) : cx_(cx), out_(out), depth_(depth) {}
  bool visit(const value& key, const value& element) override {
    if (count_++) out_ += ',';
    newline(out_, deeper(depth_));
    if (key.k == kind::string) {
      json_string(key.s, out_);
      out_ += depth_ < 0 ? ":" : ": ";
    }
    return write_json(cx_, element, out_, deeper(depth_));
  }
  std::size_t count() const noexcept { return count_; }

 private:
  call_context& cx_;
  std::string& out_;
  int depth_;
  std::size_t count_ = 0;
};

// A JSON object's members in sorted key order, as encoding/json writes a map.
bool visit_json_object_sorted(const value& b, json_writer& w) {
  const auto obj = object_of(b.j);
  std::string_view last;
  bool have_last = false;
  for (std::size_t k = 0; k < obj.size(); ++k) {
    std::string_view best;
    simdjson::dom::element best_value;
    bool found = false;
    for (auto kv : obj) {
      if (have_last && kv.key <= last) continue;
      if (!found || kv.key < best) best = kv.key, best_value = kv.value, found = true;
    }
    if (!found) break;
    if (!w.visit(value::string(best), from_json(best_value))) return false;
    last = best;
    have_last = true;
  }
  return true;
}

// A map[string]string in sorted key order; the last label of a repeated key wins.
bool visit_string_map_sorted(const value& b, json_writer& w) {
  const auto items = string_map_items(b);
  std::string_view last;
  bool have_last = false;
  for (std::size_t k = 0; k < items.size(); ++k) {
    const core::label* best = nullptr;
    for (const core::label& l : items) {
      if (have_last && l.key <= last) continue;
      if (!best || l.key < best->key) best = &l;
    }
    if (!best) break;
    const core::label* chosen = best;
    for (const core::label& l : items)
      if (l.key == best->key) chosen = &l;
    if (!w.visit(value::string(chosen->key), value::string(chosen->value))) return false;
    last = best->key;
    have_last = true;
  }
  return true;
}

// The members of a list, map, JSON value or host value, each through `w`.
bool visit_json_members(call_context& cx, const value& b, bool is_array, json_writer& w) {
  if (b.k == kind::list) {
    for (const value& item : list_items(b))
      if (!w.visit(value::integer(0), item)) return false;
  } else if (b.k == kind::map) {
    for (const map_entry& e : map_entries(b))
      if (!w.visit(value::string(e.key), e.v)) return false;
  } else if (b.k == kind::json && b.j.is_array()) {
    for (auto e : array_of(b.j))
      if (!w.visit(value::integer(0), from_json(e))) return false;
  } else if (b.k == kind::json) {
    if (!visit_json_object_sorted(b, w)) return false;
  } else if (is_string_map(b)) {
    if (!visit_string_map_sorted(b, w)) return false;
  } else {
    // Host data: in key order for maps (encoding/json sorts them), else as ranged.
    std::span<const map_entry> entries;
    std::span<const value> items;
    if (is_array && as_list(cx, b, items)) {
      for (const value& item : items)
        if (!w.visit(value::integer(0), item)) return false;
    } else if (!is_array && as_dict(cx, b, entries)) {
      for (const map_entry& e : entries)
        if (!w.visit(value::string(e.key), e.v)) return false;
    } else if (!b.type->range(b, w, cx)) {
      return false;
    }
  }
  return true;
}

}  // namespace

bool write_json(call_context& cx, const value& v, std::string& out, int indent_depth) {
  if (v.deferred) {
    std::string text;  // cold: a deferred toYaml as JSON is its text
    v.deferred(v, text);
    json_string(text, out);
    return true;
  }
  const value b = basic_of(v);
  switch (b.k) {
    case kind::invalid:
    case kind::nil: out += "null"; return true;
    case kind::boolean: out += b.b ? "true" : "false"; return true;
    case kind::integer: append_int(out, b.i); return true;
    case kind::floating:
      if (!std::isfinite(b.f)) return false;
      json_float(b.f, out);
      return true;
    case kind::string: json_string(b.s, out); return true;
    case kind::unknown: return false;
    default: break;
  }
  if (b.k == kind::json && !b.j.is_array() && !b.j.is_object()) return write_json(cx, from_json(b.j), out, indent_depth);
  std::int64_t n = 0;
  if (!b.type->length(b, n)) {
    // A struct Go would marshal field by field; the host did not say how.
    std::string printed;
    b.type->print(b, printed);
    json_string(printed, out);
    return true;
  }
  const bool is_array = b.k == kind::list || (b.k == kind::json && b.j.is_array()) ||
                        (b.k == kind::object && type_name(b).substr(0, 2) == "[]");
  if (b.k == kind::object && n == 0 && !is_string_map(b)) {
    // A nil map or slice of the host prints as <nil>: encoding/json writes null.
    std::string& printed = cx.scratch(1);
    printed.clear();
    b.type->print(b, printed);
    if (printed == "<nil>") {
      out += "null";
      return true;
    }
  }
  out += is_array ? '[' : '{';
  json_writer w(cx, out, indent_depth);
  if (!visit_json_members(cx, b, is_array, w)) return false;
  if (w.count() > 0) newline(out, indent_depth);
  out += is_array ? ']' : '}';
  return true;
}

}  // namespace meshinject::tmpl::sprig

namespace meshinject::tmpl {

bool marshal_json(call_context& cx, const value& v, std::string& out, int indent_depth) {
  return sprig::write_json(cx, v, out, indent_depth);
}

}  // namespace meshinject::tmpl

namespace meshinject::tmpl::sprig {
namespace {

// Length of the valid UTF-8 sequence at s[i] and its code point; 0 if invalid.
std::size_t decode_utf8(std::string_view s, std::size_t i, std::uint32_t& cp) {
  const auto c = static_cast<unsigned char>(s[i]);
  std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  cp = n == 1 ? c : c & (0x7F >> n);
  for (std::size_t k = 1; k < n; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3F);
  }
  static constexpr std::uint32_t min_for[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < min_for[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

// Go's unicode.IsPrint for the code points templates meet: controls, format
// characters and private use are not printable.
bool printable(std::uint32_t cp) {
  if (cp < 0x20 || (cp >= 0x7F && cp < 0xA0) || cp == 0xAD) return false;
  if ((cp >= 0x200B && cp <= 0x200F) || (cp >= 0x2028 && cp <= 0x202E) || (cp >= 0x2060 && cp <= 0x2064)) return false;
  if (cp == 0xFEFF || (cp >= 0xE000 && cp <= 0xF8FF) || (cp >= 0xFFF9 && cp <= 0xFFFB) || cp >= 0xF0000) return false;
  return true;
}

void append_hex(std::string& out, std::uint32_t v, int digits) {
  static constexpr char hex[] = "0123456789abcdef";
  for (int k = digits - 1; k >= 0; --k) out += hex[(v >> (4 * k)) & 0xF];
}

}  // namespace

void go_quote(std::string_view s, std::string& out) {
  out += '"';
  for (std::size_t i = 0; i < s.size();) {
    // Printable ASCII other than the quote and the backslash stands for itself:
    // the quoted values (labels, names, ports) are all of it, so a run is
    // appended at once rather than a character at a time.
    std::size_t run = i;
    while (run < s.size() && s[run] >= 0x20 && s[run] < 0x7F && s[run] != '"' && s[run] != '\\') ++run;
    if (run != i) {
      out.append(s.data() + i, run - i);
      i = run;
      continue;
    }
    std::uint32_t cp = 0;
    const std::size_t n = decode_utf8(s, i, cp);
    if (n == 0) {
      out += "\\x";
      append_hex(out, static_cast<unsigned char>(s[i]), 2);
      ++i;
      continue;
    }
    switch (cp) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\a': out += "\\a"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\v': out += "\\v"; break;
      default:
        if (printable(cp)) out.append(s.substr(i, n));
        else if (cp < 0x80) out += "\\x", append_hex(out, cp, 2);
        else if (cp < 0x10000) out += "\\u", append_hex(out, cp, 4);
        else out += "\\U", append_hex(out, cp, 8);
    }
    i += n;
  }
  out += '"';
}

}  // namespace meshinject::tmpl::sprig
