#pragma once
// What injection needs of a Pod, as views into the parsed AdmissionReview.
// One `pod` object lives per reactor and is cleared and refilled for every
// request; its vectors keep their capacity, so a warm reactor parses without
// allocating. Every string_view points into the simdjson document of the
// current request and is valid only until the next parse.

#include <simdjson.h>

#include <cstdint>
#include <string_view>
#include <vector>

#include "core/labels.hpp"

namespace meshinject::patch {

struct container_port {
  std::int64_t container_port = 0;
  std::string_view name;
  std::string_view protocol;
};

struct volume_mount {
  std::string_view name;
  std::string_view mount_path;
  simdjson::dom::element raw;  // the whole mount object, copied as-is when needed
};

struct container {
  std::string_view name;
  std::string_view image;
  std::uint32_t ports_begin = 0, ports_end = 0;    // range in pod::ports
  std::uint32_t mounts_begin = 0, mounts_end = 0;  // range in pod::mounts
  // `httpGet` objects of the probes; null elements when a probe has no httpGet.
  simdjson::dom::element readiness_http_get;
  simdjson::dom::element liveness_http_get;
  bool has_readiness_http_get = false;
  bool has_liveness_http_get = false;
};

struct owner_reference {
  std::string_view kind;
  std::string_view api_version;
  std::string_view name;
  bool controller = false;
};

struct pod {
  simdjson::dom::element object;  // the whole Pod (Istio >= 1.9's path merges and diffs it)
  // parse_review's key scan (patch/json_keys.hpp) left one member per key in all
  // of `object` but status and metadata.managedFields; false for a pod read by
  // parse_pod alone, whose keys nobody checked.
  bool keys_unique_as_read = false;

  // metadata
  bool has_metadata = false;
  std::string_view name;
  std::string_view generate_name;
  std::string_view namespace_name;  // the pod's, else the request's
  bool has_labels = false;           // the labels object exists (possibly empty)
  bool has_annotations = false;      // the annotations object exists (possibly empty)
  std::vector<core::label> labels;
  std::vector<core::label> annotations;
  std::vector<owner_reference> owners;

  // spec
  bool has_spec = false;
  bool host_network = false;
  bool has_security_context = false;
  std::string_view service_account_name;
  std::string_view service_account;  // the deprecated field, kept for templates
  std::vector<container> containers;
  std::vector<container> init_containers;
  std::vector<container_port> ports;
  std::vector<volume_mount> mounts;
  std::vector<std::string_view> volume_names;
  std::vector<std::string_view> image_pull_secret_names;

  void clear() noexcept {
    keys_unique_as_read = false;
    has_metadata = has_spec = false;
    name = generate_name = namespace_name = {};
    has_labels = has_annotations = false;
    labels.clear();
    annotations.clear();
    owners.clear();
    host_network = has_security_context = false;
    service_account_name = service_account = {};
    containers.clear();
    init_containers.clear();
    ports.clear();
    mounts.clear();
    volume_names.clear();
    image_pull_secret_names.clear();
  }

  const core::label* annotation(std::string_view key) const noexcept {
    return core::find_label(annotations, key);
  }
  const core::label* label(std::string_view key) const noexcept { return core::find_label(labels, key); }
};

// The pod metadata a template sees as `.DeploymentMeta`: in the webhook the pod's
// own metadata (Istio 1.1), in kube-inject the workload's.
struct workload_meta {
  std::string_view name;
  std::string_view namespace_name;
  std::vector<core::label> labels;
  std::vector<core::label> annotations;
  bool has_labels = false;
  bool has_annotations = false;
  // The workload's type (.TypeMeta in Istio 1.28's templates); empty: derived
  // from the pod's controller, as Istio's webhook does.
  std::string_view kind;
  std::string_view api_version;
};

}  // namespace meshinject::patch
