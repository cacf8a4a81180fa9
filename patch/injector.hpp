#pragma once
// The injection engine: AdmissionReview bytes in, AdmissionReview response out.
//
// A `snapshot` is an immutable, fully compiled configuration (policy, selector
// bytecode, template program). Every reactor owns an `engine`: its own parsers,
// buffers and cache of compiled template variants, and a shared_ptr to the
// snapshot it serves. Swapping in a new snapshot is a pointer assignment on the
// reactor's own thread; nothing mutable is shared between engines.

#include <simdjson.h>

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/decision.hpp"
#include "core/injection_config.hpp"
#include "core/json_tree.hpp"
#include "core/mesh_config.hpp"
#include "patch/admission.hpp"
#include "patch/engine_stats.hpp"
#include "patch/pod.hpp"
#include "patch/response_body.hpp"
#include "patch/sidecar.hpp"
#include "patch/template_data.hpp"
#include "patch/variant_cache.hpp"

namespace meshinject::patch {

struct config_sources {
  // Empty inject_config_text: the embedded default config.
  std::string inject_config_text;
  std::string inject_config_name = "embedded default";
  std::string mesh_text;  // empty: Istio's built-in mesh defaults
  std::string mesh_name;
  std::string values_text;
  std::string values_name;
  // Upstream's tests pin the status annotation's version; production uses the
  // SHA-256 of the template text.
  std::string version_override;

  // Istio 1.28's injector settings for configs in the named-templates shape
  // (Istio reads them from its flags, environment and the cluster; meshinject
  // has no API client, so they are given). `revision`: .Revision and the status
  // annotation's (empty: "default"). `native_sidecars`: ENABLE_NATIVE_SIDECARS
  // (a pod's sidecar.istio.io/nativeSidecar annotation overrides it).
  // `proxy_uid`/`proxy_gid`: an OpenShift namespace's UID range start (< 0: none).
  // `compliance_policy`: COMPLIANCE_POLICY.
  std::string revision;
  bool native_sidecars = true;
  std::int64_t proxy_uid = -1;
  std::int64_t proxy_gid = -1;
  std::string compliance_policy;

  // What rendering the templates may cost per pod (--max-template-steps,
  // --max-patch-bytes): a pod past a bound is refused with a message naming it.
  tmpl::eval_limits template_limits;
  // What the mesh and values documents may expand to (--max-config-nodes,
  // --max-config-depth).
  core::yaml_limits config_limits;
};

// One of Istio >= 1.9's named templates, compiled at load.
struct named_program {
  std::string name;
  std::unique_ptr<tmpl::program> program;
  // `waypoint`, `kube-gateway`: Istio's gateway controller renders them into a
  // Deployment and a Service; a pod that selects one is refused.
  bool gateway_controller = false;
};

class snapshot {
 public:
  // Loads and compiles everything; throws core::config_error with
  // file:line:column. A snapshot that builds is one that serves.
  static std::shared_ptr<const snapshot> build(const config_sources& sources);

  const core::injection_config& config() const noexcept { return config_; }
  const core::mesh_config& mesh() const noexcept { return mesh_; }
  const core::config_node& values() const noexcept { return values_; }
  // The single-template shape's program (not for the named-templates shape).
  const tmpl::program& program() const noexcept { return *program_; }
  bool named_templates() const noexcept { return config_.shape == core::config_shape::named_templates; }
  // The named-templates shape: every template, in the file's order, and the
  // settings its `.` carries (the pod fields unset).
  const std::vector<named_program>& named_programs() const noexcept { return named_; }
  const named_program* find_named(std::string_view name) const noexcept;
  const template_data& named_settings() const noexcept { return named_settings_; }
  const std::string& template_version() const noexcept { return version_; }
  const std::string& content_hash() const noexcept { return content_hash_; }
  const std::vector<std::string>& warnings() const noexcept { return warnings_; }
  const config_sources& sources() const noexcept { return sources_; }
  // Mesh config says the service-account token is mounted for SDS (Istio 1.1
  // then sets the pod's fsGroup to 1337).
  bool sds_token_mount() const noexcept { return sds_token_mount_; }
  // The single-template shape: the text its variants share, held once here
  // (the variant a plain pod gets; null when that pod does not render). The
  // cores' caches count none of it; `heap_bytes()` is what it holds.
  const shared_variant_text* shared_text() const noexcept { return shared_text_.get(); }

