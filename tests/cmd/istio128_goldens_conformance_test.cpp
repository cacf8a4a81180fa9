// Istio 1.28's injection goldens, row by row, through kube-inject and the webhook.
//
// The rows are upstream's TestInjection table as conformance/istio-1.28/cases.yaml
// records it, plus every input of inject/ that no row names (default settings), as
// upstream adds them. Each row is built the way upstream's test builds it:
//   config  rendered/config.yaml, plus the templates an .iop.yaml overlay adds under
//           values.sidecarInjectorWebhook.templates (the chart copies them into
//           `templates`);
//   values  rendered/values.json with the row's `setFlags` and the overlay's
//           `values` applied, paths mapped as the chart maps them (translate_path);
//   mesh    Istio's default mesh (the engine's 1.28 defaults) changed by the row's
//           `mesh:`, a Go statement translated by hand (mesh_changes);
//   setup   rows upstream prepares in Go code (`setup: custom`) rebuilt from its
//           test (custom_setups).
// kube-inject runs as a user runs it, with istioctl's flags on files in a temporary
// directory; its output is compared with the golden document by document, as JSON
// values. The webhook path sends each pod template as an AdmissionReview (owner
// references simulated as upstream's objectToPod does), applies the patch with
// nlohmann-json and compares with the golden's pod template, the status annotation
// aside as upstream does.
//
// Rows that do not pass yet are listed in istio128_known_failures.txt with their
// reason. The test fails for a failing row that is not listed and for a listed row
// that passes, so the list only shrinks, and only honestly.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "cmd/config_flags.hpp"
#include "cmd/yaml_io.hpp"
#include "tests/cmd/cli_runner.hpp"
#include "tests/support/engine_fixture.hpp"

