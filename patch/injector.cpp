#include "patch/injector.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <chrono>
#include <cstring>

#include "core/error.hpp"
#include "core/yaml_reader.hpp"
#include "patch/base64.hpp"
#include "patch/default_config.hpp"
#include "patch/json_text.hpp"
#include "patch/named_injector.hpp"

namespace meshinject::patch {
namespace {

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

constexpr std::string_view gateway_controller_templates[] = {"waypoint", "kube-gateway"};

std::string_view inbound_mode_of(const core::mesh_config& mesh) {
  const core::config_node* policy = mesh.root.find("inboundTrafficPolicy");
  const core::config_node* mode = policy ? policy->find("mode") : nullptr;
  const bool localhost = mode && ((mode->type() == core::config_node::kind::string && mode->text() == "LOCALHOST") ||
                                  (mode->type() == core::config_node::kind::integer && mode->as_int() == 1));
  return localhost ? "localhost" : "passthrough";
}

}  // namespace


std::shared_ptr<const snapshot> snapshot::build(const config_sources& sources) {
  std::shared_ptr<snapshot> s(new snapshot());
  s->sources_ = sources;
  const bool embedded = sources.inject_config_text.empty();
  const std::string config_text = embedded ? std::string(default_injection_config()) : sources.inject_config_text;
  const std::string config_name = embedded ? "embedded default" : sources.inject_config_name;
  s->config_ = core::load_injection_config(config_text, config_name);
  // The revision the status annotation carries (Istio's "default" when unset);
  // the decision skips pods another revision injected.
  s->config_.rules.revision = sources.revision.empty() ? "default" : sources.revision;
  // The embedded template reads its own values; --values replaces them whole, as
  // a ConfigMap's `values` key would.
  if (embedded && sources.values_text.empty()) {
    s->sources_.values_text = std::string(default_values());
    s->sources_.values_name = "embedded default values";
  }
  const core::mesh_defaults release =
      s->named_templates() ? core::mesh_defaults::istio_1_28 : core::mesh_defaults::istio_1_1;
  s->mesh_ = sources.mesh_text.empty() ? core::default_mesh_config(release)
                                       : core::load_mesh_config(sources.mesh_text, sources.mesh_name, release,
                                                                sources.config_limits);
  const config_sources& given = s->sources_;
  s->values_ = given.values_text.empty() ? core::config_node::make_map()
                                         : core::load_values(given.values_text, given.values_name,
                                                             given.config_limits);
  if (s->named_templates()) {
    s->compile_named(config_text);
    return s;
  }
  try {
    s->program_ = compile_template(s->config_.template_text, s->mesh_, s->values_);
    s->program_->set_limits(sources.template_limits);
  } catch (const tmpl::program::compile_error& e) {
    const auto [line, col] = tmpl::line_column(s->config_.template_text, e.pos);
    throw core::config_error(core::template_position(s->config_, line, col), "template: " + e.message);
  }
  s->version_ = sources.version_override.empty() ? sha256_hex(s->config_.template_text) : sources.version_override;
  s->content_hash_ = sha256_hex(config_text + '\0' + sources.mesh_text + '\0' + given.values_text);
  s->warnings_ = s->config_.warnings;
  s->warnings_.insert(s->warnings_.end(), s->mesh_.warnings.begin(), s->mesh_.warnings.end());
  for (auto& w : core::values_warnings(given.values_text, given.values_name)) s->warnings_.push_back(std::move(w));
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
  s->shared_text_ = std::make_unique<const shared_variant_text>(v);
  return s;
}

void snapshot::compile_named(const std::string& config_text) {
  template_data& d = named_settings_;
  d.proxy_config = &mesh_.proxy_config();
  d.mesh = &mesh_.root;
  d.values = &values_;
  d.istio_1_28 = true;
  d.revision = sources_.revision;
  d.native_sidecars = sources_.native_sidecars;
  d.has_proxy_ids = sources_.proxy_uid >= 0;
  d.proxy_uid = sources_.proxy_uid;
  d.proxy_gid = sources_.proxy_gid >= 0 ? sources_.proxy_gid : sources_.proxy_uid;
  d.compliance_policy = sources_.compliance_policy;
  d.inbound_traffic_policy_mode = inbound_mode_of(mesh_);
  std::string all_templates;
  for (const core::named_template& t : config_.templates) {
    named_program compiled;
    compiled.name = t.name;
    compiled.gateway_controller = std::find(std::begin(gateway_controller_templates),
                                            std::end(gateway_controller_templates),
                                            t.name) != std::end(gateway_controller_templates);
    try {
      template_data load = d;
      load.gateway_controller = compiled.gateway_controller;
      compiled.program = compile_named_template(t.text, load);
      compiled.program->set_limits(sources_.template_limits);
    } catch (const tmpl::program::compile_error& e) {
      const auto [line, col] = tmpl::line_column(t.text, e.pos);
      throw core::config_error(core::template_position(config_, t, line, col),
                               "template " + t.name + ": " + e.message);
    }
    named_.push_back(std::move(compiled));
    all_templates += t.name + '\0' + t.text + '\0';
  }
  version_ = sources_.version_override.empty() ? sha256_hex(all_templates) : sources_.version_override;
  content_hash_ = sha256_hex(config_text + '\0' + sources_.mesh_text + '\0' + sources_.values_text);
  warnings_ = config_.warnings;
  warnings_.insert(warnings_.end(), mesh_.warnings.begin(), mesh_.warnings.end());
  for (auto& w : core::values_warnings(sources_.values_text, sources_.values_name)) warnings_.push_back(std::move(w));
}

const named_program* snapshot::find_named(std::string_view name) const noexcept {
  for (const named_program& n : named_)
    if (n.name == name) return &n;
  return nullptr;
}

// -------------------------------------------------------------------- engine

engine::engine(std::shared_ptr<const snapshot> s, std::size_t max_variants)
    : engine(std::move(s), variant_cache_limits{.entries = max_variants}) {}

engine::engine(std::shared_ptr<const snapshot> s, variant_cache_limits limits)
    : snapshot_(std::move(s)),
      named_(std::make_unique<named_workspace>()),
      variants_(limits),
      compile_workspace_(std::make_unique<compile_workspace>()) {
  compile_workspace_->collect_warnings = false;  // reported once, by the snapshot
  patch_.reserve(16 * 1024);
  body_.reserve(32 * 1024);
  escape_scratch_.reserve(1024);
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
  variants_.clear();  // first: its variants point into the old snapshot's shared text
  snapshot_ = std::move(s);
  named_->memo.clear();  // keyed by the old snapshot's programs
  compile_workspace_->forget_parts();  // written under the old template
  named_->pod_proxy_configs.clear();  // merged over the old mesh's defaultConfig
  named_->next_replaced = 0;
  named_->facts_of = nullptr;  // read from the old snapshot's values and mesh
  stats_.cached_variants.set(0);
  stats_.cached_variant_bytes.set(0);
}

std::size_t engine::cached_variants() const noexcept { return variants_.size(); }
std::size_t engine::compile_memo_bytes() const noexcept { return compile_workspace_->memo_bytes(); }

const sidecar_variant* engine::variant_for(const template_data& data, injection_result& r) {
  const std::span<const std::uint8_t> trace(trace_.trace);
  if (const sidecar_variant* v = variants_.find(trace)) {
    stats_.variant_hits.inc();
    return v;
  }
  // A variant this core has not seen: render and compile it here, on the
  // reactor (no YAML library, no exceptions), and keep it.
  r.compiled_variant = true;
  const auto started = std::chrono::steady_clock::now();
  const sidecar_variant* kept = nullptr;
  sidecar_variant compiled;
  if (snapshot_->program().render(template_root(data), trace, rendered_, error_, render_workspace_) &&
      compile_sidecar(snapshot_->program(), rendered_, compiled, error_, *compile_workspace_,
                      snapshot_->shared_text())) {
    keep_status(compiled);
    const std::uint64_t evicted_before = variants_.evictions();
    kept = variants_.insert(trace, std::move(compiled));
    stats_.variant_evictions.add(variants_.evictions() - evicted_before);
    stats_.cached_variants.set(static_cast<std::int64_t>(variants_.size()));
    stats_.cached_variant_bytes.set(static_cast<std::int64_t>(variants_.bytes()));
  }
  stats_.variant_compiles.inc();
  stats_.variant_compile_ns.add(static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - started).count()));
  return kept;
}

