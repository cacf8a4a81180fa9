// The evaluator. Errors are values: a failing step records its message and the
// walk unwinds; nothing here throws, so the same code serves the request path.

#include "template/machine.hpp"

#include <new>
#include <optional>
#include <type_traits>

#include "template/binding.hpp"
#include "template/funcs_support.hpp"
#include "template/parse.hpp"

namespace meshinject::tmpl {

// ------------------------------------------------------------ call_context

bool call_context::fail(std::string_view message) {
  if (failed_) return false;
  failed_ = true;
  const auto [line, col] = prog_->line_column(pos_);
  std::string& e = *error_;
  e.clear();
  e += "template:";
  append_int(e, line);
  e += ':';
  append_int(e, col);
  e += ": ";
  e.append(message);
  return false;
}

bool call_context::parse_json(std::string_view text, simdjson::dom::element& out, simdjson::error_code& error) {
  if (!docs_) {
    error = simdjson::UNINITIALIZED;
    return false;
  }
  return docs_->parse(docs_used_++, text, out, error);
}

value call_context::field(const value& v, std::string_view name) { return field_of(v, name, *this); }

void call_context::append_origin(const value& v, std::string& out) const {
  if (v.origin.empty()) return;
  if (!origin_label_.empty()) {
    out += origin_label_;
    out += ' ';
  }
  out += v.origin;
  out += ": ";
}

bool json_documents::parse(std::size_t n, std::string_view text, simdjson::dom::element& out,
                           simdjson::error_code& error) {
  while (parsers_.size() <= n) parsers_.push_back(std::make_unique<simdjson::dom::parser>());
  if (buffers_.size() <= n) buffers_.resize(n + 1);
  std::string& buf = buffers_[n];
  buf.assign(text);
  buf.reserve(text.size() + simdjson::SIMDJSON_PADDING);
  error = parsers_[n]->parse(buf.data(), buf.size(), false).get(out);
  return !error;
}

// ------------------------------------------------------------- trace_state

trace_state::trace_state() {
  trace.reserve(256);
  holes.reserve(128);
  error.reserve(256);
  scratch_[0].reserve(4096);
  scratch_[1].reserve(4096);
}

void trace_state::reset() noexcept {
  trace.clear();
  holes.clear();
  strings.reset();
  error.clear();
}

// ------------------------------------------------------------------ fields

value field_of(const value& base, std::string_view name, call_context& cx) {
  switch (base.k) {
    case kind::unknown:
      return value::unknown();
    case kind::invalid:
    case kind::nil: {
      std::string& m = cx.scratch(1);
      m = "nil pointer evaluating interface {}.";
      m += name;
      break;
    }
    case kind::list:
    case kind::map:
    case kind::json:
    case kind::object:
      return base.type->field(base, name, cx);
    default: {
      std::string& m = cx.scratch(1);
      m = "can't evaluate field ";
      m += name;
      m += " in type ";
      m += type_name(base);
      break;
    }
  }
  cx.fail(cx.scratch(1));
  return value{};
}

// ----------------------------------------------------------------- machine

machine::machine(const program& prog, const value& root, mode m, arena& strings, std::string& scratch0,
                 std::string& scratch1, std::string& error, std::vector<value>& slots, json_documents* docs,
                 trace_state* state)
    : prog_(prog), root_(root), mode_(m), slots_(slots), state_(state),
      cx_(prog, m, strings, scratch0, scratch1, error, docs, root.type ? root.type->origin_label() : std::string_view()) {
  if (slots_.size() < prog_.slot_count_) slots_.resize(prog_.slot_count_);
  slots_[0] = root_;
}

bool machine::fail(std::uint32_t pos, std::string_view message) {
  cx_.pos_ = pos;
  return cx_.fail(message);
}

value machine::materialize(const value& v) {
  std::string& s = cx_.scratch(0);
  s.clear();
  v.deferred(v, s);
  return cx_.text(s, v.origin);
}

std::optional<value> machine::fold(const pipeline& p) {
  value v = eval_pipeline(p, root_);
  if (failed() || v.k == kind::unknown) return std::nullopt;
  return v;
}

std::optional<value> machine::fold(const operand& o) {
  value v = eval_operand(o, root_);
  if (failed() || v.k == kind::unknown) return std::nullopt;
  return v;
}

// ------------------------------------------------------------- evaluation

value machine::eval_pipeline(const pipeline& p, const value& dot) {
  // A per-request expression that does not depend on scope has one value per
  // request: the second and later evaluations (templates repeat lookups) read
  // it back.
  const bool memoized = p.memo >= 0 && mode_ == mode::trace;
  const auto slot = static_cast<std::size_t>(p.memo);
  if (memoized && state_->memo_generation_[slot] == state_->generation_) return state_->memo_[slot];
  if (!memoized && p.decl_slots.size() != 1) return eval_value(p, dot);
  return eval_and_keep(p, dot);
}

// Values are returned by value and built in the caller's slot: assigning a
// returned temporary to a variable copies it right after it was written, which
// stalls store forwarding. Hence one return statement where it matters.
value machine::eval_value(const pipeline& p, const value& dot) {
  return p.fast && mode_ == mode::trace               ? eval_lookup(p)
         : p.folded                                   ? *p.folded
         : p.chain && mode_ == mode::trace && !by_walk_ ? eval_chain(p, dot)
                                                      : eval_commands(p, p.cmds.size(), dot);
}

// Evaluates and keeps the value in the declared variable or the memo slot.
value machine::eval_and_keep(const pipeline& p, const value& dot) {
  value v = eval_value(p, dot);
  if (!failed()) {
    if (p.decl_slots.size() == 1) slots_[static_cast<std::size_t>(p.decl_slots[0])] = v;
    if (p.memo >= 0 && mode_ == mode::trace) {
      state_->memo_[static_cast<std::size_t>(p.memo)] = v;
      state_->memo_generation_[static_cast<std::size_t>(p.memo)] = state_->generation_;
    }
  }
  return v;
}

value machine::eval_commands(const pipeline& p, std::size_t count, const value& dot) {
  if (count == 1) return eval_command(p.cmds[0], dot, nullptr);
  value v;
  for (std::size_t k = 0; k < count; ++k) {
    v = eval_command(p.cmds[k], dot, k > 0 ? &v : nullptr);
    if (failed()) return value{};
  }
  return v;
}

namespace {

// The result is set in place in what find() returned, and returned by name
// alone, so it is built in the caller's slot (no copy, no stall).
value find_for(const value& map, const pipeline::lookup& l) noexcept {
  value v = map.type ? map.type->find(map, l.key) : value{};
  if (l.mode == lookup_plan::result::exists) {
    v.b = v.k != kind::invalid;
    v.k = kind::boolean;
    v.s = {};
    v.origin = {};
  } else if (v.k == kind::invalid) {
    v.k = kind::string;
    v.s = l.fallback;
  }
  return v;
}

}  // namespace

// The planned map lookup (program.cpp, plan_lookup): one fetch of the map and
// one scan, instead of evaluating the call.
value machine::eval_lookup(const pipeline& p) {
  const pipeline::lookup& l = *p.fast;
  if (mode_ == mode::trace && l.fetch_slot >= 0) {
    // The map stays in its slot: read there, not copied out.
    const value* m = fetched(l.accessor, l.fetch_slot, p.pos);
    if (!m) return value{};
    if (m->k == kind::unknown) return *m;
    if (l.mode == lookup_plan::result::index) return index_value(*m, value::string(l.key), cx_);
    return find_for(*m, l);
  }
  const value m = fetch_root(l.accessor, l.fetch_slot, p.pos);
  if (failed() || m.k == kind::unknown) return m;
  if (l.mode == lookup_plan::result::index) return index_value(m, value::string(l.key), cx_);
  return find_for(m, l);
}

// `index M "k" | default X ... | rest` as eval_commands runs it, without the
// generic calls of the head and the defaults: the same fetch, steps, output
// count and errors (the head's error at the head, as fn_index reports it).
// Anything unusual (an unknown or deferred value) goes through call() as the
// walk's would.
value machine::eval_chain(const pipeline& p, const value& dot) {
  const pipeline::default_chain& c = *p.chain;
  const operand& map_operand = *c.map;
  value walked;  // a chain without an accessor, from its memo slot
  const value* m = &walked;
  if (map_operand.accessor >= 0) m = fetched(map_operand.accessor, map_operand.fetch_slot, map_operand.pos);
  else walked = eval_root_chain(map_operand);
  if (!m || failed()) return value{};
  value v;
  if (m->k == kind::unknown || m->deferred) {
    value args[2] = {*m, c.key};
    v = call(*c.head_fn, args, c.head_pos);
  } else {
    if (!step(c.head_pos)) return value{};
    cx_.pos_ = c.head_pos;
    v = index_value(*m, c.key, cx_);
    if (!failed() && v.k == kind::string) count_output(v.s.size(), c.head_pos);
  }
  if (failed()) return value{};
  for (std::size_t k = 1; k <= c.defaults; ++k) {
    const command& d = p.cmds[k];
    const value fallback = eval_operand(d.args[1], dot);
    if (failed()) return value{};
    const std::uint32_t pos = d.args[0].pos;
    if (fallback.k == kind::unknown || v.k == kind::unknown || fallback.deferred || v.deferred) {
      value args[2] = {fallback, v};
      v = call(*d.args[0].fn, args, pos);
    } else {
      if (!step(pos)) return value{};
      cx_.pos_ = pos;
      if (sprig::empty(v)) v = fallback;
      if (v.k == kind::string) count_output(v.s.size(), pos);
    }
    if (failed()) return value{};
  }
  for (std::size_t k = 1 + c.defaults; k < p.cmds.size(); ++k) {
    v = eval_command(p.cmds[k], dot, &v);
    if (failed()) return value{};
  }
  return v;
}

// A trace's resolved root chain in its slot, fetched on first use; null when
// the fetch failed.
const value* machine::fetched(int accessor, int slot, std::uint32_t pos) {
  cx_.pos_ = pos;
  const auto s = static_cast<std::size_t>(slot);
  if (state_->fetched_generation_[s] != state_->generation_) {
    state_->fetched_[s] = root_.type->fetch(root_, accessor, cx_);
    if (failed()) return nullptr;
    state_->fetched_generation_[s] = state_->generation_;
  }
  return &state_->fetched_[s];
}

// A resolved root chain. In a trace its value is the same for the whole walk,
// so the first fetch is kept in the caller's state for the rest of it.
value machine::fetch_root(int accessor, int slot, std::uint32_t pos) {
  cx_.pos_ = pos;
  if (mode_ != mode::trace || slot < 0) return root_.type->fetch(root_, accessor, cx_);
  const auto s = static_cast<std::size_t>(slot);
  if (state_->fetched_generation_[s] == state_->generation_) return state_->fetched_[s];
  value v = root_.type->fetch(root_, accessor, cx_);
  if (!failed()) {
    state_->fetched_[s] = v;
    state_->fetched_generation_[s] = state_->generation_;
  }
  return v;
}

value machine::eval_command(const command& c, const value& dot, const value* piped) {
  const operand& head = c.args[0];
  if (head.k != operand::kind::function) return eval_operand(head, dot);  // the parser allows no arguments
  if (head.fn->lazy != function_entry::special::none) return eval_lazy(c, dot, piped);
  // Arguments live in raw storage: default-constructing sixteen values for every
  // call cost more than evaluating most calls.
  static_assert(std::is_trivially_destructible_v<value>);
  alignas(value) unsigned char storage[sizeof(value) * 16];
  value* args = reinterpret_cast<value*>(storage);
  std::size_t n = 0;
  for (std::size_t k = 1; k < c.args.size(); ++k) {
    if (n == 15) {
      fail(c.pos, "too many arguments");
      return value{};
    }
    new (&args[n++]) value(eval_operand(c.args[k], dot));
    if (failed()) return value{};
  }
  if (piped) new (&args[n++]) value(*piped);
  return call(*head.fn, std::span<value>(args, n), head.pos);
}

// and/or evaluate their arguments lazily (Go 1.18+) and return the deciding one.
value machine::eval_lazy(const command& c, const value& dot, const value* piped) {
  const bool is_and = c.args[0].fn->lazy == function_entry::special::and_;
  value last;
  const std::size_t n = c.args.size() - 1 + (piped ? 1 : 0);
  for (std::size_t k = 0; k < n; ++k) {
    last = (k + 1 < c.args.size()) ? eval_operand(c.args[k + 1], dot) : *piped;
    if (failed()) return value{};
    if (last.k == kind::unknown) return last;
    if (truth(last) != is_and) return last;
  }
  return last;
}

value machine::eval_operand(const operand& o, const value& dot) {
  if (o.folded) return *o.folded;
  if (o.accessor >= 0) {
    // A field chain from the root that the root binding resolved at load.
    return fetch_root(o.accessor, o.fetch_slot, o.pos);
  }
  if (o.memo >= 0 && mode_ == mode::trace) return eval_root_chain(o);
  if (o.k == operand::kind::field) return eval_fields(dot, o.fields, o.pos);
  if (o.fields.empty()) return eval_term(o, dot);
  const value v = eval_term(o, dot);
  if (failed()) return value{};
  return eval_fields(v, o.fields, o.pos);
}

// A per-request chain from the root, walked once per trace and then read back.
value machine::eval_root_chain(const operand& o) {
  const auto slot = static_cast<std::size_t>(o.memo);
  if (state_->memo_generation_[slot] == state_->generation_) return state_->memo_[slot];
  value v = eval_fields(root_, o.fields, o.pos);
  if (!failed()) {
    state_->memo_[slot] = v;
    state_->memo_generation_[slot] = state_->generation_;
  }
  return v;
}

// An operand without its field chain.
value machine::eval_term(const operand& o, const value& dot) {
  switch (o.k) {
    case operand::kind::dot:
    case operand::kind::field: return dot;
    case operand::kind::variable: return slots_[static_cast<std::size_t>(o.slot)];
    case operand::kind::string: return value::string(o.name);
    case operand::kind::integer: return value::integer(o.i);
    case operand::kind::floating: return value::floating(o.f);
    case operand::kind::boolean: return value::boolean(o.b);
    case operand::kind::nil: return value::nil();
    case operand::kind::function: return call(*o.fn, {}, o.pos);
    case operand::kind::sub: return eval_pipeline(*o.sub, dot);
  }
  return value{};
}

value machine::eval_fields(const value& base, const std::vector<std::string>& fields, std::uint32_t pos) {
  cx_.pos_ = pos;
  if (fields.size() == 1) return field_of(base, fields[0], cx_);
  value v = base;
  for (const std::string& name : fields) {
    v = field_of(v, name, cx_);
    if (failed()) return value{};
  }
  return v;
}

value machine::call(const function_entry& f, std::span<value> a, std::uint32_t pos) {
  for (value& x : a) {
    if (x.k == kind::unknown) return value::unknown();
    // A deferred result handed to another function is its text, as in Go. (A
    // structured hole evaluates only up to the deferring call and keeps it.)
    if (x.deferred) x = materialize(x);
  }
  if (!step(pos)) return value{};
  cx_.pos_ = pos;
  value result = f.impl(cx_, a);  // the caller checks failed()
  if (!count_value_output(result, pos)) return value{};
  return result;
}

// ------------------------------------------------------------------- walk

bool machine::run(render_result* out, std::span<const std::uint8_t> trace_in, bool by_walk) {
  out_ = out;
  trace_in_ = trace_in;
  trace_pos_ = 0;
  by_walk_ = by_walk;
  const bool walked = mode_ != mode::trace ? walk(prog_.parsed_->root, root_)
                      : by_walk            ? walk_traced(prog_.traced_root_, root_)
                                           : run_ops(prog_.parsed_->trace_ops, root_);
  if (!walked) return false;
  if (mode_ == mode::render && trace_pos_ != trace_in_.size())
    return fail(0, "internal: the variant key was not consumed by the render");
  return !failed();
}

bool machine::append_text(std::string_view text, std::uint32_t template_pos) {
  if (!out_ || text.empty()) return true;
  if (!count_output(text.size(), template_pos)) return false;
  out_->source_map.emplace_back(static_cast<std::uint32_t>(out_->text.size()), template_pos);
  out_->text += text;
  return true;
}

bool machine::fail_bound(std::uint32_t pos) {
  // Said once: a range over the failed body must not overwrite the message.
  if (failed()) return false;
  std::string& m = cx_.scratch(1);
  m.clear();
  if (steps_ > prog_.limits_.max_steps) {
    m += "template evaluation passed its bound of ";
    append_int(m, static_cast<std::int64_t>(prog_.limits_.max_steps));
    m += " steps for one pod (--max-template-steps)";
  } else {
    m += "template evaluation passed its bound of ";
    append_int(m, static_cast<std::int64_t>(prog_.limits_.max_output_bytes));
    m += " bytes of output for one pod (--max-patch-bytes)";
  }
  return fail(pos, m);
}

void machine::push_decision(std::uint8_t b) { state_->trace.push_back(b); }

bool machine::next_decision(std::uint8_t& b, std::uint32_t pos) {
  if (trace_pos_ >= trace_in_.size()) return fail(pos, "internal: variant key too short");
  b = trace_in_[trace_pos_++];
  return true;
}

void machine::push_count(std::uint64_t n) {
  do {
    std::uint8_t byte = n & 0x7F;
    n >>= 7;
    if (n) byte |= 0x80;
    state_->trace.push_back(byte);
  } while (n);
}

bool machine::next_count(std::uint64_t& n, std::uint32_t pos) {
  n = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    std::uint8_t b = 0;
    if (!next_decision(b, pos)) return false;
    n |= static_cast<std::uint64_t>(b & 0x7F) << shift;
    if (!(b & 0x80)) return true;
  }
  return fail(pos, "internal: bad count in variant key");
}

