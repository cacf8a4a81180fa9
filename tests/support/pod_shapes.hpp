#pragma once
// The many-shapes rules of load/shapes.mjs (keep the two in step), in one place
// for bench/shapes_bench.cpp, which measures them, and
// tests/patch/part_memo_conformance_test.cpp, which compiles every one of them:
// eight template branches Istio 1.1's production template takes on pod data,
// 1-3 containers with 1-4 ports, 0-39 user volumes (k = 0 .. 9,999).

#include <nlohmann/json.hpp>
#include <string>

namespace meshinject::test {

// Turns `pod` (orders-pod's: labels app and version, one container, a service
// account) into shape k.
inline void apply_pod_shape(nlohmann::json& pod, int k) {
  using json = nlohmann::json;
  json& annotations = pod["metadata"]["annotations"];
  json& labels = pod["metadata"]["labels"];
  const int bits = k % 256;
  auto on = [&](int i) { return ((bits >> i) & 1) != 0; };
  if (on(0)) annotations["traffic.sidecar.istio.io/kubevirtInterfaces"] = "net1";
  if (!on(1)) labels.erase("app");
  if (on(2)) annotations["status.sidecar.istio.io/port"] = "0";
  if (on(3)) annotations["sidecar.istio.io/bootstrapOverride"] = "custom-bootstrap";
  if (on(4)) annotations["sidecar.istio.io/interceptionMode"] = "TPROXY";
  if (on(5)) annotations["sidecar.istio.io/proxyCPU"] = "250m";
  if (on(6)) annotations["sidecar.istio.io/proxyMemory"] = "256Mi";
  if (!on(7)) pod["spec"]["serviceAccountName"] = "";

  json& containers = pod["spec"]["containers"];
  json ports = json::array();
  for (int i = 0; i < 1 + (k / 3) % 4; ++i)
    ports.push_back(json{{"name", "port-" + std::to_string(i)}, {"containerPort", 8080 + i}, {"protocol", "TCP"}});
  containers[0]["ports"] = ports;
  const json app = containers[0];  // copied: the pushes below may move the list's elements
  for (int c = 1; c <= k % 3; ++c) {
    json helper = app;
    helper["name"] = "helper-" + std::to_string(c);
    json port{{"name", "helper-" + std::to_string(c)}, {"containerPort", 9090 + c}, {"protocol", "TCP"}};
    helper["ports"] = json::array();
    helper["ports"].push_back(port);
    containers.push_back(helper);
  }

  const int volumes = k / 256;
  if (volumes > 0) {
    json declared = json::object(), mounts = json::object();
    for (int i = 0; i < volumes; ++i) {
      const std::string name = "extra-" + std::to_string(i);
      declared[name] = {{"secret", {{"secretName", name}}}};
      mounts[name] = {{"mountPath", "/etc/extra/" + std::to_string(i)}, {"readOnly", true}};
    }
    annotations["sidecar.istio.io/userVolume"] = declared.dump();
    annotations["sidecar.istio.io/userVolumeMount"] = mounts.dump();
  }
}

}  // namespace meshinject::test
