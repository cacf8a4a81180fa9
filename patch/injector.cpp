#include "patch/injector.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <cstring>

#include "core/error.hpp"
#include "patch/annotations.hpp"
#include "patch/base64.hpp"
#include "patch/default_config.hpp"
#include "patch/json_text.hpp"

namespace meshinject::patch {
namespace {

constexpr std::string_view status_annotation = "sidecar.istio.io/status";
constexpr std::string_view rewrite_annotation = "sidecar.istio.io/rewriteAppHTTPProbers";
constexpr std::string_view proxy_name = "istio-proxy";
constexpr std::string_view sa_mount_path = "/var/run/secrets/kubernetes.io/serviceaccount";

std::string sha256_hex(std::string_view text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(text.data(), text.size(), digest, &len, EVP_sha256(), nullptr);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    out += hex[digest[i] >> 4];
    out += hex[digest[i] & 15];
  }
  return out;
}

std::uint64_t fnv1a(std::span<const std::uint8_t> bytes) {
  std::uint64_t h = 1469598103934665603ULL;
  for (std::uint8_t b : bytes) {
    h ^= b;
    h *= 1099511628211ULL;
  }
  return h;
}

// RFC 6901: '~' -> "~0", '/' -> "~1".
void append_pointer_token(std::string& out, std::string_view s) {
  for (char c : s) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out += c;
  }
}

// Legacy injections carried no status JSON; Istio then removes these names.
constexpr std::string_view legacy_init[] = {"istio-init", "enable-core-dump"};
constexpr std::string_view legacy_containers[] = {"istio-proxy"};
constexpr std::string_view legacy_volumes[] = {"istio-certs", "istio-envoy"};

bool contains_name(std::span<const std::string_view> names, std::string_view n) {
  return std::find(names.begin(), names.end(), n) != names.end();
}

// Messages from the variant compiler start with "template:LINE:COL: "; a user
// wants the position in the config file.
std::string at_file_position(const core::injection_config& cfg, const std::string& message) {
  static constexpr std::string_view prefix = "template:";
  if (message.rfind(prefix, 0) != 0) return cfg.source + ": " + message;
  std::size_t i = prefix.size();
  auto number = [&](int& out) {
    const std::size_t start = i;
    out = 0;
    while (i < message.size() && message[i] >= '0' && message[i] <= '9') out = out * 10 + (message[i++] - '0');
    return i > start;
  };
  int line = 0, col = 0;
  if (!number(line) || i >= message.size() || message[i++] != ':' || !number(col) ||
      message.compare(i, 2, ": ") != 0)
    return cfg.source + ": " + message;
  return core::config_error::format(core::template_position(cfg, line, col), message.substr(i + 2));
}

}  // namespace

std::string_view outcome_name(outcome o) noexcept {
  switch (o) {
    case outcome::injected: return "injected";
    case outcome::skipped: return "skipped";
    case outcome::passthrough: return "passthrough";
    case outcome::rejected: return "rejected";
    case outcome::failed: return "failed";
    case outcome::bad_request: return "bad-request";
  }
  return "unknown";
}

std::string_view passthrough_name(passthrough_reason r) noexcept {
  return r == passthrough_reason::not_create ? "not-create" : "not-a-pod";
}

// ------------------------------------------------------------------ snapshot

namespace {

// Istio >= 1.9's shape loads and is checked, but the engine does not render named
// templates yet: refuse it at load, where serve keeps the config it has and
// check-config says so, rather than inject something else.
core::config_error named_templates_not_rendered(const core::injection_config& cfg) {
  std::string names;
  for (const auto& t : cfg.templates) names += (names.empty() ? "" : ", ") + t.name;
  return core::config_error({cfg.source, std::max(1, cfg.templates_line), 0},
                            "templates (" + names + "): this is Istio >= 1.9's config shape; meshinject reads it "
                            "but does not render named templates yet, so it cannot be served. Istio 1.1-1.8's "
                            "shape (one `template`) is rendered.");
}

}  // namespace