// ------------------------------------------------------------- flat form

// The trace by its flat form (program.cpp, flatten_traced): the same steps,
// decisions, holes and memo slots as walk_traced over the same traced nodes, in
// one loop. Every node of one list has the same dot: the root's list, or the
// body of one with or range.
bool machine::run_ops(std::span<const trace_op> ops, const value& dot) {
  std::size_t pc = 0;
  while (pc < ops.size()) {
    const trace_op& op = ops[pc];
    const node& n = *op.n;
    if (op.c == trace_op::code::jump) {
      pc = op.target;
      continue;
    }
    if (op.c == trace_op::code::walk) {
      if (!walk_node(n, dot)) return false;
      ++pc;
      continue;
    }
    if (op.steps && !step(n.pos)) return false;
    bool taken = false;
    switch (op.c) {
      case trace_op::code::test: {
        const value v = op.lookup ? eval_planned(*op.lookup) : eval_operand(*op.subject, dot);
        if (failed()) return false;
        pc = truth(v) == op.jump_when ? op.target : pc + 1;
        continue;
      }
      case trace_op::code::mark:
        push_decision(op.bit ? 1 : 0);
        ++pc;
        continue;
      case trace_op::code::hole:
        if (!emit_hole(n, dot)) return false;
        ++pc;
        continue;
      case trace_op::code::hole_lookup: {
        value v = eval_planned(*op.pipe);
        if (failed()) return false;
        if (v.deferred) v = materialize(v);
        if (v.k == kind::string && !count_output(v.s.size(), n.pos)) return false;
        state_->holes.push_back(v);
        ++pc;
        continue;
      }
      case trace_op::code::decide: {
        const value v = eval_pipeline(*n.pipe, dot);
        if (failed()) return false;
        taken = truth(v);
        break;
      }
      case trace_op::code::decide_lookup: {
        const value v = eval_planned(*op.pipe);
        if (failed()) return false;
        taken = truth(v);
        break;
      }
      case trace_op::code::decide_equal: {
        const value v = equal_value(op, dot);
        if (failed()) return false;
        taken = truth(v);
        break;
      }
      case trace_op::code::declare:
        if (!declare(op, eval_pipeline(*op.pipe, dot))) return false;
        ++pc;
        continue;
      case trace_op::code::declare_lookup:
        if (!declare(op, eval_planned(*op.pipe))) return false;
        ++pc;
        continue;
      case trace_op::code::declare_equal:
        if (!declare(op, equal_value(op, dot))) return false;
        ++pc;
        continue;
      case trace_op::code::walk:
      case trace_op::code::jump:
        break;
    }
    if (op.record) push_decision(taken ? 1 : 0);
    pc = taken ? pc + 1 : op.target;
  }
  return true;
}

