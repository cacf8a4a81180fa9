// Template compilation (scopes, pod-dependency, static field checks, constant
// folding) and the walk shared by trace() and render().

#include "patch/json_access.hpp"
#include "patch/template_program.hpp"

#include <algorithm>
#include <map>

#include "patch/template_machine.hpp"

namespace meshinject::patch::tmpl {
namespace {

struct function_spec {
  std::string_view name;
  function_id id;
  int min_args;
  int max_args;  // -1: any
};

constexpr function_spec functions[] = {
    {"and", function_id::and_, 1, -1},
    {"or", function_id::or_, 1, -1},
    {"not", function_id::not_, 1, 1},
    {"eq", function_id::eq, 2, -1},
    {"ne", function_id::ne, 2, 2},
    {"lt", function_id::lt, 2, 2},
    {"le", function_id::le, 2, 2},
    {"gt", function_id::gt, 2, 2},
    {"ge", function_id::ge, 2, 2},
    {"index", function_id::index, 1, -1},
    {"len", function_id::len, 1, 1},
    {"print", function_id::print, 0, -1},
    {"printf", function_id::printf, 1, -1},
    {"println", function_id::println, 0, -1},
    {"annotation", function_id::annotation, 3, 3},
    {"isset", function_id::isset, 2, 2},
    {"valueOrDefault", function_id::value_or_default, 2, 2},
    {"toJSON", function_id::to_json, 1, 1},
    {"toJson", function_id::to_json, 1, 1},
    {"fromJSON", function_id::from_json, 1, 1},
    {"toYaml", function_id::to_yaml, 1, 1},
    {"indent", function_id::indent, 2, 2},
    {"formatDuration", function_id::format_duration, 1, 1},
    {"includeInboundPorts", function_id::include_inbound_ports, 1, 1},
    {"excludeInboundPort", function_id::exclude_inbound_port, 2, 2},
    {"applicationPorts", function_id::application_ports, 1, 1},
    {"kubevirtInterfaces", function_id::kubevirt_interfaces, 1, 1},
    {"directory", function_id::directory, 1, 1},
    {"contains", function_id::contains, 2, 2},
};

const function_spec* find_function(std::string_view name) {
  for (const auto& f : functions)
    if (f.name == name) return &f;
  return nullptr;
}

struct dot_info {
  bool root = true;  // `.` is the template data itself
  bool pod = true;
};

// Resolves names and classifies every expression. Runs until nothing changes:
// an assignment late in a range body can make an earlier use pod-dependent.
class analyzer {
 public:
  analyzer(const core::mesh_config& mesh) : mesh_(mesh) {}

  std::size_t slots() const { return slot_pod_.size(); }
  std::size_t decisions = 0;
  std::size_t holes = 0;

  void run(std::vector<node>& root) {
    slot_pod_.assign(1, true);  // `$`
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
        pipe(*n.pipe, dot, false);
        if (n.pipe->decl.empty() && n.pipe->pod) ++holes;
        return;
      }
      case node::kind::if_:
      case node::kind::with: {
        const std::size_t mark = scope_.size();
        pipe(*n.pipe, dot, false);
        if (n.pipe->pod) ++decisions;
        n.pod_dot = n.pipe->pod;
        dot_info inner = dot;
        if (n.k == node::kind::with) inner = dot_info{false, n.pipe->pod};
        list(n.body, inner);
        list(n.else_body, dot);
        scope_.resize(mark);
        return;
      }
      case node::kind::range: {
        const std::size_t mark = scope_.size();
        pipe(*n.pipe, dot, true);
        if (n.pipe->pod) ++decisions;
        n.pod_dot = n.pipe->pod;
        list(n.body, dot_info{false, n.pipe->pod});
        list(n.else_body, dot);
        scope_.resize(mark);
        return;
      }
    }
  }

  int declare(const std::string& name, bool pod) {
    const int slot = next_slot_++;
    if (static_cast<std::size_t>(slot) >= slot_pod_.size()) slot_pod_.push_back(false);
    mark(slot, pod);
    scope_.emplace_back(name, slot);
    return slot;
  }

