#pragma once
// Object keys of a parsed AdmissionReview, read as the apiserver reads them.
//
// simdjson's DOM keeps every member of an object, and `at_key` answers the first
// of a repeated key; Go's encoding/json (the apiserver's decoder) keeps the last.
// So that one review cannot mean two things, the engine scans the whole document
// once after parsing (`key_scan`); only when a key repeats does it rewrite the
// document with the last member of each key (`write_last_wins`) and parse that,
// so every later reader (the review and pod views, the template bindings, the
// 1.28 merge and diff) sees one member per key. The scan allocates nothing once
// its scratch has grown to the largest object seen; the rewrite is for hostile
// input only and allocates.
//
// The scan reads simdjson's tape (the parsed document as one array of 64-bit
// words, https://github.com/simdjson/simdjson/blob/master/doc/tape.md) in one
// forward loop: every object's keys sit there in order, already unescaped in the
// document's string buffer, so "a" and "\u0061" compare equal.

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

class key_scan {
 public:
  // Checks every object in `root` and below it (simdjson bounds the depth at
  // parse time). `keys_may_hold_nul`: false when the text has no `\u0000` escape
  // (simdjson refuses a raw NUL), which spares looking into every key.
  key_scan_result scan(simdjson::dom::element root, bool keys_may_hold_nul = true);

 private:
  struct key_entry {
    std::uint64_t fingerprint;  // length and three bytes: most different keys differ here
    std::string_view key;
  };
  // One per object or array being walked, outermost first.
  struct open_scope {
    std::uint32_t next;       // tape index of its next member (objects: the key)
    std::uint32_t close;      // tape index of its closing word
    std::uint32_t keys_base;  // objects: where its keys start in keys_
    bool is_object;
  };
  // Keys of the objects being walked: an object's keys sit above its parent's,
  // and are dropped once all its members are seen.
  std::vector<key_entry> keys_;
  std::vector<open_scope> scopes_;
};

// Appends `root` as compact JSON text in which every object keeps only the last
// member of each key, in the order of those last members.
void write_last_wins(simdjson::dom::element root, std::string& out);

}  // namespace meshinject::patch
