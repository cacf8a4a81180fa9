// engine::build_patch and its steps: from a pod the decision says to inject and
// the variant its trace selects, the JSON Patch that injects it. Request path.

#include <algorithm>
#include <array>

#include "core/json_text.hpp"
#include "patch/annotations.hpp"
#include "patch/injector.hpp"
#include "patch/json_patch_writer.hpp"
#include "patch/json_text.hpp"

namespace meshinject::patch {
namespace {

constexpr std::string_view status_annotation = "sidecar.istio.io/status";
constexpr std::string_view rewrite_annotation = "sidecar.istio.io/rewriteAppHTTPProbers";
constexpr std::string_view proxy_name = "istio-proxy";
constexpr std::string_view sa_mount_path = "/var/run/secrets/kubernetes.io/serviceaccount";

// The status annotation's keys and the pod's JSON paths, in injected_list order.
constexpr std::array<std::string_view, injected_list_count> status_keys = {"initContainers", "containers", "volumes",
                                                                           "imagePullSecrets"};
constexpr std::array<std::string_view, injected_list_count> pod_paths = {"/spec/initContainers", "/spec/containers",
                                                                         "/spec/volumes", "/spec/imagePullSecrets"};
constexpr std::array<injected_list, injected_list_count> all_lists = {
    injected_list::init_containers, injected_list::containers, injected_list::volumes,
    injected_list::image_pull_secrets};

// Legacy injections carried no status JSON; Istio then removes these names.
constexpr std::string_view legacy_init[] = {"istio-init", "enable-core-dump"};
constexpr std::string_view legacy_containers[] = {"istio-proxy"};
constexpr std::string_view legacy_volumes[] = {"istio-certs", "istio-envoy"};

// A status-port or concurrency flag above this is not a number we act on.
constexpr std::int64_t flag_value_limit = 1'000'000;

constexpr std::size_t index_of(injected_list l) noexcept { return static_cast<std::size_t>(l); }

bool contains_name(std::span<const std::string_view> names, std::string_view n) {
  return std::find(names.begin(), names.end(), n) != names.end();
}

std::span<const sidecar_item> items_of(const sidecar_variant& v, injected_list l) noexcept {
  switch (l) {
    case injected_list::init_containers: return v.init_containers();
    case injected_list::containers: return v.containers();
    case injected_list::volumes: return v.volumes();
    case injected_list::image_pull_secrets: return v.image_pull_secrets();
  }
  return v.containers();
}

// The pod's names in one list, and whether the pod has that list at all.
std::size_t pod_list_size(const pod& p, injected_list l) noexcept {
  switch (l) {
    case injected_list::init_containers: return p.init_containers.size();
    case injected_list::containers: return p.containers.size();
    case injected_list::volumes: return p.volume_names.size();
    case injected_list::image_pull_secrets: return p.image_pull_secret_names.size();
  }
  return 0;
}

std::string_view pod_name_at(const pod& p, injected_list l, std::size_t i) noexcept {
  switch (l) {
    case injected_list::init_containers: return p.init_containers[i].name;
    case injected_list::containers: return p.containers[i].name;
    case injected_list::volumes: return p.volume_names[i];
    case injected_list::image_pull_secrets: return p.image_pull_secret_names[i];
  }
  return {};
}

// RFC 6901: '~' -> "~0", '/' -> "~1".
void append_pointer_token(std::string& out, std::string_view s) {
  for (char c : s) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out += c;
  }
}

// Decimal digits only, at most flag_value_limit (a flag's argument in the proxy's args).
bool parse_flag_number(std::string_view s, std::int64_t& out) noexcept {
  if (s.empty()) return false;
  std::int64_t n = 0;
  for (char c : s) {
    if (c < '0' || c > '9' || n > flag_value_limit) return false;
    n = n * 10 + (c - '0');
  }
  out = n;
  return true;
}

void write_env_entry(std::string& out, std::string_view name, std::string_view value) {
  out += "{\"name\":";
  append_json_string(out, name);
  out += ",\"value\":";
  append_json_string(out, value);
  out += '}';
}

}  // namespace

// What one request adds to the proxy container, written where the variant's
// insert points are.
struct engine::request_context {
  std::string_view probers;  // ISTIO_KUBE_APP_PROBERS, empty: none
  bool has_probers = false;
  std::span<const env_pair> path_env;
  const volume_mount* sa_mount = nullptr;
  std::int64_t concurrency = 0;  // > 0: append --concurrency N
};

