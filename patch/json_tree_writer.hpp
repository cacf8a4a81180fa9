#pragma once
// Compact JSON text of a core::json tree. It lives in patch/ rather than beside
// the tree because it writes strings with the project's one escaper
// (append_json_escaped, patch/json_text.hpp), which core/ cannot include; when
// the escaper moves to core/, this file can follow it unchanged but for the
// include.

#include <string>

#include "core/json_tree.hpp"

namespace meshinject::patch {

// Appends v as compact JSON (members in their order, numbers as their literal,
// strings escaped without HTML escaping). Allocates only to grow `out`. An
// array or object with prepared text (core::json::prepared_text) still
// identical to its source is written as that text.
void append_json(std::string& out, const core::json::value& v);

}  // namespace meshinject::patch
