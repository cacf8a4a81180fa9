#pragma once
// What sprig's function families share: Go's argument conversions (a template
// passes an argument to a typed parameter only when the types match), sprig's
// loose conversions (strval, cast.ToInt64, empty), and a way to see any list or
// map, whatever its binding, as the library's own items and entries. Private to
// template/: the family files (funcs_*.cpp) include it, hosts do not.
//
// Everything runs on the request path: no throw, results in cx.strings().

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "template/functions.hpp"
#include "template/value.hpp"

namespace meshinject::tmpl::sprig {

// Fails the call with Go's message for an argument of the wrong type and
// returns an invalid value.
value wrong_type(call_context& cx, std::string_view expected, const value& got);
value fail_with(call_context& cx, std::string_view function, std::string_view message);

// Go's conversion of an argument to a `string` / `int` / `bool` parameter:
// only that type is accepted (a host enum passes as its basic value).
bool want_string(call_context& cx, const value& v, std::string_view& out);
bool want_int(call_context& cx, const value& v, std::int64_t& out);
bool want_bool(call_context& cx, const value& v, bool& out);

bool is_nil(const value& v) noexcept;

// reflect.Kind's name as the value itself shows it ("slice", "map", "int", ...;
// host values by their type name: "[]..." slice, "map..." map, "*..." ptr, else
// struct), as sprig's "Cannot ... on type KIND" messages print it. kindOf first
// resolves a host value to its basic value (a host enum is an int); see go_kind.
std::string_view kind_name(const value& v) noexcept;

// Go's strconv.Quote, which fmt's %q and sprig's quote both print: printable
// runes as they are, the rest escaped as Go escapes them.
void go_quote(std::string_view s, std::string& out);

// sprig's strval: a string as is, anything else as fmt.Sprintf("%v").
void strval(const value& v, std::string& out);
// spf13/cast's ToInt64 / ToFloat64 as sprig uses them: nil, a bad string or an
// unknown type give 0.
std::int64_t to_int64(const value& v) noexcept;
double to_float64(const value& v) noexcept;
// sprig's empty(): nil, false, 0, "" and empty lists and maps.
bool empty(const value& v) noexcept;
// reflect.DeepEqual on template values.
bool deep_equal(const value& a, const value& b) noexcept;

// The elements of anything Go would see as a slice (generic lists, JSON arrays,
// host lists), in order; false when the value is not one. Host lists are copied
// into the arena.
bool as_list(call_context& cx, const value& v, std::span<const value>& out);
// The entries of anything Go would see as a map[string]interface{} (generic
// maps, JSON objects, host maps of that type), sorted by key; false when the
// value is not one. A map[string]string is *not* one (Go refuses it too).
bool as_dict(call_context& cx, const value& v, std::span<const map_entry>& out);
// The entries of a map[string]string, sorted by key, as string values.
bool as_string_dict(call_context& cx, const value& v, std::span<const map_entry>& out);

// A map[string]string (the library's string_map) from entries whose values are
// strings, built in the arena.
value make_string_map(call_context& cx, std::span<const map_entry> entries);

// Writes v as encoding/json's Marshal would (maps by sorted key, HTML
// characters escaped); false when Go could not (NaN, an unknown value).
// indent_depth >= 0: MarshalIndent's layout with two spaces a level.
bool write_json(call_context& cx, const value& v, std::string& out, int indent_depth = -1);

// Room for n values / entries in the request's arena.
value* new_values(call_context& cx, std::size_t n);
map_entry* new_entries(call_context& cx, std::size_t n);

}  // namespace meshinject::tmpl::sprig
