#pragma once
// The injector's names for the project's JSON escaper, which lives in core/
// (core/json_text.hpp) so that http/, the logger and the injector share one.

#include "core/json_text.hpp"

namespace meshinject::patch {

using core::append_int;
using core::append_json_escaped;
using core::append_json_string;
using core::utf8_sequence_length;

}  // namespace meshinject::patch
