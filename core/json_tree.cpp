#include "core/json_tree.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <limits>

namespace meshinject::core::json {
namespace {

constexpr std::size_t max_entries = std::numeric_limits<std::uint32_t>::max();

error fail(errc code, std::string_view msg) noexcept { return error{code, msg}; }
error out_of_memory() noexcept { return fail(errc::out_of_memory, "out of memory for the JSON tree"); }

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

// JSON's number grammar. integer_only: no fraction, no exponent.
bool valid_number(std::string_view s, bool& integer_only) noexcept {
  std::size_t i = 0;
  const std::size_t n = s.size();
  if (i < n && s[i] == '-') ++i;
  if (i >= n) return false;
  if (s[i] == '0') {
    ++i;
  } else if (is_digit(s[i])) {
    while (i < n && is_digit(s[i])) ++i;
  } else {
    return false;
  }
  integer_only = true;
  if (i < n && s[i] == '.') {
    integer_only = false;
    ++i;
    if (i >= n || !is_digit(s[i])) return false;
    while (i < n && is_digit(s[i])) ++i;
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    integer_only = false;
    ++i;
    if (i < n && (s[i] == '+' || s[i] == '-')) ++i;
    if (i >= n || !is_digit(s[i])) return false;
    while (i < n && is_digit(s[i])) ++i;
  }
  return i == n;
}

// An integer literal without its sign and leading zeros ("-007" -> "7", negative).
std::string_view integer_digits(std::string_view s, bool& negative) noexcept {
  negative = !s.empty() && s[0] == '-';
  if (negative) s.remove_prefix(1);
  while (s.size() > 1 && s[0] == '0') s.remove_prefix(1);
  if (s == "0") negative = false;
  return s;
}

template <class T>
T* grow(arena& a, const T* old, std::uint32_t size, std::uint32_t& capacity, std::size_t need) noexcept {
  if (need > max_entries) return nullptr;
  std::size_t cap = capacity < 4 ? 4 : std::size_t{capacity} * 2;
  if (cap < need) cap = need;
  if (cap > max_entries) cap = max_entries;
  T* fresh = a.allocate_array<T>(cap);
  if (fresh == nullptr) return nullptr;
  if (size > 0) std::memcpy(static_cast<void*>(fresh), static_cast<const void*>(old), sizeof(T) * size);
  capacity = static_cast<std::uint32_t>(cap);
  return fresh;
}

// Keeps the last of each repeated key (Go's encoding/json), in first-seen order
// of the survivors. Small objects compare pairwise; large ones sort an index.
error drop_repeated_keys(arena& a, member* m, std::uint32_t& size) noexcept {
  const std::uint32_t n = size;
  if (n < 2) return {};
  bool any = false;
  if (n <= 16) {
    for (std::uint32_t i = 1; i < n && !any; ++i)
      for (std::uint32_t j = 0; j < i; ++j)
        if (m[i].key == m[j].key) { any = true; break; }
  } else {
    auto* order = a.allocate_array<std::uint32_t>(n);
    if (order == nullptr) return out_of_memory();
    for (std::uint32_t i = 0; i < n; ++i) order[i] = i;
    std::sort(order, order + n, [m](std::uint32_t x, std::uint32_t y) { return m[x].key < m[y].key; });
    for (std::uint32_t i = 1; i < n; ++i)
      if (m[order[i]].key == m[order[i - 1]].key) { any = true; break; }
  }
  if (!any) return {};
  // Rare: rebuild keeping a member only if no later member has its key.
  std::uint32_t out = 0;
  for (std::uint32_t i = 0; i < n; ++i) {
    bool later = false;
    for (std::uint32_t j = i + 1; j < n && !later; ++j) later = m[j].key == m[i].key;
    if (!later) m[out++] = m[i];
  }
  size = out;
  return {};
}

struct converter {
  arena& a;
  strings mode;
  std::span<const omitted_member> omit{};
  bool keys_unique = false;
  std::string_view top_key{};  // the top-level member being converted

  bool omitted(std::size_t depth, std::string_view key) const noexcept {
    if (depth > 2) return false;
    const std::string_view parent = depth == 1 ? std::string_view{} : top_key;
    for (const omitted_member& o : omit)
      if (o.key == key && o.parent == parent && (depth == 1) == o.parent.empty()) return true;
    return false;
  }

  error key_or_string(std::string_view s, std::string_view& out) noexcept {
    if (mode == strings::borrow || s.empty()) {
      out = s;
      return {};
    }
    bool ok = true;
    out = a.copy(s, ok);
    return ok ? error{} : out_of_memory();
  }

