#include "cmd/workloads.hpp"

#include <yaml-cpp/yaml.h>

#include <initializer_list>

namespace meshinject::cmd {
namespace {

struct kind_rule {
  std::string_view kind;
  std::initializer_list<std::string_view> groups;  // API groups the kind is known in
  std::initializer_list<std::string_view> path;    // to the pod template
};

const kind_rule rules[] = {
    {"Pod", {""}, {}},
    {"Deployment", {"apps", "extensions"}, {"spec", "template"}},
    {"StatefulSet", {"apps"}, {"spec", "template"}},
    {"DaemonSet", {"apps", "extensions"}, {"spec", "template"}},
    {"ReplicaSet", {"apps", "extensions"}, {"spec", "template"}},
    {"Job", {"batch"}, {"spec", "template"}},
    {"CronJob", {"batch"}, {"spec", "jobTemplate", "spec", "template"}},
    {"ReplicationController", {""}, {"spec", "template"}},
    // OpenShift 3 also served DeploymentConfig as plain `v1`.
    {"DeploymentConfig", {"apps.openshift.io", ""}, {"spec", "template"}},
};

std::string_view group_of(std::string_view api_version) {
  const auto slash = api_version.find('/');
  return slash == std::string_view::npos ? std::string_view() : api_version.substr(0, slash);
}

const kind_rule* rule_for(std::string_view kind) {
  for (const kind_rule& r : rules)
    if (r.kind == kind) return &r;
  return nullptr;
}

std::string owner_name(const yaml::value& owner) {
  const yaml::value* meta = owner.find("metadata");
  if (!meta || !meta->is_mapping()) return {};
  std::string_view n = meta->text_of("name");
  if (n.empty()) n = meta->text_of("generateName");
  return std::string(n);
}

void scan(const yaml::value& obj, std::vector<std::string>& path, const std::string& item, scan_result& out) {
  if (!obj.is_mapping()) return;
  const std::string_view kind = obj.text_of("kind");
  const std::string_view api_version = obj.text_of("apiVersion");
  const std::string label = (item.empty() ? std::string() : item + ": ") + std::string(kind);
  if (kind == "List") {
    const yaml::value* items = obj.find("items");
    if (!items || !items->is_sequence()) return;
    for (std::size_t i = 0; i < items->items.size(); ++i) {
      path.push_back("items");
      path.push_back(std::to_string(i));
      scan(items->items[i], path, (item.empty() ? "" : item + ".") + "items[" + std::to_string(i) + "]", out);
      path.resize(path.size() - 2);
    }
    return;
  }
  const kind_rule* rule = rule_for(kind);
  if (!rule) return;
  const std::string_view group = group_of(api_version);
  bool known = false;
  for (std::string_view g : rule->groups) known = known || g == group;
  if (!known) {
    out.notes.push_back(label + " \"" + owner_name(obj) + "\": apiVersion " + std::string(api_version) +
                        " is not one kube-inject knows; left unchanged");
    return;
  }
  const yaml::value* at = &obj;
  std::vector<std::string> template_path = path;
  std::string walked;
  for (std::string_view step : rule->path) {
    walked += walked.empty() ? "" : ".";
    walked += step;
    const yaml::value* next = at->is_mapping() ? at->find(step) : nullptr;
    if (!next || next->is_null()) {
      out.notes.push_back(label + " \"" + owner_name(obj) + "\": no " + walked + "; left unchanged");
      return;
    }
    at = next;
    template_path.emplace_back(step);
  }
  if (!at->is_mapping())
    throw yaml::input_error(at->line, at->column,
                            (walked.empty() ? std::string("the pod") : walked) + " must be a mapping");
  pod_target t;
  t.path = std::move(template_path);
  t.owner_path = path;
  t.item = item;
  t.kind = std::string(kind);
  t.name = owner_name(obj);
  t.line = at->line;
  t.column = at->column;
  out.targets.push_back(std::move(t));
}

}  // namespace

bool may_hold_pod(const YAML::Node& doc) {
  if (!doc.IsMap()) return false;
  const YAML::Node kind = yaml::child(doc, "kind");
  if (!kind.IsScalar()) return false;
  return kind.Scalar() == "List" || rule_for(kind.Scalar()) != nullptr;
}

scan_result find_pod_templates(const yaml::value& doc) {
  scan_result out;
  std::vector<std::string> path;
  scan(doc, path, "", out);
  return out;
}

yaml::value* at_path(yaml::value& root, const std::vector<std::string>& path) {
  return const_cast<yaml::value*>(at_path(static_cast<const yaml::value&>(root), path));
}

const yaml::value* at_path(const yaml::value& root, const std::vector<std::string>& path) {
  const yaml::value* at = &root;
  for (const std::string& step : path) {
    if (at->is_mapping()) {
      at = at->find(step);
    } else if (at->is_sequence()) {
      const std::size_t i = std::stoul(step);
      at = i < at->items.size() ? &at->items[i] : nullptr;
    } else {
      at = nullptr;
    }
    if (!at) return nullptr;
  }
  return at;
}

std::string_view file_namespace(const yaml::value& pod, const yaml::value& owner) {
  for (const yaml::value* obj : {&pod, &owner}) {
    const yaml::value* meta = obj->find("metadata");
    if (meta && meta->is_mapping() && !meta->text_of("namespace").empty()) return meta->text_of("namespace");
  }
  return {};
}

bool workload_metadata(const yaml::value& owner, std::string_view namespace_name, patch::workload_meta& out,
                       std::string& error, int& line, int& column) {
  out = patch::workload_meta{};
  out.namespace_name = namespace_name;
  // istioctl hands the workload's own type to the template as .TypeMeta (it names
  // the proxy's owner): a Deployment's pods belong to the Deployment here.
  out.kind = owner.text_of("kind");
  out.api_version = owner.text_of("apiVersion");
  const yaml::value* meta = owner.find("metadata");
  if (!meta || !meta->is_mapping()) return true;
  out.name = meta->text_of("name");
  for (const bool labels : {true, false}) {
    const char* field = labels ? "labels" : "annotations";
    const yaml::value* map = meta->find(field);
    if (!map || map->is_null()) continue;
    if (!map->is_mapping()) {
      error = std::string("metadata.") + field + " must be a mapping of strings";
      line = map->line;
      column = map->column;
      return false;
    }
    (labels ? out.has_labels : out.has_annotations) = true;
    for (const auto& [k, v] : map->members) {
      if (!v.is_string()) {
        error = std::string("metadata.") + field + "." + k + " must be a string (quote it)";
        line = v.line;
        column = v.column;
        return false;
      }
      (labels ? out.labels : out.annotations).push_back(core::label{k, v.s});
    }
  }
  return true;
}

std::string describe_target(const pod_target& t) {
  std::string out = t.kind + " \"" + t.name + "\"";
  if (!t.item.empty()) out += " (" + t.item + ")";
  return out;
}

}  // namespace meshinject::cmd
