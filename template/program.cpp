#include "template/program.hpp"

#include <map>

#include "template/binding.hpp"
#include "template/machine.hpp"
#include "template/parse.hpp"

namespace meshinject::tmpl {
namespace {

struct dot_info {
  bool root = true;  // `.` is the template data itself
  bool varies = true;
};

// Resolves variables and classifies every expression: whether it varies per
// request, reads a scope, calls an impure function, yields structure. Runs until
// nothing changes: an assignment late in a range body can make an earlier use
// vary per request.
class analyzer {
 public:
  explicit analyzer(const value& root) : root_(root) {}

  std::size_t slots() const { return slot_varies_.size(); }
  std::size_t decisions = 0;
  std::size_t holes = 0;

  void run(std::vector<node>& root) {
    slot_varies_.assign(1, true);  // `$`
    for (int pass = 0; pass < 8; ++pass) {
      changed_ = false;
      scope_.clear();
      next_slot_ = 1;
      decisions = holes = 0;
      list(root, dot_info{});
      if (!changed_) return;
    }
  }

 private:
  void list(std::vector<node>& nodes, dot_info dot) {
    for (node& n : nodes) visit(n, dot);
  }

  void visit(node& n, dot_info dot) {
    switch (n.k) {
      case node::kind::text: return;
      case node::kind::action: {
        pipe(*n.pipe, dot);
        if (n.pipe->decl.empty() && n.pipe->varies) ++holes;
        return;
      }
      case node::kind::if_:
      case node::kind::with: {
        const std::size_t mark = scope_.size();
        pipe(*n.pipe, dot);
        if (n.pipe->varies) ++decisions;
        n.varying_dot = n.pipe->varies;
        dot_info inner = dot;
        if (n.k == node::kind::with) inner = dot_info{false, n.pipe->varies};
        list(n.body, inner);
        list(n.else_body, dot);
        scope_.resize(mark);
        return;
      }
      case node::kind::range: {
        const std::size_t mark = scope_.size();
        pipe(*n.pipe, dot);
        if (n.pipe->varies) ++decisions;
        n.varying_dot = n.pipe->varies;
        list(n.body, dot_info{false, n.pipe->varies});
        list(n.else_body, dot);
        scope_.resize(mark);
        return;
      }
    }
  }

  int declare(const std::string& name, bool varies) {
    const int slot = next_slot_++;
    if (static_cast<std::size_t>(slot) >= slot_varies_.size()) slot_varies_.push_back(false);
    mark(slot, varies);
    scope_.emplace_back(name, slot);
    return slot;
  }

  void mark(int slot, bool varies) {
    if (varies && !slot_varies_[static_cast<std::size_t>(slot)]) {
      slot_varies_[static_cast<std::size_t>(slot)] = true;
      changed_ = true;
    }
  }

  int lookup(const std::string& name, std::uint32_t pos) {
    if (name.empty()) return 0;
    for (auto it = scope_.rbegin(); it != scope_.rend(); ++it)
      if (it->first == name) return it->second;
    throw program::compile_error{pos, "undefined variable: $" + name};
  }

  void pipe(pipeline& p, dot_info dot) {
    bool varies = false, scoped = false, impure = false;
    bool have_piped = false;
    for (command& c : p.cmds) {
      bool cmd_varies = have_piped && varies;
      for (operand& o : c.args) {
        operand_(o, dot);
        cmd_varies = cmd_varies || o.varies;
        scoped = scoped || o.uses_scope;
        impure = impure || o.impure;
      }
      varies = varies || cmd_varies;
      have_piped = true;
    }
    p.varies = varies;
    p.uses_scope = scoped;
    p.impure = impure;
    p.structured = varies && yields_structure(p);

    p.decl_slots.clear();
    if (!p.decl.empty()) {
      if (p.assign) {
        const int slot = lookup(p.decl[0], p.pos);
        mark(slot, varies);
        p.decl_slots.push_back(slot);
      } else {
        for (const std::string& name : p.decl) p.decl_slots.push_back(declare(name, varies));
      }
    }
  }