  void mark(int slot, bool pod) {
    if (pod && !slot_pod_[static_cast<std::size_t>(slot)]) {
      slot_pod_[static_cast<std::size_t>(slot)] = true;
      changed_ = true;
    }
  }

  int lookup(const std::string& name, std::uint32_t pos) {
    if (name.empty()) return 0;
    for (auto it = scope_.rbegin(); it != scope_.rend(); ++it)
      if (it->first == name) return it->second;
    throw program::compile_error{pos, "undefined variable: $" + name};
  }

  void pipe(pipeline& p, dot_info dot, bool is_range) {
    bool pod = false, scoped = false;
    bool have_piped = false;
    for (command& c : p.cmds) {
      bool cmd_pod = have_piped && pod;
      for (operand& o : c.args) {
        operand_(o, dot);
        cmd_pod = cmd_pod || o.pod;
        scoped = scoped || o.uses_scope;
      }
      const operand& head = c.args[0];
      if (head.k == operand::kind::nil) throw program::compile_error{head.pos, "nil is not a command"};
      if (head.k == operand::kind::function) {
        const int n = static_cast<int>(c.args.size()) - 1 + (have_piped ? 1 : 0);
        const function_spec* f = find_function(head.name);
        if (n < f->min_args || (f->max_args >= 0 && n > f->max_args)) {
          throw program::compile_error{
              head.pos, "wrong number of args for " + head.name + ": want " +
                            (f->max_args == f->min_args ? std::to_string(f->min_args)
                                                        : "at least " + std::to_string(f->min_args)) +
                            " got " + std::to_string(n)};
        }
      } else if (c.args.size() > 1 || have_piped) {
        throw program::compile_error{head.pos, "can't give argument to non-function"};
      }
      pod = pod || cmd_pod;
      have_piped = true;
    }
    p.pod = pod;
    p.uses_scope = scoped;
    // `toYaml x` (optionally `| indent n`) of pod data is placed as structure.
    const command& last = p.cmds.back();
    const function_id last_fn = last.args[0].k == operand::kind::function ? last.args[0].fn : function_id::none;
    bool structured = last_fn == function_id::to_yaml;
    if (last_fn == function_id::indent) {
      if (last.args.size() == 3 && last.args[2].k == operand::kind::sub)
        structured = last.args[2].sub->structured;
      else if (last.args.size() == 2 && p.cmds.size() >= 2) {
        const command& prev = p.cmds[p.cmds.size() - 2];
        structured = prev.args[0].k == operand::kind::function && prev.args[0].fn == function_id::to_yaml;
      }
    }
    p.structured = pod && structured;

    p.decl_slots.clear();
    if (!p.decl.empty()) {
      if (p.assign) {
        const int slot = lookup(p.decl[0], p.pos);
        mark(slot, pod);
        p.decl_slots.push_back(slot);
      } else {
        for (const std::string& name : p.decl) p.decl_slots.push_back(declare(name, pod));
      }
    }
    (void)is_range;
  }

  void operand_(operand& o, dot_info dot) {
    switch (o.k) {
      case operand::kind::dot:
        o.pod = dot.root || dot.pod;
        o.uses_scope = !dot.root;
        if (dot.root && !o.fields.empty()) check_root_chain(o.fields, o.pos, o);
        break;
      case operand::kind::field:
        if (dot.root) {
          check_root_chain(o.fields, o.pos, o);
        } else {
          o.pod = dot.pod;
          o.uses_scope = true;
        }
        break;
      case operand::kind::variable:
        o.slot = lookup(o.name, o.pos);
        if (o.slot == 0) {
          if (o.fields.empty()) o.pod = true;
          else check_root_chain(o.fields, o.pos, o);
        } else {
          o.pod = slot_pod_[static_cast<std::size_t>(o.slot)];
          o.uses_scope = true;
        }
        break;
      case operand::kind::function: {
        const function_spec* f = find_function(o.name);
        if (!f) throw program::compile_error{o.pos, "function \"" + o.name + "\" not defined"};
        o.fn = f->id;
        break;
      }
      case operand::kind::sub:
        pipe(*o.sub, dot, false);
        o.pod = o.sub->pod;
        o.uses_scope = o.sub->uses_scope;
        break;
      default:
        break;
    }
  }