  error number(simdjson::dom::element e, value& out) noexcept {
    switch (e.type()) {
      case simdjson::dom::element_type::INT64:
        out = value::integer(e.get_int64().value_unsafe());
        return {};
      case simdjson::dom::element_type::UINT64: {
        char buf[24];
        const auto r = std::to_chars(buf, buf + sizeof buf, e.get_uint64().value_unsafe());
        bool ok = true;
        const std::string_view text = a.copy({buf, static_cast<std::size_t>(r.ptr - buf)}, ok);
        if (!ok) return out_of_memory();
        return value::number(text, out);
      }
      default:
        return value::floating(e.get_double().value_unsafe(), a, out);
    }
  }

  error convert(simdjson::dom::element e, value& out, std::size_t depth) noexcept {
    using t = simdjson::dom::element_type;
    switch (e.type()) {
      case t::NULL_VALUE:
        out = value();
        return {};
      case t::BOOL:
        out = value::boolean(e.get_bool().value_unsafe());
        return {};
      case t::INT64:
      case t::UINT64:
      case t::DOUBLE:
        return number(e, out);
      case t::STRING: {
        std::string_view s;
        if (auto err = key_or_string(e.get_string().value_unsafe(), s)) return err;
        out = value::string(s);
        return {};
      }
      case t::ARRAY:
        return array(e.get_array().value_unsafe(), out, depth + 1);
      case t::OBJECT:
        return object(e.get_object().value_unsafe(), out, depth + 1);
    }
    return fail(errc::invalid_json, "unknown JSON element");
  }

  error array(simdjson::dom::array arr, value& out, std::size_t depth) noexcept {
    if (depth > max_depth) return fail(errc::too_deep, "JSON nested deeper than 512 levels");
    out = value::array();
    const std::size_t n = arr.size();
    if (auto err = out.reserve(a, n)) return err;
    for (simdjson::dom::element item : arr) {
      value v;
      if (auto err = convert(item, v, depth)) return err;
      if (auto err = out.push_back(a, v)) return err;
    }
    return {};
  }

  error object(simdjson::dom::object obj, value& out, std::size_t depth) noexcept {
    if (depth > max_depth) return fail(errc::too_deep, "JSON nested deeper than 512 levels");
    out = value::object();
    if (auto err = out.reserve(a, obj.size())) return err;
    for (auto field : obj) {
      if (!omit.empty() && omitted(depth, field.key)) continue;
      if (depth == 1) top_key = field.key;
      std::string_view key;
      if (auto err = key_or_string(field.key, key)) return err;
      value v;
      if (auto err = convert(field.value, v, depth)) return err;
      if (auto err = out.append_member(a, key, v)) return err;
    }
    return finish_object(out);
  }

