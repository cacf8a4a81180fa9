// Expression evaluation and the template functions (Go builtins and Istio's).
// Errors are values: a failing step records its message and the walk unwinds;
// nothing here throws, so the same code serves the request path.

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <cmath>
#include <cstring>
#include <new>
#include <type_traits>
#include <memory>
#include <vector>

#include "core/mesh_config.hpp"
#include "core/yaml_scalar.hpp"
#include "patch/json_access.hpp"
#include "patch/json_text.hpp"
#include "patch/template_machine.hpp"

namespace meshinject::patch::tmpl {
namespace {

using core::config_node;
using core::go_field;
using core::go_message;

value from_node(const config_node* n) {
  if (!n) return value{};
  switch (n->type()) {
    case config_node::kind::null: return value::nil();
    case config_node::kind::boolean: return value::boolean(n->as_bool());
    case config_node::kind::integer: return value::integer(n->as_int());
    case config_node::kind::floating: return value::floating(n->as_float());
    case config_node::kind::string: return value::string(n->text());
    case config_node::kind::list:
    case config_node::kind::map: {
      value v;
      v.k = vkind::cfg;
      v.p = n;
      return v;
    }
  }
  return value{};
}

value from_json(simdjson::dom::element e) {
  switch (e.type()) {
    case simdjson::dom::element_type::OBJECT:
    case simdjson::dom::element_type::ARRAY: {
      value v;
      v.k = vkind::json;
      v.j = e;
      return v;
    }
    case simdjson::dom::element_type::STRING: return value::string(e.get_string().value_unsafe());
    case simdjson::dom::element_type::BOOL: return value::boolean(e.get_bool().value_unsafe());
    case simdjson::dom::element_type::NULL_VALUE: return value::nil();
    // encoding/json decodes every number into float64.
    case simdjson::dom::element_type::INT64: return value::floating(static_cast<double>(e.get_int64().value_unsafe()));
    case simdjson::dom::element_type::UINT64: return value::floating(static_cast<double>(e.get_uint64().value_unsafe()));
    case simdjson::dom::element_type::DOUBLE: return value::floating(e.get_double().value_unsafe());
  }
  return value{};
}

value enum_value(const go_field& f, const config_node* n) {
  value v;
  v.k = vkind::enumeration;
  std::int64_t number = 0;
  if (n && n->type() == config_node::kind::integer) number = n->as_int();
  if (n && n->type() == config_node::kind::string) {
    for (const auto& e : f.enums)
      if (e.name == n->text()) number = e.number;
  }
  v.i = number;
  v.s = "";
  for (const auto& e : f.enums)
    if (e.number == number) v.s = e.name;
  if (v.s.empty() && !f.enums.empty() && number == 0) v.s = f.enums[0].name;
  return v;
}

// Go field names map to protobuf JSON names by lower-casing the first letter.
std::string json_name_of(std::string_view go_name) {
  std::string s(go_name);
  if (!s.empty() && s[0] >= 'A' && s[0] <= 'Z') s[0] = static_cast<char>(s[0] - 'A' + 'a');
  return s;
}

enum class basic { none, boolean, integer, floating, string };

basic basic_kind(const value& v) {
  switch (v.k) {
    case vkind::boolean: return basic::boolean;
    case vkind::integer:
    case vkind::enumeration: return basic::integer;
    case vkind::floating: return basic::floating;
    case vkind::string: return basic::string;
    default: return basic::none;
  }
}

bool is_valid(const value& v) { return v.k != vkind::invalid && v.k != vkind::nil; }

void yaml_scalar_string(std::string_view s, std::string& out) {
  // Quote when the plain form would be read back as something else.
  bool plain = !s.empty() && core::resolve_plain_scalar(s).k == core::yaml_scalar::kind::string;
  if (plain) {
    const char c0 = s[0];
    if (std::strchr("-?:,[]{}#&*!|>'\"%@` ", c0) != nullptr) plain = false;
    if (s.back() == ' ' || s.back() == ':') plain = false;
    for (char c : s)
      if (c == '\n' || c == '\t' || c == '\r' || static_cast<unsigned char>(c) < 0x20) plain = false;
    if (s.find(": ") != std::string_view::npos || s.find(" #") != std::string_view::npos) plain = false;
  }
  if (plain) {
    out.append(s);
    return;
  }
  append_json_string(out, s);
}

void yaml_of_node(const config_node& n, std::string& out, int indent);
void yaml_of_json(simdjson::dom::element e, std::string& out, int indent);

void yaml_indent(std::string& out, int indent) { out.append(static_cast<std::size_t>(indent), ' '); }

// Block YAML in go-yaml's layout (sequence items at the parent key's indentation).
void yaml_of_node(const config_node& n, std::string& out, int indent) {
  using K = config_node::kind;
  switch (n.type()) {
    case K::map:
      if (n.members().empty()) {
        out += "{}\n";
        return;
      }
      for (const auto& [k, v] : n.members()) {
        yaml_indent(out, indent);
        yaml_scalar_string(k, out);
        out += ':';
        if ((v.type() == K::map && !v.members().empty())) {
          out += '\n';
          yaml_of_node(v, out, indent + 2);
        } else if (v.type() == K::list && !v.items().empty()) {
          out += '\n';
          yaml_of_node(v, out, indent);
        } else {
          out += ' ';
          yaml_of_node(v, out, indent + 2);
        }
      }
      return;
    case K::list:
      if (n.items().empty()) {
        out += "[]\n";
        return;
      }
      for (const auto& item : n.items()) {
        yaml_indent(out, indent);
        out += "- ";
        if ((item.type() == K::map && !item.members().empty()) || (item.type() == K::list && !item.items().empty())) {
          std::string inner;
          yaml_of_node(item, inner, indent + 2);
          out.append(inner, static_cast<std::size_t>(indent) + 2, std::string::npos);
        } else {
          yaml_of_node(item, out, indent + 2);
        }
      }
      return;
    case K::null: out += "null\n"; return;
    case K::boolean: out += n.as_bool() ? "true\n" : "false\n"; return;
    case K::integer: out += std::to_string(n.as_int()) + "\n"; return;
    case K::floating: out += core::format_go_float(n.as_float()) + "\n"; return;
    case K::string: yaml_scalar_string(n.text(), out); out += '\n'; return;
  }
}

void yaml_of_json(simdjson::dom::element e, std::string& out, int indent) {
  switch (e.type()) {
    case simdjson::dom::element_type::OBJECT: {
      std::vector<std::pair<std::string_view, simdjson::dom::element>> members;
      for (auto kv : patch::as_object(e)) members.emplace_back(kv.key, kv.value);
      if (members.empty()) {
        out += "{}\n";
        return;
      }
      std::stable_sort(members.begin(), members.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
      for (const auto& [k, v] : members) {
        yaml_indent(out, indent);
        yaml_scalar_string(k, out);
        out += ':';
        const bool nested_obj = v.is_object() && v.get_object().value_unsafe().size() != 0;
        const bool nested_arr = v.is_array() && v.get_array().value_unsafe().size() != 0;
        if (nested_obj) {
          out += '\n';
          yaml_of_json(v, out, indent + 2);
        } else if (nested_arr) {
          out += '\n';
          yaml_of_json(v, out, indent);
        } else {
          out += ' ';
          yaml_of_json(v, out, indent + 2);
        }
      }
      return;
    }
    case simdjson::dom::element_type::ARRAY: {
      if (e.get_array().value_unsafe().size() == 0) {
        out += "[]\n";
        return;
      }
      for (auto item : patch::as_array(e)) {
        yaml_indent(out, indent);
        out += "- ";
        const bool nested = (item.is_object() && item.get_object().value_unsafe().size() != 0) ||
                            (item.is_array() && item.get_array().value_unsafe().size() != 0);
        if (nested) {
          std::string inner;
          yaml_of_json(item, inner, indent + 2);
          out.append(inner, static_cast<std::size_t>(indent) + 2, std::string::npos);
        } else {
          yaml_of_json(item, out, indent + 2);
        }
      }
      return;
    }
    case simdjson::dom::element_type::STRING: yaml_scalar_string(e.get_string().value_unsafe(), out); out += '\n'; return;
    case simdjson::dom::element_type::BOOL: out += e.get_bool().value_unsafe() ? "true\n" : "false\n"; return;
    case simdjson::dom::element_type::NULL_VALUE: out += "null\n"; return;
    case simdjson::dom::element_type::INT64:
      out += core::format_go_float(static_cast<double>(e.get_int64().value_unsafe())) + "\n";
      return;
    case simdjson::dom::element_type::UINT64:
      out += core::format_go_float(static_cast<double>(e.get_uint64().value_unsafe())) + "\n";
      return;
    case simdjson::dom::element_type::DOUBLE: out += core::format_go_float(e.get_double().value_unsafe()) + "\n"; return;
  }
}

}  // namespace

machine::machine(const program& prog, const template_data& data, mode m, arena& strings, std::string& scratch,
                 std::string& error, std::vector<value>& slots, trace_state* state)
    : prog_(prog), data_(data), mode_(m), strings_(strings), scratch_(scratch), error_(error), slots_(slots),
      state_(state) {
  root_.k = vkind::data;
  root_.p = &data_;
  if (slots_.size() < prog_.slot_count_) slots_.resize(prog_.slot_count_);
  slots_[0] = root_;
}

bool machine::fail(std::uint32_t pos, std::string_view message) {
  if (failed_) return false;
  failed_ = true;
  const auto [line, col] = prog_.line_column(pos);
  error_.clear();
  error_ += "template:";
  error_ += std::to_string(line);
  error_ += ':';
  error_ += std::to_string(col);
  error_ += ": ";
  error_.append(message);
  return false;
}

value machine::text_value(std::string_view s, std::string_view origin) {
  return value::string(strings_.copy(s), origin);
}

// ---------------------------------------------------------------- evaluation

value machine::eval_pipeline(const pipeline& p, const value& dot) {
  // A pod expression that does not depend on scope has one value per request:
  // the second and later evaluations (the 1.1 template repeats the status-port
  // annotation six times) read it back.
  const bool memoized = p.memo >= 0 && mode_ == mode::trace;
  if (memoized && state_->memo_generation[static_cast<std::size_t>(p.memo)] == state_->generation)
    return state_->memo[static_cast<std::size_t>(p.memo)];
  value v;
  if (p.fast != pipeline::shortcut::none && data_.p) {
    v = eval_shortcut(p);
  } else if (p.folded) {
    v = *p.folded;
  } else {
    bool have = false;
    for (const command& c : p.cmds) {
      v = eval_command(c, dot, have ? &v : nullptr);
      if (failed_) return value{};
      have = true;
    }
  }
  if (p.decl_slots.size() == 1) slots_[static_cast<std::size_t>(p.decl_slots[0])] = v;
  if (memoized) {
    state_->memo[static_cast<std::size_t>(p.memo)] = v;
    state_->memo_generation[static_cast<std::size_t>(p.memo)] = state_->generation;
  }
  return v;
}

value machine::eval_shortcut(const pipeline& p) {
  const template_data& d = data_;
  const bool deployment = p.fast_deployment && d.deployment;
  const std::vector<core::label>& set =
      deployment ? (p.fast_labels ? d.deployment->labels : d.deployment->annotations)
                 : (p.fast_labels ? d.p->labels : d.p->annotations);
  for (const core::label& l : set) {
    if (l.key.size() != p.fast_key.size() || l.key != p.fast_key) continue;
    if (p.fast == pipeline::shortcut::isset) return value::boolean(true);
    return value::string(l.value, l.key);
  }
  switch (p.fast) {
    case pipeline::shortcut::isset: return value::boolean(false);
    case pipeline::shortcut::index: return value::string("");
    default: return value::string(p.fast_default);
  }
}

value machine::eval_command(const command& c, const value& dot, const value* piped) {
  const operand& head = c.args[0];
  if (head.k != operand::kind::function) {
    if (c.args.size() > 1 || piped) {
      fail(head.pos, "can't give argument to non-function " + std::string(head.name.empty() ? "value" : head.name));
      return value{};
    }
    return eval_operand(head, dot);
  }
  // and/or evaluate their arguments lazily (Go 1.18+).
  if (head.fn == function_id::and_ || head.fn == function_id::or_) {
    const bool is_and = head.fn == function_id::and_;
    value last;
    const std::size_t n = c.args.size() - 1 + (piped ? 1 : 0);
    for (std::size_t k = 0; k < n; ++k) {
      last = (k + 1 < c.args.size()) ? eval_operand(c.args[k + 1], dot) : *piped;
      if (failed_) return value{};
      if (truth(last) != is_and) return last;
    }
    return last;
  }
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
    if (failed_) return value{};
  }
  if (piped) new (&args[n++]) value(*piped);
  return call(head.fn, std::span<value>(args, n), head.pos);
}

value machine::eval_operand(const operand& o, const value& dot) {
  if (o.folded) return *o.folded;
  value v;
  switch (o.k) {
    case operand::kind::dot: v = dot; break;
    case operand::kind::field: return eval_fields(dot, o.fields, 0, o.pos);
    case operand::kind::variable: v = slots_[static_cast<std::size_t>(o.slot)]; break;
    case operand::kind::string: v = value::string(o.name); break;
    case operand::kind::integer: v = value::integer(o.i); break;
    case operand::kind::floating: v = value::floating(o.f); break;
    case operand::kind::boolean: v = value::boolean(o.b); break;
    case operand::kind::nil: v = value::nil(); break;
    case operand::kind::function: v = call(o.fn, {}, o.pos); break;
    case operand::kind::sub: v = eval_pipeline(*o.sub, dot); break;
  }
  if (failed_) return value{};
  if (o.fields.empty()) return v;
  return eval_fields(v, o.fields, 0, o.pos);
}

value machine::eval_fields(value v, const std::vector<std::string>& fields, std::size_t from, std::uint32_t pos) {
  for (std::size_t k = from; k < fields.size(); ++k) {
    v = field_of(v, fields[k], pos);
    if (failed_) return value{};
  }
  return v;
}

value machine::field_of(const value& base, std::string_view name, std::uint32_t pos) {
  value v;
  switch (base.k) {
    case vkind::unknown: return value::unknown();
    case vkind::data: {
      const auto* d = static_cast<const template_data*>(base.p);
      if (name == "ObjectMeta" || name == "DeploymentMeta") {
        v.k = vkind::meta;
        v.i = name == "ObjectMeta" ? 0 : 1;
        v.p = d;
        return v;
      }
      if (name == "Spec") {
        v.k = vkind::spec;
        v.p = d;
        return v;
      }
      if (name == "ProxyConfig" || name == "MeshConfig" || name == "Values") {
        v.k = vkind::cfg;
        v.p = name == "ProxyConfig" ? d->proxy_config : name == "MeshConfig" ? d->mesh : d->values;
        v.aux = name == "ProxyConfig" ? &core::proxy_config_message()
                : name == "MeshConfig" ? &core::mesh_config_message()
                                       : nullptr;
        return v;
      }
      fail(pos, "can't evaluate field " + std::string(name) + " in type *inject.SidecarTemplateData");
      return v;
    }
    case vkind::meta: {
      const auto* d = static_cast<const template_data*>(base.p);
      if (!d->p) return value::unknown();
      const bool deployment = base.i == 1 && d->deployment != nullptr;
      if (name == "Name") return value::string(deployment ? d->deployment->name : d->p->name);
      if (name == "Namespace") return value::string(deployment ? d->deployment->namespace_name : d->p->namespace_name);
      if (name == "GenerateName") return value::string(deployment ? std::string_view() : d->p->generate_name);
      if (name == "Labels" || name == "Annotations") {
        const bool labels = name == "Labels";
        const auto& set = deployment ? (labels ? d->deployment->labels : d->deployment->annotations)
                                     : (labels ? d->p->labels : d->p->annotations);
        v.k = vkind::string_map;
        v.p = set.data();
        v.i = static_cast<std::int64_t>(set.size());
        v.b = deployment ? (labels ? d->deployment->has_labels : d->deployment->has_annotations)
                         : (labels ? d->p->has_labels : d->p->has_annotations);
        return v;
      }
      fail(pos, "can't evaluate field " + std::string(name) + " in type *v1.ObjectMeta");
      return v;
    }
    case vkind::spec: {
      const auto* d = static_cast<const template_data*>(base.p);
      if (!d->p) return value::unknown();
      if (name == "Containers" || name == "InitContainers") {
        const auto& list = name == "Containers" ? d->p->containers : d->p->init_containers;
        v.k = vkind::containers;
        v.p = list.data();
        v.i = static_cast<std::int64_t>(list.size());
        v.aux = d;
        return v;
      }
      if (name == "ServiceAccountName") return value::string(d->p->service_account_name);
      if (name == "ServiceAccount") return value::string(d->p->service_account);
      if (name == "HostNetwork") return value::boolean(d->p->host_network);
      fail(pos, "can't evaluate field " + std::string(name) + " in type *v1.PodSpec");
      return v;
    }
    case vkind::container: {
      const auto* c = static_cast<const patch::container*>(base.p);
      if (name == "Name") return value::string(c->name);
      if (name == "Image") return value::string(c->image);
      if (name == "Ports") {
        const auto* d = static_cast<const template_data*>(base.aux);
        v.k = vkind::ports;
        v.p = d->p->ports.data() + c->ports_begin;
        v.i = static_cast<std::int64_t>(c->ports_end - c->ports_begin);
        return v;
      }
      fail(pos, "can't evaluate field " + std::string(name) + " in type v1.Container");
      return v;
    }
    case vkind::port: {
      const auto* p = static_cast<const patch::container_port*>(base.p);
      if (name == "ContainerPort") return value::integer(p->container_port);
      if (name == "Name") return value::string(p->name);
      if (name == "Protocol") return value::string(p->protocol);
      fail(pos, "can't evaluate field " + std::string(name) + " in type v1.ContainerPort");
      return v;
    }
    case vkind::string_map: {
      // A field on a map is a key lookup; a missing key is "<no value>".
      for (std::int64_t k = 0; k < base.i; ++k)
        if (base.labels()[k].key == name) return value::string(base.labels()[k].value, base.labels()[k].key);
      return value{};
    }
    case vkind::enumeration:
      if (name == "String") return value::string(base.s);
      fail(pos, "can't evaluate field " + std::string(name) + " in type enum");
      return v;
    case vkind::cfg: {
      const config_node* n = base.node();
      if (const go_message* msg = base.schema()) {
        const go_field* f = msg->find_field(name);
        const bool getter = name.size() > 3 && name.substr(0, 3) == "Get";
        if (!f) {
          const config_node* raw = n ? n->find(json_name_of(getter ? name.substr(3) : name)) : nullptr;
          if (raw) return from_node(raw);
          fail(pos, "can't evaluate field " + std::string(name) + " in type *" + std::string(msg->type_name));
          return v;
        }
        if (!n && !getter) {
          fail(pos, "nil pointer evaluating *" + std::string(msg->type_name) + "." + std::string(name));
          return v;
        }
        const config_node* fn = n ? n->find(f->json_name) : nullptr;
        if (fn && fn->is_null()) fn = nullptr;
        switch (f->k) {
          case go_field::kind::string: return value::string(fn ? std::string_view(fn->text()) : std::string_view());
          case go_field::kind::integer: return value::integer(fn ? fn->as_int() : 0);
          case go_field::kind::boolean: return value::boolean(fn ? fn->as_bool() : false);
          case go_field::kind::duration: {
            v.k = vkind::duration;
            if (fn) {
              const auto ns = core::parse_go_duration(fn->text());
              v.b = ns.has_value();
              v.i = ns.value_or(0);
            }
            return v;
          }
          case go_field::kind::enumeration: return enum_value(*f, fn);
          case go_field::kind::message:
            v.k = vkind::cfg;
            v.p = fn;
            v.aux = f->message;
            return v;
          default:
            return fn ? from_node(fn) : value::nil();
        }
      }
      if (!n || n->type() != config_node::kind::map) {
        fail(pos, "can't evaluate field " + std::string(name) + " in type " + std::string(type_name(base)));
        return v;
      }
      const config_node* m = n->find(name);
      return m ? from_node(m) : value{};
    }
    case vkind::json: {
      if (!base.j.is_object()) {
        fail(pos, (base.origin.empty() ? std::string() : "annotation " + std::string(base.origin) + ": ") +
                      "can't evaluate field " + std::string(name) + " in type []interface {}");
        return v;
      }
      auto r = base.j.get_object().value_unsafe().at_key(name);
      if (r.error()) return value{};
      return from_json(r.value_unsafe());
    }
    case vkind::invalid:
    case vkind::nil:
      fail(pos, "nil pointer evaluating interface {}." + std::string(name));
      return v;
    default:
      fail(pos, "can't evaluate field " + std::string(name) + " in type " + std::string(type_name(base)));
      return v;
  }
}

// ----------------------------------------------------------------- functions

value machine::call(function_id fn, std::span<value> a, std::uint32_t pos) {
  for (value& x : a) {
    if (x.k == vkind::unknown) return value::unknown();
    if (x.yaml) {
      // toYaml's result handed to another function is the YAML text, as in Go.
      // (A structured hole evaluates its toYaml alone and keeps the structure.)
      scratch_.clear();
      materialize_yaml(x, scratch_);
      x = text_value(scratch_, x.origin);
    }
  }
  auto want = [&](std::size_t n, const char* name) {
    if (a.size() == n) return true;
    fail(pos, "wrong number of args for " + std::string(name) + ": want " + std::to_string(n) + " got " +
                  std::to_string(a.size()));
    return false;
  };
  switch (fn) {
    case function_id::none:
    case function_id::and_:
    case function_id::or_:
      fail(pos, "internal: function not resolved");
      return value{};
    case function_id::not_:
      if (!want(1, "not")) return value{};
      return value::boolean(!truth(a[0]));
    case function_id::eq:
    case function_id::ne:
    case function_id::lt:
    case function_id::le:
    case function_id::gt:
    case function_id::ge:
      return fn_compare(fn, a, pos);
    case function_id::index: return fn_index(a, pos);
    case function_id::len:
      if (!want(1, "len")) return value{};
      return fn_len(a[0], pos);
    case function_id::print:
    case function_id::println:
      return fn_print(fn, a, pos);
    case function_id::printf: return fn_printf(a, pos);
    case function_id::annotation: {
      if (!want(3, "annotation")) return value{};
      if (a[0].k != vkind::meta) {
        fail(pos, "wrong type for value; expected v1.ObjectMeta; got " + std::string(type_name(a[0])));
        return value{};
      }
      if (a[1].k != vkind::string) {
        fail(pos, "wrong type for value; expected string; got " + std::string(type_name(a[1])));
        return value{};
      }
      const value annotations = field_of(a[0], "Annotations", pos);
      if (failed_) return value{};
      if (annotations.k == vkind::unknown) return annotations;
      for (std::int64_t k = 0; k < annotations.i; ++k)
        if (annotations.labels()[k].key == a[1].s)
          return value::string(annotations.labels()[k].value, annotations.labels()[k].key);
      if (a[2].k == vkind::string) return a[2];
      scratch_.clear();
      sprint(a[2], scratch_);
      return text_value(scratch_);
    }
    case function_id::isset: {
      if (!want(2, "isset")) return value{};
      if (a[0].k != vkind::string_map) {
        if (a[0].k == vkind::nil || a[0].k == vkind::invalid) return value::boolean(false);
        fail(pos, "wrong type for value; expected map[string]string; got " + std::string(type_name(a[0])));
        return value{};
      }
      if (a[1].k != vkind::string) {
        fail(pos, "wrong type for value; expected string; got " + std::string(type_name(a[1])));
        return value{};
      }
      for (std::int64_t k = 0; k < a[0].i; ++k)
        if (a[0].labels()[k].key == a[1].s) return value::boolean(true);
      return value::boolean(false);
    }
    case function_id::value_or_default: {
      if (!want(2, "valueOrDefault")) return value{};
      const bool empty = a[0].k == vkind::invalid || a[0].k == vkind::nil || (a[0].k == vkind::string && a[0].s.empty());
      return empty ? a[1] : a[0];
    }
    case function_id::to_json:
      if (!want(1, "toJSON")) return value{};
      return fn_to_json(a[0], pos);
    case function_id::from_json:
      if (!want(1, "fromJSON")) return value{};
      return fn_from_json(a[0], pos);
    case function_id::to_yaml:
      if (!want(1, "toYaml")) return value{};
      return fn_to_yaml(a[0], pos);
    case function_id::indent: {
      if (!want(2, "indent")) return value{};
      if (a[0].k != vkind::integer) {
        fail(pos, "wrong type for value; expected int; got " + std::string(type_name(a[0])));
        return value{};
      }
      std::string_view s;
      if (a[1].yaml) {
        // YAML of pod data used as text (a structured hole never evaluates its
        // indent: the fragment writer lays the structure out itself).
        scratch_.clear();
        materialize_yaml(a[1], scratch_);
        s = strings_.copy(scratch_);
      } else if (a[1].k == vkind::string) {
        s = a[1].s;
      } else {
        fail(pos, "wrong type for value; expected string; got " + std::string(type_name(a[1])));
        return value{};
      }
      scratch_.clear();
      const auto pad = static_cast<std::size_t>(std::max<std::int64_t>(0, std::min<std::int64_t>(a[0].i, 1024)));
      for (char ch : s) {
        scratch_ += ch;
        if (ch == '\n') scratch_.append(pad, ' ');
      }
      return text_value(scratch_, a[1].origin);
    }
    case function_id::format_duration: {
      if (!want(1, "formatDuration")) return value{};
      if (a[0].k == vkind::duration) {
        scratch_ = a[0].b ? core::format_go_duration(a[0].i) : "1s";
        return text_value(scratch_);
      }
      if (a[0].k == vkind::nil || a[0].k == vkind::invalid) return value::string("1s");
      fail(pos, "wrong type for value; expected *types.Duration; got " + std::string(type_name(a[0])));
      return value{};
    }
    case function_id::include_inbound_ports:
      if (!want(1, "includeInboundPorts")) return value{};
      return fn_ports(a[0], false, pos);
    case function_id::application_ports:
      if (!want(1, "applicationPorts")) return value{};
      return fn_ports(a[0], true, pos);
    case function_id::exclude_inbound_port: {
      if (!want(2, "excludeInboundPort")) return value{};
      if (a[1].k != vkind::string) {
        fail(pos, "wrong type for value; expected string; got " + std::string(type_name(a[1])));
        return value{};
      }
      std::string port;
      sprint(a[0], port);
      while (!port.empty() && (port.back() == ' ' || port.back() == '\t' || port.back() == '\n')) port.pop_back();
      std::size_t lead = 0;
      while (lead < port.size() && (port[lead] == ' ' || port[lead] == '\t' || port[lead] == '\n')) ++lead;
      port.erase(0, lead);
      if (port.empty() || port == "0") return a[1];
      const std::string_view list = a[1].s;
      scratch_.clear();
      std::size_t start = 0;
      for (;;) {
        const std::size_t comma = list.find(',', start);
        std::string_view item = list.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
        if (item == port) return a[1];
        while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
        while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
        if (!item.empty()) {
          if (!scratch_.empty()) scratch_ += ',';
          scratch_.append(item);
        }
        if (comma == std::string_view::npos) break;
        start = comma + 1;
      }
      if (!scratch_.empty()) scratch_ += ',';
      scratch_ += port;
      return text_value(scratch_);
    }
    case function_id::kubevirt_interfaces:
      if (!want(1, "kubevirtInterfaces")) return value{};
      return a[0];
    case function_id::directory: {
      if (!want(1, "directory")) return value{};
      if (a[0].k != vkind::string) {
        fail(pos, "wrong type for value; expected string; got " + std::string(type_name(a[0])));
        return value{};
      }
      const std::size_t slash = a[0].s.rfind('/');
      return value::string(slash == std::string_view::npos ? std::string_view() : a[0].s.substr(0, slash + 1));
    }
    case function_id::contains: {
      if (!want(2, "contains")) return value{};
      if (a[0].k != vkind::string || a[1].k != vkind::string) {
        fail(pos, "wrong type for value; expected string");
        return value{};
      }
      // Istio's contains takes the needle first so it reads well in a pipeline.
      return value::boolean(a[1].s.find(a[0].s) != std::string_view::npos);
    }
  }
  return value{};
}

value machine::fn_index(std::span<value> a, std::uint32_t pos) {
  if (a.empty()) {
    fail(pos, "wrong number of args for index: want at least 1 got 0");
    return value{};
  }
  value v = a[0];
  for (std::size_t k = 1; k < a.size(); ++k) {
    const value& key = a[k];
    switch (v.k) {
      case vkind::string_map: {
        if (key.k != vkind::string) {
          fail(pos, "error calling index: value has type " + std::string(type_name(key)) + "; should be string");
          return value{};
        }
        value found = value::string("");
        for (std::int64_t m = 0; m < v.i; ++m)
          if (v.labels()[m].key == key.s) found = value::string(v.labels()[m].value, v.labels()[m].key);
        v = found;
        break;
      }
      case vkind::cfg: {
        const config_node* n = v.node();
        if (n && n->type() == config_node::kind::map) {
          if (key.k != vkind::string) {
            fail(pos, "error calling index: value has type " + std::string(type_name(key)) + "; should be string");
            return value{};
          }
          const config_node* m = n->find(key.s);
          v = m ? from_node(m) : value{};
        } else if (n && n->type() == config_node::kind::list) {
          if (key.k != vkind::integer || key.i < 0 || static_cast<std::size_t>(key.i) >= n->items().size()) {
            fail(pos, "error calling index: index out of range");
            return value{};
          }
          v = from_node(&n->items()[static_cast<std::size_t>(key.i)]);
        } else {
          fail(pos, "error calling index: can't index item of type " + std::string(type_name(v)));
          return value{};
        }
        break;
      }
      case vkind::json: {
        if (v.j.is_object()) {
          if (key.k != vkind::string) {
            fail(pos, "error calling index: value has type " + std::string(type_name(key)) + "; should be string");
            return value{};
          }
          auto r = v.j.get_object().value_unsafe().at_key(key.s);
          v = r.error() ? value{} : from_json(r.value_unsafe());
        } else {
          if (key.k != vkind::integer || key.i < 0) {
            fail(pos, "error calling index: index out of range");
            return value{};
          }
          auto r = v.j.get_array().value_unsafe().at(static_cast<std::size_t>(key.i));
          if (r.error()) {
            fail(pos, (v.origin.empty() ? std::string() : "annotation " + std::string(v.origin) + ": ") +
                          "error calling index: index out of range: " + std::to_string(key.i));
            return value{};
          }
          v = from_json(r.value_unsafe());
        }
        break;
      }
      case vkind::containers:
      case vkind::ports: {
        if (key.k != vkind::integer || key.i < 0 || key.i >= v.i) {
          fail(pos, "error calling index: index out of range");
          return value{};
        }
        value item;
        if (v.k == vkind::containers) {
          item.k = vkind::container;
          item.p = static_cast<const patch::container*>(v.p) + key.i;
          item.aux = v.aux;
        } else {
          item.k = vkind::port;
          item.p = static_cast<const patch::container_port*>(v.p) + key.i;
        }
        v = item;
        break;
      }
      case vkind::nil:
      case vkind::invalid:
        fail(pos, "error calling index: index of untyped nil");
        return value{};
      default:
        fail(pos, "error calling index: can't index item of type " + std::string(type_name(v)));
        return value{};
    }
  }
  return v;
}

value machine::fn_len(const value& v, std::uint32_t pos) {
  switch (v.k) {
    case vkind::string: return value::integer(static_cast<std::int64_t>(v.s.size()));
    case vkind::string_map:
    case vkind::containers:
    case vkind::ports: return value::integer(v.i);
    case vkind::cfg: {
      const config_node* n = v.node();
      if (n && n->type() == config_node::kind::map) return value::integer(static_cast<std::int64_t>(n->members().size()));
      if (n && n->type() == config_node::kind::list) return value::integer(static_cast<std::int64_t>(n->items().size()));
      break;
    }
    case vkind::json:
      if (v.j.is_object()) return value::integer(static_cast<std::int64_t>(v.j.get_object().value_unsafe().size()));
      return value::integer(static_cast<std::int64_t>(v.j.get_array().value_unsafe().size()));
    default: break;
  }
  fail(pos, "error calling len: len of type " + std::string(type_name(v)));
  return value{};
}

value machine::fn_compare(function_id fn, std::span<value> a, std::uint32_t pos) {
  const char* name = fn == function_id::eq ? "eq" : fn == function_id::ne ? "ne" : fn == function_id::lt ? "lt"
                     : fn == function_id::le ? "le" : fn == function_id::gt ? "gt" : "ge";
  if (fn == function_id::eq ? a.size() < 2 : a.size() != 2) {
    fail(pos, std::string("wrong number of args for ") + name);
    return value{};
  }
  auto bad = [&](const char* what) {
    fail(pos, std::string("error calling ") + name + ": " + what);
    return value{};
  };
  const value& x = a[0];
  const basic kx = basic_kind(x);
  if (fn == function_id::eq || fn == function_id::ne) {
    for (std::size_t k = 1; k < a.size(); ++k) {
      const value& y = a[k];
      const basic ky = basic_kind(y);
      bool equal = false;
      if (kx != ky) {
        if (is_valid(x) && is_valid(y)) return bad("incompatible types for comparison");
        equal = !is_valid(x) && !is_valid(y);
      } else {
        switch (kx) {
          case basic::boolean: equal = x.b == y.b; break;
          case basic::integer: equal = x.i == y.i; break;
          case basic::floating: equal = x.f == y.f; break;
          case basic::string: equal = x.s == y.s; break;
          case basic::none:
            if (is_valid(x) && is_valid(y)) return bad("non-comparable types");
            equal = is_valid(x) == is_valid(y);
            break;
        }
      }
      if (equal) return value::boolean(fn == function_id::eq);
    }
    return value::boolean(fn != function_id::eq);
  }
  const value& y = a[1];
  const basic ky = basic_kind(y);
  if (kx == basic::none || kx == basic::boolean || ky == basic::none || ky == basic::boolean)
    return bad("invalid type for comparison");
  if (kx != ky) return bad("incompatible types for comparison");
  int c = 0;
  if (kx == basic::integer) c = x.i < y.i ? -1 : x.i > y.i ? 1 : 0;
  else if (kx == basic::floating) c = x.f < y.f ? -1 : x.f > y.f ? 1 : 0;
  else c = x.s < y.s ? -1 : x.s > y.s ? 1 : 0;
  switch (fn) {
    case function_id::lt: return value::boolean(c < 0);
    case function_id::le: return value::boolean(c <= 0);
    case function_id::gt: return value::boolean(c > 0);
    default: return value::boolean(c >= 0);
  }
}

void machine::materialize_yaml(const value& v, std::string& out) {
  switch (v.k) {
    case vkind::cfg:
      if (v.node()) yaml_of_node(*v.node(), out, 0);
      else out += "null\n";
      break;
    case vkind::json: yaml_of_json(v.j, out, 0); break;
    case vkind::string_map: {
      if (v.i == 0) {
        out += "{}\n";
        break;
      }
      std::vector<const core::label*> sorted;
      for (std::int64_t k = 0; k < v.i; ++k) sorted.push_back(v.labels() + k);
      std::sort(sorted.begin(), sorted.end(), [](auto* p, auto* q) { return p->key < q->key; });
      for (const auto* l : sorted) {
        yaml_scalar_string(l->key, out);
        out += ": ";
        yaml_scalar_string(l->value, out);
        out += '\n';
      }
      break;
    }
    case vkind::string: yaml_scalar_string(v.s, out); out += '\n'; break;
    case vkind::integer: out += std::to_string(v.i) + "\n"; break;
    case vkind::floating: out += core::format_go_float(v.f) + "\n"; break;
    case vkind::boolean: out += v.b ? "true\n" : "false\n"; break;
    case vkind::nil:
    case vkind::invalid: out += "null\n"; break;
    default: print_value(v, out); out += '\n'; break;
  }
}

void machine::sprint(const value& v, std::string& out) {
  if (v.yaml) {
    materialize_yaml(v, out);
    return;
  }
  if (v.k == vkind::invalid) {
    out += "<nil>";
    return;
  }
  print_value(v, out);
}

value machine::fn_print(function_id fn, std::span<value> a, std::uint32_t) {
  scratch_.clear();
  for (std::size_t k = 0; k < a.size(); ++k) {
    // Sprint puts a space between operands when neither is a string; Sprintln always does.
    if (k > 0 && (fn == function_id::println || (a[k - 1].k != vkind::string && a[k].k != vkind::string)))
      scratch_ += ' ';
    sprint(a[k], scratch_);
  }
  if (fn == function_id::println) scratch_ += '\n';
  return text_value(scratch_);
}

value machine::fn_printf(std::span<value> a, std::uint32_t pos) {
  if (a.empty()) {
    fail(pos, "wrong number of args for printf: want at least 1 got 0");
    return value{};
  }
  if (a[0].k != vkind::string) {
    fail(pos, "wrong type for value; expected string; got " + std::string(type_name(a[0])));
    return value{};
  }
  const std::string_view f = a[0].s;
  // Kept per thread so a warm reactor formats without allocating.
  static thread_local std::string out_buffer, tmp_buffer;
  std::string& out = out_buffer;
  std::string& tmp = tmp_buffer;
  out.clear();
  std::size_t arg = 1;
  for (std::size_t i = 0; i < f.size(); ++i) {
    if (f[i] != '%') {
      out += f[i];
      continue;
    }
    if (++i >= f.size()) {
      out += "%!(NOVERB)";
      break;
    }
    bool minus = false, zero = false, plus = false;
    for (; i < f.size(); ++i) {
      if (f[i] == '-') minus = true;
      else if (f[i] == '0') zero = true;
      else if (f[i] == '+') plus = true;
      else if (f[i] == ' ' || f[i] == '#') continue;
      else break;
    }
    // Go's fmt gives up on a width or precision over 1e6 (parsenum's tooLarge): the
    // rest of the format is consumed and the verb reported missing. Checking before
    // each digit also keeps the int from overflowing.
    bool too_large = false;
    auto number = [&](int& n) {
      for (n = 0; i < f.size() && f[i] >= '0' && f[i] <= '9'; ++i) {
        if (n > 1'000'000) {
          too_large = true;
          i = f.size();
          return;
        }
        n = n * 10 + (f[i] - '0');
      }
    };
    int width = -1, prec = -1;
    if (i < f.size() && f[i] >= '0' && f[i] <= '9') number(width);
    if (i < f.size() && f[i] == '.') {
      ++i;
      number(prec);
    }
    if (too_large || i >= f.size()) {
      out += "%!(NOVERB)";
      break;
    }
    const char verb = f[i];
    if (verb == '%') {
      out += '%';
      continue;
    }
    if (arg >= a.size()) {
      out += "%!";
      out += verb;
      out += "(MISSING)";
      continue;
    }
    const value& v = a[arg++];
    tmp.clear();
    auto wrong = [&]() {
      tmp = "%!";
      tmp += verb;
      tmp += '(';
      if (v.k == vkind::nil || v.k == vkind::invalid) {
        tmp += "<nil>";  // fmt's bad verb for a nil argument names no type
      } else {
        tmp += type_name(v);
        tmp += '=';
        sprint(v, tmp);
      }
      tmp += ')';
    };
    switch (verb) {
      case 'v': sprint(v, tmp); break;
      case 's':
        if (v.k == vkind::string || v.k == vkind::enumeration || v.yaml) {
          sprint(v, tmp);
          if (prec >= 0 && tmp.size() > static_cast<std::size_t>(prec)) tmp.resize(static_cast<std::size_t>(prec));
        } else if (v.k == vkind::integer || v.k == vkind::floating || v.k == vkind::boolean || v.k == vkind::invalid ||
                   v.k == vkind::nil) {
          wrong();
        } else {
          sprint(v, tmp);
        }
        break;
      case 'q':
        if (v.k == vkind::string) append_json_string(tmp, v.s);
        else wrong();
        break;
      case 'd':
        if (v.k == vkind::integer || v.k == vkind::enumeration) {
          if (plus && v.i >= 0) tmp += '+';
          tmp += std::to_string(v.i);
        } else {
          wrong();
        }
        break;
      case 'x':
      case 'X':
      case 'o':
      case 'b':
        if (v.k == vkind::integer) {
          char buf[80];
          const int base = verb == 'o' ? 8 : verb == 'b' ? 2 : 16;
          const bool neg = v.i < 0;
          const std::uint64_t mag = neg ? 0 - static_cast<std::uint64_t>(v.i) : static_cast<std::uint64_t>(v.i);
          auto r = std::to_chars(buf, buf + sizeof buf, mag, base);
          std::string digits(buf, static_cast<std::size_t>(r.ptr - buf));
          if (verb == 'X')
            for (char& ch : digits) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
          tmp = (neg ? "-" : "") + digits;
        } else if (v.k == vkind::string && (verb == 'x' || verb == 'X')) {
          static constexpr char lower[] = "0123456789abcdef", upper[] = "0123456789ABCDEF";
          for (unsigned char ch : v.s) {
            tmp += (verb == 'x' ? lower : upper)[ch >> 4];
            tmp += (verb == 'x' ? lower : upper)[ch & 15];
          }
        } else {
          wrong();
        }
        break;
      case 't':
        if (v.k == vkind::boolean) tmp = v.b ? "true" : "false";
        else wrong();
        break;
      case 'c':
        if (v.k == vkind::integer) tmp += static_cast<char>(v.i);
        else wrong();
        break;
      case 'f':
      case 'F':
      case 'e':
      case 'E':
      case 'g':
      case 'G':
        if (v.k == vkind::floating || v.k == vkind::integer) {
          const double d = v.k == vkind::floating ? v.f : static_cast<double>(v.i);
          if (v.k == vkind::integer) {
            wrong();
            break;
          }
          // Sized by a first snprintf: a precision up to Go's 1e6 must not be cut short.
          auto format_double = [&](const char* fmt, int p) {
            const int n = std::snprintf(nullptr, 0, fmt, p, d);
            if (n < 0) return wrong();
            tmp.resize(static_cast<std::size_t>(n) + 1);
            std::snprintf(tmp.data(), tmp.size(), fmt, p, d);
            tmp.resize(static_cast<std::size_t>(n));
          };
          if (verb == 'g' || verb == 'G') {
            if (prec < 0) tmp = core::format_go_float(d);
            else format_double("%.*g", prec);
          } else {
            const char fmt[8] = {'%', '.', '*', static_cast<char>(verb == 'F' ? 'f' : verb), 0};
            format_double(fmt, prec < 0 ? 6 : prec);
          }
        } else {
          wrong();
        }
        break;
      default:
        wrong();
    }
    // Widths count runes, not bytes.
    std::size_t runes = 0;
    for (const char ch : tmp) runes += (static_cast<unsigned char>(ch) & 0xC0) != 0x80;
    if (width > 0 && runes < static_cast<std::size_t>(width)) {
      const std::size_t padn = static_cast<std::size_t>(width) - runes;
      if (minus) tmp.append(padn, ' ');
      else if (zero && verb != 's' && verb != 'v' && verb != 'q') {
        const std::size_t sign = (!tmp.empty() && (tmp[0] == '-' || tmp[0] == '+')) ? 1 : 0;
        tmp.insert(sign, padn, '0');
      } else {
        tmp.insert(0, padn, ' ');
      }
    }
    out += tmp;
  }
  if (arg < a.size()) {
    out += "%!(EXTRA ";
    for (std::size_t k = arg; k < a.size(); ++k) {
      if (k > arg) out += ", ";
      out += type_name(a[k]);
      out += '=';
      sprint(a[k], out);
    }
    out += ')';
  }
  return text_value(out);
}

value machine::fn_to_json(const value& v, std::uint32_t pos) {
  scratch_.clear();
  switch (v.k) {
    case vkind::string_map: {
      if (!v.b && v.i == 0) return value::string("{}");
      // encoding/json sorts map keys and escapes HTML characters.
      const core::label* first = v.labels();
      std::size_t n = static_cast<std::size_t>(v.i);
      const core::label* order[64];
      const core::label** sorted = order;
      if (n > 64) {
        // Many labels: the index lives in the request's arena (no heap once warm).
        char* raw = strings_.allocate(n * sizeof(const core::label*) + alignof(const core::label*));
        const auto aligned = (reinterpret_cast<std::uintptr_t>(raw) + alignof(const core::label*) - 1) &
                             ~(static_cast<std::uintptr_t>(alignof(const core::label*)) - 1);
        sorted = reinterpret_cast<const core::label**>(aligned);
      }
      for (std::size_t k = 0; k < n; ++k) sorted[k] = first + k;
      std::sort(sorted, sorted + n, [](auto* p, auto* q) { return p->key < q->key; });
      scratch_ += '{';
      for (std::size_t k = 0; k < n; ++k) {
        if (k) scratch_ += ',';
        append_json_string(scratch_, sorted[k]->key, true);
        scratch_ += ':';
        append_json_string(scratch_, sorted[k]->value, true);
      }
      scratch_ += '}';
      return text_value(scratch_);
    }
    case vkind::nil:
    case vkind::invalid:
      return value::string("{}");
    default:
      fail(pos, "wrong type for value; expected map[string]string; got " + std::string(type_name(v)));
      return value{};
  }
}

value machine::fn_from_json(const value& v, std::uint32_t pos) {
  if (v.k != vkind::string) {
    fail(pos, "wrong type for value; expected string; got " + std::string(type_name(v)));
    return value{};
  }
  std::size_t slot = json_docs_++;
  simdjson::dom::parser* parser;
  std::string* buf;
  simdjson::dom::parser fold_parser;
  std::string fold_buffer;
  if (state_) {
    parser = &state_->json_parser(slot);
    buf = &state_->json_buffer(slot);
  } else if (mode_ == mode::render) {
    // A variant compile (cold path) reaches fromJSON only with a constant
    // argument: pod-dependent ones are holes or decisions taken from the trace.
    // Its documents must live until the render ends; renders on one thread do
    // not overlap, and the n-th fromJSON of a render reuses the n-th parser.
    static thread_local std::vector<std::unique_ptr<simdjson::dom::parser>> render_parsers;
    static thread_local std::vector<std::string> render_buffers;
    while (render_parsers.size() <= slot) render_parsers.push_back(std::make_unique<simdjson::dom::parser>());
    if (render_buffers.size() <= slot) render_buffers.resize(slot + 1);
    parser = render_parsers[slot].get();
    buf = &render_buffers[slot];
  } else {
    parser = &fold_parser;
    buf = &fold_buffer;
  }
  buf->assign(v.s);
  buf->reserve(v.s.size() + simdjson::SIMDJSON_PADDING);
  simdjson::dom::element e;
  const auto err = parser->parse(buf->data(), buf->size(), false).get(e);
  if (err) {
    std::string msg = v.origin.empty() ? std::string("fromJSON: the value is not valid JSON")
                                       : "annotation " + std::string(v.origin) + " is not valid JSON";
    msg += " (";
    msg += simdjson::error_message(err);
    msg += ")";
    fail(pos, msg);
    return value{};
  }
  value out = from_json(e);
  out.origin = v.origin;
  if (mode_ == mode::fold) {
    // A constant fromJSON would point into a parser that dies here; keep it as text.
    fail(pos, "fromJSON of a constant is evaluated per request");
    return value{};
  }
  return out;
}

value machine::fn_to_yaml(const value& v, std::uint32_t) {
  if (mode_ == mode::trace && (v.k == vkind::json || v.k == vkind::string_map || v.k == vkind::cfg ||
                               v.k == vkind::string || v.k == vkind::integer || v.k == vkind::floating ||
                               v.k == vkind::boolean || v.k == vkind::nil || v.k == vkind::invalid)) {
    // Pod data stays structure until the fragment writer splices it as JSON.
    value out = v;
    out.yaml = true;
    return out;
  }
  scratch_.clear();
  materialize_yaml(v, scratch_);
  return text_value(scratch_);
}

value machine::fn_ports(const value& v, bool skip_proxy, std::uint32_t pos) {
  if (v.k != vkind::containers) {
    if (v.k == vkind::nil || v.k == vkind::invalid) return value::string("");
    fail(pos, "wrong type for value; expected []v1.Container; got " + std::string(type_name(v)));
    return value{};
  }
  const auto* d = static_cast<const template_data*>(v.aux);
  const auto* c = static_cast<const patch::container*>(v.p);
  scratch_.clear();
  for (std::int64_t k = 0; k < v.i; ++k) {
    if (skip_proxy && c[k].name == "istio-proxy") continue;
    for (std::uint32_t p = c[k].ports_begin; p < c[k].ports_end; ++p) {
      if (!scratch_.empty()) scratch_ += ',';
      append_int(scratch_, d->p->ports[p].container_port);
    }
  }
  return text_value(scratch_);
}

}  // namespace meshinject::patch::tmpl