// A planned lookup as eval_pipeline would give it in a trace, memo slot included.
value machine::eval_planned(const pipeline& p) {
  if (p.memo < 0) return eval_lookup(p);
  const auto slot = static_cast<std::size_t>(p.memo);
  if (state_->memo_generation_[slot] == state_->generation_) return state_->memo_[slot];
  value v = eval_lookup(p);
  if (!failed()) {
    state_->memo_[slot] = v;
    state_->memo_generation_[slot] = state_->generation_;
  }
  return v;
}

// `eq`/`ne` of a per-request operand and a constant string. A string operand
// is compared here (what equal_any does for two strings, with the call's
// step); anything else goes through the function as the walk would call it.
value machine::equal_value(const trace_op& op, const value& dot) {
  const pipeline& p = *op.pipe;
  const bool memoized = p.memo >= 0;
  const auto slot = static_cast<std::size_t>(p.memo);
  if (memoized && state_->memo_generation_[slot] == state_->generation_) return state_->memo_[slot];
  const operand& head = p.cmds[0].args[0];
  const value v = op.lookup ? eval_planned(*op.lookup) : eval_operand(*op.subject, dot);
  if (failed()) return value{};
  value result;
  if (v.k == kind::string && !v.deferred) {
    if (!step(head.pos)) return value{};
    result = value::boolean((v.s == op.constant_text) != op.negate);
  } else {
    const value c = eval_operand(*op.constant, dot);
    value args[2] = {op.subject_first ? v : c, op.subject_first ? c : v};
    result = call(*head.fn, args, head.pos);
    if (failed()) return value{};
  }
  if (memoized) {
    state_->memo_[slot] = result;
    state_->memo_generation_[slot] = state_->generation_;
  }
  return result;
}

