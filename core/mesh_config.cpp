#include "core/mesh_config.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>

#include "core/config_keys.hpp"
#include "core/error.hpp"

namespace meshinject::core {
namespace {

using K = go_field::kind;

constexpr go_enum_value interception_modes[] = {{"REDIRECT", 0}, {"TPROXY", 1}, {"NONE", 2}};
constexpr go_enum_value auth_policies[] = {{"NONE", 0}, {"MUTUAL_TLS", 1}, {"INHERIT", 1000}};
constexpr go_enum_value access_log_encodings[] = {{"TEXT", 0}, {"JSON", 1}};
constexpr go_enum_value ingress_modes[] = {{"UNSPECIFIED", 0}, {"OFF", 1}, {"DEFAULT", 2}, {"STRICT", 3}};
constexpr go_enum_value mesh_auth_policies[] = {{"NONE", 0}, {"MUTUAL_TLS", 1}};
constexpr go_enum_value outbound_modes[] = {{"REGISTRY_ONLY", 0}, {"ALLOW_ANY", 1}};

constexpr go_field bool_value_fields[] = {{"Value", "value", K::boolean}};
constexpr go_message bool_value{"BoolValue", bool_value_fields};

constexpr go_field zipkin_fields[] = {{"Address", "address", K::string}};
constexpr go_message zipkin_message{"Tracing_Zipkin", zipkin_fields};
constexpr go_field lightstep_fields[] = {
    {"Address", "address", K::string},
    {"AccessToken", "accessToken", K::string},
    {"Secure", "secure", K::boolean},
    {"CacertPath", "cacertPath", K::string},
};
constexpr go_message lightstep_message{"Tracing_Lightstep", lightstep_fields};
constexpr go_field datadog_fields[] = {{"Address", "address", K::string}};
constexpr go_message datadog_message{"Tracing_Datadog", datadog_fields};
constexpr go_field client_tls_fields[] = {
    {"Mode", "mode", K::string},
    {"ClientCertificate", "clientCertificate", K::string},
    {"PrivateKey", "privateKey", K::string},
    {"CaCertificates", "caCertificates", K::string},
    {"Sni", "sni", K::string},
    {"SubjectAltNames", "subjectAltNames", K::list},
};
constexpr go_message client_tls_message{"ClientTLSSettings", client_tls_fields};
constexpr go_field tracing_fields[] = {
    {"Zipkin", "zipkin", K::message, &zipkin_message},
    {"Lightstep", "lightstep", K::message, &lightstep_message},
    {"Datadog", "datadog", K::message, &datadog_message},
    {"TlsSettings", "tlsSettings", K::message, &client_tls_message},
};
constexpr go_message tracing_message{"Tracing", tracing_fields};

constexpr go_field proxy_fields[] = {
    {"ConfigPath", "configPath", K::string},
    {"BinaryPath", "binaryPath", K::string},
    {"ServiceCluster", "serviceCluster", K::string},
    {"DrainDuration", "drainDuration", K::duration},
    {"ParentShutdownDuration", "parentShutdownDuration", K::duration},
    {"DiscoveryAddress", "discoveryAddress", K::string},
    {"DiscoveryRefreshDelay", "discoveryRefreshDelay", K::duration},
    {"ZipkinAddress", "zipkinAddress", K::string},
    {"ConnectTimeout", "connectTimeout", K::duration},
    {"StatsdUdpAddress", "statsdUdpAddress", K::string},
    {"EnvoyMetricsServiceAddress", "envoyMetricsServiceAddress", K::string},
    {"ProxyAdminPort", "proxyAdminPort", K::integer},
    {"AvailabilityZone", "availabilityZone", K::string},
    {"ControlPlaneAuthPolicy", "controlPlaneAuthPolicy", K::enumeration, nullptr, auth_policies},
    {"CustomConfigFile", "customConfigFile", K::string},
    {"StatNameLength", "statNameLength", K::integer},
    {"Concurrency", "concurrency", K::integer},
    {"ProxyBootstrapTemplatePath", "proxyBootstrapTemplatePath", K::string},
    {"InterceptionMode", "interceptionMode", K::enumeration, nullptr, interception_modes},
    {"Tracing", "tracing", K::message, &tracing_message},
    {"SdsUdsPath", "sdsUdsPath", K::string},
    {"SdsTokenPath", "sdsTokenPath", K::string},
    {"StatusPort", "statusPort", K::integer},
    {"ProxyMetadata", "proxyMetadata", K::map},
    // Istio 1.28's templates read these.
    {"TerminationDrainDuration", "terminationDrainDuration", K::duration},
    {"HoldApplicationUntilProxyStarts", "holdApplicationUntilProxyStarts", K::message, &bool_value},
};
constexpr go_message proxy_message{"ProxyConfig", proxy_fields};

constexpr go_field outbound_fields[] = {{"Mode", "mode", K::enumeration, nullptr, outbound_modes}};
constexpr go_message outbound_message{"MeshConfig_OutboundTrafficPolicy", outbound_fields};

constexpr go_field mesh_fields[] = {
    {"MixerCheckServer", "mixerCheckServer", K::string},
    {"MixerReportServer", "mixerReportServer", K::string},
    {"DisablePolicyChecks", "disablePolicyChecks", K::boolean},
    {"PolicyCheckFailOpen", "policyCheckFailOpen", K::boolean},
    {"SidecarToTelemetrySessionAffinity", "sidecarToTelemetrySessionAffinity", K::boolean},
    {"ProxyListenPort", "proxyListenPort", K::integer},
    {"ProxyInboundListenPort", "proxyInboundListenPort", K::integer},
    {"ProxyHttpPort", "proxyHttpPort", K::integer},
    {"ConnectTimeout", "connectTimeout", K::duration},
    {"ProtocolDetectionTimeout", "protocolDetectionTimeout", K::duration},
    {"IngressClass", "ingressClass", K::string},
    {"IngressService", "ingressService", K::string},
    {"IngressControllerMode", "ingressControllerMode", K::enumeration, nullptr, ingress_modes},
    {"AuthPolicy", "authPolicy", K::enumeration, nullptr, mesh_auth_policies},
    {"RdsRefreshDelay", "rdsRefreshDelay", K::duration},
    {"EnableTracing", "enableTracing", K::boolean},
    {"AccessLogFile", "accessLogFile", K::string},
    {"AccessLogFormat", "accessLogFormat", K::string},
    {"AccessLogEncoding", "accessLogEncoding", K::enumeration, nullptr, access_log_encodings},
    {"DefaultConfig", "defaultConfig", K::message, &proxy_message},
    {"MixerAddress", "mixerAddress", K::string},
    {"OutboundTrafficPolicy", "outboundTrafficPolicy", K::message, &outbound_message},
    {"EnableClientSidePolicyCheck", "enableClientSidePolicyCheck", K::boolean},
    {"SdsUdsPath", "sdsUdsPath", K::string},
    {"SdsRefreshDelay", "sdsRefreshDelay", K::duration},
    {"ConfigSources", "configSources", K::list},
    {"EnableSdsTokenMount", "enableSdsTokenMount", K::boolean},
    {"SdsUseK8sSaJwt", "sdsUseK8sSaJwt", K::boolean},
    {"TrustDomain", "trustDomain", K::string},
    {"TrustDomainAliases", "trustDomainAliases", K::list},
    {"DefaultServiceExportTo", "defaultServiceExportTo", K::list},
    {"DefaultVirtualServiceExportTo", "defaultVirtualServiceExportTo", K::list},
    {"DefaultDestinationRuleExportTo", "defaultDestinationRuleExportTo", K::list},
    {"RootNamespace", "rootNamespace", K::string},
    {"LocalityLbSetting", "localityLbSetting", K::any},
    {"DnsRefreshRate", "dnsRefreshRate", K::duration},
};
constexpr go_message mesh_message{"MeshConfig", mesh_fields};

// Istio 1.1.0's DefaultMeshConfig() and DefaultProxyConfig(), written as YAML.
// Tracing is unset by default, so `.ProxyConfig.GetTracing.GetZipkin.GetAddress`
// is empty without a mesh file.
constexpr std::string_view default_mesh_yaml = R"(
mixerCheckServer: ""
mixerReportServer: ""
disablePolicyChecks: false
policyCheckFailOpen: false
sidecarToTelemetrySessionAffinity: false
proxyListenPort: 15001
connectTimeout: 1s
ingressClass: istio
ingressService: istio-ingressgateway
ingressControllerMode: STRICT
authPolicy: NONE
rdsRefreshDelay: 1s
enableTracing: true
accessLogFile: /dev/stdout
accessLogFormat: ""
accessLogEncoding: TEXT
sdsUdsPath: ""
sdsRefreshDelay: 15s
enableSdsTokenMount: false
sdsUseK8sSaJwt: false
trustDomain: ""
outboundTrafficPolicy:
  mode: ALLOW_ANY
rootNamespace: istio-system
dnsRefreshRate: 5s
)";

constexpr std::string_view default_proxy_yaml = R"(
configPath: /etc/istio/proxy
binaryPath: /usr/local/bin/envoy
serviceCluster: istio-proxy
drainDuration: 45s
parentShutdownDuration: 60s
discoveryAddress: istio-pilot:15010
connectTimeout: 1s
statsdUdpAddress: ""
envoyMetricsServiceAddress: ""
proxyAdminPort: 15000
controlPlaneAuthPolicy: NONE
customConfigFile: ""
concurrency: 0
statNameLength: 189
interceptionMode: REDIRECT
)";

