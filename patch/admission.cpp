#include "patch/admission.hpp"

#include <cstdint>
#include <limits>

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

// Optional string member: absent and null are "". Anything else is an error.
bool get_string(object o, std::string_view key, std::string_view& out, std::string& error, std::string_view path) {
  element e;
  if (o.at_key(key).get(e)) {
    out = {};
    return true;
  }
  if (e.is_null()) {
    out = {};
    return true;
  }
  if (e.get_string().get(out)) {
    error.clear();
    error += path;
    error += '.';
    error += key;
    error += ": expected a string";
    return false;
  }
  // Names and identifiers: a NUL would end them early in C strings, logs and Go's
  // validation alike, so the review is refused rather than read two ways.
  if (out.find('\0') != std::string_view::npos) {
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

bool get_object(object o, std::string_view key, object& out, bool& present, std::string& error, std::string_view path) {
  element e;
  present = false;
  if (o.at_key(key).get(e) || e.is_null()) return true;
  if (e.get_object().get(out)) {
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

bool get_array(object o, std::string_view key, simdjson::dom::array& out, bool& present, std::string& error,
               std::string_view path) {
  element e;
  present = false;
  if (o.at_key(key).get(e) || e.is_null()) return true;
  if (e.get_array().get(out)) {
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

bool parse_string_map(object parent, std::string_view key, std::vector<core::label>& out, bool& present,
                      std::string& error, std::string_view path) {
  object m;
  if (!get_object(parent, key, m, present, error, path)) return false;
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

bool parse_containers(object spec, std::string_view key, std::vector<container>& out, pod& p, std::string& error) {
  simdjson::dom::array list;
  bool present;
  if (!get_array(spec, key, list, present, error, "spec")) return false;
  if (!present) return true;
  for (element item : list) {
    object c;
    if (item.get_object().get(c)) return type_error(error, key == "containers" ? "spec.containers[]" : "spec.initContainers[]", "an object");
    container out_c;
    if (!get_string(c, "name", out_c.name, error, "spec.containers[]")) return false;
    if (!get_string(c, "image", out_c.image, error, "spec.containers[]")) return false;
    out_c.ports_begin = out_c.ports_end = static_cast<std::uint32_t>(p.ports.size());
    simdjson::dom::array ports;
    if (!get_array(c, "ports", ports, present, error, "spec.containers[]")) return false;
    if (present) {
      for (element pe : ports) {
        object po;
        if (pe.get_object().get(po)) return type_error(error, "spec.containers[].ports[]", "an object");
        container_port port;
        element cp;
        if (!po.at_key("containerPort").get(cp) && !cp.is_null()) {
          if (!get_int32(cp, port.container_port, error, "spec.containers[].ports[].containerPort")) return false;
        }
        if (!get_string(po, "name", port.name, error, "spec.containers[].ports[]")) return false;
        if (!get_string(po, "protocol", port.protocol, error, "spec.containers[].ports[]")) return false;
        p.ports.push_back(port);
      }
      out_c.ports_end = static_cast<std::uint32_t>(p.ports.size());
    }
    out_c.mounts_begin = out_c.mounts_end = static_cast<std::uint32_t>(p.mounts.size());
    simdjson::dom::array mounts;
    if (!get_array(c, "volumeMounts", mounts, present, error, "spec.containers[]")) return false;
    if (present) {
      for (element me : mounts) {
        object mo;
        if (me.get_object().get(mo)) return type_error(error, "spec.containers[].volumeMounts[]", "an object");
        volume_mount m;
        m.raw = me;
        if (!get_string(mo, "name", m.name, error, "spec.containers[].volumeMounts[]")) return false;
        if (!get_string(mo, "mountPath", m.mount_path, error, "spec.containers[].volumeMounts[]")) return false;
        p.mounts.push_back(m);
      }
      out_c.mounts_end = static_cast<std::uint32_t>(p.mounts.size());
    }
    for (const char* probe_key : {"readinessProbe", "livenessProbe"}) {
      object probe;
      bool has_probe;
      if (!get_object(c, probe_key, probe, has_probe, error, "spec.containers[]")) return false;
      if (!has_probe) continue;
      element hg;
      if (probe.at_key("httpGet").get(hg) || hg.is_null()) continue;
      if (!hg.is_object()) return type_error(error, "spec.containers[].readinessProbe.httpGet", "an object");
      element probe_port;
      std::int64_t ignored;
      if (!as_object(hg).at_key("port").get(probe_port) && !probe_port.is_string() && !probe_port.is_null() &&
          !get_int32(probe_port, ignored, error, "spec.containers[].httpGet.port"))
        return false;
      if (probe_key[0] == 'r') {
        out_c.readiness_http_get = hg;
        out_c.has_readiness_http_get = true;
      } else {
        out_c.liveness_http_get = hg;
        out_c.has_liveness_http_get = true;
      }
    }
    out.push_back(out_c);
  }
  return true;
}

bool parse_names(object spec, std::string_view key, std::string_view path, std::vector<std::string_view>& out,
                 std::string& error) {
  simdjson::dom::array list;
  bool present;
  if (!get_array(spec, key, list, present, error, "spec")) return false;
  if (!present) return true;
  for (element item : list) {
    object o;
    if (item.get_object().get(o)) return type_error(error, path, "an object");
    std::string_view name;
    if (!get_string(o, "name", name, error, path)) return false;
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

}  // namespace

bool parse_pod(element object_element, std::string_view fallback_namespace, pod& p, std::string& error) {
  p.clear();
  object obj;
  if (object_element.get_object().get(obj)) return type_error(error, "request.object", "an object");
  p.object = object_element;
  object meta;
  bool present;
  if (!get_object(obj, "metadata", meta, present, error, "request.object")) return false;
  p.has_metadata = present;
  if (present) {
    if (!get_string(meta, "name", p.name, error, "metadata")) return false;
    if (!get_string(meta, "generateName", p.generate_name, error, "metadata")) return false;
    if (!get_string(meta, "namespace", p.namespace_name, error, "metadata")) return false;
    if (!parse_string_map(meta, "labels", p.labels, p.has_labels, error, "metadata")) return false;
    if (!parse_string_map(meta, "annotations", p.annotations, p.has_annotations, error, "metadata")) return false;
    simdjson::dom::array owners;
    if (!get_array(meta, "ownerReferences", owners, present, error, "metadata")) return false;
    if (present) {
      for (element oe : owners) {
        object oo;
        if (oe.get_object().get(oo)) return type_error(error, "metadata.ownerReferences[]", "an object");
        owner_reference r;
        if (!get_string(oo, "kind", r.kind, error, "metadata.ownerReferences[]")) return false;
        if (!get_string(oo, "name", r.name, error, "metadata.ownerReferences[]")) return false;
        if (!get_string(oo, "apiVersion", r.api_version, error, "metadata.ownerReferences[]")) return false;
        element ctrl;
        if (!oo.at_key("controller").get(ctrl) && ctrl.get_bool().get(r.controller)) r.controller = false;
        p.owners.push_back(r);
      }
    }
  }
  if (p.namespace_name.empty()) p.namespace_name = fallback_namespace;

  object spec;
  if (!get_object(obj, "spec", spec, present, error, "request.object")) return false;
  p.has_spec = present;
  if (!present) return true;
  element hn;
  if (!spec.at_key("hostNetwork").get(hn) && !hn.is_null() && hn.get_bool().get(p.host_network))
    return type_error(error, "spec.hostNetwork", "true or false");
  if (!get_string(spec, "serviceAccountName", p.service_account_name, error, "spec")) return false;
  if (!get_string(spec, "serviceAccount", p.service_account, error, "spec")) return false;
  element sc;
  p.has_security_context = !spec.at_key("securityContext").get(sc) && sc.is_object();
  if (!parse_containers(spec, "containers", p.containers, p, error)) return false;
  if (!parse_containers(spec, "initContainers", p.init_containers, p, error)) return false;
  if (!parse_names(spec, "volumes", "spec.volumes[]", p.volume_names, error)) return false;
  if (!parse_names(spec, "imagePullSecrets", "spec.imagePullSecrets[]", p.image_pull_secret_names, error)) return false;
  return true;
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
  std::string_view api_version, kind;
  if (!get_string(top, "apiVersion", api_version, error, "AdmissionReview")) return false;
  if (api_version == "admission.k8s.io/v1") r.version = review_version::v1;
  else if (api_version == "admission.k8s.io/v1beta1") r.version = review_version::v1beta1;
  else {
    error.clear();
    error += api_version.empty() ? "apiVersion is missing" : "unsupported apiVersion \"" + std::string(api_version) + "\"";
    error += " (expected admission.k8s.io/v1 or admission.k8s.io/v1beta1)";
    return false;
  }
  if (!get_string(top, "kind", kind, error, "AdmissionReview")) return false;
  if (!kind.empty() && kind != "AdmissionReview") {
    error = "kind is \"" + std::string(kind) + "\", expected AdmissionReview";
    return false;
  }
  element req_e;
  if (top.at_key("request").get(req_e) || req_e.is_null()) {
    error = "request is missing";
    return false;
  }
  object req;
  if (req_e.get_object().get(req)) return type_error(error, "request", "an object");
  if (!get_string(req, "uid", r.uid, error, "request")) return false;
  if (r.uid.empty()) {
    error = "request.uid is missing";
    return false;
  }
  object gvk;
  bool present;
  if (!get_object(req, "kind", gvk, present, error, "request")) return false;
  if (present) {
    if (!get_string(gvk, "group", r.kind_group, error, "request.kind")) return false;
    if (!get_string(gvk, "version", r.kind_version, error, "request.kind")) return false;
    if (!get_string(gvk, "kind", r.kind, error, "request.kind")) return false;
  }
  if (!get_string(req, "subResource", r.sub_resource, error, "request")) return false;
  if (!get_string(req, "operation", r.operation, error, "request")) return false;
  if (!get_string(req, "namespace", r.namespace_name, error, "request")) return false;
  if (!get_string(req, "name", r.name, error, "request")) return false;
  element dry;
  if (!req.at_key("dryRun").get(dry) && dry.get_bool().get(r.dry_run)) r.dry_run = false;

  r.is_pod_create = r.kind == "Pod" && r.kind_group.empty() && r.sub_resource.empty() && r.operation == "CREATE";
  if (!r.is_pod_create) return true;
  element obj;
  if (req.at_key("object").get(obj) || obj.is_null()) {
    error = "request.object is missing";
    return false;
  }
  return parse_pod(obj, r.namespace_name, p, error);
}

}  // namespace meshinject::patch
