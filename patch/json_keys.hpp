#pragma once
// Object keys of a parsed AdmissionReview, read as the apiserver reads them.
//
// simdjson's DOM keeps every member of an object, and `at_key` answers the first
// of a repeated key; Go's encoding/json (the apiserver's decoder) keeps the last.
// So that one review cannot mean two things, the engine scans the review once
// after parsing (`key_scan`); only when a key repeats in an object some reader
// sees does it rewrite the document with the last member of each key
// (`write_last_wins`) and parse that, so every later reader (the review and pod
// views, the template bindings, the 1.28 merge and diff) sees one member per key.
// The scan allocates nothing once its scratch has grown to the largest object
// seen; the rewrite is for hostile input only and allocates.
//
// What is read (`scan_extent::as_read`), and so scanned; the rest is jumped over:
//   - the review object's own keys, and `request`;
//   - `request`'s own keys, `request.kind`, and `request.object` (the pod), all of
//     it but `status` and `metadata.managedFields`: the 1.1 views read metadata
//     and spec, a template reaches only `.ObjectMeta`'s name, namespace,
//     generateName, labels and annotations and `.Spec`'s containers and service
//     account, and the 1.28 merge and diff read the whole pod; but `status` and
//     `managedFields` only ever reach the 1.28 path as a json tree
//     (`core/json_tree`), which keeps the last of a repeated key itself, and the
//     diff passes them as shared.
//   - not read: `request.oldObject`, `userInfo`, `options`, `resource`,
//     `requestKind` and the other envelope members, the review's `response`.
// The object keys of an unread part are still keys of the object holding it, so
// a repeated `status` or `oldObject` is still found. Every byte of the document
// is still validated: the DOM parse refuses malformed JSON anywhere. A key with
// NUL is refused anywhere, so a text that may hold one is walked whole.
//
// The scan reads simdjson's tape (the parsed document as one array of 64-bit
// words, https://github.com/simdjson/simdjson/blob/master/doc/tape.md) in one
// forward loop: every object's keys sit there in order, already unescaped in the
// document's string buffer, so "a" and "\u0061" compare equal; a part nobody
// reads is one jump, as its opening word holds the index past its end.

#include <simdjson.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace meshinject::patch {

struct key_scan_result {
  bool duplicate = false;    // some object repeats a key
  bool nul_in_key = false;   // some key contains U+0000 (the scan stops there)
};

// How much of the document the scan walks.
enum class scan_extent : std::uint8_t {
  whole,    // every object at any depth
  as_read,  // `root` is an AdmissionReview: the objects a reader sees (above)
};

class key_scan {
 public:
  // Checks the objects in `root` and below it that `extent` names (simdjson
  // bounds the depth at parse time). `keys_may_hold_nul`: false when the text has
  // no `\u0000` escape (simdjson refuses a raw NUL), which spares looking into
  // every key; true walks the whole document whatever `extent` says.
  key_scan_result scan(simdjson::dom::element root, bool keys_may_hold_nul = true,
                       scan_extent extent = scan_extent::whole);

 private:
  // What an object or array being walked is to a reader of a review.
  enum class role : std::uint8_t {
    object,        // an object read whole: every member's value is walked
    array,         // an array: its items are walked
    review,        // the AdmissionReview: only `request` is walked into
    request,       // `request`: only `kind` and `object`
    pod,           // `request.object`: all but `status`
    pod_metadata,  // its `metadata`: all but `managedFields`
    unread,        // a value no reader sees: jumped over
  };
  static role role_of_member(role parent, std::string_view key) noexcept;

  struct key_entry {
    std::uint64_t fingerprint;  // length and a few bytes: most different keys differ here
    std::string_view key;
  };
  // One per object or array being walked, outermost first.
  struct open_scope {
    std::uint64_t seen;    // objects: a bit per key seen (key_bit in the .cpp)
    std::uint32_t first;   // tape index of its first member
    std::uint32_t next;    // tape index of its next member (objects: the key)
    std::uint32_t close;   // tape index of its closing word
    std::uint32_t keys;    // objects: how many of its keys are seen
    role r;
  };
  static bool repeats_earlier(const std::uint64_t* tape, const std::uint8_t* strings, std::size_t first,
                              std::size_t at) noexcept;
  bool sorted_repeat(const std::uint64_t* tape, const std::uint8_t* strings, std::size_t first, std::size_t close);
  // The keys of an object too large to check key by key, gathered when it closes.
  std::vector<key_entry> keys_;
  std::vector<open_scope> scopes_;
};

// Appends `root` as compact JSON text in which every object keeps only the last
// member of each key, in the order of those last members.
void write_last_wins(simdjson::dom::element root, std::string& out);

}  // namespace meshinject::patch