// Istio 1.28.0's DefaultMeshConfig() and DefaultProxyConfig() (pkg/config/mesh),
// for configs in the named-templates shape: what a 1.28 ConfigMap was written
// against. Fields left at their proto zero value are not listed.
constexpr std::string_view default_mesh_yaml_1_28 = R"(
enableTracing: true
accessLogFile: ""
accessLogEncoding: TEXT
accessLogFormat: ""
protocolDetectionTimeout: 0s
ingressService: istio-ingressgateway
ingressControllerMode: STRICT
ingressClass: istio
trustDomain: cluster.local
trustDomainAliases: []
enableAutoMtls: true
outboundTrafficPolicy:
  mode: ALLOW_ANY
inboundTrafficPolicy:
  mode: PASSTHROUGH
localityLbSetting:
  enabled: true
rootNamespace: istio-system
proxyListenPort: 15001
proxyInboundListenPort: 15006
connectTimeout: 10s
defaultServiceExportTo: ["*"]
defaultVirtualServiceExportTo: ["*"]
defaultDestinationRuleExportTo: ["*"]
dnsRefreshRate: 60s
enablePrometheusMerge: true
)";

constexpr std::string_view default_proxy_yaml_1_28 = R"(
configPath: ./etc/istio/proxy
serviceCluster: istio-proxy
drainDuration: 45s
terminationDrainDuration: 5s
proxyAdminPort: 15000
controlPlaneAuthPolicy: MUTUAL_TLS
discoveryAddress: istiod.istio-system.svc:15012
binaryPath: /usr/local/bin/envoy
statNameLength: 189
statusPort: 15020
)";

