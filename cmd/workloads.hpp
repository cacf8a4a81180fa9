#pragma once
// Where the pod is in a Kubernetes object: the object itself for a Pod, the pod
// template for the workload kinds istioctl kube-inject knows (Deployment,
// StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, ReplicationController,
// OpenShift DeploymentConfig), and the items of a List, recursively.

#include <string>
#include <string_view>
#include <vector>

#include "cmd/yaml_io.hpp"
#include "patch/pod.hpp"

namespace YAML {
class Node;
}

namespace meshinject::cmd {

struct pod_target {
  std::vector<std::string> path;        // from the document root to the pod (template) object
  std::vector<std::string> owner_path;  // from the document root to the object that holds it
  std::string item;                     // "items[1]" inside a List ("items[0].items[2]" nested); "" otherwise
  std::string kind;                     // the owner's kind: Pod, Deployment, ...
  std::string name;                     // the owner's metadata.name, else generateName
  int line = 0;                         // where the pod (template) starts in the file
  int column = 0;
};

struct scan_result {
  std::vector<pod_target> targets;
  std::vector<std::string> notes;  // pod-bearing kinds left alone, and why
};

// Whether a parsed document may hold a pod (its kind is one of the above), so it
// is worth reading in full. Other documents pass through untouched.
bool may_hold_pod(const YAML::Node& doc);

// Finds every pod (template) in a document, in document order. Throws
// yaml::input_error for a pod template that is not a mapping.
scan_result find_pod_templates(const yaml::value& doc);

yaml::value* at_path(yaml::value& root, const std::vector<std::string>& path);
const yaml::value* at_path(const yaml::value& root, const std::vector<std::string>& path);

// The namespace a pod would be created in, as far as the file says: the pod
// (template)'s metadata.namespace, else its owner's; "" when neither says.
std::string_view file_namespace(const yaml::value& pod, const yaml::value& owner);

// The owner's metadata as the template's .DeploymentMeta (views into `owner`),
// with `namespace_name` as its namespace. Returns false with `error` (and the
// offending value's position) for labels or annotations that are not strings.
bool workload_metadata(const yaml::value& owner, std::string_view namespace_name, patch::workload_meta& out,
                       std::string& error, int& line, int& column);

// "Deployment \"hello\"", with " (items[1])" inside a List.
std::string describe_target(const pod_target& t);

}  // namespace meshinject::cmd
