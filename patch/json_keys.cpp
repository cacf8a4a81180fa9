#include "patch/json_keys.hpp"

#include <algorithm>
#include <bit>
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

// Up to this many members an object's keys are checked as they come: a 64-bit
// set with one bit per key, and a comparison with the earlier keys (read again
// from the tape) only when a key's bit is already set. Larger objects gather
// their keys when they close and sort them.
constexpr std::size_t incremental_limit = 16;

// Length and the first and last four bytes (all of a shorter key): most
// different keys differ here, and it costs two loads.
std::uint64_t fingerprint(std::string_view k) noexcept {
  std::uint32_t head = 0, tail = 0;
  if (k.size() >= 4) {
    std::memcpy(&head, k.data(), sizeof head);
    std::memcpy(&tail, k.data() + k.size() - sizeof tail, sizeof tail);
  } else {
    for (const char c : k) head = head << 8 | static_cast<unsigned char>(c);
  }
  return std::uint64_t{head ^ std::rotl(tail, 16)} << 32 | k.size();
}

// One of 64 bits per fingerprint: with at most 16 keys an object sees few
// collisions, and a key whose bit is clear repeats nothing before it.
std::uint64_t key_bit(std::uint64_t fingerprint) noexcept {
  return std::uint64_t{1} << ((fingerprint * 0x9E3779B97F4A7C15u) >> 58);
}

// A string on the tape: its offset in the document's string buffer, where a
// 32-bit length precedes the unescaped bytes.
std::string_view string_at(const std::uint8_t* strings, std::uint64_t offset) noexcept {
  std::uint32_t length;
  std::memcpy(&length, strings + offset, sizeof length);
  return {reinterpret_cast<const char*>(strings + offset + sizeof length), length};
}

template <typename It>
bool has_repeat_sorted(It first, It last) {
  std::sort(first, last, [](const auto& a, const auto& b) {
    return a.fingerprint != b.fingerprint ? a.fingerprint < b.fingerprint : a.key < b.key;
  });
  return std::adjacent_find(first, last, [](const auto& a, const auto& b) {
           return a.fingerprint == b.fingerprint && a.key == b.key;
         }) != last;
}

// The tape index just past the value at `i`: a container's opening word holds
// the index past its closing word, a number's value is the next word, and
// strings, true, false and null are one word.
std::size_t past_value(const std::uint64_t* tape, std::size_t i) noexcept {
  switch (static_cast<char>(tape[i] >> 56)) {
    case '{':
    case '[': return static_cast<std::uint32_t>(tape[i]);
    case 'l':
    case 'u':
    case 'd': return i + 2;
    default: return i + 1;
  }
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

// Whether the key at tape index `at` repeats one of the object's members from
// `first` (the index of its first key) up to `at`. Only when a key's bit is
// already set, so rarely more than once per object.
bool key_scan::repeats_earlier(const std::uint64_t* tape, const std::uint8_t* strings, std::size_t first,
                               std::size_t at) noexcept {
  const std::string_view key = string_at(strings, tape[at] & simdjson::internal::JSON_VALUE_MASK);
  for (std::size_t i = first; i != at; i = past_value(tape, i + 1))
    if (string_at(strings, tape[i] & simdjson::internal::JSON_VALUE_MASK) == key) return true;
  return false;
}

// Whether an object of more than `incremental_limit` members, from `first` to
// `close`, repeats a key: its keys are gathered and sorted.
bool key_scan::sorted_repeat(const std::uint64_t* tape, const std::uint8_t* strings, std::size_t first,
                             std::size_t close) {
  keys_.clear();
  for (std::size_t i = first; i != close; i = past_value(tape, i + 1)) {
    const std::string_view key = string_at(strings, tape[i] & simdjson::internal::JSON_VALUE_MASK);
    keys_.push_back({fingerprint(key), key});
  }
  return has_repeat_sorted(keys_.begin(), keys_.end());
}

key_scan_result key_scan::scan(element root, bool keys_may_hold_nul, scan_extent extent) {
  key_scan_result result;
  scopes_.clear();
  const simdjson::internal::tape_ref at = tape_reader::of(root);
  if (!at.usable()) return result;
  const std::uint64_t* tape = at.doc->tape.get();
  const std::uint8_t* strings = at.doc->string_buf.get();
  const auto type_at = [tape](std::size_t i) { return static_cast<char>(tape[i] >> 56); };
  // An array's items are objects read whole: no reader picks some of a list.
  const auto open = [&](std::size_t i, role r) {
    const auto past_close = static_cast<std::uint32_t>(tape[i]);
    scopes_.push_back({0, static_cast<std::uint32_t>(i + 1), static_cast<std::uint32_t>(i + 1), past_close - 1, 0,
                       type_at(i) == '[' ? role::array : r});
  };
  // A key with NUL is refused wherever it is, so a text that may hold one is
  // walked whole; without one, the parts no reader sees are jumped over.
  const bool as_read = extent == scan_extent::as_read && !keys_may_hold_nul;
  if (const char t = type_at(at.json_index); t == '{' || t == '[')
    open(at.json_index, as_read ? role::review : role::object);
  while (!scopes_.empty()) {
    // The members of the innermost open scope, its state kept in locals until a
    // child is opened (which may move `scope`) or its closing word is reached.
    open_scope& scope = scopes_.back();
    const role r = scope.r;
    const std::size_t first = scope.first, close = scope.close;
    std::size_t member = scope.next;
    std::uint64_t seen = scope.seen;
    std::uint32_t keys = scope.keys;
    bool opened_child = false;
    while (member != close) {
      std::size_t value = member;
      role child = role::object;
      if (r != role::array) {
        // In an object the words alternate: a key (always a string), then its value.
        const std::string_view key = string_at(strings, tape[value] & simdjson::internal::JSON_VALUE_MASK);
        if (keys_may_hold_nul && key.find('\0') != std::string_view::npos) {
          result.nul_in_key = true;
          return result;  // refused whatever else it holds
        }
        if (keys++ < incremental_limit) {
          const std::uint64_t bit = key_bit(fingerprint(key));
          if ((seen & bit) != 0 && repeats_earlier(tape, strings, first, member)) {
            result.duplicate = true;
            if (!keys_may_hold_nul) return result;  // nothing more to learn
          }
          seen |= bit;
        }
        if (r != role::object) child = role_of_member(r, key);
        ++value;
      }
      const char type = type_at(value);
      if (type == '{' || type == '[') {
        member = static_cast<std::uint32_t>(tape[value]);  // resume past the child
        // Empty ones (managedFields is full of `{}`) hold nothing to check.
        if (member != value + 2 && child != role::unread) {
          scope.next = static_cast<std::uint32_t>(member);
          scope.seen = seen;
          scope.keys = keys;
          open(value, child);
          opened_child = true;
          break;
        }
      } else {
        // A number's value is the next word; strings, true, false and null are one.
        member = value + (type == 'l' || type == 'u' || type == 'd' ? 2 : 1);
      }
    }
    if (opened_child) continue;
    if (keys > incremental_limit && sorted_repeat(tape, strings, first, close)) {
      result.duplicate = true;
      if (!keys_may_hold_nul) return result;  // nothing more to learn
    }
    scopes_.pop_back();
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