source_position where(const std::string& file, const config_node& n) { return {file, n.line(), n.column()}; }

// Fields that Istio releases after 1.1 (up to 1.28, istio/api's mesh/v1alpha1)
// added to MeshConfig and ProxyConfig. They are known, so they draw no unknown-key
// warning, but not typed: the templates meshinject renders do not read them.
constexpr std::string_view later_mesh_fields[] = {
    "proxyInboundListenPort", "tcpKeepalive", "ingressSelector", "enableEnvoyAccessLogService",
    "disableEnvoyListenerLog", "inboundTrafficPolicy", "enableAutoMtls", "caCertificates", "h2UpgradePolicy",
    "inboundClusterStatName", "outboundClusterStatName", "certificates", "thriftConfig", "serviceSettings",
    "enablePrometheusMerge", "verifyCertificateAtClient", "ca", "extensionProviders", "defaultProviders",
    "discoverySelectors", "pathNormalization", "defaultHttpRetryPolicy", "meshMTLS", "tlsDefaults",
    "serviceScopeConfigs", "accessLogFormat", "localityLbSetting", "trustDomainAliases"};
constexpr std::string_view later_proxy_fields[] = {
    "sds", "envoyAccessLogService", "envoyMetricsService", "runtimeValues", "extraStatTags", "gatewayTopology",
    "terminationDrainDuration", "meshId", "readinessProbe", "proxyStatsMatcher", "holdApplicationUntilProxyStarts",
    "caCertificatesPem", "image", "privateKeyProvider", "proxyHeaders", "tracingServiceName", "fileFlushInterval",
    "fileFlushMinSizeKb", "statsCompression", "envoyMetricsServiceAddress"};
