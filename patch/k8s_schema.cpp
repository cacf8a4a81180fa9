#include "patch/k8s_schema.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <string>
#include <system_error>
#include <vector>

namespace meshinject::patch::k8s {
namespace {

using F = field_type;

constexpr type_node t_string{F::string, "string", {}, nullptr};
constexpr type_node t_int{F::integer, "integer", {}, nullptr};
constexpr type_node t_bool{F::boolean, "boolean", {}, nullptr};
constexpr type_node t_quantity{F::quantity, "quantity", {}, nullptr};
constexpr type_node t_ios{F::int_or_string, "int-or-string", {}, nullptr};
constexpr type_node t_any{F::any, "any", {}, nullptr};
constexpr type_node t_string_list{F::list, "[]string", {}, &t_string};
constexpr type_node t_string_map{F::map, "map[string]string", {}, &t_string};
constexpr type_node t_quantity_map{F::map, "map[string]Quantity", {}, &t_quantity};

#define MI_OBJECT(var, name, ...)                        \
  constexpr field_desc var##_fields[] = {__VA_ARGS__}; \
  constexpr type_node var{F::object, name, var##_fields, nullptr}
#define MI_LIST(var, elem) constexpr type_node var{F::list, "list", {}, &elem}

MI_OBJECT(object_field_selector, "ObjectFieldSelector", {"apiVersion", &t_string}, {"fieldPath", &t_string});
MI_OBJECT(resource_field_selector, "ResourceFieldSelector", {"containerName", &t_string}, {"resource", &t_string},
          {"divisor", &t_quantity});
MI_OBJECT(key_selector, "KeySelector", {"name", &t_string}, {"key", &t_string}, {"optional", &t_bool});
MI_OBJECT(env_var_source, "EnvVarSource", {"fieldRef", &object_field_selector},
          {"resourceFieldRef", &resource_field_selector}, {"configMapKeyRef", &key_selector},
          {"secretKeyRef", &key_selector}, {"fileKeyRef", &t_any});
MI_OBJECT(env_var_t, "EnvVar", {"name", &t_string}, {"value", &t_string}, {"valueFrom", &env_var_source});
MI_LIST(env_var_list, env_var_t);
MI_OBJECT(env_source_ref, "EnvSourceRef", {"name", &t_string}, {"optional", &t_bool});
MI_OBJECT(env_from_source, "EnvFromSource", {"prefix", &t_string}, {"configMapRef", &env_source_ref},
          {"secretRef", &env_source_ref});
MI_LIST(env_from_list, env_from_source);
MI_OBJECT(resource_claim, "ResourceClaim", {"name", &t_string}, {"request", &t_string});
MI_LIST(resource_claim_list, resource_claim);
MI_OBJECT(resource_requirements, "ResourceRequirements", {"limits", &t_quantity_map}, {"requests", &t_quantity_map},
          {"claims", &resource_claim_list});
MI_OBJECT(container_port, "ContainerPort", {"name", &t_string}, {"hostPort", &t_int}, {"containerPort", &t_int},
          {"protocol", &t_string}, {"hostIP", &t_string});
MI_LIST(container_port_list, container_port);
MI_OBJECT(volume_mount_t, "VolumeMount", {"name", &t_string}, {"readOnly", &t_bool}, {"recursiveReadOnly", &t_string},
          {"mountPath", &t_string}, {"subPath", &t_string}, {"mountPropagation", &t_string},
          {"subPathExpr", &t_string});
MI_LIST(volume_mount_list, volume_mount_t);
MI_OBJECT(volume_device, "VolumeDevice", {"name", &t_string}, {"devicePath", &t_string});
MI_LIST(volume_device_list, volume_device);
MI_OBJECT(exec_action, "ExecAction", {"command", &t_string_list});
MI_OBJECT(http_header, "HTTPHeader", {"name", &t_string}, {"value", &t_string});
MI_LIST(http_header_list, http_header);
MI_OBJECT(http_get_action, "HTTPGetAction", {"path", &t_string}, {"port", &t_ios}, {"host", &t_string},
          {"scheme", &t_string}, {"httpHeaders", &http_header_list});
MI_OBJECT(tcp_socket_action, "TCPSocketAction", {"port", &t_ios}, {"host", &t_string});
MI_OBJECT(grpc_action, "GRPCAction", {"port", &t_int}, {"service", &t_string});
MI_OBJECT(sleep_action, "SleepAction", {"seconds", &t_int});
MI_OBJECT(probe, "Probe", {"exec", &exec_action}, {"httpGet", &http_get_action}, {"tcpSocket", &tcp_socket_action},
          {"grpc", &grpc_action}, {"initialDelaySeconds", &t_int}, {"timeoutSeconds", &t_int},
          {"periodSeconds", &t_int}, {"successThreshold", &t_int}, {"failureThreshold", &t_int},
          {"terminationGracePeriodSeconds", &t_int});
MI_OBJECT(lifecycle_handler, "LifecycleHandler", {"exec", &exec_action}, {"httpGet", &http_get_action},
          {"tcpSocket", &tcp_socket_action}, {"sleep", &sleep_action});
MI_OBJECT(lifecycle, "Lifecycle", {"postStart", &lifecycle_handler}, {"preStop", &lifecycle_handler},
          {"stopSignal", &t_string});
MI_OBJECT(capabilities, "Capabilities", {"add", &t_string_list}, {"drop", &t_string_list});
MI_OBJECT(se_linux_options, "SELinuxOptions", {"user", &t_string}, {"role", &t_string}, {"type", &t_string},
          {"level", &t_string});
MI_OBJECT(windows_options, "WindowsSecurityContextOptions", {"gmsaCredentialSpecName", &t_string},
          {"gmsaCredentialSpec", &t_string}, {"runAsUserName", &t_string}, {"hostProcess", &t_bool});
MI_OBJECT(profile, "Profile", {"type", &t_string}, {"localhostProfile", &t_string});
MI_OBJECT(security_context, "SecurityContext", {"capabilities", &capabilities}, {"privileged", &t_bool},
          {"seLinuxOptions", &se_linux_options}, {"windowsOptions", &windows_options}, {"runAsUser", &t_int},
          {"runAsGroup", &t_int}, {"runAsNonRoot", &t_bool}, {"readOnlyRootFilesystem", &t_bool},
          {"allowPrivilegeEscalation", &t_bool}, {"procMount", &t_string}, {"seccompProfile", &profile},
          {"appArmorProfile", &profile});
MI_OBJECT(resize_policy, "ContainerResizePolicy", {"resourceName", &t_string}, {"restartPolicy", &t_string});
MI_LIST(resize_policy_list, resize_policy);
// No `restartPolicy`: the Istio 1.1 chart puts `restartPolicy: Always` on
// istio-init, and Istio's decoder (Kubernetes 1.13 types) dropped it. On
// Kubernetes 1.28+ the field exists and would turn istio-init into a restarting
// sidecar, so it is dropped here too, with a warning at load.
MI_OBJECT(container_t, "Container", {"name", &t_string}, {"image", &t_string}, {"command", &t_string_list},
          {"args", &t_string_list}, {"workingDir", &t_string}, {"ports", &container_port_list},
          {"envFrom", &env_from_list}, {"env", &env_var_list}, {"resources", &resource_requirements},
          {"resizePolicy", &resize_policy_list}, {"volumeMounts", &volume_mount_list},
          {"volumeDevices", &volume_device_list}, {"livenessProbe", &probe}, {"readinessProbe", &probe},
          {"startupProbe", &probe}, {"lifecycle", &lifecycle}, {"terminationMessagePath", &t_string},
          {"terminationMessagePolicy", &t_string}, {"imagePullPolicy", &t_string},
          {"securityContext", &security_context}, {"stdin", &t_bool}, {"stdinOnce", &t_bool}, {"tty", &t_bool});
MI_LIST(container_list, container_t);
// Kubernetes 1.28+'s Container, as Istio 1.28 decodes into it: `restartPolicy:
// Always` makes an init container a native sidecar.
MI_OBJECT(container_1_28_t, "Container", {"name", &t_string}, {"image", &t_string}, {"command", &t_string_list},
          {"args", &t_string_list}, {"workingDir", &t_string}, {"ports", &container_port_list},
          {"envFrom", &env_from_list}, {"env", &env_var_list}, {"resources", &resource_requirements},
          {"resizePolicy", &resize_policy_list}, {"restartPolicy", &t_string}, {"restartPolicyRules", &t_any},
          {"volumeMounts", &volume_mount_list}, {"volumeDevices", &volume_device_list},
          {"livenessProbe", &probe}, {"readinessProbe", &probe}, {"startupProbe", &probe},
          {"lifecycle", &lifecycle}, {"terminationMessagePath", &t_string}, {"terminationMessagePolicy", &t_string},
          {"imagePullPolicy", &t_string}, {"securityContext", &security_context}, {"stdin", &t_bool},
          {"stdinOnce", &t_bool}, {"tty", &t_bool});
MI_LIST(container_1_28_list, container_1_28_t);

MI_OBJECT(key_to_path, "KeyToPath", {"key", &t_string}, {"path", &t_string}, {"mode", &t_int});
MI_LIST(key_to_path_list, key_to_path);
MI_OBJECT(secret_volume, "SecretVolumeSource", {"secretName", &t_string}, {"items", &key_to_path_list},
          {"defaultMode", &t_int}, {"optional", &t_bool});
MI_OBJECT(config_map_volume, "ConfigMapVolumeSource", {"name", &t_string}, {"items", &key_to_path_list},
          {"defaultMode", &t_int}, {"optional", &t_bool});
MI_OBJECT(empty_dir, "EmptyDirVolumeSource", {"medium", &t_string}, {"sizeLimit", &t_quantity});
MI_OBJECT(host_path, "HostPathVolumeSource", {"path", &t_string}, {"type", &t_string});
MI_OBJECT(pvc_source, "PersistentVolumeClaimVolumeSource", {"claimName", &t_string}, {"readOnly", &t_bool});
MI_OBJECT(downward_file, "DownwardAPIVolumeFile", {"path", &t_string}, {"fieldRef", &object_field_selector},
          {"resourceFieldRef", &resource_field_selector}, {"mode", &t_int});
MI_LIST(downward_file_list, downward_file);
MI_OBJECT(downward_volume, "DownwardAPIVolumeSource", {"items", &downward_file_list}, {"defaultMode", &t_int});
MI_OBJECT(sa_token_projection, "ServiceAccountTokenProjection", {"audience", &t_string},
          {"expirationSeconds", &t_int}, {"path", &t_string});
MI_OBJECT(secret_projection, "SecretProjection", {"name", &t_string}, {"items", &key_to_path_list},
          {"optional", &t_bool});
MI_OBJECT(config_map_projection, "ConfigMapProjection", {"name", &t_string}, {"items", &key_to_path_list},
          {"optional", &t_bool});
MI_OBJECT(downward_projection, "DownwardAPIProjection", {"items", &downward_file_list});
MI_OBJECT(volume_projection, "VolumeProjection", {"secret", &secret_projection},
          {"downwardAPI", &downward_projection}, {"configMap", &config_map_projection},
          {"serviceAccountToken", &sa_token_projection}, {"clusterTrustBundle", &t_any});
MI_LIST(volume_projection_list, volume_projection);
MI_OBJECT(projected_volume, "ProjectedVolumeSource", {"sources", &volume_projection_list}, {"defaultMode", &t_int});
MI_OBJECT(local_object_reference_t, "LocalObjectReference", {"name", &t_string});
MI_OBJECT(csi_volume, "CSIVolumeSource", {"driver", &t_string}, {"readOnly", &t_bool}, {"fsType", &t_string},
          {"volumeAttributes", &t_string_map}, {"nodePublishSecretRef", &local_object_reference_t});
MI_OBJECT(nfs_volume, "NFSVolumeSource", {"server", &t_string}, {"path", &t_string}, {"readOnly", &t_bool});
MI_OBJECT(image_volume, "ImageVolumeSource", {"reference", &t_string}, {"pullPolicy", &t_string});
// Sources nobody injects as a sidecar volume pass through with their YAML types.
MI_OBJECT(volume_t, "Volume", {"name", &t_string}, {"hostPath", &host_path}, {"emptyDir", &empty_dir},
          {"secret", &secret_volume}, {"nfs", &nfs_volume}, {"persistentVolumeClaim", &pvc_source},
          {"downwardAPI", &downward_volume}, {"configMap", &config_map_volume}, {"projected", &projected_volume},
          {"csi", &csi_volume}, {"ephemeral", &t_any}, {"image", &image_volume}, {"gcePersistentDisk", &t_any},
          {"awsElasticBlockStore", &t_any}, {"gitRepo", &t_any}, {"iscsi", &t_any}, {"glusterfs", &t_any},
          {"rbd", &t_any}, {"flexVolume", &t_any}, {"cinder", &t_any}, {"cephfs", &t_any}, {"flocker", &t_any},
          {"fc", &t_any}, {"azureFile", &t_any}, {"vsphereVolume", &t_any}, {"quobyte", &t_any},
          {"azureDisk", &t_any}, {"photonPersistentDisk", &t_any}, {"portworxVolume", &t_any},
          {"scaleIO", &t_any}, {"storageos", &t_any});
MI_LIST(volume_list, volume_t);
MI_LIST(local_object_reference_list, local_object_reference_t);
MI_OBJECT(dns_option, "PodDNSConfigOption", {"name", &t_string}, {"value", &t_string});
MI_LIST(dns_option_list, dns_option);
MI_OBJECT(dns_config, "PodDNSConfig", {"nameservers", &t_string_list}, {"searches", &t_string_list},
          {"options", &dns_option_list});
MI_OBJECT(sidecar_spec_t, "SidecarInjectionSpec", {"rewriteAppHTTPProbe", &t_bool},
          {"initContainers", &container_list}, {"containers", &container_list}, {"volumes", &volume_list},
          {"imagePullSecrets", &local_object_reference_list}, {"dnsConfig", &dns_config});

// Istio >= 1.9's templates render a Pod. Fields not listed keep their YAML types.
MI_OBJECT(pod_security_context, "PodSecurityContext", {"seLinuxOptions", &se_linux_options},
          {"windowsOptions", &windows_options}, {"runAsUser", &t_int}, {"runAsGroup", &t_int},
          {"runAsNonRoot", &t_bool}, {"supplementalGroups", &t_any}, {"fsGroup", &t_int},
          {"fsGroupChangePolicy", &t_string}, {"seccompProfile", &profile}, {"appArmorProfile", &profile},
          {"sysctls", &t_any});
MI_OBJECT(object_meta, "ObjectMeta", {"name", &t_string}, {"generateName", &t_string}, {"namespace", &t_string},
          {"labels", &t_string_map}, {"annotations", &t_string_map}, {"finalizers", &t_string_list});
MI_OBJECT(pod_spec, "PodSpec", {"initContainers", &container_1_28_list}, {"containers", &container_1_28_list},
          {"volumes", &volume_list}, {"imagePullSecrets", &local_object_reference_list},
          {"dnsConfig", &dns_config}, {"dnsPolicy", &t_string}, {"securityContext", &pod_security_context},
          {"serviceAccountName", &t_string}, {"serviceAccount", &t_string}, {"hostNetwork", &t_bool},
          {"nodeName", &t_string}, {"restartPolicy", &t_string}, {"terminationGracePeriodSeconds", &t_int},
          {"priority", &t_int}, {"priorityClassName", &t_string}, {"automountServiceAccountToken", &t_bool},
          {"nodeSelector", &t_string_map}, {"hostname", &t_string}, {"subdomain", &t_string},
          {"schedulerName", &t_string}, {"shareProcessNamespace", &t_bool});
MI_OBJECT(pod_t, "Pod", {"apiVersion", &t_string}, {"kind", &t_string}, {"metadata", &object_meta},
          {"spec", &pod_spec});

#undef MI_OBJECT
#undef MI_LIST

bool iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

}  // namespace

const field_desc* type_node::find(std::string_view key) const noexcept {
  for (const auto& f : fields)
    if (f.name == key) return &f;
  for (const auto& f : fields)
    if (iequal(f.name, key)) return &f;
  return nullptr;
}

const type_node& sidecar_spec() noexcept { return sidecar_spec_t; }
const type_node& pod() noexcept { return pod_t; }
const type_node& container() noexcept { return container_t; }
const type_node& volume() noexcept { return volume_t; }
const type_node& volume_mount() noexcept { return volume_mount_t; }
const type_node& local_object_reference() noexcept { return local_object_reference_t; }
const type_node& env_var() noexcept { return env_var_t; }
const type_node& string_type() noexcept { return t_string; }

namespace {

void collect_types(const type_node* t, std::vector<const type_node*>& out) {
  if (!t || std::find(out.begin(), out.end(), t) != out.end()) return;
  out.push_back(t);
  for (const auto& f : t->fields) collect_types(f.type, out);
  collect_types(t->elem, out);
}

const std::vector<const type_node*>& all_types() noexcept {
  static const std::vector<const type_node*> types = [] {
    std::vector<const type_node*> out;
    for (const type_node* root : {&sidecar_spec_t, &pod_t, &container_t, &volume_t, &volume_mount_t,
                                  &local_object_reference_t, &env_var_t, &t_string, &t_any})
      collect_types(root, out);
    return out;
  }();
  return types;
}

}  // namespace

std::uint32_t schema_index(const type_node& t) noexcept {
  const auto& types = all_types();
  const auto it = std::find(types.begin(), types.end(), &t);
  return it == types.end() ? no_schema : static_cast<std::uint32_t>(it - types.begin());
}

const type_node& schema_at(std::uint32_t index) noexcept {
  const auto& types = all_types();
  return index < types.size() ? *types[index] : t_any;
}

bool is_quantity(std::string_view s) noexcept {
  std::int64_t ignored;
  return quantity_millis(s, ignored) || (!s.empty() && [&] {
           // Quantities too large for millicores are still valid quantities.
           std::size_t i = 0;
           if (s[i] == '+' || s[i] == '-') ++i;
           bool digits = false;
           while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, digits = true;
           if (i < s.size() && s[i] == '.') {
             ++i;
             while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, digits = true;
           }
           if (!digits) return false;
           const std::string_view suffix = s.substr(i);
           for (std::string_view ok : {"", "m", "k", "M", "G", "T", "P", "E", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "n", "u"})
             if (suffix == ok) return true;
           return suffix.size() >= 2 && (suffix[0] == 'e' || suffix[0] == 'E');
         }());
}

bool quantity_millis(std::string_view s, std::int64_t& millis) noexcept {
  if (s.empty()) return false;
  std::size_t i = 0;
  bool negative = false;
  if (s[i] == '+' || s[i] == '-') negative = s[i++] == '-';
  const std::size_t num_start = i;
  bool digits = false;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, digits = true;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, digits = true;
  }
  if (!digits) return false;
  const std::string_view number = s.substr(num_start, i - num_start);
  const std::string_view suffix = s.substr(i);
  long double mult;
  if (suffix.empty()) mult = 1;
  else if (suffix == "m") mult = 1e-3L;
  else if (suffix == "u") mult = 1e-6L;
  else if (suffix == "n") mult = 1e-9L;
  else if (suffix == "k") mult = 1e3L;
  else if (suffix == "M") mult = 1e6L;
  else if (suffix == "G") mult = 1e9L;
  else if (suffix == "T") mult = 1e12L;
  else if (suffix == "P") mult = 1e15L;
  else if (suffix == "E") mult = 1e18L;
  else if (suffix == "Ki") mult = 1024.0L;
  else if (suffix == "Mi") mult = 1024.0L * 1024;
  else if (suffix == "Gi") mult = 1024.0L * 1024 * 1024;
  else if (suffix == "Ti") mult = 1024.0L * 1024 * 1024 * 1024;
  else if (suffix == "Pi") mult = 1024.0L * 1024 * 1024 * 1024 * 1024;
  else if (suffix == "Ei") mult = 1024.0L * 1024 * 1024 * 1024 * 1024 * 1024;
  else if (suffix.size() >= 2 && (suffix[0] == 'e' || suffix[0] == 'E')) {
    std::string_view exp = suffix.substr(1);
    if (exp.size() > 1 && exp[0] == '+') exp.remove_prefix(1);
    long e = 0;
    const auto parsed = std::from_chars(exp.data(), exp.data() + exp.size(), e);
    if (parsed.ec != std::errc() || parsed.ptr != exp.data() + exp.size() || e > 30 || e < -30) return false;
    mult = std::pow(10.0L, static_cast<long double>(e));
  } else {
    return false;
  }
  long double magnitude = 0;
  std::from_chars(number.data(), number.data() + number.size(), magnitude);
  const long double v = magnitude * mult * 1000.0L;
  if (v > 9e18L) return false;
  millis = static_cast<std::int64_t>(std::ceil(v - 1e-9L));
  if (negative) millis = -millis;
  return true;
}

}  // namespace meshinject::patch::k8s

