#pragma once
// A compiled template.
//
// The template is parsed once against a function table, then every expression is
// classified through the root binding (binding.hpp): what reads only
// configuration is folded to a constant at load; what varies per request stays
// an expression. A per-request `if`/`with` condition or `range` length is a
// *decision*; a per-request action is a *hole*.
//
// Per request, trace() walks the template without producing text: it evaluates
// the decisions (recorded as a compact trace, the key of a variant) and the holes
// (recorded as values, in order). Per variant, render() produces the template's
// text for a given trace with a placeholder for each hole, which the host turns
// into its output format once. Both walks share one code path, so the n-th hole
// of a trace is the n-th placeholder of its render.
//
// Ownership: the program keeps the template text, a copy of the function table
// and the load-time root value; what that value points to (the host's
// configuration) must outlive the program. trace() and render() only read the
// program, so one program serves every thread; each thread brings its own
// trace_state.

#include <simdjson.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "template/arena.hpp"
#include "template/functions.hpp"
#include "template/value.hpp"

namespace meshinject::tmpl {

struct parsed_template;
struct node;

// Line and column (1-based; columns count runes) of a byte offset.
std::pair<int, int> line_column(std::string_view text, std::uint32_t offset) noexcept;

// Chooses `[[ ]]` or `{{ }}`, whichever appears first (a template that is
// itself rendered by Helm uses `[[`).
std::pair<std::string, std::string> detect_delimiters(std::string_view text);

// What one trace() or one render() may cost. A template whose work grows with pod
// data (nested `range` over containers and env, wide `printf`, a long `until`)
// would otherwise hold a reactor for as long as the pod makes it: each is
// counted and the walk fails with a message naming the bound when it is passed.
// Counts, not time, so a loaded machine fails the same pods as an idle one.
//
// A step is a node of the template visited, a range iteration or a function
// call. Measured (trace and render, the larger; 2026-12-06): the heaviest pod of
// the Istio 1.1 conformance data takes 118 steps, the heaviest Istio 1.28 golden
// 289 (resource_annotations.yaml), a 1.28 pod of 50 containers with 5 ports and
// 5 env each 2,488. The default is about 100 times the heaviest golden. Output
// bytes are the render's text, each function's text result and each
// per-request value placed in the output (a memoized value counts each time):
// Istio's sidecar renders to 2-12 KiB.
struct eval_limits {
  static constexpr std::uint64_t default_max_steps = 30'000;
  static constexpr std::size_t default_max_output_bytes = std::size_t{4} << 20;
  std::uint64_t max_steps = default_max_steps;
  std::size_t max_output_bytes = default_max_output_bytes;
};

// Placeholder for hole n in rendered text: U+E000 n U+E001 (private-use code
// points: valid YAML, never produced by a real config).
inline constexpr std::string_view hole_open = "\xEE\x80\x80";
inline constexpr std::string_view hole_close = "\xEE\x80\x81";

struct hole_info {
  bool structured = false;  // the structure of per-request data (a `structure`-shaped call): spliced as data
  std::uint32_t pos = 0;    // template offset of the action, for messages
};

struct render_result {
  std::string text;
  std::vector<hole_info> holes;
  // For each text chunk appended, its template offset: lets the host turn a
  // position in `text` back into a template line:column.
  std::vector<std::pair<std::uint32_t, std::uint32_t>> source_map;  // (text offset, template offset)
  std::uint64_t steps = 0;  // what the render took (eval_limits' count)
};

// JSON documents parsed while evaluating (fromJSON): the n-th parse of a request
// reuses the n-th parser and buffer, so a warm caller parses without allocating.
class json_documents {
 public:
  bool parse(std::size_t n, std::string_view text, simdjson::dom::element& out, simdjson::error_code& error);

 private:
  std::vector<std::unique_ptr<simdjson::dom::parser>> parsers_;
  std::vector<std::string> buffers_;
};

// Everything trace() writes: owned by the caller (one per reactor), reused
// across requests. Holes and memoized values point into `strings` and the JSON
// documents, valid until the next trace().
class trace_state {
 public:
  trace_state();
  trace_state(const trace_state&) = delete;
  trace_state& operator=(const trace_state&) = delete;

  std::vector<std::uint8_t> trace;  // the variant key
  std::vector<value> holes;
  std::string error;                // set when trace() fails
  arena strings;
  std::uint64_t steps = 0;          // what the last trace() took (eval_limits' count)

