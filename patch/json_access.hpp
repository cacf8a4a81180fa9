#pragma once
// Typed views of a simdjson element already known to be of that type. They return
// by value: a range-for over `e.get_object().value_unsafe()` would iterate a
// member of a destroyed temporary.

#include <simdjson.h>

namespace meshinject::patch {

inline simdjson::dom::object as_object(simdjson::dom::element e) noexcept { return e.get_object().value_unsafe(); }
inline simdjson::dom::array as_array(simdjson::dom::element e) noexcept { return e.get_array().value_unsafe(); }

}  // namespace meshinject::patch
