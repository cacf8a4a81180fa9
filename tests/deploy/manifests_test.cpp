// Renders deploy/base, every overlay and deploy/monitoring with `kubectl kustomize` and
// checks that the pieces are wired to each other and to what the server does: the
// Service reaches the webhook's container port, the webhook calls /inject on that
// Service, the probes hit the admin port's health paths, config and certificate are
// mounted as watchable directories, the certificates cover the Service's DNS names,
// and the dashboard and alerts only use metrics the server exports (METRICS.txt).
//
// Each check returns a list of problems; the mutation tests at the end break one
// thing at a time and make sure the matching check notices.
#include "tests/deploy/deploy_support.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <regex>

namespace meshinject::deploytest {
namespace {

using Problems = std::vector<std::string>;

std::string join(const Problems& p) {
  std::string out;
  for (const auto& s : p) out += "\n  - " + s;
  return out;
}

bool mentions(const Problems& problems, const std::string& word) {
  return std::any_of(problems.begin(), problems.end(),
                     [&](const std::string& p) { return p.find(word) != std::string::npos; });
}

// The paths meshinject serves on its admin port (SPEC §6 and the serve contract).
const std::set<std::string> kAdminHealthPaths = {"/health", "/livez", "/readyz"};
constexpr const char* kWebhookPath = "/inject";

// ---- the pieces of a rendered install -------------------------------------------------------

struct Install {
  YAML::Node deployment, container, service, webhook_config, namespace_doc;
  std::string ns;
};

// Finds the Deployment's meshinject container and the objects around it, or reports why not.
std::optional<Install> locate(const Manifests& m, Problems& problems) {
  Install in;
  try {
    in.deployment = m.one("Deployment");
    in.service = m.one("Service");
    in.webhook_config = m.one("MutatingWebhookConfiguration");
    in.namespace_doc = m.one("Namespace");
  } catch (const std::exception& e) {
    problems.push_back(e.what());
    return std::nullopt;
  }
  in.ns = str(in.namespace_doc["metadata"]["name"]);
  const YAML::Node containers = in.deployment["spec"]["template"]["spec"]["containers"];
  if (!containers.IsSequence() || containers.size() != 1) {
    problems.push_back("the Deployment must have exactly one container");
    return std::nullopt;
  }
  in.container = containers[0];
  return in;
}

YAML::Node pod_spec(const Install& in) { return in.deployment["spec"]["template"]["spec"]; }
Labels pod_labels(const Install& in) { return labels_of(in.deployment["spec"]["template"]["metadata"]["labels"]); }

// The container port a Service targetPort or probe port (name or number) refers to.
std::optional<int> resolve_container_port(const YAML::Node& container, const YAML::Node& port) {
  const std::string p = str(port);
  if (p.empty()) return std::nullopt;
  const bool numeric = std::all_of(p.begin(), p.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
  const YAML::Node ports = container["ports"];
  if (!ports.IsSequence()) return std::nullopt;
  for (const auto& cp : ports) {
    const int number = cp["containerPort"].as<int>(0);
    if (numeric ? number == std::stoi(p) : str(cp["name"]) == p) return number;
  }
  return std::nullopt;
}

// Container args with $(VAR) expanded; vars from resourceFieldRef limits.cpu become the
// CPU limit in whole cores (rounded up, with the ref's divisor), as the kubelet does.
std::vector<std::string> expanded_args(const YAML::Node& container, Problems& problems) {
  std::map<std::string, std::string> env;
  const YAML::Node envs = container["env"];
  if (envs.IsDefined() && envs.IsSequence()) {
    for (const auto& e : envs) {
      const std::string name = str(e["name"]);
      if (e["value"].IsDefined()) {
        env[name] = str(e["value"]);
      } else if (e["valueFrom"]["resourceFieldRef"].IsDefined()) {
        const YAML::Node ref = e["valueFrom"]["resourceFieldRef"];
        const std::string resource = str(ref["resource"]);
        const std::string limit = str(container["resources"]["limits"][resource.substr(resource.find('.') + 1)]);
        if (resource.rfind("limits.", 0) != 0 || limit.empty()) {
          problems.push_back("env " + name + " refers to " + resource + ", which the container does not set");
          continue;
        }
        const double divisor = cpu_cores(str(ref["divisor"], "1"));
        env[name] = std::to_string(static_cast<long>(std::ceil(cpu_cores(limit) / divisor)));
      }
    }
  }
  std::vector<std::string> out;
  static const std::regex ref(R"(\$\(([A-Za-z_][A-Za-z0-9_]*)\))");
  for (const auto& a : args_of(container)) {
    std::string expanded;
    auto begin = std::sregex_iterator(a.begin(), a.end(), ref);
    size_t last = 0;
    for (auto it = begin; it != std::sregex_iterator(); ++it) {
      expanded += a.substr(last, it->position() - last);
      auto found = env.find((*it)[1].str());
      expanded += found != env.end() ? found->second : it->str();
      last = it->position() + it->length();
    }
    expanded += a.substr(last);
    out.push_back(expanded);
  }
  return out;
}

// ---- the checks -------------------------------------------------------------------------------

// Service -> container port -> --listen; webhook -> Service, /inject.
void check_service_and_webhook(const Manifests& m, const Install& in, const std::vector<std::string>& args,
                               Problems& problems) {
  const std::string svc_name = str(in.service["metadata"]["name"]);
  const std::string svc_ns = str(in.service["metadata"]["namespace"]);
  if (svc_ns != in.ns) problems.push_back("the Service is not in the webhook's namespace " + in.ns);
  if (!selector_matches(in.service["spec"]["selector"], pod_labels(in)) ||
      labels_of(in.service["spec"]["selector"]).empty())
    problems.push_back("the Service's selector does not select the Deployment's pods");

  const auto listen = flag_value(args, "--listen");
  std::optional<int> listen_port;
  if (!listen) problems.push_back("the container has no --listen flag");
  else listen_port = split_host_port(*listen).second;

  const YAML::Node webhooks = in.webhook_config["webhooks"];
  if (!webhooks.IsSequence() || webhooks.size() != 1) {
    problems.push_back("the MutatingWebhookConfiguration must hold exactly one webhook (patches address /webhooks/0)");
    return;
  }
  const YAML::Node hook = webhooks[0];
  const YAML::Node cc = hook["clientConfig"];
  if (cc["url"].IsDefined()) problems.push_back("the webhook must call the Service, not a url");
  if (str(cc["service"]["name"]) != svc_name || str(cc["service"]["namespace"]) != svc_ns)
    problems.push_back("the webhook's clientConfig.service is " + str(cc["service"]["namespace"]) + "/" +
                       str(cc["service"]["name"]) + ", not the Service " + svc_ns + "/" + svc_name);
  if (str(cc["service"]["path"]) != kWebhookPath)
    problems.push_back("the webhook's path is '" + str(cc["service"]["path"]) + "', the server serves " + kWebhookPath);
  const int hook_port = cc["service"]["port"].IsDefined() ? cc["service"]["port"].as<int>() : 443;

  bool port_found = false;
  for (const auto& sp : in.service["spec"]["ports"]) {
    if (sp["port"].as<int>() != hook_port) continue;
    port_found = true;
    const YAML::Node target = sp["targetPort"].IsDefined() ? sp["targetPort"] : sp["port"];
    const auto cport = resolve_container_port(in.container, target);
    if (!cport)
      problems.push_back("the Service's targetPort " + str(target) + " is not a port of the container");
    else if (listen_port && *cport != *listen_port)
      problems.push_back("the Service's targetPort " + str(target) + " is container port " + std::to_string(*cport) +
                         " but the server listens on " + std::to_string(*listen_port));
  }
  if (!port_found)
    problems.push_back("the Service has no port " + std::to_string(hook_port) + " for the webhook to call");

  // Rules: pods, CREATE, core v1.
  const YAML::Node rules = hook["rules"];
  bool pods_create = false;
  if (rules.IsSequence()) {
    for (const auto& r : rules) {
      std::set<std::string> ops, res, groups, versions;
      for (const auto& v : r["operations"]) ops.insert(str(v));
      for (const auto& v : r["resources"]) res.insert(str(v));
      for (const auto& v : r["apiGroups"]) groups.insert(str(v));
      for (const auto& v : r["apiVersions"]) versions.insert(str(v));
      if (ops == std::set<std::string>{"CREATE"} && res == std::set<std::string>{"pods"} &&
          groups == std::set<std::string>{""} && versions.count("v1"))
        pods_create = true;
      else
        problems.push_back("a webhook rule other than pods CREATE in the core group");
    }
  }
  if (!pods_create) problems.push_back("the webhook has no rule for pods CREATE");
  if (str(hook["sideEffects"]) != "None") problems.push_back("sideEffects must be None");
  std::vector<std::string> versions;
  for (const auto& v : hook["admissionReviewVersions"]) versions.push_back(str(v));
  if (versions != std::vector<std::string>{"v1", "v1beta1"})
    problems.push_back("admissionReviewVersions must be [v1, v1beta1]");
  const int timeout = hook["timeoutSeconds"].as<int>(0);
  if (timeout < 1 || timeout > 5) problems.push_back("timeoutSeconds must be set and small (1..5), is " + std::to_string(timeout));
  const std::string fp = str(hook["failurePolicy"]);
  if (fp != "Fail" && fp != "Ignore") problems.push_back("failurePolicy must be set (Fail or Ignore)");
  if (str(hook["matchPolicy"]) != "Equivalent") problems.push_back("matchPolicy must be Equivalent");
  const std::string rp = str(hook["reinvocationPolicy"]);
  if (rp != "IfNeeded" && rp != "Never") problems.push_back("reinvocationPolicy must be set (IfNeeded or Never)");

  // namespaceSelector, evaluated on namespaces as the apiserver would see them.
  const YAML::Node sel = hook["namespaceSelector"];
  auto ns_labels = [](const std::string& name, Labels extra) {
    extra["kubernetes.io/metadata.name"] = name;
    return extra;
  };
  if (!selector_matches(sel, ns_labels("shop", {{"istio-injection", "enabled"}})))
    problems.push_back("namespaceSelector does not select a namespace labelled istio-injection=enabled");
  if (selector_matches(sel, ns_labels("shop", {})))
    problems.push_back("namespaceSelector selects a namespace without istio-injection=enabled");
  if (selector_matches(sel, ns_labels("shop", {{"istio-injection", "disabled"}})))
    problems.push_back("namespaceSelector selects a namespace labelled istio-injection=disabled");
  if (selector_matches(sel, ns_labels("kube-system", {{"istio-injection", "enabled"}})))
    problems.push_back("namespaceSelector selects kube-system when it is labelled istio-injection=enabled");
  Labels own = labels_of(in.namespace_doc["metadata"]["labels"]);
  own["istio-injection"] = "enabled";
  if (selector_matches(sel, ns_labels(in.ns, own)))
    problems.push_back("namespaceSelector selects the webhook's own namespace when it is labelled istio-injection=enabled");
  // ... by a label on that namespace, not by its name: renamed, it stays excluded.
  if (selector_matches(sel, ns_labels(in.ns + "-renamed", own)))
    problems.push_back("the webhook's own namespace is not excluded by a label it carries (only by name)");
  (void)m;
}

// Probes on the admin port's health paths; the admin port reachable from the kubelet.
void check_probes(const Install& in, const std::vector<std::string>& args, Problems& problems) {
  const auto admin = flag_value(args, "--admin-listen");
  if (!admin) {
    problems.push_back("no --admin-listen: the admin port defaults to 127.0.0.1, out of the kubelet's reach");
    return;
  }
  // Not a structured binding: clang 14 cannot capture one in the lambda below.
  const auto host_port = split_host_port(*admin);
  const auto& host = host_port.first;
  const auto port = host_port.second;
  if (host != "0.0.0.0" && host != "::" && !host.empty())
    problems.push_back("--admin-listen binds " + host + ": the kubelet's probes and Prometheus cannot reach it");
  bool declared = false;
  for (const auto& cp : in.container["ports"])
    if (cp["containerPort"].as<int>(0) == port) declared = true;
  if (!declared) problems.push_back("the admin port " + std::to_string(port) + " is not a declared container port");

  auto check = [&](const char* which, const std::set<std::string>& allowed) {
    const YAML::Node probe = in.container[which];
    if (!probe.IsDefined()) {
      problems.push_back(std::string("no ") + which);
      return;
    }
    const YAML::Node get = probe["httpGet"];
    if (!get.IsDefined()) {
      problems.push_back(std::string(which) + " is not an HTTP probe");
      return;
    }
    const std::string path = str(get["path"]);
    if (!allowed.count(path)) problems.push_back(std::string(which) + " path " + path + " is not one the server serves for it");
    if (!kAdminHealthPaths.count(path)) problems.push_back(std::string(which) + " path " + path + " does not exist on the admin port");
    if (str(get["scheme"], "HTTP") != "HTTP") problems.push_back(std::string(which) + " must use HTTP (the admin port is plain HTTP)");
    const auto p = resolve_container_port(in.container, get["port"]);
    if (!p || *p != port)
      problems.push_back(std::string(which) + " port " + str(get["port"]) + " is not the admin port " + std::to_string(port));
  };
  check("readinessProbe", {"/readyz"});
  check("livenessProbe", {"/livez", "/health"});
}

// Config and certificate files inside directory mounts (no subPath), with the keys there.
void check_mounts(const Manifests& m, const Install& in, const std::vector<std::string>& args, Problems& problems) {
  const YAML::Node mounts = in.container["volumeMounts"];
  const YAML::Node volumes = pod_spec(in)["volumes"];
  for (const auto& vm : mounts)
    if (vm["subPath"].IsDefined() || vm["subPathExpr"].IsDefined())
      problems.push_back("volumeMount " + str(vm["mountPath"]) + " uses subPath: the kubelet never updates such files, so hot reload breaks");

  struct Want {
    const char* flag;
    const char* kind;  // configMap or secret
    bool required;
  };
  const Want wants[] = {{"--inject-config", "configMap", true}, {"--mesh-config", "configMap", true},
                        {"--values", "configMap", false},       {"--tls-cert", "secret", true},
                        {"--tls-key", "secret", true},          {"--client-ca", "secret", false}};
  for (const auto& w : wants) {
    const auto file = flag_value(args, w.flag);
    if (!file) {
      if (w.required) problems.push_back(std::string("no ") + w.flag + " flag");
      continue;
    }
    const fs::path path(*file);
    // (std::optional and emplace: assigning one YAML::Node to another that is already
    // bound would rewrite the document, not rebind the handle.)
    std::optional<YAML::Node> mount;
    for (const auto& vm : mounts) {
      fs::path mp(str(vm["mountPath"]));
      if (mp.filename().empty()) mp = mp.parent_path();  // trailing slash
      if (mp == path.parent_path() && !mount) mount.emplace(vm);
    }
    if (!mount) {
      problems.push_back(std::string(w.flag) + " " + *file + " is not directly inside a mounted directory");
      continue;
    }
    std::optional<YAML::Node> found;
    for (const auto& v : volumes)
      if (str(v["name"]) == str((*mount)["name"]) && !found) found.emplace(v);
    if (!found || !(*found)[w.kind].IsDefined()) {
      problems.push_back(std::string(w.flag) + " is not on a " + w.kind + " volume");
      continue;
    }
    const YAML::Node volume = *found;
    const std::string key = path.filename().string();
    if (std::string(w.kind) == "configMap") {
      const std::string cm_name = str(volume["configMap"]["name"]);
      const auto cm = m.find("ConfigMap", cm_name);
      if (!cm) problems.push_back("the ConfigMap " + cm_name + " mounted for " + w.flag + " is not in the manifests");
      else if (!(*cm)["data"][key].IsDefined())
        problems.push_back("the ConfigMap " + cm_name + " has no key '" + key + "' for " + w.flag);
    } else {
      if (volume["secret"]["items"].IsDefined())
        problems.push_back("the Secret volume lists items; mount the whole Secret so renewed files appear");
      const std::string secret_name = str(volume["secret"]["secretName"]);
      if (const auto sec = m.find("Secret", secret_name)) {
        if (!(*sec)["data"][key].IsDefined())
          problems.push_back("the Secret " + secret_name + " has no key '" + key + "' for " + w.flag);
      }
    }
  }
}

void check_pod_security_and_resources(const Manifests& m, const Install& in, const std::vector<std::string>& args,
                                      Problems& problems) {
  const YAML::Node pod = pod_spec(in);
  const YAML::Node psc = pod["securityContext"];
  const YAML::Node csc = in.container["securityContext"];
  if (!(csc["runAsNonRoot"].as<bool>(false) || psc["runAsNonRoot"].as<bool>(false)))
    problems.push_back("runAsNonRoot is not set");
  if (csc["runAsUser"].as<long>(1) == 0 || psc["runAsUser"].as<long>(1) == 0) problems.push_back("runs as root");
  if (csc["allowPrivilegeEscalation"].as<bool>(true)) problems.push_back("allowPrivilegeEscalation is not false");
  if (csc["privileged"].as<bool>(false)) problems.push_back("the container is privileged");
  if (!csc["readOnlyRootFilesystem"].as<bool>(false)) problems.push_back("readOnlyRootFilesystem is not true");
  bool drops_all = false;
  for (const auto& c : csc["capabilities"]["drop"])
    if (str(c) == "ALL") drops_all = true;
  if (!drops_all) problems.push_back("capabilities do not drop ALL");
  if (csc["capabilities"]["add"].IsDefined() && csc["capabilities"]["add"].size() > 0)
    problems.push_back("capabilities are added");
  if (str(csc["seccompProfile"]["type"], str(psc["seccompProfile"]["type"])) != "RuntimeDefault")
    problems.push_back("no RuntimeDefault seccomp profile");

  // Resources; the reactor count is the binary's own reading of its cgroup quota.
  const YAML::Node res = in.container["resources"];
  for (const char* section : {"requests", "limits"})
    for (const char* r : {"cpu", "memory"})
      if (str(res[section][r]).empty()) problems.push_back(std::string("no resources.") + section + "." + r);
  const std::string cpu_limit = str(res["limits"]["cpu"]);
  if (const auto threads = flag_value(args, "--threads"))
    problems.push_back("--threads is set (" + *threads +
                       "): let serve read its cgroup CPU quota (the downward API's limits.cpu is the node's core count "
                       "without a limit)");
  if (!cpu_limit.empty()) {
    const double cores = cpu_cores(cpu_limit);
    if (cores != std::floor(cores)) problems.push_back("the CPU limit " + cpu_limit + " is not a whole number of cores");
  }

  // Args must be strings to Kubernetes (an unquoted 15 is an int and is rejected).
  static const std::regex non_string(R"(^([-+]?[0-9]+(\.[0-9]*)?([eE][-+]?[0-9]+)?|true|false|True|False|null|~)$)");
  for (const char* key : {"command", "args"})
    for (const auto& a : in.container[key])
      if ((a.Tag() == "?" || a.Tag().empty()) && std::regex_match(str(a), non_string))
        problems.push_back("container " + std::string(key) + " item " + str(a) + " is not a string (quote it)");

  // Graceful termination: drain after SIGTERM, then exit before the kubelet kills us.
  const int grace = pod["terminationGracePeriodSeconds"].as<int>(30);
  const int drain = std::stoi(flag_value(args, "--drain-seconds").value_or("10"));
  const int hook_timeout = in.webhook_config["webhooks"][0]["timeoutSeconds"].as<int>(10);
  if (grace < drain + hook_timeout)
    problems.push_back("terminationGracePeriodSeconds " + std::to_string(grace) + " is shorter than --drain-seconds (" +
                       std::to_string(drain) + ") plus a review's timeout (" + std::to_string(hook_timeout) + ")");
  const YAML::Node rp = in.container["readinessProbe"];
  const int detect = rp["periodSeconds"].as<int>(10) * rp["failureThreshold"].as<int>(3);
  if (drain < detect)
    problems.push_back("--drain-seconds " + std::to_string(drain) + " ends before the readiness probe can notice (" +
                       std::to_string(detect) + " s)");
  if (const auto idle = flag_value(args, "--idle-timeout"); idle && duration_seconds(*idle) <= 90)
    problems.push_back("--idle-timeout must be longer than the apiserver's 90 s");

  // Image: tagged or pinned.
  const std::string image = str(in.container["image"]);
  const auto slash = image.rfind('/');
  if (image.find('@') == std::string::npos && image.find(':', slash == std::string::npos ? 0 : slash) == std::string::npos)
    problems.push_back("the image " + image + " has neither a tag nor a digest");

  // Identity: own ServiceAccount, no token, no RBAC.
  const std::string sa = str(pod["serviceAccountName"]);
  if (sa.empty() || !m.find("ServiceAccount", sa)) problems.push_back("the pod's ServiceAccount is not in the manifests");
  if (pod["automountServiceAccountToken"].as<bool>(true)) problems.push_back("the pod mounts an API token it never uses");
  for (const char* kind : {"Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"})
    if (!m.all(kind).empty()) problems.push_back(std::string("a ") + kind + ": meshinject needs no API access");
}

void check_availability(const Manifests& m, const Install& in, Problems& problems) {
  const Labels labels = pod_labels(in);
  const std::string name = str(in.deployment["metadata"]["name"]);
  // The HPA owns the count: a `replicas` in the Deployment would be re-applied by
  // every `kubectl apply -k`, resetting a scaled-up count.
  const auto hpa_list = m.all("HorizontalPodAutoscaler");
  if (in.deployment["spec"]["replicas"].IsDefined() && !hpa_list.empty())
    problems.push_back("the Deployment sets replicas beside a HorizontalPodAutoscaler (kubectl apply resets the scaled count)");
  const int replicas = hpa_list.size() == 1 ? hpa_list[0]["spec"]["minReplicas"].as<int>(1)
                                            : in.deployment["spec"]["replicas"].as<int>(1);
  if (replicas < 3) problems.push_back("fewer than 3 replicas");
  if (!selector_matches(in.deployment["spec"]["selector"], labels)) problems.push_back("the Deployment's selector does not match its pods");

  bool by_host = false, by_zone = false;
  for (const auto& t : pod_spec(in)["topologySpreadConstraints"]) {
    if (!selector_matches(t["labelSelector"], labels)) {
      problems.push_back("a topology spread constraint does not select the pods it spreads");
      continue;
    }
    by_host |= str(t["topologyKey"]) == "kubernetes.io/hostname";
    by_zone |= str(t["topologyKey"]) == "topology.kubernetes.io/zone";
  }
  if (!by_host) problems.push_back("no topology spread across nodes");
  if (!by_zone) problems.push_back("no topology spread across zones");

  const auto pdbs = m.all("PodDisruptionBudget");
  if (pdbs.size() != 1) {
    problems.push_back("expected one PodDisruptionBudget");
  } else {
    const YAML::Node spec = pdbs[0]["spec"];
    if (!selector_matches(spec["selector"], labels) || labels_of(spec["selector"]["matchLabels"]).empty())
      problems.push_back("the PodDisruptionBudget does not select the pods");
    if (spec["maxUnavailable"].IsDefined()) {
      const int mu = spec["maxUnavailable"].as<int>(0);
      if (mu < 1 || mu >= replicas) problems.push_back("the PodDisruptionBudget's maxUnavailable must be between 1 and replicas-1");
    } else if (spec["minAvailable"].IsDefined()) {
      const int ma = spec["minAvailable"].as<int>(0);
      if (ma < 1 || ma >= replicas) problems.push_back("the PodDisruptionBudget's minAvailable would block drains or protect nothing");
    } else {
      problems.push_back("the PodDisruptionBudget sets neither maxUnavailable nor minAvailable");
    }
  }

  const auto hpas = m.all("HorizontalPodAutoscaler");
  if (hpas.size() != 1) {
    problems.push_back("expected one HorizontalPodAutoscaler");
  } else {
    const YAML::Node spec = hpas[0]["spec"];
    if (str(spec["scaleTargetRef"]["kind"]) != "Deployment" || str(spec["scaleTargetRef"]["name"]) != name)
      problems.push_back("the HorizontalPodAutoscaler does not scale the Deployment");
    const int min = spec["minReplicas"].as<int>(1), max = spec["maxReplicas"].as<int>(0);
    if (max <= min) problems.push_back("the HPA's maxReplicas is not above minReplicas");
    bool cpu = false;
    for (const auto& metric : spec["metrics"])
      cpu |= str(metric["type"]) == "Resource" && str(metric["resource"]["name"]) == "cpu";
    if (!cpu) problems.push_back("the HPA does not scale on CPU");
  }
}

void check_configmap(const Install& in, const Manifests& m, Problems& problems) {
  std::string cm_name;
  for (const auto& v : pod_spec(in)["volumes"])
    if (v["configMap"].IsDefined()) cm_name = str(v["configMap"]["name"]);
  const auto cm = m.find("ConfigMap", cm_name);
  if (!cm) {
    problems.push_back("the mounted ConfigMap '" + cm_name + "' is not in the manifests");
    return;
  }
  try {
    const YAML::Node config = YAML::Load(str((*cm)["data"]["config"]));
    const std::string policy = str(config["policy"]);
    if (policy != "enabled" && policy != "disabled") problems.push_back("the config's policy is '" + policy + "'");
    // Istio >= 1.9's shape (the embedded default's): the `sidecar` template, certificates
    // over SDS with the istio-token projected volume, and the values it reads beside it.
    const bool named = config["templates"].IsMap();
    const std::string tmpl = named ? str(config["templates"]["sidecar"]) : str(config["template"]);
    const std::vector<const char*> parts = named ? std::vector<const char*>{"istio-init", "istio-proxy", "istio-token", "istiod-ca-cert"}
                                                 : std::vector<const char*>{"istio-init", "istio-proxy", "istio-envoy", "istio-certs"};
    for (const char* part : parts)
      if (tmpl.find(part) == std::string::npos) problems.push_back(std::string("the config's template has no ") + part);
    if (named && !YAML::Load(str((*cm)["data"]["values"])).IsMap())
      problems.push_back("the config is in the named-templates shape but the ConfigMap has no values");
    const YAML::Node mesh = YAML::Load(str((*cm)["data"]["mesh"]));
    if (!mesh["defaultConfig"].IsMap()) problems.push_back("the mesh config has no defaultConfig");
  } catch (const YAML::Exception& e) {
    problems.push_back(std::string("the ConfigMap's config or mesh is not YAML: ") + e.what());
  }
}

void check_namespaces(const Manifests& m, const Install& in, Problems& problems) {
  for (const auto& d : m.docs) {
    const std::string kind = str(d["kind"]);
    if (kind == "Namespace" || kind == "MutatingWebhookConfiguration") continue;
    if (str(d["metadata"]["namespace"]) != in.ns)
      problems.push_back(kind + " " + str(d["metadata"]["name"]) + " is not in the webhook's namespace " + in.ns);
  }
}

// Everything any install must satisfy, whatever its certificate source.
Problems check_wiring(const Manifests& m) {
  Problems problems;
  const auto in = locate(m, problems);
  if (!in) return problems;
  const auto args = expanded_args(in->container, problems);
  if (args.empty() || args[0] != "serve") problems.push_back("the container does not run `meshinject serve`");
  check_service_and_webhook(m, *in, args, problems);
  check_probes(*in, args, problems);
  check_mounts(m, *in, args, problems);
  check_pod_security_and_resources(m, *in, args, problems);
  check_availability(m, *in, problems);
  check_configmap(*in, m, problems);
  check_namespaces(m, *in, problems);
  return problems;
}

std::string tls_secret_name(const Install& in) {
  const auto args = args_of(in.container);
  const auto cert = flag_value(args, "--tls-cert");
  if (!cert) return "";
  std::string mount_name;
  for (const auto& vm : in.container["volumeMounts"])
    if (fs::path(str(vm["mountPath"])) == fs::path(*cert).parent_path()) mount_name = str(vm["name"]);
  for (const auto& v : pod_spec(in)["volumes"])
    if (str(v["name"]) == mount_name) return str(v["secret"]["secretName"]);
  return "";
}

std::vector<std::string> expected_sans(const Install& in) {
  return service_dns_names(str(in.service["metadata"]["name"]), str(in.service["metadata"]["namespace"]));
}

// cert-manager: a Certificate for the mounted Secret, covering the Service's names,
// from an Issuer that is there, and the CA injected into the webhook.
Problems check_cert_manager(const Manifests& m) {
  Problems problems;
  const auto in = locate(m, problems);
  if (!in) return problems;
  const std::string secret = tls_secret_name(*in);
  std::optional<YAML::Node> cert;
  for (const auto& c : m.all("Certificate"))
    if (str(c["spec"]["secretName"]) == secret && !cert) cert.emplace(c);
  if (!cert) {
    problems.push_back("no Certificate writes the mounted Secret '" + secret + "'");
    return problems;
  }
  std::set<std::string> names;
  for (const auto& n : (*cert)["spec"]["dnsNames"]) names.insert(str(n));
  for (const auto& want : expected_sans(*in))
    if (!names.count(want)) problems.push_back("the Certificate's dnsNames lack " + want);
  const YAML::Node issuer = (*cert)["spec"]["issuerRef"];
  const std::string issuer_kind = str(issuer["kind"], "Issuer");
  if (issuer_kind == "Issuer" && !m.find("Issuer", str(issuer["name"])))
    problems.push_back("the Certificate's Issuer " + str(issuer["name"]) + " is not in the manifests");
  if ((*cert)["spec"]["usages"].IsDefined()) {
    bool server = false;
    for (const auto& u : (*cert)["spec"]["usages"]) server |= str(u) == "server auth";
    if (!server) problems.push_back("the Certificate's usages lack server auth");
  }
  const std::string want = str((*cert)["metadata"]["namespace"]) + "/" + str((*cert)["metadata"]["name"]);
  const std::string got = str(in->webhook_config["metadata"]["annotations"]["cert-manager.io/inject-ca-from"]);
  if (got != want) problems.push_back("cert-manager.io/inject-ca-from is '" + got + "', want '" + want + "'");
  return problems;
}

// self-signed: the Secret holds a certificate for the Service's names that verifies
// against the webhook's caBundle, with its key.
Problems check_self_signed(const Manifests& m, const fs::path& scratch) {
  Problems problems;
  const auto in = locate(m, problems);
  if (!in) return problems;
  const std::string secret_name = tls_secret_name(*in);
  const auto secret = m.find("Secret", secret_name);
  if (!secret) {
    problems.push_back("the mounted Secret '" + secret_name + "' is not in the manifests");
    return problems;
  }
  if (str((*secret)["type"]) != "kubernetes.io/tls") problems.push_back("the Secret is not of type kubernetes.io/tls");
  const std::string bundle = str(in->webhook_config["webhooks"][0]["clientConfig"]["caBundle"]);
  if (bundle.empty()) {
    problems.push_back("the webhook has no caBundle");
    return problems;
  }
  const fs::path crt = scratch / "tls.crt", key = scratch / "tls.key", ca = scratch / "ca.pem";
  write_file(crt, base64_decode(str((*secret)["data"]["tls.crt"])));
  write_file(key, base64_decode(str((*secret)["data"]["tls.key"])));
  write_file(ca, base64_decode(bundle));
  const auto sans = certificate_dns_sans(crt);
  for (const auto& want : expected_sans(*in))
    if (!sans.count(want)) problems.push_back("the serving certificate's SANs lack " + want);
  if (run_command("openssl verify -purpose sslserver -CAfile " + shell_quote(ca.string()) + " " + shell_quote(crt.string())).status != 0)
    problems.push_back("the serving certificate does not verify against the webhook's caBundle");
  const auto pub_crt = run_command("openssl x509 -noout -pubkey -in " + shell_quote(crt.string()));
  const auto pub_key = run_command("openssl pkey -pubout -in " + shell_quote(key.string()));
  if (pub_crt.status != 0 || pub_key.status != 0 || pub_crt.out != pub_key.out)
    problems.push_back("the Secret's tls.key does not match its tls.crt");
  return problems;
}

// ---- metric names in PromQL -------------------------------------------------------------------

const std::set<std::string> kPromqlWords = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool", "offset",
    "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk", "topk",
    "quantile", "limitk", "limit_ratio", "inf", "nan", "atan2", "start", "end"};

// The metric names a PromQL expression (or a Grafana label_values(...) query) reads:
// identifiers followed by `{`, `[`, `)`, an operator, whitespace or the end, that are
// not functions (followed by `(`), keywords, aggregation clauses' label lists, label
// matchers, strings, durations, numbers or Grafana $variables.
std::set<std::string> promql_metric_names(std::string expr) {
  // Grafana's label_values(selector, label): keep the selector.
  static const std::regex label_values(R"(label_values\s*\((.*),\s*[A-Za-z_][A-Za-z0-9_]*\s*\))");
  expr = std::regex_replace(expr, label_values, "$1");
  std::set<std::string> names;
  const size_t n = expr.size();
  size_t i = 0;
  auto is_ident_start = [](char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':'; };
  auto is_ident = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == ':'; };
  auto skip_group = [&](char open, char close) {  // i at `open`
    int depth = 0;
    char quote = 0;
    for (; i < n; ++i) {
      const char c = expr[i];
      if (quote) {
        if (c == '\\') ++i;
        else if (c == quote) quote = 0;
        continue;
      }
      if (c == '"' || c == '\'' || c == '`') quote = c;
      else if (c == open) ++depth;
      else if (c == close && --depth == 0) {
        ++i;
        return;
      }
    }
  };
  while (i < n) {
    const char c = expr[i];
    if (c == '"' || c == '\'' || c == '`') {
      const char q = c;
      for (++i; i < n && expr[i] != q; ++i)
        if (expr[i] == '\\') ++i;
      ++i;
    } else if (c == '{') {
      skip_group('{', '}');
    } else if (c == '[') {
      skip_group('[', ']');
    } else if (c == '$') {
      for (++i; i < n && (is_ident(expr[i]) || expr[i] == '{' || expr[i] == '}'); ++i) {
      }
    } else if (std::isdigit(static_cast<unsigned char>(c)) || (c == '.' && i + 1 < n && std::isdigit(static_cast<unsigned char>(expr[i + 1])))) {
      for (++i; i < n && (std::isalnum(static_cast<unsigned char>(expr[i])) || expr[i] == '.'); ++i) {
      }
    } else if (is_ident_start(c)) {
      const size_t start = i;
      while (i < n && is_ident(expr[i])) ++i;
      const std::string word = expr.substr(start, i - start);
      size_t j = i;
      while (j < n && std::isspace(static_cast<unsigned char>(expr[j]))) ++j;
      const char next = j < n ? expr[j] : '\0';
      if (word == "by" || word == "without" || word == "on" || word == "ignoring" || word == "group_left" ||
          word == "group_right") {
        if (next == '(') {
          i = j;
          skip_group('(', ')');
        }
      } else if (next == '(') {
        // a function or an aggregation
      } else if (!kPromqlWords.count(word)) {
        names.insert(word);
      }
    } else {
      ++i;
    }
  }
  return names;
}

std::set<std::string> load_metric_list() {
  std::set<std::string> out;
  std::istringstream in(read_file(deploy_dir() / "monitoring" / "METRICS.txt"));
  std::string line;
  while (std::getline(in, line)) {
    line.erase(line.find_last_not_of(" \t\r") + 1);
    if (line.empty() || line[0] == '#') continue;
    out.insert(line);
  }
  return out;
}

// The histograms among the exported metrics (the server contract): only their names
// take the _bucket, _sum and _count suffixes.
const std::set<std::string> kHistograms = {"sidecar_injection_time_seconds"};

// Names not exported: histogram series (_bucket/_sum/_count) count as their base name.
std::set<std::string> unknown_metrics(const std::set<std::string>& used, const std::set<std::string>& known) {
  std::set<std::string> unknown;
  for (const auto& name : used) {
    if (known.count(name)) continue;
    bool ok = false;
    for (const std::string suffix : {"_bucket", "_sum", "_count"}) {
      if (name.size() <= suffix.size() || name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) continue;
      const std::string base = name.substr(0, name.size() - suffix.size());
      if (known.count(base) && kHistograms.count(base)) ok = true;
    }
    if (!ok) unknown.insert(name);
  }
  return unknown;
}

void collect_exprs(const nlohmann::json& j, std::vector<std::string>& out) {
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (it.key() == "expr" && it.value().is_string()) out.push_back(it.value().get<std::string>());
      collect_exprs(it.value(), out);
    }
  } else if (j.is_array()) {
    for (const auto& v : j) collect_exprs(v, out);
  }
}

