#include "patch/admission.hpp"

#include <array>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <limits>
#include <utility>

#include "core/byte_words.hpp"
#include "patch/json_access.hpp"

namespace meshinject::patch {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;
using simdjson::dom::object;

bool type_error(std::string& error, std::string_view path, std::string_view expected) {
  error.clear();
  error += path;
  error += ": expected ";
  error += expected;
  return false;
}

// The members of one object a reader wants, found in one walk over the object
// instead of one at_key walk per name (and a whole walk per absent name). Of a
// repeated name the first member counts, as at_key's does; a review's names are
// already unique (json_keys.hpp), a pod read from elsewhere keeps at_key's rule.
// `Names` is a constexpr array, so each comparison is against a known literal.
template <const auto& Names>
class members_of {
 public:
  static constexpr std::size_t count = std::size(Names);

  explicit members_of(object o) noexcept {
    std::size_t left = count;
    for (const auto field : o) {
      if (take(field.key, field.value, std::make_index_sequence<count>{}) && --left == 0) break;
    }
  }
  // Member `i` (an index into Names) as at_key would have found it, or nullptr.
  const element* find(std::size_t i) const noexcept { return (found_ >> i) & 1 ? &values_[i] : nullptr; }

 private:
  template <std::size_t... I>
  bool take(std::string_view key, element value, std::index_sequence<I...>) noexcept {
    return (take_one<I>(key, value) || ...);
  }
  template <std::size_t I>
  bool take_one(std::string_view key, element value) noexcept {
    if (key != Names[I] || ((found_ >> I) & 1)) return false;
    values_[I] = value;
    found_ |= std::uint32_t{1} << I;
    return true;
  }