struct engine::patch_inputs {
  const pod& p;
  const sidecar_variant& v;
  std::span<const tmpl::value> holes;
};

namespace {

void write_proxy_env_entries(const engine::request_context& c, bool preceded, std::string& out) {
  bool any = false;
  if (c.has_probers) {
    if (preceded || any) out += ',';
    write_env_entry(out, "ISTIO_KUBE_APP_PROBERS", c.probers);
    any = true;
  }
  for (const env_pair& e : c.path_env) {
    if (preceded || any) out += ',';
    write_env_entry(out, e.name, e.value);
    any = true;
  }
}

void write_concurrency_args(std::int64_t concurrency, std::string& out) {
  out += "\"--concurrency\",\"";
  append_int(out, concurrency);
  out += '"';
}

// emit_fragment's insert_writer for the proxy container.
void write_proxy_insert(void* raw, insert_point point, bool preceded, std::string& out) {
  const auto& c = *static_cast<const engine::request_context*>(raw);
  switch (point) {
    case insert_point::env_items: write_proxy_env_entries(c, preceded, out); break;
    case insert_point::env_member:
      if (c.has_probers || !c.path_env.empty()) {
        if (preceded) out += ',';
        out += "\"env\":[";
        write_proxy_env_entries(c, false, out);
        out += ']';
      }
      break;
    case insert_point::mounts_items:
      if (c.sa_mount) {
        if (preceded) out += ',';
        write_json(c.sa_mount->raw, out);
      }
      break;
    case insert_point::mounts_member:
      if (c.sa_mount) {
        if (preceded) out += ',';
        out += "\"volumeMounts\":[";
        write_json(c.sa_mount->raw, out);
        out += ']';
      }
      break;
    case insert_point::args_items:
      if (c.concurrency > 0) {
        if (preceded) out += ',';
        write_concurrency_args(c.concurrency, out);
      }
      break;
    case insert_point::args_member:
      if (c.concurrency > 0) {
        if (preceded) out += ',';
        out += "\"args\":[";
        write_concurrency_args(c.concurrency, out);
        out += ']';
      }
      break;
  }
}

// One HTTP probe of an app container, as the proxy will serve it.
struct app_prober {
  std::string_view name;
  bool readiness;
  const container* c;
};

// Keys are /app-health/<name>/<kind>: order them the way the full keys compare.
bool prober_key_less(const app_prober& a, const app_prober& b) {
  if (a.name != b.name) {
    const std::size_t m = std::min(a.name.size(), b.name.size());
    const int c = a.name.substr(0, m).compare(b.name.substr(0, m));
    if (c != 0) return c < 0;
    const char ca = a.name.size() > m ? a.name[m] : '/';
    const char cb = b.name.size() > m ? b.name[m] : '/';
    return ca < cb;
  }
  return !a.readiness && b.readiness;  // "livez" < "readyz"
}

// The probe's port as a number; a named port resolves through the container's
// declared ports. False: the container does not declare it.
bool prober_port(const pod& p, const app_prober& pr, simdjson::dom::object probe, std::int64_t& port) {
  simdjson::dom::element pe;
  if (probe.at_key("port").get(pe)) return false;
  if (!pe.get_int64().get(port)) return true;
  std::string_view named;
  if (pe.get_string().get(named)) return false;
  bool found = false;
  for (std::uint32_t q = pr.c->ports_begin; q < pr.c->ports_end; ++q)
    if (!p.ports[q].name.empty() && p.ports[q].name == named) {
      port = p.ports[q].container_port;
      found = true;
    }
  return found;
}

// One member of ISTIO_KUBE_APP_PROBERS: "/app-health/<name>/<kind>":{path, port, host, scheme, httpHeaders}.
void write_app_prober(const app_prober& pr, simdjson::dom::object probe, std::int64_t port, std::string& out) {
  out += "\"/app-health/";
  append_json_escaped(out, pr.name);
  out += pr.readiness ? "/readyz\":{" : "/livez\":{";
  bool first_member = true;
  auto member = [&](std::string_view key) {
    if (!first_member) out += ',';
    first_member = false;
    out += '"';
    out += key;
    out += "\":";
  };
  std::string_view s;
  if (!probe.at_key("path").get_string().get(s) && !s.empty()) {
    member("path");
    append_json_string(out, s);
  }
  member("port");
  append_int(out, port);
  if (!probe.at_key("host").get_string().get(s) && !s.empty()) {
    member("host");
    append_json_string(out, s);
  }
  if (!probe.at_key("scheme").get_string().get(s) && !s.empty()) {
    member("scheme");
    append_json_string(out, s);
  }
  simdjson::dom::element headers;
  if (!probe.at_key("httpHeaders").get(headers) && headers.is_array()) {
    member("httpHeaders");
    write_json(headers, out);
  }
  out += '}';
}

simdjson::dom::object http_get_of(const container& c, bool readiness) {
  return (readiness ? c.readiness_http_get : c.liveness_http_get).get_object().value_unsafe();
}

}  // namespace