// Every PromQL the dashboard runs: the panels' target exprs and the query variables.
std::vector<std::string> dashboard_queries() {
  const auto dash = nlohmann::json::parse(read_file(deploy_dir() / "monitoring" / "meshinject-dashboard.json"));
  std::vector<std::string> out;
  collect_exprs(dash["panels"], out);
  for (const auto& var : dash["templating"]["list"]) {
    if (var.value("type", "") != "query") continue;
    const auto& q = var["query"];
    if (q.is_string()) out.push_back(q.get<std::string>());
    else if (q.is_object() && q.contains("query")) out.push_back(q["query"].get<std::string>());
    if (var.contains("definition")) out.push_back(var["definition"].get<std::string>());
  }
  return out;
}

std::vector<YAML::Node> alert_rules() {
  std::vector<YAML::Node> out;
  const YAML::Node rule = YAML::LoadFile((deploy_dir() / "monitoring" / "prometheusrule.yaml").string());
  for (const auto& g : rule["spec"]["groups"])
    for (const auto& r : g["rules"]) out.push_back(r);
  return out;
}

// ---- fixtures --------------------------------------------------------------------------------

class Deploy : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!have_tool("kubectl"))
      GTEST_SKIP() << "kubectl is not installed: the manifests under deploy/ cannot be rendered (kubectl kustomize)";
  }
};