constexpr std::string_view later_tracing_fields[] = {
    "stackdriver", "openCensusAgent", "customTags", "maxPathTagLength", "sampling", "tlsSettings"};

std::span<const std::string_view> later_fields(const go_message& msg) {
  if (msg.type_name == "MeshConfig") return later_mesh_fields;
  if (msg.type_name == "ProxyConfig") return later_proxy_fields;
  if (msg.type_name == "Tracing") return later_tracing_fields;
  return {};
}

// Every key a message may hold, for did-you-mean hints.
std::vector<std::string_view> known_keys(const go_message& msg) {
  std::vector<std::string_view> keys;
  for (const auto& f : msg.fields) keys.push_back(f.json_name);
  for (std::string_view later : later_fields(msg)) keys.push_back(later);
  return keys;
}

// Type-checks one known field's value as protobuf's JSON decoder would.
// Returns the problem, or an empty string.
std::string field_problem(const go_field& f, const config_node& value, const std::string& field_path) {
  switch (f.k) {
    case K::string:
      if (value.type() == config_node::kind::list || value.type() == config_node::kind::map)
        return field_path + ": expected a string";
      break;
    case K::integer:
      if (value.type() != config_node::kind::integer)
        return field_path + ": expected an integer, got '" + value.text() + "'";
      break;
    case K::boolean:
      if (value.type() != config_node::kind::boolean)
        return field_path + ": expected true or false, got '" + value.text() + "'";
      break;
    case K::duration:
      if (value.type() != config_node::kind::string || !parse_go_duration(value.text()))
        return field_path + ": expected a duration such as 10s or 1m0s, got '" + value.text() + "'";
      break;
    case K::enumeration: {
      bool ok = false;
      for (const auto& e : f.enums)
        ok = ok || (value.type() == config_node::kind::string && value.text() == e.name) ||
             (value.type() == config_node::kind::integer && value.as_int() == e.number);
      if (!ok) {
        std::string names;
        for (const auto& e : f.enums) names += (names.empty() ? "" : ", ") + std::string(e.name);
        return field_path + ": unknown value '" + value.text() + "' (expected one of " + names + ")";
      }
      break;
    }
    case K::list:
      if (value.type() != config_node::kind::list) return field_path + ": expected a list";
      break;
    case K::map:
      if (value.type() != config_node::kind::map) return field_path + ": expected a mapping";
      break;
    case K::message:
    case K::any:
      break;
  }
  return {};
}

struct mesh_findings {
  std::vector<config_error> errors;
  std::vector<config_error> warnings;
};

// Unknown keys, at the key's own position (the value tree keeps keys sorted and
// without positions, so this walks the YAML itself). They are warnings: Istio's
// decoder would refuse them, but a newer Istio may know them.
void warn_unknown_keys(const YAML::Node& node, const go_message& msg, const std::string& file,
                       const std::string& path, mesh_findings& found) {
  if (!node.IsMap()) return;
  for (const auto& kv : node) {
    if (!kv.first.IsScalar()) continue;
    const std::string& key = kv.first.Scalar();
    const YAML::Mark m = kv.first.Mark();
    if (const go_field* f = msg.find_json(key)) {
      if (f->k == K::message) warn_unknown_keys(kv.second, *f->message, file, path.empty() ? key : path + "." + key, found);
      continue;
    }
    const auto later = later_fields(msg);
    if (std::find(later.begin(), later.end(), key) != later.end()) continue;
    std::string message = unknown_key_message(path, key, known_keys(msg));
    // A proxy setting at the top level (`discoveryAddress:` beside `defaultConfig:`)
    // is a common slip: name where it belongs.
    if (&msg == &mesh_message && closest_key(key, known_keys(mesh_message)).empty())
      if (const std::string_view meant = closest_key(key, known_keys(proxy_message)); !meant.empty())
        message += " (did you mean 'defaultConfig." + std::string(meant) + "'?)";
    found.warnings.emplace_back(source_position{file, m.line + 1, m.column + 1}, std::move(message));
  }
}