  static_assert(count <= 32);
  std::array<element, count> values_{};
  std::uint32_t found_ = 0;
};

// Whether `s` holds a NUL byte, eight bytes at a time: names are short, and a
// memchr call cost more than the test.
bool contains_nul(std::string_view s) noexcept {
  const char* p = s.data();
  std::size_t n = s.size();
  for (; n >= 8; p += 8, n -= 8)
    if (core::bytes_equal(core::word_at(p), 0) != 0) return true;
  for (; n > 0; ++p, --n)
    if (*p == '\0') return true;
  return false;
}

// Optional string member, `e` as members_of found it: absent and null are "".
// Anything else is an error.
bool read_string(const element* e, std::string_view key, std::string_view& out, std::string& error,
                 std::string_view path) {
  if (e == nullptr || e->is_null()) {
    out = {};
    return true;
  }
  if (e->get_string().get(out)) {
    error.clear();
    error += path;
    error += '.';
    error += key;
    error += ": expected a string";
    return false;
  }
  // Names and identifiers: a NUL would end them early in C strings, logs and Go's
  // validation alike, so the review is refused rather than read two ways.
  if (contains_nul(out)) {
    error.clear();
    error += path;
    error += '.';
    error += key;
    error += ": contains a NUL character (\\u0000)";
    return false;
  }
  return true;
}

// An integer the apiserver decodes into an int32 (ports): anything outside is a
// decode error there, and a 400 here, not a truncated number.
bool get_int32(element e, std::int64_t& out, std::string& error, std::string_view path) {
  if (e.get_int64().get(out)) return type_error(error, path, "an integer");
  if (out < std::numeric_limits<std::int32_t>::min() || out > std::numeric_limits<std::int32_t>::max()) {
    error.clear();
    error += path;
    error += ": ";
    error += std::to_string(out);
    error += " is out of range for a 32-bit integer";
    return false;
  }
  return true;
}

// Member `i` of a members_of as an optional string, named in errors by the
// name it was looked up by.
template <const auto& Names>
bool read_string(const members_of<Names>& m, std::size_t i, std::string_view& out, std::string& error,
                 std::string_view path) {
  return read_string(m.find(i), Names[i], out, error, path);
}

// Optional object member, `e` as members_of found it: absent and null are not
// present. Anything else is an error.
bool read_object(const element* e, std::string_view key, object& out, bool& present, std::string& error,
                 std::string_view path) {
  present = false;
  if (e == nullptr || e->is_null()) return true;
  if (e->get_object().get(out)) {
    error.clear();
    error += path;
    error += '.';
    error += key;
    error += ": expected an object";
    return false;
  }
  present = true;
  return true;
}

bool read_array(const element* e, std::string_view key, simdjson::dom::array& out, bool& present, std::string& error,
                std::string_view path) {
  present = false;
  if (e == nullptr || e->is_null()) return true;
  if (e->get_array().get(out)) {
    error.clear();
    error += path;
    error += '.';
    error += key;
    error += ": expected a list";
    return false;
  }
  present = true;
  return true;
}

bool parse_string_map(const element* member, std::string_view key, std::vector<core::label>& out, bool& present,
                      std::string& error, std::string_view path) {
  object m;
  if (!read_object(member, key, m, present, error, path)) return false;
  if (!present) return true;
  for (auto kv : m) {
    std::string_view v;
    if (kv.value.is_null()) {
      v = {};
    } else if (kv.value.get_string().get(v)) {
      error.clear();
      error += path;
      error += '.';
      error += key;
      error += '.';
      error += kv.key;
      error += ": expected a string";
      return false;
    }
    out.push_back(core::label{kv.key, v});
  }
  return true;
}

// The names each object's reader wants; the enums index them.
constexpr std::string_view review_names[] = {"apiVersion", "kind", "request"};
enum review_member : std::size_t { rv_api_version, rv_kind, rv_request };
constexpr std::string_view request_names[] = {"uid",       "kind", "subResource", "operation",
                                              "namespace", "name", "dryRun",      "object"};
enum request_member : std::size_t {
  rq_uid,
  rq_kind,
  rq_sub_resource,
  rq_operation,
  rq_namespace,
  rq_name,
  rq_dry_run,
  rq_object
};
constexpr std::string_view kind_names[] = {"group", "version", "kind"};
enum kind_member : std::size_t { k_group, k_version, k_kind };
constexpr std::string_view container_names[] = {"name",         "image",          "ports",
                                                "volumeMounts", "readinessProbe", "livenessProbe"};
enum container_member : std::size_t { c_name, c_image, c_ports, c_volume_mounts, c_readiness_probe, c_liveness_probe };
constexpr std::string_view port_names[] = {"containerPort", "name", "protocol"};
enum port_member : std::size_t { pt_container_port, pt_name, pt_protocol };
constexpr std::string_view mount_names[] = {"name", "mountPath"};
enum mount_member : std::size_t { m_name, m_mount_path };
constexpr std::string_view name_only[] = {"name"};
constexpr std::string_view owner_names[] = {"kind", "name", "apiVersion", "controller"};
enum owner_member : std::size_t { o_kind, o_name, o_api_version, o_controller };
constexpr std::string_view pod_names[] = {"metadata", "spec"};
enum pod_member : std::size_t { pod_metadata, pod_spec };
constexpr std::string_view metadata_names[] = {"name", "generateName", "namespace", "labels", "annotations",
                                               "ownerReferences"};
enum metadata_member : std::size_t { md_name, md_generate_name, md_namespace, md_labels, md_annotations, md_owners };
constexpr std::string_view spec_names[] = {"hostNetwork",    "serviceAccountName", "serviceAccount", "securityContext",
                                           "containers",     "initContainers",     "volumes",        "imagePullSecrets"};
enum spec_member : std::size_t {
  s_host_network,
  s_service_account_name,
  s_service_account,
  s_security_context,
  s_containers,
  s_init_containers,
  s_volumes,
  s_image_pull_secrets
};

bool parse_ports(const element* member, container& out_c, pod& p, std::string& error) {
  simdjson::dom::array ports;
  bool present;
  if (!read_array(member, "ports", ports, present, error, "spec.containers[]")) return false;
  if (!present) return true;
  for (element pe : ports) {
    object po;
    if (pe.get_object().get(po)) return type_error(error, "spec.containers[].ports[]", "an object");
    const members_of<port_names> m(po);
    container_port port;
    if (const element* cp = m.find(pt_container_port); cp != nullptr && !cp->is_null()) {
      if (!get_int32(*cp, port.container_port, error, "spec.containers[].ports[].containerPort")) return false;
    }
    if (!read_string(m, pt_name, port.name, error, "spec.containers[].ports[]")) return false;
    if (!read_string(m, pt_protocol, port.protocol, error, "spec.containers[].ports[]"))
      return false;
    p.ports.push_back(port);
  }
  out_c.ports_end = static_cast<std::uint32_t>(p.ports.size());
  return true;
}

bool parse_mounts(const element* member, container& out_c, pod& p, std::string& error) {
  simdjson::dom::array mounts;
  bool present;
  if (!read_array(member, "volumeMounts", mounts, present, error, "spec.containers[]")) return false;
  if (!present) return true;
  for (element me : mounts) {
    object mo;
    if (me.get_object().get(mo)) return type_error(error, "spec.containers[].volumeMounts[]", "an object");
    const members_of<mount_names> m(mo);
    volume_mount mount;
    mount.raw = me;
    if (!read_string(m, m_name, mount.name, error, "spec.containers[].volumeMounts[]")) return false;
    if (!read_string(m, m_mount_path, mount.mount_path, error, "spec.containers[].volumeMounts[]"))
      return false;
    p.mounts.push_back(mount);
  }
  out_c.mounts_end = static_cast<std::uint32_t>(p.mounts.size());
  return true;
}

bool parse_probes(const members_of<container_names>& m, container& out_c, std::string& error) {
  constexpr std::pair<container_member, std::string_view> probes[] = {{c_readiness_probe, "readinessProbe"},
                                                                       {c_liveness_probe, "livenessProbe"}};
  for (const auto& [index, probe_key] : probes) {
    object probe;
    bool has_probe;
    if (!read_object(m.find(index), probe_key, probe, has_probe, error, "spec.containers[]")) return false;
    if (!has_probe) continue;
    element hg;
    if (probe.at_key("httpGet").get(hg) || hg.is_null()) continue;
    if (!hg.is_object()) return type_error(error, "spec.containers[].readinessProbe.httpGet", "an object");
    element probe_port;
    std::int64_t ignored;
    if (!as_object(hg).at_key("port").get(probe_port) && !probe_port.is_string() && !probe_port.is_null() &&
        !get_int32(probe_port, ignored, error, "spec.containers[].httpGet.port"))
      return false;
    if (index == c_readiness_probe) {
      out_c.readiness_http_get = hg;
      out_c.has_readiness_http_get = true;
    } else {
      out_c.liveness_http_get = hg;
      out_c.has_liveness_http_get = true;
    }
  }
  return true;
}

bool parse_containers(const element* member, std::string_view key, std::vector<container>& out, pod& p,
                      std::string& error) {
  simdjson::dom::array list;
  bool present;
  if (!read_array(member, key, list, present, error, "spec")) return false;
  if (!present) return true;
  for (element item : list) {
    object c;
    if (item.get_object().get(c)) return type_error(error, key == "containers" ? "spec.containers[]" : "spec.initContainers[]", "an object");
    const members_of<container_names> m(c);
    container out_c;
    if (!read_string(m, c_name, out_c.name, error, "spec.containers[]")) return false;
    if (!read_string(m, c_image, out_c.image, error, "spec.containers[]")) return false;
    out_c.ports_begin = out_c.ports_end = static_cast<std::uint32_t>(p.ports.size());
    if (!parse_ports(m.find(c_ports), out_c, p, error)) return false;
    out_c.mounts_begin = out_c.mounts_end = static_cast<std::uint32_t>(p.mounts.size());
    if (!parse_mounts(m.find(c_volume_mounts), out_c, p, error)) return false;
    if (!parse_probes(m, out_c, error)) return false;
    out.push_back(out_c);
  }
  return true;
}

bool parse_names(const element* member, std::string_view key, std::string_view path,
                 std::vector<std::string_view>& out, std::string& error) {
  simdjson::dom::array list;
  bool present;
  if (!read_array(member, key, list, present, error, "spec")) return false;
  if (!present) return true;
  for (element item : list) {
    object o;
    if (item.get_object().get(o)) return type_error(error, path, "an object");
    std::string_view name;
    if (!read_string(members_of<name_only>(o), 0, name, error, path)) return false;
    out.push_back(name);
  }
  return true;
}

bool invalid_json(simdjson::error_code err, std::string& error) {
  error.clear();
  error += "the body is not valid JSON: ";
  error += simdjson::error_message(err);
  if (err == simdjson::STRING_ERROR)
    error += " (an invalid escape, such as a lone UTF-16 surrogate like \\ud800, or a control character)";
  else if (err == simdjson::NUMBER_ERROR)
    error += " (a number out of range or malformed)";
  return false;
}

bool parse_owners(const element* member, pod& p, std::string& error) {
  simdjson::dom::array owners;
  bool present;
  if (!read_array(member, "ownerReferences", owners, present, error, "metadata")) return false;
  if (!present) return true;
  for (element oe : owners) {
    object oo;
    if (oe.get_object().get(oo)) return type_error(error, "metadata.ownerReferences[]", "an object");
    const members_of<owner_names> m(oo);
    owner_reference r;
    if (!read_string(m, o_kind, r.kind, error, "metadata.ownerReferences[]")) return false;
    if (!read_string(m, o_name, r.name, error, "metadata.ownerReferences[]")) return false;
    if (!read_string(m, o_api_version, r.api_version, error, "metadata.ownerReferences[]"))
      return false;
    if (const element* ctrl = m.find(o_controller); ctrl != nullptr && ctrl->get_bool().get(r.controller))
      r.controller = false;
    p.owners.push_back(r);
  }
  return true;
}

bool parse_metadata(object meta, pod& p, std::string& error) {
  const members_of<metadata_names> m(meta);
  if (!read_string(m, md_name, p.name, error, "metadata")) return false;
  if (!read_string(m, md_generate_name, p.generate_name, error, "metadata")) return false;
  if (!read_string(m, md_namespace, p.namespace_name, error, "metadata")) return false;
  if (!parse_string_map(m.find(md_labels), "labels", p.labels, p.has_labels, error, "metadata")) return false;
  if (!parse_string_map(m.find(md_annotations), "annotations", p.annotations, p.has_annotations, error, "metadata"))
    return false;
  return parse_owners(m.find(md_owners), p, error);
}

bool parse_spec(object spec, pod& p, std::string& error) {
  const members_of<spec_names> m(spec);
  if (const element* hn = m.find(s_host_network); hn != nullptr && !hn->is_null() && hn->get_bool().get(p.host_network))
    return type_error(error, "spec.hostNetwork", "true or false");
  if (!read_string(m, s_service_account_name, p.service_account_name, error, "spec"))
    return false;
  if (!read_string(m, s_service_account, p.service_account, error, "spec")) return false;
  const element* sc = m.find(s_security_context);
  p.has_security_context = sc != nullptr && sc->is_object();
  if (!parse_containers(m.find(s_containers), "containers", p.containers, p, error)) return false;
  if (!parse_containers(m.find(s_init_containers), "initContainers", p.init_containers, p, error)) return false;
  if (!parse_names(m.find(s_volumes), "volumes", "spec.volumes[]", p.volume_names, error)) return false;
  return parse_names(m.find(s_image_pull_secrets), "imagePullSecrets", "spec.imagePullSecrets[]",
                     p.image_pull_secret_names, error);
}

}  // namespace