  void operand_(operand& o, dot_info dot) {
    switch (o.k) {
      case operand::kind::dot:
        o.varies = dot.root || dot.varies;
        o.uses_scope = !dot.root;
        if (dot.root && !o.fields.empty()) root_chain(o);
        break;
      case operand::kind::field:
        if (dot.root) {
          root_chain(o);
        } else {
          o.varies = dot.varies;
          o.uses_scope = true;
        }
        break;
      case operand::kind::variable:
        o.slot = lookup(o.name, o.pos);
        if (o.slot == 0) {
          if (o.fields.empty()) o.varies = true;
          else root_chain(o);
        } else {
          o.varies = slot_varies_[static_cast<std::size_t>(o.slot)];
          o.uses_scope = true;
        }
        break;
      case operand::kind::function:
        o.impure = !o.fn->pure;
        break;
      case operand::kind::sub:
        pipe(*o.sub, dot);
        o.varies = o.sub->varies;
        o.uses_scope = o.sub->uses_scope;
        o.impure = o.sub->impure;
        break;
      default:
        break;
    }
  }

  // A field chain from the root: the root binding checks it (a typo is a load
  // error with its position rather than a failure on the first request), says
  // whether it varies per request, and may resolve it to an accessor.
  void root_chain(operand& o) {
    std::string error;
    const chain_info info = root_.k == kind::object ? root_.type->check_chain(root_, o.fields, error) : chain_info{};
    if (!info.ok) throw program::compile_error{o.pos, error};
    if (info.varies) o.varies = true;
    o.root_chain = true;
    o.accessor = info.accessor;
  }

  // `toYaml x`, `toYaml x | indent n`, `indent n (toYaml x)`: the pipeline's text
  // is the structure of its data, which the host may splice as data.
  static bool yields_structure(const pipeline& p) {
    const command& last = p.cmds.back();
    const operand& head = last.args[0];
    if (head.k != operand::kind::function) return false;
    if (head.fn->result == function_entry::shape::structure) return true;
    if (head.fn->result != function_entry::shape::keeps_structure) return false;
    const bool explicit_last = static_cast<int>(last.args.size()) - 1 == head.fn->max_args;
    if (explicit_last) return last.args.back().k == operand::kind::sub && last.args.back().sub->structured;
    if (p.cmds.size() < 2) return false;
    const operand& prev = p.cmds[p.cmds.size() - 2].args[0];
    return prev.k == operand::kind::function && prev.fn->result == function_entry::shape::structure;
  }

  const value& root_;
  std::vector<std::pair<std::string, int>> scope_;
  std::vector<bool> slot_varies_;
  int next_slot_ = 1;
  bool changed_ = false;
};

}  // namespace

namespace {

// Folding evaluates at load what reads only configuration: scope-free,
// request-independent expressions that call only pure functions. A failure is
// left for the request that reaches it.
class folder {
 public:
  folder(const program& prog, arena& strings) : prog_(prog), strings_(strings) {}

  void nodes(std::vector<node>& list) {
    for (node& n : list) {
      if (n.pipe) pipe(*n.pipe);
      nodes(n.body);
      nodes(n.else_body);
    }
  }

 private:
  void pipe(pipeline& p) {
    for (command& c : p.cmds)
      for (operand& o : c.args) operand_(o);
    if (p.varies || p.uses_scope || p.impure || !p.decl.empty()) return;
    machine m = make();
    p.folded = m.fold(p);
  }

  void operand_(operand& o) {
    if (o.sub) pipe(*o.sub);
    if (o.varies || o.uses_scope || o.impure) return;
    if (o.k != operand::kind::field && o.k != operand::kind::sub && o.k != operand::kind::variable) return;
    machine m = make();
    o.folded = m.fold(o);
  }

  machine make() {
    return machine(prog_, prog_.load_root(), call_context::phase::fold, strings_, scratch_[0], scratch_[1], error_,
                   slots_, nullptr, nullptr);
  }

