#pragma once
// AdmissionReview parsing (admission.k8s.io/v1 and v1beta1) with simdjson's DOM
// API. The caller hands in a buffer with SIMDJSON_PADDING spare bytes after the
// body, so the parser reads it in place; one parser per reactor is reused, so a
// warm reactor parses without allocating. Malformed input is an error value with
// a message naming the JSON path, never an exception.

#include <simdjson.h>

#include <string>
#include <string_view>

#include "patch/json_keys.hpp"
#include "patch/pod.hpp"

namespace meshinject::patch {

enum class review_version : std::uint8_t { v1, v1beta1 };

struct review {
  review_version version = review_version::v1;
  std::string_view uid;
  std::string_view kind_group, kind_version, kind;  // request.kind
  std::string_view sub_resource;
  std::string_view operation;
  std::string_view namespace_name;  // request.namespace
  std::string_view name;            // request.name
  bool dry_run = false;
  bool is_pod_create = false;       // a Pod (no subresource) being created: the only thing we inject
};

// Parses `len` bytes at `data`; `capacity` must be at least len + SIMDJSON_PADDING
// (the padding bytes may be overwritten). On success fills `r`, and `p` when the
// review is a pod creation. On failure returns false with `error` set.
bool parse_review(simdjson::dom::parser& parser, const char* data, std::size_t len, std::size_t capacity, review& r,
                  pod& p, std::string& error);

// What parse_review keeps between calls so that it allocates nothing once warm:
// the key scan's scratch and the rewrite of a review whose keys repeat.
struct review_scratch {
  key_scan keys;
  std::string rewritten;
};

// As above, with the caller's scratch (an engine keeps one). Every object of the
// review is read as the apiserver reads it: of a repeated key the last member
// wins; a key containing NUL is refused.
bool parse_review(simdjson::dom::parser& parser, review_scratch& scratch, const char* data, std::size_t len,
                  std::size_t capacity, review& r, pod& p, std::string& error);

// Fills `p` from a Pod object (the `request.object` of a review, or a pod
// template in kube-inject). `fallback_namespace` is used when the pod names none.
bool parse_pod(simdjson::dom::element object, std::string_view fallback_namespace, pod& p, std::string& error);

}  // namespace meshinject::patch