class DeployWithOpenssl : public Deploy {
 protected:
  void SetUp() override {
    Deploy::SetUp();
    if (IsSkipped()) return;
    if (!have_tool("openssl")) GTEST_SKIP() << "the openssl CLI is not installed (scripts/install-deps.sh installs it)";
  }
};

// A copy of deploy/ in a scratch directory with the self-signed overlay's certs/ made
// by gen-certs.sh, so the source tree is never written.
struct SelfSigned {
  TempDir tmp;
  fs::path deploy, certs;
  CommandResult gen;
  explicit SelfSigned(const std::string& extra_args = "") {
    deploy = tmp.path() / "deploy";
    copy_tree(deploy_dir(), deploy, {"certs"});
    certs = deploy / "overlays" / "self-signed" / "certs";
    gen = run_command("bash " + shell_quote((deploy / "gen-certs.sh").string()) + " " + extra_args + " " +
                      shell_quote(certs.string()));
  }
};

// ---- base and overlays -------------------------------------------------------------------------

TEST_F(Deploy, BaseRendersEveryResource) {
  const auto m = kustomize(deploy_dir() / "base");
  for (const char* kind : {"Namespace", "ServiceAccount", "ConfigMap", "Deployment", "PodDisruptionBudget",
                           "HorizontalPodAutoscaler", "Service", "MutatingWebhookConfiguration", "NetworkPolicy"})
    EXPECT_EQ(m.all(kind).size(), 1u) << kind;
}