  const program& prog_;
  arena& strings_;
  std::string scratch_[2];
  std::string error_;
  std::vector<value> slots_;
};

// A pipeline's structure as text: equal text, equal value (for scope-free ones).
void canonical(const pipeline& p, std::string& out);

void canonical(const operand& o, std::string& out) {
  out += static_cast<char>('a' + static_cast<int>(o.k));
  out += std::to_string(o.name.size());
  out += ':';
  out += o.name;
  out += '#';
  out += std::to_string(o.i);
  out += '#';
  out += std::to_string(o.f);
  out += o.b ? 't' : 'f';
  out += std::to_string(o.slot);
  for (const auto& f : o.fields) {
    out += '.';
    out += f;
  }
  if (o.sub) {
    out += '(';
    canonical(*o.sub, out);
    out += ')';
  }
}

void canonical(const pipeline& p, std::string& out) {
  for (const command& c : p.cmds) {
    out += '[';
    for (const operand& o : c.args) {
      canonical(o, out);
      out += ' ';
    }
    out += ']';
  }
}

// Visits every pipeline of the tree, sub-pipelines first: each operand after
// its own sub-pipeline, each pipeline after its operands. The slot assigners
// below number their slots in this order.
template <class OnOperand, class OnPipeline>
void visit_pipeline(pipeline& p, OnOperand& on_operand, OnPipeline& on_pipeline) {
  for (command& c : p.cmds)
    for (operand& o : c.args) {
      if (o.sub) visit_pipeline(*o.sub, on_operand, on_pipeline);
      on_operand(o);
    }
  on_pipeline(p);
}

template <class OnOperand, class OnPipeline>
void visit_pipelines(std::vector<node>& list, OnOperand& on_operand, OnPipeline& on_pipeline) {
  for (node& n : list) {
    if (n.pipe) visit_pipeline(*n.pipe, on_operand, on_pipeline);
    visit_pipelines(n.body, on_operand, on_pipeline);
    visit_pipelines(n.else_body, on_operand, on_pipeline);
  }
}

class memo_assigner {
 public:
  std::size_t slots() const { return keys_.size(); }

  void nodes(std::vector<node>& list) {
    auto on_operand = [this](operand& o) { root_chain(o); };
    auto on_pipeline = [this](pipeline& p) { pipe(p); };
    visit_pipelines(list, on_operand, on_pipeline);
  }

 private:
  void pipe(pipeline& p) {
    if (!p.varies || p.uses_scope || !p.decl.empty() || p.folded) return;
    std::string key;
    canonical(p, key);
    p.memo = slot(std::move(key));
  }

  // A per-request field chain from the root that the binding could not resolve
  // (Istio 1.28's `.ProxyConfig.X`, the pod's config merged into the mesh's) is
  // walked name by name; templates read the same ones many times.
  void root_chain(operand& o) {
    if (!o.root_chain || !o.varies || o.accessor >= 0 || o.folded || o.fields.empty()) return;
    std::string key = "chain";
    for (const std::string& f : o.fields) {
      key += '.';
      key += f;
    }
    o.memo = slot(std::move(key));
  }

  int slot(std::string key) {
    return keys_.try_emplace(std::move(key), static_cast<int>(keys_.size())).first->second;
  }