// A declaration's value into its variable, unless its evaluation failed (as
// eval_and_keep keeps it).
bool machine::declare(const trace_op& op, const value& v) {
  if (failed()) return false;
  slots_[static_cast<std::size_t>(op.slot)] = v;
  return true;
}

// A render's walk: every node (a trace walks the traced lists instead).
bool machine::walk(const std::vector<node>& list, const value& dot) {
  for (const node& n : list)
    if (!walk_node(n, dot)) return false;
  return true;
}

bool machine::walk_traced(const std::vector<const node*>& list, const value& dot) {
  for (const node* n : list)
    if (!walk_node(*n, dot)) return false;
  return true;
}

// In a trace by the flat form only a with's or range's bodies come here (an
// if's are part of the list it is in).
bool machine::walk_body(const node& n, const value& dot) {
  if (mode_ != mode::trace) return walk(n.body, dot);
  return by_walk_ ? walk_traced(n.traced_body, dot) : run_ops(n.body_ops, dot);
}

bool machine::walk_else(const node& n, const value& dot) {
  if (mode_ != mode::trace) return walk(n.else_body, dot);
  return by_walk_ ? walk_traced(n.traced_else, dot) : run_ops(n.else_ops, dot);
}

bool machine::walk_node(const node& n, const value& dot) {
  if (!step(n.pos)) return false;
  switch (n.k) {
    case node::kind::text:
      return mode_ != mode::render || append_text(n.text, n.pos);
    case node::kind::action: return walk_action(n, dot);
    case node::kind::if_:
    case node::kind::with: return walk_if(n, dot);
    case node::kind::range: return walk_range(n, dot);
  }
  return true;
}

