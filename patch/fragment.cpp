#include "patch/json_access.hpp"
#include "patch/sidecar.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "core/yaml_scalar.hpp"
#include "patch/json_text.hpp"
#include "patch/template_data.hpp"

namespace meshinject::patch {
namespace {

using k8s::field_type;
using k8s::type_node;
using tmpl::value;
using vkind = tmpl::kind;

void print_hole(const value& v, std::string& out) {
  if (v.k == vkind::string) {
    out.append(v.s);
    return;
  }
  tmpl::print_value(v, out);
}

bool fail_value(std::string& error, const value& v, std::string_view what, std::string_view printed) {
  error.clear();
  if (!v.origin.empty()) {
    error += "annotation ";
    error.append(v.origin);
    error += ": ";
  }
  error += "value \"";
  error.append(printed);
  error += "\" is not ";
  error.append(what);
  return false;
}

bool write_scalar_hole(const value& v, field_type t, std::string& out, std::string& scratch, std::string& error) {
  // Numbers and booleans of the pod reach us as text (annotation values); they are
  // typed as the YAML scalar Istio would have rendered.
  scratch.clear();
  print_hole(v, scratch);
  const std::string_view s = scratch;
  switch (t) {
    case field_type::integer: {
      if (v.k == vkind::integer) {
        append_int(out, v.i);
        return true;
      }
      const core::yaml_scalar r = core::resolve_plain_scalar(s);
      if (r.k == core::yaml_scalar::kind::integer) {
        append_int(out, r.i);
        return true;
      }
      if (r.k == core::yaml_scalar::kind::floating && std::trunc(r.f) == r.f && std::fabs(r.f) < 9e15) {
        append_int(out, static_cast<std::int64_t>(r.f));
        return true;
      }
      return fail_value(error, v, "an integer", s);
    }
    case field_type::boolean: {
      if (v.k == vkind::boolean) {
        out += v.b ? "true" : "false";
        return true;
      }
      const core::yaml_scalar r = core::resolve_plain_scalar(s);
      if (r.k != core::yaml_scalar::kind::boolean) return fail_value(error, v, "true or false", s);
      out += r.b ? "true" : "false";
      return true;
    }
    case field_type::int_or_string: {
      const core::yaml_scalar r = core::resolve_plain_scalar(s);
      if (v.k == vkind::integer || r.k == core::yaml_scalar::kind::integer) {
        append_int(out, v.k == vkind::integer ? v.i : r.i);
        return true;
      }
      append_json_string(out, s);
      return true;
    }
    case field_type::quantity:
      if (!k8s::is_quantity(s)) return fail_value(error, v, "a valid quantity (such as 100m or 128Mi)", s);
      append_json_string(out, s);
      return true;
    case field_type::any: {
      if (v.k == vkind::integer || v.k == vkind::boolean) {
        out.append(s);
        return true;
      }
      const core::yaml_scalar r = core::resolve_plain_scalar(s);
      switch (r.k) {
        case core::yaml_scalar::kind::null: out += "null"; return true;
        case core::yaml_scalar::kind::boolean: out += r.b ? "true" : "false"; return true;
        case core::yaml_scalar::kind::integer: append_int(out, r.i); return true;
        case core::yaml_scalar::kind::floating:
          if (std::isfinite(r.f)) {
            out += core::format_go_float(r.f);
            return true;
          }
          [[fallthrough]];
        default: append_json_string(out, s); return true;
      }
    }
    default:
      append_json_string(out, s);
      return true;
  }
}

// Where a typed value sits inside the spliced JSON, for messages. A chain of
// stack frames, turned into text only when something fails, so the request path
// builds no strings.
struct json_path {
  const json_path* parent = nullptr;
  std::string_view key;  // a member name, unless is_index
  std::size_t index = 0;
  bool is_index = false;
};

void append_path(std::string& out, const json_path* p) {
  if (!p) return;
  append_path(out, p->parent);
  if (p->is_index) {
    out += '[';
    append_int(out, static_cast<std::int64_t>(p->index));
    out += ']';
    return;
  }
  if (p->parent) out += '.';
  out.append(p->key);
}

// Writes JSON of pod data (from fromJSON, or a label map) typed by the schema,
// as Istio's decoder would have read its YAML: unknown fields dropped, names
// matched case-insensitively, numbers in string fields turned to text.
bool write_typed_json(simdjson::dom::element e, const type_node& t, std::string& out, std::string& error,
                      std::string_view origin, const json_path* path);

bool typed_fail(std::string& error, std::string_view origin, const json_path* path, std::string_view what,
                std::string_view quoted = {}, std::string_view after = {}) {
  error.clear();
  if (!origin.empty()) {
    error += "annotation ";
    error.append(origin);
    error += ": ";
  }
  if (path) append_path(error, path);
  else error += "value";
  error += ": ";
  error.append(what);
  error.append(quoted);
  error.append(after);
  return false;
}

// The keys a template sets beside a splice, which the splice may not set too.
struct key_set {
  const sidecar_variant* v = nullptr;
  std::span<const text_ref> keys;