  std::map<std::string, int> keys_;
};

// A call whose function offers a specialization and whose arguments are field
// chains from the root and constants may become one direct map lookup.
void plan_lookup(pipeline& p, const value& root) {
  if (p.cmds.size() != 1 || !p.decl.empty() || p.uses_scope || root.k != kind::object) return;
  const std::vector<operand>& a = p.cmds[0].args;
  if (a[0].k != operand::kind::function || !a[0].fn->specialize || a.size() > 9) return;
  call_site_arg args[8];
  value constants[8];
  const std::size_t n = a.size() - 1;
  for (std::size_t k = 0; k < n; ++k) {
    const operand& o = a[k + 1];
    if (o.root_chain) args[k].root_chain = &o.fields;
    if (o.folded) args[k].constant = &*o.folded;
    if (o.k == operand::kind::string) constants[k] = value::string(o.name);
    else if (o.k == operand::kind::integer) constants[k] = value::integer(o.i);
    else if (o.k == operand::kind::floating) constants[k] = value::floating(o.f);
    else if (o.k == operand::kind::boolean) constants[k] = value::boolean(o.b);
    else continue;
    args[k].constant = &constants[k];
  }
  lookup_plan plan;
  if (!a[0].fn->specialize(std::span<const call_site_arg>(args, n), plan)) return;
  std::string error;
  const chain_info info = root.type->check_chain(root, plan.chain, error);
  if (!info.ok || info.accessor < 0) return;
  p.fast = pipeline::lookup{plan.mode, info.accessor, std::move(plan.key), std::move(plan.fallback)};
}

void plan_lookups(pipeline& p, const value& root) {
  for (command& c : p.cmds)
    for (operand& o : c.args)
      if (o.sub) plan_lookups(*o.sub, root);
  if (p.varies) plan_lookup(p, root);
}

// Whether trace() has to visit a node: per-request pipelines, and anything
// that binds a variable (a later per-request expression may read it) or
// contains such.
bool mark_traced(std::vector<node>& list, const value& root) {
  bool any = false;
  for (node& n : list) {
    if (n.pipe) plan_lookups(*n.pipe, root);
    // Both lists must be marked, so no short-circuit here.
    const bool in_body = mark_traced(n.body, root);
    const bool in_else = mark_traced(n.else_body, root);
    const bool inner = in_body || in_else;
    switch (n.k) {
      case node::kind::text: n.traced = false; break;
      case node::kind::action: n.traced = n.pipe->varies || !n.pipe->decl.empty(); break;
      default: n.traced = n.pipe->varies || !n.pipe->decl.empty() || inner; break;
    }
    any = any || n.traced;
  }
  return any;
}

// Gives each distinct accessor a dense per-request slot, so trace() fetches a
// chain (the pod's annotations, say) once however many lookups read it.
class fetch_slot_assigner {
 public:
  std::size_t slots() const { return slots_.size(); }

  void nodes(std::vector<node>& list) {
    auto on_operand = [this](operand& o) {
      if (o.accessor >= 0) o.fetch_slot = slot(o.accessor);
    };
    auto on_pipeline = [this](pipeline& p) {
      if (p.fast) p.fast->fetch_slot = slot(p.fast->accessor);
    };
    visit_pipelines(list, on_operand, on_pipeline);
  }

 private:

  int slot(int accessor) { return slots_.try_emplace(accessor, static_cast<int>(slots_.size())).first->second; }