std::shared_ptr<const snapshot> snapshot::build(const config_sources& sources) {
  std::shared_ptr<snapshot> s(new snapshot());
  s->sources_ = sources;
  const bool embedded = sources.inject_config_text.empty();
  const std::string config_text = embedded ? std::string(default_injection_config()) : sources.inject_config_text;
  const std::string config_name = embedded ? "embedded default" : sources.inject_config_name;
  s->config_ = core::load_injection_config(config_text, config_name);
  if (s->config_.shape == core::config_shape::named_templates) throw named_templates_not_rendered(s->config_);
  s->mesh_ = sources.mesh_text.empty() ? core::default_mesh_config()
                                       : core::load_mesh_config(sources.mesh_text, sources.mesh_name);
  s->values_ = sources.values_text.empty() ? core::config_node::make_map()
                                           : core::load_values(sources.values_text, sources.values_name);
  try {
    s->program_ = compile_template(s->config_.template_text, s->mesh_, s->values_);
  } catch (const tmpl::program::compile_error& e) {
    const auto [line, col] = tmpl::line_column(s->config_.template_text, e.pos);
    throw core::config_error(core::template_position(s->config_, line, col), "template: " + e.message);
  }
  s->version_ = sources.version_override.empty() ? sha256_hex(s->config_.template_text) : sources.version_override;
  s->content_hash_ = sha256_hex(config_text + '\0' + sources.mesh_text + '\0' + sources.values_text);
  s->warnings_ = s->config_.warnings;
  const core::config_node* sds = s->mesh_.root.find("enableSdsTokenMount");
  const core::config_node* uds = s->mesh_.root.find("sdsUdsPath");
  s->sds_token_mount_ = sds && sds->type() == core::config_node::kind::boolean && sds->as_bool() && uds &&
                        !uds->text().empty();

  // Compile the variant a plain pod gets, so a template whose output is not
  // valid for Kubernetes fails here, at load, and not on the first pod.
  static constexpr char probe_pod[] =
      R"({"metadata":{"name":"meshinject-load-check","namespace":"default","labels":{"app":"load-check"}},)"
      R"("spec":{"containers":[{"name":"app","image":"app","ports":[{"containerPort":8080}]}]}})";
  simdjson::dom::parser parser;
  simdjson::dom::element pod_json = parser.parse(probe_pod, std::strlen(probe_pod)).value();
  pod p;
  std::string error;
  parse_pod(pod_json, "default", p, error);
  template_data data;
  data.p = &p;
  data.proxy_config = &s->mesh_.proxy_config();
  data.mesh = &s->mesh_.root;
  data.values = &s->values_;
  tmpl::trace_state state;
  if (!s->program_->trace(template_root(data), state)) {
    // It depends on pod data (say, an annotation the template insists on):
    // pods that have it still inject, so this warns rather than refuses.
    s->warnings_.push_back(at_file_position(s->config_, state.error) +
                           " (the template fails for a pod with no annotations; pods that carry what it needs still inject)");
    return s;
  }
  tmpl::render_result rendered;
  if (!s->program_->render(template_root(data), state.trace, rendered, error))
    throw core::config_error({}, at_file_position(s->config_, error));
  sidecar_variant v;
  if (!compile_sidecar(*s->program_, std::move(rendered), v, error))
    throw core::config_error({}, at_file_position(s->config_, error));
  for (const auto& w : v.warnings) s->warnings_.push_back(at_file_position(s->config_, w));
  return s;
}

// -------------------------------------------------------------------- engine

struct engine::variant_entry {
  std::uint64_t hash = 0;
  std::vector<std::uint8_t> key;
  sidecar_variant variant;
};

struct engine::request_context {
  const sidecar_variant* v = nullptr;
  std::span<const tmpl::value> holes;
  std::string_view probers;        // ISTIO_KUBE_APP_PROBERS, empty: none
  bool has_probers = false;
  std::span<const env_pair> path_env;
  const volume_mount* sa_mount = nullptr;
  std::int64_t concurrency = 0;    // > 0: append --concurrency N
};

namespace {

void write_env_entry(std::string& out, std::string_view name, std::string_view value) {
  out += "{\"name\":";
  append_json_string(out, name);
  out += ",\"value\":";
  append_json_string(out, value);
  out += '}';
}

}  // namespace

engine::engine(std::shared_ptr<const snapshot> s, std::size_t max_variants)
    : snapshot_(std::move(s)), max_variants_(std::max<std::size_t>(max_variants, 1)) {
  std::size_t slots = 1;
  while (slots < max_variants_ * 2) slots <<= 1;
  variants_.resize(slots);
  patch_.reserve(16 * 1024);
  body_.reserve(32 * 1024);
  scratch_.reserve(4096);
  scratch2_.reserve(4096);
  error_.reserve(1024);
  message_.reserve(1024);
  status_buffer_.reserve(4096);
  // A first allocation of the parser's buffers sized for typical reviews.
  if (parser_.allocate(64 * 1024)) {
    // Not fatal: the parser grows on first use instead.
  }
}