// As Istio's webhook: opted-out pods are never sent, so an outage under
// failurePolicy Fail does not block them.
TEST_F(Deploy, BaseWebhookSkipsOptedOutPods) {
  const auto hook = kustomize(deploy_dir() / "base").one("MutatingWebhookConfiguration")["webhooks"][0];
  const YAML::Node selector = hook["objectSelector"];
  ASSERT_TRUE(selector.IsDefined());
  EXPECT_FALSE(selector_matches(selector, {{"sidecar.istio.io/inject", "false"}}));
  EXPECT_TRUE(selector_matches(selector, {{"sidecar.istio.io/inject", "true"}}));
  EXPECT_TRUE(selector_matches(selector, {{"app", "x"}}));
}

TEST_F(Deploy, NetworkPolicyOpensTheWebhookAndLimitsTheAdminPort) {
  const auto m = kustomize(deploy_dir() / "base");
  const YAML::Node policy = m.one("NetworkPolicy");
  Problems located;
  const auto in = locate(m, located);
  ASSERT_TRUE(in);
  EXPECT_TRUE(selector_matches(policy["spec"]["podSelector"], pod_labels(*in)));
  bool webhook_open = false, admin_limited = false;
  for (const auto& rule : policy["spec"]["ingress"]) {
    for (const auto& port : rule["ports"]) {
      const auto number = resolve_container_port(in->container, port["port"]);
      ASSERT_TRUE(number) << "the policy names a port the container does not have: " << str(port["port"]);
      if (*number == 9443) webhook_open = !rule["from"].IsDefined();
      if (*number == 15014) {
        bool monitoring = false, nodes = false;
        for (const auto& peer : rule["from"]) {
          if (peer["namespaceSelector"].IsDefined())
            monitoring |= str(peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]) == "monitoring";
          if (peer["ipBlock"].IsDefined()) nodes |= !str(peer["ipBlock"]["cidr"]).empty();
        }
        admin_limited = monitoring && nodes && rule["from"].size() == 2;
      }
    }
  }
  EXPECT_TRUE(webhook_open) << "the apiserver's address is unknown: the webhook port must be open to all";
  EXPECT_TRUE(admin_limited) << "the admin port must be open to the monitoring namespace and the nodes only";
}

