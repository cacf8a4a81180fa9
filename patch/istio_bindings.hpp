#pragma once
// The bindings behind template_data (istio_bindings.cpp), for Istio's functions.
// Private to the injector.

#include "core/config_tree.hpp"
#include "patch/pod.hpp"
#include "patch/template_data.hpp"
#include "template/binding.hpp"

namespace meshinject::patch::istio {

const tmpl::binding& meta_type() noexcept;        // p: template_data, i: 0 .ObjectMeta, 1 .DeploymentMeta
const tmpl::binding& spec_type() noexcept;        // p: template_data
const tmpl::binding& containers_type() noexcept;
const tmpl::binding& port_type() noexcept;        // p: container_port  // p: first container, i: count, aux: template_data
const tmpl::binding& config_type() noexcept;      // p: config_node (null: nil message), aux: go_message or null
const tmpl::binding& duration_type() noexcept;    // b: set (a nil *Duration is false and prints 1s), i: ns

inline const container* containers_of(const tmpl::value& v) noexcept { return static_cast<const container*>(v.p); }
inline const template_data& data_of_containers(const tmpl::value& v) noexcept {
  return *static_cast<const template_data*>(v.aux);
}
inline const container_port* port_of(const tmpl::value& v) noexcept {
  return static_cast<const container_port*>(v.p);
}
inline const core::config_node* node_of(const tmpl::value& v) noexcept {
  return static_cast<const core::config_node*>(v.p);
}

}  // namespace meshinject::patch::istio