  error finish_object(value& obj) noexcept {
    if (keys_unique) return {};
    std::uint32_t n = static_cast<std::uint32_t>(obj.size());
    if (auto err = drop_repeated_keys(a, obj.members().data(), n)) return err;
    while (obj.size() > n) obj.erase(obj.size() - 1);
    return {};
  }
};

bool equal_at(const value& a, const value& b) noexcept;

bool objects_equal(const value& a, const value& b) noexcept {
  if (a.size() != b.size()) return false;
  const auto am = a.members();
  if (am.data() == b.members().data()) return true;
  std::size_t hint = 0;
  for (const member& m : am) {
    const std::size_t at = b.index_of(m.key, hint);
    if (at == value::npos) return false;
    if (!equal_at(m.v, b.members()[at].v)) return false;
    hint = at + 1;
  }
  return true;
}

bool equal_at(const value& a, const value& b) noexcept {
  if (a.type() != b.type()) return false;
  switch (a.type()) {
    case kind::null:
      return true;
    case kind::boolean:
      return a.as_bool() == b.as_bool();
    case kind::number:
      return numbers_equal(a, b);
    case kind::string: {
      // Copies of a tree share their strings: the same bytes need no compare.
      const std::string_view sa = a.as_string(), sb = b.as_string();
      return sa.size() == sb.size() && (sa.data() == sb.data() || sa == sb);
    }
    case kind::array: {
      if (a.size() != b.size()) return false;
      const auto ai = a.items();
      const auto bi = b.items();
      // Storage shared by two trees (the merged pod shares the pod's untouched
      // subtrees): the same entries.
      if (ai.data() == bi.data()) return true;
      for (std::size_t i = 0; i < ai.size(); ++i)
        if (!equal_at(ai[i], bi[i])) return false;
      return true;
    }
    case kind::object:
      return objects_equal(a, b);
  }
  return false;
}

}  // namespace

value value::boolean(bool b) noexcept {
  value v;
  v.kind_ = kind::boolean;
  v.flags_ = b ? 1 : 0;
  return v;
}

value value::integer(std::int64_t i) noexcept {
  value v;
  v.kind_ = kind::number;
  v.flags_ = int_flag;
  v.int_ = i;
  return v;
}

value value::string(std::string_view s) noexcept {
  value v;
  v.kind_ = kind::string;
  v.ptr_ = s.data();
  v.size_ = static_cast<std::uint32_t>(s.size() > max_entries ? max_entries : s.size());
  return v;
}

value value::array() noexcept {
  value v;
  v.kind_ = kind::array;
  return v;
}

value value::object() noexcept {
  value v;
  v.kind_ = kind::object;
  return v;
}

error value::number(std::string_view literal, value& out, arena* a) noexcept {
  bool integer_only = false;
  if (!valid_number(literal, integer_only)) return fail(errc::invalid_number, "not a JSON number");
  if (literal.size() > max_entries) return fail(errc::too_large, "number literal too long");
  if (a != nullptr) {
    bool ok = true;
    literal = a->copy(literal, ok);
    if (!ok) return out_of_memory();
  }
  value v;
  v.kind_ = kind::number;
  v.ptr_ = literal.data();
  v.size_ = static_cast<std::uint32_t>(literal.size());
  if (integer_only) {
    std::int64_t i = 0;
    const auto r = std::from_chars(literal.data(), literal.data() + literal.size(), i);
    if (r.ec == std::errc() && r.ptr == literal.data() + literal.size()) {
      v.flags_ = int_flag;
      v.int_ = i;
    }
  } else {
    v.flags_ = float_flag;
  }
  out = v;
  return {};
}

error value::floating(double d, arena& a, value& out) noexcept {
  if (!(d == d) || d > std::numeric_limits<double>::max() || d < -std::numeric_limits<double>::max())
    return fail(errc::invalid_number, "not a finite number");
  char buf[40];
  auto r = std::to_chars(buf, buf + 32, d);
  if (r.ec != std::errc()) return fail(errc::invalid_number, "number does not print");
  std::string_view text(buf, static_cast<std::size_t>(r.ptr - buf));
  if (text.find_first_of(".e") == std::string_view::npos) {
    *r.ptr++ = '.';
    *r.ptr++ = '0';
    text = {buf, static_cast<std::size_t>(r.ptr - buf)};
  }
  // to_chars writes "1e+22"; JSON accepts it.
  return number(text, out, &a);
}

error value::string_copy(std::string_view s, arena& a, value& out) noexcept {
  if (s.size() > max_entries) return fail(errc::too_large, "string too long");
  bool ok = true;
  const std::string_view copy = a.copy(s, ok);
  if (!ok) return out_of_memory();
  out = string(copy);
  return {};
}

error value::shallow_copy(const value& v, arena& a, value& out) noexcept {
  out = v;
  if (v.kind_ != kind::array && v.kind_ != kind::object) return {};
  if (v.size_ == 0) {  // no storage: growing the copy must not write into v's spare capacity
    out.ptr_ = nullptr;
    out.capacity_ = 0;
    return {};
  }
  const std::size_t bytes = v.kind_ == kind::array ? sizeof(value) * v.size_ : sizeof(member) * v.size_;
  void* fresh = v.kind_ == kind::array ? static_cast<void*>(a.allocate_array<value>(v.size_))
                                       : static_cast<void*>(a.allocate_array<member>(v.size_));
  if (fresh == nullptr) return out_of_memory();
  std::memcpy(fresh, v.ptr_, bytes);
  out.ptr_ = fresh;
  out.capacity_ = v.size_;
  return {};
}

double value::as_double() const noexcept {
  if (kind_ != kind::number) return 0;
  if (size_ == 0) return static_cast<double>(int_);
  double d = 0;
  const char* p = static_cast<const char*>(ptr_);
  std::from_chars(p, p + size_, d);
  return d;
}

std::span<value> value::items() noexcept {
  if (kind_ != kind::array || size_ == 0) return {};
  return {static_cast<value*>(const_cast<void*>(ptr_)), size_};
}

std::span<const value> value::items() const noexcept {
  if (kind_ != kind::array || size_ == 0) return {};
  return {static_cast<const value*>(ptr_), size_};
}

std::span<member> value::members() noexcept {
  if (kind_ != kind::object || size_ == 0) return {};
  return {static_cast<member*>(const_cast<void*>(ptr_)), size_};
}

std::span<const member> value::members() const noexcept {
  if (kind_ != kind::object || size_ == 0) return {};
  return {static_cast<const member*>(ptr_), size_};
}

namespace {

// n bytes at a and b are the same. Keys are short: up to 16 bytes are compared
// in at most two overlapping loads each, inline (a call of memcmp per candidate
// key cost more than the compare).
inline bool same_bytes(const char* a, const char* b, std::size_t n) noexcept {
  if (n > 16) return std::memcmp(a, b, n) == 0;
  if (n >= 8) {
    std::uint64_t a0, b0, a1, b1;
    std::memcpy(&a0, a, 8);
    std::memcpy(&b0, b, 8);
    std::memcpy(&a1, a + n - 8, 8);
    std::memcpy(&b1, b + n - 8, 8);
    return ((a0 ^ b0) | (a1 ^ b1)) == 0;
  }
  if (n >= 4) {
    std::uint32_t a0, b0, a1, b1;
    std::memcpy(&a0, a, 4);
    std::memcpy(&b0, b, 4);
    std::memcpy(&a1, a + n - 4, 4);
    std::memcpy(&b1, b + n - 4, 4);
    return ((a0 ^ b0) | (a1 ^ b1)) == 0;
  }
  // 0 to 3 bytes: the first, the middle and the last cover them.
  return n == 0 || (a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1]);
}

}  // namespace