  // Checks a field chain that starts at the template data, where the types are
  // known, so a typo is a load error with its position rather than a failure
  // on the first pod.
  void check_root_chain(const std::vector<std::string>& f, std::uint32_t pos, operand& o) {
    const std::string& first = f[0];
    auto no_field = [&](const std::string& name, std::string_view type) {
      throw program::compile_error{pos, "can't evaluate field " + name + " in type " + std::string(type)};
    };
    if (first == "ObjectMeta" || first == "DeploymentMeta") {
      o.pod = true;
      if (f.size() < 2) return;
      const std::string& g = f[1];
      if (g == "Labels" || g == "Annotations") {
        if (f.size() > 3) no_field(f[3], "string");
        return;
      }
      if (g != "Name" && g != "GenerateName" && g != "Namespace") no_field(g, "*v1.ObjectMeta");
      if (f.size() > 2) no_field(f[2], "string");
      return;
    }
    if (first == "Spec") {
      o.pod = true;
      if (f.size() < 2) return;
      const std::string& g = f[1];
      if (g == "Containers" || g == "InitContainers") {
        if (f.size() > 2) no_field(f[2], "[]v1.Container");
        return;
      }
      if (g != "ServiceAccountName" && g != "ServiceAccount" && g != "HostNetwork") no_field(g, "*v1.PodSpec");
      if (f.size() > 2) no_field(f[2], "string");
      return;
    }
    if (first == "Values") return;
    if (first == "ProxyConfig" || first == "MeshConfig") {
      const core::go_message* msg = first == "ProxyConfig" ? &core::proxy_config_message() : &core::mesh_config_message();
      const core::config_node* node = first == "ProxyConfig" ? &mesh_.proxy_config() : &mesh_.root;
      for (std::size_t k = 1; k < f.size(); ++k) {
        const core::go_field* field = msg->find_field(f[k]);
        if (!field) {
          std::string json = f[k].substr(f[k].rfind("Get", 0) == 0 ? 3 : 0);
          if (!json.empty()) json[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(json[0])));
          if (node && node->find(json)) return;  // a field newer than our schema, present in the file
          no_field(f[k], "*" + std::string(msg->type_name));
        }
        if (field->k == core::go_field::kind::message) {
          msg = field->message;
          node = node ? node->find(field->json_name) : nullptr;
          continue;
        }
        if (k + 1 < f.size()) {
          if (field->k == core::go_field::kind::enumeration && f[k + 1] == "String" && k + 2 == f.size()) return;
          if (field->k == core::go_field::kind::map || field->k == core::go_field::kind::any) return;
          no_field(f[k + 1], field->go_name);
        }
        return;
      }
      return;
    }
    throw program::compile_error{pos, "can't evaluate field " + first + " in type *inject.SidecarTemplateData"};
  }

  const core::mesh_config& mesh_;
  std::vector<std::pair<std::string, int>> scope_;
  std::vector<bool> slot_pod_;
  int next_slot_ = 1;
  bool changed_ = false;
};

}  // namespace

// ------------------------------------------------------------------ trace_state

trace_state::trace_state() {
  trace.reserve(256);
  holes.reserve(128);
  scratch.reserve(4096);
  error.reserve(256);
}
trace_state::~trace_state() = default;

void trace_state::reset() noexcept {
  trace.clear();
  holes.clear();
  strings.reset();
  error.clear();
}

simdjson::dom::parser& trace_state::json_parser(std::size_t n) {
  while (parsers_.size() <= n) parsers_.push_back(std::make_unique<simdjson::dom::parser>());
  return *parsers_[n];
}

std::string& trace_state::json_buffer(std::size_t n) {
  while (buffers_.size() <= n) buffers_.emplace_back();
  return buffers_[n];
}

// ---------------------------------------------------------------------- walk

