#pragma once
// What an engine keeps for Istio >= 1.9's injection path (named_injector.cpp):
// render the templates a pod selects, merge them over the pod, re-apply the
// user's containers, Istio's post-steps, and the JSON Patch as the difference.
// One per engine (per core); everything is reused between requests. Private to
// the injector.

#include <string>
#include <vector>

#include "core/arena.hpp"
#include "core/config_tree.hpp"
#include "patch/app_probe_rewrite.hpp"
#include "patch/json_diff.hpp"
#include "patch/named_render.hpp"
#include "patch/pod.hpp"
#include "patch/pod_overlay.hpp"
#include "template/program.hpp"

namespace meshinject::patch {

struct named_program;

struct named_workspace {
  core::arena arena;  // the request's trees, rewound per request
  pod_overlay overlay;
  app_probe_rewriter probes;
  json_differ differ;
  yaml_reader_state yaml;
  rendered_memo memo;  // renders read once, by template and trace
  tmpl::render_result rendered;
  std::vector<const named_program*> selected;
  workload_meta owner;      // .DeploymentMeta derived from the pod's controller
  std::string proxy_image;  // .ProxyImage for this pod
  std::string text;         // values written into the pod (status, env)
  // This request's .ProxyConfig: the mesh's defaultConfig, or pod_proxy_config
  // when the pod carries proxy.istio.io/config (built per request, on the heap).
  const core::config_node* proxy_config = nullptr;
  core::config_node pod_proxy_config;
};

}  // namespace meshinject::patch