std::size_t value::index_of(std::string_view key, std::size_t hint) const noexcept {
  if (kind_ != kind::object || size_ == 0) return npos;
  const auto* m = static_cast<const member*>(ptr_);
  // Copies of a tree share their keys (the diff looks up the merged pod's keys
  // in the pod as received): the same bytes need no compare.
  auto is_key = [&](std::string_view k) noexcept {
    return k.size() == key.size() && (k.data() == key.data() || same_bytes(k.data(), key.data(), k.size()));
  };
  if (hint >= size_) hint = 0;
  for (std::size_t i = hint; i < size_; ++i)
    if (is_key(m[i].key)) return i;
  for (std::size_t i = 0; i < hint; ++i)
    if (is_key(m[i].key)) return i;
  return npos;
}

value* value::find(std::string_view key, std::size_t hint) noexcept {
  const std::size_t i = index_of(key, hint);
  return i == npos ? nullptr : &members()[i].v;
}

const value* value::find(std::string_view key, std::size_t hint) const noexcept {
  const std::size_t i = index_of(key, hint);
  return i == npos ? nullptr : &members()[i].v;
}

error value::reserve(arena& a, std::size_t n) noexcept {
  if (n <= capacity_) return {};
  if (n > max_entries) return fail(errc::too_large, "too many entries");
  if (kind_ == kind::array) {
    auto* fresh = grow(a, static_cast<const value*>(ptr_), size_, capacity_, n);
    if (fresh == nullptr) return out_of_memory();
    ptr_ = fresh;
  } else if (kind_ == kind::object) {
    auto* fresh = grow(a, static_cast<const member*>(ptr_), size_, capacity_, n);
    if (fresh == nullptr) return out_of_memory();
    ptr_ = fresh;
  }
  return {};
}

error value::push_back(arena& a, const value& v) noexcept { return insert(a, size_, v); }

error value::insert(arena& a, std::size_t index, const value& v) noexcept {
  if (kind_ != kind::array || index > size_) return fail(errc::type_conflict, "insert into a non-array");
  if (size_ == capacity_) {
    const value copy = v;  // v may live in the storage being replaced
    if (auto err = reserve(a, std::size_t{size_} + 1)) return err;
    return insert(a, index, copy);
  }
  auto* items = static_cast<value*>(const_cast<void*>(ptr_));
  std::memmove(static_cast<void*>(items + index + 1), static_cast<const void*>(items + index),
               sizeof(value) * (size_ - index));
  items[index] = v;
  ++size_;
  return {};
}