namespace meshinject::patch::k8s {
namespace {

using wide = __int128;

wide pow_of(wide base, int n) {
  wide r = 1;
  for (int k = 0; k < n; ++k) r *= base;
  return r;
}

void append_wide(std::string& out, wide v) {
  char digits[48];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + static_cast<int>(v % 10));
    v /= 10;
  } while (v > 0);
  while (n > 0) out += digits[--n];
}

}  // namespace

bool canonical_quantity(std::string_view s, std::string& out) {
  std::size_t i = 0;
  const bool negative = !s.empty() && s[0] == '-';
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) ++i;
  wide whole = 0;
  int fraction_digits = 0;
  bool digits = false, point = false;
  for (; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '.' && !point) {
      point = true;
      continue;
    }
    if (c < '0' || c > '9') break;
    if (whole > pow_of(10, 27) || fraction_digits >= 9) return false;
    whole = whole * 10 + (c - '0');
    digits = true;
    if (point) ++fraction_digits;
  }
  if (!digits) return false;
  const std::string_view suffix = s.substr(i);
  static constexpr std::string_view decimal[] = {"n", "u", "m", "", "k", "M", "G", "T", "P", "E"};
  static constexpr std::string_view binary[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
  int power10 = -100, power1024 = -1;
  for (int k = 0; k < 10; ++k)
    if (suffix == decimal[k]) power10 = 3 * k - 9;
  for (int k = 1; k < 7; ++k)
    if (suffix == binary[k]) power1024 = k;
  if (power10 == -100 && power1024 < 0) return false;
  // The value in nano units, rounded up as resource.Quantity rounds below 1n.
  wide nanos = whole;
  if (power1024 > 0) {
    nanos = whole * pow_of(1024, power1024) * pow_of(10, 9 - fraction_digits);
  } else if (power10 + 9 - fraction_digits >= 0) {
    nanos = whole * pow_of(10, power10 + 9 - fraction_digits);
  } else {
    const wide div = pow_of(10, fraction_digits - power10 - 9);
    nanos = whole / div + (whole % div != 0 ? 1 : 0);
  }
  out.clear();
  if (negative && nanos != 0) out += '-';
  const wide billion = pow_of(10, 9);
  if (power1024 > 0 && nanos % billion == 0 && nanos / billion >= 1024) {
    const wide units = nanos / billion;
    int k = 6;
    while (k > 0 && units % pow_of(1024, k) != 0) --k;
    append_wide(out, units / pow_of(1024, k));
    out += binary[k];
    return true;
  }
  int k = 9;  // decimal[k]: the largest exponent with an integer mantissa
  while (k > 0 && nanos % pow_of(1000, k) != 0) --k;
  if (nanos == 0) k = 3;
  append_wide(out, nanos / pow_of(1000, k));
  out += decimal[k];
  return true;
}

}  // namespace meshinject::patch::k8s
