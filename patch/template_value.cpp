#include "patch/json_access.hpp"
#include "patch/template_value.hpp"

#include <algorithm>
#include <vector>

#include "core/config_tree.hpp"
#include "core/mesh_config.hpp"
#include "core/yaml_scalar.hpp"
#include "patch/pod.hpp"

namespace meshinject::patch::tmpl {
namespace {

void print_node(const core::config_node& n, std::string& out);

void print_json(simdjson::dom::element e, std::string& out) {
  switch (e.type()) {
    case simdjson::dom::element_type::OBJECT: {
      // Go prints a map[string]interface{} with its keys sorted.
      std::vector<std::pair<std::string_view, simdjson::dom::element>> members;
      for (auto kv : patch::as_object(e)) members.emplace_back(kv.key, kv.value);
      std::sort(members.begin(), members.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
      out += "map[";
      for (std::size_t i = 0; i < members.size(); ++i) {
        if (i) out += ' ';
        out += members[i].first;
        out += ':';
        print_json(members[i].second, out);
      }
      out += ']';
      break;
    }
    case simdjson::dom::element_type::ARRAY: {
      out += '[';
      bool first = true;
      for (auto item : patch::as_array(e)) {
        if (!first) out += ' ';
        first = false;
        print_json(item, out);
      }
      out += ']';
      break;
    }
    case simdjson::dom::element_type::STRING: out += e.get_string().value_unsafe(); break;
    case simdjson::dom::element_type::BOOL: out += e.get_bool().value_unsafe() ? "true" : "false"; break;
    case simdjson::dom::element_type::NULL_VALUE: out += "<nil>"; break;
    case simdjson::dom::element_type::INT64: out += core::format_go_float(static_cast<double>(e.get_int64().value_unsafe())); break;
    case simdjson::dom::element_type::UINT64: out += core::format_go_float(static_cast<double>(e.get_uint64().value_unsafe())); break;
    case simdjson::dom::element_type::DOUBLE: out += core::format_go_float(e.get_double().value_unsafe()); break;
  }
}

void print_node(const core::config_node& n, std::string& out) {
  using K = core::config_node::kind;
  switch (n.type()) {
    case K::null: out += "<nil>"; break;
    case K::boolean: out += n.as_bool() ? "true" : "false"; break;
    case K::integer: out += std::to_string(n.as_int()); break;
    case K::floating: out += core::format_go_float(n.as_float()); break;
    case K::string: out += n.text(); break;
    case K::list: {
      out += '[';
      for (std::size_t i = 0; i < n.items().size(); ++i) {
        if (i) out += ' ';
        print_node(n.items()[i], out);
      }
      out += ']';
      break;
    }
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

}  // namespace

bool truth(const value& v) noexcept {
  if (v.yaml) return true;  // YAML text is never empty ("{}\n", "null\n", ...)
  switch (v.k) {
    case vkind::invalid:
    case vkind::nil: return false;
    case vkind::boolean: return v.b;
    case vkind::integer:
    case vkind::enumeration: return v.i != 0;
    case vkind::floating: return v.f != 0;
    case vkind::string: return !v.s.empty();
    case vkind::duration: return v.b;
    case vkind::containers:
    case vkind::ports: return v.i != 0;
    case vkind::string_map: return v.i != 0;
    case vkind::cfg: {
      if (!v.node()) return false;
      if (v.schema()) return true;  // a set message pointer
      const auto* n = v.node();
      if (n->type() == core::config_node::kind::map) return !n->members().empty();
      if (n->type() == core::config_node::kind::list) return !n->items().empty();
      return !n->is_null();
    }
    case vkind::json: {
      if (v.j.is_object()) return v.j.get_object().value_unsafe().size() != 0;
      if (v.j.is_array()) return v.j.get_array().value_unsafe().size() != 0;
      return true;
    }
    default: return true;
  }
}

void print_value(const value& v, std::string& out) {
  switch (v.k) {
    case vkind::invalid: out += "<no value>"; break;
    case vkind::nil: out += "<nil>"; break;
    case vkind::boolean: out += v.b ? "true" : "false"; break;
    case vkind::integer: out += std::to_string(v.i); break;
    case vkind::floating: out += core::format_go_float(v.f); break;
    case vkind::string:
    case vkind::enumeration: out.append(v.s); break;
    case vkind::duration: out += v.b ? core::format_go_duration(v.i) : "<nil>"; break;
    case vkind::string_map: {
      // Go prints map[string]string as map[k1:v1 k2:v2], keys sorted.
      std::vector<const core::label*> sorted;
      for (std::int64_t k = 0; k < v.i; ++k) sorted.push_back(v.labels() + k);
      std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->key < b->key; });
      out += "map[";
      for (std::size_t k = 0; k < sorted.size(); ++k) {
        if (k) out += ' ';
        out.append(sorted[k]->key);
        out += ':';
        out.append(sorted[k]->value);
      }
      out += ']';
      break;
    }
    case vkind::cfg:
      if (!v.node()) out += "<nil>";
      else print_node(*v.node(), out);
      break;
    case vkind::json: print_json(v.j, out); break;
    case vkind::containers: {
      out += '[';
      const auto* c = static_cast<const patch::container*>(v.p);
      for (std::int64_t k = 0; k < v.i; ++k) {
        if (k) out += ' ';
        out += '{';
        out.append(c[k].name);
        out += '}';
      }
      out += ']';
      break;
    }
    case vkind::container: out += '{'; out.append(static_cast<const patch::container*>(v.p)->name); out += '}'; break;
    case vkind::ports: {
      out += '[';
      const auto* p = static_cast<const patch::container_port*>(v.p);
      for (std::int64_t k = 0; k < v.i; ++k) {
        if (k) out += ' ';
        out += '{';
        out += std::to_string(p[k].container_port);
        out += '}';
      }
      out += ']';
      break;
    }
    case vkind::port: out += std::to_string(static_cast<const patch::container_port*>(v.p)->container_port); break;
    case vkind::data: out += "{template data}"; break;
    case vkind::meta: out += "{ObjectMeta}"; break;
    case vkind::spec: out += "{PodSpec}"; break;
    case vkind::unknown: out += "<pod value>"; break;
  }
}

std::string_view type_name(const value& v) noexcept {
  switch (v.k) {
    case vkind::invalid: return "<no value>";
    case vkind::nil: return "nil";
    case vkind::boolean: return "bool";
    case vkind::integer: return "int";
    case vkind::floating: return "float64";
    case vkind::string: return "string";
    case vkind::duration: return "*types.Duration";
    case vkind::enumeration: return "enum";
    case vkind::data: return "*inject.SidecarTemplateData";
    case vkind::meta: return "*v1.ObjectMeta";
    case vkind::spec: return "*v1.PodSpec";
    case vkind::containers: return "[]v1.Container";
    case vkind::container: return "v1.Container";
    case vkind::ports: return "[]v1.ContainerPort";
    case vkind::port: return "v1.ContainerPort";
    case vkind::string_map: return "map[string]string";
    case vkind::cfg:
      if (v.schema()) return v.schema()->type_name;
      if (v.node() && v.node()->type() == core::config_node::kind::list) return "[]interface {}";
      return "map[string]interface {}";
    case vkind::json:
      return v.j.is_array() ? "[]interface {}" : "map[string]interface {}";
    case vkind::unknown: return "pod value";
  }
  return "value";
}

}  // namespace meshinject::patch::tmpl