bool machine::walk_action(const node& n, const value& dot) {
  const pipeline& p = *n.pipe;
  if (!p.decl.empty()) {
    if (p.varies && mode_ == mode::render) {
      for (int s : p.decl_slots) slots_[static_cast<std::size_t>(s)] = value::unknown();
      return true;
    }
    eval_pipeline(p, dot);
    return !failed();
  }
  if (p.varies) return emit_hole(n, dot);
  if (mode_ == mode::trace) return true;  // constant text belongs to the variant
  const value v = eval_pipeline(p, dot);
  if (failed()) return false;
  std::string& s = cx_.scratch(0);
  s.clear();
  print_value(v, s);
  return append_text(s, n.pos);
}

bool machine::walk_if(const node& n, const value& dot) {
  const pipeline& p = *n.pipe;
  if (p.varies && mode_ == mode::render) {
    // The decision comes from the trace; what it decided on is unknown.
    std::uint8_t b = 0;
    if (!next_decision(b, n.pos)) return false;
    const value unknown = value::unknown();
    for (int s : p.decl_slots) slots_[static_cast<std::size_t>(s)] = unknown;
    if (b != 0) return walk(n.body, n.k == node::kind::with ? unknown : dot);
    return walk(n.else_body, dot);
  }
  const value v = eval_pipeline(p, dot);
  if (failed()) return false;
  const bool taken = truth(v);
  if (p.varies) push_decision(taken ? 1 : 0);
  if (taken) return walk_body(n, n.k == node::kind::with ? v : dot);
  return walk_else(n, dot);
}