TEST_F(Deploy, BaseIsWired) {
  const auto problems = check_wiring(kustomize(deploy_dir() / "base"));
  EXPECT_TRUE(problems.empty()) << join(problems);
}

TEST_F(Deploy, BaseFailsClosedAndReinvokes) {
  const auto hook = kustomize(deploy_dir() / "base").one("MutatingWebhookConfiguration")["webhooks"][0];
  EXPECT_EQ(str(hook["failurePolicy"]), "Fail");
  EXPECT_EQ(str(hook["reinvocationPolicy"]), "IfNeeded");
}

TEST_F(Deploy, ConfigMapShipsTheRepositoryFiles) {
  const auto m = kustomize(deploy_dir() / "base");
  const auto cm = m.one("ConfigMap");
  EXPECT_EQ(str(cm["data"]["config"]), read_file(deploy_dir() / "base" / "injector-config.yaml"));
  EXPECT_EQ(str(cm["data"]["values"]), read_file(deploy_dir() / "base" / "injector-values.json"));
  EXPECT_EQ(str(cm["data"]["mesh"]), read_file(deploy_dir() / "base" / "mesh.yaml"));
  // No hash suffix: the ConfigMap is updated in place, so hot reload (not a rollout) applies it.
  EXPECT_EQ(str(cm["metadata"]["name"]), "meshinject-config");
}

