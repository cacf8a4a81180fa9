#pragma once
// Builds snapshots and engines for tests, and runs reviews through them.

#include <yaml-cpp/yaml.h>

#include <memory>
#include <string>

#include "patch/injector.hpp"
#include "tests/support/support.hpp"

namespace meshinject::test {

// An injection config (the ConfigMap's `config` key) with this policy and template.
inline std::string injection_config_text(const std::string& template_text, const std::string& policy = "enabled",
                                         const std::string& extra = "") {
  YAML::Emitter e;
  e << YAML::BeginMap << YAML::Key << "policy" << YAML::Value << policy << YAML::Key << "template" << YAML::Value
    << YAML::Literal << template_text << YAML::EndMap;
  return std::string(e.c_str()) + "\n" + extra;
}

inline std::shared_ptr<const patch::snapshot> make_snapshot(const std::string& config_text,
                                                            const std::string& mesh_text = "",
                                                            const std::string& version = "",
                                                            const std::string& values_text = "") {
  patch::config_sources s;
  s.inject_config_text = config_text;
  s.inject_config_name = "test-config.yaml";
  s.mesh_text = mesh_text;
  s.mesh_name = "test-mesh.yaml";
  s.values_text = values_text;
  s.values_name = "test-values.yaml";
  s.version_override = version;
  return patch::snapshot::build(s);
}

// Runs one review through the engine; returns the parsed HTTP body.
inline json run_review(patch::engine& e, const std::string& review, patch::injection_result* out = nullptr) {
  std::string buf = review;
  const std::size_t len = buf.size();
  buf.resize(len + simdjson::SIMDJSON_PADDING);
  patch::injection_result r = e.handle(buf.data(), len, buf.size());
  if (out) *out = r;
  return json::parse(std::string(r.body));
}

// A pod's review through the engine: the parsed answer, and the pod with the answer's
// patch applied by nlohmann-json (the oracle; null when the pod was not patched).
struct pod_answer {
  json response;
  json patched;
};
inline pod_answer review_pod(patch::engine& e, const json& pod, const std::string& uid = "uid-1") {
  pod_answer a;
  a.response = run_review(e, make_review(pod, "admission.k8s.io/v1", uid, "default"));
  const json p = response_patch(a.response);
  if (!p.is_null()) a.patched = apply_patch(pod, p);
  return a;
}

// A pod as Kubernetes would hold it: metadata and spec always present.
inline json base_pod(json pod) {
  if (!pod.is_object()) pod = json::object();
  if (!pod.contains("metadata") || pod["metadata"].is_null()) pod["metadata"] = json::object();
  if (!pod.contains("spec") || pod["spec"].is_null()) pod["spec"] = json::object();
  return pod;
}

}  // namespace meshinject::test