// ------------------------------------------------------------------ the steps

bool engine::build_patch(const pod& p, const workload_meta* deployment, std::span<const env_pair> path_env,
                         injection_result& r) {
  message_.clear();
  if (!validate_annotations(p, message_)) return fail(r, outcome::rejected);
  if (snapshot_->named_templates())
    return build_named_patch(p, deployment, path_env, r) && patch_within_bound(r);
  collect_removals(p);
  const template_data data = template_data_for(pod_after_removals(p), deployment);
  if (!snapshot_->program().trace(template_root(data), trace_)) {
    message_ = trace_.error;
    return fail(r, outcome::failed);
  }
  const sidecar_variant* v = variant_for(data, r);
  if (!v) {
    message_ = error_;
    return fail(r, outcome::failed);
  }
  const patch_inputs in{p, *v, trace_.holes};

  json_patch_writer w(patch_);
  write_removals(w, p);
  const bool rewrite = probe_rewrite_requested(in);
  request_context ctx = proxy_additions(in, path_env, rewrite);
  if (!write_sidecar_items(w, in, ctx) || !write_pod_level_adds(w, in)) {
    message_ = error_;
    return fail(r, outcome::rejected);
  }
  write_annotations(w, in);
  if (rewrite && v->proxy >= 0) write_probe_rewrites(w, p, status_port_of(in));
  r.patch = w.finish();
  r.kind = outcome::injected;
  return patch_within_bound(r);
}

bool engine::fail(injection_result& r, outcome kind) {
  r.kind = kind;
  r.message = message_;
  return false;
}

// The template's output is bounded as it renders; what the engine adds to it
// (the pod's own data spliced as structure, escaping, removals) is bounded here.
bool engine::patch_within_bound(injection_result& r) {
  const std::size_t limit = snapshot_->sources().template_limits.max_output_bytes;
  if (r.patch.size() <= limit) return true;
  message_ = "the JSON patch for this pod is ";
  core::append_int(message_, static_cast<std::int64_t>(r.patch.size()));
  message_ += " bytes, past the bound of ";
  core::append_int(message_, static_cast<std::int64_t>(limit));
  message_ += " (--max-patch-bytes)";
  r.patch = {};
  return fail(r, outcome::failed);
}

// What the previous injection added, to remove it first: the names in the status
// annotation, else (injections before the status carried JSON) Istio's legacy names.
void engine::collect_removals(const pod& p) {
  for (auto& names : removed_.by_list) names.clear();
  if (const core::label* st = p.annotation(status_annotation)) read_status_names(st->value);
  bool from_status = false;
  for (const auto& names : removed_.by_list) from_status = from_status || !names.empty();
  if (from_status) return;
  removed_[injected_list::init_containers].assign(std::begin(legacy_init), std::end(legacy_init));
  removed_[injected_list::containers].assign(std::begin(legacy_containers), std::end(legacy_containers));
  removed_[injected_list::volumes].assign(std::begin(legacy_volumes), std::end(legacy_volumes));
}

void engine::read_status_names(std::string_view status) {
  status_buffer_.assign(status);
  status_buffer_.resize(status.size() + simdjson::SIMDJSON_PADDING, '\0');
  simdjson::dom::element doc;
  if (status_parser_.parse(status_buffer_.data(), status.size(), false).get(doc) || !doc.is_object()) return;
  const simdjson::dom::object fields = doc.get_object().value_unsafe();
  for (const injected_list l : all_lists) {
    simdjson::dom::array list;
    if (fields.at_key(status_keys[index_of(l)]).get_array().get(list)) continue;
    for (auto item : list) {
      std::string_view name;
      if (!item.get_string().get(name)) removed_[l].push_back(name);
    }
  }
}