 private:
  snapshot() = default;
  void compile_named(const std::string& config_text);  // the named-templates shape
  config_sources sources_;
  core::injection_config config_;
  core::mesh_config mesh_;
  core::config_node values_;
  std::unique_ptr<tmpl::program> program_;
  std::vector<named_program> named_;
  template_data named_settings_;
  std::string version_;
  std::string content_hash_;
  std::vector<std::string> warnings_;
  bool sds_token_mount_ = false;
  std::unique_ptr<const shared_variant_text> shared_text_;
};

// The pod lists an injection adds to, and a re-injection first removes from
// (the lists of the status annotation, in its order).
enum class injected_list : std::uint8_t { init_containers, containers, volumes, image_pull_secrets };
inline constexpr std::size_t injected_list_count = 4;

class json_patch_writer;
struct named_workspace;

struct env_pair {
  std::string_view name;
  std::string_view value;
};

struct injection_result {
  outcome kind = outcome::bad_request;
  int http_status = 400;
  std::string_view body;     // the HTTP response body (JSON)
  std::string_view patch;    // the JSON Patch text (not base64) when injected
  bool has_decision = false;
  core::decision decision{};
  std::string_view uid;
  std::string_view namespace_name;
  std::string_view pod_name;          // name, else generateName
  std::string_view message;           // why rejected / failed / bad request
  passthrough_reason passthrough = passthrough_reason::not_a_pod;  // when kind == passthrough
  review_version version = review_version::v1;
  bool compiled_variant = false;  // this request compiled a template variant (a cache miss)
};

class engine {
 public:
  explicit engine(std::shared_ptr<const snapshot> s,
                  std::size_t max_variants = variant_cache_limits::default_entries);
  engine(std::shared_ptr<const snapshot> s, variant_cache_limits limits);
  ~engine();
  engine(const engine&) = delete;
  engine& operator=(const engine&) = delete;

  // Drops the variant cache: variants belong to the snapshot they came from.
  void set_snapshot(std::shared_ptr<const snapshot> s);
  const snapshot& current() const noexcept { return *snapshot_; }
  const std::shared_ptr<const snapshot>& current_ptr() const noexcept { return snapshot_; }

  // Handles one AdmissionReview. With capacity >= len + SIMDJSON_PADDING the body
  // is parsed in place. The views in the result live until the next call.
  injection_result handle(const char* body, std::size_t len, std::size_t capacity,
                          std::span<const env_pair> path_env = {});

  // kube-inject and explain: runs the decision and, when it says inject, builds
  // the patch for a pod object (its JSON already parsed). `deployment` is what
  // the template sees as .DeploymentMeta (null: the pod's own metadata).
  injection_result inject_pod(simdjson::dom::element pod_object, std::string_view namespace_name,
                              const workload_meta* deployment, bool force = false);

  std::size_t cached_variants() const noexcept;
  // The heap the compile workspace's part memo holds (sidecar.hpp).
  std::size_t compile_memo_bytes() const noexcept;
  const engine_stats& stats() const noexcept { return stats_; }

 private:
  struct patch_inputs;  // the pod, its variant and this request's hole values

 public:
  struct request_context;  // what a request adds to the proxy container (patch_builder.cpp)

 private:

