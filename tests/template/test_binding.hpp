#pragma once
// A small host for the template library alone: data, bindings and a function,
// shaped like a host's (a request part that varies, a configuration part that is
// folded), so the language can be tested and fuzzed without Istio.
//
//   .Name        string, per request          .Config   map: configuration (folded)
//   .Labels      map[string]string             .Count    int
//   .List        []interface{} of strings
//   .Map         map[string]interface{}        .Nil      nil
//   .Items       list of maps {Name, Ports: list of maps {Port, Name}}
//   .JSON        a JSON object (per request)   .Mode     an enum: prints REDIRECT, is 0
//
// Functions added to Go's builtins: `upper s` (pure), `list x...` (builds a
// list in the request's arena, as sprig's would), `stamp` (impure: never folded).

#include <simdjson.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/labels.hpp"
#include "template/arena.hpp"
#include "template/binding.hpp"
#include "template/functions.hpp"
#include "template/program.hpp"
#include "template/value.hpp"

namespace meshinject::test {

namespace tt = meshinject::tmpl;

// Everything a test request carries; the values point into `memory`.
struct test_data {
  bool request = true;  // false: at load, the request's fields are unknown
  std::string name = "web-1";
  std::vector<core::label> labels{{"tier", "front"}, {"app", "web"}};
  bool has_labels = true;
  tt::arena memory;
  tt::value list, map, items, config, json;
  simdjson::dom::parser parser;
  std::string json_text = R"({"b":[1,2],"a":{"x":1.5},"n":5})";

  test_data() { build(); }
  test_data(const test_data&) = delete;

  void build() {
    using tt::value;
    const value abc[] = {value::string("a"), value::string("b"), value::string("c")};
    list = tt::make_list(memory, abc);
    const tt::map_entry m[] = {{"zeta", value::integer(1)}, {"alpha", value::string("x")}, {"mid", list}};
    map = tt::make_map(memory, m);
    auto port = [&](std::int64_t n, std::string_view pname) {
      const tt::map_entry e[] = {{"Port", value::integer(n)}, {"Name", value::string(pname)}};
      return tt::make_map(memory, e);
    };
    auto item = [&](std::string_view iname, std::span<const value> ports) {
      const tt::map_entry e[] = {{"Name", value::string(iname)}, {"Ports", tt::make_list(memory, ports)}};
      return tt::make_map(memory, e);
    };
    const value app_ports[] = {port(80, ""), port(8080, "http")};
    const value proxy_ports[] = {port(15090, "")};
    const value side_ports[] = {port(80, "")};
    const value all[] = {item("app", app_ports), item("proxy", proxy_ports), item("side", side_ports)};
    items = tt::make_list(memory, all);
    const tt::map_entry b[] = {{"b", value::string("deep")}};
    const tt::map_entry a[] = {{"a", tt::make_map(memory, b)}};
    const value xz[] = {value::string("x"), value::string("z")};
    const tt::map_entry cfg[] = {{"name", value::string("demo")}, {"list", list},
                                 {"nested", tt::make_map(memory, a)}, {"num", value::integer(3)},
                                 {"empty", value::string("")}, {"res", tt::make_list(memory, xz)}};
    config = tt::make_map(memory, cfg);
    json = tt::from_json(parser.parse(json_text).value(), "test-json");
  }
};

// A Go enum: prints its name, compares as its number.
class mode_binding final : public tt::binding {
 public:
  std::string_view type_name(const tt::value&) const noexcept override { return "test.Mode"; }
  void print(const tt::value&, std::string& out) const override { out += "REDIRECT"; }
  bool truth(const tt::value&) const noexcept override { return false; }
  bool basic(const tt::value&, tt::value& out) const noexcept override {
    out = tt::value::integer(0);
    return true;
  }
};

class data_binding final : public tt::binding {
 public:
  std::string_view type_name(const tt::value&) const noexcept override { return "*test.Data"; }
  void print(const tt::value&, std::string& out) const override { out += "{test data}"; }

  tt::value field(const tt::value& self, std::string_view name, tt::call_context& cx) const override {
    const test_data& d = data(self);
    const int f = field_index(name);
    ++field_reads;
    if (f < 0) return tt::binding::field(self, name, cx);
    if (!d.request && f != config_field) return tt::value::unknown();
    return get(d, f);
  }

  tt::chain_info check_chain(const tt::value&, std::span<const std::string> fields, std::string& error) const override {
    const int f = field_index(fields[0]);
    if (f < 0) {
      error = "can't evaluate field " + fields[0] + " in type *test.Data";
      return {false, true, -1};
    }
    // Name and Labels resolve to accessors: the lookup fast path applies to them.
    const bool direct = fields.size() == 1 && (f == name_field || f == labels_field);
    return {true, f != config_field, direct ? f : -1};
  }

