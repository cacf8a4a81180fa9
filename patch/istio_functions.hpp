#pragma once
// Istio's template function tables (pkg/kube/inject/template.go's
// InjectionFuncmap), on top of the template library's builtins.
//
//   istio_functions()       Istio 1.1/1.2: Go's builtins and Istio's own.
//   istio_functions_1_28()  Istio 1.28: Go's builtins, sprig's pure families,
//                           then Istio's own over them (Istio's `indent`,
//                           `contains`, `omit`, `env` win, as Funcs(sprig)
//                           .Funcs(InjectionFuncmap) does), with 1.28's additions.

#include <string_view>

#include "template/functions.hpp"

namespace meshinject::patch {

// Istio's functions common to every version (annotation isset valueOrDefault
// toJSON fromJSON toYaml indent formatDuration includeInboundPorts
// excludeInboundPort applicationPorts kubevirtInterfaces directory contains).
void add_istio_functions(tmpl::function_table& t);

// What both tables' functions share about their arguments (defined in
// istio_functions.cpp).
namespace istio_args {
// Fails the call with Go's message for an argument of the wrong type.
tmpl::value wrong_type(tmpl::call_context& cx, std::string_view expected, const tmpl::value& got);
bool is_nil(const tmpl::value& v) noexcept;
}  // namespace istio_args

const tmpl::function_table& istio_functions();
const tmpl::function_table& istio_functions_1_28();

}  // namespace meshinject::patch
