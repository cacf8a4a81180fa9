// Istio >= 1.9's injection (Istio 1.28's webhook.go injectPod), for configs in
// the named-templates shape: the templates a pod selects are rendered for it,
// read as Pods, merged over it (RunTemplate), the user's own containers merged
// back (reapplyOverwrittenContainers), Istio's post-steps applied
// (postProcessPod), and the answer is the difference between the pod as
// received and the result. Each template's render is read into a tree once per
// core and trace (rendered_memo, named_render.hpp); per request the trace is
// walked and the tree's per-request scalars filled. A pod that needed a render
// is counted in engine_stats::uncached_renders.

#include <algorithm>
#include <array>
#include <cstring>

#include "patch/injector.hpp"
#include "patch/json_text.hpp"
#include "patch/named_injector.hpp"
#include "patch/pod_patch_meta.hpp"

namespace meshinject::patch {
namespace {

namespace json = core::json;

constexpr std::string_view templates_annotation = "inject.istio.io/templates";
constexpr std::string_view proxy_image_type_annotation = "sidecar.istio.io/proxyImageType";
constexpr std::string_view merge_metrics_annotation = "prometheus.istio.io/merge-metrics";
constexpr std::string_view prometheus_scrapes_env = "ISTIO_PROMETHEUS_ANNOTATIONS";
constexpr std::string_view network_label = "topology.istio.io/network";
constexpr std::string_view proxy_config_annotation = "proxy.istio.io/config";

std::string_view trim_space(std::string_view s) noexcept {
  while (!s.empty() && std::strchr(" \t\n\r\v\f", s.front())) s.remove_prefix(1);
  while (!s.empty() && std::strchr(" \t\n\r\v\f", s.back())) s.remove_suffix(1);
  return s;
}

const core::config_node* node_at(const core::config_node& root, std::initializer_list<std::string_view> path) {
  const core::config_node* n = &root;
  for (std::string_view key : path) {
    n = n->type() == core::config_node::kind::map ? n->find(key) : nullptr;
    if (!n) return nullptr;
  }
  return n;
}

std::string_view text_at(const core::config_node& root, std::initializer_list<std::string_view> path) {
  const core::config_node* n = node_at(root, path);
  return n && !n->is_null() && n->type() != core::config_node::kind::map &&
                 n->type() != core::config_node::kind::list
             ? std::string_view(n->text())
             : std::string_view();
}

// Go's strconv.ParseBool.
bool go_parse_bool(std::string_view s, bool& out) noexcept {
  for (std::string_view t : {"1", "t", "T", "TRUE", "true", "True"})
    if (s == t) return out = true;
  for (std::string_view f : {"0", "f", "F", "FALSE", "false", "False"})
    if (s == f) return !(out = false);
  return false;
}

// strutil.SanitizeLabelName(key) == want: every byte outside [a-zA-Z0-9_] is '_'.
bool sanitized_is(std::string_view key, std::string_view want) noexcept {
  if (key.size() != want.size()) return false;
  for (std::size_t i = 0; i < key.size(); ++i) {
    const char c = key[i];
    const bool kept = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if ((kept ? c : '_') != want[i]) return false;
  }
  return true;
}

// --------------------------------------------------------------- json helpers

json::value* member(json::value* obj, std::string_view key) noexcept {
  return obj && obj->is_object() ? obj->find(key) : nullptr;
}

const json::value* member(const json::value* obj, std::string_view key) noexcept {
  return obj && obj->is_object() ? obj->find(key) : nullptr;
}

// obj[key] as an object, made when absent or null; nullptr when out of memory
// or when it holds something else.
json::value* object_member(json::value& obj, std::string_view key, core::arena& a) noexcept {
  json::value* slot = member(&obj, key);
  if (slot && slot->is_object()) return slot;
  if (slot && !slot->is_null()) return nullptr;
  if (obj.set(a, key, json::value::object(), &slot)) return nullptr;
  return slot;
}

std::string_view name_of(const json::value& container) noexcept {
  const json::value* n = container.find("name");
  return n && n->is_string() ? n->as_string() : std::string_view();
}

json::value* find_named(json::value* list, std::string_view name) noexcept {
  if (!list || !list->is_array()) return nullptr;
  for (json::value& item : list->items())
    if (name_of(item) == name) return &item;
  return nullptr;
}

json::value* spec_list(json::value& pod, std::string_view list) noexcept { return member(member(&pod, "spec"), list); }

// Istio's FindSidecar: istio-proxy in containers, else in initContainers.
json::value* find_sidecar(json::value& pod) noexcept {
  json::value* c = find_named(spec_list(pod, "containers"), proxy_container_name);
  return c ? c : find_named(spec_list(pod, "initContainers"), proxy_container_name);
}

bool copy_text(std::string_view s, core::arena& a, json::value& out) noexcept {
  return !json::value::string_copy(s, a, out);
}

bool set_text(json::value& obj, std::string_view key, std::string_view text, core::arena& a) noexcept {
  json::value v;
  bool ok = true;
  const std::string_view k = a.copy(key, ok);
  return ok && copy_text(text, a, v) && !obj.set(a, k, v);
}

bool append_env(json::value& container, std::string_view name, std::string_view text, core::arena& a) noexcept {
  json::value* env = member(&container, "env");
  if (!env || !env->is_array()) {
    if (container.set(a, "env", json::value::array(), &env)) return false;
  }
  json::value var = json::value::object();
  json::value value_text;
  bool ok = true;
  const std::string_view n = a.copy(name, ok);
  return ok && copy_text(text, a, value_text) && !var.append_member(a, "name", json::value::string(n)) &&
         !var.append_member(a, "value", value_text) && !env->push_back(a, var);
}

// modifyContainers(list, name, MoveFirst/MoveLast).
void move_named(json::value* list, std::string_view name, bool first) noexcept {
  if (!list || !list->is_array()) return;
  const std::span<json::value> items = list->items();
  const auto it = std::find_if(items.begin(), items.end(), [&](const json::value& c) { return name_of(c) == name; });
  if (it == items.end()) return;
  const json::value moved = *it;
  if (first) {
    std::move_backward(items.begin(), it, it + 1);
    items.front() = moved;
  } else {
    std::move(it + 1, items.end(), it);
    items.back() = moved;
  }
}

bool true_at(const core::config_node& root, std::initializer_list<std::string_view> path) {
  const core::config_node* n = node_at(root, path);
  return n && n->type() == core::config_node::kind::boolean && n->as_bool();
}

proxy_config_facts read_proxy_config_facts(const core::config_node& proxy_config) {
  proxy_config_facts f;
  if (const core::config_node* image = node_at(proxy_config, {"image"})) {
    f.has_image = true;
    f.image_type = text_at(*image, {"imageType"});
  }
  const core::config_node* mode = proxy_config.find("interceptionMode");
  f.tproxy_interception = mode && mode->text() == "TPROXY";
  f.hold_application = true_at(proxy_config, {"holdApplicationUntilProxyStarts"});
  return f;
}

// applyRewrite's settings: the values' switch and the mesh's status port.
probe_rewrite_settings probe_settings(const snapshot& snap) noexcept {
  probe_rewrite_settings s;
  s.enabled_by_values = true_at(snap.values(), {"sidecarInjectorWebhook", "rewriteAppHTTPProbe"});
  const core::config_node* port = node_at(snap.mesh().proxy_config(), {"statusPort"});
  if (port && port->type() == core::config_node::kind::integer) s.mesh_status_port = port->as_int();
  return s;
}

void read_snapshot_facts(const snapshot& snap, named_snapshot_facts& f) {
  const core::config_node& values = snap.values();
  f.variant = text_at(values, {"global", "variant"});
  f.hub = text_at(values, {"global", "hub"});
  f.tag = text_at(values, {"global", "tag"});
  f.proxy_image_name = text_at(values, {"global", "proxy", "image"});
  f.cluster_name = text_at(values, {"global", "multiCluster", "clusterName"});
  f.network = text_at(values, {"global", "network"});
  f.hold_application_by_values = true_at(values, {"global", "proxy", "holdApplicationUntilProxyStarts"});
  const core::config_node* merge = snap.mesh().root.find("enablePrometheusMerge");
  f.prometheus_merge = !(merge && merge->type() == core::config_node::kind::boolean) || merge->as_bool();
  const core::config_node* port = node_at(snap.mesh().proxy_config(), {"statusPort"});
  f.mesh_status_port = port ? std::string_view(port->text()) : std::string_view("15020");
  f.probes = probe_settings(snap);
  f.mesh_proxy_config = read_proxy_config_facts(snap.mesh().proxy_config());
}

// imageURL with updateImageTypeIfPresent: a known type suffix of the tag is
// replaced by the requested type ("default": none).
void write_image_url(std::string& out, std::string_view hub, std::string_view name, std::string_view tag,
                     std::string_view type) {
  out.assign(hub);
  out += '/';
  out.append(name);
  out += ':';
  if (!type.empty()) {
    for (std::string_view known : {"-distroless", "-debug"}) {
      if (tag.size() >= known.size() && tag.substr(tag.size() - known.size()) == known) {
        tag.remove_suffix(known.size());
        break;
      }
    }
  }
  out.append(tag);
  if (!type.empty() && type != "default") {
    out += '-';
    out.append(type);
  }
}

// GetDeployMetaFromPod: a generated pod's controller names its workload
// (ReplicaSet -> Deployment by the pod-template-hash suffix, Argo Rollouts,
// DeploymentConfig, Job -> CronJob by a -<8..10 digit> suffix); else the pod.
void derive_workload(const pod& p, workload_meta& w) {
  w.name = p.name;
  w.namespace_name = p.namespace_name;
  w.kind = "Pod";
  w.api_version = "v1";
  const auto controller = std::find_if(p.owners.begin(), p.owners.end(), [](const owner_reference& o) { return o.controller; });
  if (!p.generate_name.empty() && controller != p.owners.end()) {
    w.kind = controller->kind;
    w.api_version = controller->api_version;
    w.name = controller->name;
    auto label = [&](std::string_view key) {
      const core::label* l = p.label(key);
      return l ? l->value : std::string_view();
    };
    auto trimmed = [&](std::string_view hash) {
      return !hash.empty() && w.name.size() > hash.size() && w.name.substr(w.name.size() - hash.size()) == hash &&
             w.name[w.name.size() - hash.size() - 1] == '-';
    };
    const std::string_view hash = label("pod-template-hash"), rollout = label("rollouts-pod-template-hash");
    if (w.kind == "ReplicaSet" && trimmed(hash)) {
      w.name.remove_suffix(hash.size() + 1);
      w.kind = "Deployment";
    } else if (w.kind == "ReplicaSet" && trimmed(rollout)) {
      w.name.remove_suffix(rollout.size() + 1);
      w.kind = "Rollout";
      w.api_version = "v1alpha1";
    } else if (w.kind == "ReplicationController" && !label("deploymentconfig").empty()) {
      w.name = label("deploymentconfig");
      w.kind = "DeploymentConfig";
    } else if (w.kind == "Job") {
      std::size_t digits = 0;
      while (digits < w.name.size() && w.name[w.name.size() - 1 - digits] >= '0' && w.name[w.name.size() - 1 - digits] <= '9')
        ++digits;
      if (digits >= 8 && digits <= 10 && w.name.size() > digits + 1 && w.name[w.name.size() - digits - 1] == '-') {
        w.name.remove_suffix(digits + 1);
        w.kind = "CronJob";
        w.api_version = "batch/v1";
      }
    }
  }
  if (w.name.empty()) w.name = p.name;
  w.labels.clear();
  w.annotations.clear();
  w.has_labels = w.has_annotations = false;
}

// mesh.ApplyProxyConfig: the pod's proxy.istio.io/config (YAML or JSON of a
// ProxyConfig) over the mesh's defaultConfig. As protobuf's JSON decode into the
// message does, each field the annotation sets replaces the mesh's whole (a null
// sets nothing); proxyMetadata merges key by key, as Istio merges it by hand.
// Istio fails the injection when the annotation does not parse; so do we.
bool apply_pod_proxy_config(std::string_view text, const core::config_node& mesh_default, core::yaml::reader& reader,
                            core::config_node& out, std::string& error) {
  const bool parsed = reader.read(text);
  const core::yaml::node root = parsed ? reader.root() : core::yaml::node();
  if (!parsed || (root && !root.is_null() && !root.is_mapping())) {
    error = "could not parse proxy config (annotation proxy.istio.io/config): ";
    error += parsed ? std::string_view("not a mapping of ProxyConfig fields") : reader.error().message;
    return false;
  }
  out = mesh_default;
  if (!root || root.is_null()) return true;
  const core::config_node overlay = core::config_node::from_reader(root);
  for (const auto& [key, v] : overlay.members()) {
    if (v.is_null()) continue;
    const core::config_node* before = key == "proxyMetadata" ? out.find(key) : nullptr;
    if (before && before->type() == core::config_node::kind::map && v.type() == core::config_node::kind::map) {
      core::config_node metadata = *before;
      for (const auto& [name, value] : v.members()) metadata.set_member(name, value);
      out.set_member(key, std::move(metadata));
    } else {
      out.set_member(key, v);
    }
  }
  return true;
}

// The runAsUser a container's securityContext sets (Go's nil pointer: none).
const json::value* run_as_user(const json::value& container) noexcept {
  const json::value* user = member(member(&container, "securityContext"), "runAsUser");
  return user && user->is_integer() ? user : nullptr;
}

// The webhook on OpenShift (webhook.go, isSidecarUserMatchingAppUser):
// OpenShift gives every container of a pod the same runAsUser, and a proxy
// running as the app's user cannot tell its own traffic from the app's. When
// the user's istio-proxy has the runAsUser of the (last) app container that
// sets one, its runAsUser and runAsGroup are dropped from the pod as received,
// so the template's user stands; a different one the user chose is kept.
void reset_proxy_user_matching_app(json::value& pod) noexcept {
  json::value* sidecar = find_sidecar(pod);
  json::value* context = member(sidecar, "securityContext");
  if (!context || !context->is_object()) return;
  std::int64_t proxy_user = 0, app_user = 0;
  for (std::string_view list : {"containers", "initContainers"}) {
    json::value* containers = spec_list(pod, list);
    if (!containers || !containers->is_array()) continue;
    for (const json::value& c : containers->items()) {
      const std::string_view name = name_of(c);
      const json::value* user = run_as_user(c);
      if (!user) continue;
      if (name == proxy_container_name) proxy_user = user->as_integer();
      else if (name != "istio-validation" && name != "istio-init") app_user = user->as_integer();
    }
  }
  if (proxy_user != app_user) return;
  context->erase("runAsUser");
  context->erase("runAsGroup");
}

// Parts of a pod that Istio's steps after the merge never write, and that are
// often most of a review (the apiserver's managedFields): the pod the merge
// starts from shares them with the pod as received, so the diff passes them in
// O(1) (json_differ skips shared storage). A render that writes one of them
// gets its own copy first (unshare_written).
constexpr std::string_view shared_status = "status";
constexpr std::string_view shared_managed_fields = "managedFields";

// The shared parts are not even converted into the pod's tree when no render
// can reach them: both trees lack them alike, so the diff is the same.
constexpr json::omitted_member unread_by_merge[] = {{{}, shared_status}, {"metadata", shared_managed_fields}};

bool is_directive(std::string_view key) noexcept { return !key.empty() && key.front() == '$'; }

// Whether merging `rendered` can change (or delete, or replace along with its
// parent) a part unread_by_merge leaves out: then the pod is converted whole.
bool reaches_unread_parts(const json::value& rendered) noexcept {
  if (!rendered.is_object()) return true;
  for (const json::member& m : rendered.members()) {
    if (m.key == shared_status || is_directive(m.key)) return true;
    if (m.key != "metadata") continue;
    if (!m.v.is_object()) return true;
    for (const json::member& field : m.v.members())
      if (field.key == shared_managed_fields || is_directive(field.key)) return true;
  }
  return false;
}

// The pod the merge starts from: `original` with storage of its own at the top
// and in metadata and spec, every other subtree shared with it. What the merge
// and the steps after it write into gets storage of its own first
// (own_merged_into, own_written_parts); the rest stays shared, and the diff
// passes it in O(1) (json_differ skips shared storage).
json::error copy_for_merge(const json::value& original, json::value& out, core::arena& a) noexcept {
  if (!original.is_object()) return json::deep_copy(original, a, out);
  if (json::error e = json::value::shallow_copy(original, a, out)) return e;
  for (json::member& m : out.members())
    if ((m.key == "metadata" || m.key == "spec") && m.v.is_object())
      if (json::error e = json::value::shallow_copy(m.v, a, m.v)) return e;
  return {};
}

// Before `rendered` is merged into `pod`: the shared parts it writes become the
// pod's own, so the merge cannot reach the pod as received.
json::error unshare_written(const json::value& rendered, json::value& pod, core::arena& a) noexcept {
  auto own = [&](json::value* slot) noexcept {
    json::value copy;
    if (slot == nullptr) return json::error{};
    if (json::error e = json::deep_copy(*slot, a, copy)) return e;
    *slot = copy;
    return json::error{};
  };
  if (member(&rendered, shared_status))
    if (json::error e = own(member(&pod, shared_status))) return e;
  if (member(member(&rendered, "metadata"), shared_managed_fields))
    return own(member(member(&pod, "metadata"), shared_managed_fields));
  return {};
}

// `slot` with storage of its own, one level deep (its children still shared).
json::error own_shallow(json::value* slot, core::arena& a) noexcept {
  if (slot == nullptr || (!slot->is_object() && !slot->is_array())) return {};
  json::value own;
  if (json::error e = json::value::shallow_copy(*slot, a, own)) return e;
  *slot = own;
  return {};
}

json::error own_deep(json::value& slot, core::arena& a) noexcept {
  json::value own;
  if (json::error e = json::deep_copy(slot, a, own)) return e;
  slot = own;
  return {};
}

json::error own_merged_items(json::value& target, const json::value& patch, const smp::field_meta& f,
                             core::arena& a, std::size_t depth) noexcept;

// Before `rendered` is merged into `pod` (smp::merge): every node of `pod` the
// merge writes into gets storage of its own, the way the merge walks them: an
// object it merges a patch object into, a list it merges a list into, and a
// list item it merges an item of the same merge key into. Whatever the merge
// only links or replaces is written in its (owned) parent.
json::error own_merged_into(json::value& target, const json::value& patch, const smp::type_meta* type,
                            core::arena& a, std::size_t depth) noexcept {
  if (!target.is_object() || !patch.is_object() || depth > json::max_depth) return {};
  for (const json::member& m : patch.members()) {
    std::string_view key = m.key;
    if (is_directive(key)) {
      // $deleteFromPrimitiveList/<list> removes from the target's list.
      const std::size_t slash = key.find('/');
      if (slash == std::string_view::npos) continue;
      if (json::error e = own_shallow(target.find(key.substr(slash + 1)), a)) return e;
      continue;
    }
    // A scalar (or null) replaces or removes a member of `target`, owned already.
    if (!m.v.is_object() && !m.v.is_array()) continue;
    json::value* existing = target.find(key);
    if (existing == nullptr || existing->type() != m.v.type()) continue;
    const smp::field_meta* f = smp::lookup(type, key);
    if (m.v.is_object()) {
      if (json::error e = own_shallow(existing, a)) return e;
      if (json::error e = own_merged_into(*existing, m.v, f != nullptr ? f->type : nullptr, a, depth + 1)) return e;
    } else if (m.v.is_array() && f != nullptr && f->strategy == smp::list_strategy::merge) {
      if (json::error e = own_shallow(existing, a)) return e;
      if (f->merge_key.empty()) continue;
      if (json::error e = own_merged_items(*existing, m.v, *f, a, depth)) return e;
    }
  }
  return {};
}

// own_merged_into for a merge-keyed list: each item of `target` with the merge
// key's value of an item of `patch` gets storage of its own and is walked with
// it. The target items' keys are looked up once, not once per patch item (a
// render's nine volumes against the pod's); past keyed_items_max items, per
// patch item as before. A key viewed in an item that has since been copied is
// still that item's key: the copy shares it, and nothing writes the original.
constexpr std::size_t keyed_items_max = 32;

json::error own_merged_items(json::value& target, const json::value& patch, const smp::field_meta& f,
                             core::arena& a, std::size_t depth) noexcept {
  const std::span<json::value> items = target.items();
  std::array<const json::value*, keyed_items_max> keys;
  const std::size_t keyed = std::min(items.size(), keys.size());
  for (std::size_t j = 0; j < keyed; ++j) keys[j] = items[j].is_object() ? items[j].find(f.merge_key) : nullptr;
  for (const json::value& p : patch.items()) {
    const json::value* k = p.is_object() ? p.find(f.merge_key) : nullptr;
    if (k == nullptr) continue;
    for (std::size_t j = 0; j < items.size(); ++j) {
      json::value& item = items[j];
      const json::value* ik = j < keyed ? keys[j] : item.is_object() ? item.find(f.merge_key) : nullptr;
      if (ik == nullptr || !json::equal(*ik, *k)) continue;
      if (json::error e = own_shallow(&item, a)) return e;
      if (json::error e = own_merged_into(item, p, f.type, a, depth + 1)) return e;
    }
  }
  return {};
}

// The pod's container and init container lists (either may be absent), looked
// up once for every name asked about.
class declared_containers {
 public:
  declared_containers() noexcept = default;
  explicit declared_containers(const json::value& pod) noexcept {
    const json::value* spec = member(&pod, "spec");
    lists_[0] = member(spec, "containers");
    lists_[1] = member(spec, "initContainers");
  }
  // A container or init container of the pod is named `name`.
  bool has(std::string_view name) const noexcept {
    for (const json::value* items : lists_)
      if (items && items->is_array() && find_named(const_cast<json::value*>(items), name)) return true;
    return false;
  }