// Checks a tree against a message schema the way protobuf's JSON decoder would
// reject it, collecting every problem instead of stopping at the first: a known
// field of the wrong type is an error.
void check_message(const config_node& node, const go_message& msg, const std::string& file, const std::string& path,
                   mesh_findings& found) {
  if (node.is_null()) return;
  if (node.type() != config_node::kind::map) {
    found.errors.emplace_back(where(file, node), path + ": expected a mapping for " + std::string(msg.type_name));
    return;
  }
  for (const auto& [key, value] : node.members()) {
    const go_field* f = msg.find_json(key);
    if (!f || value.is_null()) continue;
    const std::string field_path = path.empty() ? key : path + "." + key;
    if (f->k == K::message && f->message == &bool_value) {
      if (value.type() != config_node::kind::boolean)
        found.errors.emplace_back(where(file, value), field_path + ": expected true or false, got '" + value.text() + "'");
    } else if (f->k == K::message) {
      check_message(value, *f->message, file, field_path, found);
    } else if (std::string problem = field_problem(*f, value, field_path); !problem.empty()) {
      found.errors.emplace_back(where(file, value), problem);
    }
  }
}

config_node parse_yaml(std::string_view text, const std::string& file, const yaml_limits& limits = {}) {
  try {
    return config_node::from_yaml(YAML::Load(std::string(text)), file, limits);
  } catch (const YAML::Exception& e) {
    throw config_error({file, e.mark.line + 1, e.mark.column + 1}, "invalid YAML: " + e.msg);
  }
}

// Applies `over` onto `base`: mappings merge key by key, anything else replaces.
void merge_into(config_node& base, const config_node& over) {
  if (over.type() != config_node::kind::map || base.type() != config_node::kind::map) {
    base = over;
    return;
  }
  for (const auto& [key, value] : over.members()) {
    const config_node* existing = base.find(key);
    if (existing && existing->type() == config_node::kind::map && value.type() == config_node::kind::map) {
      config_node merged = *existing;
      merge_into(merged, value);
      base.set_member(key, std::move(merged));
    } else {
      base.set_member(key, value);
    }
  }
}

}  // namespace

const go_field* go_message::find_field(std::string_view go_name) const noexcept {
  for (const auto& f : fields)
    if (f.go_name == go_name) return &f;
  if (is_getter_name(go_name)) return find_field(go_name.substr(3));
  return nullptr;
}

const go_field* go_message::find_json(std::string_view json_name) const noexcept {
  for (const auto& f : fields)
    if (f.json_name == json_name) return &f;
  return nullptr;
}

const go_message& mesh_config_message() noexcept { return mesh_message; }
const go_message& proxy_config_message() noexcept { return proxy_message; }
const go_message& bool_value_message() noexcept { return bool_value; }

const config_node& mesh_config::proxy_config() const noexcept {
  static const config_node empty = config_node::make_map();
  const config_node* p = root.find("defaultConfig");
  return p ? *p : empty;
}