void value::erase(std::size_t index) noexcept {
  if ((kind_ != kind::array && kind_ != kind::object) || index >= size_) return;
  if (kind_ == kind::array) {
    auto* items = static_cast<value*>(const_cast<void*>(ptr_));
    std::memmove(static_cast<void*>(items + index), static_cast<const void*>(items + index + 1),
                 sizeof(value) * (size_ - index - 1));
  } else {
    auto* ms = static_cast<member*>(const_cast<void*>(ptr_));
    std::memmove(static_cast<void*>(ms + index), static_cast<const void*>(ms + index + 1),
                 sizeof(member) * (size_ - index - 1));
  }
  --size_;
}

error value::append_member(arena& a, std::string_view key, const value& v) noexcept {
  if (kind_ != kind::object) return fail(errc::type_conflict, "member of a non-object");
  if (size_ == capacity_) {
    const value copy = v;
    if (auto err = reserve(a, std::size_t{size_} + 1)) return err;
    return append_member(a, key, copy);
  }
  auto* ms = static_cast<member*>(const_cast<void*>(ptr_));
  ms[size_].key = key;
  ms[size_].v = v;
  ++size_;
  return {};
}

error value::set(arena& a, std::string_view key, const value& v, value** slot) noexcept {
  if (kind_ != kind::object) return fail(errc::type_conflict, "member of a non-object");
  if (value* existing = find(key)) {
    *existing = v;
    if (slot != nullptr) *slot = existing;
    return {};
  }
  if (auto err = append_member(a, key, v)) return err;
  if (slot != nullptr) *slot = &members()[size_ - 1].v;
  return {};
}

bool value::erase(std::string_view key) noexcept {
  const std::size_t i = index_of(key);
  if (i == npos) return false;
  erase(i);
  return true;
}

void value::clear() noexcept {
  if (kind_ == kind::array || kind_ == kind::object) size_ = 0;
}

bool numbers_equal(const value& a, const value& b) noexcept {
  if (a.is_integer() && b.is_integer()) return a.as_integer() == b.as_integer();
  const bool a_int_text = !a.is_float_literal();
  const bool b_int_text = !b.is_float_literal();
  if (a_int_text && b_int_text) {
    // Integer literals outside int64: compare the digits exactly.
    if (a.is_integer() != b.is_integer()) return false;
    bool an = false, bn = false;
    const std::string_view ad = integer_digits(a.number_text(), an);
    const std::string_view bd = integer_digits(b.number_text(), bn);
    return an == bn && ad == bd;
  }
  return a.as_double() == b.as_double();
}

bool equal(const value& a, const value& b) noexcept { return equal_at(a, b); }

bool identical(const value& a, const value& b) noexcept {
  if (a.type() != b.type()) return false;
  switch (a.type()) {
    case kind::null: return true;
    case kind::boolean: return a.as_bool() == b.as_bool();
    case kind::number:
      return a.number_text().data() == b.number_text().data() && a.number_text().size() == b.number_text().size() &&
             a.is_integer() == b.is_integer() && (!a.is_integer() || a.as_integer() == b.as_integer());
    case kind::string:
      return a.as_string().data() == b.as_string().data() && a.as_string().size() == b.as_string().size();
    case kind::array: {
      const auto ai = a.items(), bi = b.items();
      if (ai.size() != bi.size()) return false;
      if (ai.data() == bi.data()) return true;
      for (std::size_t i = 0; i < ai.size(); ++i)
        if (!identical(ai[i], bi[i])) return false;
      return true;
    }
    case kind::object: {
      const auto am = a.members(), bm = b.members();
      if (am.size() != bm.size()) return false;
      if (am.data() == bm.data()) return true;
      for (std::size_t i = 0; i < am.size(); ++i)
        if (am[i].key.data() != bm[i].key.data() || am[i].key.size() != bm[i].key.size() ||
            !identical(am[i].v, bm[i].v))
          return false;
      return true;
    }
  }
  return false;
}

