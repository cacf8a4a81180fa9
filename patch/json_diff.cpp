#include "patch/json_diff.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <cstring>

#include "core/byte_words.hpp"
#include "patch/json_text.hpp"
#include "patch/json_tree_writer.hpp"

namespace meshinject::patch {
namespace {

namespace json = core::json;
using json::errc;

constexpr std::size_t max_lcs_cells = 256 * 256;
constexpr std::string_view default_identity = "name";

// An object's identity in a list: its merge key's value, when it has one.
const json::value* identity(const json::value& v, std::string_view key) noexcept {
  if (!v.is_object()) return nullptr;
  const json::value* k = v.find(key);
  return k != nullptr && !k->is_array() && !k->is_object() ? k : nullptr;
}

// Two items correspond: the same identity, or (without identities) equal.
bool same(const json::value& x, const json::value& y, std::string_view key) noexcept {
  const json::value* ix = identity(x, key);
  const json::value* iy = identity(y, key);
  if (ix != nullptr && iy != nullptr) return json::equal(*ix, *iy);
  return json::equal(x, y);
}

// The same storage on both sides (a subtree the caller's b shares with a):
// equal without looking inside.
bool shared(const json::value& x, const json::value& y) noexcept {
  if (x.type() != y.type() || x.size() != y.size() || x.empty()) return false;
  return x.is_object() ? x.members().data() == y.members().data()
                       : x.is_array() && x.items().data() == y.items().data();
}

// What a key's bytes need in a pointer written as JSON text: nothing (printable
// ASCII), RFC 6901's `~0`/`~1` (which are plain JSON), or JSON escaping.
enum key_byte : std::uint8_t { plain_byte, pointer_byte, json_byte };

// Eight key bytes at a time, as one word (core/byte_words.hpp; the bytes'
// order in it does not matter): each mask below is nonzero exactly when some
// byte of `x` is such a byte.
//
// Control bytes, DEL, `"`, `\` and every byte of a UTF-8 sequence (checked,
// and escaped when invalid, by the JSON escaper).
constexpr std::uint64_t json_bytes(std::uint64_t x) noexcept {
  return core::bytes_below(x, 0x20) | (x & core::byte_highs) | core::bytes_equal(x, '"') |
         core::bytes_equal(x, '\\') | core::bytes_equal(x, 0x7f);
}
constexpr std::uint64_t pointer_bytes(std::uint64_t x) noexcept {
  return core::bytes_equal(x, '~') | core::bytes_equal(x, '/');
}

// The up to seven bytes of a short key as one word, the rest 'a' (plain).
std::uint64_t load_short(const char* p, std::size_t n) noexcept {
  return core::short_word_at(p, n, core::byte_ones * 'a');
}

// The most any byte of `key` needs: nearly every key of a pod is plain, and
// annotation and label keys (`prometheus.io/port`) need only `~1`.
key_byte key_needs(std::string_view key) noexcept {
  const char* p = key.data();
  const std::size_t n = key.size();
  std::uint64_t json = 0;
  std::uint64_t pointer = 0;
  auto scan = [&](std::uint64_t x) noexcept {
    json |= json_bytes(x);
    pointer |= pointer_bytes(x);
  };
  if (n < 8) {
    scan(load_short(p, n));
  } else {
    for (std::size_t i = 0; i + 8 <= n; i += 8) scan(core::word_at(p + i));
    scan(core::word_at(p + n - 8));  // the last bytes, overlapping the words before
  }
  return json != 0 ? json_byte : pointer != 0 ? pointer_byte : plain_byte;
}

// `key` with RFC 6901's escapes, in runs between the bytes that need one
// (eight bytes without one are passed at a time).
void append_pointer_escaped(std::string& out, std::string_view key) {
  std::size_t from = 0;
  std::size_t i = 0;
  while (i < key.size()) {
    if (i + 8 <= key.size() && pointer_bytes(core::word_at(key.data() + i)) == 0) {
      i += 8;
      continue;
    }
    if (key[i] == '~' || key[i] == '/') {
      out.append(key.data() + from, i - from);
      out += key[i] == '~' ? "~0" : "~1";
      from = i + 1;
    }
    ++i;
  }
  out.append(key.data() + from, key.size() - from);
}

}  // namespace

struct json_differ::step {
  enum kind : std::uint8_t { match, change, del, ins } k;
  std::uint32_t i;  // index into a's middle (match, change, del)
  std::uint32_t j;  // index into b's middle (match, change, ins)
};

json::error json_differ::diff(const json::value& a, const json::value& b, const smp::type_meta* type,
                              core::arena& arena, std::string& out) {
  out_ = &out;
  arena_ = &arena;
  segments_.clear();
  path_.clear();
  spelled_ = 0;
  ops_ = 0;
  out += '[';
  const json::error err = value(a, b, nullptr, type, 0);
  out += ']';
  return err;
}

void json_differ::pop() noexcept {
  segments_.pop_back();
  if (spelled_ > segments_.size()) {
    spelled_ = segments_.size();
    path_.resize(marks_[spelled_]);
  }
}

void json_differ::spell_path() {
  if (marks_.size() < segments_.size()) marks_.resize(segments_.size());
  for (; spelled_ < segments_.size(); ++spelled_) {
    marks_[spelled_] = path_.size();
    path_ += '/';
    const segment& s = segments_[spelled_];
    if (s.is_index) {
      char buf[24];
      const auto r = std::to_chars(buf, buf + sizeof buf, s.index);
      path_.append(buf, static_cast<std::size_t>(r.ptr - buf));
      continue;
    }
    switch (key_needs(s.key)) {
      case plain_byte:
        path_ += s.key;
        break;
      case pointer_byte:
        append_pointer_escaped(path_, s.key);
        break;
      case json_byte:
        key_scratch_.clear();
        append_pointer_escaped(key_scratch_, s.key);
        append_json_escaped(path_, key_scratch_);
        break;
    }
  }
}

void json_differ::write_op(std::string_view op, const json::value* v) {
  spell_path();
  std::string& out = *out_;
  if (ops_ > 0) out += ',';
  out += R"({"op":")";
  out += op;
  out += R"(","path":")";
  out += path_;
  out += '"';
  if (v != nullptr) {
    out += R"(,"value":)";
    append_json(out, *v);
  }
  out += '}';
  ++ops_;
}