// The template sees the pod as it will be after the removals, so injecting an
// injected pod renders the same sidecar (Istio let the old proxy's ports leak
// into includeInboundPorts).
const pod& engine::pod_after_removals(const pod& p) {
  auto removed_container = [&](const container& c) { return contains_name(removed_[injected_list::containers], c.name); };
  auto removed_init = [&](const container& c) {
    return contains_name(removed_[injected_list::init_containers], c.name);
  };
  if (std::none_of(p.containers.begin(), p.containers.end(), removed_container) &&
      std::none_of(p.init_containers.begin(), p.init_containers.end(), removed_init))
    return p;
  filtered_ = p;
  std::erase_if(filtered_.containers, removed_container);
  std::erase_if(filtered_.init_containers, removed_init);
  return filtered_;
}

template_data engine::template_data_for(const pod& view, const workload_meta* deployment) const {
  const snapshot& snap = *snapshot_;
  template_data data;
  data.p = &view;
  data.deployment = deployment;
  data.proxy_config = &snap.mesh().proxy_config();
  data.mesh = &snap.mesh().root;
  data.values = &snap.values();
  return data;
}

// Highest index first, so the indices of earlier removals stay valid.
void engine::write_removals(json_patch_writer& w, const pod& p) const {
  for (const injected_list l : all_lists) {
    const auto& names = removed_[l];
    for (std::size_t i = pod_list_size(p, l); i-- > 0;) {
      if (!contains_name(names, pod_name_at(p, l, i))) continue;
      std::string& out = w.begin(patch_op::remove, pod_paths[index_of(l)]);
      out += '/';
      append_int(out, static_cast<std::int64_t>(i));
      w.end_path();
    }
  }
}

// The pod's annotation decides; without one, the template's rewriteAppHTTPProbe value.
bool engine::probe_rewrite_requested(const patch_inputs& in) {
  bool annotated = false;
  const core::label* a = in.p.annotation(rewrite_annotation);
  if (a && parse_go_bool(a->value, annotated)) return annotated;
  if (in.v.rewrite_probe.k == value_ref::kind::none) return false;
  bool b = false;
  return parse_go_bool(resolve_ref(in.v.rewrite_probe, in.v, in.holes, scratch_), b) && b;
}

// The proxy's --statusPort; -1 when it has none we can read.
int engine::status_port_of(const patch_inputs& in) {
  if (!in.v.status_port_flag) return -1;
  std::int64_t port = 0;
  return parse_flag_number(resolve_ref(in.v.status_port, in.v, in.holes, scratch_), port) ? static_cast<int>(port) : -1;
}

engine::request_context engine::proxy_additions(const patch_inputs& in, std::span<const env_pair> path_env,
                                                bool rewrite) {
  request_context ctx;
  ctx.path_env = path_env;
  if (rewrite && in.v.proxy >= 0) {
    write_app_probers(in.p, scratch2_);
    ctx.probers = scratch2_;
    ctx.has_probers = true;
  }
  if (in.v.proxy < 0) return ctx;
  for (const container& c : in.p.containers)
    for (std::uint32_t m = c.mounts_begin; m < c.mounts_end; ++m)
      if (in.p.mounts[m].mount_path == sa_mount_path) ctx.sa_mount = &in.p.mounts[m];
  ctx.concurrency = derived_concurrency(in);
  return ctx;
}

// Without an explicit --concurrency, the proxy's CPU (limit, else request)
// rounded up to whole cores; 0: add nothing.
std::int64_t engine::derived_concurrency(const patch_inputs& in) {
  if (in.v.concurrency_flag) {
    std::int64_t n = 0;
    if (parse_flag_number(resolve_ref(in.v.concurrency, in.v, in.holes, scratch_), n) && n > 0) return 0;
  }
  if (in.v.cpu.k == value_ref::kind::none) return 0;
  std::int64_t millis = 0;
  if (k8s::quantity_millis(resolve_ref(in.v.cpu, in.v, in.holes, scratch_), millis) && millis > 0)
    return (millis + 999) / 1000;
  return 0;
}

