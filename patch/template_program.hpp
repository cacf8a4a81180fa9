#pragma once
// A compiled sidecar template.
//
// The template is parsed once, then every expression is classified: what depends
// only on config (.ProxyConfig, .MeshConfig, .Values) is folded to a constant at
// load; what depends on the pod stays an expression. A pod-dependent `if`/`with`
// condition or `range` length is a *decision*; a pod-dependent action is a *hole*.
//
// Per request, trace() walks the template without producing text: it evaluates
// the decisions (recorded as a compact trace, the key of a variant) and the holes
// (recorded as values, in order). Per variant, render() produces the template's
// text for a given trace with a placeholder for each hole, which the sidecar
// compiler turns into a JSON fragment once. Both walks share one code path, so the
// n-th hole of a trace is the n-th placeholder of its render.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/config_tree.hpp"
#include "core/mesh_config.hpp"
#include "patch/arena.hpp"
#include "patch/pod.hpp"
#include "patch/template_ast.hpp"
#include "patch/template_value.hpp"

namespace meshinject::patch::tmpl {

// `.` of the template.
struct template_data {
  const pod* p = nullptr;                   // null while folding at load
  const workload_meta* deployment = nullptr;  // null: .DeploymentMeta is the pod's metadata
  const core::config_node* proxy_config = nullptr;
  const core::config_node* mesh = nullptr;
  const core::config_node* values = nullptr;
};

// Placeholder for hole n in rendered text: U+E000 n U+E001 (private-use code
// points: valid YAML, never produced by a real config).
inline constexpr std::string_view hole_open = "\xEE\x80\x80";
inline constexpr std::string_view hole_close = "\xEE\x80\x81";

struct hole_info {
  bool structured = false;  // YAML of pod data (`toYaml x`): spliced as JSON structure
  std::uint32_t pos = 0;    // template offset of the action, for messages
};

struct render_result {
  std::string text;
  std::vector<hole_info> holes;
  // For each text chunk appended, its template offset: lets the sidecar compiler
  // turn a position in `text` back into a template line:column.
  std::vector<std::pair<std::uint32_t, std::uint32_t>> source_map;  // (text offset, template offset)
};

class machine;

// Per-reactor scratch state for trace(): reused across requests.
class trace_state {
 public:
  trace_state();
  ~trace_state();
  trace_state(const trace_state&) = delete;
  trace_state& operator=(const trace_state&) = delete;

  std::vector<std::uint8_t> trace;
  std::vector<value> holes;
  // Values of scope-free pod expressions, valid for the current generation.
  std::vector<value> memo;
  std::vector<std::uint32_t> memo_generation;
  std::uint32_t generation = 0;
  arena strings;
  std::string error;        // set when trace() fails
  std::string scratch;      // formatting buffer

  void reset() noexcept;
  // A parser for fromJSON values; the n-th call in a request gets the n-th parser.
  simdjson::dom::parser& json_parser(std::size_t n);
  std::string& json_buffer(std::size_t n);

 private:
  std::vector<std::unique_ptr<simdjson::dom::parser>> parsers_;
  std::vector<std::string> buffers_;
};

class program {
 public:
  struct compile_error {
    std::uint32_t pos;
    std::string message;
  };

  // Throws compile_error. The mesh config and values must outlive the program
  // (the snapshot owns all three).
  program(std::string text, const core::mesh_config& mesh, const core::config_node& values);

  // Request path. Returns false with state.error set when the template fails for
  // this pod (e.g. a fromJSON annotation that is not JSON). No allocation once warm.
  bool trace(const template_data& data, trace_state& state) const noexcept;

  // Variant compile. Returns false with `error` set.
  bool render(const template_data& data, std::span<const std::uint8_t> trace, render_result& out,
              std::string& error) const;

  const std::string& text() const noexcept { return *parsed_.source; }
  std::string_view delimiters() const noexcept { return parsed_.left_delim; }
  std::pair<int, int> line_column(std::uint32_t pos) const noexcept { return tmpl::line_column(*parsed_.source, pos); }
  std::size_t slot_count() const noexcept { return slot_count_; }
  std::size_t decision_count() const noexcept { return decisions_; }
  std::size_t hole_sites() const noexcept { return hole_sites_; }
  std::size_t memo_slots() const noexcept { return memo_slots_; }
  const template_data& load_data() const noexcept { return load_data_; }

 private:
  friend class machine;
  parsed_template parsed_;
  template_data load_data_;
  std::size_t slot_count_ = 1;
  std::size_t decisions_ = 0;
  std::size_t hole_sites_ = 0;
  std::size_t memo_slots_ = 0;
  arena folded_strings_;  // written only by the constructor
};

}  // namespace meshinject::patch::tmpl
