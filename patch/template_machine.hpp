#pragma once
// The evaluator behind template_program: one walk over the syntax tree in one of
// three modes. Private to the template implementation.

#include <span>
#include <string>
#include <vector>

#include "patch/template_program.hpp"

namespace meshinject::patch::tmpl {

class machine {
 public:
  enum class mode { fold, trace, render };

  machine(const program& prog, const template_data& data, mode m, arena& strings, std::string& scratch,
          std::string& error, std::vector<value>& slots, trace_state* state);

  // trace/render: walks the whole template.
  bool run(render_result* out, std::span<const std::uint8_t> trace_in);

  // fold: evaluates one constant pipeline or operand.
  bool fold(const pipeline& p, value& out);
  bool fold(const operand& o, value& out);

 private:
  bool walk(const std::vector<node>& list, const value& dot);
  bool walk_node(const node& n, const value& dot);
  bool walk_range(const node& n, const value& dot);
  bool emit_hole(const node& n, const value& dot);

  value eval_pipeline(const pipeline& p, const value& dot);
  value eval_shortcut(const pipeline& p);
  value eval_command(const command& c, const value& dot, const value* piped);
  value eval_operand(const operand& o, const value& dot);
  value eval_fields(value v, const std::vector<std::string>& fields, std::size_t from, std::uint32_t pos);
  value field_of(const value& base, std::string_view name, std::uint32_t pos);
  value call(function_id fn, std::span<value> args, std::uint32_t pos);

  // functions
  value fn_index(std::span<value> args, std::uint32_t pos);
  value fn_len(const value& v, std::uint32_t pos);
  value fn_compare(function_id fn, std::span<value> args, std::uint32_t pos);
  value fn_print(function_id fn, std::span<value> args, std::uint32_t pos);
  value fn_printf(std::span<value> args, std::uint32_t pos);
  value fn_to_json(const value& v, std::uint32_t pos);
  value fn_from_json(const value& v, std::uint32_t pos);
  value fn_to_yaml(const value& v, std::uint32_t pos);
  value fn_ports(const value& v, bool skip_proxy, std::uint32_t pos);

  // Text produced by a function: formatted in scratch, copied into the arena.
  value text_value(std::string_view s, std::string_view origin = {});
  void sprint(const value& v, std::string& out);  // fmt.Sprint of one operand
  void materialize_yaml(const value& v, std::string& out);

  bool fail(std::uint32_t pos, std::string_view message);
  bool failed() const noexcept { return failed_; }

  // trace bookkeeping
  void push_decision(std::uint8_t b);
  bool next_decision(std::uint8_t& b, std::uint32_t pos);
  void push_count(std::uint64_t n);
  bool next_count(std::uint64_t& n, std::uint32_t pos);

  void append_text(std::string_view text, std::uint32_t template_pos);

  const program& prog_;
  const template_data& data_;
  mode mode_;
  arena& strings_;
  std::string& scratch_;
  std::string& error_;
  std::vector<value>& slots_;
  trace_state* state_;
  render_result* out_ = nullptr;
  std::span<const std::uint8_t> trace_in_;
  std::size_t trace_pos_ = 0;
  std::size_t json_docs_ = 0;
  bool failed_ = false;
  value root_;
};

}  // namespace meshinject::patch::tmpl