TEST_F(Deploy, CertManagerOverlayIsWired) {
  const auto m = kustomize(deploy_dir() / "overlays" / "cert-manager");
  const auto wiring = check_wiring(m);
  EXPECT_TRUE(wiring.empty()) << join(wiring);
  const auto certs = check_cert_manager(m);
  EXPECT_TRUE(certs.empty()) << join(certs);
}

TEST_F(DeployWithOpenssl, SelfSignedOverlayIsWired) {
  SelfSigned s;
  ASSERT_EQ(s.gen.status, 0) << s.gen.out << s.gen.err;
  const auto m = kustomize(s.deploy / "overlays" / "self-signed");
  const auto wiring = check_wiring(m);
  EXPECT_TRUE(wiring.empty()) << join(wiring);
  TempDir scratch;
  const auto certs = check_self_signed(m, scratch.path());
  EXPECT_TRUE(certs.empty()) << join(certs);
}

TEST_F(DeployWithOpenssl, GenCertsCoversTheServiceNames) {
  SelfSigned s;
  ASSERT_EQ(s.gen.status, 0) << s.gen.out << s.gen.err;
  const auto base = kustomize(deploy_dir() / "base");
  const auto svc = base.one("Service")["metadata"];
  const auto sans = certificate_dns_sans(s.certs / "tls.crt");
  for (const auto& want : service_dns_names(str(svc["name"]), str(svc["namespace"])))
    EXPECT_TRUE(sans.count(want)) << "SAN " << want << " missing";
  for (const char* f : {"ca.crt", "ca.key", "tls.crt", "tls.key", "secret.yaml", "cabundle-patch.yaml"})
    EXPECT_TRUE(fs::exists(s.certs / f)) << f;
  EXPECT_EQ(fs::status(s.certs / "tls.key").permissions() & (fs::perms::group_all | fs::perms::others_all), fs::perms::none)
      << "the private key is readable by others";
  EXPECT_NE(s.gen.out.find("issued a serving certificate"), std::string::npos) << s.gen.out;
}

TEST_F(DeployWithOpenssl, GenCertsIsIdempotent) {
  SelfSigned s;
  ASSERT_EQ(s.gen.status, 0) << s.gen.out << s.gen.err;
  std::map<std::string, std::string> before;
  for (const auto& e : fs::directory_iterator(s.certs)) before[e.path().filename()] = read_file(e.path());
  const auto again = run_command("bash " + shell_quote((s.deploy / "gen-certs.sh").string()) + " " + shell_quote(s.certs.string()));
  ASSERT_EQ(again.status, 0) << again.out << again.err;
  std::map<std::string, std::string> after;
  for (const auto& e : fs::directory_iterator(s.certs)) after[e.path().filename()] = read_file(e.path());
  EXPECT_EQ(before, after) << "a second run changed the files";
  EXPECT_NE(again.out.find("kept the CA"), std::string::npos) << again.out;
  EXPECT_NE(again.out.find("kept the serving certificate"), std::string::npos) << again.out;
  EXPECT_NE(again.out.find("unchanged"), std::string::npos) << again.out;
}

TEST_F(DeployWithOpenssl, GenCertsReissuesForOtherNamesAndKeepsTheCA) {
  SelfSigned s;
  ASSERT_EQ(s.gen.status, 0) << s.gen.out << s.gen.err;
  const std::string ca_before = read_file(s.certs / "ca.crt");
  const auto other = run_command("bash " + shell_quote((s.deploy / "gen-certs.sh").string()) +
                                 " -n other-ns -s other-svc " + shell_quote(s.certs.string()));
  ASSERT_EQ(other.status, 0) << other.out << other.err;
  EXPECT_EQ(read_file(s.certs / "ca.crt"), ca_before) << "a new serving certificate must not replace the CA";
  const auto sans = certificate_dns_sans(s.certs / "tls.crt");
  EXPECT_EQ(sans, (std::set<std::string>{"other-svc", "other-svc.other-ns", "other-svc.other-ns.svc",
                                         "other-svc.other-ns.svc.cluster.local"}));
}

TEST_F(DeployWithOpenssl, GenCertsRotatesTheCAWithAnOverlap) {
  SelfSigned s;
  ASSERT_EQ(s.gen.status, 0) << s.gen.out << s.gen.err;
  const auto rotated = run_command("bash " + shell_quote((s.deploy / "gen-certs.sh").string()) + " --rotate-ca " +
                                   shell_quote(s.certs.string()));
  ASSERT_EQ(rotated.status, 0) << rotated.out << rotated.err;
  ASSERT_TRUE(fs::exists(s.certs / "ca-previous.crt"));
  const auto m = kustomize(s.deploy / "overlays" / "self-signed");
  const std::string bundle = base64_decode(str(m.one("MutatingWebhookConfiguration")["webhooks"][0]["clientConfig"]["caBundle"]));
  EXPECT_NE(bundle.find(read_file(s.certs / "ca.crt")), std::string::npos) << "the new CA is not trusted";
  EXPECT_NE(bundle.find(read_file(s.certs / "ca-previous.crt")), std::string::npos) << "the old CA is no longer trusted";
  TempDir scratch;
  const auto certs = check_self_signed(m, scratch.path());
  EXPECT_TRUE(certs.empty()) << join(certs);
}

TEST_F(Deploy, RolloutComponentFlipsFailurePolicyToIgnore) {
  TempDir tmp;
  const fs::path rel = fs::relative(deploy_dir(), tmp.path());
  write_file(tmp.path() / "kustomization.yaml",
             "resources:\n- " + (rel / "overlays" / "cert-manager").string() + "\ncomponents:\n- " +
                 (rel / "components" / "rollout").string() + "\n");
  const auto m = kustomize(tmp.path());
  EXPECT_EQ(str(m.one("MutatingWebhookConfiguration")["webhooks"][0]["failurePolicy"]), "Ignore");
  const auto problems = check_wiring(m);
  EXPECT_TRUE(problems.empty()) << join(problems);
}

TEST_F(Deploy, PodMonitorScrapesTheAdminPort) {
  const auto mon = kustomize(deploy_dir() / "monitoring");
  const auto base = kustomize(deploy_dir() / "base");
  const auto pm = mon.one("PodMonitor");
  const auto dep = base.one("Deployment");
  EXPECT_TRUE(selector_matches(pm["spec"]["selector"], labels_of(dep["spec"]["template"]["metadata"]["labels"])));
  const auto endpoint = pm["spec"]["podMetricsEndpoints"][0];
  EXPECT_EQ(str(endpoint["path"]), "/metrics");
  Problems problems;
  const auto in = locate(base, problems);
  ASSERT_TRUE(in) << join(problems);
  const auto port = resolve_container_port(in->container, endpoint["port"]);
  ASSERT_TRUE(port) << "the PodMonitor's port " << str(endpoint["port"]) << " is not a container port";
  const auto admin = flag_value(args_of(in->container), "--admin-listen");
  ASSERT_TRUE(admin);
  EXPECT_EQ(*port, split_host_port(*admin).second);
  EXPECT_EQ(str(pm["metadata"]["namespace"]), in->ns);
  EXPECT_EQ(mon.all("PrometheusRule").size(), 1u);
  EXPECT_EQ(mon.all("ConfigMap").size(), 1u);
}

// ---- metrics -----------------------------------------------------------------------------------