// The placeholder for the next hole of a render.
bool machine::placeholder(const node& n) {
  const pipeline& p = *n.pipe;
  const auto index = out_->holes.size();
  out_->holes.push_back(hole_info{p.structured, n.pos});
  std::string& token = cx_.scratch(0);
  token.clear();
  token += hole_open;
  append_int(token, static_cast<std::int64_t>(index));
  token += hole_close;
  if (p.structured) {
    // At the start of a line, structure is expected: make the placeholder a
    // mapping entry of its own so the surrounding YAML still parses.
    const std::size_t nl = out_->text.rfind('\n');
    const std::string_view line(out_->text.data() + (nl == std::string::npos ? 0 : nl + 1),
                                out_->text.size() - (nl == std::string::npos ? 0 : nl + 1));
    if (line.find_first_not_of(' ') == std::string_view::npos) token += ": ~";
  }
  return append_text(token, n.pos);
}

bool machine::emit_hole(const node& n, const value& dot) {
  if (mode_ == mode::render) return placeholder(n);
  const pipeline& p = *n.pipe;
  value v = p.structured ? eval_structure(p, dot) : eval_pipeline(p, dot);
  if (failed()) return false;
  // A deferred value printed as text (through a variable, say): as Go prints it;
  // text the host writes itself (late_size) is left for it to make.
  if (v.deferred && !p.structured && v.late_size == 0) v = materialize(v);
  // A memoized value is made once and may fill many holes: each counts.
  if (!count_value_output(v, n.pos)) return false;
  state_->holes.push_back(v);
  return true;
}

