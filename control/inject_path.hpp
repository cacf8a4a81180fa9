#pragma once
// The webhook's `/inject/<k>/<v>/...` path: which paths are the injection
// endpoint, and the proxy environment variables a path asks for, read as Istio's
// webhook reads them. On the request path: no I/O, and nothing that allocates
// once the caller's buffers are warm.

#include <string>
#include <string_view>
#include <vector>

#include "patch/injector.hpp"

namespace meshinject::control {

// True for `/inject` and `/inject/...` (the injection endpoint with path parameters).
bool is_inject_path(std::string_view path) noexcept;

// A valid Kubernetes environment variable name: [-._a-zA-Z][-._a-zA-Z0-9]*.
bool is_env_name(std::string_view name) noexcept;

// Istio's parseInjectEnvs: `/inject/k1/v1/k2/v2...` (any order) becomes proxy
// environment variables. The path is percent-decoded first (as Go's URL.Path is);
// `cluster` maps to ISTIO_META_CLUSTER_ID, `net` to ISTIO_META_NETWORK, other keys
// are upper-cased; `--slash--` in a value becomes `/`; a trailing key without a
// value is ignored; the deprecated `/inject/:ENV:K=V:ENV:K2=V2` form is read too.
// Names that are not valid environment variable names are dropped; a repeated
// name keeps its first position and its last value (Istio builds a map).
//
// `storage` receives the decoded text and `out` views into it: both are cleared,
// and their capacity is reused, so once warm this allocates nothing. Returns false
// when the path is not valid percent-encoding (answered 400).
bool parse_inject_env(std::string_view path, std::string& storage, std::vector<patch::env_pair>& out);

}  // namespace meshinject::control