bool machine::run(render_result* out, std::span<const std::uint8_t> trace_in) {
  out_ = out;
  trace_in_ = trace_in;
  trace_pos_ = 0;
  if (!walk(prog_.parsed_.root, root_)) return false;
  if (mode_ == mode::render && trace_pos_ != trace_in_.size())
    return fail(0, "internal: the variant key was not consumed by the render");
  return !failed_;
}

void machine::append_text(std::string_view text, std::uint32_t template_pos) {
  if (!out_ || text.empty()) return;
  out_->source_map.emplace_back(static_cast<std::uint32_t>(out_->text.size()), template_pos);
  out_->text += text;
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

bool machine::walk(const std::vector<node>& list, const value& dot) {
  const bool tracing = mode_ == mode::trace;
  for (const node& n : list) {
    if (tracing && !n.traced) continue;  // text and constant output belong to the variant
    if (!walk_node(n, dot)) return false;
  }
  return true;
}

bool machine::emit_hole(const node& n, const value& dot) {
  const pipeline& p = *n.pipe;
  if (mode_ == mode::render) {
    const auto index = out_->holes.size();
    out_->holes.push_back(hole_info{p.structured, n.pos});
    std::string token;
    token += hole_open;
    token += std::to_string(index);
    token += hole_close;
    if (p.structured) {
      // At the start of a line, YAML structure is expected: make the placeholder
      // a mapping entry of its own so the surrounding YAML still parses.
      const std::size_t nl = out_->text.rfind('\n');
      const std::string_view line(out_->text.data() + (nl == std::string::npos ? 0 : nl + 1),
                                  out_->text.size() - (nl == std::string::npos ? 0 : nl + 1));
      if (line.find_first_not_of(' ') == std::string_view::npos) token += ": ~";
    }
    append_text(token, n.pos);
    return true;
  }
  value v;
  if (p.structured) {
    // `toYaml x`, `toYaml x | indent n` or `indent n (toYaml x)`: the fragment
    // writer lays the structure out itself, so only the toYaml part is evaluated
    // (indent would turn the YAML into indented text).
    const pipeline* core = &p;
    while (core->cmds.back().args[0].fn == function_id::indent && core->cmds.back().args.size() == 3 &&
           core->cmds.back().args[2].k == operand::kind::sub)
      core = core->cmds.back().args[2].sub.get();
    const std::size_t count = core->cmds.back().args[0].fn == function_id::indent ? core->cmds.size() - 1
                                                                                   : core->cmds.size();
    bool have = false;
    for (std::size_t k = 0; k < count; ++k) {
      v = eval_command(core->cmds[k], dot, have ? &v : nullptr);
      if (failed_) return false;
      have = true;
    }
  } else {
    v = eval_pipeline(p, dot);
    if (failed_) return false;
    if (v.yaml) {
      // YAML of pod data printed as text (through a variable, say): as Go prints it.
      scratch_.clear();
      materialize_yaml(v, scratch_);
      v = text_value(scratch_, v.origin);
    }
  }
  state_->holes.push_back(v);
  return true;
}

bool machine::walk_node(const node& n, const value& dot) {
  switch (n.k) {
    case node::kind::text:
      if (mode_ == mode::render) append_text(n.text, n.pos);
      return true;
    case node::kind::action: {
      const pipeline& p = *n.pipe;
      if (!p.decl.empty()) {
        if (p.pod && mode_ == mode::render) {
          for (int s : p.decl_slots) slots_[static_cast<std::size_t>(s)] = value::unknown();
          return true;
        }
        eval_pipeline(p, dot);
        return !failed_;
      }
      if (p.pod) return emit_hole(n, dot);
      if (mode_ == mode::trace) return true;  // constant text belongs to the variant
      const value v = eval_pipeline(p, dot);
      if (failed_) return false;
      scratch_.clear();
      print_value(v, scratch_);
      append_text(scratch_, n.pos);
      return true;
    }
    case node::kind::if_:
    case node::kind::with: {
      const pipeline& p = *n.pipe;
      value v;
      bool taken;
      if (p.pod && mode_ == mode::render) {
        std::uint8_t b = 0;
        if (!next_decision(b, n.pos)) return false;
        taken = b != 0;
        v = value::unknown();
        for (int s : p.decl_slots) slots_[static_cast<std::size_t>(s)] = v;
      } else {
        v = eval_pipeline(p, dot);
        if (failed_) return false;
        taken = truth(v);
        if (p.pod) push_decision(taken ? 1 : 0);
      }
      if (taken) return walk(n.body, n.k == node::kind::with ? v : dot);
      return walk(n.else_body, dot);
    }
    case node::kind::range:
      return walk_range(n, dot);
  }
  return true;
}

namespace {
struct range_item {
  std::string_view key;
  simdjson::dom::element json;
  const core::label* label = nullptr;
  const core::config_node* node = nullptr;
  std::uint64_t order = 0;  // position in the document: ties keep it (std::stable_sort would allocate)
};
}  // namespace

bool machine::walk_range(const node& n, const value& dot) {
  const pipeline& p = *n.pipe;
  const std::vector<int>& slots = p.decl_slots;
  auto bind = [&](const value& index, const value& elem) {
    if (slots.size() == 1) slots_[static_cast<std::size_t>(slots[0])] = elem;
    if (slots.size() == 2) {
      slots_[static_cast<std::size_t>(slots[0])] = index;
      slots_[static_cast<std::size_t>(slots[1])] = elem;
    }
  };
  if (p.pod && mode_ == mode::render) {
    std::uint64_t count;
    if (!next_count(count, n.pos)) return false;
    if (count == 0) return walk(n.else_body, dot);
    for (std::uint64_t i = 0; i < count; ++i) {
      bind(value::unknown(), value::unknown());
      if (!walk(n.body, value::unknown())) return false;
    }
    return true;
  }
  // Evaluate the collection without binding the declaration: in a range the
  // variables name the elements.
  value coll;
  {
    value v;
    bool have = false;
    if (p.folded) {
      v = *p.folded;
    } else {
      for (const command& c : p.cmds) {
        v = eval_command(c, dot, have ? &v : nullptr);
        if (failed_) return false;
        have = true;
      }
    }
    coll = v;
  }
  std::uint64_t count = 0;
  // Pod data that cannot be ranged over names the annotation it came from.
  auto from = [&] { return coll.origin.empty() ? std::string() : "annotation " + std::string(coll.origin) + ": "; };
  if (coll.yaml) {
    // toYaml gives text: Go cannot range over a string either.
    std::string shown;
    materialize_yaml(coll, shown);
    return fail(n.pos, from() + "range can't iterate over " + shown);
  }
  switch (coll.k) {
    case vkind::containers:
    case vkind::ports:
    case vkind::string_map:
      count = static_cast<std::uint64_t>(coll.i);
      break;
    case vkind::cfg:
      if (!coll.node()) break;
      if (coll.node()->type() == core::config_node::kind::list) count = coll.node()->items().size();
      else if (coll.node()->type() == core::config_node::kind::map) count = coll.node()->members().size();
      else return fail(n.pos, "range can't iterate over " + std::string(type_name(coll)));
      break;
    case vkind::json:
      count = coll.j.is_array() ? coll.j.get_array().value_unsafe().size() : coll.j.get_object().value_unsafe().size();
      break;
    case vkind::integer:
      count = coll.i > 0 ? static_cast<std::uint64_t>(coll.i) : 0;
      break;
    case vkind::nil:
    case vkind::invalid:
      break;
    default: {
      std::string shown;
      print_value(coll, shown);
      return fail(n.pos, from() + "range can't iterate over " + shown);
    }
  }
  if (p.pod) push_count(count);
  if (count == 0) return walk(n.else_body, dot);

  // Maps iterate in key order, as Go does.
  range_item* items = nullptr;
  if (coll.k == vkind::string_map || (coll.k == vkind::json && coll.j.is_object())) {
    items = reinterpret_cast<range_item*>(
        strings_.allocate(sizeof(range_item) * count + alignof(range_item)));
    items = reinterpret_cast<range_item*>((reinterpret_cast<std::uintptr_t>(items) + alignof(range_item) - 1) &
                                          ~(static_cast<std::uintptr_t>(alignof(range_item)) - 1));
    std::uint64_t k = 0;
    if (coll.k == vkind::string_map) {
      for (; k < count; ++k) new (&items[k]) range_item{coll.labels()[k].key, {}, coll.labels() + k, nullptr, k};
    } else {
      for (auto kv : patch::as_object(coll.j)) {
        new (&items[k]) range_item{kv.key, kv.value, nullptr, nullptr, k};
        ++k;
      }
    }
    std::sort(items, items + count, [](const range_item& a, const range_item& b) {
      return a.key != b.key ? a.key < b.key : a.order < b.order;
    });
  }

  std::uint64_t i = 0;
  auto body = [&](const value& index, const value& elem) {
    bind(index, elem);
    return walk(n.body, elem);
  };
  switch (coll.k) {
    case vkind::containers:
      for (; i < count; ++i) {
        value e;
        e.k = vkind::container;
        e.p = static_cast<const patch::container*>(coll.p) + i;
        e.aux = coll.aux;
        if (!body(value::integer(static_cast<std::int64_t>(i)), e)) return false;
      }
      return true;
    case vkind::ports:
      for (; i < count; ++i) {
        value e;
        e.k = vkind::port;
        e.p = static_cast<const patch::container_port*>(coll.p) + i;
        if (!body(value::integer(static_cast<std::int64_t>(i)), e)) return false;
      }
      return true;
    case vkind::string_map:
      for (; i < count; ++i)
        if (!body(value::string(items[i].key), value::string(items[i].label->value, items[i].label->key))) return false;
      return true;
    case vkind::cfg: {
      const core::config_node* nd = coll.node();
      if (nd->type() == core::config_node::kind::list) {
        for (const auto& item : nd->items()) {
          value e;
          switch (item.type()) {
            case core::config_node::kind::list:
            case core::config_node::kind::map: e.k = vkind::cfg; e.p = &item; break;
            case core::config_node::kind::string: e = value::string(item.text()); break;
            case core::config_node::kind::integer: e = value::integer(item.as_int()); break;
            case core::config_node::kind::floating: e = value::floating(item.as_float()); break;
            case core::config_node::kind::boolean: e = value::boolean(item.as_bool()); break;
            case core::config_node::kind::null: e = value::nil(); break;
          }
          if (!body(value::integer(static_cast<std::int64_t>(i++)), e)) return false;
        }
      } else {
        for (const auto& [key, item] : nd->members()) {
          value e;
          switch (item.type()) {
            case core::config_node::kind::list:
            case core::config_node::kind::map: e.k = vkind::cfg; e.p = &item; break;
            case core::config_node::kind::string: e = value::string(item.text()); break;
            case core::config_node::kind::integer: e = value::integer(item.as_int()); break;
            case core::config_node::kind::floating: e = value::floating(item.as_float()); break;
            case core::config_node::kind::boolean: e = value::boolean(item.as_bool()); break;
            case core::config_node::kind::null: e = value::nil(); break;
          }
          if (!body(value::string(key), e)) return false;
        }
      }
      return true;
    }
    case vkind::json:
      if (coll.j.is_array()) {
        for (auto item : patch::as_array(coll.j)) {
          value e;
          if (item.is_object() || item.is_array()) {
            e.k = vkind::json;
            e.j = item;
          } else if (item.is_string()) {
            e = value::string(item.get_string().value_unsafe());
          } else if (item.is_bool()) {
            e = value::boolean(item.get_bool().value_unsafe());
          } else if (item.is_null()) {
            e = value::nil();
          } else {
            e = value::floating(item.get_double().value_unsafe());
          }
          e.origin = coll.origin;
          if (!body(value::integer(static_cast<std::int64_t>(i++)), e)) return false;
        }
      } else {
        for (; i < count; ++i) {
          const auto item = items[i].json;
          value e;
          if (item.is_object() || item.is_array()) {
            e.k = vkind::json;
            e.j = item;
          } else if (item.is_string()) {
            e = value::string(item.get_string().value_unsafe());
          } else if (item.is_bool()) {
            e = value::boolean(item.get_bool().value_unsafe());
          } else if (item.is_null()) {
            e = value::nil();
          } else {
            e = value::floating(item.get_double().value_unsafe());
          }
          e.origin = coll.origin;
          if (!body(value::string(items[i].key, coll.origin), e)) return false;
        }
      }
      return true;
    case vkind::integer:
      for (; i < count; ++i)
        if (!body(value::integer(static_cast<std::int64_t>(i)), value::integer(static_cast<std::int64_t>(i))))
          return false;
      return true;
    default:
      return true;
  }
}

bool machine::fold(const pipeline& p, value& out) {
  out = eval_pipeline(p, root_);
  return !failed_ && out.k != vkind::unknown;
}

bool machine::fold(const operand& o, value& out) {
  out = eval_operand(o, root_);
  return !failed_ && out.k != vkind::unknown;
}

// ------------------------------------------------------------------- program

namespace {

void fold_pipeline(pipeline& p, const program& prog, const template_data& data, arena& strings);

void fold_operand(operand& o, const program& prog, const template_data& data, arena& strings) {
  if (o.sub) fold_pipeline(*o.sub, prog, data, strings);
  if (o.pod || o.uses_scope) return;
  if (o.k != operand::kind::field && o.k != operand::kind::sub && o.k != operand::kind::variable) return;
  std::string scratch, error;
  std::vector<value> slots;
  machine m(prog, data, machine::mode::fold, strings, scratch, error, slots, nullptr);
  value v;
  if (m.fold(o, v)) o.folded = v;  // a failure is left for the request that reaches it
}

void fold_pipeline(pipeline& p, const program& prog, const template_data& data, arena& strings) {
  for (command& c : p.cmds)
    for (operand& o : c.args) fold_operand(o, prog, data, strings);
  if (p.pod || p.uses_scope || !p.decl.empty()) return;
  std::string scratch, error;
  std::vector<value> slots;
  machine m(prog, data, machine::mode::fold, strings, scratch, error, slots, nullptr);
  value v;
  if (m.fold(p, v)) p.folded = v;
}

void fold_nodes(std::vector<node>& nodes, const program& prog, const template_data& data, arena& strings) {
  for (node& n : nodes) {
    if (n.pipe) fold_pipeline(*n.pipe, prog, data, strings);
    fold_nodes(n.body, prog, data, strings);
    fold_nodes(n.else_body, prog, data, strings);
  }
}

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

class memo_assigner {
 public:
  std::size_t slots() const { return keys_.size(); }

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
      for (operand& o : c.args)
        if (o.sub) pipe(*o.sub);
    if (!p.pod || p.uses_scope || !p.decl.empty() || p.folded) return;
    std::string key;
    canonical(p, key);
    auto [it, added] = keys_.try_emplace(std::move(key), static_cast<int>(keys_.size()));
    p.memo = it->second;
  }

  std::map<std::string, int> keys_;
};

// Recognises the map lookups of SPEC's Istio functions on the pod's metadata.
void mark_shortcut(pipeline& p) {
  if (p.cmds.size() != 1 || !p.decl.empty() || p.uses_scope) return;
  const std::vector<operand>& a = p.cmds[0].args;
  if (a.empty() || a[0].k != operand::kind::function) return;
  auto meta = [](const operand& o, bool& deployment) {
    if (o.k != operand::kind::field || o.fields.size() != 1) return false;
    deployment = o.fields[0] == "DeploymentMeta";
    return deployment || o.fields[0] == "ObjectMeta";
  };
  auto map = [](const operand& o, bool& deployment, bool& labels) {
    if (o.k != operand::kind::field || o.fields.size() != 2) return false;
    if (o.fields[0] != "ObjectMeta" && o.fields[0] != "DeploymentMeta") return false;
    if (o.fields[1] != "Labels" && o.fields[1] != "Annotations") return false;
    deployment = o.fields[0] == "DeploymentMeta";
    labels = o.fields[1] == "Labels";
    return true;
  };
  bool deployment = false, labels = false;
  if (a[0].fn == function_id::annotation && a.size() == 4 && meta(a[1], deployment) &&
      a[2].k == operand::kind::string && (a[3].folded || a[3].k == operand::kind::string ||
                                          a[3].k == operand::kind::integer)) {
    value d = a[3].folded ? *a[3].folded
              : a[3].k == operand::kind::string ? value::string(a[3].name)
                                                : value::integer(a[3].i);
    if (d.k != vkind::string && d.k != vkind::integer && d.k != vkind::enumeration && d.k != vkind::boolean) return;
    std::string text;
    print_value(d, text);
    p.fast = pipeline::shortcut::annotation;
    p.fast_deployment = deployment;
    p.fast_key = a[2].name;
    p.fast_default = std::move(text);
    return;
  }
  if ((a[0].fn == function_id::index || a[0].fn == function_id::isset) && a.size() == 3 &&
      map(a[1], deployment, labels) && a[2].k == operand::kind::string) {
    p.fast = a[0].fn == function_id::index ? pipeline::shortcut::index : pipeline::shortcut::isset;
    p.fast_deployment = deployment;
    p.fast_labels = labels;
    p.fast_key = a[2].name;
  }
}

void mark_shortcuts(pipeline& p) {
  for (command& c : p.cmds)
    for (operand& o : c.args)
      if (o.sub) mark_shortcuts(*o.sub);
  if (p.pod) mark_shortcut(p);
}

// Whether trace() has to visit a node: pod-dependent pipelines, and anything
// that binds a variable (a later pod expression may read it) or contains such.
bool mark_traced(std::vector<node>& list) {
  bool any = false;
  for (node& n : list) {
    if (n.pipe) mark_shortcuts(*n.pipe);
    // Both lists must be marked, so no short-circuit here.
    const bool in_body = mark_traced(n.body);
    const bool in_else = mark_traced(n.else_body);
    const bool inner = in_body || in_else;
    switch (n.k) {
      case node::kind::text: n.traced = false; break;
      case node::kind::action: n.traced = n.pipe->pod || !n.pipe->decl.empty(); break;
      default: n.traced = n.pipe->pod || !n.pipe->decl.empty() || inner; break;
    }
    any = any || n.traced;
  }
  return any;
}

}  // namespace