namespace meshinject::test {
namespace {

namespace fs = std::filesystem;

struct golden_row {
  std::string in, want;
  std::vector<std::string> set_flags;
  std::string iop_file, mesh, setup, expected_error, expected_log;
  bool skip_webhook = false, skip_injection = false;
  std::string id;  // the golden's name (the input's for error rows), "@2" on a repeat
};

std::string scalar(const YAML::Node& n, const char* key) {
  return n[key] && n[key].IsScalar() ? n[key].as<std::string>() : std::string();
}

// The table of cases.yaml, then the inputs no row covers, as upstream's test adds them.
std::vector<golden_row> load_rows(const fs::path& data) {
  std::vector<golden_row> rows;
  const YAML::Node table = YAML::LoadFile((data / "cases.yaml").string());
  for (const YAML::Node& c : table["cases"]) {
    golden_row r;
    r.in = scalar(c, "in");
    r.want = scalar(c, "want");
    r.iop_file = scalar(c, "inFilePath");
    r.mesh = scalar(c, "mesh");
    r.setup = scalar(c, "setup");
    r.expected_error = scalar(c, "expectedError");
    r.expected_log = scalar(c, "expectedLog");
    r.skip_webhook = c["skipWebhook"] && c["skipWebhook"].as<bool>();
    r.skip_injection = c["skipInjection"] && c["skipInjection"].as<bool>();
    if (c["setFlags"])
      for (const YAML::Node& f : c["setFlags"]) r.set_flags.push_back(f.as<std::string>());
    rows.push_back(std::move(r));
  }
  std::set<std::string> covered;
  for (const golden_row& r : rows) covered.insert(r.want.empty() ? r.in + ".injected" : r.want);
  std::vector<std::string> extra;
  for (const auto& e : fs::directory_iterator(data / "inject")) {
    const std::string name = e.path().filename().string();
    if (name.size() < 5 || name.substr(name.size() - 5) != ".yaml" || name.find(".iop.yaml") != std::string::npos)
      continue;
    if (!covered.count(name + ".injected")) extra.push_back(name);
  }
  std::sort(extra.begin(), extra.end());
  for (const std::string& name : extra) rows.push_back({.in = name, .want = name + ".injected"});

  std::map<std::string, int> seen;
  for (golden_row& r : rows) {
    const std::string base = r.want.empty() ? r.in : r.want;
    const int n = ++seen[base];
    r.id = n == 1 ? base : base + "@" + std::to_string(n);
  }
  return rows;
}

// ---- building a row's config, values and mesh -------------------------------------

struct row_inputs {
  std::string config, values, mesh;
  bool native_sidecars = true;
  std::string namespace_annotations;  // k=v,...: what the test cluster's namespace carries
  std::string problem;                // set when the row cannot be built as upstream builds it
};

// `--set` values as the operator reads them: bools and integers typed, the rest text.
json set_value(const std::string& text) {
  if (text == "true") return true;
  if (text == "false") return false;
  if (!text.empty() && text.find_first_not_of("0123456789") == std::string::npos) return std::stoll(text);
  return text;
}

// An IstioOperator path to a path in the `values` key. The istiod chart reads its
// own values (`cni`, `env`) from the top, and the ConfigMap keeps them under `pilot`;
// `components.cni.enabled` becomes `pilot.cni.enabled` (operator/pkg/render/manifest.go).
std::optional<std::vector<std::string>> translate_path(const std::string& dotted) {
  std::vector<std::string> parts;
  std::stringstream in(dotted);
  for (std::string p; std::getline(in, p, '.');) parts.push_back(p);
  if (parts.size() == 3 && parts[0] == "components" && parts[1] == "cni" && parts[2] == "enabled")
    return std::vector<std::string>{"pilot", "cni", "enabled"};
  if (parts.size() < 2 || parts[0] != "values") return std::nullopt;
  parts.erase(parts.begin());
  if (parts[0] == "cni" || parts[0] == "env") parts.insert(parts.begin(), "pilot");
  return parts;
}

void merge_into(json& target, const json& overlay) {
  if (!target.is_object() || !overlay.is_object()) {
    target = overlay;
    return;
  }
  for (auto it = overlay.begin(); it != overlay.end(); ++it) merge_into(target[it.key()], it.value());
}

// Istio's Go `mesh:` statements of cases.yaml, as mesh config YAML over the defaults.
const std::map<std::string, std::string>& mesh_changes() {
  static const std::map<std::string, std::string> table = {
      {"m.DefaultConfig.InterceptionMode = meshapi.ProxyConfig_TPROXY", "defaultConfig:\n  interceptionMode: TPROXY\n"},
      {"m.DefaultConfig.DrainDuration = durationpb.New(time.Second * 23)", "defaultConfig:\n  drainDuration: 23s\n"},
      {"if m.DefaultConfig.ProxyMetadata == nil { m.DefaultConfig.ProxyMetadata = map[string]string{} } "
       "m.DefaultConfig.ProxyMetadata[\"ISTIO_META_TLS_CLIENT_KEY\"] = \"/etc/identity/client/keys/client-key.pem\"",
       "defaultConfig:\n  proxyMetadata:\n    ISTIO_META_TLS_CLIENT_KEY: /etc/identity/client/keys/client-key.pem\n"},
      {"m.DefaultConfig.Tracing = &meshapi.Tracing{}", "defaultConfig:\n  tracing: {}\n"},
      {"m.InboundTrafficPolicy = &meshapi.MeshConfig_InboundTrafficPolicy{ Mode: "
       "meshapi.MeshConfig_InboundTrafficPolicy_LOCALHOST, }",
       "inboundTrafficPolicy:\n  mode: LOCALHOST\n"},
  };
  return table;
}

// Upstream's `setup` functions: the old-version and second native-sidecar rows set
// ENABLE_NATIVE_SIDECARS off; the OpenShift rows run on platform OpenShift, where
// the test namespace's UID-range annotations give the proxy its UID.
void apply_custom_setup(const golden_row& r, row_inputs& out) {
  if (r.setup.empty()) return;
  if (r.want.find("old-version") != std::string::npos || r.want.rfind("native-sidecar-opt-", 0) == 0) {
    out.native_sidecars = false;
  } else if (r.want.rfind("hello-openshift", 0) == 0) {
    out.namespace_annotations =
        "openshift.io/sa.scc.uid-range=1000620000/10000,openshift.io/sa.scc.supplemental-groups=1000620000/10000";
  } else {
    out.problem = "setup not rebuilt for " + r.id;
  }
}

// Adds named templates after those of the config's `templates:` key, as the chart's
// ConfigMap lists values.sidecarInjectorWebhook.templates after its own.
std::string with_templates(std::string config, const json& templates) {
  const std::string key = "\ntemplates:\n";
  std::size_t at = config.find(key);
  if (at == std::string::npos) return config;
  // The end of the `templates` block: the next line that starts in column 0.
  at += key.size();
  while (at < config.size() && (config[at] == ' ' || config[at] == '\n')) {
    const std::size_t eol = config.find('\n', at);
    at = eol == std::string::npos ? config.size() : eol + 1;
  }
  if (at == config.size() && config.back() != '\n') config += '\n';
  std::string added;
  for (auto it = templates.begin(); it != templates.end(); ++it) {
    added += "  " + it.key() + ": |\n";
    std::stringstream lines(it.value().get<std::string>());
    for (std::string line; std::getline(lines, line);) added += (line.empty() ? "" : "    ") + line + "\n";
  }
  config.insert(std::min(at, config.size()), added);
  return config;
}

row_inputs build_inputs(const golden_row& r, const fs::path& data) {
  row_inputs out;
  out.config = read_file(data / "rendered" / "config.yaml");
  json values = json::parse(read_file(data / "rendered" / "values.json"));
  for (const std::string& flag : r.set_flags) {
    const std::size_t eq = flag.find('=');
    const auto path = translate_path(flag.substr(0, eq));
    if (eq == std::string::npos || !path) {
      out.problem = "setFlags " + flag + " has no translation to the values";
      return out;
    }
    json* at = &values;
    for (const std::string& p : *path) at = &(*at)[p];
    *at = set_value(flag.substr(eq + 1));
  }
  if (!r.iop_file.empty()) {
    const json iop = yaml_to_json(read_file(data / "inject" / r.iop_file));
    const json spec = iop.value("spec", json::object());
    for (auto it = spec.begin(); it != spec.end(); ++it)
      if (it.key() != "values") {
        out.problem = r.iop_file + ": spec." + it.key() + " has no translation";
        return out;
      }
    json overlay = spec.value("values", json::object());
    for (const char* pilot_key : {"cni", "env"})
      if (overlay.contains(pilot_key)) {
        overlay["pilot"][pilot_key] = overlay[pilot_key];
        overlay.erase(pilot_key);
      }
    merge_into(values, overlay);
    if (overlay.contains("sidecarInjectorWebhook") && overlay["sidecarInjectorWebhook"].contains("templates"))
      out.config = with_templates(out.config, overlay["sidecarInjectorWebhook"]["templates"]);
  }
  out.values = values.dump(2);
  if (!r.mesh.empty()) {
    const auto found = mesh_changes().find(r.mesh);
    if (found == mesh_changes().end()) {
      out.problem = "mesh change not translated: " + r.mesh;
      return out;
    }
    out.mesh = found->second;
  }
  apply_custom_setup(r, out);
  return out;
}

// ---- comparing by meaning -------------------------------------------------------

// Kubernetes reads a null member as an absent one (`creationTimestamp: null`), and
// an env fieldRef's apiVersion defaults to v1 (upstream's test blanks it too).
void normalize(json& v) {
  if (v.is_object()) {
    for (auto it = v.begin(); it != v.end();) {
      if (it.value().is_null()) {
        it = v.erase(it);
      } else {
        normalize(it.value());
        ++it;
      }
    }
    if (v.contains("fieldRef") && v["fieldRef"].is_object()) v["fieldRef"].erase("apiVersion");
  } else if (v.is_array()) {
    for (json& item : v) normalize(item);
  }
}

// kubectl apply never sends an object's `status` (istioctl's Go types print a
// DaemonSet's as zeros; meshinject's kube-inject copies what the input has).
std::vector<json> documents(const std::string& text) {
  std::vector<json> out;
  for (const auto& chunk : cmd::yaml::split_documents(text)) {
    json doc = yaml_to_json(chunk.separator + chunk.body);
    if (doc.is_null()) continue;
    normalize(doc);
    if (doc.is_object()) doc.erase("status");
    out.push_back(std::move(doc));
  }
  return out;
}

// The injectable objects of a document, List items expanded (upstream's
// getInjectableYamlDocs).
void injectables(const json& doc, std::vector<json>& out) {
  static const std::set<std::string> kinds = {"Deployment", "DeploymentConfig", "DaemonSet", "StatefulSet", "Job",
                                              "ReplicaSet", "ReplicationController", "CronJob", "Pod"};
  if (!doc.is_object()) return;
  const std::string kind = doc.value("kind", "");
  if (kind == "List") {
    for (const json& item : doc.value("items", json::array())) injectables(item, out);
  } else if (kinds.count(kind)) {
    out.push_back(doc);
  }
}

json owned_by(json meta, const std::string& api_version, const std::string& kind, const std::string& name) {
  if (!meta.is_object()) meta = json::object();
  meta["generateName"] = name;
  meta["ownerReferences"] = json::array(
      {{{"apiVersion", api_version}, {"kind", kind}, {"name", name}, {"controller", true}}});
  return meta;
}

// The pod the apiserver would send for an object (upstream's objectToPod).
json object_to_pod(const json& obj) {
  const std::string kind = obj.value("kind", "");
  const std::string api_version = obj.value("apiVersion", "v1");
  const std::string name = obj.contains("metadata") ? obj["metadata"].value("name", "") : "";
  if (kind == "Pod") return obj;
  json pod_template = kind == "CronJob" ? obj["spec"]["jobTemplate"]["spec"]["template"] : obj["spec"]["template"];
  json pod = {{"apiVersion", "v1"}, {"kind", "Pod"}};
  if (kind == "Deployment") {
    json meta = owned_by(pod_template.value("metadata", json::object()), "apps/v1", "ReplicaSet", name + "-fake");
    meta["generateName"] = name + "-fake-";
    meta["labels"]["pod-template-hash"] = "fake";
    pod["metadata"] = meta;
  } else {
    pod["metadata"] = owned_by(pod_template.value("metadata", json::object()), api_version, kind, name);
  }
  pod["spec"] = pod_template.value("spec", json::object());
  return pod;
}

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

// The message without the temporary directory, so the list's reasons stay put.
std::string without(std::string text, const std::string& part) {
  for (std::size_t at = text.find(part); at != std::string::npos; at = text.find(part)) text.erase(at, part.size());
  return text;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// ---- running a row ----------------------------------------------------------------

struct row_files {
  temp_dir dir;
  fs::path config, values, mesh;
};

void write_inputs(const row_inputs& in, row_files& f) {
  f.config = f.dir.path() / "config.yaml";
  f.values = f.dir.path() / "values.json";
  f.mesh = f.dir.path() / "mesh.yaml";
  write_file(f.config, in.config);
  write_file(f.values, in.values);
  write_file(f.mesh, in.mesh);
}

// "" when kube-inject gives the golden, else why not.
std::string run_kube_inject(const golden_row& r, const row_inputs& in, const row_files& f, const fs::path& data) {
  std::vector<std::string> argv = {"kube-inject",      "-f",          (data / "inject" / r.in).string(),
                                   "--injectConfigFile", f.config.string(), "--valuesFile",
                                   f.values.string(),  "--meshConfigFile", f.mesh.string()};
  if (!in.native_sidecars) argv.push_back("--native-sidecars=false");
  if (!in.namespace_annotations.empty()) argv.insert(argv.end(), {"--namespace-annotations", in.namespace_annotations});
  cli_result out = run_cli(argv);
  out.err = without(out.err, f.dir.path().string() + "/");
  if (!r.expected_error.empty()) {
    if (out.code == 0) return "expected an error naming " + r.expected_error + ", got none";
    if (lower(out.err).find(r.expected_error) == std::string::npos)
      return "expected an error naming " + r.expected_error + ", got: " + first_line(out.err);
    return "";
  }
  if (out.code != 0) return "kube-inject failed: " + first_line(out.err);
  // Upstream's log line ("Skipping injection because Deployment ... has host networking
  // enabled") in meshinject's words.
  if (!r.expected_log.empty() && out.err.find("skipping injection (host-network)") == std::string::npos)
    return "expected a skipping-injection (host-network) message on stderr, got: " + first_line(out.err);
  const std::vector<json> got = documents(out.out);
  const std::vector<json> want = documents(read_file(data / "inject" / r.want));
  if (got.size() != want.size())
    return std::to_string(got.size()) + " documents out, the golden has " + std::to_string(want.size());
  for (std::size_t i = 0; i < got.size(); ++i)
    if (std::string d = semantic_diff(got[i], want[i]); !d.empty())
      return "document " + std::to_string(i + 1) + ": " + d;
  return "";
}

std::shared_ptr<const patch::snapshot> webhook_snapshot(const row_inputs& in, std::string& problem) {
  patch::config_sources s;
  s.inject_config_text = in.config;
  s.inject_config_name = "config.yaml";
  s.values_text = in.values;
  s.values_name = "values.json";
  s.mesh_text = in.mesh;
  s.mesh_name = "mesh.yaml";
  s.revision = "default";  // upstream's webhook runs with revision "default"
  s.native_sidecars = in.native_sidecars;
  const cmd::proxy_ids ids = cmd::proxy_ids_from_annotations(in.namespace_annotations, problem);
  if (!problem.empty()) return nullptr;
  s.proxy_uid = ids.uid;
  s.proxy_gid = ids.gid;
  try {
    return patch::snapshot::build(s);
  } catch (const std::exception& e) {
    problem = std::string("config does not load: ") + first_line(e.what());
  }
  return nullptr;
}

// "" when every pod template through the webhook gives the golden's.
std::string run_webhook(const golden_row& r, const row_inputs& in, const fs::path& data) {
  std::string problem;
  const auto snap = webhook_snapshot(in, problem);
  if (!snap) return problem;
  patch::engine webhook(snap);
  std::vector<json> inputs, wants;
  for (const json& doc : documents(read_file(data / "inject" / r.in))) injectables(doc, inputs);
  for (const json& doc : documents(read_file(data / "inject" / r.want))) injectables(doc, wants);
  if (inputs.size() != wants.size())
    return std::to_string(inputs.size()) + " pods in, the golden has " + std::to_string(wants.size());
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const std::string where = "pod " + std::to_string(i + 1) + ": ";
    const json pod = object_to_pod(inputs[i]);
    const std::string ns = inputs[i].contains("metadata") ? inputs[i]["metadata"].value("namespace", "") : "";
    const json response = run_review(webhook, make_review(pod, "admission.k8s.io/v1", "uid", ns));
    if (!response["response"].value("allowed", false))
      return where + "refused: " + response["response"].value("status", json::object()).value("message", "");
    const json patch = response_patch(response);
    json got;
    try {
      got = patch.is_null() ? pod : apply_patch(pod, patch);
    } catch (const std::exception& e) {
      return where + "the patch does not apply: " + e.what();
    }
    json want = object_to_pod(wants[i]);
    normalize(got);
    for (json* p : {&got, &want})
      if ((*p)["metadata"].contains("annotations")) (*p)["metadata"]["annotations"].erase("sidecar.istio.io/status");
    if (std::string d = semantic_diff(got, want); !d.empty()) {
      // MESHINJECT_GOLDEN_DUMP=<golden>: both pods, to see a difference whole.
      if (const char* dump = std::getenv("MESHINJECT_GOLDEN_DUMP"); dump && r.want == dump)
        std::cout << "got:\n" << got.dump(2) << "\nwant:\n" << want.dump(2) << "\npatch:\n" << patch.dump(2) << '\n';
      return where + d;
    }
  }
  return "";
}

// ---- the known-failures list --------------------------------------------------------

// "<row id> kube-inject|webhook  # reason" per line; '#' starts the reason.
std::map<std::string, std::string> known_failures() {
  std::map<std::string, std::string> out;
  std::ifstream in(source_dir() / "tests" / "cmd" / "istio128_known_failures.txt");
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    const std::size_t hash = line.find('#');
    std::string key = line.substr(0, hash);
    while (!key.empty() && key.back() == ' ') key.pop_back();
    out[key] = hash == std::string::npos ? "" : line.substr(hash + 1);
  }
  return out;
}

TEST(Istio128Goldens, EveryRowThroughKubeInjectAndTheWebhook) {
  MESHINJECT_REQUIRE_CONFORMANCE(dir);
  const fs::path data = dir / "istio-1.28";
  if (!fs::exists(data / "cases.yaml")) GTEST_SKIP() << "no " << (data / "cases.yaml") << " in the conformance data";

  std::map<std::string, std::string> failures;  // "<id> <path>" -> why
  std::set<std::string> ran;
  std::vector<std::string> absent;
  int rows_run = 0;
  for (const golden_row& r : load_rows(data)) {
    const bool files_present = fs::exists(data / "inject" / r.in) &&
                               (r.want.empty() || fs::exists(data / "inject" / r.want)) &&
                               (r.iop_file.empty() || fs::exists(data / "inject" / r.iop_file));
    if (!files_present) {
      absent.push_back(r.id);
      continue;
    }
    ++rows_run;
    const row_inputs in = build_inputs(r, data);
    row_files files;
    write_inputs(in, files);
    if (!r.skip_injection) {
      const std::string key = r.id + " kube-inject";
      ran.insert(key);
      const std::string why = in.problem.empty() ? run_kube_inject(r, in, files, data) : in.problem;
      if (!why.empty()) failures[key] = why;
    }
    if (r.expected_error.empty() && !r.skip_webhook) {
      const std::string key = r.id + " webhook";
      ran.insert(key);
      const std::string why = in.problem.empty() ? run_webhook(r, in, data) : in.problem;
      if (!why.empty()) failures[key] = why;
    }
  }

  const auto listed = known_failures();
  for (const auto& [key, why] : failures)
    if (!listed.count(key)) ADD_FAILURE() << key << " fails and is not in istio128_known_failures.txt: " << why;
  for (const auto& [key, reason] : listed) {
    if (!ran.count(key))
      ADD_FAILURE() << key << " is listed in istio128_known_failures.txt but no such row runs";
    else if (!failures.count(key))
      ADD_FAILURE() << key << " passes now: remove it from istio128_known_failures.txt (it said:" << reason << ")";
  }
  std::cout << "[ rows     ] " << rows_run << " rows run, " << ran.size() << " paths, " << ran.size() - failures.size()
            << " pass, " << failures.size() << " known failures; not in the public data: ";
  for (const std::string& id : absent) std::cout << id << ' ';
  std::cout << '\n';
  EXPECT_GT(rows_run, 80) << "the table and the inputs of inject/ should give more rows than that";

  // To rewrite the list after a change: MESHINJECT_WRITE_KNOWN_FAILURES=FILE writes
  // the current failures there, each with its first difference as the reason.
  if (const char* out_path = std::getenv("MESHINJECT_WRITE_KNOWN_FAILURES")) {
    std::ofstream out(out_path);
    for (const auto& [key, why] : failures) out << key << "  # " << why.substr(0, 200) << '\n';
  }
}

// The translator's rules, so a wrong mapping shows here rather than as a golden diff.
TEST(Istio128Goldens, SetFlagPathsMapAsTheChartMapsThem) {
  EXPECT_EQ(translate_path("values.global.proxy.image"), (std::vector<std::string>{"global", "proxy", "image"}));
  EXPECT_EQ(translate_path("values.cni.provider"), (std::vector<std::string>{"pilot", "cni", "provider"}));
  EXPECT_EQ(translate_path("components.cni.enabled"), (std::vector<std::string>{"pilot", "cni", "enabled"}));
  EXPECT_EQ(translate_path("components.pilot.k8s.replicaCount"), std::nullopt);
  EXPECT_EQ(set_value("true"), json(true));
  EXPECT_EQ(set_value("0"), json(0));
  EXPECT_EQ(set_value("4,5,6"), json("4,5,6"));
  EXPECT_EQ(set_value("10.96.0.2/24"), json("10.96.0.2/24"));
  for (const std::string tail : {"", "injectedAnnotations: {}\n"}) {
    const std::string config = with_templates("policy: enabled\ntemplates:\n  sidecar: |\n    a: 1\n\n    b: 2\n" + tail,
                                              json{{"extra", "spec:\n  containers: []\n"}});
    EXPECT_EQ(yaml_to_json(config)["templates"]["extra"], "spec:\n  containers: []\n") << config;
    EXPECT_EQ(yaml_to_json(config)["templates"]["sidecar"], "a: 1\n\nb: 2\n") << config;
    EXPECT_LT(config.find("sidecar:"), config.find("extra:"));
  }
}

}  // namespace
}  // namespace meshinject::test
