#pragma once
// How host data reaches a template: Go's reflection, as an interface.
//
// A host exposes its data as values of kind::object whose `type` is a binding:
// one immutable object per host type (usually a function-local static) that
// answers what Go's text/template asks of a reflect.Value: fields (and methods
// without arguments), map keys, index, len, range, truth, fmt.Sprint, the type's
// name, and, for comparisons and %d, the basic value behind it (an enum is an
// int). A binding reads the value's p/aux/i/b/s as it set them; the library never
// looks inside.
//
// Every operation returns its result by value (built in place: copying a value
// just written costs store-forwarding stalls on the request path). Errors are
// values too: a failing operation calls cx.fail(message) with the message Go
// would give ("can't evaluate field X in type Y", "nil pointer evaluating
// *T.X") and returns anything. Request-path methods must not throw and should
// not allocate once warm (use cx.strings() for room).
//
// The root binding (the template's `.`) has two more duties, at load:
// check_chain classifies every field chain that starts at the root (`.A.B`,
// `$.A.B`): whether the value varies per request (decisions and holes) or is
// configuration (folded to a constant), and whether it can be resolved once
// into an accessor that fetch() reads directly per request.
//
// The library's own bindings (list_type, map_type, json_type, string_map_type)
// are defined the same way.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/labels.hpp"
#include "template/value.hpp"

namespace meshinject::tmpl {

class call_context;

// Receives the elements of a range, in Go's order (maps by sorted key).
class range_visitor {
 public:
  virtual bool visit(const value& key, const value& element) = 0;  // false: stop (the walk failed)

 protected:
  ~range_visitor() = default;
};

// What check_chain learned about a field chain from the root.
struct chain_info {
  bool ok = true;        // false: `error` holds the message Go would give at run time
  bool varies = true;    // the value differs per request: never folded
  int accessor = -1;     // >= 0: fetch(root, accessor) gives the chain's value
};

class binding {
 public:
  virtual std::string_view type_name(const value& self) const noexcept = 0;
  virtual void print(const value& self, std::string& out) const = 0;
  virtual bool truth(const value& self) const noexcept;

  // `.name`: a field or a method without arguments.
  virtual value field(const value& self, std::string_view name, call_context& cx) const;
  // `index self key`.
  virtual value index(const value& self, const value& key, call_context& cx) const;
  // `len self`; false: the type has no length.
  virtual bool length(const value& self, std::int64_t& n) const noexcept;
  // `range self`: visits length() elements. Only called when length() is true.
  virtual bool range(const value& self, range_visitor& visit, call_context& cx) const;
  // A map's value for a key, without the zero-value rules of index; an invalid
  // value (kind::invalid) when absent or when the type is not a map.
  virtual value find(const value& self, std::string_view key) const noexcept;
  // The Go basic value behind the type (an enum: its number), for eq/lt/... and
  // %d; false: none (the value is compared as non-basic).
  virtual bool basic(const value& self, value& out) const noexcept;

  // Root binding only, at load.
  virtual chain_info check_chain(const value& self, std::span<const std::string> fields, std::string& error) const;
  virtual value fetch(const value& self, int accessor, call_context& cx) const;
  // Root binding only: what the host calls the place a value's `origin` names,
  // for error messages ("annotation" gives "annotation NAME: ..."; empty gives
  // "NAME: ...").
  virtual std::string_view origin_label() const noexcept;

 protected:
  ~binding() = default;
};

// The library's bindings.
const binding& list_type() noexcept;
const binding& map_type() noexcept;
const binding& json_type() noexcept;
const binding& string_map_type() noexcept;

// A map[string]string over key/value pairs in document order (Go's sorted order
// is applied when printing and ranging). `exists` tells an empty map from nil.
value string_map(std::span<const core::label> items, bool exists) noexcept;
bool is_string_map(const value& v) noexcept;
std::span<const core::label> string_map_items(const value& v) noexcept;

// A JSON value as encoding/json decodes into interface{}: objects and arrays
// stay elements (kind::json), numbers are float64.
value from_json(simdjson::dom::element e, std::string_view origin = {}) noexcept;

// The error Go's `index` gives for a map indexed by something that is not a string
// ("error calling index: value has type int; should be string"); returns the
// empty value, as every failing binding operation does.
value fail_map_key_type(const value& key, call_context& cx);

}  // namespace meshinject::tmpl
