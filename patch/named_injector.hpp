#pragma once
// What an engine keeps for Istio >= 1.9's injection path (named_injector.cpp):
// render the templates a pod selects, merge them over the pod, re-apply the
// user's containers, Istio's post-steps, and the JSON Patch as the difference.
// One per engine (per core); everything is reused between requests. Private to
// the injector.

#include <string>
#include <string_view>
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

// What the named path reads from a ProxyConfig on every pod, read once per
// ProxyConfig (the mesh's defaultConfig, or a pod's merge kept below): each
// read was a search by key per request.
struct proxy_config_facts {
  bool has_image = false;  // image: set (its imageType, even empty, replaces the values' variant)
  std::string image_type;
  bool tproxy_interception = false;  // interceptionMode: TPROXY
  bool hold_application = false;     // holdApplicationUntilProxyStarts: true
};

// The same for the snapshot's values and mesh: read once per snapshot. The
// views point into the snapshot.
struct named_snapshot_facts {
  std::string_view variant, hub, tag, proxy_image_name;  // values.global.{variant,hub,tag,proxy.image}
  std::string_view cluster_name, network;                // values.global.{multiCluster.clusterName,network}
  bool hold_application_by_values = false;                // values.global.proxy.holdApplicationUntilProxyStarts
  bool prometheus_merge = true;                           // mesh enablePrometheusMerge
  std::string_view mesh_status_port = "15020";            // mesh defaultConfig.statusPort, as text
  probe_rewrite_settings probes;
  proxy_config_facts mesh_proxy_config;                   // the mesh's defaultConfig
};

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
  // This request's .ProxyConfig: the mesh's defaultConfig, or the entry of
  // pod_proxy_configs for the pod's proxy.istio.io/config.
  const core::config_node* proxy_config = nullptr;
  const proxy_config_facts* proxy_facts = nullptr;  // of proxy_config
  // Read from `facts_of` (null: not yet, or a new snapshot since).
  const void* facts_of = nullptr;
  named_snapshot_facts facts;
  // The replicas of a workload carry the same annotation text, so its merge over the
  // mesh's defaultConfig is kept by that text: a warm request builds no tree. At most
  // max_pod_proxy_configs, the oldest replaced first; emptied with a new snapshot.
  struct pod_proxy_config {
    std::string annotation;
    core::config_node merged;
    proxy_config_facts facts;
  };
  static constexpr std::size_t max_pod_proxy_configs = 16;
  std::vector<pod_proxy_config> pod_proxy_configs;
  std::size_t next_replaced = 0;
};

}  // namespace meshinject::patch