engine::~engine() = default;

void engine::set_snapshot(std::shared_ptr<const snapshot> s) {
  snapshot_ = std::move(s);
  for (auto& e : variants_) e.reset();
  variant_count_ = 0;
  stats_.cached_variants.set(0);
}

std::size_t engine::cached_variants() const noexcept { return variant_count_; }

const sidecar_variant* engine::variant_for(const template_data& data, injection_result& r) {
  const std::span<const std::uint8_t> key(trace_.trace);
  const std::uint64_t h = fnv1a(key);
  const std::size_t mask = variants_.size() - 1;
  std::size_t i = h & mask;
  for (std::size_t probe = 0; probe < variants_.size(); ++probe, i = (i + 1) & mask) {
    variant_entry* e = variants_[i].get();
    if (!e) break;
    if (e->hash == h && std::equal(e->key.begin(), e->key.end(), key.begin(), key.end())) return &e->variant;
  }
  // A variant this core has not seen: render and compile it (cold path).
  r.compiled_variant = true;
  tmpl::render_result rendered;
  if (!snapshot_->program().render(template_root(data), key, rendered, error_)) return nullptr;
  auto entry = std::make_unique<variant_entry>();
  if (!compile_sidecar(snapshot_->program(), std::move(rendered), entry->variant, error_)) return nullptr;
  entry->hash = h;
  entry->key.assign(key.begin(), key.end());
  if (variant_count_ >= max_variants_) {
    // Full: serve this one without caching it (counted), keep the hot ones.
    r.uncached_variant = true;
    static thread_local std::unique_ptr<variant_entry> overflow;
    overflow = std::move(entry);
    return &overflow->variant;
  }
  std::size_t j = h & mask;
  while (variants_[j]) j = (j + 1) & mask;
  variants_[j] = std::move(entry);
  ++variant_count_;
  return &variants_[j]->variant;
}

injection_result engine::handle(const char* body, std::size_t len, std::size_t capacity,
                                std::span<const env_pair> path_env) {
  injection_result r = handle_review(body, len, capacity, path_env);
  stats_.count(r.kind);
  if (r.kind == outcome::passthrough) stats_.count(r.passthrough);
  if (r.compiled_variant) {
    stats_.variant_compiles.inc();
    stats_.cached_variants.set(static_cast<std::int64_t>(variant_count_));
  }
  if (r.uncached_variant) stats_.uncached_renders.inc();
  return r;
}

injection_result engine::handle_review(const char* body, std::size_t len, std::size_t capacity,
                                       std::span<const env_pair> path_env) {
  injection_result r;
  if (len == 0) {
    r.message = "the request body is empty";
    write_error_body(r);
    return r;
  }
  const char* data = body;
  if (capacity < len + simdjson::SIMDJSON_PADDING) {
    own_buffer_.assign(body, len);
    own_buffer_.resize(len + simdjson::SIMDJSON_PADDING, '\0');
    data = own_buffer_.data();
    capacity = own_buffer_.size();
  }
  if (!parse_review(parser_, data, len, capacity, review_, pod_, error_)) {
    r.message = error_;
    write_error_body(r);
    return r;
  }
  r.uid = review_.uid;
  r.version = review_.version;
  r.http_status = 200;
  if (!review_.is_pod_create) {
    r.kind = outcome::passthrough;
    r.passthrough = (review_.kind == "Pod" && review_.kind_group.empty() && review_.sub_resource.empty())
                        ? passthrough_reason::not_create
                        : passthrough_reason::not_a_pod;
    write_response(r, review_);
    return r;
  }
  r.namespace_name = pod_.namespace_name;
  r.pod_name = pod_.name.empty() ? pod_.generate_name : pod_.name;
  const core::pod_facts facts{pod_.namespace_name, pod_.host_network, pod_.labels, pod_.annotations};
  r.decision = core::decide(facts, snapshot_->config().rules);
  r.has_decision = true;
  if (!r.decision.inject) {
    r.kind = outcome::skipped;
    write_response(r, review_);
    return r;
  }
  build_patch(pod_, nullptr, path_env, r);
  write_response(r, review_);
  return r;
}

