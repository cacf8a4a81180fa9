#pragma once
// Kubernetes label selectors compiled for the request path.
//
// A selector_list is the compiled form of one `neverInjectSelector` or
// `alwaysInjectSelector` list of the injection config: LabelSelectors OR'ed in
// order, the first match wins. It is built once, on the cold path (config load),
// by `compile`, which validates the YAML as the Kubernetes API would and throws
// config_error with file:line:column on anything it would reject. After that the
// list is immutable and can be shared by every core without locking.
//
// Matching follows Kubernetes exactly:
//   matchLabels {k: v}     is  k In (v)
//   k In (a,b)             k present and its value one of a, b
//   k NotIn (a,b)          k absent, or its value none of a, b
//   k Exists / DoesNotExist
// All requirements of one selector are AND'ed. A selector with no requirements
// (`{}`, `{matchLabels: {}}`) matches nothing, as Istio skips such selectors;
// this differs from a bare Kubernetes LabelSelector, where empty means "all".
//
// Evaluation (`first_match`, `matches`) runs a flat instruction array against a
// label_set: no allocation, no exceptions, no pointers into the YAML.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/labels.hpp"

namespace YAML {
class Node;
}

namespace meshinject::core {

class selector_list {
 public:
  // An empty list: first_match() is always -1.
  selector_list() = default;

  // Compiles a YAML sequence of LabelSelector maps. A null or undefined node is
  // an empty list. `file_name` and the node marks locate errors; `field` names
  // the list in messages ("neverInjectSelector[1].matchExpressions[0].operator:
  // ..."). Throws config_error.
  static selector_list compile(const YAML::Node& node, const std::string& file_name,
                               std::string_view field = "selectors");

  // Index of the first selector that matches `labels`, or -1.
  int first_match(label_set labels) const noexcept;

  // Whether selector `i` matches `labels`; false when `i` is out of range.
  bool matches(std::size_t i, label_set labels) const noexcept;

  std::size_t size() const noexcept { return starts_.size(); }
  bool empty() const noexcept { return starts_.empty(); }

  // Human form of selector `i`, for `meshinject explain`, e.g.
  //   matchLabels{app=foo} matchExpressions{tier In (a,b); canary DoesNotExist}
  // A selector with no requirements reads "{} (no requirements, matches nothing)".
  std::string describe(std::size_t i) const;

 private:
  enum class opcode : std::uint8_t {
    in,              // key present, value among the `count` value operands that follow
    not_in,          // key absent, or value none of the `count` operands that follow
    exists,          // key present
    does_not_exist,  // key absent
    value,           // operand of in / not_in; never executed
    accept,          // end of a selector whose requirements all held
    reject,          // the whole body of a selector with no requirements
  };

  // Strings live in pool_; instructions hold offsets so the list copies and
  // moves without fixing up pointers.
  struct instruction {
    opcode op;
    bool from_match_labels;  // only for describe(): in came from matchLabels
    std::uint32_t count;     // value operands following an in / not_in
    std::uint32_t offset;    // key (or value, for opcode::value) in pool_
    std::uint32_t length;
  };

  class builder;

  bool run(std::uint32_t pc, label_set labels) const noexcept;
  std::string_view text(const instruction& ins) const noexcept {
    return std::string_view(pool_).substr(ins.offset, ins.length);
  }

  std::vector<instruction> code_;
  std::vector<std::uint32_t> starts_;  // entry point of each selector in code_
  std::string pool_;
};

// Kubernetes validation of label keys (qualified names) and values. Return an
// empty string when valid, else what is wrong (without the offending text).
std::string label_key_error(std::string_view key);
std::string label_value_error(std::string_view value);

}  // namespace meshinject::core
