// JSON values as Go's encoding/json decodes them into interface{}: objects are
// map[string]interface{} (printed and ranged in key order), arrays
// []interface{}, numbers float64.

#include <algorithm>

#include "template/binding.hpp"
#include "template/functions.hpp"

namespace meshinject::tmpl {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

simdjson::dom::object object_of(element e) noexcept { return e.get_object().value_unsafe(); }
simdjson::dom::array array_of(element e) noexcept { return e.get_array().value_unsafe(); }

value fail_with_origin(call_context& cx, const value& self, std::string& m) {
  if (self.origin.empty()) {
    cx.fail(m);
    return value{};
  }
  std::string& full = cx.scratch(0);
  full.clear();
  cx.append_origin(self, full);
  full += m;
  cx.fail(full);
  return value{};
}

value member_or_missing(element object, std::string_view key, std::string_view origin = {}) {
  auto r = object_of(object).at_key(key);
  if (r.error()) return value{};
  return from_json(r.value_unsafe(), origin);
}

struct member {
  std::string_view key;
  element v;
  std::size_t order;  // position in the document: ties keep it (std::stable_sort would allocate)
};

class json_binding final : public binding {
 public:
  std::string_view type_name(const value& self) const noexcept override {
    return self.j.is_array() ? "[]interface {}" : "map[string]interface {}";
  }

  void print(const value& self, std::string& out) const override { print_element(self.j, out); }

  bool truth(const value& self) const noexcept override {
    if (self.j.is_object()) return object_of(self.j).size() != 0;
    if (self.j.is_array()) return array_of(self.j).size() != 0;
    return true;
  }

  value field(const value& self, std::string_view name, call_context& cx) const override {
    if (!self.j.is_object()) {
      std::string& m = cx.scratch(1);
      m = "can't evaluate field ";
      m += name;
      m += " in type []interface {}";
      return fail_with_origin(cx, self, m);
    }
    return member_or_missing(self.j, name);
  }

  value index(const value& self, const value& key, call_context& cx) const override {
    if (self.j.is_object()) {
      if (key.k == kind::string) return member_or_missing(self.j, key.s);
      return tmpl::fail_map_key_type(key, cx);
    }
    simdjson::simdjson_result<element> r = simdjson::INDEX_OUT_OF_BOUNDS;
    if (key.k == kind::integer && key.i >= 0) r = array_of(self.j).at(static_cast<std::size_t>(key.i));
    if (!r.error()) return from_json(r.value_unsafe());
    std::string& m = cx.scratch(1);
    m = "error calling index: index out of range: ";
    print_value(key, m);
    return fail_with_origin(cx, self, m);
  }

  bool length(const value& self, std::int64_t& n) const noexcept override {
    n = static_cast<std::int64_t>(self.j.is_array() ? array_of(self.j).size() : object_of(self.j).size());
    return true;
  }

  bool range(const value& self, range_visitor& visit, call_context& cx) const override {
    if (self.j.is_array()) {
      std::int64_t k = 0;
      for (element item : array_of(self.j))
        if (!visit.visit(value::integer(k++), from_json(item, self.origin))) return false;
      return true;
    }
    const auto obj = object_of(self.j);
    member* members = cx.strings().allocate_array<member>(obj.size());
    std::size_t n = 0;
    for (auto kv : obj) {
      members[n] = member{kv.key, kv.value, n};
      ++n;
    }
    std::sort(members, members + n, [](const member& a, const member& b) {
      return a.key != b.key ? a.key < b.key : a.order < b.order;
    });
    for (std::size_t k = 0; k < n; ++k)
      if (!visit.visit(value::string(members[k].key, self.origin), from_json(members[k].v, self.origin))) return false;
    return true;
  }

  value find(const value& self, std::string_view key) const noexcept override {
    if (!self.j.is_object()) return value{};
    return member_or_missing(self.j, key, self.origin);
  }

 private:
  static void print_element(element e, std::string& out) {
    switch (e.type()) {
      case element_type::OBJECT: print_object(object_of(e), out); break;
      case element_type::ARRAY: {
        out += '[';
        bool first = true;
        for (element item : array_of(e)) {
          if (!first) out += ' ';
          first = false;
          print_element(item, out);
        }
        out += ']';
        break;
      }
      case element_type::STRING: out += e.get_string().value_unsafe(); break;
      case element_type::BOOL: out += e.get_bool().value_unsafe() ? "true" : "false"; break;
      case element_type::NULL_VALUE: out += "<nil>"; break;
      case element_type::INT64: append_float(out, static_cast<double>(e.get_int64().value_unsafe())); break;
      case element_type::UINT64: append_float(out, static_cast<double>(e.get_uint64().value_unsafe())); break;
      case element_type::DOUBLE: append_float(out, e.get_double().value_unsafe()); break;
    }
  }

  // Go prints a map[string]interface{} with its keys sorted. Each step picks the
  // next member in (key, position) order, so printing needs no room.
  static void print_object(simdjson::dom::object obj, std::string& out) {
    out += "map[";
    std::string_view last_key;
    std::size_t last_pos = 0;
    const std::size_t size = obj.size();
    for (std::size_t n = 0; n < size; ++n) {
      std::string_view best_key;
      element best_value;
      std::size_t best_pos = 0, pos = 0;
      bool found = false;
      for (auto kv : obj) {
        const bool after = n == 0 || kv.key > last_key || (kv.key == last_key && pos > last_pos);
        if (after && (!found || kv.key < best_key)) {
          best_key = kv.key;
          best_value = kv.value;
          best_pos = pos;
          found = true;
        }
        ++pos;
      }
      if (n) out += ' ';
      out += best_key;
      out += ':';
      print_element(best_value, out);
      last_key = best_key;
      last_pos = best_pos;
    }
    out += ']';
  }
};

const json_binding json_instance;

}  // namespace

const binding& json_type() noexcept { return json_instance; }

// Fields are set in place: a temporary copied into the result would cost a
// store-forwarding stall per copy on the request path.
value from_json(simdjson::dom::element e, std::string_view origin) noexcept {
  value v;
  v.origin = origin;
  switch (e.type()) {
    case element_type::OBJECT:
    case element_type::ARRAY:
      v.k = kind::json;
      v.type = &json_instance;
      v.j = e;
      break;
    case element_type::STRING:
      v.k = kind::string;
      v.s = e.get_string().value_unsafe();
      break;
    case element_type::BOOL:
      v.k = kind::boolean;
      v.b = e.get_bool().value_unsafe();
      break;
    case element_type::NULL_VALUE: v.k = kind::nil; break;
    case element_type::INT64:
      v.k = kind::floating;
      v.f = static_cast<double>(e.get_int64().value_unsafe());
      break;
    case element_type::UINT64:
      v.k = kind::floating;
      v.f = static_cast<double>(e.get_uint64().value_unsafe());
      break;
    case element_type::DOUBLE:
      v.k = kind::floating;
      v.f = e.get_double().value_unsafe();
      break;
  }
  return v;
}

}  // namespace meshinject::tmpl
