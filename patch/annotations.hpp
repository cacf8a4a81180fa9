#pragma once
// Istio's per-pod annotations that are checked before rendering, as Istio checks
// them (1.1's set, plus today's resource quantities, merge-metrics bool and
// interface-name lists): a bad value answers `allowed: false` with a message naming
// the annotation, instead of a sidecar that cannot start or a pod the apiserver
// refuses without saying why.

#include <string>

#include "patch/pod.hpp"

namespace meshinject::patch {

// Returns true when every known annotation holds a valid value. Otherwise
// returns false and writes one line per bad annotation into `error`.
bool validate_annotations(const pod& p, std::string& error);

// Go's strconv.ParseBool: 1, t, T, TRUE, true, True, 0, f, F, FALSE, false, False.
bool parse_go_bool(std::string_view s, bool& out) noexcept;

// A port: decimal 0..65535, surrounding spaces allowed (Istio's parsePort).
bool parse_port(std::string_view s, int& port) noexcept;

}  // namespace meshinject::patch
