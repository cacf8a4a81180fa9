#include "patch/pod_overlay.hpp"

#include <algorithm>
#include <charconv>
#include <iterator>

#include "patch/json_tree_writer.hpp"
#include "patch/strategic_merge.hpp"

namespace meshinject::patch {
namespace {

namespace json = core::json;
using json::errc;

constexpr std::string_view auto_image = "auto";

json::value* child(json::value& v, std::string_view key) noexcept { return v.is_object() ? v.find(key) : nullptr; }
const json::value* child(const json::value& v, std::string_view key) noexcept {
  return v.is_object() ? v.find(key) : nullptr;
}

// pod.spec.<list>, when it is a list.
const json::value* spec_list(const json::value& pod, std::string_view list) noexcept {
  const json::value* spec = child(pod, "spec");
  const json::value* l = spec != nullptr ? child(*spec, list) : nullptr;
  return l != nullptr && l->is_array() ? l : nullptr;
}

std::string_view name_of(const json::value& container) noexcept {
  const json::value* n = child(container, "name");
  return n != nullptr && n->is_string() ? n->as_string() : std::string_view();
}

const json::value* find_named(const json::value* list, std::string_view name) noexcept {
  if (list == nullptr || !list->is_array()) return nullptr;
  for (const json::value& c : list->items())
    if (name_of(c) == name) return &c;
  return nullptr;
}

json::value* find_named(json::value* list, std::string_view name) noexcept {
  return const_cast<json::value*>(find_named(static_cast<const json::value*>(list), name));
}

// The value of annotation `key` of a pod, when it is a string.
const json::value* annotation(const json::value& pod, std::string_view key) noexcept {
  const json::value* meta = child(pod, "metadata");
  const json::value* annotations = meta != nullptr ? child(*meta, "annotations") : nullptr;
  const json::value* v = annotations != nullptr ? child(*annotations, key) : nullptr;
  return v != nullptr && v->is_string() ? v : nullptr;
}

// obj.<key> as an object, created (or a non-object replaced) when needed.
json::error object_member(json::value& obj, std::string_view key, json::value*& out, core::arena& a) noexcept {
  json::value* v = obj.find(key);
  if (v != nullptr && v->is_object()) {
    out = v;
    return {};
  }
  return obj.set(a, key, json::value::object(), &out);
}

bool omitted_by_go(const json::value& v) noexcept {
  switch (v.type()) {
    case json::kind::null: return true;
    case json::kind::boolean: return !v.as_bool();
    case json::kind::string: return v.as_string().empty();
    case json::kind::array:
    case json::kind::object: return v.empty();
    default: return false;
  }
}

// The user's container as Istio re-applies it: what Go's encoding of a
// corev1.Container keeps, and no image when it says "auto".
json::error container_overlay(const json::value& c, json::value& out, core::arena& a) noexcept {
  out = json::value::object();
  if (auto err = out.reserve(a, c.size())) return err;
  for (const json::member& m : c.members()) {
    if (m.key != "name" && omitted_by_go(m.v)) continue;
    if (m.key == "image" && m.v.is_string() && m.v.as_string() == auto_image) continue;
    if (auto err = out.append_member(a, m.key, m.v)) return err;
  }
  return {};
}

// {"spec":{"<list>":[container]}}
json::error container_patch(std::string_view list, const json::value& container, json::value& out,
                            core::arena& a) noexcept {
  json::value items = json::value::array();
  if (auto err = items.push_back(a, container)) return err;
  json::value spec = json::value::object();
  if (auto err = spec.append_member(a, list, items)) return err;
  out = json::value::object();
  return out.append_member(a, "spec", spec);
}

bool listed(const json::value* names, std::string_view name) noexcept {
  if (names == nullptr || !names->is_array()) return false;
  for (const json::value& n : names->items())
    if (n.is_string() && n.as_string() == name) return true;
  return false;
}

// The overrides annotation must hold {"containers":[{...}],"initContainers":[{...}]}.
bool valid_overrides(const json::value& v) noexcept {
  if (!v.is_object()) return false;
  for (std::string_view key : {"containers", "initContainers"}) {
    const json::value* l = v.find(key);
    if (l == nullptr || l->is_null()) continue;
    if (!l->is_array()) return false;
    for (const json::value& c : l->items())
      if (!c.is_object()) return false;
  }
  return true;
}

}  // namespace

const json::value* find_container_in_pod(const json::value& pod, std::string_view name) noexcept {
  if (const json::value* c = find_named(spec_list(pod, "containers"), name)) return c;
  return find_named(spec_list(pod, "initContainers"), name);
}

bool move_container(json::value& pod, std::string_view name, std::string_view from, std::string_view to,
                    core::arena& a, json::error& err) noexcept {
  json::value* spec = child(pod, "spec");
  json::value* src = spec != nullptr ? child(*spec, from) : nullptr;
  if (src == nullptr || !src->is_array()) return false;
  for (std::size_t i = 0; i < src->size(); ++i) {
    if (name_of(src->items()[i]) != name) continue;
    const json::value moved = src->items()[i];
    src->erase(i);
    json::value* dst = child(*spec, to);
    if (dst == nullptr || !dst->is_array()) {
      err = spec->set(a, to, json::value::array(), &dst);
      if (err) return false;
    }
    err = dst->push_back(a, moved);
    return !err;
  }
  return false;
}

namespace {

// The part of a render that decides the item names of template_pod_lists: the
// directives of the pod and of its spec, and those lists with each item cut to
// its name and its $patch. A spec that is not an object is kept whole (the
// merge then reports it as it would).
json::error render_names(const json::value& rendered, json::value& out, core::arena& a) noexcept {
  out = json::value::object();
  for (const json::member& m : rendered.members()) {
    const bool directive = !m.key.empty() && m.key.front() == '$';
    if (m.key != "spec" && !directive) continue;
    if (directive || !m.v.is_object()) {
      if (auto err = out.append_member(a, m.key, m.v)) return err;
      continue;
    }
    json::value spec = json::value::object();
    for (const json::member& field : m.v.members()) {
      const bool listed = std::find(std::begin(template_pod_lists), std::end(template_pod_lists), field.key) !=
                          std::end(template_pod_lists);
      if (!listed && (field.key.empty() || field.key.front() != '$')) continue;
      if (!listed || !field.v.is_array()) {
        if (auto err = spec.append_member(a, field.key, field.v)) return err;
        continue;
      }
      json::value names = json::value::array();
      if (auto err = names.reserve(a, field.v.size())) return err;
      for (const json::value& item : field.v.items()) {
        json::value cut = item;
        if (item.is_object()) {
          cut = json::value::object();
          for (std::string_view key : {std::string_view("name"), std::string_view("$patch")})
            if (const json::value* v = item.find(key))
              if (auto err = cut.append_member(a, key, *v)) return err;
        }
        if (auto err = names.push_back(a, cut)) return err;
      }
      if (auto err = spec.append_member(a, field.key, names)) return err;
    }
    if (auto err = out.append_member(a, m.key, spec)) return err;
  }
  return {};
}

}  // namespace

json::error pod_overlay::apply_template(json::value& pod, json::value& template_pod, const json::value& rendered,
                                        bool native, core::arena& a, render_use use) noexcept {
  if (use == render_use::link) {
    json::value names;
    if (auto err = render_names(rendered, names, a)) return err;
    if (auto err = smp::merge(template_pod, names, &smp::pod(), a)) return err;
  } else if (auto err = smp::merge(template_pod, rendered, &smp::pod(), a)) {
    return err;
  }
  if (const json::value* v = annotation(pod, native_sidecar_annotation)) {
    if (v->as_string() == "true") native = true;
    if (v->as_string() == "false") native = false;
  }
  if (native && find_named(spec_list(template_pod, "initContainers"), proxy_container_name) != nullptr &&
      find_named(spec_list(pod, "containers"), proxy_container_name) != nullptr) {
    json::error err;
    move_container(pod, proxy_container_name, "containers", "initContainers", a, err);
    if (err) return err;
  }
  return smp::merge(pod, rendered, &smp::pod(), a,
                    use == render_use::link ? smp::patch_use::link : smp::patch_use::copy);
}

json::error pod_overlay::reapply_overwritten_containers(json::value& final_pod, const json::value& original_pod,
                                                        const json::value& template_pod,
                                                        const reapply_options& options, core::arena& a) noexcept {
  json::value existing = json::value::object();
  if (const json::value* text = annotation(original_pod, overrides_annotation)) {
    if (json::parse(text->as_string(), parser_, a, existing) || !valid_overrides(existing))
      return json::error{errc::invalid_json, "invalid proxy.istio.io/overrides annotation"};
  }
  // A status annotation that does not parse still marks the pod as injected.
  const json::value* status_text = annotation(original_pod, status_annotation);
  json::value status = json::value::object();
  if (status_text != nullptr && json::parse(status_text->as_string(), parser_, a, status)) status = json::value::object();

  json::value overrides = json::value::object();
  for (std::string_view list : {std::string_view("containers"), std::string_view("initContainers")}) {
    const json::value* injected = spec_list(template_pod, list);
    if (injected == nullptr) continue;
    json::value applied = json::value::array();
    for (const json::value& c : injected->items()) {
      const std::string_view name = name_of(c);
      if (listed(child(status, list), name)) continue;
      const json::value* match = find_named(child(existing, list), name);
      if (match == nullptr)
        match = list == "containers" ? find_named(spec_list(original_pod, "containers"), name)
                                     : find_container_in_pod(original_pod, name);
      if (match == nullptr) continue;
      json::value overlay, patch;
      if (auto err = container_overlay(*match, overlay, a)) return err;
      if (auto err = applied.push_back(a, overlay)) return err;
      if (auto err = container_patch(list, overlay, patch, a)) return err;
      if (auto err = smp::merge(final_pod, patch, &smp::pod(), a)) return err;
    }
    if (!applied.empty())
      if (auto err = overrides.append_member(a, list, applied)) return err;
  }
  if (status_text == nullptr && !overrides.empty()) {
    text_.clear();
    append_json(text_, overrides);
    json::value value, *meta = nullptr, *annotations = nullptr;
    if (auto err = json::value::string_copy(text_, a, value)) return err;
    if (auto err = object_member(final_pod, "metadata", meta, a)) return err;
    if (auto err = object_member(*meta, "annotations", annotations, a)) return err;
    if (auto err = annotations->set(a, overrides_annotation, value)) return err;
  }
  return adjust_init_container_user(final_pod, original_pod, options, a);
}

json::error adjust_init_container_user(json::value& final_pod, const json::value& original_pod,
                                       const reapply_options& options, core::arena& a) noexcept {
  const json::value* user = find_container_in_pod(original_pod, proxy_container_name);
  const json::value* sc = user != nullptr ? child(*user, "securityContext") : nullptr;
  const json::value* run_as_user = sc != nullptr ? child(*sc, "runAsUser") : nullptr;
  const json::value* run_as_group = sc != nullptr ? child(*sc, "runAsGroup") : nullptr;
  if (run_as_user != nullptr && run_as_user->is_null()) run_as_user = nullptr;
  if (run_as_group != nullptr && run_as_group->is_null()) run_as_group = nullptr;
  if (run_as_user == nullptr && run_as_group == nullptr) return {};

  json::value* spec = child(final_pod, "spec");
  json::value* inits = spec != nullptr ? child(*spec, "initContainers") : nullptr;
  json::value* init = find_named(inits, "istio-init");
  if (init == nullptr) init = find_named(inits, "istio-validation");
  if (init == nullptr) return {};

  const json::value* mode = annotation(final_pod, interception_mode_annotation);
  const bool tproxy = options.tproxy_interception || (mode != nullptr && mode->as_string() == "TPROXY");
  json::value* ctx = nullptr;
  if (tproxy && run_as_user != nullptr) {
    json::value* sidecar = const_cast<json::value*>(find_container_in_pod(final_pod, proxy_container_name));
    if (sidecar == nullptr) return {};
    if (auto err = object_member(*sidecar, "securityContext", ctx, a)) return err;
    if (auto err = ctx->set(a, "runAsUser", json::value::integer(0))) return err;
  }
  if (!tproxy && name_of(*init) == "istio-validation") {
    if (auto err = object_member(*init, "securityContext", ctx, a)) return err;
    if (run_as_user != nullptr)
      if (auto err = ctx->set(a, "runAsUser", *run_as_user)) return err;
    if (run_as_group != nullptr)
      if (auto err = ctx->set(a, "runAsGroup", *run_as_group)) return err;
  }
  // iptables' --uid-owner must not be 0.
  if (run_as_user == nullptr || !run_as_user->is_integer() || run_as_user->as_integer() == 0) return {};
  json::value* args = child(*init, "args");
  if (args == nullptr || !args->is_array()) return {};
  auto items = args->items();
  for (std::size_t i = 0; i + 1 < items.size(); ++i) {
    if (!items[i].is_string() || items[i].as_string() != "-u") continue;
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof buf, run_as_user->as_integer());
    return json::value::string_copy({buf, static_cast<std::size_t>(r.ptr - buf)}, a, items[i + 1]);
  }
  return {};
}

}  // namespace meshinject::patch
