#pragma once
// Values a template computes with.
//
// A value is a small copyable struct that owns nothing: strings are views into
// the template, the host's data, the request's document or the request's arena;
// lists and maps point into the arena too. Scalars (bool, int, float, string) are
// the library's own; everything else carries a `binding` (binding.hpp) that says
// what its fields, elements, length, truth and printed form are:
//
//   list    generic []interface{}: p -> const value[i]       (binding: list_type())
//   map     generic map[string]interface{}: p -> const map_entry[i], sorted by key
//   json    a simdjson element (object or array) in `j`      (binding: json_type())
//   object  host data: p, aux, i, b, s are the binding's to use
//
// `unknown` stands for a per-request value while a variant is compiled at load
// or rendered from a trace: every operation on it yields unknown.

#include <simdjson.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace meshinject::tmpl {

class arena;
class binding;
struct value;

enum class kind : std::uint8_t {
  invalid,  // Go's "<no value>": a missing key of an interface map
  nil,
  boolean,
  integer,
  floating,
  string,
  list,
  map,
  json,
  object,
  unknown,
};

// Writes a deferred value (see value::deferred) as text.
using text_form = void (*)(const value& v, std::string& out);

struct value {
  kind k = kind::invalid;
  bool b = false;
  // With `deferred`, set by a function whose text the host can write itself from
  // the structure, escaped as it goes (a toJSON): the size of that text, which
  // counts as output. A hole that prints such a value keeps it unmade while
  // tracing; every other use still turns it into text first. (In the padding:
  // the value grows no larger.)
  std::uint32_t late_size = 0;
  std::int64_t i = 0;
  double f = 0;
  std::string_view s;
  const void* p = nullptr;
  const void* aux = nullptr;
  const binding* type = nullptr;  // list, map, json, object
  simdjson::dom::element j;
  std::string_view origin;  // where a value came from (a key of the host's data), for error messages
  // Set by a function whose result is text *of* a structure (e.g. a toYaml):
  // while tracing, the structure is kept so the host can splice it as data; any
  // other use (printing, another function's argument) turns it into text first.
  text_form deferred = nullptr;

  static value nil() { value v; v.k = kind::nil; return v; }
  static value boolean(bool x) { value v; v.k = kind::boolean; v.b = x; return v; }
  static value integer(std::int64_t x) { value v; v.k = kind::integer; v.i = x; return v; }
  static value floating(double x) { value v; v.k = kind::floating; v.f = x; return v; }
  static value string(std::string_view x, std::string_view origin = {}) {
    value v; v.k = kind::string; v.s = x; v.origin = origin; return v;
  }
  static value unknown() { value v; v.k = kind::unknown; return v; }
  static value object(const binding& type, const void* p, const void* aux = nullptr) {
    value v; v.k = kind::object; v.type = &type; v.p = p; v.aux = aux; return v;
  }
};

// An element of a generic map.
struct map_entry {
  std::string_view key;
  value v;
};

// Go template truth: false, 0, nil, empty string/map/list are false.
bool truth(const value& v) noexcept;

// Appends the value as Go's fmt.Sprint prints it inside a template action
// ("<no value>" for a missing interface-map key, maps as map[k:v], ...).
// A deferred value prints as its text.
void print_value(const value& v, std::string& out);

// fmt.Sprint of one operand of print/printf: as print_value, but a missing
// value is "<nil>" there.
void sprint(const value& v, std::string& out);

// Name of the value's type in error messages ("string", "map[string]string", ...).
std::string_view type_name(const value& v) noexcept;

// Appends an integer / a float as Go's fmt prints them (%d, %v).
void append_int(std::string& out, std::int64_t v);
void append_float(std::string& out, double v);

// Generic lists and maps, built in the caller's arena (no heap once warm).
// make_map sorts the entries by key (Go iterates and prints maps in key order);
// for a repeated key the last entry wins.
value make_list(arena& a, std::span<const value> items);
value make_map(arena& a, std::span<const map_entry> entries);
std::span<const value> list_items(const value& v) noexcept;        // kind::list
std::span<const map_entry> map_entries(const value& v) noexcept;   // kind::map

}  // namespace meshinject::tmpl
