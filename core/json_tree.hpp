#pragma once
// A mutable JSON tree for the request path: the pod as the webhook receives it,
// the objects templates render, and the merged pod that the JSON Patch answer is
// the difference to (Istio >= 1.9's injection semantics, patch/strategic_merge.hpp).
//
// Memory: every array, object, copied string and number text lives in a
// core::arena that the caller owns and rewinds between requests, so a warm core
// builds, merges and compares trees without calling the heap. A value is a
// 32-byte handle; copying it shares its children (use deep_copy() for an
// independent tree). Strings and keys are views: into the arena (copies), or
// into memory the caller keeps alive as long as the tree (`strings::borrow`, e.g.
// the simdjson document of the request).
//
// Errors are values; nothing here throws. Trees built by from_simdjson() and
// parse() are at most max_depth deep (deeper input is an error), and the
// functions here recurse only as deep as the tree is.
//
// Objects keep their members in insertion order and hold each key once (input
// with a repeated key keeps the last value, as Go's encoding/json does). Lookup
// is a linear scan that starts where the caller expects the key (objects of a pod
// are small and two trees of the same pod list their keys in the same order).

#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "core/arena.hpp"

namespace meshinject::core::json {

inline constexpr std::size_t max_depth = 512;

enum class kind : std::uint8_t { null, boolean, number, string, array, object };

enum class errc : std::uint8_t {
  ok,
  too_deep,           // nesting beyond max_depth
  out_of_memory,      // the arena reached its limit
  too_large,          // a string or collection of 2^32 or more bytes/entries
  invalid_number,     // not a JSON number (or NaN, infinity)
  invalid_json,       // text that does not parse
  type_conflict,      // strategic merge: an object meets a list, ...
  bad_directive,      // strategic merge: a $patch / $retainKeys it cannot apply
  missing_merge_key,  // strategic merge: a list item without its merge key
  mixed_list,         // strategic merge: a merged list of mixed element kinds
  unsupported,        // a directive this implementation refuses (see its header)
};

struct error {
  errc code = errc::ok;
  std::string_view message;  // static text, or text in the arena of the operation
  // True when there is an error (as std::error_code).
  explicit operator bool() const noexcept { return code != errc::ok; }
};

// How strings and keys from an outside source are stored.
enum class strings : std::uint8_t { borrow, copy };

struct member;
class value;

// Compact JSON text written once for a subtree that many requests copy (the
// subtrees of a kept render that hold no per-request value, patch/named_render):
// `source` is the subtree the text was written from. A copy of `source` carries
// a pointer to this; a writer may use the text only while the copy is still
// identical() to `source`, so a merge or post-step that changes the copy (or
// any node below it) makes the writer walk it instead, with nothing to reset.
struct prepared_text {
  const value* source = nullptr;
  std::string_view text;
  // What a strategic merge that links a fresh copy of `source` needs to know
  // (patch/strategic_merge's link mode): no object in `source` has a null
  // member or a key starting with `$` (a directive), so the merge drops nothing
  // from it; and how deeply it nests (depth()).
  bool links_whole = false;
  std::uint32_t depth = 0;
};

class value {
 public:
  value() noexcept : kind_(kind::null), flags_(0), size_(0), capacity_(0), ptr_(nullptr), int_(0) {}

  static value boolean(bool b) noexcept;
  static value integer(std::int64_t i) noexcept;
  // A view of `s` (valid while s is).
  static value string(std::string_view s) noexcept;
  static value array() noexcept;
  static value object() noexcept;

  // A JSON number literal ("-12", "1.5e3"), checked; `literal` is copied into
  // `a` when given, else viewed.
  static error number(std::string_view literal, value& out, arena* a = nullptr) noexcept;
  // A finite double, written in its shortest round-trip form (with ".0" when it
  // would read as an integer) into `a`.
  static error floating(double d, arena& a, value& out) noexcept;
  // A copy of s in `a`.
  static error string_copy(std::string_view s, arena& a, value& out) noexcept;
  // An array or object with storage of its own in `a` holding the same child
  // handles (one level: the children are shared, so the result is identical()
  // to `v` and keeps its prepared text); scalars: `v` itself.
  static error shallow_copy(const value& v, arena& a, value& out) noexcept;

  kind type() const noexcept { return kind_; }
  bool is_null() const noexcept { return kind_ == kind::null; }
  bool is_bool() const noexcept { return kind_ == kind::boolean; }
  bool is_number() const noexcept { return kind_ == kind::number; }
  bool is_string() const noexcept { return kind_ == kind::string; }
  bool is_array() const noexcept { return kind_ == kind::array; }
  bool is_object() const noexcept { return kind_ == kind::object; }

  bool as_bool() const noexcept { return flags_ != 0; }
  std::string_view as_string() const noexcept { return {static_cast<const char*>(ptr_), size_}; }

  // Numbers. is_integer(): an integer literal that fits int64 (its value is
  // as_integer()). number_text(): the literal, or "" for an integer made by
  // integer() (print as_integer() then).
  bool is_integer() const noexcept { return kind_ == kind::number && (flags_ & int_flag) != 0; }
  bool is_float_literal() const noexcept { return kind_ == kind::number && (flags_ & float_flag) != 0; }
  std::int64_t as_integer() const noexcept { return int_; }
  std::string_view number_text() const noexcept { return {static_cast<const char*>(ptr_), size_}; }
  double as_double() const noexcept;

