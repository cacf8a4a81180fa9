#pragma once
// The evaluator behind program (exec.go's state): one walk over the syntax tree
// in one of three phases (fold at load, trace per request, render per variant).
// Private to the template library.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "template/node.hpp"
#include "template/program.hpp"

namespace meshinject::tmpl {

class machine {
 public:
  using mode = call_context::phase;

  // Nothing is owned: the memory comes from the caller (trace_state per request).
  machine(const program& prog, const value& root, mode m, arena& strings, std::string& scratch0,
          std::string& scratch1, std::string& error, std::vector<value>& slots, json_documents* docs,
          trace_state* state);

  // trace/render: walks the whole template; a trace runs the program's flat
  // form unless `by_walk`.
  bool run(render_result* out, std::span<const std::uint8_t> trace_in, bool by_walk = false);

  // fold: evaluates one constant pipeline or operand; nothing when it fails
  // or needs the request.
  std::optional<value> fold(const pipeline& p);
  std::optional<value> fold(const operand& o);

 private:
  class range_body;

  // the flat form (trace only)
  bool run_ops(std::span<const trace_op> ops, const value& dot);
  value eval_planned(const pipeline& p);
  value equal_value(const trace_op& op, const value& dot);
  bool declare(const trace_op& op, const value& v);

  // walking
  bool walk(const std::vector<node>& list, const value& dot);
  bool walk_traced(const std::vector<const node*>& list, const value& dot);
  // A node's body or else branch: in a trace only its traced nodes.
  bool walk_body(const node& n, const value& dot);
  bool walk_else(const node& n, const value& dot);
  bool walk_node(const node& n, const value& dot);
  bool walk_action(const node& n, const value& dot);
  bool walk_if(const node& n, const value& dot);
  bool walk_range(const node& n, const value& dot);
  bool replay_range(const node& n, const value& dot);
  bool range_count(const node& n, const value& coll, std::uint64_t& count);
  bool emit_hole(const node& n, const value& dot);
  bool placeholder(const node& n);
  void bind(const pipeline& p, const value& index, const value& elem);

  // evaluation
  value eval_pipeline(const pipeline& p, const value& dot);
  value eval_value(const pipeline& p, const value& dot);
  value eval_and_keep(const pipeline& p, const value& dot);
  value eval_structure(const pipeline& p, const value& dot);
  value eval_commands(const pipeline& p, std::size_t count, const value& dot);
  value eval_lookup(const pipeline& p);
  value eval_chain(const pipeline& p, const value& dot);
  value fetch_root(int accessor, int slot, std::uint32_t pos);
  const value* fetched(int accessor, int slot, std::uint32_t pos);
  value eval_root_chain(const operand& o);
  value eval_command(const command& c, const value& dot, const value* piped);
  value eval_lazy(const command& c, const value& dot, const value* piped);
  value eval_operand(const operand& o, const value& dot);
  value eval_term(const operand& o, const value& dot);
  value eval_fields(const value& base, const std::vector<std::string>& fields, std::uint32_t pos);
  value call(const function_entry& f, std::span<value> args, std::uint32_t pos);

  // A deferred value as text in the arena.
  value materialize(const value& v);
  bool fail(std::uint32_t pos, std::string_view message);
  bool failed() const noexcept { return cx_.failed_; }
  // Counts one step (eval_limits); false, failed, once the bound is passed.
  bool step(std::uint32_t pos) {
    if (++steps_ <= prog_.limits_.max_steps) return true;
    return fail_bound(pos);
  }
  bool count_output(std::size_t bytes, std::uint32_t pos) {
    output_ += bytes;
    if (output_ <= prog_.limits_.max_output_bytes) return true;
    return fail_bound(pos);
  }
  // A value's text as output: a string's size, or the size of the text the
  // host writes for it later (value::late_size); other values count nothing.
  bool count_value_output(const value& v, std::uint32_t pos) {
    if (v.k == kind::string) return count_output(v.s.size(), pos);
    return v.late_size == 0 || count_output(v.late_size, pos);
  }
  bool fail_bound(std::uint32_t pos);

 public:
  std::uint64_t steps() const noexcept { return steps_; }

 private:

  // trace bookkeeping
  void push_decision(std::uint8_t b);
  bool next_decision(std::uint8_t& b, std::uint32_t pos);
  void push_count(std::uint64_t n);
  bool next_count(std::uint64_t& n, std::uint32_t pos);

  bool append_text(std::string_view text, std::uint32_t template_pos);

  const program& prog_;
  const value& root_;
  mode mode_;
  std::vector<value>& slots_;
  trace_state* state_;
  call_context cx_;
  render_result* out_ = nullptr;
  std::span<const std::uint8_t> trace_in_;
  std::size_t trace_pos_ = 0;
  bool by_walk_ = false;  // a trace by the tree walk (program::trace_by_walk), not the flat form
  std::uint64_t steps_ = 0;
  std::size_t output_ = 0;
};

// 0: `f` is Go's builtin eq, 1: its ne, -1: anything else (funcs_builtin.cpp).
int builtin_equality(const function_entry& f) noexcept;
// `f` is Go's builtin index (funcs_builtin.cpp).
bool builtin_index(const function_entry& f) noexcept;
// `f` is sprig's default (funcs_defaults.cpp).
bool sprig_default(const function_entry& f) noexcept;

// `.name` of any value, with Go's errors.
value field_of(const value& base, std::string_view name, call_context& cx);

}  // namespace meshinject::tmpl