injection_result engine::handle(const char* body, std::size_t len, std::size_t capacity,
                                std::span<const env_pair> path_env) {
  injection_result r = handle_review(body, len, capacity, path_env);
  stats_.count(r.kind);
  if (r.kind == outcome::passthrough) stats_.count(r.passthrough);
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
  if (!parse_review(parser_, review_scratch_, data, len, capacity, review_, pod_, error_)) {
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
  serving_review_ = true;
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
  serving_review_ = false;
  build_patch(pod_, deployment, {}, r);
  return r;
}

void engine::write_error_body(injection_result& r) {
  r.kind = outcome::bad_request;
  r.http_status = 400;
  body_.clear();
  body_ += "{\"error\":";
  append_json_string_to_body(r.message);
  body_ += '}';
  r.body = body_.view();
}

void engine::append_json_string_to_body(std::string_view s) {
  escape_scratch_.clear();
  append_json_string(escape_scratch_, s);
  body_ += escape_scratch_;
}

void engine::write_response(injection_result& r, const review& rv) {
  body_.clear();
  body_ += rv.version == review_version::v1 ? "{\"apiVersion\":\"admission.k8s.io/v1\""
                                            : "{\"apiVersion\":\"admission.k8s.io/v1beta1\"";
  body_ += ",\"kind\":\"AdmissionReview\",\"response\":{\"uid\":";
  append_json_string_to_body(rv.uid);
  const bool allowed = r.kind == outcome::injected || r.kind == outcome::skipped || r.kind == outcome::passthrough;
  body_ += allowed ? ",\"allowed\":true" : ",\"allowed\":false";
  if (r.kind == outcome::injected) {
    body_ += ",\"patchType\":\"JSONPatch\",\"patch\":\"";
    base64_encode(patch_, body_.extend(base64_encoded_size(patch_.size())));
    body_ += '"';
  }
  if (!allowed) {
    const bool client = r.kind == outcome::rejected;
    body_ += ",\"status\":{\"status\":\"Failure\",\"message\":";
    scratch_.clear();
    scratch_ += "meshinject: ";
    scratch_.append(r.message);
    append_json_string_to_body(scratch_);
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
    scratch_.clear();
    append_int(scratch_, r.decision.selector_index);
    body_ += scratch_;
    body_ += "]\"";
  }
  body_ += '}';
  if (r.has_decision && r.decision.reason == core::decision_reason::foreign_injection) {
    body_ += ",\"warnings\":[";
    core::append_foreign_injection_warning(scratch_, r.decision);
    append_json_string_to_body(scratch_);
    body_ += ']';
  } else if (r.has_decision && !r.decision.ignored_value.empty()) {
    body_ += ",\"warnings\":[";
    scratch_.clear();
    scratch_ += r.decision.ignored_value_from_label ? "label" : "annotation";
    scratch_ += " sidecar.istio.io/inject=\"";
    scratch_.append(r.decision.ignored_value);
    scratch_ += "\" is not one of ";
    scratch_ += core::accepted_inject_values(r.decision.dialect);  // 1.28's configs accept only true, false
    scratch_ += "; it is ignored";
    append_json_string_to_body(scratch_);
    body_ += ']';
  }
  body_ += "}}";
  r.body = body_.view();
}

}  // namespace meshinject::patch