  void reset() noexcept;

 private:
  friend class machine;
  friend class program;
  // Values of scope-free per-request expressions, valid for the current generation.
  std::vector<value> memo_;
  std::vector<std::uint32_t> memo_generation_;
  // What the root binding's fetch() gave for each resolved chain, valid for the
  // current generation: a chain read by many lookups is fetched once per trace.
  std::vector<value> fetched_;
  std::vector<std::uint32_t> fetched_generation_;
  std::uint32_t generation_ = 0;
  std::vector<value> slots_;  // variables
  std::string scratch_[2];
  json_documents docs_;
};

class program {
 public:
  struct compile_error {
    std::uint32_t pos;
    std::string message;
  };

  // Throws compile_error. `load_root` is the template's `.` at load: its binding
  // classifies field chains and folding reads configuration through it;
  // `root_owner` (optional) keeps what it points to alive as long as the
  // program. The delimiters are detected (detect_delimiters).
  program(std::string text, const function_table& functions, const value& load_root,
          std::shared_ptr<const void> root_owner = {});
  ~program();
  program(const program&) = delete;
  program& operator=(const program&) = delete;

  // Request path. Returns false with state.error set when the template fails for
  // this request (e.g. per-request text a function cannot parse). No exceptions;
  // no allocation once `state` is warm.
  bool trace(const value& root, trace_state& state) const;
  // The same through the tree walk alone, without the flat form trace() runs:
  // the reference the tests hold the flat form to (same key, same holes).
  bool trace_by_walk(const value& root, trace_state& state) const;

  // Variant compile. Returns false with `error` set.
  bool render(const value& root, std::span<const std::uint8_t> trace, render_result& out, std::string& error) const;
  // The same, with the caller's buffers kept from one render to the next: `out`
  // is cleared, not freed, and `workspace` (a trace_state of its own, never the
  // one whose holes the caller is still using) holds the render's strings,
  // variables and JSON parsers. A core that compiles many variants keeps both.
  bool render(const value& root, std::span<const std::uint8_t> trace, render_result& out, std::string& error,
              trace_state& workspace) const;

  const std::string& text() const noexcept;
  std::string_view delimiters() const noexcept;
  std::pair<int, int> line_column(std::uint32_t pos) const noexcept { return tmpl::line_column(text(), pos); }
  std::size_t slot_count() const noexcept { return slot_count_; }
  std::size_t decision_count() const noexcept { return decisions_; }
  std::size_t hole_sites() const noexcept { return hole_sites_; }
  std::size_t memo_slots() const noexcept { return memo_slots_; }
  // Distinct resolved root chains (binding accessors), each fetched at most once per trace.
  std::size_t fetch_slots() const noexcept { return fetch_slots_; }
  // Nodes trace() visits at the top level (the rest is text and configuration).
  std::size_t traced_top_nodes() const noexcept;
  // trace()'s flat form: its instructions, and how many of them hand a node to
  // the tree walk (a with, a range, a variable declaration at the top level).
  std::size_t trace_ops() const noexcept;
  std::size_t trace_walks() const noexcept;
  // Pipelines that trace() runs as `index .A.B "k" | default X ...` (node.hpp, default_chain).
  std::size_t default_chains() const noexcept { return default_chains_; }
  const value& load_root() const noexcept { return load_root_; }
  // Bounds every later trace() and render(); set before the program is shared.
  void set_limits(const eval_limits& limits) noexcept { limits_ = limits; }
  const eval_limits& limits() const noexcept { return limits_; }

 private:
  friend class machine;
  bool run_trace(const value& root, trace_state& state, bool by_walk) const;
  function_table functions_;  // the nodes point into it
  std::unique_ptr<parsed_template> parsed_;
  std::shared_ptr<const void> root_owner_;
  value load_root_;
  std::size_t slot_count_ = 1;
  std::size_t decisions_ = 0;
  std::size_t hole_sites_ = 0;
  std::size_t memo_slots_ = 0;
  std::size_t fetch_slots_ = 0;
  std::size_t default_chains_ = 0;
  std::vector<const node*> traced_root_;
  arena folded_strings_;  // written only by the constructor
  eval_limits limits_;
};

}  // namespace meshinject::tmpl