  bool contains(std::string_view key) const noexcept {
    for (const text_ref& k : keys)
      if (v->text(k) == key) return true;
    return false;
  }
};

bool write_typed_members(simdjson::dom::object obj, const type_node& t, std::string& out, bool& first,
                         std::string& error, std::string_view origin, const json_path* path,
                         const key_set& forbidden) {
  for (auto kv : obj) {
    if (kv.value.is_null()) continue;
    const type_node* ft = t.elem;
    std::string_view key = kv.key;
    const bool schema_name = t.t == field_type::object;
    if (schema_name) {
      const k8s::field_desc* f = t.find(kv.key);
      if (!f) continue;
      ft = f->type;
      key = f->name;
    } else if (t.t == field_type::any) {
      ft = &t;
    }
    if (forbidden.contains(key)) return typed_fail(error, origin, path, "sets '", key, "', which the template sets too");
    if (!first) out += ',';
    first = false;
    if (schema_name) {
      // The schema's field names need no escaping (tests/patch/k8s_quantity_test.cpp holds every one to it).
      out += '"';
      out.append(key);
      out += "\":";
    } else {
      append_json_string(out, key);
      out += ':';
    }
    const json_path child{path, key};
    if (!write_typed_json(kv.value, *ft, out, error, origin, &child)) return false;
  }
  return true;
}

bool write_typed_list(simdjson::dom::element e, const type_node& t, std::string& out, std::string& error,
                      std::string_view origin, const json_path* path) {
  out += '[';
  bool first = true;
  std::size_t k = 0;
  for (auto item : patch::as_array(e)) {
    if (!first) out += ',';
    first = false;
    const json_path child{path, {}, k++, true};
    if (!write_typed_json(item, *t.elem, out, error, origin, &child)) return false;
  }
  out += ']';
  return true;
}

// A JSON scalar where a string, quantity, int-or-string, integer or boolean goes:
// converted the way Kubernetes' decoding would accept it, or refused.
bool write_typed_scalar(simdjson::dom::element e, const type_node& t, std::string& out, std::string& error,
                        std::string_view origin, const json_path* path) {
  using simdjson::dom::element_type;
  std::string_view text;
  std::string number;  // short: stays in the string's own buffer
  bool is_number = false, is_integral = false;
  std::int64_t integral = 0;
  switch (e.type()) {
    case element_type::STRING: text = e.get_string().value_unsafe(); break;
    case element_type::BOOL:
      if (t.t == field_type::boolean) {
        out += e.get_bool().value_unsafe() ? "true" : "false";
        return true;
      }
      if (t.t != field_type::string) return typed_fail(error, origin, path, "expected ", t.name);
      text = e.get_bool().value_unsafe() ? "true" : "false";
      break;
    case element_type::INT64:
    case element_type::UINT64:
    case element_type::DOUBLE: {
      const double d = e.get_double().value_unsafe();
      is_number = true;
      is_integral = std::trunc(d) == d && std::fabs(d) < 9e15;
      integral = static_cast<std::int64_t>(d);
      if (t.t == field_type::string || t.t == field_type::quantity) {
        number = core::format_go_float(d, t.t == field_type::string ? 32 : 64);
        text = number;
      }
      break;
    }
    default: return typed_fail(error, origin, path, "expected ", t.name);
  }
  if (t.t == field_type::boolean) return typed_fail(error, origin, path, "expected true or false");
  if (t.t == field_type::integer) {
    if (!is_integral) return typed_fail(error, origin, path, "expected an integer");
    append_int(out, integral);
    return true;
  }
  if (t.t == field_type::int_or_string && is_number) {
    if (!is_integral) return typed_fail(error, origin, path, "expected an integer or a string");
    append_int(out, integral);
    return true;
  }
  if (t.t == field_type::quantity && !k8s::is_quantity(text))
    return typed_fail(error, origin, path, "'", text, "' is not a valid quantity");
  append_json_string(out, text);
  return true;
}

bool write_typed_json(simdjson::dom::element e, const type_node& t, std::string& out, std::string& error,
                      std::string_view origin, const json_path* path) {
  using simdjson::dom::element_type;
  const element_type et = e.type();
  switch (t.t) {
    case field_type::object:
    case field_type::map: {
      if (et != element_type::OBJECT) return typed_fail(error, origin, path, "expected an object");
      out += '{';
      bool first = true;
      if (!write_typed_members(e.get_object().value_unsafe(), t, out, first, error, origin, path, key_set{})) return false;
      out += '}';
      return true;
    }
    case field_type::list:
      if (et != element_type::ARRAY) return typed_fail(error, origin, path, "expected a list");
      return write_typed_list(e, t, out, error, origin, path);
    case field_type::any:
      write_json(e, out);
      return true;
    case field_type::string:
    case field_type::quantity:
    case field_type::int_or_string:
    case field_type::integer:
    case field_type::boolean:
      return write_typed_scalar(e, t, out, error, origin, path);
  }
  return true;
}

// Spliced members are written straight into `out`. They need a comma before
// them unless they open the object, and one after them when static members
// follow that were written without one (those carry their own comma only when a
// static member precedes the splice). begin_members() returns where `out` stood;
// end_members() takes the comma back when nothing was spliced.
std::size_t begin_members(std::string& out) {
  const std::size_t mark = out.size();
  if (!out.empty() && out.back() != '{' && out.back() != ',') out += ',';
  return mark;
}

void end_members(std::string& out, std::size_t mark, std::size_t body_start, bool static_before, bool static_after) {
  if (out.size() == body_start) {
    out.resize(mark);
    return;
  }
  if (static_after && !static_before) out += ',';
}

bool write_structured(const value& v, const type_node& t, std::string& out, std::string& scratch, std::string& error,
                      bool members, bool preceded, bool followed, const key_set& forbidden) {
  if (v.late_size != 0) {
    // Text the trace left unmade (a toJSON) is text here, as a scalar.
    if (members) return typed_fail(error, v.origin, nullptr, "expected a JSON object");
    return write_scalar_hole(v, t.t == field_type::object ? field_type::string : t.t, out, scratch, error);
  }
  if (v.k == vkind::json) {
    if (members) {
      if (!v.j.is_object()) return typed_fail(error, v.origin, nullptr, "each entry must be a JSON object");
      const std::size_t mark = begin_members(out);
      const std::size_t body_start = out.size();
      bool first = true;
      if (!write_typed_members(v.j.get_object().value_unsafe(), t, out, first, error, v.origin, nullptr, forbidden))
        return false;
      end_members(out, mark, body_start, preceded, followed);
      return true;
    }
    return write_typed_json(v.j, t, out, error, v.origin, nullptr);
  }
  if (tmpl::is_string_map(v)) {
    if (members) {
      const std::size_t mark = begin_members(out);
      const std::size_t body_start = out.size();
      for (std::int64_t k = 0; k < v.i; ++k) {
        const auto& l = tmpl::string_map_items(v)[k];
        if (forbidden.contains(l.key))
          return typed_fail(error, v.origin, nullptr, "sets '", l.key, "', which the template sets too");
        if (k) out += ',';
        append_json_string(out, l.key);
        out += ':';
        append_json_string(out, l.value);
      }
      end_members(out, mark, body_start, preceded, followed);
      return true;
    }
    if (t.t != field_type::object && t.t != field_type::map && t.t != field_type::any)
      return typed_fail(error, v.origin, nullptr, "expected ", t.name, ", got the YAML of a map");
    out += '{';
    for (std::int64_t k = 0; k < v.i; ++k) {
      if (k) out += ',';
      append_json_string(out, tmpl::string_map_items(v)[k].key);
      out += ':';
      append_json_string(out, tmpl::string_map_items(v)[k].value);
    }
    out += '}';
    return true;
  }
  if (v.k == vkind::nil || v.k == vkind::invalid) {
    if (!members) out += "null";
    return true;
  }
  if (members) return typed_fail(error, v.origin, nullptr, "expected a JSON object");
  // A scalar placed as a value: typed like any scalar hole.
  value plain = v;
  plain.deferred = nullptr;
  return write_scalar_hole(plain, t.t == field_type::object ? field_type::string : t.t, out, scratch, error);
}

}  // namespace

std::string_view resolve_ref(const value_ref& r, const sidecar_variant& v, std::span<const value> holes,
                             std::string& scratch) {
  switch (r.k) {
    case value_ref::kind::literal: return v.text(r.literal);
    case value_ref::kind::hole:
      if (r.hole >= holes.size()) return {};
      if (holes[r.hole].k == vkind::string) return holes[r.hole].s;
      scratch.clear();
      print_hole(holes[r.hole], scratch);
      return scratch;
    case value_ref::kind::splice_name: {
      if (r.hole >= holes.size()) return {};
      const value& h = holes[r.hole];
      if (h.k == vkind::json && h.j.is_object()) {
        auto n = h.j.get_object().value_unsafe().at_key("name");
        if (!n.error() && n.value_unsafe().is_string()) return n.value_unsafe().get_string().value_unsafe();
      }
      return {};
    }
    default: return {};
  }
}

void write_json(simdjson::dom::element e, std::string& out) {
  using simdjson::dom::element_type;
  switch (e.type()) {
    case element_type::OBJECT: {
      out += '{';
      bool first = true;
      for (auto kv : patch::as_object(e)) {
        if (!first) out += ',';
        first = false;
        append_json_string(out, kv.key);
        out += ':';
        write_json(kv.value, out);
      }
      out += '}';
      return;
    }
    case element_type::ARRAY: {
      out += '[';
      bool first = true;
      for (auto item : patch::as_array(e)) {
        if (!first) out += ',';
        first = false;
        write_json(item, out);
      }
      out += ']';
      return;
    }
    case element_type::STRING: append_json_string(out, e.get_string().value_unsafe()); return;
    case element_type::INT64: append_int(out, e.get_int64().value_unsafe()); return;
    case element_type::UINT64: out += std::to_string(e.get_uint64().value_unsafe()); return;
    case element_type::DOUBLE: {
      char buf[32];
      const auto r = std::to_chars(buf, buf + sizeof buf, e.get_double().value_unsafe());
      out.append(buf, static_cast<std::size_t>(r.ptr - buf));
      return;
    }
    case element_type::BOOL: out += e.get_bool().value_unsafe() ? "true" : "false"; return;
    case element_type::NULL_VALUE: out += "null"; return;
  }
}

bool emit_fragment(const fragment& f, const sidecar_variant& v, std::span<const value> holes, std::string& out,
                   std::string& scratch, std::string& error, insert_writer insert, void* ctx) {
  for (const segment& s : v.segments_of(f)) {
    switch (s.k) {
      case segment::kind::text:
        out.append(v.text_at(s.a, s.b));
        break;
      case segment::kind::hole_string: {
        const value& h = holes[s.a];
        if (h.k == vkind::string) {
          append_json_escaped(out, h.s);
        } else if (h.deferred == write_to_json) {
          write_to_json_escaped(h, out);  // toJSON's text, made here escaped (value::late_size)
        } else {
          scratch.clear();
          print_hole(h, scratch);
          append_json_escaped(out, scratch);
        }
        break;
      }
      case segment::kind::hole_scalar:
        if (!write_scalar_hole(holes[s.a], s.scalar_type, out, scratch, error)) return false;
        break;
      case segment::kind::hole_members: {
        const text_ref header = v.keys[s.b];
        const key_set forbidden{&v, {v.keys.data() + s.b + 1, header.length}};
        if (!write_structured(holes[s.a], k8s::schema_at(header.offset), out, scratch, error, true, s.preceded(),
                              s.followed(), forbidden))
          return false;
        break;
      }
      case segment::kind::hole_value: {
        const type_node& schema = k8s::schema_at(s.b);
        if (s.scalar_type == k8s::field_type::any) {
          const value& h = holes[s.a];
          if (h.k == vkind::json) {
            write_json(h.j, out);
          } else if (tmpl::is_string_map(h) && h.late_size == 0) {
            out += '{';
            for (std::int64_t k = 0; k < h.i; ++k) {
              if (k) out += ',';
              append_json_string(out, tmpl::string_map_items(h)[k].key);
              out += ':';
              append_json_string(out, tmpl::string_map_items(h)[k].value);
            }
            out += '}';
          } else if (!write_structured(h, schema, out, scratch, error, false, false, false, key_set{})) {
            return false;
          }
        } else if (!write_structured(holes[s.a], schema, out, scratch, error, false, false, false, key_set{})) {
          return false;
        }
        break;
      }
      case segment::kind::insert:
        if (insert) insert(ctx, s.point, s.preceded(), out);
        break;
    }
  }
  return true;
}

}  // namespace meshinject::patch