injection_result engine::inject_pod(simdjson::dom::element pod_object, std::string_view namespace_name,
                                    const workload_meta* deployment, bool force) {
  injection_result r;
  r.http_status = 200;
  if (!parse_pod(pod_object, namespace_name, pod_, error_)) {
    r.kind = outcome::bad_request;
    r.http_status = 400;
    r.message = error_;
    return r;
  }
  r.namespace_name = pod_.namespace_name;
  r.pod_name = pod_.name.empty() ? pod_.generate_name : pod_.name;
  const core::pod_facts facts{pod_.namespace_name, pod_.host_network, pod_.labels, pod_.annotations};
  r.decision = core::decide(facts, snapshot_->config().rules);
  r.has_decision = true;
  if (!r.decision.inject && !force) {
    r.kind = outcome::skipped;
    return r;
  }
  build_patch(pod_, deployment, {}, r);
  return r;
}

bool engine::build_patch(const pod& p, const workload_meta* deployment, std::span<const env_pair> path_env,
                         injection_result& r) {
  const snapshot& snap = *snapshot_;
  message_.clear();
  if (!validate_annotations(p, message_)) {
    r.kind = outcome::rejected;
    r.message = message_;
    return false;
  }
  // What the previous injection added, to remove it first.
  auto& removed = removed_;
  for (auto& l : removed.lists) l.clear();
  bool from_status = false;
  if (const core::label* st = p.annotation(status_annotation)) {
    status_buffer_.assign(st->value);
    status_buffer_.resize(st->value.size() + simdjson::SIMDJSON_PADDING, '\0');
    simdjson::dom::element doc;
    if (!status_parser_.parse(status_buffer_.data(), st->value.size(), false).get(doc) && doc.is_object()) {
      static constexpr std::string_view keys[] = {"initContainers", "containers", "volumes", "imagePullSecrets"};
      for (int k = 0; k < 4; ++k) {
        simdjson::dom::array list;
        if (doc.get_object().value_unsafe().at_key(keys[k]).get_array().get(list)) continue;
        for (auto item : list) {
          std::string_view name;
          if (!item.get_string().get(name)) removed.lists[k].push_back(name);
        }
      }
      for (const auto& l : removed.lists) from_status = from_status || !l.empty();
    }
  }
  if (!from_status) {
    for (auto& l : removed.lists) l.clear();
    removed.lists[0].assign(std::begin(legacy_init), std::end(legacy_init));
    removed.lists[1].assign(std::begin(legacy_containers), std::end(legacy_containers));
    removed.lists[2].assign(std::begin(legacy_volumes), std::end(legacy_volumes));
  }

  // The template sees the pod as it will be after the removals, so injecting an
  // injected pod renders the same sidecar (Istio let the old proxy's ports leak
  // into includeInboundPorts).
  auto is_removed_name = [&](int list, std::string_view name) { return contains_name(removed.lists[list], name); };
  const pod* view = &p;
  bool drop = false;
  for (const container& c : p.containers) drop = drop || is_removed_name(1, c.name);
  for (const container& c : p.init_containers) drop = drop || is_removed_name(0, c.name);
  if (drop) {
    filtered_ = p;
    std::erase_if(filtered_.containers, [&](const container& c) { return is_removed_name(1, c.name); });
    std::erase_if(filtered_.init_containers, [&](const container& c) { return is_removed_name(0, c.name); });
    view = &filtered_;
  }

  template_data data;
  data.p = view;
  data.deployment = deployment;
  data.proxy_config = &snap.mesh().proxy_config();
  data.mesh = &snap.mesh().root;
  data.values = &snap.values();
  if (!snap.program().trace(template_root(data), trace_)) {
    message_ = trace_.error;
    r.kind = outcome::failed;
    r.message = message_;
    return false;
  }
  const sidecar_variant* v = variant_for(data, r);
  if (!v) {
    message_ = error_;
    r.kind = outcome::failed;
    r.message = message_;
    return false;
  }
  const std::span<const tmpl::value> holes(trace_.holes);

  patch_.clear();
  patch_ += '[';
  bool first_op = true;
  auto op_begin = [&](std::string_view op) {
    if (!first_op) patch_ += ',';
    first_op = false;
    patch_ += "{\"op\":\"";
    patch_ += op;
    patch_ += "\",\"path\":\"";
  };

  // 1. Removals, highest index first so earlier indices stay valid.
  auto remove_from = [&](std::string_view path, std::size_t count, auto name_at, std::span<const std::string_view> names) {
    for (std::size_t i = count; i-- > 0;) {
      if (!contains_name(names, name_at(i))) continue;
      op_begin("remove");
      patch_ += path;
      patch_ += '/';
      append_int(patch_, static_cast<std::int64_t>(i));
      patch_ += "\"}";
    }
  };
  remove_from("/spec/initContainers", p.init_containers.size(), [&](std::size_t i) { return p.init_containers[i].name; },
              removed.lists[0]);
  remove_from("/spec/containers", p.containers.size(), [&](std::size_t i) { return p.containers[i].name; },
              removed.lists[1]);
  remove_from("/spec/volumes", p.volume_names.size(), [&](std::size_t i) { return p.volume_names[i]; },
              removed.lists[2]);
  remove_from("/spec/imagePullSecrets", p.image_pull_secret_names.size(),
              [&](std::size_t i) { return p.image_pull_secret_names[i]; }, removed.lists[3]);

  // 2. What this request adds to the proxy container.
  request_context ctx;
  ctx.v = v;
  ctx.holes = holes;
  ctx.path_env = path_env;
  bool rewrite = false;
  {
    bool annotated;
    const core::label* a = p.annotation(rewrite_annotation);
    if (a && parse_go_bool(a->value, annotated)) {
      rewrite = annotated;
    } else if (v->rewrite_probe.k != value_ref::kind::none) {
      bool b = false;
      rewrite = parse_go_bool(resolve_ref(v->rewrite_probe, holes, scratch_), b) && b;
    }
  }
  int status_port = -1;
  if (v->status_port_flag) {
    const std::string_view s = resolve_ref(v->status_port, holes, scratch_);
    int port = 0;
    bool ok = !s.empty();
    std::int64_t acc = 0;
    for (char c : s) {
      if (c < '0' || c > '9' || acc > 1'000'000) {
        ok = false;
        break;
      }
      acc = acc * 10 + (c - '0');
    }
    port = static_cast<int>(acc);
    if (ok) status_port = port;
  }
  auto is_removed_container = [&](const container& c) { return contains_name(removed.lists[1], c.name); };
  if (rewrite && v->proxy >= 0) {
    // ISTIO_KUBE_APP_PROBERS: every app container's HTTP probes, keyed by the
    // URL the proxy serves them on, sorted, with named ports resolved.
    struct prober {
      std::string_view name;
      bool readiness;
      const patch::container* c;
    };
    prober list[64];
    std::size_t n = 0;
    for (const container& c : p.containers) {
      if (c.name == proxy_name || is_removed_container(c)) continue;
      if (c.has_readiness_http_get && n < 64) list[n++] = {c.name, true, &c};
      if (c.has_liveness_http_get && n < 64) list[n++] = {c.name, false, &c};
    }
    std::sort(list, list + n, [](const prober& a, const prober& b) {
      if (a.name != b.name) {
        // Keys are /app-health/<name>/<kind>: compare the way the full key compares.
        const std::size_t m = std::min(a.name.size(), b.name.size());
        const int c = a.name.substr(0, m).compare(b.name.substr(0, m));
        if (c != 0) return c < 0;
        const char ca = a.name.size() > m ? a.name[m] : '/';
        const char cb = b.name.size() > m ? b.name[m] : '/';
        return ca < cb;
      }
      return !a.readiness && b.readiness;  // "livez" < "readyz"
    });
    scratch2_.clear();
    scratch2_ += '{';
    bool first = true;
    for (std::size_t k = 0; k < n; ++k) {
      const simdjson::dom::element hg = list[k].readiness ? list[k].c->readiness_http_get : list[k].c->liveness_http_get;
      const auto obj = hg.get_object().value_unsafe();
      std::int64_t port = -1;
      simdjson::dom::element pe;
      bool port_ok = false;
      if (!obj.at_key("port").get(pe)) {
        std::string_view named;
        if (!pe.get_int64().get(port)) {
          port_ok = true;
        } else if (!pe.get_string().get(named)) {
          for (std::uint32_t q = list[k].c->ports_begin; q < list[k].c->ports_end; ++q)
            if (!p.ports[q].name.empty() && p.ports[q].name == named) {
              port = p.ports[q].container_port;
              port_ok = true;
            }
        }
      }
      if (!port_ok) continue;  // a named port the container does not declare
      if (!first) scratch2_ += ',';
      first = false;
      scratch2_ += "\"/app-health/";
      append_json_escaped(scratch2_, list[k].name);
      scratch2_ += list[k].readiness ? "/readyz\":{" : "/livez\":{";
      bool inner_first = true;
      auto member = [&](std::string_view key) {
        if (!inner_first) scratch2_ += ',';
        inner_first = false;
        scratch2_ += '"';
        scratch2_ += key;
        scratch2_ += "\":";
      };
      std::string_view s;
      if (!obj.at_key("path").get_string().get(s) && !s.empty()) {
        member("path");
        append_json_string(scratch2_, s);
      }
      member("port");
      append_int(scratch2_, port);
      if (!obj.at_key("host").get_string().get(s) && !s.empty()) {
        member("host");
        append_json_string(scratch2_, s);
      }
      if (!obj.at_key("scheme").get_string().get(s) && !s.empty()) {
        member("scheme");
        append_json_string(scratch2_, s);
      }
      simdjson::dom::element headers;
      if (!obj.at_key("httpHeaders").get(headers) && headers.is_array()) {
        member("httpHeaders");
        write_json(headers, scratch2_);
      }
      scratch2_ += '}';
    }
    scratch2_ += '}';
    ctx.probers = scratch2_;
    ctx.has_probers = true;
  }
  if (v->proxy >= 0) {
    for (const container& c : p.containers)
      for (std::uint32_t m = c.mounts_begin; m < c.mounts_end; ++m)
        if (p.mounts[m].mount_path == sa_mount_path) ctx.sa_mount = &p.mounts[m];
    bool has_concurrency = false;
    if (v->concurrency_flag) {
      const std::string_view s = resolve_ref(v->concurrency, holes, scratch_);
      std::int64_t n = 0;
      bool ok = !s.empty();
      for (char c : s) {
        if (c < '0' || c > '9' || n > 1'000'000) ok = false;
        else n = n * 10 + (c - '0');
      }
      has_concurrency = ok && n > 0;
    }
    if (!has_concurrency && v->cpu.k != value_ref::kind::none) {
      std::int64_t millis = 0;
      if (k8s::quantity_millis(resolve_ref(v->cpu, holes, scratch_), millis) && millis > 0)
        ctx.concurrency = (millis + 999) / 1000;
    }
  }

  auto inserts = [](void* raw, insert_point point, bool preceded, std::string& out) {
    const auto& c = *static_cast<const request_context*>(raw);
    auto env_entries = [&](bool lead) {
      bool any = false;
      if (c.has_probers) {
        if (lead || any) out += ',';
        write_env_entry(out, "ISTIO_KUBE_APP_PROBERS", c.probers);
        any = true;
      }
      for (const env_pair& e : c.path_env) {
        if (lead || any) out += ',';
        write_env_entry(out, e.name, e.value);
        any = true;
      }
    };
    switch (point) {
      case insert_point::env_items: env_entries(preceded); break;
      case insert_point::env_member:
        if (c.has_probers || !c.path_env.empty()) {
          if (preceded) out += ',';
          out += "\"env\":[";
          env_entries(false);
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
          out += "\"--concurrency\",\"";
          append_int(out, c.concurrency);
          out += '"';
        }
        break;
      case insert_point::args_member:
        if (c.concurrency > 0) {
          if (preceded) out += ',';
          out += "\"args\":[\"--concurrency\",\"";
          append_int(out, c.concurrency);
          out += "\"]";
        }
        break;
    }
  };

  // 3. Adds. A list the pod did not have (or had empty) is added whole.
  auto add_items = [&](std::string_view path, const std::vector<sidecar_item>& items, bool pod_list_empty,
                       bool proxy_list) -> bool {
    bool first = pod_list_empty;
    for (std::size_t k = 0; k < items.size(); ++k) {
      op_begin("add");
      patch_ += path;
      patch_ += first ? "\",\"value\":[" : "/-\",\"value\":";
      const bool ok = emit_fragment(items[k].json, *v, holes, patch_, scratch_, error_,
                                    proxy_list && static_cast<int>(k) == v->proxy ? +inserts : nullptr, &ctx);
      if (!ok) return false;
      patch_ += first ? "]}" : "}";
      first = false;
    }
    return true;
  };
  if (!add_items("/spec/initContainers", v->init_containers, p.init_containers.empty(), false) ||
      !add_items("/spec/containers", v->containers, p.containers.empty(), true) ||
      !add_items("/spec/volumes", v->volumes, p.volume_names.empty(), false) ||
      !add_items("/spec/imagePullSecrets", v->image_pull_secrets, p.image_pull_secret_names.empty(), false)) {
    message_ = error_;
    r.kind = outcome::rejected;
    r.message = message_;
    return false;
  }
  // 4. dnsConfig
  if (v->has_dns_config) {
    op_begin("add");
    patch_ += "/spec/dnsConfig\",\"value\":";
    if (!emit_fragment(v->dns_config, *v, holes, patch_, scratch_, error_)) {
      message_ = error_;
      r.kind = outcome::rejected;
      r.message = message_;
      return false;
    }
    patch_ += '}';
  }
  // 5. SDS token mounts need the proxy to read the token: Istio 1.1 sets fsGroup.
  if (snap.sds_token_mount()) {
    op_begin("add");
    if (p.has_security_context) patch_ += "/spec/securityContext/fsGroup\",\"value\":1337}";
    else patch_ += "/spec/securityContext\",\"value\":{\"fsGroup\":1337}}";
  }

  // 6. Annotations: the status (what we injected, for the next re-injection) and
  // the configured injectedAnnotations.
  auto write_status = [&](std::string& out) {
    // When every injected name is a literal the value is the same for every pod
    // of this variant: build it once and keep it with the variant.
    if (v->status_cached) {
      out += v->status_cache;
      return;
    }
    // The value is JSON inside a JSON string: built, then escaped once more.
    scratch2_.clear();
    scratch2_ += "{\"version\":";
    append_json_string(scratch2_, snap.template_version());
    const std::vector<sidecar_item>* lists[] = {&v->init_containers, &v->containers, &v->volumes,
                                                &v->image_pull_secrets};
    static constexpr std::string_view keys[] = {"initContainers", "containers", "volumes", "imagePullSecrets"};
    for (int k = 0; k < 4; ++k) {
      scratch2_ += ",\"";
      scratch2_ += keys[k];
      scratch2_ += "\":";
      if (lists[k]->empty()) {
        scratch2_ += "null";  // Go marshals an empty name list as null
        continue;
      }
      scratch2_ += '[';
      for (std::size_t i = 0; i < lists[k]->size(); ++i) {
        if (i) scratch2_ += ',';
        append_json_string(scratch2_, resolve_ref((*lists[k])[i].name, holes, scratch_));
      }
      scratch2_ += ']';
    }
    scratch2_ += '}';
    const std::size_t at = out.size();
    append_json_string(out, scratch2_);
    bool literal = true;
    for (const auto* list : lists)
      for (const auto& item : *list) literal = literal && item.name.k == value_ref::kind::literal;
    if (literal) {
      v->status_cache.assign(out, at, std::string::npos);
      v->status_cached = true;
    }
  };
  const auto& injected = snap.config().injected_annotations;
  if (!p.has_annotations) {
    op_begin("add");
    if (p.has_metadata) {
      patch_ += "/metadata/annotations\",\"value\":{";
    } else {
      patch_ += "/metadata\",\"value\":{\"annotations\":{";
    }
    for (const auto& [k, val] : injected) {
      append_json_string(patch_, k);
      patch_ += ':';
      append_json_string(patch_, val);
      patch_ += ',';
    }
    append_json_string(patch_, status_annotation);
    patch_ += ':';
    write_status(patch_);
    patch_ += p.has_metadata ? "}}" : "}}}";
  } else {
    auto annotate = [&](std::string_view key, auto write_value) {
      const core::label* existing = p.annotation(key);
      op_begin(existing && !existing->value.empty() ? "replace" : "add");
      patch_ += "/metadata/annotations/";
      scratch_.clear();
      append_pointer_token(scratch_, key);
      append_json_escaped(patch_, scratch_);
      patch_ += "\",\"value\":";
      write_value(patch_);
      patch_ += '}';
    };
    for (const auto& entry : injected) {
      // (clang 14 cannot capture structured bindings, hence `entry`.)
      if (entry.first != status_annotation)
        annotate(entry.first, [&](std::string& out) { append_json_string(out, entry.second); });
    }
    annotate(status_annotation, write_status);
  }

  // 7. Probe rewrites. Indices are those after the removals above (Istio used
  // the indices of the pod as it arrived, which no apiserver can apply).
  if (rewrite && v->proxy >= 0 && status_port >= 0) {
    std::size_t shift = 0;
    for (std::size_t i = 0; i < p.containers.size(); ++i) {
      const container& c = p.containers[i];
      if (is_removed_container(c)) {
        ++shift;
        continue;
      }
      if (c.name == proxy_name) continue;
      for (int which = 0; which < 2; ++which) {
        const bool readiness = which == 0;
        if (readiness ? !c.has_readiness_http_get : !c.has_liveness_http_get) continue;
        const auto obj = (readiness ? c.readiness_http_get : c.liveness_http_get).get_object().value_unsafe();
        op_begin("replace");
        patch_ += "/spec/containers/";
        append_int(patch_, static_cast<std::int64_t>(i - shift));
        patch_ += readiness ? "/readinessProbe/httpGet\",\"value\":{\"path\":\"/app-health/"
                            : "/livenessProbe/httpGet\",\"value\":{\"path\":\"/app-health/";
        append_json_escaped(patch_, c.name);
        patch_ += readiness ? "/readyz\",\"port\":" : "/livez\",\"port\":";
        append_int(patch_, status_port);
        std::string_view s;
        if (!obj.at_key("host").get_string().get(s) && !s.empty()) {
          patch_ += ",\"host\":";
          append_json_string(patch_, s);
        }
        if (!obj.at_key("scheme").get_string().get(s) && !s.empty()) {
          patch_ += ",\"scheme\":";
          append_json_string(patch_, s == "HTTPS" ? std::string_view("HTTP") : s);
        }
        simdjson::dom::element headers;
        if (!obj.at_key("httpHeaders").get(headers) && headers.is_array()) {
          patch_ += ",\"httpHeaders\":";
          write_json(headers, patch_);
        }
        patch_ += "}}";
      }
    }
  }
  patch_ += ']';
  r.kind = outcome::injected;
  r.patch = patch_;
  return true;
}

