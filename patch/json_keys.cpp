#include "patch/json_keys.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <numeric>

#include "patch/json_access.hpp"
#include "patch/json_text.hpp"

namespace meshinject::patch {
struct tape_access;
}

// dom::element keeps its place on the tape private, but befriends every
// specialisation of simdjson's string_builder template; this one only reads that
// place, so the scan can start at any element (a review's root, a test's subtree).
template <>
class simdjson::internal::string_builder<meshinject::patch::tape_access> {
 public:
  static simdjson::internal::tape_ref of(const simdjson::dom::element& e) noexcept { return e.tape; }
};

namespace meshinject::patch {
namespace {

using tape_reader = simdjson::internal::string_builder<tape_access>;

using simdjson::dom::element;
using simdjson::dom::element_type;

// Below this many members a pairwise comparison is cheaper than sorting.
constexpr std::size_t pairwise_limit = 16;

std::uint64_t fingerprint(std::string_view k) noexcept {
  std::uint64_t f = k.size();
  if (!k.empty()) {
    f |= std::uint64_t{static_cast<unsigned char>(k.front())} << 32;
    f |= std::uint64_t{static_cast<unsigned char>(k[k.size() / 2])} << 40;
    f |= std::uint64_t{static_cast<unsigned char>(k.back())} << 48;
  }
  return f;
}

// A string on the tape: its offset in the document's string buffer, where a
// 32-bit length precedes the unescaped bytes.
std::string_view string_at(const std::uint8_t* strings, std::uint64_t offset) noexcept {
  std::uint32_t length;
  std::memcpy(&length, strings + offset, sizeof length);
  return {reinterpret_cast<const char*>(strings + offset + sizeof length), length};
}

template <typename It>
bool has_repeat(It first, It last) {
  const auto n = static_cast<std::size_t>(last - first);
  if (n <= pairwise_limit) {
    for (It i = first; i != last; ++i)
      for (It j = i + 1; j != last; ++j)
        if (i->fingerprint == j->fingerprint && i->key == j->key) return true;
    return false;
  }
  std::sort(first, last, [](const auto& a, const auto& b) {
    return a.fingerprint != b.fingerprint ? a.fingerprint < b.fingerprint : a.key < b.key;
  });
  return std::adjacent_find(first, last, [](const auto& a, const auto& b) {
           return a.fingerprint == b.fingerprint && a.key == b.key;
         }) != last;
}

void write_number(element e, std::string& out) {
  char buf[32];
  std::to_chars_result r{};
  switch (e.type()) {
    case element_type::INT64: r = std::to_chars(buf, buf + sizeof buf, e.get_int64().value_unsafe()); break;
    case element_type::UINT64: r = std::to_chars(buf, buf + sizeof buf, e.get_uint64().value_unsafe()); break;
    default: {
      r = std::to_chars(buf, buf + sizeof buf, e.get_double().value_unsafe());
      // A double stays a double when read again (8080.0 is not the integer 8080).
      if (std::find_if(buf, r.ptr, [](char c) { return c == '.' || c == 'e' || c == 'n' || c == 'i'; }) == r.ptr) {
        out.append(buf, r.ptr);
        out += ".0";
        return;
      }
      break;
    }
  }
  out.append(buf, r.ptr);
}

}  // namespace

// What a member's value is to a reader of an AdmissionReview, from the object
// it sits in and its key (the rule is in the header).
key_scan::role key_scan::role_of_member(role parent, std::string_view key) noexcept {
  switch (parent) {
    case role::review: return key == "request" ? role::request : role::unread;
    case role::request:
      if (key == "object") return role::pod;
      return key == "kind" ? role::object : role::unread;
    case role::pod:
      if (key == "metadata") return role::pod_metadata;
      return key == "status" ? role::unread : role::object;
    case role::pod_metadata: return key == "managedFields" ? role::unread : role::object;
    default: return role::object;
  }
}

key_scan_result key_scan::scan(element root, bool keys_may_hold_nul, scan_extent extent) {
  key_scan_result result;
  keys_.clear();
  scopes_.clear();
  const simdjson::internal::tape_ref at = tape_reader::of(root);
  if (!at.usable()) return result;
  const std::uint64_t* tape = at.doc->tape.get();
  const std::uint8_t* strings = at.doc->string_buf.get();
  const auto type_at = [tape](std::size_t i) { return static_cast<char>(tape[i] >> 56); };
  // An object's or array's first word holds the index just past its closing word.
  // An array's items are objects read whole: no reader picks some of a list.
  const auto open = [&](std::size_t i, role r) {
    const auto past_close = static_cast<std::uint32_t>(tape[i]);
    scopes_.push_back({static_cast<std::uint32_t>(i + 1), past_close - 1, static_cast<std::uint32_t>(keys_.size()),
                       type_at(i) == '[' ? role::array : r});
  };
  // A key with NUL is refused wherever it is, so a text that may hold one is
  // walked whole; without one, the parts no reader sees are jumped over.
  const bool as_read = extent == scan_extent::as_read && !keys_may_hold_nul;
  if (const char t = type_at(at.json_index); t == '{' || t == '[')
    open(at.json_index, as_read ? role::review : role::object);
  while (!scopes_.empty()) {
    open_scope& scope = scopes_.back();
    if (scope.next == scope.close) {
      if (scope.r != role::array && !result.duplicate && keys_.size() - scope.keys_base > 1 &&
          has_repeat(keys_.begin() + static_cast<std::ptrdiff_t>(scope.keys_base), keys_.end()))
        result.duplicate = true;
      keys_.resize(scope.keys_base);
      scopes_.pop_back();
      continue;
    }
    std::size_t value = scope.next;
    role child = role::object;
    if (scope.r != role::array) {
      // In an object the words alternate: a key (always a string), then its value.
      const std::string_view key = string_at(strings, tape[value] & simdjson::internal::JSON_VALUE_MASK);
      if (keys_may_hold_nul && key.find('\0') != std::string_view::npos) {
        result.nul_in_key = true;
        return result;  // refused whatever else it holds
      }
      keys_.push_back({fingerprint(key), key});
      if (scope.r != role::object) child = role_of_member(scope.r, key);
      ++value;
    }
    switch (type_at(value)) {
      case '{':
      case '[':
        scope.next = static_cast<std::uint32_t>(tape[value]);  // resume past the child
        // Empty ones (managedFields is full of `{}`) hold nothing to check.
        if (scope.next != value + 2 && child != role::unread) open(value, child);  // may move `scope`
        break;
      case 'l':
      case 'u':
      case 'd': scope.next = static_cast<std::uint32_t>(value + 2); break;  // the number is the next word
      default: scope.next = static_cast<std::uint32_t>(value + 1); break;   // strings, true, false, null
    }
  }
  return result;
}

void write_last_wins(element e, std::string& out) {
  switch (e.type()) {
    case element_type::OBJECT: {
      std::vector<simdjson::dom::key_value_pair> members;
      for (auto m : as_object(e)) members.push_back(m);
      // Per key, the member with the highest index survives.
      std::vector<std::size_t> order(members.size());
      std::iota(order.begin(), order.end(), std::size_t{0});
      std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        return members[a].key != members[b].key ? members[a].key < members[b].key : a < b;
      });
      std::vector<bool> kept(members.size(), false);
      for (std::size_t k = 0; k < order.size(); ++k)
        if (k + 1 == order.size() || members[order[k + 1]].key != members[order[k]].key) kept[order[k]] = true;
      out += '{';
      bool first = true;
      for (std::size_t i = 0; i < members.size(); ++i) {
        if (!kept[i]) continue;
        if (!first) out += ',';
        first = false;
        append_json_string(out, members[i].key);
        out += ':';
        write_last_wins(members[i].value, out);
      }
      out += '}';
      return;
    }
    case element_type::ARRAY: {
      out += '[';
      bool first = true;
      for (element item : as_array(e)) {
        if (!first) out += ',';
        first = false;
        write_last_wins(item, out);
      }
      out += ']';
      return;
    }
    case element_type::STRING: append_json_string(out, e.get_string().value_unsafe()); return;
    case element_type::BOOL: out += e.get_bool().value_unsafe() ? "true" : "false"; return;
    case element_type::NULL_VALUE: out += "null"; return;
    default: write_number(e, out); return;
  }
}

}  // namespace meshinject::patch