TEST(Metrics, ExtractorFindsMetricNamesOnly) {
  EXPECT_EQ(promql_metric_names(
                R"(histogram_quantile(0.99, sum by (namespace, pod, le) (rate(sidecar_injection_time_seconds_bucket{namespace=~"$namespace", pod=~"$pod"}[$__rate_interval]))))"),
            (std::set<std::string>{"sidecar_injection_time_seconds_bucket"}));
  EXPECT_EQ(promql_metric_names("sum(rate(a_total[5m])) by (le) / on(pod) group_left(version) b_info > 0.5 and c"),
            (std::set<std::string>{"a_total", "b_info", "c"}));
  EXPECT_EQ(promql_metric_names("min by (pod) (x_seconds) - time() < 14 * 86400"), (std::set<std::string>{"x_seconds"}));
  EXPECT_EQ(promql_metric_names(R"(label_values(meshinject_build_info{namespace=~"$namespace"}, pod))"),
            (std::set<std::string>{"meshinject_build_info"}));
  EXPECT_EQ(promql_metric_names("absent(up_metric)"), (std::set<std::string>{"up_metric"}));
  EXPECT_EQ(promql_metric_names(R"x(count by (namespace) (count by (namespace, version) (info{a="b)"})) > 1)x"),
            (std::set<std::string>{"info"}));
}

TEST(Metrics, ListIsWellFormed) {
  const auto known = load_metric_list();
  EXPECT_GE(known.size(), 30u);
  static const std::regex name(R"([a-zA-Z_:][a-zA-Z0-9_:]*)");
  for (const auto& n : known) EXPECT_TRUE(std::regex_match(n, name)) << n;
  for (const char* must : {"sidecar_injection_requests_total", "sidecar_injection_time_seconds",
                           "meshinject_config_reload_failures_total", "meshinject_certificate_expiry_timestamp_seconds"})
    EXPECT_TRUE(known.count(must)) << must;
  for (const auto& h : kHistograms) EXPECT_TRUE(known.count(h)) << "histogram " << h << " is not listed";
}

TEST(Metrics, UnknownNamesAreCaught) {
  const auto known = load_metric_list();
  EXPECT_TRUE(unknown_metrics({"sidecar_injection_time_seconds_bucket", "sidecar_injection_time_seconds_count"}, known).empty());
  EXPECT_EQ(unknown_metrics(promql_metric_names("rate(sidecar_injection_requests_totl[5m])"), known),
            (std::set<std::string>{"sidecar_injection_requests_totl"}));
  EXPECT_EQ(unknown_metrics({"sidecar_injection_requests_total_bucket"}, known),
            (std::set<std::string>{"sidecar_injection_requests_total_bucket"}));
}

TEST(Metrics, DashboardUsesOnlyExportedMetrics) {
  const auto known = load_metric_list();
  const auto queries = dashboard_queries();
  ASSERT_GE(queries.size(), 20u);
  std::set<std::string> used;
  for (const auto& q : queries) {
    const auto names = promql_metric_names(q);
    EXPECT_FALSE(names.empty()) << "no metric in query: " << q;
    for (const auto& bad : unknown_metrics(names, known)) ADD_FAILURE() << "dashboard uses " << bad << " in: " << q;
    used.insert(names.begin(), names.end());
  }
  // What the dashboard must show: rate, outcomes and reasons, latency, reloads, connections.
  for (const char* must : {"sidecar_injection_requests_total", "sidecar_injection_success_total",
                           "sidecar_injection_skip_total", "sidecar_injection_failure_total",
                           "sidecar_injection_time_seconds_bucket", "meshinject_decisions_total",
                           "meshinject_admission_failures_total", "meshinject_config_reloads_total",
                           "meshinject_config_reload_failures_total", "meshinject_open_connections",
                           "meshinject_certificate_reload_failures_total"})
    EXPECT_TRUE(used.count(must)) << "the dashboard does not show " << must;
}

TEST(Metrics, DashboardPanelsDoNotOverlap) {
  const auto dash = nlohmann::json::parse(read_file(deploy_dir() / "monitoring" / "meshinject-dashboard.json"));
  std::set<int> ids;
  std::vector<std::array<int, 4>> boxes;
  for (const auto& p : dash["panels"]) {
    EXPECT_TRUE(ids.insert(p["id"].get<int>()).second) << "duplicate panel id " << p["id"];
    const auto& g = p["gridPos"];
    const std::array<int, 4> b{g["x"].get<int>(), g["y"].get<int>(), g["w"].get<int>(), g["h"].get<int>()};
    EXPECT_LE(b[0] + b[2], 24) << p["title"];
    for (const auto& o : boxes)
      EXPECT_FALSE(b[0] < o[0] + o[2] && o[0] < b[0] + b[2] && b[1] < o[1] + o[3] && o[1] < b[1] + b[3])
          << "panel " << p["title"] << " overlaps another";
    boxes.push_back(b);
  }
}

TEST(Metrics, AlertsUseOnlyExportedMetrics) {
  const auto known = load_metric_list();
  const auto rules = alert_rules();
  ASSERT_GE(rules.size(), 5u);
  std::set<std::string> used;
  for (const auto& r : rules) {
    const std::string alert = str(r["alert"]);
    EXPECT_FALSE(alert.empty()) << "a rule without an alert name";
    EXPECT_FALSE(str(r["labels"]["severity"]).empty()) << alert << " has no severity";
    EXPECT_FALSE(str(r["annotations"]["summary"]).empty()) << alert << " has no summary";
    const auto names = promql_metric_names(str(r["expr"]));
    EXPECT_FALSE(names.empty()) << alert;
    for (const auto& bad : unknown_metrics(names, known)) ADD_FAILURE() << alert << " uses " << bad;
    used.insert(names.begin(), names.end());
  }
  // Admission failures (allowed:false, 500, 503 without a config), not
  // sidecar_injection_failure_total, which counts malformed requests too.
  for (const char* must : {"meshinject_admission_failures_total", "sidecar_injection_time_seconds_bucket",
                           "meshinject_config_reload_failures_total", "meshinject_certificate_expiry_timestamp_seconds"})
    EXPECT_TRUE(used.count(must)) << "no alert on " << must;
}

// ---- the checks can fail -------------------------------------------------------------------------

class DeployMutations : public Deploy {
 protected:
  void SetUp() override {
    Deploy::SetUp();
    if (IsSkipped()) return;
    base_ = kustomize(deploy_dir() / "base");
    ASSERT_TRUE(check_wiring(base_).empty()) << join(check_wiring(base_));
  }
  // The problems found after `mutate` changed a fresh copy of the base.
  template <typename F>
  Problems after(F mutate) {
    Manifests m = base_.clone();
    mutate(m);
    return check_wiring(m);
  }
  static YAML::Node container(Manifests& m) { return m.one("Deployment")["spec"]["template"]["spec"]["containers"][0]; }
  static YAML::Node hook(Manifests& m) { return m.one("MutatingWebhookConfiguration")["webhooks"][0]; }
  static void set_flag(Manifests& m, const std::string& flag, const std::string& value) {
    YAML::Node args = container(m)["args"];
    for (size_t i = 0; i + 1 < args.size(); ++i)
      if (str(args[i]) == flag) args[i + 1] = value;
  }
  Manifests base_;
};

TEST_F(DeployMutations, WrongTargetPort) {
  const auto numeric = after([](Manifests& m) { m.one("Service")["spec"]["ports"][0]["targetPort"] = 9999; });
  EXPECT_TRUE(mentions(numeric, "targetPort")) << join(numeric);
  const auto named = after([](Manifests& m) { m.one("Service")["spec"]["ports"][0]["targetPort"] = "http-admin"; });
  EXPECT_TRUE(mentions(named, "server listens on")) << join(named);
  const auto listen = after([](Manifests& m) { set_flag(m, "--listen", "0.0.0.0:8443"); });
  EXPECT_TRUE(mentions(listen, "server listens on")) << join(listen);
}

TEST_F(DeployMutations, WrongWebhookPathOrService) {
  EXPECT_TRUE(mentions(after([](Manifests& m) { hook(m)["clientConfig"]["service"]["path"] = "/mutate"; }), "path"));
  EXPECT_TRUE(mentions(after([](Manifests& m) { hook(m)["clientConfig"]["service"]["name"] = "other"; }), "clientConfig.service"));
  EXPECT_TRUE(mentions(after([](Manifests& m) { hook(m)["clientConfig"]["service"]["port"] = 8443; }), "no port 8443"));
  EXPECT_TRUE(mentions(after([](Manifests& m) { hook(m)["sideEffects"] = "Unknown"; }), "sideEffects"));
  EXPECT_TRUE(mentions(after([](Manifests& m) { hook(m)["timeoutSeconds"] = 30; }), "timeoutSeconds"));
  EXPECT_TRUE(mentions(after([](Manifests& m) { hook(m).remove("failurePolicy"); }), "failurePolicy"));
  EXPECT_TRUE(mentions(after([](Manifests& m) { hook(m)["rules"][0]["operations"].push_back("UPDATE"); }), "rule"));
}

