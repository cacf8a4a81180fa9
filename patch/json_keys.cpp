#include "patch/json_keys.hpp"

#include <algorithm>
#include <charconv>
#include <numeric>

#include "patch/json_access.hpp"
#include "patch/json_text.hpp"

namespace meshinject::patch {
namespace {

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

key_scan_result key_scan::scan(element root, bool keys_may_hold_nul) {
  key_scan_result result;
  keys_.clear();
  check_nul_ = keys_may_hold_nul;
  walk(root, result);
  return result;
}

// One pass: an object's keys are collected while its members' values are walked
// (their keys go above and come off again), then checked together.
void key_scan::walk(element e, key_scan_result& result) {
  if (e.type() == element_type::ARRAY) {
    for (element item : as_array(e)) {
      const element_type t = item.type();
      if (t == element_type::OBJECT || t == element_type::ARRAY) walk(item, result);
    }
    return;
  }
  if (e.type() != element_type::OBJECT) return;
  const std::size_t base = keys_.size();
  for (auto member : as_object(e)) {
    if (check_nul_ && member.key.find('\0') != std::string_view::npos) result.nul_in_key = true;
    keys_.push_back({fingerprint(member.key), member.key});
    const element_type t = member.value.type();
    if (t == element_type::OBJECT || t == element_type::ARRAY) walk(member.value, result);
  }
  if (!result.duplicate && has_repeat(keys_.begin() + static_cast<std::ptrdiff_t>(base), keys_.end()))
    result.duplicate = true;
  keys_.resize(base);
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