  tt::value fetch(const tt::value& self, int accessor, tt::call_context&) const override {
    const test_data& d = data(self);
    ++fetches;
    return d.request ? get(d, accessor) : tt::value::unknown();
  }

  std::string_view origin_label() const noexcept override { return "annotation"; }

  mutable int fetches = 0;  // how often the fast path ran (tests only)
  mutable int field_reads = 0;  // how often a field of the root was read by name (tests only)

 private:
  enum { name_field, labels_field, list_field, map_field, items_field, json_field, count_field, nil_field,
         mode_field, config_field };

  static const test_data& data(const tt::value& v) { return *static_cast<const test_data*>(v.p); }

  static int field_index(std::string_view n) {
    static constexpr std::string_view names[] = {"Name", "Labels", "List", "Map", "Items",
                                                 "JSON", "Count", "Nil", "Mode", "Config"};
    for (int i = 0; i < static_cast<int>(std::size(names)); ++i)
      if (names[i] == n) return i;
    return -1;
  }

  tt::value get(const test_data& d, int f) const {
    switch (f) {
      case name_field: return tt::value::string(d.name);
      case labels_field: return tt::string_map(d.labels, d.has_labels);
      case list_field: return d.list;
      case map_field: return d.map;
      case items_field: return d.items;
      case json_field: return d.json;
      case count_field: return tt::value::integer(3);
      case nil_field: return tt::value::nil();
      case mode_field: return tt::value::object(mode_, nullptr);
      default: return d.config;
    }
  }

  mode_binding mode_;
};

inline const data_binding& test_binding() {
  static const data_binding b;
  return b;
}

inline tt::value test_root(const test_data& d) { return tt::value::object(test_binding(), &d); }

inline tt::value fn_upper(tt::call_context& cx, std::span<tt::value> a) {
  if (a[0].k != tt::kind::string) {
    cx.fail("upper: not a string");
    return {};
  }
  std::string& s = cx.scratch();
  s.assign(a[0].s);
  for (char& c : s)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
  return cx.text(s);
}

inline tt::value fn_list(tt::call_context& cx, std::span<tt::value> a) { return tt::make_list(cx.strings(), a); }

inline tt::value fn_stamp(tt::call_context& cx, std::span<tt::value>) { return cx.text("stamp"); }

inline const tt::function_table& test_functions() {
  static const tt::function_table t = [] {
    tt::function_table f = tt::builtin_functions();
    f.add({.name = "upper", .impl = fn_upper, .min_args = 1, .max_args = 1});
    f.add({.name = "list", .impl = fn_list});
    f.add({.name = "stamp", .impl = fn_stamp, .max_args = 0, .pure = false});
    return f;
  }();
  return t;
}

// A program over the test binding: its load data lives as long as it does.
inline std::unique_ptr<tt::program> compile_test_template(std::string text) {
  auto load = std::make_shared<test_data>();
  load->request = false;
  const tt::value root = test_root(*load);
  return std::make_unique<tt::program>(std::move(text), test_functions(), root, std::move(load));
}

struct exec_result {
  bool ok = false;
  std::string out;
  std::string error;
  std::size_t holes = 0;
  std::vector<std::uint8_t> trace;
};

// Runs a program for a request the way a host does (trace, then render the
// variant) and fills each placeholder with the printed hole value: the text Go
// would have produced.
inline exec_result run_program(const tt::program& prog, const test_data& d) {
  exec_result r;
  tt::trace_state state;
  const tt::value root = test_root(d);
  if (!prog.trace(root, state)) {
    r.error = state.error;
    return r;
  }
  r.trace = state.trace;
  r.holes = state.holes.size();
  tt::render_result rendered;
  if (!prog.render(root, state.trace, rendered, r.error)) return r;
  if (rendered.holes.size() != state.holes.size()) {
    r.error = "hole count differs between trace and render";
    return r;
  }
  const std::string& t = rendered.text;
  std::size_t pos = 0;
  while (pos < t.size()) {
    const std::size_t open = t.find(tt::hole_open, pos);
    if (open == std::string::npos) {
      r.out.append(t, pos, std::string::npos);
      break;
    }
    r.out.append(t, pos, open - pos);
    const std::size_t digits = open + tt::hole_open.size();
    const std::size_t close = t.find(tt::hole_close, digits);
    const std::size_t n = std::stoul(t.substr(digits, close - digits));
    tt::print_value(state.holes.at(n), r.out);
    pos = close + tt::hole_close.size();
  }
  r.ok = true;
  return r;
}

}  // namespace meshinject::test