TEST_F(DeployMutations, NamespaceSelector) {
  const auto no_own = after([](Manifests& m) {
    YAML::Node exprs = hook(m)["namespaceSelector"]["matchExpressions"];
    YAML::Node kept(YAML::NodeType::Sequence);
    for (const auto& e : exprs)
      if (str(e["key"]) != "meshinject.io/control-plane") kept.push_back(e);
    hook(m)["namespaceSelector"]["matchExpressions"] = kept;
  });
  EXPECT_TRUE(mentions(no_own, "own namespace")) << join(no_own);
  const auto by_name_only = after([](Manifests& m) {
    YAML::Node exprs(YAML::NodeType::Sequence);
    YAML::Node e;
    e["key"] = "kubernetes.io/metadata.name";
    e["operator"] = "NotIn";
    e["values"].push_back("kube-system");
    e["values"].push_back("meshinject-system");
    exprs.push_back(e);
    hook(m)["namespaceSelector"]["matchExpressions"] = exprs;
  });
  EXPECT_TRUE(mentions(by_name_only, "by a label")) << join(by_name_only);
  const auto all = after([](Manifests& m) { hook(m).remove("namespaceSelector"); });
  EXPECT_TRUE(mentions(all, "without istio-injection")) << join(all);
}

TEST_F(DeployMutations, Probes) {
  EXPECT_TRUE(mentions(after([](Manifests& m) { container(m)["readinessProbe"]["httpGet"]["path"] = "/ready"; }), "readinessProbe path"));
  EXPECT_TRUE(mentions(after([](Manifests& m) { container(m)["livenessProbe"]["httpGet"]["path"] = "/healthz"; }), "livenessProbe path"));
  EXPECT_TRUE(mentions(after([](Manifests& m) { container(m)["readinessProbe"]["httpGet"]["port"] = "https-webhook"; }), "not the admin port"));
  EXPECT_TRUE(mentions(after([](Manifests& m) { set_flag(m, "--admin-listen", "127.0.0.1:15014"); }), "binds 127.0.0.1"));
}

TEST_F(DeployMutations, MountsForHotReload) {
  const auto sub = after([](Manifests& m) {
    YAML::Node mounts = container(m)["volumeMounts"];
    for (size_t i = 0; i < mounts.size(); ++i)
      if (str(mounts[i]["name"]) == "config") {
        mounts[i]["mountPath"] = "/etc/meshinject/config/config";
        mounts[i]["subPath"] = "config";
      }
  });
  EXPECT_TRUE(mentions(sub, "subPath")) << join(sub);
  const auto key = after([](Manifests& m) { set_flag(m, "--mesh-config", "/etc/meshinject/config/meshconfig"); });
  EXPECT_TRUE(mentions(key, "no key 'meshconfig'")) << join(key);
  const auto dir = after([](Manifests& m) { set_flag(m, "--tls-cert", "/etc/other/tls.crt"); });
  EXPECT_TRUE(mentions(dir, "not directly inside a mounted directory")) << join(dir);
}

TEST_F(DeployMutations, ThreadsSecurityAndTermination) {
  EXPECT_TRUE(mentions(after([](Manifests& m) {
                         container(m)["args"].push_back("--threads");
                         container(m)["args"].push_back("4");
                       }),
                       "--threads"));
  EXPECT_TRUE(mentions(after([](Manifests& m) { container(m)["resources"]["limits"]["cpu"] = "1500m"; }), "whole number"));
  EXPECT_TRUE(mentions(after([](Manifests& m) { container(m)["securityContext"]["allowPrivilegeEscalation"] = true; }), "allowPrivilegeEscalation"));
  EXPECT_TRUE(mentions(after([](Manifests& m) { container(m)["securityContext"]["capabilities"]["drop"][0] = "NET_RAW"; }), "drop ALL"));
  EXPECT_TRUE(mentions(after([](Manifests& m) {
                         m.one("Deployment")["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = 5;
                       }),
                       "terminationGracePeriodSeconds"));
  EXPECT_TRUE(mentions(after([](Manifests& m) { set_flag(m, "--idle-timeout", "60s"); }), "idle-timeout"));
  const auto int_arg = after([](Manifests& m) {
    YAML::Node args = container(m)["args"];
    for (size_t i = 0; i + 1 < args.size(); ++i)
      if (str(args[i]) == "--drain-seconds") args[i + 1] = 15;  // an unquoted YAML int
  });
  EXPECT_TRUE(mentions(int_arg, "not a string")) << join(int_arg);
}

TEST_F(DeployMutations, Availability) {
  EXPECT_TRUE(mentions(after([](Manifests& m) { m.one("Deployment")["spec"]["replicas"] = 3; }),
                       "sets replicas beside a HorizontalPodAutoscaler"));
  EXPECT_TRUE(mentions(after([](Manifests& m) { m.one("HorizontalPodAutoscaler")["spec"]["minReplicas"] = 1; }),
                       "fewer than 3 replicas"));
  EXPECT_TRUE(mentions(after([](Manifests& m) { m.one("PodDisruptionBudget")["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"] = "x"; }),
                       "PodDisruptionBudget does not select"));
  EXPECT_TRUE(mentions(after([](Manifests& m) { m.one("HorizontalPodAutoscaler")["spec"]["scaleTargetRef"]["name"] = "x"; }),
                       "does not scale the Deployment"));
  EXPECT_TRUE(mentions(after([](Manifests& m) { m.one("Deployment")["spec"]["template"]["spec"].remove("topologySpreadConstraints"); }),
                       "across zones"));
  EXPECT_TRUE(mentions(after([](Manifests& m) {
                         YAML::Node role;
                         role["apiVersion"] = "rbac.authorization.k8s.io/v1";
                         role["kind"] = "ClusterRole";
                         role["metadata"]["name"] = "meshinject";
                         m.docs.push_back(role);
                       }),
                       "ClusterRole"));
}

TEST_F(Deploy, CertManagerChecksCanFail) {
  auto m = kustomize(deploy_dir() / "overlays" / "cert-manager");
  ASSERT_TRUE(check_cert_manager(m).empty());
  for (auto c : m.all("Certificate"))
    if (str(c["metadata"]["name"]) == "meshinject-serving") {
      YAML::Node names(YAML::NodeType::Sequence);
      names.push_back("meshinject.meshinject-system.svc");
      c["spec"]["dnsNames"] = names;
    }
  EXPECT_TRUE(mentions(check_cert_manager(m), "dnsNames lack meshinject.meshinject-system.svc.cluster.local"));
  m.one("MutatingWebhookConfiguration")["metadata"]["annotations"]["cert-manager.io/inject-ca-from"] = "x/y";
  EXPECT_TRUE(mentions(check_cert_manager(m), "inject-ca-from"));
}

TEST_F(DeployWithOpenssl, SelfSignedChecksCanFail) {
  SelfSigned s("-s wrong-service");
  ASSERT_EQ(s.gen.status, 0) << s.gen.out << s.gen.err;
  const auto m = kustomize(s.deploy / "overlays" / "self-signed");
  TempDir scratch;
  const auto problems = check_self_signed(m, scratch.path());
  EXPECT_TRUE(mentions(problems, "SANs lack meshinject.meshinject-system.svc")) << join(problems);

  // A caBundle from another CA.
  SelfSigned other;
  ASSERT_EQ(other.gen.status, 0);
  auto mixed = kustomize(s.deploy / "overlays" / "self-signed").clone();
  const auto foreign = kustomize(other.deploy / "overlays" / "self-signed");
  mixed.one("MutatingWebhookConfiguration")["webhooks"][0]["clientConfig"]["caBundle"] =
      str(foreign.one("MutatingWebhookConfiguration")["webhooks"][0]["clientConfig"]["caBundle"]);
  TempDir scratch2;
  EXPECT_TRUE(mentions(check_self_signed(mixed, scratch2.path()), "does not verify")) << join(check_self_signed(mixed, scratch2.path()));
}

}  // namespace
}  // namespace meshinject::deploytest