bool parse_pod(element object_element, std::string_view fallback_namespace, pod& p, std::string& error) {
  p.clear();
  object obj;
  if (object_element.get_object().get(obj)) return type_error(error, "request.object", "an object");
  p.object = object_element;
  const members_of<pod_names> m(obj);
  object meta;
  bool present;
  if (!read_object(m.find(pod_metadata), "metadata", meta, present, error, "request.object")) return false;
  p.has_metadata = present;
  if (present && !parse_metadata(meta, p, error)) return false;
  if (p.namespace_name.empty()) p.namespace_name = fallback_namespace;

  object spec;
  if (!read_object(m.find(pod_spec), "spec", spec, present, error, "request.object")) return false;
  p.has_spec = present;
  if (!present) return true;
  return parse_spec(spec, p, error);
}

bool parse_review(simdjson::dom::parser& parser, const char* data, std::size_t len, std::size_t capacity, review& r,
                  pod& p, std::string& error) {
  review_scratch scratch;
  return parse_review(parser, scratch, data, len, capacity, r, p, error);
}

bool parse_review(simdjson::dom::parser& parser, review_scratch& scratch, const char* data, std::size_t len,
                  std::size_t capacity, review& r, pod& p, std::string& error) {
  r = review{};
  p.clear();
  element doc;
  const bool padded = capacity >= len + simdjson::SIMDJSON_PADDING;
  auto err = parser.parse(reinterpret_cast<const std::uint8_t*>(data), len, !padded).get(doc);
  if (err) return invalid_json(err, error);
  // simdjson refuses a raw NUL in a string, so a key can only hold one written
  // as an escape; one search of the text spares looking into every key.
  const bool may_hold_nul = std::string_view(data, len).find("\\u0000") != std::string_view::npos;
  const key_scan_result keys = scratch.keys.scan(doc, may_hold_nul, scan_extent::as_read);
  if (keys.nul_in_key) {
    error = "an object key contains a NUL character (\\u0000)";
    return false;
  }
  if (keys.duplicate) {
    // The apiserver's decoder keeps the last of a repeated key: read the review
    // as it would, by parsing it again with one member per key.
    scratch.rewritten.clear();
    write_last_wins(doc, scratch.rewritten);
    const std::size_t rewritten_len = scratch.rewritten.size();
    scratch.rewritten.resize(rewritten_len + simdjson::SIMDJSON_PADDING);
    err = parser.parse(reinterpret_cast<const std::uint8_t*>(scratch.rewritten.data()), rewritten_len, false).get(doc);
    if (err) return invalid_json(err, error);
  }
  object top;
  if (doc.get_object().get(top)) return type_error(error, "the body", "a JSON object (an AdmissionReview)");
  const members_of<review_names> t(top);
  std::string_view api_version, kind;
  if (!read_string(t, rv_api_version, api_version, error, "AdmissionReview")) return false;
  if (api_version == "admission.k8s.io/v1") r.version = review_version::v1;
  else if (api_version == "admission.k8s.io/v1beta1") r.version = review_version::v1beta1;
  else {
    error.clear();
    error += api_version.empty() ? "apiVersion is missing" : "unsupported apiVersion \"" + std::string(api_version) + "\"";
    error += " (expected admission.k8s.io/v1 or admission.k8s.io/v1beta1)";
    return false;
  }
  if (!read_string(t, rv_kind, kind, error, "AdmissionReview")) return false;
  if (!kind.empty() && kind != "AdmissionReview") {
    error = "kind is \"" + std::string(kind) + "\", expected AdmissionReview";
    return false;
  }
  const element* req_e = t.find(rv_request);
  if (req_e == nullptr || req_e->is_null()) {
    error = "request is missing";
    return false;
  }
  object req;
  if (req_e->get_object().get(req)) return type_error(error, "request", "an object");
  const members_of<request_names> q(req);
  if (!read_string(q, rq_uid, r.uid, error, "request")) return false;
  if (r.uid.empty()) {
    error = "request.uid is missing";
    return false;
  }
  object gvk;
  bool present;
  if (!read_object(q.find(rq_kind), "kind", gvk, present, error, "request")) return false;
  if (present) {
    const members_of<kind_names> g(gvk);
    if (!read_string(g, k_group, r.kind_group, error, "request.kind")) return false;
    if (!read_string(g, k_version, r.kind_version, error, "request.kind")) return false;
    if (!read_string(g, k_kind, r.kind, error, "request.kind")) return false;
  }
  if (!read_string(q, rq_sub_resource, r.sub_resource, error, "request")) return false;
  if (!read_string(q, rq_operation, r.operation, error, "request")) return false;
  if (!read_string(q, rq_namespace, r.namespace_name, error, "request")) return false;
  if (!read_string(q, rq_name, r.name, error, "request")) return false;
  if (const element* dry = q.find(rq_dry_run); dry != nullptr && dry->get_bool().get(r.dry_run)) r.dry_run = false;

  r.is_pod_create = r.kind == "Pod" && r.kind_group.empty() && r.sub_resource.empty() && r.operation == "CREATE";
  if (!r.is_pod_create) return true;
  const element* obj = q.find(rq_object);
  if (obj == nullptr || obj->is_null()) {
    error = "request.object is missing";
    return false;
  }
  if (!parse_pod(*obj, r.namespace_name, p, error)) return false;
  p.keys_unique_as_read = true;
  return true;
}

}  // namespace meshinject::patch