json::error json_differ::value(const json::value& a, const json::value& b, const smp::field_meta* field,
                               const smp::type_meta* type, std::size_t depth) {
  if (depth > json::max_depth) return json::error{errc::too_deep, "JSON nested deeper than 512 levels"};
  if (shared(a, b)) return {};
  if (a.is_object() && b.is_object()) return object(a, b, type, depth);
  if (a.is_array() && b.is_array()) return array(a, b, field, depth);
  if (!json::equal(a, b)) write_op("replace", &b);
  return {};
}

json::error json_differ::object(const json::value& a, const json::value& b, const smp::type_meta* type,
                                std::size_t depth) {
  std::size_t hint = 0;
  for (const json::member& m : b.members()) {
    const std::size_t at = a.index_of(m.key, hint);
    push_key(m.key);
    if (at == json::value::npos) {
      write_op("add", &m.v);
    } else {
      const smp::field_meta* f = smp::lookup(type, m.key);
      if (auto err = value(a.members()[at].v, m.v, f, f != nullptr ? f->type : nullptr, depth + 1)) return err;
      hint = at + 1;
    }
    pop();
  }
  hint = 0;
  for (const json::member& m : a.members()) {
    const std::size_t at = b.index_of(m.key, hint);
    if (at != json::value::npos) {
      hint = at + 1;
      continue;
    }
    push_key(m.key);
    write_op("remove", nullptr);
    pop();
  }
  return {};
}

json::error json_differ::array(const json::value& a, const json::value& b, const smp::field_meta* field,
                               std::size_t depth) {
  const auto ai = a.items();
  const auto bi = b.items();
  std::size_t prefix = 0;
  while (prefix < ai.size() && prefix < bi.size() && json::equal(ai[prefix], bi[prefix])) ++prefix;
  // With equal sizes the last pair the suffix could take is the one the prefix
  // stopped at, already found different (a changed container compares whole).
  std::size_t suffix_limit = std::min(ai.size(), bi.size()) - prefix;
  if (ai.size() == bi.size() && suffix_limit > 0) --suffix_limit;
  std::size_t suffix = 0;
  while (suffix < suffix_limit && json::equal(ai[ai.size() - 1 - suffix], bi[bi.size() - 1 - suffix])) ++suffix;
  const std::size_t na = ai.size() - prefix - suffix;
  const std::size_t nb = bi.size() - prefix - suffix;
  if (na == 0 && nb == 0) return {};
  const std::string_view key =
      field != nullptr && !field->merge_key.empty() ? field->merge_key : default_identity;
  step* steps = nullptr;
  std::size_t count = 0;
  if (auto err = align(ai.data() + prefix, na, bi.data() + prefix, nb, key, steps, count)) return err;
  return apply_steps(ai.data() + prefix, bi.data() + prefix, prefix, steps, count, key,
                     field != nullptr ? field->type : nullptr, depth);
}