  std::map<int, int> slots_;
};

// `index .A.B "k" | default X ...` followed by anything: Istio 1.28 reads its
// labels and annotations this way, each with its fallbacks, and the generic
// calls cost more than the lookup. The head's map is a resolved chain with its
// fetch slot (fetch_slot_assigner ran), or a per-request chain read from its
// memo slot (`index .ProxyConfig.ProxyMetadata "k"`, which no plan covers);
// its key is a constant string.
bool plan_default_chain(pipeline& p) {
  if (!p.varies || p.folded || p.fast) return false;
  const std::vector<operand>& head = p.cmds[0].args;
  if (head.size() != 3 || head[0].k != operand::kind::function || !builtin_index(*head[0].fn)) return false;
  const operand& map = head[1];
  const operand& key = head[2];
  const bool fetched = map.accessor >= 0 && map.fetch_slot >= 0;
  const bool memoized = map.accessor < 0 && map.memo >= 0;  // see memo_assigner::root_chain
  if (map.folded || (!fetched && !memoized)) return false;
  value key_value;
  if (key.folded && key.folded->k == kind::string && !key.folded->deferred) key_value = *key.folded;
  else if (!key.folded && key.k == operand::kind::string && key.fields.empty()) key_value = value::string(key.name);
  else return false;
  pipeline::default_chain chain{&map, key_value, head[0].pos, head[0].fn, 0};
  while (1 + chain.defaults < p.cmds.size()) {
    const std::vector<operand>& d = p.cmds[1 + chain.defaults].args;
    if (d.size() != 2 || d[0].k != operand::kind::function || !sprig_default(*d[0].fn)) break;
    ++chain.defaults;
  }
  p.chain = chain;
  return true;
}

std::size_t plan_default_chains(std::vector<node>& list) {
  std::size_t planned = 0;
  auto on_operand = [](operand&) {};
  auto on_pipeline = [&planned](pipeline& p) { planned += plan_default_chain(p) ? 1 : 0; };
  visit_pipelines(list, on_operand, on_pipeline);
  return planned;
}

// The traced nodes of each list, for trace() to visit without stepping over
// the rest. Pointers into the tree, which no longer changes.
void list_traced(const std::vector<node>& list, std::vector<const node*>& out) {
  out.clear();
  for (const node& n : list)
    if (n.traced) out.push_back(&n);
}

void link_traced(std::vector<node>& list) {
  for (node& n : list) {
    link_traced(n.body);
    link_traced(n.else_body);
    list_traced(n.body, n.traced_body);
    list_traced(n.else_body, n.traced_else);
  }
}

// A planned lookup that a trace may read directly: nothing else to evaluate
// (no variable to bind) in the pipeline.
bool plain_lookup(const pipeline& p) { return p.fast && p.decl_slots.empty() && !p.folded; }

// `if (x)`: the pipeline inside the parentheses. It gives the same value with
// the same steps (a call steps inside, where its memo slot is); the outer
// pipeline's own memo slot only saved the walk down to it.
const pipeline& unparenthesized(const pipeline& p) {
  const pipeline* q = &p;
  while (!q->fast && !q->folded && q->decl_slots.empty() && q->cmds.size() == 1 && q->cmds[0].args.size() == 1) {
    const operand& o = q->cmds[0].args[0];
    if (o.k != operand::kind::sub || o.folded || !o.fields.empty() || o.accessor >= 0 || o.memo >= 0 ||
        !o.sub->decl_slots.empty() || o.sub->memo < 0)
      break;
    q = o.sub.get();
  }
  return *q;
}

// `eq X "c"` / `ne X "c"` (either order) with X per request: the shape of most
// of Istio's per-request conditions (X often a planned lookup).
// A pipeline that binds a variable qualifies only as a declaration's right-hand
// side (`binds`), whose op binds it.
bool equality_with_constant(const pipeline& p, trace_op& op, bool binds = false) {
  if (p.fast || p.folded || (!binds && !p.decl_slots.empty()) || p.cmds.size() != 1) return false;
  const command& c = p.cmds[0];
  if (c.args.size() != 3 || c.args[0].k != operand::kind::function) return false;
  const int equality = builtin_equality(*c.args[0].fn);
  if (equality < 0) return false;
  // A string literal, or an expression folded to a string at load.
  auto constant_string = [](const operand& o) {
    if (o.folded) return o.folded->k == kind::string && !o.folded->deferred;
    return o.k == operand::kind::string && o.fields.empty();
  };
  auto varies = [](const operand& o) { return !o.folded && o.varies; };
  const operand& a = c.args[1];
  const operand& b = c.args[2];
  if (varies(a) && constant_string(b)) {
    op.subject = &a;
    op.constant = &b;
    op.subject_first = true;
  } else if (constant_string(a) && varies(b)) {
    op.subject = &b;
    op.constant = &a;
  } else {
    return false;
  }
  op.constant_text = op.constant->folded ? op.constant->folded->s : std::string_view(op.constant->name);
  const operand& x = *op.subject;
  if (x.k == operand::kind::sub && x.fields.empty() && x.accessor < 0 && x.memo < 0 && plain_lookup(*x.sub))
    op.lookup = x.sub.get();
  op.negate = equality == 1;
  return true;
}

void flatten_traced(const std::vector<const node*>& list, std::vector<trace_op>& ops, std::size_t& walks);

// `$x := ...` (or `=`): what the walk evaluates for it, as the flat form of an
// `if` on the same expression would (walk_action's eval_pipeline on a
// pipeline that binds has no memo slot and no planned lookup of its own, and
// `(x)` evaluates x with no step of its own).
void flatten_declaration(const pipeline& p, trace_op& op) {
  op.slot = p.decl_slots[0];
  op.c = trace_op::code::declare;
  op.pipe = &p;
  if (p.folded || p.cmds.size() != 1) return;
  if (equality_with_constant(p, op, true)) {
    op.c = trace_op::code::declare_equal;
    return;
  }
  const command& c = p.cmds[0];
  if (c.args.size() != 1) return;
  const operand& o = c.args[0];
  if (o.k != operand::kind::sub || o.folded || !o.fields.empty() || o.accessor >= 0 || o.memo >= 0 ||
      !o.sub->decl_slots.empty())
    return;
  const pipeline& inner = unparenthesized(*o.sub);
  op.pipe = &inner;
  op.c = plain_lookup(inner)                    ? trace_op::code::declare_lookup
         : equality_with_constant(inner, op)    ? trace_op::code::declare_equal
                                                : trace_op::code::declare;
}

// An operand the flat form may evaluate on its own where the walk would have
// read the whole condition from its memo slot: it calls nothing, or calls
// inside a memoised pipeline (a repeat reads the slot and takes no step, as
// the walk's would).
bool step_free_on_repeat(const operand& o) {
  if (o.folded || o.accessor >= 0 || o.memo >= 0) return true;
  switch (o.k) {
    case operand::kind::sub: return o.sub->memo >= 0 && o.sub->decl_slots.empty();
    case operand::kind::function: return false;
    default: return true;
  }
}

// `if and A B ...` / `if or A B ...`: one `test` per operand (Go's and/or stop
// at the first that decides), the decision marked where the ways meet.
bool flatten_lazy(const node& n, const pipeline& condition, std::vector<trace_op>& ops, std::size_t& walks) {
  if (condition.fast || condition.folded || !condition.decl_slots.empty() || condition.cmds.size() != 1) return false;
  const command& c = condition.cmds[0];
  if (c.args[0].k != operand::kind::function || c.args[0].fn->lazy == function_entry::special::none) return false;
  if (c.args.size() < 2) return false;
  for (std::size_t k = 1; k < c.args.size(); ++k)
    if (!step_free_on_repeat(c.args[k])) return false;
  const bool is_and = c.args[0].fn->lazy == function_entry::special::and_;
  std::vector<std::size_t> to_taken, to_not_taken;
  for (std::size_t k = 1; k < c.args.size(); ++k) {
    const operand& o = c.args[k];
    trace_op t;
    t.c = trace_op::code::test;
    t.n = &n;
    t.steps = k == 1;
    t.subject = &o;
    if (o.k == operand::kind::sub && !o.folded && o.fields.empty() && o.accessor < 0 && o.memo < 0 &&
        plain_lookup(*o.sub))
      t.lookup = o.sub.get();
    const bool last = k + 1 == c.args.size();
    // and: a false operand decides not taken; or: a true one decides taken,
    // and the last one decides either way.
    t.jump_when = is_and || last ? false : true;
    (t.jump_when ? to_taken : to_not_taken).push_back(ops.size());
    ops.push_back(t);
  }
  for (std::size_t at : to_taken) ops[at].target = static_cast<std::uint32_t>(ops.size());
  trace_op mark;
  mark.c = trace_op::code::mark;
  mark.n = &n;
  mark.steps = false;
  mark.bit = true;
  ops.push_back(mark);
  flatten_traced(n.traced_body, ops, walks);
  const std::size_t over_else = ops.size();
  trace_op jump;
  jump.c = trace_op::code::jump;
  jump.n = &n;
  ops.push_back(jump);
  for (std::size_t at : to_not_taken) ops[at].target = static_cast<std::uint32_t>(ops.size());
  mark.bit = false;
  ops.push_back(mark);
  flatten_traced(n.traced_else, ops, walks);
  ops[over_else].target = static_cast<std::uint32_t>(ops.size());
  return true;
}

// Appends the flat form of traced nodes whose dot is the root (program's
// traced list, an `if`'s bodies): actions (declarations of one variable
// among them) and ifs become instructions, the rest is handed to the tree walk.
void flatten_traced(const std::vector<const node*>& list, std::vector<trace_op>& ops, std::size_t& walks) {
  for (const node* n : list) {
    const pipeline& p = *n->pipe;
    trace_op op;
    op.n = n;
    if (n->k == node::kind::action && p.decl.empty() && p.varies) {
      op.c = !p.structured && plain_lookup(p) ? trace_op::code::hole_lookup : trace_op::code::hole;
      op.pipe = &p;
      ops.push_back(op);
      continue;
    }
    if (n->k == node::kind::action && p.decl_slots.size() == 1) {
      flatten_declaration(p, op);
      ops.push_back(op);
      continue;
    }
    if (n->k != node::kind::if_) {
      ops.push_back(op);
      ++walks;
      continue;
    }
    op.record = p.varies;
    const pipeline& condition = unparenthesized(p);
    if (p.varies && flatten_lazy(*n, condition, ops, walks)) continue;
    op.pipe = &condition;
    op.c = !p.varies                                ? trace_op::code::decide
           : plain_lookup(condition)                ? trace_op::code::decide_lookup
           : equality_with_constant(condition, op)  ? trace_op::code::decide_equal
                                                    : trace_op::code::decide;
    const std::size_t decision = ops.size();
    ops.push_back(op);
    flatten_traced(n->traced_body, ops, walks);
    if (n->traced_else.empty()) {
      ops[decision].target = static_cast<std::uint32_t>(ops.size());
      continue;
    }
    const std::size_t over_else = ops.size();
    trace_op jump;
    jump.c = trace_op::code::jump;
    jump.n = n;
    ops.push_back(jump);
    ops[decision].target = static_cast<std::uint32_t>(ops.size());
    flatten_traced(n->traced_else, ops, walks);
    ops[over_else].target = static_cast<std::uint32_t>(ops.size());
  }
}

// Each with's and range's bodies get a flat form of their own: the nodes in
// them share the dot the with or range gives.
void flatten_bodies(std::vector<node>& list) {
  for (node& n : list) {
    flatten_bodies(n.body);
    flatten_bodies(n.else_body);
    if (n.k != node::kind::with && n.k != node::kind::range) continue;
    std::size_t walks = 0;
    flatten_traced(n.traced_body, n.body_ops, walks);
    flatten_traced(n.traced_else, n.else_ops, walks);
  }
}

}  // namespace


program::program(std::string text, const function_table& functions, const value& load_root,
                 std::shared_ptr<const void> root_owner)
    : functions_(functions), root_owner_(std::move(root_owner)), load_root_(load_root) {
  auto [left, right] = detect_delimiters(text);
  try {
    parsed_ = std::make_unique<parsed_template>(
        parse_template(std::move(text), std::move(left), std::move(right), functions_));
  } catch (const parse_error& e) {
    throw compile_error{e.pos, e.message};
  }
  analyzer a(load_root_);
  a.run(parsed_->root);
  slot_count_ = a.slots();
  decisions_ = a.decisions;
  hole_sites_ = a.holes;
  folder f(*this, folded_strings_);
  f.nodes(parsed_->root);
  memo_assigner memo;
  memo.nodes(parsed_->root);
  memo_slots_ = memo.slots();
  mark_traced(parsed_->root, load_root_);
  fetch_slot_assigner fetches;
  fetches.nodes(parsed_->root);
  fetch_slots_ = fetches.slots();
  default_chains_ = plan_default_chains(parsed_->root);
  link_traced(parsed_->root);
  list_traced(parsed_->root, traced_root_);
  flatten_traced(traced_root_, parsed_->trace_ops, parsed_->trace_walks);
  flatten_bodies(parsed_->root);
}

std::size_t program::traced_top_nodes() const noexcept { return traced_root_.size(); }
std::size_t program::trace_ops() const noexcept { return parsed_->trace_ops.size(); }
std::size_t program::trace_walks() const noexcept { return parsed_->trace_walks; }

program::~program() = default;

const std::string& program::text() const noexcept { return *parsed_->source; }

std::string_view program::delimiters() const noexcept { return parsed_->left_delim; }

}  // namespace meshinject::tmpl