namespace {

error copy_at(const value& v, arena& a, value& out, bool copy_strings, std::size_t depth) noexcept;

// deep_copy sharing strings: each array and object is copied whole in one
// step (keys, scalars and prepared text come along), then only the arrays and
// objects among its children are replaced by copies; a pod is mostly scalars,
// so most entries are never visited one by one.
error copy_structure(const value& v, arena& a, value& out, std::size_t depth) noexcept {
  if (auto err = value::shallow_copy(v, a, out)) return err;
  // A child one level down is where copy_at would refuse the depth, scalar or not.
  if (depth + 1 > max_depth && !out.empty()) return fail(errc::too_deep, "JSON nested deeper than 512 levels");
  auto replace = [&](value& child) noexcept -> error {
    if (!child.is_array() && !child.is_object()) return {};
    value c;
    if (auto err = copy_structure(child, a, c, depth + 1)) return err;
    child = c;
    return {};
  };
  if (out.is_array()) {
    for (value& item : out.items())
      if (auto err = replace(item)) return err;
  } else {
    for (member& m : out.members())
      if (auto err = replace(m.v)) return err;
  }
  return {};
}

error copy_at(const value& v, arena& a, value& out, bool copy_strings, std::size_t depth) noexcept {
  if (depth > max_depth) return fail(errc::too_deep, "JSON nested deeper than 512 levels");
  switch (v.type()) {
    case kind::string:
      if (copy_strings) return value::string_copy(v.as_string(), a, out);
      out = v;
      return {};
    case kind::number:
      if (copy_strings && !v.number_text().empty()) return value::number(v.number_text(), out, &a);
      out = v;
      return {};
    case kind::array: {
      if (!copy_strings) return copy_structure(v, a, out, depth);
      out = value::array();
      if (auto err = out.reserve(a, v.size())) return err;
      for (const value& item : v.items()) {
        value c;
        if (auto err = copy_at(item, a, c, copy_strings, depth + 1)) return err;
        if (auto err = out.push_back(a, c)) return err;
      }
      if (!copy_strings) out.set_prepared(v.prepared());
      return {};
    }
    case kind::object: {
      if (!copy_strings) return copy_structure(v, a, out, depth);
      out = value::object();
      if (auto err = out.reserve(a, v.size())) return err;
      for (const member& m : v.members()) {
        std::string_view key = m.key;
        if (copy_strings && !key.empty()) {
          bool ok = true;
          key = a.copy(key, ok);
          if (!ok) return out_of_memory();
        }
        value c;
        if (auto err = copy_at(m.v, a, c, copy_strings, depth + 1)) return err;
        if (auto err = out.append_member(a, key, c)) return err;
      }
      if (!copy_strings) out.set_prepared(v.prepared());
      return {};
    }
    default:
      out = v;
      return {};
  }
}

std::size_t depth_at(const value& v, std::size_t limit, std::size_t here) noexcept {
  if (!v.is_array() && !v.is_object()) return here;
  if (here + 1 > limit) return here + 1;
  std::size_t deepest = here + 1;
  if (v.is_array()) {
    for (const value& item : v.items()) deepest = std::max(deepest, depth_at(item, limit, here + 1));
  } else {
    for (const member& m : v.members()) deepest = std::max(deepest, depth_at(m.v, limit, here + 1));
  }
  return deepest;
}

}  // namespace

error deep_copy(const value& v, arena& a, value& out, bool copy_strings) noexcept {
  return copy_at(v, a, out, copy_strings, 0);
}

error from_simdjson(simdjson::dom::element e, arena& a, value& out, strings mode) noexcept {
  converter c{a, mode};
  return c.convert(e, out, 0);
}

error from_simdjson(simdjson::dom::element e, arena& a, value& out, strings mode,
                    std::span<const omitted_member> omit, bool keys_unique) noexcept {
  converter c{a, mode, omit, keys_unique};
  return c.convert(e, out, 0);
}

error parse(std::string_view text, simdjson::dom::parser& parser, arena& a, value& out) noexcept {
  const std::size_t padded = text.size() + simdjson::SIMDJSON_PADDING;
  if (padded < text.size()) return fail(errc::too_large, "JSON text too long");
  auto* buf = static_cast<char*>(a.allocate(padded, 1));
  if (buf == nullptr) return out_of_memory();
  std::memcpy(buf, text.data(), text.size());
  std::memset(buf + text.size(), 0, simdjson::SIMDJSON_PADDING);
  simdjson::dom::element root;
  if (parser.parse(buf, text.size(), false).get(root) != simdjson::SUCCESS)
    return fail(errc::invalid_json, "invalid JSON");
  return from_simdjson(root, a, out, strings::copy);
}

std::size_t depth(const value& v, std::size_t limit) noexcept { return depth_at(v, limit, 0); }

std::string_view message(arena& a, std::string_view prefix, std::string_view detail) noexcept {
  auto* p = static_cast<char*>(a.allocate(prefix.size() + detail.size(), 1));
  if (p == nullptr) return prefix;
  std::memcpy(p, prefix.data(), prefix.size());
  if (!detail.empty()) std::memcpy(p + prefix.size(), detail.data(), detail.size());
  return {p, prefix.size() + detail.size()};
}

}  // namespace meshinject::core::json
