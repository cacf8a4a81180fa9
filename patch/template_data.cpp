#include "patch/template_data.hpp"

#include "patch/istio_functions.hpp"

namespace meshinject::patch {

std::unique_ptr<tmpl::program> compile_template(std::string text, const core::mesh_config& mesh,
                                                const core::config_node& values) {
  auto data = std::make_shared<template_data>();
  data->proxy_config = &mesh.proxy_config();
  data->mesh = &mesh.root;
  data->values = &values;
  const tmpl::value root = template_root(*data);
  return std::make_unique<tmpl::program>(std::move(text), istio_functions(), root, std::move(data));
}

std::unique_ptr<tmpl::program> compile_named_template(std::string text, const template_data& load) {
  auto data = std::make_shared<template_data>(load);
  data->p = nullptr;
  data->deployment = nullptr;
  data->istio_1_28 = true;
  const tmpl::value root = template_root(*data);
  return std::make_unique<tmpl::program>(std::move(text), istio_functions_1_28(), root, std::move(data));
}

}  // namespace meshinject::patch
