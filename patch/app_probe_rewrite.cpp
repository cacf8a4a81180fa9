// Istio 1.28's probe rewrite on the merged pod tree (see app_probe_rewrite.hpp).

#include "patch/app_probe_rewrite.hpp"

#include <algorithm>
#include <charconv>
#include <limits>

#include "patch/json_text.hpp"
#include "patch/pod_overlay.hpp"

namespace meshinject::patch {
namespace {

namespace json = core::json;
using json::errc;

constexpr json::error type_error{errc::invalid_json, "a probe of an app container has a field of the wrong type"};
constexpr json::error no_memory{errc::out_of_memory, "out of memory"};

// One probe or lifecycle hook of a container and the agent URL it moves to.
struct probe_slot {
  std::string_view field;   // readinessProbe, ... or, under lifecycle, preStop, postStart
  std::string_view prefix;  // /app-health/ or /app-lifecycle/
  std::string_view suffix;  // /readyz, ...
  bool lifecycle;           // a LifecycleHandler: no gRPC, no timeout
};

// FormatProberURL's order is irrelevant (the map is sorted); the slots are.
constexpr probe_slot probe_slots[] = {
    {"readinessProbe", "/app-health/", "/readyz", false},
    {"livenessProbe", "/app-health/", "/livez", false},
    {"startupProbe", "/app-health/", "/startupz", false},
    {"preStop", "/app-lifecycle/", "/prestopz", true},
    {"postStart", "/app-lifecycle/", "/poststartz", true},
};

// The agent URL a container's probe moves to (FormatProberURL), built in `scratch`
// and copied into the arena; empty with `ok` false when the arena is full.
std::string_view agent_url(const probe_slot& slot, std::string_view container, std::string& scratch, core::arena& a,
                           bool& ok) noexcept {
  scratch.assign(slot.prefix);
  scratch.append(container);
  scratch.append(slot.suffix);
  ok = true;
  return a.copy(scratch, ok);
}

const json::value* child(const json::value* v, std::string_view key) noexcept {
  const json::value* c = v && v->is_object() ? v->find(key) : nullptr;
  return c && !c->is_null() ? c : nullptr;  // Go's nil pointer either way
}

std::string_view name_of(const json::value& container) noexcept {
  const json::value* n = child(&container, "name");
  return n && n->is_string() ? n->as_string() : std::string_view();
}

const json::value* spec_list(const json::value& pod, std::string_view list) noexcept {
  const json::value* l = child(child(&pod, "spec"), list);
  return l && l->is_array() ? l : nullptr;
}

json::value* spec_list(json::value& pod, std::string_view list) noexcept {
  return const_cast<json::value*>(spec_list(static_cast<const json::value&>(pod), list));
}

// The hook or probe `slot` names in container `c`.
const json::value* slot_in(const json::value& c, const probe_slot& slot) noexcept {
  return slot.lifecycle ? child(child(&c, "lifecycle"), slot.field) : child(&c, slot.field);
}

// Go's strconv.ParseBool.
bool parse_go_bool(std::string_view s, bool& out) noexcept {
  for (std::string_view t : {"1", "t", "T", "TRUE", "true", "True"})
    if (s == t) return out = true;
  for (std::string_view f : {"0", "f", "F", "FALSE", "false", "False"})
    if (s == f) return !(out = false);
  return false;
}

// Go's strconv.Atoi; Istio logs a failure and goes on with 0.
std::int64_t go_atoi_or_zero(std::string_view s) noexcept {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && end == s.data() + s.size() && !s.empty() ? v : 0;
}

// A new object with obj's members but `dropped` (children shared): what is
// changed below never writes into a node another tree may hold.
json::error shallow_copy(const json::value& obj, std::string_view dropped, core::arena& a, json::value& out) noexcept {
  out = json::value::object();
  if (!obj.is_object()) return {};
  if (json::error e = out.reserve(a, obj.size())) return e;
  for (const json::member& m : obj.members())
    if (m.key != dropped)
      if (json::error e = out.append_member(a, m.key, m.v)) return e;
  return {};
}

// rewriteHTTPGetAction on a copy of `action` (or on a new one): the agent's URL
// and port, and HTTP where the app spoke HTTPS (the agent speaks HTTPS to it).
json::error agent_http_get(const json::value* action, std::string_view url, std::int64_t port, core::arena& a,
                           json::value& out) noexcept {
  if (json::error e = shallow_copy(action ? *action : json::value(), {}, a, out)) return e;
  if (json::error e = out.set(a, "path", json::value::string(url))) return e;
  if (json::error e = out.set(a, "port", json::value::integer(port))) return e;
  const json::value* scheme = child(&out, "scheme");
  if (scheme && scheme->is_string() && scheme->as_string() == "HTTPS")
    return out.set(a, "scheme", json::value::string("HTTP"));
  return {};
}

// convertAppProber / convertAppLifecycleHandler: false when the probe has no
// action the agent can take over (exec, or gRPC on a lifecycle hook).
bool converted(const json::value& probe, const probe_slot& slot, std::string_view url, std::int64_t port,
               core::arena& a, json::value& out, json::error& e) noexcept {
  json::value http_get;
  if (const json::value* h = child(&probe, "httpGet")) {
    e = shallow_copy(probe, {}, a, out);
    if (!e) e = agent_http_get(h->is_object() ? h : nullptr, url, port, a, http_get);
  } else if (child(&probe, "tcpSocket")) {
    e = shallow_copy(probe, "tcpSocket", a, out);
    if (!e) e = agent_http_get(nullptr, url, port, a, http_get);
  } else if (!slot.lifecycle && child(&probe, "grpc")) {
    e = shallow_copy(probe, "grpc", a, out);
    if (!e) e = agent_http_get(nullptr, url, port, a, http_get);
  } else {
    return false;
  }
  if (!e) e = out.set(a, "httpGet", http_get);
  return true;
}

// ---------------------------------------------------------------- the env text
// Each writer is the encoding/json output of the Go struct the agent reads,
// after Go's decode of `v`; false when the decode would fail.

bool write_string_field(std::string& out, const json::value* v, std::string_view key, bool omit_empty) {
  if (v && !v->is_string()) return false;
  const std::string_view s = v ? v->as_string() : std::string_view();
  if (omit_empty && s.empty()) return true;
  if (out.back() != '{') out += ',';
  append_json_string(out, key);
  out += ':';
  append_json_string(out, s, true);
  return true;
}

bool write_int32(std::string& out, const json::value* v) {
  if (v && !v->is_integer()) return false;
  const std::int64_t i = v ? v->as_integer() : 0;
  if (i < std::numeric_limits<std::int32_t>::min() || i > std::numeric_limits<std::int32_t>::max()) return false;
  append_int(out, i);
  return true;
}

// intstr.IntOrString: a JSON string stays one, else an int32 (0 when absent).
bool write_port(std::string& out, const json::value* v) {
  out += out.back() == '{' ? "\"port\":" : ",\"port\":";
  if (v && v->is_string()) {
    append_json_string(out, v->as_string(), true);
    return true;
  }
  return write_int32(out, v);
}

bool write_http_get(std::string& out, const json::value& h) {
  if (!h.is_object()) return false;
  out += '{';
  if (!write_string_field(out, child(&h, "path"), "path", true) || !write_port(out, child(&h, "port")) ||
      !write_string_field(out, child(&h, "host"), "host", true) ||
      !write_string_field(out, child(&h, "scheme"), "scheme", true))
    return false;
  if (const json::value* headers = child(&h, "httpHeaders")) {
    if (!headers->is_array()) return false;
    if (!headers->empty()) {
      out += ",\"httpHeaders\":[";
      for (const json::value& header : headers->items()) {
        if (!header.is_object()) return false;
        out += out.back() == '[' ? "{" : ",{";
        if (!write_string_field(out, child(&header, "name"), "name", false) ||
            !write_string_field(out, child(&header, "value"), "value", false))
          return false;
        out += '}';
      }
      out += ']';
    }
  }
  out += '}';
  return true;
}

bool write_tcp_socket(std::string& out, const json::value& t) {
  if (!t.is_object()) return false;
  out += '{';
  if (!write_port(out, child(&t, "port")) || !write_string_field(out, child(&t, "host"), "host", true)) return false;
  out += '}';
  return true;
}

// corev1.GRPCAction's `service` is a pointer without omitempty: null when unset.
bool write_grpc(std::string& out, const json::value& g) {
  if (!g.is_object()) return false;
  out += "{\"port\":";
  if (!write_int32(out, child(&g, "port"))) return false;
  out += ",\"service\":";
  const json::value* service = child(&g, "service");
  if (service && !service->is_string()) return false;
  if (service) append_json_string(out, service->as_string(), true);
  else out += "null";
  out += '}';
  return true;
}

// inject.Prober: httpGet, tcpSocket, grpc (each left out when nil), timeoutSeconds (when not 0).
bool write_prober(std::string& out, const json::value& p) {
  if (p.is_null()) {
    out += "null";
    return true;
  }
  if (!p.is_object()) return false;
  out += '{';
  auto action = [&](std::string_view key, bool (*write)(std::string&, const json::value&)) {
    const json::value* v = child(&p, key);
    if (!v) return true;
    if (out.back() != '{') out += ',';
    append_json_string(out, key);
    out += ':';
    return write(out, *v);
  };
  if (!action("httpGet", write_http_get) || !action("tcpSocket", write_tcp_socket) || !action("grpc", write_grpc))
    return false;
  if (const json::value* timeout = child(&p, "timeoutSeconds")) {
    if (!timeout->is_integer()) return false;
    if (timeout->as_integer() != 0) {
      out += out.back() == '{' ? "\"timeoutSeconds\":" : ",\"timeoutSeconds\":";
      if (!write_int32(out, timeout)) return false;
    }
  }
  out += '}';
  return true;
}

}  // namespace

// DumpAppProbers: every app container's probes and hooks the agent can run,
// named ports resolved; a probe already on the agent's port is left out.
json::error app_probe_rewriter::collect(const json::value& pod, std::int64_t target_port, core::arena& a) {
  probers_.clear();
  for (std::string_view list : {"initContainers", "containers"}) {
    const json::value* containers = spec_list(pod, list);
    if (!containers) continue;
    for (const json::value& c : containers->items()) {
      const std::string_view name = name_of(c);
      if (!c.is_object() || name == proxy_container_name) continue;
      for (const probe_slot& slot : probe_slots) {
        const json::value* probe = slot_in(c, slot);
        if (!probe || !probe->is_object()) continue;
        std::string_view kind = "httpGet";
        const json::value* action = child(probe, kind);
        if (!action) action = child(probe, kind = "tcpSocket");
        if (!action && !slot.lifecycle) action = child(probe, kind = "grpc");
        if (!action) continue;
        json::value resolved = *action;
        if (kind != "grpc") {
          if (!action->is_object()) return type_error;
          const json::value* port = child(action, "port");
          if (port && port->is_string()) {
            const json::value* number = nullptr;
            if (const json::value* ports = child(&c, "ports"); ports && ports->is_array())
              for (const json::value& p : ports->items())
                if (const json::value* n = child(&p, "name"); n && n->is_string() && n->as_string() == port->as_string())
                  number = child(&p, "containerPort");
            if (!number || !number->is_integer()) continue;  // a name the container does not declare
            if (json::error e = shallow_copy(*action, {}, a, resolved)) return e;
            if (json::error e = resolved.set(a, "port", json::value::integer(number->as_integer()))) return e;
          } else if ((port ? port->as_integer() : 0) == target_port && (!port || port->is_integer())) {
            continue;  // already the agent's
          }
        }
        json::value entry = json::value::object();
        if (json::error e = entry.append_member(a, kind, resolved)) return e;
        if (const json::value* timeout = child(probe, "timeoutSeconds"); timeout && !slot.lifecycle)
          if (json::error e = entry.append_member(a, "timeoutSeconds", *timeout)) return e;
        bool ok = true;
        const std::string_view url = agent_url(slot, name, text_, a, ok);
        if (!ok) return no_memory;
        probers_.push_back({url, entry});
      }
    }
  }
  return {};
}

// mergeOrAppendProbers, with the KubeAppProbers text written from probers_.
json::error app_probe_rewriter::merge_into_env(json::value& sidecar, bool previously_injected, core::arena& a) {
  json::value* env = sidecar.find("env");
  std::size_t existing_at = json::value::npos;
  if (previously_injected && env && env->is_array()) {
    for (std::size_t i = 0; i < env->size() && existing_at == json::value::npos; ++i)
      if (name_of(env->items()[i]) == app_probers_env) existing_at = i;
  }
  if (existing_at != json::value::npos) {
    const json::value* old_text = child(&env->items()[existing_at], "value");
    json::value old;
    if (old_text && !old_text->is_string()) return {};
    if (json::parse(old_text ? old_text->as_string() : std::string_view(), parser_, a, old) || !old.is_object())
      return {};  // Istio logs that it cannot read them and leaves the variable as it was
    for (const json::member& m : old.members()) {
      auto same = std::find_if(probers_.begin(), probers_.end(), [&](const prober& p) { return p.url == m.key; });
      if (same != probers_.end()) same->v = m.v;
      else probers_.push_back({m.key, m.v});
    }
  }
  // Go writes a map with its keys sorted; a URL two containers share keeps the later one.
  // Insertion sort: stable like std::stable_sort, without its temporary buffer
  // (a heap allocation per request); a pod has a few probes per container.
  for (std::size_t i = 1; i < probers_.size(); ++i) {
    const prober moving = probers_[i];
    std::size_t j = i;
    for (; j > 0 && moving.url < probers_[j - 1].url; --j) probers_[j] = probers_[j - 1];
    probers_[j] = moving;
  }
  text_ = "{";
  for (std::size_t i = 0; i < probers_.size(); ++i) {
    if (i + 1 < probers_.size() && probers_[i + 1].url == probers_[i].url) continue;
    if (text_.size() > 1) text_ += ',';
    append_json_string(text_, probers_[i].url, true);
    text_ += ':';
    if (!write_prober(text_, probers_[i].v)) {
      if (existing_at != json::value::npos) return {};  // as an unreadable earlier value
      return type_error;
    }
  }
  text_ += '}';

  json::value var = json::value::object(), value;
  if (json::error e = json::value::string_copy(text_, a, value)) return e;
  if (json::error e = var.append_member(a, "name", json::value::string(app_probers_env))) return e;
  if (json::error e = var.append_member(a, "value", value)) return e;
  if (existing_at != json::value::npos) {
    env->items()[existing_at] = var;
    return {};
  }
  if (!env || !env->is_array())
    if (json::error e = sidecar.set(a, "env", json::value::array(), &env)) return e;
  return env->push_back(a, var);
}

json::error app_probe_rewriter::apply(json::value& pod, const probe_rewrite_settings& settings, core::arena& a) {
  json::value* sidecar = nullptr;
  for (std::string_view list : {"containers", "initContainers"}) {
    json::value* containers = spec_list(pod, list);
    for (std::size_t i = 0; containers && !sidecar && i < containers->size(); ++i)
      if (name_of(containers->items()[i]) == proxy_container_name && containers->items()[i].is_object())
        sidecar = &containers->items()[i];
    if (sidecar) break;
  }
  if (!sidecar) return {};
  const json::value* annotations = child(child(&pod, "metadata"), "annotations");
  bool rewrite = settings.enabled_by_values;
  if (const json::value* v = child(annotations, rewrite_probers_annotation); v && v->is_string()) {
    bool b = false;
    if (parse_go_bool(v->as_string(), b)) rewrite = b;
  }
  if (!rewrite) return {};

  if (json::error e = collect(pod, settings.mesh_status_port, a)) return e;
  if (!probers_.empty()) {
    const bool previously_injected = child(annotations, status_annotation) != nullptr;
    if (json::error e = merge_into_env(*sidecar, previously_injected, a)) return e;
  }

  // patchRewriteProbe: the pod's own status port, when it names one.
  std::int64_t port = settings.mesh_status_port;
  if (const json::value* v = child(annotations, status_port_annotation); v && v->is_string())
    port = go_atoi_or_zero(v->as_string());
  for (std::string_view list : {"containers", "initContainers"}) {
    json::value* containers = spec_list(pod, list);
    if (!containers) continue;
    for (json::value& c : containers->items()) {
      const std::string_view name = name_of(c);
      if (!c.is_object() || name == proxy_container_name) continue;
      json::value edited, lifecycle;
      bool changed = false, lifecycle_changed = false;
      for (const probe_slot& slot : probe_slots) {
        const json::value* probe = slot_in(c, slot);
        if (!probe || !probe->is_object()) continue;
        bool ok = true;
        const std::string_view url = agent_url(slot, name, text_, a, ok);
        if (!ok) return no_memory;
        json::value rewritten;
        json::error e;
        if (!converted(*probe, slot, url, port, a, rewritten, e)) continue;
        if (e) return e;
        if (!changed && (e = shallow_copy(c, {}, a, edited))) return e;
        changed = true;
        if (slot.lifecycle && !lifecycle_changed && (e = shallow_copy(*child(&c, "lifecycle"), {}, a, lifecycle)))
          return e;
        lifecycle_changed |= slot.lifecycle;
        if ((e = (slot.lifecycle ? lifecycle : edited).set(a, slot.field, rewritten))) return e;
      }
      if (lifecycle_changed)
        if (json::error e = edited.set(a, "lifecycle", lifecycle)) return e;
      if (changed) c = edited;
    }
  }
  return {};
}

}  // namespace meshinject::patch
