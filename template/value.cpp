#include "template/value.hpp"

#include <algorithm>
#include <charconv>

#include "core/yaml_scalar.hpp"
#include "template/arena.hpp"
#include "template/binding.hpp"
#include "template/functions.hpp"

namespace meshinject::tmpl {

// ------------------------------------------------------------ binding defaults

bool binding::truth(const value&) const noexcept { return true; }

value binding::field(const value& self, std::string_view name, call_context& cx) const {
  std::string& m = cx.scratch(1);
  m = "can't evaluate field ";
  m += name;
  m += " in type ";
  m += type_name(self);
  cx.fail(m);
  return value{};
}

value binding::index(const value& self, const value&, call_context& cx) const {
  std::string& m = cx.scratch(1);
  m = "error calling index: can't index item of type ";
  m += type_name(self);
  cx.fail(m);
  return value{};
}

bool binding::length(const value&, std::int64_t&) const noexcept { return false; }
bool binding::range(const value&, range_visitor&, call_context&) const { return true; }
value binding::find(const value&, std::string_view) const noexcept { return value{}; }
bool binding::basic(const value&, value&) const noexcept { return false; }

chain_info binding::check_chain(const value&, std::span<const std::string>, std::string&) const { return {}; }

std::string_view binding::origin_label() const noexcept { return {}; }

value binding::fetch(const value&, int, call_context& cx) const {
  cx.fail("internal: no accessor for this field chain");
  return value{};
}

// ---------------------------------------------------------------- scalars

void append_int(std::string& out, std::int64_t v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, static_cast<std::size_t>(r.ptr - buf));
}

void append_float(std::string& out, double v) { out += core::format_go_float(v); }

bool truth(const value& v) noexcept {
  if (v.deferred) return true;  // text of a structure is never empty ("{}\n", "null\n", ...)
  switch (v.k) {
    case kind::invalid:
    case kind::nil: return false;
    case kind::boolean: return v.b;
    case kind::integer: return v.i != 0;
    case kind::floating: return v.f != 0;
    case kind::string: return !v.s.empty();
    case kind::unknown: return true;
    default: return v.type->truth(v);
  }
}

void print_value(const value& v, std::string& out) {
  switch (v.k) {
    case kind::invalid: out += "<no value>"; break;
    case kind::nil: out += "<nil>"; break;
    case kind::boolean: out += v.b ? "true" : "false"; break;
    case kind::integer: append_int(out, v.i); break;
    case kind::floating: append_float(out, v.f); break;
    case kind::string: out.append(v.s); break;
    case kind::unknown: out += "<unknown>"; break;
    default:
      // A toJSON the trace left unmade (value::late_size) reaches here as a hole.
      if (v.deferred) v.deferred(v, out);
      else v.type->print(v, out);
      break;
  }
}

void sprint(const value& v, std::string& out) {
  if (v.deferred) {
    v.deferred(v, out);
    return;
  }
  if (v.k == kind::invalid) {
    out += "<nil>";
    return;
  }
  print_value(v, out);
}

std::string_view type_name(const value& v) noexcept {
  switch (v.k) {
    case kind::invalid: return "<no value>";
    case kind::nil: return "nil";
    case kind::boolean: return "bool";
    case kind::integer: return "int";
    case kind::floating: return "float64";
    case kind::string: return "string";
    case kind::unknown: return "unknown";
    default: return v.type->type_name(v);
  }
}

// ------------------------------------------------------------------ lists

value fail_map_key_type(const value& key, call_context& cx) {
  std::string& m = cx.scratch(1);
  m = "error calling index: value has type ";
  m += type_name(key);
  m += "; should be string";
  cx.fail(m);
  return value{};
}

namespace {

class list_binding final : public binding {
 public:
  std::string_view type_name(const value&) const noexcept override { return "[]interface {}"; }

  void print(const value& self, std::string& out) const override {
    out += '[';
    const auto items = list_items(self);
    for (std::size_t k = 0; k < items.size(); ++k) {
      if (k) out += ' ';
      print_value(items[k], out);
    }
    out += ']';
  }

  bool truth(const value& self) const noexcept override { return self.i != 0; }

  value index(const value& self, const value& key, call_context& cx) const override {
    if (key.k != kind::integer || key.i < 0 || key.i >= self.i) {
      std::string& m = cx.scratch(1);
      m = "error calling index: index out of range: ";
      print_value(key, m);
      cx.fail(m);
      return value{};
    }
    return list_items(self)[static_cast<std::size_t>(key.i)];
  }

  bool length(const value& self, std::int64_t& n) const noexcept override {
    n = self.i;
    return true;
  }

  bool range(const value& self, range_visitor& visit, call_context&) const override {
    const auto items = list_items(self);
    for (std::size_t k = 0; k < items.size(); ++k)
      if (!visit.visit(value::integer(static_cast<std::int64_t>(k)), items[k])) return false;
    return true;
  }
};

// ------------------------------------------------------------------- maps

class map_binding final : public binding {
 public:
  std::string_view type_name(const value&) const noexcept override { return "map[string]interface {}"; }

  void print(const value& self, std::string& out) const override {
    out += "map[";
    const auto entries = map_entries(self);
    for (std::size_t k = 0; k < entries.size(); ++k) {
      if (k) out += ' ';
      out.append(entries[k].key);
      out += ':';
      print_value(entries[k].v, out);
    }
    out += ']';
  }

  bool truth(const value& self) const noexcept override { return self.i != 0; }

  // A field of a map is a key lookup; a missing key is "<no value>".
  value field(const value& self, std::string_view name, call_context&) const override { return find(self, name); }