  // Arrays and objects: the entry count; 0 for scalars.
  std::size_t size() const noexcept { return kind_ == kind::array || kind_ == kind::object ? size_ : 0; }
  bool empty() const noexcept { return size() == 0; }
  std::span<value> items() noexcept;
  std::span<const value> items() const noexcept;
  std::span<member> members() noexcept;
  std::span<const member> members() const noexcept;

  // Object lookup; nullptr when absent (or not an object). `hint`: where the key
  // is expected; the scan starts there and wraps around.
  value* find(std::string_view key, std::size_t hint = 0) noexcept;
  const value* find(std::string_view key, std::size_t hint = 0) const noexcept;
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);
  std::size_t index_of(std::string_view key, std::size_t hint = 0) const noexcept;

  // Mutation. The value stored is a handle copy of `v` (children shared). Keys
  // are views, like strings. Growth reallocates in the arena (the old storage is
  // left to the next reset).
  error push_back(arena& a, const value& v) noexcept;
  error insert(arena& a, std::size_t index, const value& v) noexcept;  // index <= size()
  void erase(std::size_t index) noexcept;                                // index < size()
  // Inserts or replaces; *slot (when given) points at the stored value, valid
  // until the object next grows.
  error set(arena& a, std::string_view key, const value& v, value** slot = nullptr) noexcept;
  // Appends without looking for `key` first (the caller knows it is new).
  error append_member(arena& a, std::string_view key, const value& v) noexcept;
  bool erase(std::string_view key) noexcept;  // false when absent
  void clear() noexcept;                      // keeps the kind
  error reserve(arena& a, std::size_t n) noexcept;

  // Arrays and objects: the text prepared for the subtree this one was copied
  // from, or nullptr (see prepared_text). Handle copies keep it, and so does a
  // deep_copy that shares strings.
  const prepared_text* prepared() const noexcept {
    return kind_ == kind::array || kind_ == kind::object ? prepared_ : nullptr;
  }
  void set_prepared(const prepared_text* p) noexcept {
    if (kind_ == kind::array || kind_ == kind::object) prepared_ = p;
  }

 private:
  static constexpr std::uint8_t int_flag = 1;
  static constexpr std::uint8_t float_flag = 2;

  kind kind_;
  std::uint8_t flags_;      // boolean value; number: int_flag, float_flag
  std::uint32_t size_;      // string/number text bytes, array items, object members
  std::uint32_t capacity_;  // array/object storage
  const void* ptr_;         // chars, value[] or member[]
  union {
    std::int64_t int_;                // numbers
    const prepared_text* prepared_;   // arrays and objects
  };
};

struct member {
  std::string_view key;
  value v;
};

// An independent copy of v: arrays and objects anew in `a`; strings and keys
// copied too when `copy_strings`.
error deep_copy(const value& v, arena& a, value& out, bool copy_strings = false) noexcept;

// Equality by meaning: object member order is free, numbers compare by value
// (1 == 1.0; integer literals exactly), strings byte for byte.
bool equal(const value& a, const value& b) noexcept;
bool numbers_equal(const value& a, const value& b) noexcept;

// The same handles all the way down: kinds, sizes, keys and scalars viewing
// the same bytes (or the same integer), member order included. A subtree that
// is identical to another writes the same JSON text; a structure-preserving
// copy (strings shared) is identical to its source until something changes it.
// O(nodes), no string comparisons.
bool identical(const value& a, const value& b) noexcept;

// The tree of a simdjson DOM element. With strings::borrow, strings and keys
// are views into the parser's document (valid until it parses again).
error from_simdjson(simdjson::dom::element e, arena& a, value& out, strings mode = strings::borrow) noexcept;

// A member the conversion below leaves out: `key` of the top-level object
// (`parent` empty), or `key` of the object that is the top-level member `parent`.
struct omitted_member {
  std::string_view parent;
  std::string_view key;
};

// from_simdjson without the `omit` members (every one of a repeated key): for
// subtrees a caller only ever shares between two trees it diffs, so converting
// them node by node would be work nobody reads (the 1.28 path's pod, whose
// apiserver managedFields are often most of the review).
// `keys_unique`: the caller knows that no object it converts repeats a key
// (a review's key scan, patch/json_keys.hpp, covers all but what `omit` names),
// so objects are not checked for repeats again; a repeat would then be kept.
error from_simdjson(simdjson::dom::element e, arena& a, value& out, strings mode,
                    std::span<const omitted_member> omit, bool keys_unique = false) noexcept;

// Parses JSON text (copied into the arena with simdjson's padding; strings are
// copied, so the tree does not depend on the parser afterwards).
error parse(std::string_view text, simdjson::dom::parser& parser, arena& a, value& out) noexcept;

// Nesting depth (a scalar is 0, [] is 1), counted up to `limit` + 1.
std::size_t depth(const value& v, std::size_t limit = max_depth) noexcept;

// A message in the arena: "<prefix><detail>"; falls back to `prefix` alone when
// the arena is full.
std::string_view message(arena& a, std::string_view prefix, std::string_view detail) noexcept;

}  // namespace meshinject::core::json