// ISTIO_KUBE_APP_PROBERS: every app container's HTTP probes, keyed by the URL
// the proxy serves them on, sorted, with named ports resolved.
void engine::write_app_probers(const pod& p, std::string& out) const {
  constexpr std::size_t max_probers = 64;
  std::array<app_prober, max_probers> list;
  std::size_t n = 0;
  for (const container& c : p.containers) {
    if (c.name == proxy_name || contains_name(removed_[injected_list::containers], c.name)) continue;
    if (c.has_readiness_http_get && n < max_probers) list[n++] = {c.name, true, &c};
    if (c.has_liveness_http_get && n < max_probers) list[n++] = {c.name, false, &c};
  }
  std::sort(list.begin(), list.begin() + static_cast<std::ptrdiff_t>(n), prober_key_less);
  out.clear();
  out += '{';
  bool first = true;
  for (std::size_t k = 0; k < n; ++k) {
    const simdjson::dom::object probe = http_get_of(*list[k].c, list[k].readiness);
    std::int64_t port = -1;
    if (!prober_port(p, list[k], probe, port)) continue;  // a named port the container does not declare
    if (!first) out += ',';
    first = false;
    write_app_prober(list[k], probe, port, out);
  }
  out += '}';
}

// The variant's items. A list the pod did not have (or had empty) is added whole.
bool engine::write_sidecar_items(json_patch_writer& w, const patch_inputs& in, request_context& ctx) {
  for (const injected_list l : all_lists) {
    const std::span<const sidecar_item> items = items_of(in.v, l);
    bool whole_list = pod_list_size(in.p, l) == 0;
    for (std::size_t k = 0; k < items.size(); ++k) {
      const bool proxy = l == injected_list::containers && static_cast<int>(k) == in.v.proxy;
      std::string& out = w.begin(patch_op::add, pod_paths[index_of(l)]);
      if (!whole_list) out += "/-";
      w.value();
      if (whole_list) out += '[';
      if (!emit_fragment(items[k].json, in.v, in.holes, out, scratch_, error_, proxy ? write_proxy_insert : nullptr,
                         &ctx))
        return false;
      if (whole_list) out += ']';
      w.end_value();
      whole_list = false;
    }
  }
  return true;
}

// dnsConfig; and, when SDS reads the service-account token, the fsGroup Istio
// 1.1 sets so the proxy can read it.
bool engine::write_pod_level_adds(json_patch_writer& w, const patch_inputs& in) {
  if (in.v.has_dns_config) {
    w.begin(patch_op::add, "/spec/dnsConfig");
    if (!emit_fragment(in.v.dns_config, in.v, in.holes, w.value(), scratch_, error_)) return false;
    w.end_value();
  }
  if (snapshot_->sds_token_mount()) {
    if (in.p.has_security_context) {
      w.begin(patch_op::add, "/spec/securityContext/fsGroup");
      w.value() += "1337";
    } else {
      w.begin(patch_op::add, "/spec/securityContext");
      w.value() += "{\"fsGroup\":1337}";
    }
    w.end_value();
  }
  return true;
}

// The status (what we injected, for the next re-injection) and the configured
// injectedAnnotations.
void engine::write_annotations(json_patch_writer& w, const patch_inputs& in) {
  const auto& injected = snapshot_->config().injected_annotations;
  if (!in.p.has_annotations) {
    w.begin(patch_op::add, in.p.has_metadata ? "/metadata/annotations" : "/metadata");
    std::string& out = w.value();
    out += in.p.has_metadata ? "{" : "{\"annotations\":{";
    for (const auto& [key, value] : injected) {
      append_json_string(out, key);
      out += ':';
      append_json_string(out, value);
      out += ',';
    }
    append_json_string(out, status_annotation);
    out += ':';
    write_status_value(out, in);
    out += in.p.has_metadata ? "}" : "}}";
    w.end_value();
    return;
  }
  for (const auto& entry : injected) {
    if (entry.first == status_annotation) continue;
    append_json_string(begin_annotation(w, in.p, entry.first), entry.second);
    w.end_value();
  }
  write_status_value(begin_annotation(w, in.p, status_annotation), in);
  w.end_value();
}