// The alignment of a[0, na) with b[0, nb): a longest common subsequence of
// corresponding items, then each run between two matches with its removed and
// added items paired into changes.
json::error json_differ::align(const json::value* a, std::size_t na, const json::value* b, std::size_t nb,
                               std::string_view key, step*& steps, std::size_t& count) {
  steps = arena_->allocate_array<step>(na + nb + 1);
  if (steps == nullptr) return json::error{errc::out_of_memory, "out of memory for the JSON Patch"};
  count = 0;
  std::size_t i = 0, j = 0;
  const bool lcs = na * nb <= max_lcs_cells;
  if (lcs) {
    // Suffix table: cell (i, j) holds 2 * LCS(a[i..], b[j..]) + (a[i] ~ b[j]).
    const std::size_t w = nb + 1;
    lcs_.assign((na + 1) * w, 0);
    for (std::size_t x = na; x-- > 0;)
      for (std::size_t y = nb; y-- > 0;) {
        const bool s = same(a[x], b[y], key);
        const std::uint32_t down = lcs_[(x + 1) * w + y] >> 1, right = lcs_[x * w + y + 1] >> 1;
        const std::uint32_t len = s ? (lcs_[(x + 1) * w + y + 1] >> 1) + 1 : (down > right ? down : right);
        lcs_[x * w + y] = (len << 1) | (s ? 1u : 0u);
      }
    while (i < na && j < nb) {
      if (lcs_[i * w + j] & 1u) {
        steps[count++] = {step::match, static_cast<std::uint32_t>(i++), static_cast<std::uint32_t>(j++)};
      } else if ((lcs_[(i + 1) * w + j] >> 1) >= (lcs_[i * w + j + 1] >> 1)) {
        steps[count++] = {step::del, static_cast<std::uint32_t>(i++), 0};
      } else {
        steps[count++] = {step::ins, 0, static_cast<std::uint32_t>(j++)};
      }
    }
  }
  for (; i < na; ++i) steps[count++] = {step::del, static_cast<std::uint32_t>(i), 0};
  for (; j < nb; ++j) steps[count++] = {step::ins, 0, static_cast<std::uint32_t>(j)};
  // Within each run between two matches, the k-th removed item and the k-th
  // added item become one change; the run is rewritten as its changes, then its
  // leftover removals, then its leftover additions.
  step* paired = arena_->allocate_array<step>(count + 1);
  if (paired == nullptr) return json::error{errc::out_of_memory, "out of memory for the JSON Patch"};
  std::size_t w = 0;
  for (std::size_t start = 0; start < count;) {
    if (steps[start].k == step::match) {
      paired[w++] = steps[start++];
      continue;
    }
    std::size_t end = start;
    while (end < count && steps[end].k != step::match) ++end;
    auto next = [&](std::size_t p, step::kind k) {
      while (p < end && steps[p].k != k) ++p;
      return p;
    };
    std::size_t d = next(start, step::del), n = next(start, step::ins);
    for (; d < end && n < end; d = next(d + 1, step::del), n = next(n + 1, step::ins))
      paired[w++] = {step::change, steps[d].i, steps[n].j};
    for (; d < end; d = next(d + 1, step::del)) paired[w++] = steps[d];
    for (; n < end; n = next(n + 1, step::ins)) paired[w++] = steps[n];
    start = end;
  }
  steps = paired;
  count = w;
  return {};
}

json::error json_differ::apply_steps(const json::value* a, const json::value* b, std::size_t offset,
                                     const step* steps, std::size_t count, std::string_view key,
                                     const smp::type_meta* elem, std::size_t depth) {
  for (std::size_t s = count; s-- > 0;) {
    if (steps[s].k != step::del) continue;
    push_index(offset + steps[s].i);
    write_op("remove", nullptr);
    pop();
  }
  std::size_t pos = offset;
  for (std::size_t s = 0; s < count; ++s) {
    const step& st = steps[s];
    if (st.k == step::del) continue;
    push_index(pos++);
    if (st.k == step::ins) {
      write_op("add", &b[st.j]);
    } else if (st.k == step::match) {
      if (auto err = value(a[st.i], b[st.j], nullptr, elem, depth + 1)) return err;
    } else {
      // Two objects with different identities are different things: replaced
      // whole. Otherwise (no identities, or lists) their difference.
      const bool distinct = identity(a[st.i], key) != nullptr && identity(b[st.j], key) != nullptr;
      if (distinct) write_op("replace", &b[st.j]);
      else if (auto err = value(a[st.i], b[st.j], nullptr, elem, depth + 1)) return err;
    }
    pop();
  }
  return {};
}

}  // namespace meshinject::patch