void engine::write_error_body(injection_result& r) {
  r.kind = outcome::bad_request;
  r.http_status = 400;
  body_.clear();
  body_ += "{\"error\":";
  append_json_string(body_, r.message);
  body_ += '}';
  r.body = body_;
}

void engine::write_response(injection_result& r, const review& rv) {
  body_.clear();
  body_ += rv.version == review_version::v1 ? "{\"apiVersion\":\"admission.k8s.io/v1\""
                                            : "{\"apiVersion\":\"admission.k8s.io/v1beta1\"";
  body_ += ",\"kind\":\"AdmissionReview\",\"response\":{\"uid\":";
  append_json_string(body_, rv.uid);
  const bool allowed = r.kind == outcome::injected || r.kind == outcome::skipped || r.kind == outcome::passthrough;
  body_ += allowed ? ",\"allowed\":true" : ",\"allowed\":false";
  if (r.kind == outcome::injected) {
    body_ += ",\"patchType\":\"JSONPatch\",\"patch\":\"";
    const std::size_t at = body_.size();
    body_.resize(at + base64_encoded_size(patch_.size()));
    base64_encode(patch_, body_.data() + at);
    body_ += '"';
  }
  if (!allowed) {
    const bool client = r.kind == outcome::rejected;
    body_ += ",\"status\":{\"status\":\"Failure\",\"message\":";
    scratch_.clear();
    scratch_ += "meshinject: ";
    scratch_.append(r.message);
    append_json_string(body_, scratch_);
    body_ += client ? ",\"reason\":\"BadRequest\",\"code\":400}" : ",\"reason\":\"InternalError\",\"code\":500}";
  }
  body_ += ",\"auditAnnotations\":{\"decision\":\"";
  switch (r.kind) {
    case outcome::injected: body_ += "inject"; break;
    case outcome::skipped: body_ += "skip"; break;
    case outcome::passthrough: body_ += "passthrough"; break;
    case outcome::rejected: body_ += "reject"; break;
    default: body_ += "error"; break;
  }
  body_ += "\",\"reason\":\"";
  if (r.kind == outcome::passthrough) body_ += passthrough_name(r.passthrough);
  else if (r.has_decision) body_ += core::reason_code(r.decision.reason);
  body_ += '"';
  if (r.has_decision && r.decision.selector_index >= 0) {
    body_ += ",\"selector\":\"";
    body_ += r.decision.reason == core::decision_reason::never_inject_selector ? "neverInjectSelector["
                                                                               : "alwaysInjectSelector[";
    append_int(body_, r.decision.selector_index);
    body_ += "]\"";
  }
  body_ += '}';
  if (r.has_decision && !r.decision.ignored_value.empty()) {
    body_ += ",\"warnings\":[";
    scratch_.clear();
    scratch_ += r.decision.ignored_value_from_label ? "label" : "annotation";
    scratch_ += " sidecar.istio.io/inject=\"";
    scratch_.append(r.decision.ignored_value);
    scratch_ += "\" is not one of y, yes, true, on, n, no, false, off; it is ignored";
    append_json_string(body_, scratch_);
    body_ += ']';
  }
  body_ += "}}";
  r.body = body_;
}

}  // namespace meshinject::patch