program::program(std::string text, const core::mesh_config& mesh, const core::config_node& values) {
  auto [left, right] = detect_delimiters(text);
  try {
    parsed_ = parse_template(std::move(text), std::move(left), std::move(right));
  } catch (const parse_error& e) {
    throw compile_error{e.pos, e.message};
  }
  load_data_.proxy_config = &mesh.proxy_config();
  load_data_.mesh = &mesh.root;
  load_data_.values = &values;
  analyzer a(mesh);
  a.run(parsed_.root);
  slot_count_ = a.slots();
  decisions_ = a.decisions;
  hole_sites_ = a.holes;
  fold_nodes(parsed_.root, *this, load_data_, folded_strings_);
  memo_assigner memo;
  memo.nodes(parsed_.root);
  memo_slots_ = memo.slots();
  mark_traced(parsed_.root);
}

bool program::trace(const template_data& data, trace_state& state) const noexcept {
  state.reset();
  if (state.memo.size() < memo_slots_) {
    state.memo.resize(memo_slots_);
    state.memo_generation.resize(memo_slots_, 0);
  }
  if (++state.generation == 0) {  // wrapped: forget every slot
    std::fill(state.memo_generation.begin(), state.memo_generation.end(), 0);
    state.generation = 1;
  }
  static thread_local std::vector<value> slots;
  machine m(*this, data, machine::mode::trace, state.strings, state.scratch, state.error, slots, &state);
  return m.run(nullptr, {});
}

bool program::render(const template_data& data, std::span<const std::uint8_t> trace, render_result& out,
                     std::string& error) const {
  out = render_result{};
  arena strings;
  std::string scratch;
  std::vector<value> slots;
  machine m(*this, data, machine::mode::render, strings, scratch, error, slots, nullptr);
  return m.run(&out, trace);
}

}  // namespace meshinject::patch::tmpl