value machine::eval_structure(const pipeline& p, const value& dot) {
  // `toYaml x`, `toYaml x | indent n` or `indent n (toYaml x)`: the host lays
  // the structure out itself, so only the deferring part is evaluated (the
  // text transforms around it would turn the structure into text).
  auto keeps = [](const command& c) {
    return c.args[0].k == operand::kind::function && c.args[0].fn->result == function_entry::shape::keeps_structure;
  };
  const pipeline* core = &p;
  while (keeps(core->cmds.back()) &&
         static_cast<int>(core->cmds.back().args.size()) - 1 == core->cmds.back().args[0].fn->max_args &&
         core->cmds.back().args.back().k == operand::kind::sub)
    core = core->cmds.back().args.back().sub.get();
  return eval_commands(*core, keeps(core->cmds.back()) ? core->cmds.size() - 1 : core->cmds.size(), dot);
}

void machine::bind(const pipeline& p, const value& index, const value& elem) {
  const std::vector<int>& slots = p.decl_slots;
  if (slots.size() == 1) slots_[static_cast<std::size_t>(slots[0])] = elem;
  if (slots.size() == 2) {
    slots_[static_cast<std::size_t>(slots[0])] = index;
    slots_[static_cast<std::size_t>(slots[1])] = elem;
  }
}

class machine::range_body final : public range_visitor {
 public:
  range_body(machine& m, const node& n) : m_(m), n_(n) {}
  bool visit(const value& key, const value& element) override {
    m_.bind(*n_.pipe, key, element);
    return m_.step(n_.pos) && m_.walk_body(n_, element);
  }

 private:
  machine& m_;
  const node& n_;
};

bool machine::walk_range(const node& n, const value& dot) {
  const pipeline& p = *n.pipe;
  if (p.varies && mode_ == mode::render) return replay_range(n, dot);
  // The collection, without binding the declaration: in a range the variables
  // name the elements.
  const value coll = p.folded ? *p.folded : eval_commands(p, p.cmds.size(), dot);
  if (failed()) return false;
  std::uint64_t count = 0;
  if (!range_count(n, coll, count)) return false;
  if (p.varies) push_count(count);
  if (count == 0) return walk_else(n, dot);
  if (coll.k == kind::integer) {
    for (std::uint64_t i = 0; i < count; ++i) {
      const value iv = value::integer(static_cast<std::int64_t>(i));
      bind(p, iv, iv);
      if (!step(n.pos) || !walk_body(n, iv)) return false;
    }
    return true;
  }
  range_body body(*this, n);
  cx_.pos_ = n.pos;
  return coll.type->range(coll, body, cx_) && !failed();
}