  injection_result handle_review(const char* body, std::size_t len, std::size_t capacity,
                                 std::span<const env_pair> path_env);
  // build_patch orchestrates the steps below it (patch_builder.cpp); each step
  // writes its operations through the json_patch_writer.
  bool build_patch(const pod& p, const workload_meta* deployment, std::span<const env_pair> path_env,
                   injection_result& r);
  bool fail(injection_result& r, outcome kind);  // with message_
  bool patch_within_bound(injection_result& r);  // r.patch against --max-patch-bytes
  void collect_removals(const pod& p);
  void read_status_names(std::string_view status);
  const pod& pod_after_removals(const pod& p);
  template_data template_data_for(const pod& view, const workload_meta* deployment) const;
  void write_removals(json_patch_writer& w, const pod& p) const;
  bool probe_rewrite_requested(const patch_inputs& in);
  int status_port_of(const patch_inputs& in);
  request_context proxy_additions(const patch_inputs& in, std::span<const env_pair> path_env, bool rewrite);
  std::int64_t derived_concurrency(const patch_inputs& in);
  void write_app_probers(const pod& p, std::string& out) const;
  bool write_sidecar_items(json_patch_writer& w, const patch_inputs& in, request_context& ctx);
  bool write_pod_level_adds(json_patch_writer& w, const patch_inputs& in);
  void write_annotations(json_patch_writer& w, const patch_inputs& in);
  std::string& begin_annotation(json_patch_writer& w, const pod& p, std::string_view key);
  void write_status_value(std::string& out, const patch_inputs& in);
  bool status_value(const sidecar_variant& v, std::span<const tmpl::value> holes, std::string& out);
  void keep_status(sidecar_variant& v);
  void write_probe_rewrites(json_patch_writer& w, const pod& p, int status_port);
  void write_probe_rewrite(json_patch_writer& w, const container& c, std::size_t index, bool readiness,
                           int status_port);

  // Istio >= 1.9's path for the named-templates shape (named_injector.cpp).
  bool build_named_patch(const pod& p, const workload_meta* deployment, std::span<const env_pair> path_env,
                         injection_result& r);
  bool select_named_templates(const pod& p, outcome& kind);
  template_data named_data_for(const pod& view, const workload_meta* deployment);
  bool render_named(const named_program& t, const template_data& data, core::json::value& out, bool& rendered_now,
                    bool share_plain);
  bool use_pod_proxy_config(std::string_view annotation);
  core::json::error post_process_named(core::json::value& merged, const core::json::value& template_pod,
                                       const pod& p, std::span<const env_pair> path_env);

  // The cached variant for trace_, else one compiled now and cached (counted in stats_).
  const sidecar_variant* variant_for(const template_data& data, injection_result& r);
  void write_response(injection_result& r, const review& rv);
  void write_error_body(injection_result& r);
  void append_json_string_to_body(std::string_view s);

  std::shared_ptr<const snapshot> snapshot_;
  // The request came as an AdmissionReview (handle), not from kube-inject:
  // Istio's webhook does a few things istioctl does not (OpenShift's user reset).
  bool serving_review_ = false;
  engine_stats stats_;
  std::unique_ptr<named_workspace> named_;
  variant_cache variants_;

  simdjson::dom::parser parser_;
  review_scratch review_scratch_;  // the key scan's scratch; a review whose keys repeat, rewritten
  simdjson::dom::parser status_parser_;
  std::string status_buffer_;
  std::string own_buffer_;  // a padded copy, for callers that cannot pad
  review review_;
  pod pod_;
  pod filtered_;  // the pod without what a previous injection added
  struct removal_names {
    std::array<std::vector<std::string_view>, injected_list_count> by_list;
    std::vector<std::string_view>& operator[](injected_list l) noexcept { return by_list[static_cast<std::size_t>(l)]; }
    const std::vector<std::string_view>& operator[](injected_list l) const noexcept {
      return by_list[static_cast<std::size_t>(l)];
    }
  } removed_;  // names the previous injection added, per list
  tmpl::trace_state trace_;
  // A miss's buffers, kept from one miss to the next: the render's workspace
  // (apart from trace_, whose holes the request still needs), its text, and the
  // compile's workspace (the YAML reader that reads it, the compiler's scratch).
  tmpl::trace_state render_workspace_;
  tmpl::render_result rendered_;
  std::unique_ptr<compile_workspace> compile_workspace_;  // a miss's reader and scratch, kept between misses
  std::string patch_;
  response_body body_;
  std::string escape_scratch_;  // a string escaped before it is copied into body_
  std::string scratch_;
  std::string scratch2_;
  std::string status_scratch_;  // a miss's status value, before it is kept at its size
  std::string error_;
  std::string message_;
};

}  // namespace meshinject::patch