 private:
  const json::value* lists_[2] = {};
};

// After a render whose plain subtrees are a kept skeleton's storage was merged
// into `merged` (instantiate_rendered_pod's share_plain): every node the steps
// after the merge write into gets storage of its own first, so nothing reaches
// the skeleton. Those steps write:
// - metadata's labels and annotations (members set and erased), spec's
//   container lists (items replaced and reordered: the probe rewrite replaces
//   an app container by an edited copy instead of writing into it);
// - the proxy container (istio-proxy, in either list) and its env (entries
//   appended, erased and replaced);
// - reapply_overwritten_containers merges the user's container into an injected
//   one of the same name (the pod's, or one the overrides annotation lists), and
//   adjust_init_container_user writes the init containers and the proxy when the
//   user declares istio-proxy (`user_proxy`): then every container of the lists
//   is copied whole.
json::error own_written_parts(json::value& merged, const json::value& original, const declared_containers& declared,
                              const json::value& template_pod, bool user_proxy, core::arena& a) noexcept {
  json::value* meta = member(&merged, "metadata");
  if (json::error e = own_shallow(meta, a)) return e;
  if (json::error e = own_shallow(member(meta, "labels"), a)) return e;
  if (json::error e = own_shallow(member(meta, "annotations"), a)) return e;
  json::value* spec = member(&merged, "spec");
  if (json::error e = own_shallow(spec, a)) return e;
  bool whole = user_proxy ||
               member(member(member(&original, "metadata"), "annotations"), overrides_annotation) != nullptr;
  const json::value* injected_spec = member(&template_pod, "spec");
  for (std::string_view list : {"containers", "initContainers"}) {
    const json::value* injected = member(injected_spec, list);
    if (whole || !injected || !injected->is_array()) continue;
    for (const json::value& c : injected->items())
      if (declared.has(name_of(c))) whole = true;
  }
  for (std::string_view list : {"containers", "initContainers"}) {
    json::value* items = member(spec, list);
    if (!items || !items->is_array()) continue;
    if (json::error e = own_shallow(items, a)) return e;
    for (json::value& c : items->items()) {
      if (!c.is_object()) continue;
      if (whole) {
        if (json::error e = own_deep(c, a)) return e;
      } else if (name_of(c) == proxy_container_name) {
        if (json::error e = own_shallow(&c, a)) return e;
        if (json::error e = own_shallow(member(&c, "env"), a)) return e;
      }
    }
  }
  return {};
}

}  // namespace

// inject.istio.io/templates, else defaultTemplates; each through `aliases`.
bool engine::select_named_templates(const pod& p, outcome& kind) {
  named_->selected.clear();
  const snapshot& snap = *snapshot_;
  auto add_one = [&](std::string_view name) {
    const named_program* t = snap.find_named(name);
    if (!t) {
      kind = outcome::failed;
      message_ = "requested template \"" + std::string(name) + "\" not found; have ";
      for (const named_program& n : snap.named_programs())
        message_ += (&n == &snap.named_programs().front() ? "" : ", ") + n.name;
      return false;
    }
    if (t->gateway_controller) {
      kind = outcome::rejected;
      message_ = "template \"" + t->name +
                 "\" renders a gateway Deployment and Service for Istio's gateway controller; it cannot be "
                 "injected into a pod (inject.istio.io/templates)";
      return false;
    }
    named_->selected.push_back(t);
    return true;
  };
  auto add = [&](std::string_view name) {
    for (const core::template_alias& alias : snap.config().aliases) {
      if (alias.name != name) continue;
      for (const std::string& t : alias.templates)
        if (!add_one(t)) return false;
      return true;
    }
    return add_one(name);
  };
  if (const core::label* chosen = p.annotation(templates_annotation)) {
    std::string_view rest = chosen->value;
    for (;;) {
      const std::size_t comma = rest.find(',');
      if (!add(trim_space(rest.substr(0, comma)))) return false;
      if (comma == std::string_view::npos) return true;
      rest.remove_prefix(comma + 1);
    }
  }
  for (const std::string& name : snap.config().default_templates)
    if (!add(name)) return false;
  return true;
}

template_data engine::named_data_for(const pod& view, const workload_meta* deployment) {
  const snapshot& snap = *snapshot_;
  named_workspace& w = *named_;
  template_data d = snap.named_settings();
  d.p = &view;
  derive_workload(view, w.owner);
  if (deployment) {
    w.owner.name = deployment->name;
    w.owner.namespace_name = deployment->namespace_name;
    if (!deployment->kind.empty()) w.owner.kind = deployment->kind;
    if (!deployment->api_version.empty()) w.owner.api_version = deployment->api_version;
  }
  d.deployment = &w.owner;
  d.proxy_config = w.proxy_config;
  d.type_kind = w.owner.kind;
  d.type_api_version = w.owner.api_version;
  const named_snapshot_facts& f = w.facts;
  std::string_view image_type = w.proxy_facts->has_image ? w.proxy_facts->image_type : f.variant;
  if (const core::label* t = view.annotation(proxy_image_type_annotation)) image_type = t->value;
  write_image_url(w.proxy_image, f.hub, f.proxy_image_name.empty() ? "proxyv2" : f.proxy_image_name, f.tag,
                  image_type);
  d.proxy_image = w.proxy_image;
  return d;
}

// The pod's .ProxyConfig for its proxy.istio.io/config text, into the workspace:
// kept from an earlier pod of this core with the same text, else merged now and
// kept. False (message_ set) when the annotation does not parse; a failure is not kept.
bool engine::use_pod_proxy_config(std::string_view annotation) {
  named_workspace& w = *named_;
  auto use = [&w](const named_workspace::pod_proxy_config& kept) {
    w.proxy_config = &kept.merged;
    w.proxy_facts = &kept.facts;
    return true;
  };
  for (const auto& kept : w.pod_proxy_configs)
    if (kept.annotation == annotation) return use(kept);
  core::config_node merged;
  if (!apply_pod_proxy_config(annotation, snapshot_->mesh().proxy_config(), w.yaml.reader, merged, message_))
    return false;
  proxy_config_facts facts = read_proxy_config_facts(merged);
  named_workspace::pod_proxy_config entry{std::string(annotation), std::move(merged), std::move(facts)};
  if (w.pod_proxy_configs.size() < named_workspace::max_pod_proxy_configs) {
    w.pod_proxy_configs.push_back(std::move(entry));
    return use(w.pod_proxy_configs.back());
  }
  auto& slot = w.pod_proxy_configs[w.next_replaced];
  w.next_replaced = (w.next_replaced + 1) % named_workspace::max_pod_proxy_configs;
  slot = std::move(entry);
  return use(slot);
}

// The template's tree for this pod: from the memo when this core has read the
// render of the same trace before, else rendered, read and kept. `rendered_now`
// tells the request that it rendered.
bool engine::render_named(const named_program& t, const template_data& data, json::value& out, bool& rendered_now,
                          bool share_plain) {
  named_workspace& w = *named_;
  const tmpl::value root = template_root(data);
  if (!t.program->trace(root, trace_)) {
    message_ = "template " + t.name + ": " + trace_.error;
    return false;
  }
  const rendered_skeleton* kept = w.memo.find(t.program.get(), trace_.trace);
  if (!kept) {
    rendered_now = true;
    if (!t.program->render(root, trace_.trace, w.rendered, error_)) {
      message_ = "template " + t.name + ": " + error_;
      return false;
    }
    auto skeleton = std::make_unique<rendered_skeleton>();
    if (read_rendered_skeleton(w.rendered.text, w.rendered.holes, w.yaml, *skeleton))
      kept = w.memo.insert(t.program.get(), trace_.trace, std::move(skeleton));
  }
  if (kept ? !instantiate_rendered_pod(*kept, trace_.holes, w.yaml, w.arena, out, error_, share_plain)
           : !read_rendered_pod(w.rendered.text, trace_.holes, w.rendered.holes, w.yaml, w.arena, out, error_)) {
    message_ = "template " + t.name + ": " + error_;
    return false;
  }
  return true;
}

bool engine::build_named_patch(const pod& p, const workload_meta* deployment, std::span<const env_pair> path_env,
                               injection_result& r) {
  named_workspace& w = *named_;
  w.arena.reset();
  w.memo.start_request();
  stats_.named_renders.inc();
  outcome kind = outcome::failed;
  if (!select_named_templates(p, kind)) return fail(r, kind);
  for (auto& names : removed_.by_list) names.clear();
  if (const core::label* st = p.annotation(status_annotation)) read_status_names(st->value);
  if (w.facts_of != snapshot_.get()) {
    read_snapshot_facts(*snapshot_, w.facts);
    w.facts_of = snapshot_.get();
  }
  w.proxy_config = &snapshot_->mesh().proxy_config();
  w.proxy_facts = &w.facts.mesh_proxy_config;
  if (const core::label* pc = p.annotation(proxy_config_annotation))
    if (!use_pod_proxy_config(pc->value)) return fail(r, outcome::failed);
  const template_data data = named_data_for(pod_after_removals(p), deployment);

  json::value original, merged, template_pod;
  json::error e;
  bool rendered_now = false;
  // One template: its render's plain subtrees are the kept skeleton's own
  // storage, and what the steps after the merge write is owned first
  // (own_written_parts). A second render would merge into the first's.
  const bool share_plain = w.selected.size() == 1;
  bool user_proxy = false;  // the pod declares istio-proxy
  declared_containers declared;  // the pod's container lists, as received
  // First without the parts no render usually reaches; a render that reaches
  // one starts the merge over from the whole pod (the renders come from the
  // memo the second time; what the first pass built is left to the arena).
  for (const bool lean : {true, false}) {
    original = json::value();
    merged = json::value();
    template_pod = json::value::object();
    e = lean ? json::from_simdjson(p.object, w.arena, original, json::strings::borrow, unread_by_merge,
                                   p.keys_unique_as_read)
             : json::from_simdjson(p.object, w.arena, original);
    // An OpenShift UID range is how the webhook knows it runs on OpenShift.
    if (!e && serving_review_ && snapshot_->named_settings().has_proxy_ids) reset_proxy_user_matching_app(original);
    if (!e) e = copy_for_merge(original, merged, w.arena);
    declared = declared_containers(original);
    user_proxy = !e && declared.has(proxy_container_name);
    bool start_over = false;
    for (const named_program* t : w.selected) {
      if (e) break;
      json::value rendered;
      const bool ok = render_named(*t, data, rendered, rendered_now, share_plain);
      if (!ok) {
        if (rendered_now) stats_.uncached_renders.inc();
        return fail(r, outcome::failed);
      }
      if (lean && reaches_unread_parts(rendered)) {
        start_over = true;
        break;
      }
      // `rendered` is this request's tree and is not read again: the pod links it.
      e = unshare_written(rendered, merged, w.arena);
      if (!e) e = own_merged_into(merged, rendered, &smp::pod(), w.arena, 0);
      // A user's istio-proxy may move between the lists first (native sidecars),
      // to meet the injected one there: the user's containers are copied whole.
      for (std::string_view list : {"containers", "initContainers"}) {
        json::value* items = member(member(&merged, "spec"), list);
        if (!e) e = own_shallow(items, w.arena);
        if (!e && user_proxy && items && items->is_array())
          for (json::value& c : items->items())
            if (!e) e = own_deep(c, w.arena);
      }
      if (!e)
        e = w.overlay.apply_template(merged, template_pod, rendered, data.native_sidecars, w.arena, render_use::link);
    }
    if (!start_over) break;
  }
  if (rendered_now) stats_.uncached_renders.inc();
  if (!e) e = own_written_parts(merged, original, declared, template_pod, user_proxy, w.arena);
  const reapply_options options{.tproxy_interception = w.proxy_facts->tproxy_interception};
  if (!e) e = w.overlay.reapply_overwritten_containers(merged, original, template_pod, options, w.arena);
  if (!e) e = post_process_named(merged, template_pod, p, path_env);
  patch_.clear();
  if (!e) e = w.differ.diff(original, merged, &smp::pod(), w.arena, patch_);
  if (e) {
    message_ = "failed to inject the rendered templates: ";
    message_ += e.message;
    return fail(r, outcome::failed);
  }
  r.patch = patch_;
  r.kind = outcome::injected;
  return true;
}

// ------------------------------------------------------------ postProcessPod

namespace {

// The sidecar.istio.io/status value 1.28 writes: the names the templates
// injected, per list (null when none), and the revision.
void write_status(std::string& out, const json::value& template_pod, std::string_view revision) {
  out = "{";
  const json::value* spec = template_pod.find("spec");
  for (std::string_view list : {"initContainers", "containers", "volumes", "imagePullSecrets"}) {
    if (out.size() > 1) out += ',';
    out += '"';
    out += list;
    out += "\":";
    const json::value* items = spec && spec->is_object() ? spec->find(list) : nullptr;
    if (!items || !items->is_array() || items->empty()) {
      out += "null";
      continue;
    }
    out += '[';
    bool first = true;
    for (const json::value& item : items->items()) {
      if (!first) out += ',';
      first = false;
      append_json_string(out, name_of(item));
    }
    out += ']';
  }
  out += ",\"revision\":";
  append_json_string(out, revision.empty() ? std::string_view("default") : revision);
  out += '}';
}

// applyPrometheusMerge: the app's prometheus.io annotations move into the
// proxy's environment and point at the agent's merged-metrics port.
bool merge_prometheus(json::value& pod, const named_snapshot_facts& facts, std::string& text, core::arena& a) {
  json::value* meta = object_member(pod, "metadata", a);
  json::value* annotations = meta ? object_member(*meta, "annotations", a) : nullptr;
  if (!annotations) return false;
  bool scrape = true, merge = true, parsed = false;
  for (const json::member& m : annotations->members())
    if (!parsed && sanitized_is(m.key, "prometheus_io_scrape") && m.v.is_string())
      parsed = go_parse_bool(m.v.as_string(), scrape);
  merge = facts.prometheus_merge;
  if (const json::value* m = annotations->find(merge_metrics_annotation); m && m->is_string()) {
    bool b = false;
    if (go_parse_bool(m->as_string(), b)) merge = b;
  }
  if (!scrape || !merge) return true;
  const std::string_view target = facts.mesh_status_port;
  std::string_view cur_port, cur_path, cur_scrape;
  for (const json::member& m : annotations->members()) {
    if (!m.v.is_string()) continue;
    if (sanitized_is(m.key, "prometheus_io_port")) cur_port = m.v.as_string();
    else if (sanitized_is(m.key, "prometheus_io_path")) cur_path = m.v.as_string();
    else if (sanitized_is(m.key, "prometheus_io_scrape")) cur_scrape = m.v.as_string();
  }
  if (!cur_port.empty() && cur_port == target) return true;
  json::value* sidecar = find_sidecar(pod);
  if (sidecar && (!cur_port.empty() || !cur_path.empty() || !cur_scrape.empty())) {
    text = "{";
    for (auto [key, v] : {std::pair{"scrape", cur_scrape}, std::pair{"path", cur_path}, std::pair{"port", cur_port}}) {
      if (v.empty()) continue;
      if (text.size() > 1) text += ',';
      append_json_string(text, key);
      text += ':';
      append_json_string(text, v);
    }
    text += '}';
    if (!append_env(*sidecar, prometheus_scrapes_env, text, a)) return false;
  }
  for (std::size_t i = annotations->size(); i-- > 0;) {
    const std::string_view key = annotations->members()[i].key;
    if (sanitized_is(key, "prometheus_io_port") || sanitized_is(key, "prometheus_io_path") ||
        sanitized_is(key, "prometheus_io_scrape"))
      annotations->erase(key);
  }
  return set_text(*annotations, "prometheus.io/port", target, a) &&
         set_text(*annotations, "prometheus.io/path", "/stats/prometheus", a) &&
         set_text(*annotations, "prometheus.io/scrape", "true", a);
}

// reorderPod: the proxy last among containers (first when the app waits for
// it); with native sidecars, istio-init, istio-validation, istio-proxy and
// enable-core-dump lead the init containers; otherwise istio-validation leads
// and istio-init, enable-core-dump come last.
void reorder_pod(json::value& pod, bool hold_application) {
  move_named(spec_list(pod, "containers"), proxy_container_name, hold_application);
  json::value* init = spec_list(pod, "initContainers");
  if (find_named(init, proxy_container_name)) {
    for (std::string_view name : {"enable-core-dump", "istio-proxy", "istio-validation", "istio-init"})
      move_named(init, name, true);
  } else {
    move_named(init, "istio-validation", true);
    move_named(init, "istio-init", false);
    move_named(init, "enable-core-dump", false);
  }
}

// overwriteClusterInfo: the cluster and network the webhook path names (or
// values.global names) replace the proxy's env entries of those names, at the end.
bool overwrite_cluster_info(json::value& pod, std::span<const env_pair> proxy_envs, core::arena& a) {
  json::value* sidecar = find_sidecar(pod);
  if (!sidecar || proxy_envs.empty()) return true;
  json::value* env = member(sidecar, "env");
  if (env && env->is_array()) {
    for (std::size_t i = env->size(); i-- > 0;) {
      const std::string_view name = name_of(env->items()[i]);
      if (std::any_of(proxy_envs.begin(), proxy_envs.end(), [&](const env_pair& e) { return e.name == name; }))
        env->erase(i);
    }
  }
  for (const env_pair& e : proxy_envs)
    if (!append_env(*sidecar, e.name, e.value, a)) return false;
  return true;
}

}  // namespace

core::json::error engine::post_process_named(json::value& merged, const json::value& template_pod, const pod& p,
                                std::span<const env_pair> path_env) {
  constexpr json::error oom{json::errc::out_of_memory, "out of memory"};
  named_workspace& w = *named_;
  const snapshot& snap = *snapshot_;
  // extractClusterAndNetwork: values.global, then the webhook path, then the pod's network label.
  std::array<env_pair, 2> cluster_env;
  std::size_t cluster_count = 0;
  auto put = [&](std::string_view name, std::string_view v) {
    if (v.empty()) return;
    for (std::size_t i = 0; i < cluster_count; ++i)
      if (cluster_env[i].name == name) return void(cluster_env[i].value = v);
    cluster_env[cluster_count++] = {name, v};
  };
  put("ISTIO_META_CLUSTER_ID", w.facts.cluster_name);
  put("ISTIO_META_NETWORK", w.facts.network);
  for (const env_pair& e : path_env)
    if (e.name == "ISTIO_META_CLUSTER_ID" || e.name == "ISTIO_META_NETWORK") put(e.name, e.value);
  if (const core::label* n = p.label(network_label)) put("ISTIO_META_NETWORK", n->value);
  // Go ranges the sorted keys: CLUSTER_ID before NETWORK, as put() keeps them.
  if (!overwrite_cluster_info(merged, {cluster_env.data(), cluster_count}, w.arena)) return oom;
  if (!merge_prometheus(merged, w.facts, w.text, w.arena)) return oom;
  if (json::error e = w.probes.apply(merged, w.facts.probes, w.arena)) return e;

  json::value* meta = object_member(merged, "metadata", w.arena);
  json::value* labels = meta ? object_member(*meta, "labels", w.arena) : nullptr;
  json::value* annotations = meta ? object_member(*meta, "annotations", w.arena) : nullptr;
  if (!labels || !annotations) return oom;
  for (std::size_t i = 0; i < cluster_count; ++i)
    if (cluster_env[i].name == "ISTIO_META_NETWORK" && !set_text(*labels, network_label, cluster_env[i].value, w.arena))
      return oom;
  write_status(w.text, template_pod, snap.named_settings().revision);
  if (!set_text(*annotations, status_annotation, w.text, w.arena)) return oom;
  for (const auto& [key, v] : snap.config().injected_annotations)
    if (!set_text(*annotations, key, v, w.arena)) return oom;

  reorder_pod(merged, w.proxy_facts->hold_application || w.facts.hold_application_by_values);
  return {};
}

}  // namespace meshinject::patch