// A render replays a per-request range: as many iterations as the trace says,
// over unknown elements.
bool machine::replay_range(const node& n, const value& dot) {
  std::uint64_t count;
  if (!next_count(count, n.pos)) return false;
  if (count == 0) return walk(n.else_body, dot);
  for (std::uint64_t i = 0; i < count; ++i) {
    bind(*n.pipe, value::unknown(), value::unknown());
    if (!step(n.pos) || !walk(n.body, value::unknown())) return false;
  }
  return true;
}

bool machine::range_count(const node& n, const value& coll, std::uint64_t& count) {
  count = 0;
  if (!coll.deferred) {
    switch (coll.k) {
      case kind::nil:
      case kind::invalid:
        return true;
      case kind::integer:
        count = coll.i > 0 ? static_cast<std::uint64_t>(coll.i) : 0;
        return true;
      case kind::list:
      case kind::map:
      case kind::json:
      case kind::object: {
        std::int64_t length = 0;
        if (!coll.type->length(coll, length)) break;
        count = length > 0 ? static_cast<std::uint64_t>(length) : 0;
        return true;
      }
      default:
        break;
    }
  }
  std::string& shown = cx_.scratch(0);
  shown.clear();
  cx_.append_origin(coll, shown);  // data that cannot be ranged over names where it came from
  shown += "range can't iterate over ";
  // A structure's text: Go cannot range over a string either.
  if (coll.deferred) coll.deferred(coll, shown);
  else print_value(coll, shown);
  return fail(n.pos, shown);
}

// ------------------------------------------------------------------ program

bool program::trace(const value& root, trace_state& state) const { return run_trace(root, state, false); }

bool program::trace_by_walk(const value& root, trace_state& state) const { return run_trace(root, state, true); }

bool program::run_trace(const value& root, trace_state& state, bool by_walk) const {
  state.reset();
  if (state.memo_.size() < memo_slots_) {
    state.memo_.resize(memo_slots_);
    state.memo_generation_.resize(memo_slots_, 0);
  }
  if (state.fetched_.size() < fetch_slots_) {
    state.fetched_.resize(fetch_slots_);
    state.fetched_generation_.resize(fetch_slots_, 0);
  }
  if (++state.generation_ == 0) {  // wrapped: forget every slot
    std::fill(state.memo_generation_.begin(), state.memo_generation_.end(), 0);
    std::fill(state.fetched_generation_.begin(), state.fetched_generation_.end(), 0);
    state.generation_ = 1;
  }
  machine m(*this, root, machine::mode::trace, state.strings, state.scratch_[0], state.scratch_[1], state.error,
            state.slots_, &state.docs_, &state);
  const bool ok = m.run(nullptr, {}, by_walk);
  state.steps = m.steps();
  return ok;
}

bool program::render(const value& root, std::span<const std::uint8_t> trace, render_result& out,
                     std::string& error, trace_state& workspace) const {
  out.text.clear();
  out.holes.clear();
  out.source_map.clear();
  out.steps = 0;
  workspace.reset();
  machine m(*this, root, machine::mode::render, workspace.strings, workspace.scratch_[0], workspace.scratch_[1], error,
            workspace.slots_, &workspace.docs_, nullptr);
  const bool ok = m.run(&out, trace);
  out.steps = m.steps();
  return ok;
}

bool program::render(const value& root, std::span<const std::uint8_t> trace, render_result& out,
                     std::string& error) const {
  out = render_result{};
  arena strings;
  std::string scratch[2];
  std::vector<value> slots;
  json_documents docs;  // the render's text is copied out before they go
  machine m(*this, root, machine::mode::render, strings, scratch[0], scratch[1], error, slots, &docs, nullptr);
  const bool ok = m.run(&out, trace);
  out.steps = m.steps();
  return ok;
}

}  // namespace meshinject::tmpl
