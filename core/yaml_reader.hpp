#pragma once
// An exception-free reader for the YAML that templates render: one document in,
// a tree of mappings, sequences and scalars out, or an error value with a line,
// a column and a message. It replaces yaml-cpp where YAML is read on a reactor
// (a variant compile on a cache miss), so it never throws on any input, never
// recurses deeper than max_depth, and allocates only to grow storage it keeps:
// a reader that is reused reads a document no larger than one it read before
// without touching the heap.
//
// The subset (what templates emit, read as Go's gopkg.in/yaml.v2 reads it,
// because that is what Istio decoded its rendered templates with):
// - block mappings and sequences, including `key:` followed by `- item` at the
//   key's own indentation and compact `- key: v` / `- - x` entries;
// - flow sequences and mappings, nested and over several lines, with a trailing
//   comma, and single-pair mappings inside flow sequences (`[a: 1]`);
// - plain scalars over several lines (folded as YAML folds them), single-quoted
//   (`''`), double-quoted with every YAML escape (\0 \a \b \t \n \v \f \r \e
//   \" \/ \\ \' \<space> \<tab> \N \_ \L \P \xXX \uXXXX \UXXXXXXXX, escaped line
//   breaks), literal `|` and folded `>` block scalars with chomping (+ -) and
//   indentation (1-9) indicators;
// - tags (`!`, `!!str`, `!local`, `!<verbatim>`), kept as written, unresolved;
// - comments, a leading `---`, a trailing `...`, an empty document (a null root).
//
// Everything else is an error: anchors and aliases, `?` complex keys, a flow
// collection or a multi-line scalar used as a mapping key, an implicit key
// longer than 1024 bytes, `%` directives, a second document, a tab where YAML
// wants indentation or the space after `- ` (go-yaml v2's rule), bad
// indentation, unterminated quoted scalars and flow collections, unknown
// escapes, invalid UTF-8 and control characters (go-yaml's printable set;
// U+0085, U+2028 and U+2029 are content, not line breaks), nesting deeper than
// max_depth, input of 2 GiB or more.
//
// Where yaml-cpp 0.7 (the tests' oracle) reads differently, the reader follows
// go-yaml; none of these are shapes templates emit: a tab after `- ` (yaml-cpp
// accepts it); `? ` keys, `[x]: y` flow keys, `[a,,b]` (yaml-cpp accepts them);
// a lone CR is a line break (yaml-cpp drops it); `\N` and `\_` are UTF-8
// (yaml-cpp writes one raw byte); line breaks that start or end a quoted
// scalar, and blank lines inside one, fold as the spec says (yaml-cpp drops
// some); a last line of blanks without a line break ends a block scalar
// (yaml-cpp keeps it as content); in flow context `a::` before `}` is one
// plain scalar (go-yaml v2's rule); tags take all of a URI's characters, are
// kept as written (`!!str`, not `tag:yaml.org,2002:str`), and a tagged
// top-level plain scalar continues on the next line. `\/` is accepted, as
// yaml-cpp and go-yaml v3 do (v2 rejects it).
//
// Bounds: nesting max_depth (512) collections; memory, for a document of n
// bytes, at most n + 1 nodes of 36 bytes and n * 3/2 bytes of unescaped text
// (typical documents use far less: one node per 15-30 bytes); time linear in n
// apart from duplicate-key detection, n log n.
//
// Positions are 1-based; columns count bytes. Scalar text is a view into the
// input (when it is the input's bytes unchanged) or into the reader: it is valid
// while both the input and the reader are, until the next read().

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace meshinject::core::yaml {

inline constexpr std::size_t max_depth = 512;
inline constexpr std::size_t max_key_length = 1024;

enum class node_kind : std::uint8_t { scalar, mapping, sequence };
enum class scalar_style : std::uint8_t { plain, single_quoted, double_quoted, literal, folded };

struct position {
  std::uint32_t line = 0;
  std::uint32_t column = 0;
};

struct read_error {
  position at;               // line 0: no error
  std::string_view message;  // static text
};

class reader;

// A handle to a node of the last document a reader read. Cheap to copy; a
// default-constructed node is "no node" (what find() returns on a miss).
class node {
 public:
  node() = default;
  explicit operator bool() const noexcept { return r_ != nullptr; }

  node_kind kind() const noexcept;
  bool is_scalar() const noexcept { return r_ && kind() == node_kind::scalar; }
  bool is_mapping() const noexcept { return r_ && kind() == node_kind::mapping; }
  bool is_sequence() const noexcept { return r_ && kind() == node_kind::sequence; }
  // Nothing written where a node goes (`key:`, `- `, an empty document).
  bool is_empty() const noexcept;
  // A null by YAML's core rule: empty, or a plain untagged `~`, `null`, `Null`,
  // `NULL`. (Typing other plain scalars is the caller's: core/yaml_scalar.hpp.)
  bool is_null() const noexcept;
  scalar_style style() const noexcept;
  std::string_view tag() const noexcept;   // as written ("!!str"); empty when none
  std::string_view text() const noexcept;  // a scalar's value; empty for collections
  position pos() const noexcept;           // where the node (its tag, if any) starts
  std::size_t size() const noexcept;       // entries of a mapping, items of a sequence
  // A mapping key whose text equals an earlier key's in the same mapping. The
  // reader keeps both entries; the caller decides which one counts.
  bool is_duplicate_key() const noexcept;

  // The value of the first entry whose key text is `key` (a mapping), else none.
  node find(std::string_view key) const noexcept;

  struct entry;
  class item_iterator;
  class entry_iterator;
  template <class It>
  struct range {
    It b, e;
    It begin() const noexcept { return b; }
    It end() const noexcept { return e; }
  };
  range<item_iterator> items() const noexcept;      // a sequence's items (empty otherwise)
  range<entry_iterator> entries() const noexcept;   // a mapping's entries (empty otherwise)

 private:
  friend class reader;
  node(const reader* r, std::uint32_t i) noexcept : r_(r), i_(i) {}
  const reader* r_ = nullptr;
  std::uint32_t i_ = 0;
};

struct node::entry {
  node key;
  node value;
};

class node::item_iterator {
 public:
  node operator*() const noexcept { return node(r_, i_); }
  item_iterator& operator++() noexcept;
  bool operator==(const item_iterator& o) const noexcept { return i_ == o.i_; }

 private:
  friend class node;
  item_iterator(const reader* r, std::uint32_t i) noexcept : r_(r), i_(i) {}
  const reader* r_;
  std::uint32_t i_;
};

class node::entry_iterator {
 public:
  entry operator*() const noexcept;
  entry_iterator& operator++() noexcept;
  bool operator==(const entry_iterator& o) const noexcept { return i_ == o.i_; }

 private:
  friend class node;
  entry_iterator(const reader* r, std::uint32_t i) noexcept : r_(r), i_(i) {}
  const reader* r_;
  std::uint32_t i_;  // the key's index
};

// Reads documents. Keep one per thread and reuse it: its storage stays
// allocated between reads.
class reader {
 public:
  // Reads `text` as one YAML document. Returns false, with error() set and no
  // root, when the text is not in the subset above. Input errors are values;
  // the only exception that can leave is std::bad_alloc from growing storage.
  bool read(std::string_view text);

  node root() const noexcept { return nodes_.empty() ? node() : node(this, 0); }
  const read_error& error() const noexcept { return error_; }
  std::size_t duplicate_keys() const noexcept { return duplicates_; }
  std::size_t node_count() const noexcept { return nodes_.size(); }
  // Bytes of storage held (nodes, unescaped text, scratch), for the bound tests.
  std::size_t capacity_bytes() const noexcept;

 private:
  friend class node;
  class parser;

  enum flag : std::uint8_t { in_pool = 1, empty = 2, duplicate = 4 };
  struct node_data {
    std::uint32_t text_off = 0, text_len = 0;
    std::uint32_t tag_off = 0, tag_len = 0;
    std::uint32_t end = 0;   // one past the last node of this node's subtree
    std::uint32_t size = 0;  // entries or items
    std::uint32_t line = 0, column = 0;
    node_kind kind = node_kind::scalar;
    scalar_style style = scalar_style::plain;
    std::uint8_t flags = 0;
  };

  // The reader wrote every offset within its text, so no bounds are checked.
  std::string_view text_of(const node_data& d) const noexcept {
    return {(d.flags & in_pool ? pool_.data() : src_.data()) + d.text_off, d.text_len};
  }

  std::string_view src_;
  std::vector<node_data> nodes_;  // pre-order: a collection's first child follows it
  std::string pool_;              // scalar text that differs from the input's bytes
  std::vector<std::uint32_t> scratch_;
  read_error error_;
  std::size_t duplicates_ = 0;
};

// The accessors are defined here, not in the .cpp: a variant compile asks them
// millions of times, and an out-of-line call cost more than each one does.

inline node_kind node::kind() const noexcept { return r_->nodes_[i_].kind; }
inline bool node::is_empty() const noexcept { return r_ && (r_->nodes_[i_].flags & reader::empty); }
inline scalar_style node::style() const noexcept { return r_ ? r_->nodes_[i_].style : scalar_style::plain; }
inline std::size_t node::size() const noexcept { return r_ ? r_->nodes_[i_].size : 0; }
inline bool node::is_duplicate_key() const noexcept { return r_ && (r_->nodes_[i_].flags & reader::duplicate); }

inline bool node::is_null() const noexcept {
  if (!r_) return false;
  const reader::node_data& d = r_->nodes_[i_];
  if (d.kind != node_kind::scalar || d.style != scalar_style::plain || d.tag_len) return false;
  // By length first: string_view's == calls out to compare() here, and most
  // scalars a compile asks about are neither 1 nor 4 bytes long.
  const std::string_view t = r_->text_of(d);
  switch (t.size()) {
    case 0: return true;
    case 1: return t[0] == '~';
    case 4: {
      const char c = t[0];
      return ((c == 'n' || c == 'N') && t[1] == 'u' && t[2] == 'l' && t[3] == 'l') ||
             (c == 'N' && t[1] == 'U' && t[2] == 'L' && t[3] == 'L');
    }
    default: return false;
  }
}

inline std::string_view node::tag() const noexcept {
  if (!r_) return {};
  const reader::node_data& d = r_->nodes_[i_];
  return {r_->src_.data() + d.tag_off, d.tag_len};
}

inline std::string_view node::text() const noexcept {
  if (!r_ || r_->nodes_[i_].kind != node_kind::scalar) return {};
  return r_->text_of(r_->nodes_[i_]);
}

inline position node::pos() const noexcept {
  if (!r_) return {};
  return {r_->nodes_[i_].line, r_->nodes_[i_].column};
}

inline node::range<node::item_iterator> node::items() const noexcept {
  if (!is_sequence()) return {{r_, 0}, {r_, 0}};
  return {{r_, i_ + 1}, {r_, r_->nodes_[i_].end}};
}

inline node::range<node::entry_iterator> node::entries() const noexcept {
  if (!is_mapping()) return {{r_, 0}, {r_, 0}};
  return {{r_, i_ + 1}, {r_, r_->nodes_[i_].end}};
}

inline node::item_iterator& node::item_iterator::operator++() noexcept {
  i_ = r_->nodes_[i_].end;
  return *this;
}

inline node::entry node::entry_iterator::operator*() const noexcept {
  return {node(r_, i_), node(r_, r_->nodes_[i_].end)};
}

inline node::entry_iterator& node::entry_iterator::operator++() noexcept {
  i_ = r_->nodes_[r_->nodes_[i_].end].end;
  return *this;
}

}  // namespace meshinject::core::yaml