  value index(const value& self, const value& key, call_context& cx) const override {
    if (key.k != kind::string) return fail_map_key_type(key, cx);
    return find(self, key.s);
  }

  bool length(const value& self, std::int64_t& n) const noexcept override {
    n = self.i;
    return true;
  }

  bool range(const value& self, range_visitor& visit, call_context&) const override {
    for (const map_entry& e : map_entries(self))
      if (!visit.visit(value::string(e.key), e.v)) return false;
    return true;
  }

  value find(const value& self, std::string_view key) const noexcept override {
    const auto entries = map_entries(self);
    const auto it = std::lower_bound(entries.begin(), entries.end(), key,
                                     [](const map_entry& e, std::string_view k) { return e.key < k; });
    if (it == entries.end() || it->key != key) return value{};
    return it->v;
  }
};

// ------------------------------------------------------ map[string]string

class string_map_binding final : public binding {
 public:
  std::string_view type_name(const value&) const noexcept override { return "map[string]string"; }

  // Go prints map[string]string as map[k1:v1 k2:v2], keys sorted.
  void print(const value& self, std::string& out) const override {
    const auto items = string_map_items(self);
    out += "map[";
    const core::label* last = nullptr;
    for (std::size_t n = 0; n < items.size(); ++n) {
      last = next_after(items, last);
      if (n) out += ' ';
      out.append(last->key);
      out += ':';
      out.append(last->value);
    }
    out += ']';
  }

  bool truth(const value& self) const noexcept override { return self.i != 0; }

  value field(const value& self, std::string_view name, call_context&) const override { return find(self, name); }

  // index of a missing key: the zero value of string.
  value index(const value& self, const value& key, call_context& cx) const override {
    if (key.k != kind::string) return fail_map_key_type(key, cx);
    value v = find(self, key.s);
    if (v.k == kind::invalid) v.k = kind::string;  // "" (set in place: no temporary to copy)
    return v;
  }

  bool length(const value& self, std::int64_t& n) const noexcept override {
    n = self.i;
    return true;
  }

  // In key order, through an index sorted in the request's arena.
  bool range(const value& self, range_visitor& visit, call_context& cx) const override {
    const auto items = string_map_items(self);
    const core::label** order = cx.strings().allocate_array<const core::label*>(items.size());
    for (std::size_t k = 0; k < items.size(); ++k) order[k] = &items[k];
    std::sort(order, order + items.size(), [](const core::label* a, const core::label* b) {
      return a->key != b->key ? a->key < b->key : a < b;
    });
    for (std::size_t k = 0; k < items.size(); ++k)
      if (!visit.visit(value::string(order[k]->key), value::string(order[k]->value, order[k]->key))) return false;
    return true;
  }

  value find(const value& self, std::string_view key) const noexcept override {
    value v;
    for (const core::label& l : string_map_items(self)) {
      if (l.key.size() != key.size() || l.key != key) continue;
      v.k = kind::string;
      v.s = l.value;
      v.origin = l.key;
      break;
    }
    return v;
  }

 private:
  // The next label in (key, position) order after `last` (null: the first).
  // Printing needs no room this way; maps of labels are small.
  static const core::label* next_after(std::span<const core::label> items, const core::label* last) {
    auto before = [](const core::label* a, const core::label* b) {
      return a->key != b->key ? a->key < b->key : a < b;
    };
    const core::label* best = nullptr;
    for (const core::label& l : items)
      if ((!last || before(last, &l)) && (!best || before(&l, best))) best = &l;
    return best;
  }
};

const list_binding list_instance;
const map_binding map_instance;
const string_map_binding string_map_instance;

}  // namespace

const binding& list_type() noexcept { return list_instance; }
const binding& map_type() noexcept { return map_instance; }
const binding& string_map_type() noexcept { return string_map_instance; }

value make_list(arena& a, std::span<const value> items) {
  value* copy = a.allocate_array<value>(items.size());
  std::copy(items.begin(), items.end(), copy);
  value v;
  v.k = kind::list;
  v.type = &list_instance;
  v.p = copy;
  v.i = static_cast<std::int64_t>(items.size());
  return v;
}

value make_map(arena& a, std::span<const map_entry> entries) {
  map_entry* copy = a.allocate_array<map_entry>(entries.size());
  std::size_t n = 0;
  // Insertion sort keeps the last of equal keys and needs no room.
  for (const map_entry& e : entries) {
    std::size_t at = n;
    while (at > 0 && copy[at - 1].key > e.key) --at;
    if (at > 0 && copy[at - 1].key == e.key) {
      copy[at - 1].v = e.v;
      continue;
    }
    std::move_backward(copy + at, copy + n, copy + n + 1);
    copy[at] = e;
    ++n;
  }
  value v;
  v.k = kind::map;
  v.type = &map_instance;
  v.p = copy;
  v.i = static_cast<std::int64_t>(n);
  return v;
}

std::span<const value> list_items(const value& v) noexcept {
  return {static_cast<const value*>(v.p), static_cast<std::size_t>(v.i)};
}

std::span<const map_entry> map_entries(const value& v) noexcept {
  return {static_cast<const map_entry*>(v.p), static_cast<std::size_t>(v.i)};
}

value string_map(std::span<const core::label> items, bool exists) noexcept {
  value v = value::object(string_map_instance, items.data());
  v.i = static_cast<std::int64_t>(items.size());
  v.b = exists;
  return v;
}

bool is_string_map(const value& v) noexcept { return v.type == &string_map_instance; }

std::span<const core::label> string_map_items(const value& v) noexcept {
  return {static_cast<const core::label*>(v.p), static_cast<std::size_t>(v.i)};
}

}  // namespace meshinject::tmpl