// Opens an add (or, over a non-empty value, a replace) of one annotation and its value.
std::string& engine::begin_annotation(json_patch_writer& w, const pod& p, std::string_view key) {
  const core::label* existing = p.annotation(key);
  std::string& out =
      w.begin(existing && !existing->value.empty() ? patch_op::replace : patch_op::add, "/metadata/annotations/");
  scratch_.clear();
  append_pointer_token(scratch_, key);
  append_json_escaped(out, scratch_);
  return w.value();
}

// The status annotation's value: JSON inside a JSON string, built, then escaped
// once more. When every injected name is a literal the value is the same for
// every pod of this variant: the miss that compiled it built it (keep_status).
void engine::write_status_value(std::string& out, const patch_inputs& in) {
  if (!in.v.status_cache.empty()) {
    out += in.v.status_cache;
    return;
  }
  (void)status_value(in.v, in.holes, out);
}

// Appends the status value; true when it holds no pod data.
bool engine::status_value(const sidecar_variant& v, std::span<const tmpl::value> holes, std::string& out) {
  scratch2_.clear();
  scratch2_ += "{\"version\":";
  append_json_string(scratch2_, snapshot_->template_version());
  bool literal = true;
  for (const injected_list l : all_lists) {
    const std::span<const sidecar_item> items = items_of(v, l);
    scratch2_ += ",\"";
    scratch2_ += status_keys[index_of(l)];
    scratch2_ += "\":";
    if (items.empty()) {
      scratch2_ += "null";  // Go marshals an empty name list as null
      continue;
    }
    scratch2_ += '[';
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (i) scratch2_ += ',';
      append_json_string(scratch2_, resolve_ref(items[i].name, v, holes, scratch_));
      literal = literal && items[i].name.k == value_ref::kind::literal;
    }
    scratch2_ += ']';
  }
  scratch2_ += '}';
  append_json_string(out, scratch2_);
  return literal;
}

// A variant whose names are all literal has the same status for every pod:
// built once, at its size, before the cache counts the variant's bytes.
void engine::keep_status(sidecar_variant& v) {
  std::string& value = status_scratch_;
  value.clear();
  if (status_value(v, {}, value)) v.status_cache.assign(value);
}

// Each app container's HTTP probes point at the proxy's status port. Indices are
// those after the removals (Istio used the indices of the pod as it arrived,
// which no apiserver can apply).
void engine::write_probe_rewrites(json_patch_writer& w, const pod& p, int status_port) {
  if (status_port < 0) return;
  std::size_t shift = 0;
  for (std::size_t i = 0; i < p.containers.size(); ++i) {
    const container& c = p.containers[i];
    if (contains_name(removed_[injected_list::containers], c.name)) {
      ++shift;
      continue;
    }
    if (c.name == proxy_name) continue;
    for (const bool readiness : {true, false}) {
      if (readiness ? !c.has_readiness_http_get : !c.has_liveness_http_get) continue;
      write_probe_rewrite(w, c, i - shift, readiness, status_port);
    }
  }
}

void engine::write_probe_rewrite(json_patch_writer& w, const container& c, std::size_t index, bool readiness,
                                 int status_port) {
  const simdjson::dom::object probe = http_get_of(c, readiness);
  std::string& out = w.begin(patch_op::replace, "/spec/containers/");
  append_int(out, static_cast<std::int64_t>(index));
  out += readiness ? "/readinessProbe/httpGet" : "/livenessProbe/httpGet";
  w.value() += "{\"path\":\"/app-health/";
  append_json_escaped(out, c.name);
  out += readiness ? "/readyz\",\"port\":" : "/livez\",\"port\":";
  append_int(out, status_port);
  std::string_view s;
  if (!probe.at_key("host").get_string().get(s) && !s.empty()) {
    out += ",\"host\":";
    append_json_string(out, s);
  }
  if (!probe.at_key("scheme").get_string().get(s) && !s.empty()) {
    out += ",\"scheme\":";
    append_json_string(out, s == "HTTPS" ? std::string_view("HTTP") : s);
  }
  simdjson::dom::element headers;
  if (!probe.at_key("httpHeaders").get(headers) && headers.is_array()) {
    out += ",\"httpHeaders\":";
    write_json(headers, out);
  }
  out += '}';
  w.end_value();
}

}  // namespace meshinject::patch
