// Istio's template data as Go's reflection would show it to text/template.

#include "patch/istio_bindings.hpp"

#include <cctype>

#include "core/mesh_config.hpp"
#include "template/functions.hpp"

namespace meshinject::patch::istio {
namespace {

using core::config_node;
using core::go_field;
using core::go_message;
using tmpl::call_context;
using tmpl::value;

const template_data& data_of(const value& v) noexcept { return *static_cast<const template_data*>(v.p); }

value no_field(call_context& cx, std::string_view name, std::string_view type) {
  std::string& m = cx.scratch(1);
  m = "can't evaluate field ";
  m += name;
  m += " in type ";
  m += type;
  cx.fail(m);
  return value{};
}

value out_of_range(call_context& cx, const value& key) {
  std::string& m = cx.scratch(1);
  m = "error calling index: index out of range: ";
  tmpl::print_value(key, m);
  cx.fail(m);
  return value{};
}

// ------------------------------------------------------------- configuration

value from_node(const config_node* n);

void print_node(const config_node& n, std::string& out) {
  using K = config_node::kind;
  switch (n.type()) {
    case K::null: out += "<nil>"; break;
    case K::boolean: out += n.as_bool() ? "true" : "false"; break;
    case K::integer: tmpl::append_int(out, n.as_int()); break;
    case K::floating: tmpl::append_float(out, n.as_float()); break;
    case K::string: out += n.text(); break;
    case K::list:
      out += '[';
      for (std::size_t i = 0; i < n.items().size(); ++i) {
        if (i) out += ' ';
        print_node(n.items()[i], out);
      }
      out += ']';
      break;
    case K::map: {
      out += "map[";
      bool first = true;
      for (const auto& [k, v] : n.members()) {
        if (!first) out += ' ';
        first = false;
        out += k;
        out += ':';
        print_node(v, out);
      }
      out += ']';
      break;
    }
  }
}

class duration_binding final : public tmpl::binding {
 public:
  std::string_view type_name(const value&) const noexcept override { return "*types.Duration"; }
  void print(const value& self, std::string& out) const override {
    out += self.b ? core::format_go_duration(self.i) : "<nil>";
  }
  bool truth(const value& self) const noexcept override { return self.b; }
};

// A protobuf enum: prints its name, compares as its number.
class enum_binding final : public tmpl::binding {
 public:
  std::string_view type_name(const value&) const noexcept override { return "enum"; }
  void print(const value& self, std::string& out) const override { out.append(self.s); }
  bool truth(const value& self) const noexcept override { return self.i != 0; }
  value field(const value& self, std::string_view name, call_context& cx) const override {
    if (name != "String") return no_field(cx, name, "enum");
    return value::string(self.s);
  }
  bool basic(const value& self, value& out) const noexcept override {
    out = value::integer(self.i);
    return true;
  }
};

const duration_binding duration_instance;
const enum_binding enum_instance;

value enum_value(const go_field& f, const config_node* n) {
  value v = value::object(enum_instance, nullptr);
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

value duration_value(const config_node* n) {
  value v = value::object(duration_instance, nullptr);
  if (n) {
    const auto ns = core::parse_go_duration(n->text());
    v.b = ns.has_value();
    v.i = ns.value_or(0);
  }
  return v;
}

// Go field names map to protobuf JSON names by lower-casing the first letter.
std::string json_name_of(std::string_view go_name) {
  std::string s(go_name);
  if (!s.empty() && s[0] >= 'A' && s[0] <= 'Z') s[0] = static_cast<char>(s[0] - 'A' + 'a');
  return s;
}

// A YAML tree (.Values) or a protobuf message read from one (.ProxyConfig,
// .MeshConfig and their message fields, with `schema` set).
class config_binding final : public tmpl::binding {
 public:
  std::string_view type_name(const value& self) const noexcept override {
    if (schema(self)) return schema(self)->type_name;
    if (node_of(self) && node_of(self)->type() == config_node::kind::list) return "[]interface {}";
    return "map[string]interface {}";
  }

  void print(const value& self, std::string& out) const override {
    if (!node_of(self)) out += "<nil>";
    else print_node(*node_of(self), out);
  }

  bool truth(const value& self) const noexcept override {
    const config_node* n = node_of(self);
    if (!n) return false;
    if (schema(self)) return true;  // a set message pointer
    if (n->type() == config_node::kind::map) return !n->members().empty();
    if (n->type() == config_node::kind::list) return !n->items().empty();
    return !n->is_null();
  }

  value field(const value& self, std::string_view name, call_context& cx) const override {
    if (const go_message* msg = schema(self)) return message_field(self, *msg, name, cx);
    const config_node* n = node_of(self);
    if (!n || n->type() != config_node::kind::map) return no_field(cx, name, type_name(self));
    return from_node(n->find(name));
  }

  value index(const value& self, const value& key, call_context& cx) const override {
    const config_node* n = node_of(self);
    if (n && n->type() == config_node::kind::map) {
      if (key.k == tmpl::kind::string) return from_node(n->find(key.s));
      return tmpl::fail_map_key_type(key, cx);
    }
    if (n && n->type() == config_node::kind::list) {
      if (key.k != tmpl::kind::integer || key.i < 0 || static_cast<std::size_t>(key.i) >= n->items().size())
        return out_of_range(cx, key);
      return from_node(&n->items()[static_cast<std::size_t>(key.i)]);
    }
    return tmpl::binding::index(self, key, cx);
  }

  // A nil message ranges as empty, a set one over its members.
  bool length(const value& self, std::int64_t& count) const noexcept override {
    const config_node* n = node_of(self);
    if (!n) count = 0;
    else if (n->type() == config_node::kind::list) count = static_cast<std::int64_t>(n->items().size());
    else if (n->type() == config_node::kind::map) count = static_cast<std::int64_t>(n->members().size());
    else return false;
    return true;
  }

  bool range(const value& self, tmpl::range_visitor& visit, call_context&) const override {
    const config_node* n = node_of(self);
    if (!n) return true;
    if (n->type() == config_node::kind::list) {
      std::int64_t i = 0;
      for (const auto& item : n->items())
        if (!visit.visit(value::integer(i++), from_node(&item))) return false;
      return true;
    }
    for (const auto& [key, item] : n->members())
      if (!visit.visit(value::string(key), from_node(&item))) return false;
    return true;
  }

  value find(const value& self, std::string_view key) const noexcept override {
    const config_node* n = node_of(self);
    return from_node(n && !schema(self) && n->type() == config_node::kind::map ? n->find(key) : nullptr);
  }

 private:
  static const go_message* schema(const value& v) noexcept { return static_cast<const go_message*>(v.aux); }

  // A message's field or getter; a field newer than our schema is read from
  // the YAML when the file has it.
  static value message_field(const value& self, const go_message& msg, std::string_view name, call_context& cx) {
    const config_node* n = node_of(self);
    if (&msg == &core::bool_value_message() && (name == "Value" || name == "GetValue")) return bool_value_of(n);
    const go_field* f = msg.find_field(name);
    const bool getter = core::is_getter_name(name);
    if (!f) {
      const config_node* raw = n ? n->find(json_name_of(getter ? name.substr(3) : name)) : nullptr;
      if (raw) return from_node(raw);
      std::string& m = cx.scratch(0);
      m = "*";
      m += msg.type_name;
      return no_field(cx, name, m);
    }
    return field_value(n, msg, *f, getter, name, cx);
  }

 public:
  // A google.protobuf.BoolValue is written as a plain boolean.
  static value bool_value_of(const config_node* n) noexcept {
    return value::boolean(n && n->type() == config_node::kind::boolean && n->as_bool());
  }

  // Field `f` of message `msg` held in `n` (null: a nil message), read as `name`
  // (the field's Go name, or its getter).
  static value field_value(const config_node* n, const go_message& msg, const go_field& f, bool getter,
                           std::string_view name, call_context& cx) {
    if (!n && !getter) {
      std::string& m = cx.scratch(1);
      m = "nil pointer evaluating *";
      m += msg.type_name;
      m += '.';
      m += name;
      cx.fail(m);
      return value{};
    }
    const config_node* fn = n ? n->find(f.json_name) : nullptr;
    if (fn && fn->is_null()) fn = nullptr;
    switch (f.k) {
      case go_field::kind::string: return value::string(fn ? std::string_view(fn->text()) : std::string_view());
      case go_field::kind::integer: return value::integer(fn ? fn->as_int() : 0);
      case go_field::kind::boolean: return value::boolean(fn ? fn->as_bool() : false);
      case go_field::kind::duration: return duration_value(fn);
      case go_field::kind::enumeration: return enum_value(f, fn);
      case go_field::kind::message: return value::object(config_type(), fn, f.message);
      // An unset map[string]string is a nil map: indexing it gives "".
      case go_field::kind::map: return fn ? from_node(fn) : tmpl::string_map({}, false);
      default: return fn ? from_node(fn) : value::nil();
    }
  }
};

const config_binding config_instance;

value from_node(const config_node* n) {
  if (!n) return value{};
  switch (n->type()) {
    case config_node::kind::null: return value::nil();
    case config_node::kind::boolean: return value::boolean(n->as_bool());
    case config_node::kind::integer: return value::integer(n->as_int());
    case config_node::kind::floating: return value::floating(n->as_float());
    case config_node::kind::string: return value::string(n->text());
    case config_node::kind::list:
    case config_node::kind::map: return value::object(config_instance, n);
  }
  return value{};
}

// A `.ProxyConfig.A.B...` chain resolved against the schema at load. Istio
// 1.28's ProxyConfig is the pod's (its proxy.istio.io/config merged over the
// mesh's), so the chain is read per request; looking each name up in the
// message's field list on every request cost more than reading the fields.
// The accessor holds the path: up to three fields (each its index in its
// message and whether it was named by its getter), then optionally an enum's
// `.String` or a BoolValue's `.Value`. A chain this cannot hold (deeper, a
// field newer than the schema, a key of a map) is walked by name as before.
namespace proxy_chain {

constexpr int marker = 1 << 30;
constexpr std::size_t max_fields = 3;
constexpr int depth_bits = 2, field_bits = 7, field_index_mask = 63, getter_bit = 64;
constexpr int tail_shift = depth_bits + static_cast<int>(max_fields) * field_bits;
enum tail : int { tail_none, tail_enum_string, tail_bool_value };

// The accessor for `.ProxyConfig` followed by `names`, or -1.
int resolve(std::span<const std::string> names) {
  const go_message* msg = &core::proxy_config_message();
  int packed = 0;
  std::size_t depth = 0;
  int tail = tail_none;
  for (std::size_t k = 0; k < names.size(); ++k) {
    const std::string& name = names[k];
    const bool last = k + 1 == names.size();
    if (msg == &core::bool_value_message() && (name == "Value" || name == "GetValue")) {
      if (!last) return -1;
      tail = tail_bool_value;
      break;
    }
    if (!msg) return -1;  // a scalar field followed by more names: `.String` of an enum only
    const go_field* f = msg->find_field(name);
    if (!f || depth == max_fields) return -1;
    const auto index = static_cast<int>(f - msg->fields.data());
    if (index > field_index_mask) return -1;
    packed |= (index | (core::is_getter_name(name) ? getter_bit : 0)) << (depth_bits + static_cast<int>(depth) * field_bits);
    ++depth;
    if (f->k == go_field::kind::message) {
      msg = f->message;
      continue;
    }
    if (last) break;
    if (f->k != go_field::kind::enumeration || names[k + 1] != "String" || k + 2 != names.size()) return -1;
    tail = tail_enum_string;
    break;
  }
  return marker | packed | static_cast<int>(depth) | (tail << tail_shift);
}

// What the walk by name gives for the chain `accessor` holds, from the pod's
// ProxyConfig. Out of line: inlined, it made fetch() of the pod's own fields dearer.
[[gnu::noinline]] value read(const core::config_node* proxy_config, int accessor, call_context& cx) {
  const go_message* msg = &core::proxy_config_message();
  value v = value::object(config_type(), proxy_config, msg);
  const int depth = accessor & ((1 << depth_bits) - 1);
  for (int k = 0; k < depth; ++k) {
    const int step = accessor >> (depth_bits + k * field_bits);
    const go_field& f = msg->fields[static_cast<std::size_t>(step & field_index_mask)];
    // Only a message's field leads further (resolve() saw to it), and a message is an object of config_type.
    v = config_binding::field_value(node_of(v), *msg, f, (step & getter_bit) != 0, f.go_name, cx);
    if (cx.failed()) return value{};
    msg = f.message;
  }
  switch ((accessor >> tail_shift) & 3) {
    case tail_enum_string: return value::string(v.s);
    case tail_bool_value: return config_binding::bool_value_of(node_of(v));
    default: return v;
  }
}

}  // namespace proxy_chain

// ------------------------------------------------------------------ the pod

// A []T of the pod: p -> first element, i -> count.
template <class T>
class slice_binding : public tmpl::binding {
 public:
  bool truth(const value& self) const noexcept override { return self.i != 0; }
  bool length(const value& self, std::int64_t& n) const noexcept override {
    n = self.i;
    return true;
  }
  value index(const value& self, const value& key, call_context& cx) const override {
    if (key.k != tmpl::kind::integer || key.i < 0 || key.i >= self.i) return out_of_range(cx, key);
    return element(self, static_cast<std::size_t>(key.i));
  }
  bool range(const value& self, tmpl::range_visitor& visit, call_context&) const override {
    for (std::int64_t k = 0; k < self.i; ++k)
      if (!visit.visit(value::integer(k), element(self, static_cast<std::size_t>(k)))) return false;
    return true;
  }
  void print(const value& self, std::string& out) const override {
    out += '[';
    for (std::int64_t k = 0; k < self.i; ++k) {
      if (k) out += ' ';
      out += '{';
      print_element(static_cast<const T*>(self.p)[k], out);
      out += '}';
    }
    out += ']';
  }

 protected:
  ~slice_binding() = default;
  virtual value element(const value& self, std::size_t k) const noexcept = 0;
  virtual void print_element(const T& item, std::string& out) const = 0;
};

class port_binding final : public tmpl::binding {
 public:
  std::string_view type_name(const value&) const noexcept override { return "v1.ContainerPort"; }
  void print(const value& self, std::string& out) const override { tmpl::append_int(out, port(self).container_port); }
  value field(const value& self, std::string_view name, call_context& cx) const override {
    if (name == "ContainerPort") return value::integer(port(self).container_port);
    if (name == "Name") return value::string(port(self).name);
    if (name == "Protocol") return value::string(port(self).protocol);
    return no_field(cx, name, "v1.ContainerPort");
  }

 private:
  static const container_port& port(const value& v) noexcept { return *static_cast<const container_port*>(v.p); }
};

const port_binding port_instance;

class ports_binding final : public slice_binding<container_port> {
 public:
  std::string_view type_name(const value&) const noexcept override { return "[]v1.ContainerPort"; }

 private:
  value element(const value& self, std::size_t k) const noexcept override {
    return value::object(port_instance, static_cast<const container_port*>(self.p) + k);
  }
  void print_element(const container_port& item, std::string& out) const override {
    tmpl::append_int(out, item.container_port);
  }
};

const ports_binding ports_instance;

class container_binding final : public tmpl::binding {
 public:
  std::string_view type_name(const value&) const noexcept override { return "v1.Container"; }
  void print(const value& self, std::string& out) const override {
    out += '{';
    out.append(item(self).name);
    out += '}';
  }
  value field(const value& self, std::string_view name, call_context& cx) const override {
    const container& c = item(self);
    if (name == "Name") return value::string(c.name);
    if (name == "Image") return value::string(c.image);
    if (name != "Ports") return no_field(cx, name, "v1.Container");
    const template_data& d = *static_cast<const template_data*>(self.aux);
    value v = value::object(ports_instance, d.p->ports.data() + c.ports_begin);
    v.i = static_cast<std::int64_t>(c.ports_end - c.ports_begin);
    return v;
  }

 private:
  static const container& item(const value& v) noexcept { return *static_cast<const container*>(v.p); }
};

const container_binding container_instance;

class containers_binding final : public slice_binding<container> {
 public:
  std::string_view type_name(const value&) const noexcept override { return "[]v1.Container"; }

 private:
  value element(const value& self, std::size_t k) const noexcept override {
    return value::object(container_instance, containers_of(self) + k, self.aux);
  }
  void print_element(const container& item, std::string& out) const override { out.append(item.name); }
};

const containers_binding containers_instance;

// The fields a chain from the root may reach directly (fetch): accessor =
// base * 8 + field.
enum meta_field : int { meta_self, meta_name, meta_namespace, meta_generate_name, meta_labels, meta_annotations };
enum spec_field : int { spec_self, spec_containers, spec_init_containers, spec_service_account_name,
                        spec_service_account, spec_host_network };
enum type_meta_field : int { type_self, type_kind, type_api_version };
constexpr int base_object_meta = 0, base_deployment_meta = 1, base_spec = 2, base_type_meta = 3, base_proxy_image = 4;

value meta_field_of(const template_data& d, bool deployment_meta, int field) {
  if (field == meta_self) {
    value v = value::object(meta_type(), &d);
    v.i = deployment_meta ? 1 : 0;
    return v;
  }
  if (!d.p) return value::unknown();  // at load: the pod's fields are unknown
  const bool deployment = deployment_meta && d.deployment;
  switch (field) {
    case meta_name: return value::string(deployment ? d.deployment->name : d.p->name);
    case meta_namespace: return value::string(deployment ? d.deployment->namespace_name : d.p->namespace_name);
    case meta_generate_name: return value::string(deployment ? std::string_view() : d.p->generate_name);
    case meta_labels:
      return deployment ? tmpl::string_map(d.deployment->labels, d.deployment->has_labels)
                        : tmpl::string_map(d.p->labels, d.p->has_labels);
    case meta_annotations:
      return deployment ? tmpl::string_map(d.deployment->annotations, d.deployment->has_annotations)
                        : tmpl::string_map(d.p->annotations, d.p->has_annotations);
    default: return value::unknown();
  }
}

// Istio 1.28's .DeploymentMeta is a types.NamespacedName.
bool namespaced_name_field(int field) noexcept { return field == meta_name || field == meta_namespace; }

int meta_field_named(std::string_view name) {
  if (name == "Name") return meta_name;
  if (name == "Namespace") return meta_namespace;
  if (name == "GenerateName") return meta_generate_name;
  if (name == "Labels") return meta_labels;
  if (name == "Annotations") return meta_annotations;
  return -1;
}

class meta_binding final : public tmpl::binding {
 public:
  std::string_view type_name(const value&) const noexcept override { return "*v1.ObjectMeta"; }
  void print(const value&, std::string& out) const override { out += "{ObjectMeta}"; }
  value field(const value& self, std::string_view name, call_context& cx) const override {
    const int f = meta_field_named(name);
    const template_data& d = data_of(self);
    const bool namespaced_name = d.istio_1_28 && self.i == 1;
    if (d.p && (f < 0 || (namespaced_name && !namespaced_name_field(f))))
      return no_field(cx, name, namespaced_name ? "types.NamespacedName" : "*v1.ObjectMeta");
    return meta_field_of(d, self.i == 1, f);
  }
};

const meta_binding meta_instance;

// .TypeMeta: the kind and API version of the pod's controller (Istio 1.28).
class type_meta_binding final : public tmpl::binding {
 public:
  std::string_view type_name(const value&) const noexcept override { return "v1.TypeMeta"; }
  void print(const value& self, std::string& out) const override {
    const template_data& d = data_of(self);
    out += '{';
    out.append(d.type_kind);
    out += ' ';
    out.append(d.type_api_version);
    out += '}';
  }
  value field(const value& self, std::string_view name, call_context& cx) const override {
    const int f = field_named(name);
    if (data_of(self).p && f < 0) return no_field(cx, name, "v1.TypeMeta");
    return field_of(data_of(self), f);
  }
  static int field_named(std::string_view name) noexcept {
    if (name == "Kind") return type_kind;
    if (name == "APIVersion") return type_api_version;
    return -1;
  }
  static value field_of(const template_data& d, int field);
};

const type_meta_binding type_meta_instance;

value type_meta_binding::field_of(const template_data& d, int field) {
  if (field == type_self) return value::object(type_meta_instance, &d);
  if (!d.p) return value::unknown();
  if (field == type_kind) return value::string(d.type_kind);
  if (field == type_api_version) return value::string(d.type_api_version);
  return value::unknown();
}

value spec_field_of(const template_data& d, int field) {
  if (field == spec_self) return value::object(spec_type(), &d);
  if (!d.p) return value::unknown();
  switch (field) {
    case spec_containers:
    case spec_init_containers: {
      const auto& list = field == spec_containers ? d.p->containers : d.p->init_containers;
      value v = value::object(containers_instance, list.data(), &d);
      v.i = static_cast<std::int64_t>(list.size());
      return v;
    }
    case spec_service_account_name: return value::string(d.p->service_account_name);
    case spec_service_account: return value::string(d.p->service_account);
    case spec_host_network: return value::boolean(d.p->host_network);
    default: return value::unknown();
  }
}

int spec_field_named(std::string_view name) {
  if (name == "Containers") return spec_containers;
  if (name == "InitContainers") return spec_init_containers;
  if (name == "ServiceAccountName") return spec_service_account_name;
  if (name == "ServiceAccount") return spec_service_account;
  if (name == "HostNetwork") return spec_host_network;
  return -1;
}

class spec_binding final : public tmpl::binding {
 public:
  std::string_view type_name(const value&) const noexcept override { return "*v1.PodSpec"; }
  void print(const value&, std::string& out) const override { out += "{PodSpec}"; }
  value field(const value& self, std::string_view name, call_context& cx) const override {
    const int f = spec_field_named(name);
    if (data_of(self).p && f < 0) return no_field(cx, name, "*v1.PodSpec");
    return spec_field_of(data_of(self), f);
  }
};

const spec_binding spec_instance;

// ----------------------------------------------------------------- the root

class data_binding final : public tmpl::binding {
 public:
  std::string_view type_name(const value&) const noexcept override { return "*inject.SidecarTemplateData"; }
  void print(const value&, std::string& out) const override { out += "{template data}"; }

  value field(const value& self, std::string_view name, call_context& cx) const override {
    const template_data& d = data_of(self);
    if (name == "ObjectMeta" || name == "DeploymentMeta") return meta_field_of(d, name == "DeploymentMeta", meta_self);
    if (name == "Spec") return spec_field_of(d, spec_self);
    if (name == "ProxyConfig") return value::object(config_instance, d.proxy_config, &core::proxy_config_message());
    if (name == "MeshConfig") return value::object(config_instance, d.mesh, &core::mesh_config_message());
    if (name == "Values") return value::object(config_instance, d.values);
    if (d.istio_1_28) {
      value v;
      if (istio_1_28_field(d, name, v)) return v;
    }
    return no_field(cx, name, "*inject.SidecarTemplateData");
  }

  // The types below the root are known, so a typo is a load error with its
  // position rather than a failure on the first pod.
  tmpl::chain_info check_chain(const value& self, std::span<const std::string> f,
                               std::string& error) const override {
    if (data_of(self).gateway_controller) return {true, true, -1};  // its own data: not checked
    const std::string& first = f[0];
    if (first == "DeploymentMeta" && data_of(self).istio_1_28 && f.size() > 1 &&
        !namespaced_name_field(meta_field_named(f[1])))
      return fail(error, f[1], "types.NamespacedName");
    if (first == "ObjectMeta" || first == "DeploymentMeta")
      return check_meta(f, first == "DeploymentMeta" ? base_deployment_meta : base_object_meta, error);
    if (first == "Spec") return check_spec(f, error);
    if (first == "Values") return {true, false, -1};
    if (first == "ProxyConfig" || first == "MeshConfig") return check_message(data_of(self), f, error);
    if (data_of(self).istio_1_28) {
      if (first == "TypeMeta") return check_type_meta(f, error);
      if (first == "ProxyImage") {
        if (f.size() > 1) return fail(error, f[1], "string");
        return {true, true, base_proxy_image * 8};
      }
      value ignored;
      if (istio_1_28_field(data_of(self), first, ignored)) {
        if (f.size() > 1) return fail(error, f[1], tmpl::type_name(ignored));
        return {true, false, -1};  // the snapshot's settings: folded at load
      }
    }
    return fail(error, first, "*inject.SidecarTemplateData");
  }

  // Per-request values name the annotation they came from.
  std::string_view origin_label() const noexcept override { return "annotation"; }

  value fetch(const value& self, int accessor, call_context& cx) const override {
    const template_data& d = data_of(self);
    if (accessor & proxy_chain::marker) [[unlikely]]
      return proxy_chain::read(d.proxy_config, accessor, cx);
    const int base = accessor / 8, field = accessor % 8;
    if (base == base_type_meta) return type_meta_binding::field_of(d, field);
    if (base == base_proxy_image) return d.p ? value::string(d.proxy_image) : value::unknown();
    return base == base_spec ? spec_field_of(d, field) : meta_field_of(d, base == base_deployment_meta, field);
  }

 private:
  // The SidecarTemplateData fields Istio 1.28 fills from its settings, not from
  // the pod. ProxyUID/ProxyGID are *int64: nil unless an OpenShift range is set.
  static bool istio_1_28_field(const template_data& d, std::string_view name, value& out) {
    if (name == "Revision") out = value::string(d.revision);
    else if (name == "NativeSidecars") out = value::boolean(d.native_sidecars);
    else if (name == "ProxyUID") out = d.has_proxy_ids ? value::integer(d.proxy_uid) : value::nil();
    else if (name == "ProxyGID") out = d.has_proxy_ids ? value::integer(d.proxy_gid) : value::nil();
    else if (name == "CompliancePolicy") out = value::string(d.compliance_policy);
    else if (name == "InboundTrafficPolicyMode") out = value::string(d.inbound_traffic_policy_mode);
    else if (name == "ProxyImage") out = d.p ? value::string(d.proxy_image) : value::unknown();
    else if (name == "TypeMeta") out = type_meta_binding::field_of(d, type_self);
    else return false;
    return true;
  }

  static tmpl::chain_info check_type_meta(std::span<const std::string> f, std::string& error) {
    if (f.size() < 2) return {true, true, base_type_meta * 8 + type_self};
    const int field = type_meta_binding::field_named(f[1]);
    if (field < 0) return fail(error, f[1], "v1.TypeMeta");
    if (f.size() > 2) return fail(error, f[2], "string");
    return {true, true, base_type_meta * 8 + field};
  }

  static tmpl::chain_info fail(std::string& error, std::string_view name, std::string_view type) {
    error = "can't evaluate field ";
    error += name;
    error += " in type ";
    error += type;
    return {false, true, -1};
  }

  static tmpl::chain_info check_meta(std::span<const std::string> f, int base, std::string& error) {
    if (f.size() < 2) return {true, true, base * 8 + meta_self};
    const int field = meta_field_named(f[1]);
    if (field < 0) return fail(error, f[1], "*v1.ObjectMeta");
    if (field == meta_labels || field == meta_annotations) {
      if (f.size() > 3) return fail(error, f[3], "string");
      return {true, true, f.size() == 2 ? base * 8 + field : -1};
    }
    if (f.size() > 2) return fail(error, f[2], "string");
    return {true, true, base * 8 + field};
  }

  static tmpl::chain_info check_spec(std::span<const std::string> f, std::string& error) {
    if (f.size() < 2) return {true, true, base_spec * 8 + spec_self};
    const int field = spec_field_named(f[1]);
    if (field < 0) return fail(error, f[1], "*v1.PodSpec");
    if (f.size() > 2) return fail(error, f[2], field == spec_containers || field == spec_init_containers ? "[]v1.Container" : "string");
    return {true, true, base_spec * 8 + field};
  }

  static tmpl::chain_info check_message(const template_data& d, std::span<const std::string> f, std::string& error) {
    const bool proxy = f[0] == "ProxyConfig";
    const go_message* msg = proxy ? &core::proxy_config_message() : &core::mesh_config_message();
    const config_node* node = proxy ? d.proxy_config : d.mesh;
    for (std::size_t k = 1; k < f.size(); ++k) {
      const go_field* field = msg->find_field(f[k]);
      if (!field) {
        std::string json = f[k].substr(core::is_getter_name(f[k]) ? 3 : 0);
        if (!json.empty()) json[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(json[0])));
        if (node && node->find(json)) break;  // a field newer than our schema, present in the file
        return fail(error, f[k], "*" + std::string(msg->type_name));
      }
      if (field->k == go_field::kind::message) {
        msg = field->message;
        node = node ? node->find(field->json_name) : nullptr;
        continue;
      }
      if (k + 1 < f.size()) {
        if (field->k == go_field::kind::enumeration && f[k + 1] == "String" && k + 2 == f.size()) break;
        if (field->k == go_field::kind::map || field->k == go_field::kind::any) break;
        return fail(error, f[k + 1], field->go_name);
      }
      break;
    }
    // Istio 1.28 merges the pod's proxy.istio.io/config into .ProxyConfig, so
    // there it is read per request; 1.1's is the mesh's alone and folds at load.
    if (!(proxy && d.istio_1_28)) return {true, false, -1};
    return {true, true, proxy_chain::resolve(f.subspan(1))};
  }
};

const data_binding data_instance;

}  // namespace

const tmpl::binding& meta_type() noexcept { return meta_instance; }
const tmpl::binding& spec_type() noexcept { return spec_instance; }
const tmpl::binding& containers_type() noexcept { return containers_instance; }
const tmpl::binding& port_type() noexcept { return port_instance; }
const tmpl::binding& config_type() noexcept { return config_instance; }
const tmpl::binding& duration_type() noexcept { return duration_instance; }

}  // namespace meshinject::patch::istio

namespace meshinject::patch {

tmpl::value template_root(const template_data& d) noexcept { return tmpl::value::object(istio::data_instance, &d); }

bool is_config_value(const tmpl::value& v) noexcept { return v.type == &istio::config_type(); }

}  // namespace meshinject::patch
