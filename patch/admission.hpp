#pragma once
// AdmissionReview parsing (admission.k8s.io/v1 and v1beta1) with simdjson: On
// Demand for the envelope, the DOM for the pod. The caller hands in a buffer with SIMDJSON_PADDING spare bytes after the
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
// the On Demand parser (the review's envelope strings live in it), the pod's
// text without the values nobody reads, the key scan's scratch and the rewrite
// of a text whose keys repeat.
struct review_scratch {
  simdjson::ondemand::parser ondemand;
  std::string pod_text;
  key_scan keys;
  std::string rewritten;
};

// As above, with the caller's scratch (an engine keeps one), reading only what
// is read: one On Demand pass over the whole body (stage 1 checks all of it:
// UTF-8, strings) reads the envelope and finds the pod; the pod goes through
// the DOM with `status` and `metadata.managedFields` left out, so a value there
// is not checked beyond stage 1 (docs/admission-parsing.md). Every object read is
// read as the apiserver reads it: of a repeated key the last member wins; a key
// containing NUL is refused. Anything unexpected, and every error, goes through
// the whole reading of the overload above, so messages are the same.
bool parse_review(simdjson::dom::parser& parser, review_scratch& scratch, const char* data, std::size_t len,
                  std::size_t capacity, review& r, pod& p, std::string& error);

// Fills `p` from a Pod object (the `request.object` of a review, or a pod
// template in kube-inject). `fallback_namespace` is used when the pod names none.
bool parse_pod(simdjson::dom::element object, std::string_view fallback_namespace, pod& p, std::string& error);

}  // namespace meshinject::patch