std::optional<std::int64_t> parse_go_duration(std::string_view s) noexcept {
  if (s.empty()) return std::nullopt;
  bool negative = false;
  if (s[0] == '-' || s[0] == '+') {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return 0;
  if (s.empty()) return std::nullopt;
  long double total = 0;
  while (!s.empty()) {
    std::size_t i = 0;
    long double whole = 0;
    bool digits = false;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') whole = whole * 10 + (s[i++] - '0'), digits = true;
    long double frac = 0, scale = 1;
    if (i < s.size() && s[i] == '.') {
      ++i;
      while (i < s.size() && s[i] >= '0' && s[i] <= '9') frac = frac * 10 + (s[i++] - '0'), scale *= 10, digits = true;
    }
    if (!digits) return std::nullopt;
    std::size_t u = i;
    while (u < s.size() && !(s[u] >= '0' && s[u] <= '9') && s[u] != '.') ++u;
    const std::string_view unit = s.substr(i, u - i);
    long double mult;
    if (unit == "ns") mult = 1;
    else if (unit == "us" || unit == "\xc2\xb5s" || unit == "\xce\xbcs") mult = 1e3L;
    else if (unit == "ms") mult = 1e6L;
    else if (unit == "s") mult = 1e9L;
    else if (unit == "m") mult = 60e9L;
    else if (unit == "h") mult = 3600e9L;
    else return std::nullopt;
    total += (whole + frac / scale) * mult;
    s.remove_prefix(u);
  }
  if (total > 9.2e18L) return std::nullopt;
  const auto ns = static_cast<std::int64_t>(std::llround(static_cast<double>(total)));
  return negative ? -ns : ns;
}

std::string format_go_duration(std::int64_t d) {
  if (d == 0) return "0s";
  const bool negative = d < 0;
  std::uint64_t u = negative ? static_cast<std::uint64_t>(-(d + 1)) + 1 : static_cast<std::uint64_t>(d);
  std::string out;
  // Below one second Go picks the largest unit that keeps an integer part.
  auto fraction = [](std::uint64_t v, int prec) {
    // v / 10^prec printed with trailing zeros trimmed.
    std::string digits = std::to_string(v);
    if (static_cast<int>(digits.size()) <= prec) digits.insert(0, static_cast<std::size_t>(prec) - digits.size() + 1, '0');
    std::string whole = digits.substr(0, digits.size() - static_cast<std::size_t>(prec));
    std::string frac = digits.substr(digits.size() - static_cast<std::size_t>(prec));
    while (!frac.empty() && frac.back() == '0') frac.pop_back();
    return frac.empty() ? whole : whole + "." + frac;
  };
  if (u < 1'000'000'000ULL) {
    if (u < 1'000ULL) out = std::to_string(u) + "ns";
    else if (u < 1'000'000ULL) out = fraction(u, 3) + "\xc2\xb5s";
    else out = fraction(u, 6) + "ms";
  } else {
    const std::uint64_t hours = u / 3'600'000'000'000ULL;
    u -= hours * 3'600'000'000'000ULL;
    const std::uint64_t minutes = u / 60'000'000'000ULL;
    u -= minutes * 60'000'000'000ULL;
    const std::string seconds = fraction(u, 9) + "s";
    if (hours > 0) out = std::to_string(hours) + "h" + std::to_string(minutes) + "m" + seconds;
    else if (minutes > 0) out = std::to_string(minutes) + "m" + seconds;
    else out = seconds;
  }
  return negative ? "-" + out : out;
}

mesh_config default_mesh_config(mesh_defaults release) {
  const bool current = release == mesh_defaults::istio_1_28;
  mesh_config m;
  m.root = parse_yaml(current ? default_mesh_yaml_1_28 : default_mesh_yaml, "built-in mesh defaults");
  m.root.set_member("defaultConfig",
                    parse_yaml(current ? default_proxy_yaml_1_28 : default_proxy_yaml, "built-in proxy defaults"));
  m.source = "built-in defaults";
  return m;
}

std::vector<config_error> check_mesh_config(std::string_view yaml_text, const std::string& file_name,
                                           std::vector<std::string>* warnings, const yaml_limits& limits) {
  const config_node file = parse_yaml(yaml_text, file_name, limits);
  if (!file.is_null() && file.type() != config_node::kind::map)
    return {config_error({file_name, file.line(), file.column()}, "the mesh config must be a mapping")};
  mesh_findings found;
  check_message(file, mesh_message, file_name, "", found);
  warn_unknown_keys(YAML::Load(std::string(yaml_text)), mesh_message, file_name, "", found);
  sort_in_file_order(found.errors);
  sort_in_file_order(found.warnings);
  if (warnings)
    for (const auto& w : found.warnings) warnings->push_back(w.what());
  return found.errors;
}

mesh_config load_mesh_config(std::string_view yaml_text, const std::string& file_name, mesh_defaults release,
                             const yaml_limits& limits) {
  std::vector<std::string> warnings;
  std::vector<config_error> errors = check_mesh_config(yaml_text, file_name, &warnings, limits);
  throw_first(errors);
  const config_node file = parse_yaml(yaml_text, file_name, limits);
  mesh_config m = default_mesh_config(release);
  // As Istio does: the file applies over the mesh defaults, and its defaultConfig
  // applies over the built-in proxy defaults (not over nothing).
  config_node proxy = m.root.find("defaultConfig") ? *m.root.find("defaultConfig") : config_node::make_map();
  if (!file.is_null()) {
    for (const auto& [key, value] : file.members()) {
      if (key == "defaultConfig") {
        if (!value.is_null()) merge_into(proxy, value);
      } else if (!value.is_null()) {
        config_node merged = m.root.find(key) ? *m.root.find(key) : config_node();
        merge_into(merged, value);
        m.root.set_member(key, std::move(merged));
      } else {
        // An explicit null (`trustDomain:`) means "not set": keep the default.
      }
    }
  }
  m.root.set_member("defaultConfig", std::move(proxy));
  m.source = file_name;
  m.warnings = std::move(warnings);
  return m;
}

}  // namespace meshinject::core
