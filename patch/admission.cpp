#include "patch/admission.hpp"

#include <array>
#include <cstdint>
#include <limits>
#include <utility>

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

namespace {

// Parses `len` padded bytes at `data` with the DOM into `doc`, reading a repeated
// key as the apiserver does (the last member wins) and refusing a NUL in a key.
bool parse_last_wins(simdjson::dom::parser& parser, review_scratch& scratch, const char* data, std::size_t len,
                     bool padded, element& doc, std::string& error) {
  auto err = parser.parse(reinterpret_cast<const std::uint8_t*>(data), len, !padded).get(doc);
  if (err) return invalid_json(err, error);
  // simdjson refuses a raw NUL in a string, so a key can only hold one written
  // as an escape; one search of the text spares looking into every key.
  const bool may_hold_nul = std::string_view(data, len).find("\\u0000") != std::string_view::npos;
  const key_scan_result keys = scratch.keys.scan(doc, may_hold_nul);
  if (keys.nul_in_key) {
    error = "an object key contains a NUL character (\\u0000)";
    return false;
  }
  if (keys.duplicate) {
    // The apiserver's decoder keeps the last of a repeated key: read the text
    // as it would, by parsing it again with one member per key.
    scratch.rewritten.clear();
    write_last_wins(doc, scratch.rewritten);
    const std::size_t rewritten_len = scratch.rewritten.size();
    scratch.rewritten.resize(rewritten_len + simdjson::SIMDJSON_PADDING);
    err = parser.parse(reinterpret_cast<const std::uint8_t*>(scratch.rewritten.data()), rewritten_len, false).get(doc);
    if (err) return invalid_json(err, error);
  }
  return true;
}

// The whole review through the DOM: every value checked. The reference reading,
// and the one every error message comes from.
bool parse_whole_review(simdjson::dom::parser& parser, review_scratch& scratch, const char* data, std::size_t len,
                        std::size_t capacity, review& r, pod& p, std::string& error) {
  r = review{};
  p.clear();
  element doc;
  if (!parse_last_wins(parser, scratch, data, len, capacity >= len + simdjson::SIMDJSON_PADDING, doc, error))
    return false;
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

// ------------------------------------------------ the reading of what is read
//
// One On Demand pass over the whole review: its stage 1 checks all of the body
// (UTF-8, strings, control characters); the pass reads the envelope's few
// members and finds the pod object, noting where `status` and
// `metadata.managedFields` sit. Then the pod alone, with those two values left
// out, goes through the DOM and the key scan, so everything after keeps its DOM
// types. Whatever this reading does not expect (a type or a key it does not
// take, a repeated key, a `\u0000` escape, an error) hands the review to the
// whole reading above, which answers exactly as before: the fast reading only
// has to be right when it succeeds.

namespace od = simdjson::ondemand;

// A value of the pod that no reader uses, replaced by an empty one of its kind.
struct skipped_value {
  const char* begin;
  std::size_t size;  // up to the next token, so trailing blanks go too
};

struct pod_text {
  const char* begin = nullptr;
  const char* end = nullptr;  // one past the closing brace
  // Two per pod (status, managedFields); a few more for repeated members, and a
  // review with still more falls back to the whole reading.
  std::array<skipped_value, 8> skipped{};
  std::size_t skipped_count = 0;
};

// Optional string: absent or null is "". False for anything the whole reading
// refuses or reads differently (another type, a NUL).
bool read_string(od::value v, std::string_view& out) {
  bool null = false;
  if (v.is_null().get(null)) return false;
  if (null) {
    out = {};
    return true;
  }
  if (v.get_string().get(out)) return false;
  return out.find('\0') == std::string_view::npos;
}

// Each member read may appear once here; a repeat goes to the whole reading,
// which keeps the last as the apiserver does.
bool first_time(unsigned& seen, unsigned bit) {
  if (seen & bit) return false;
  seen |= bit;
  return true;
}

bool skip_value(od::value v, pod_text& pod) {
  const char* begin = nullptr;
  if (v.current_location().get(begin)) return false;
  std::string_view raw;
  if (*begin == '{') {
    od::object o;
    if (v.get_object().get(o) || o.raw_json().get(raw)) return false;
  } else if (*begin == '[') {
    od::array a;
    if (v.get_array().get(a) || a.raw_json().get(raw)) return false;
  } else {
    return true;  // a scalar is short: it stays, and the DOM checks it
  }
  if (pod.skipped_count == pod.skipped.size() || raw.data() != begin) return false;
  pod.skipped[pod.skipped_count++] = skipped_value{begin, raw.size()};
  return true;
}

bool locate_pod(od::value v, pod_text& pod) {
  const char* begin = nullptr;
  if (v.current_location().get(begin) || *begin != '{') return false;
  od::object o;
  if (v.get_object().get(o)) return false;
  for (auto member : o) {
    od::field f;
    std::string_view key;
    if (std::move(member).get(f) || f.unescaped_key().get(key)) return false;
    if (key == "status") {
      if (!skip_value(f.value(), pod)) return false;
    } else if (key == "metadata") {
      od::value meta_value = f.value();
      const char* meta_begin = nullptr;
      if (meta_value.current_location().get(meta_begin)) return false;
      if (*meta_begin != '{') continue;  // the DOM refuses it with the usual message
      od::object meta;
      if (meta_value.get_object().get(meta)) return false;
      for (auto meta_member : meta) {
        od::field mf;
        std::string_view meta_key;
        if (std::move(meta_member).get(mf) || mf.unescaped_key().get(meta_key)) return false;
        if (meta_key == "managedFields" && !skip_value(mf.value(), pod)) return false;
      }
    }
  }
  // The iterator now stands on the token after the pod's closing brace.
  const char* after = nullptr;
  if (v.current_location().get(after)) return false;
  while (after > begin && after[-1] != '}') --after;
  if (after == begin) return false;
  pod.begin = begin;
  pod.end = after;
  return true;
}

bool read_request_kind(od::value v, review& r) {
  bool null = false;
  if (v.is_null().get(null)) return false;
  if (null) return true;
  od::object o;
  if (v.get_object().get(o)) return false;
  unsigned seen = 0;
  for (auto member : o) {
    od::field f;
    std::string_view key;
    if (std::move(member).get(f) || f.unescaped_key().get(key)) return false;
    if (key == "group") {
      if (!first_time(seen, 1) || !read_string(f.value(), r.kind_group)) return false;
    } else if (key == "version") {
      if (!first_time(seen, 2) || !read_string(f.value(), r.kind_version)) return false;
    } else if (key == "kind") {
      if (!first_time(seen, 4) || !read_string(f.value(), r.kind)) return false;
    }
  }
  return true;
}

bool read_request(od::value v, review& r, pod_text& pod) {
  od::object o;
  if (v.get_object().get(o)) return false;  // null or another type: the whole reading says which
  unsigned seen = 0;
  for (auto member : o) {
    od::field f;
    std::string_view key;
    if (std::move(member).get(f) || f.unescaped_key().get(key)) return false;
    bool ok = true;
    if (key == "uid") {
      ok = first_time(seen, 1) && read_string(f.value(), r.uid);
    } else if (key == "kind") {
      ok = first_time(seen, 2) && read_request_kind(f.value(), r);
    } else if (key == "subResource") {
      ok = first_time(seen, 4) && read_string(f.value(), r.sub_resource);
    } else if (key == "operation") {
      ok = first_time(seen, 8) && read_string(f.value(), r.operation);
    } else if (key == "namespace") {
      ok = first_time(seen, 16) && read_string(f.value(), r.namespace_name);
    } else if (key == "name") {
      ok = first_time(seen, 32) && read_string(f.value(), r.name);
    } else if (key == "dryRun") {
      // Only true and false are taken here; the whole reading decides the rest.
      ok = first_time(seen, 64) && !f.value().get_bool().get(r.dry_run);
    } else if (key == "object") {
      ok = first_time(seen, 128) && locate_pod(f.value(), pod);
    }
    if (!ok) return false;
  }
  return true;
}

// The envelope and the pod's place, or false for the whole reading to decide.
bool read_envelope(od::parser& parser, const char* data, std::size_t len, std::size_t capacity, review& r,
                   pod_text& pod) {
  od::document doc;
  if (parser.iterate(data, len, capacity).get(doc)) return false;
  od::object top;
  if (doc.get_object().get(top)) return false;
  unsigned seen = 0;
  std::string_view api_version, kind;
  for (auto member : top) {
    od::field f;
    std::string_view key;
    if (std::move(member).get(f) || f.unescaped_key().get(key)) return false;
    bool ok = true;
    if (key == "apiVersion") ok = first_time(seen, 1) && read_string(f.value(), api_version);
    else if (key == "kind") ok = first_time(seen, 2) && read_string(f.value(), kind);
    else if (key == "request") ok = first_time(seen, 4) && read_request(f.value(), r, pod);
    if (!ok) return false;
  }
  // Nothing may follow the review (past the end there is no current location).
  if (!doc.current_location().error()) return false;
  if (api_version == "admission.k8s.io/v1") r.version = review_version::v1;
  else if (api_version == "admission.k8s.io/v1beta1") r.version = review_version::v1beta1;
  else return false;
  if (!kind.empty() && kind != "AdmissionReview") return false;
  if (!(seen & 4) || r.uid.empty()) return false;
  r.is_pod_create = r.kind == "Pod" && r.kind_group.empty() && r.sub_resource.empty() && r.operation == "CREATE";
  return !r.is_pod_create || pod.begin != nullptr;
}

bool parse_read_parts(simdjson::dom::parser& parser, review_scratch& scratch, const char* data, std::size_t len,
                      std::size_t capacity, review& r, pod& p, std::string& error) {
  r = review{};
  p.clear();
  // A `\u0000` anywhere may sit in a key, which the whole reading refuses
  // wherever it is: that rare review is read whole.
  if (std::string_view(data, len).find("\\u0000") != std::string_view::npos) return false;
  pod_text pod;
  if (!read_envelope(scratch.ondemand, data, len, capacity, r, pod)) return false;
  if (!r.is_pod_create) return true;
  std::string& text = scratch.pod_text;
  text.clear();
  const char* at = pod.begin;
  for (std::size_t i = 0; i < pod.skipped_count; ++i) {
    const skipped_value& s = pod.skipped[i];
    text.append(at, s.begin);
    text.append(*s.begin == '{' ? "{}" : "[]");
    at = s.begin + s.size;
  }
  text.append(at, pod.end);
  const std::size_t text_len = text.size();
  text.resize(text_len + simdjson::SIMDJSON_PADDING);
  element doc;
  if (!parse_last_wins(parser, scratch, text.data(), text_len, true, doc, error)) return false;
  return parse_pod(doc, r.namespace_name, p, error);
}

}  // namespace

bool parse_review(simdjson::dom::parser& parser, review_scratch& scratch, const char* data, std::size_t len,
                  std::size_t capacity, review& r, pod& p, std::string& error) {
  if (capacity >= len + simdjson::SIMDJSON_PADDING && parse_read_parts(parser, scratch, data, len, capacity, r, p, error))
    return true;
  return parse_whole_review(parser, scratch, data, len, capacity, r, p, error);
}

bool parse_review(simdjson::dom::parser& parser, const char* data, std::size_t len, std::size_t capacity, review& r,
                  pod& p, std::string& error) {
  // Without the caller's scratch the envelope's strings would outlive their
  // On Demand parser: this form reads the whole review with the DOM.
  review_scratch scratch;
  return parse_whole_review(parser, scratch, data, len, capacity, r, p, error);
}

}  // namespace meshinject::patch
