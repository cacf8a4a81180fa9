// One named template's output as a Pod tree: the rendered YAML (read by
// core/yaml_reader, exception-free) typed like Istio's decode into corev1.Pod,
// with each hole's per-request value put in after parsing, so pod data lands
// inside scalars and never changes the YAML's structure.

#include "patch/named_render.hpp"

#include <charconv>
#include <cstdint>
#include <algorithm>
#include <cstring>

#include "core/json_text.hpp"
#include "core/yaml_scalar.hpp"
#include "patch/json_tree_writer.hpp"
#include "patch/strategic_merge.hpp"
#include "template/binding.hpp"

namespace meshinject::patch {
namespace {

namespace json = core::json;
namespace yaml = core::yaml;
using k8s::field_type;
using k8s::type_node;

struct reading {
  std::span<const tmpl::value> holes;
  std::span<const tmpl::hole_info> info;
  core::arena& a;
  std::string& scratch;
  std::string& error;
  // Reading a skeleton: scalars with placeholders are recorded here instead.
  std::vector<rendered_skeleton::hole_site>* sites = nullptr;
};

bool fail(reading& r, std::uint32_t line, std::string_view what, std::string_view detail = {}) {
  r.error = "rendered line ";
  r.error += std::to_string(line);
  r.error += ": ";
  r.error += what;
  r.error += detail;
  return false;
}

bool fail(reading& r, yaml::node at, std::string_view what, std::string_view detail = {}) {
  return fail(r, at.pos().line, what, detail);
}

bool out_of_memory(reading& r) {
  r.error = "out of memory for the rendered pod";
  return false;
}

// The hole number of a text that is exactly one placeholder, else -1.
long single_hole(std::string_view text) noexcept {
  if (text.size() < tmpl::hole_open.size() + tmpl::hole_close.size() + 1 ||
      text.substr(0, tmpl::hole_open.size()) != tmpl::hole_open ||
      text.substr(text.size() - tmpl::hole_close.size()) != tmpl::hole_close)
    return -1;
  const std::string_view digits =
      text.substr(tmpl::hole_open.size(), text.size() - tmpl::hole_open.size() - tmpl::hole_close.size());
  unsigned long n = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (ec != std::errc() || end != digits.data() + digits.size()) return -1;
  return static_cast<long>(n);
}

// The text with every placeholder replaced by its value as Go prints it.
bool substitute(reading& r, std::uint32_t line, std::string_view text, std::string_view& out) {
  r.scratch.clear();
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t open = text.find(tmpl::hole_open, pos);
    if (open == std::string_view::npos) {
      r.scratch.append(text.substr(pos));
      break;
    }
    r.scratch.append(text.substr(pos, open - pos));
    const std::size_t digits = open + tmpl::hole_open.size();
    const std::size_t close = text.find(tmpl::hole_close, digits);
    std::size_t n = 0;
    const auto [end, ec] = std::from_chars(text.data() + digits, text.data() + close, n);
    if (close == std::string_view::npos || ec != std::errc() || end != text.data() + close || n >= r.holes.size())
      return fail(r, line, "a per-request value's placeholder is cut");
    tmpl::sprint(r.holes[n], r.scratch);
    pos = close + tmpl::hole_close.size();
  }
  bool ok = true;
  out = r.a.copy(r.scratch, ok);
  return ok || out_of_memory(r);
}

// strconv.Unquote of a double-quoted Go string (what `quote` writes), which
// YAML would have read as a double-quoted scalar. False when it is not one.
bool go_unquote(std::string_view q, std::string& out) {
  if (q.size() < 2 || q.front() != '"' || q.back() != '"') return false;
  out.clear();
  for (std::size_t i = 1; i + 1 < q.size(); ++i) {
    const char c = q[i];
    if (c == '"') return false;
    if (c != '\\') {
      out += c;
      continue;
    }
    if (++i + 1 >= q.size()) return false;
    const char e = q[i];
    const std::size_t digits = e == 'x' ? 2 : e == 'u' ? 4 : e == 'U' ? 8 : 0;
    if (digits) {
      if (i + digits >= q.size() - 1) return false;
      std::uint32_t v = 0;
      const auto [end, ec] = std::from_chars(q.data() + i + 1, q.data() + i + 1 + digits, v, 16);
      if (ec != std::errc() || end != q.data() + i + 1 + digits) return false;
      if (e == 'x') out += static_cast<char>(v);
      else core::append_utf8(out, v);
      i += digits;
      continue;
    }
    const char* from = "abfnrtv\\\"";
    const char* to = "\a\b\f\n\r\t\v\\\"";
    const char* at = std::strchr(from, e);
    if (!at || e == '\0') return false;
    out += to[at - from];
  }
  return true;
}

bool copy_string(reading& r, std::string_view s, json::value& out) {
  return !json::value::string_copy(s, r.a, out) || out_of_memory(r);
}

// A per-request value spliced as data (toYaml or toJSON of pod data).
bool structured_value(reading& r, const tmpl::value& v, json::value& out) {
  if (v.k == tmpl::kind::json) {
    const json::error e = json::from_simdjson(v.j, r.a, out, json::strings::copy);
    if (e) r.error = e.message;
    return !e;
  }
  if (tmpl::is_string_map(v)) {
    out = json::value::object();
    for (const core::label& l : tmpl::string_map_items(v)) {
      json::value text;
      bool ok = true;
      const std::string_view key = r.a.copy(l.key, ok);
      if (!ok || !copy_string(r, l.value, text) || out.set(r.a, key, text)) return out_of_memory(r);
    }
    return true;
  }
  if (v.k == tmpl::kind::nil || v.k == tmpl::kind::invalid) {
    out = json::value();
    return true;
  }
  r.scratch.clear();
  tmpl::sprint(v, r.scratch);
  return copy_string(r, r.scratch, out);
}

bool plain_typed(reading& r, std::uint32_t at, std::string_view text, json::value& out) {
  const core::yaml_scalar s = core::resolve_plain_scalar(text);
  switch (s.k) {
    case core::yaml_scalar::kind::null: out = json::value(); return true;
    case core::yaml_scalar::kind::boolean: out = json::value::boolean(s.b); return true;
    case core::yaml_scalar::kind::integer: out = json::value::integer(s.i); return true;
    case core::yaml_scalar::kind::floating:
      if (json::value::floating(s.f, r.a, out)) return fail(r, at, "a number JSON cannot hold: ", text);
      return true;
    case core::yaml_scalar::kind::string: return copy_string(r, text, out);
  }
  return false;
}

// A scalar typed by the field it lands in, as sigs.k8s.io/yaml and
// encoding/json type it for corev1.Pod: strings keep a number's text, integer
// and boolean fields need one, int-or-string takes either. `plain`: a plain
// scalar of the template's own text (pod data never decides a type where the
// field does not: untyped, it is a string).
bool typed_scalar(reading& r, std::uint32_t line, std::string_view text, bool plain, const type_node* t,
                  json::value& out) {
  switch (t ? t->t : field_type::any) {
    case field_type::string: return copy_string(r, text, out);
    case field_type::quantity: {
      if (!k8s::canonical_quantity(text, r.scratch)) return copy_string(r, text, out);
      return copy_string(r, r.scratch, out);
    }
    case field_type::integer:
    case field_type::boolean: {
      const core::yaml_scalar s = core::resolve_plain_scalar(text);
      const bool integer = t->t == field_type::integer;
      if (integer && s.k == core::yaml_scalar::kind::integer) out = json::value::integer(s.i);
      else if (!integer && s.k == core::yaml_scalar::kind::boolean) out = json::value::boolean(s.b);
      else return fail(r, line, integer ? "expected an integer, got " : "expected true or false, got ", text);
      return true;
    }
    case field_type::int_or_string: {
      const core::yaml_scalar s = core::resolve_plain_scalar(text);
      if (plain && s.k == core::yaml_scalar::kind::integer) out = json::value::integer(s.i);
      else return copy_string(r, text, out);
      return true;
    }
    case field_type::object:
    case field_type::list:
    case field_type::map: return fail(r, line, "expected ", t->name);
    case field_type::any: return plain ? plain_typed(r, line, text, out) : copy_string(r, text, out);
  }
  return false;
}

// A scalar holding placeholders, filled with this request's values.
bool hole_scalar(reading& r, std::uint32_t line, std::string_view text, yaml::scalar_style style,
                 const type_node* t, json::value& out) {
  const long whole = single_hole(text);
  if (whole >= 0 && static_cast<std::size_t>(whole) < r.info.size() && r.info[whole].structured)
    return structured_value(r, r.holes[whole], out);
  if (!substitute(r, line, text, text)) return false;
  // `{{ pod data | quote }}` as a whole plain scalar: Go's quoting, which YAML
  // read as a double-quoted string; it stays a string.
  if (whole >= 0 && style == yaml::scalar_style::plain) {
    if (go_unquote(text, r.scratch)) return copy_string(r, r.scratch, out);
  }
  // A per-request value is typed as an int-or-string's integer when it reads as one.
  if (t && t->t == field_type::int_or_string) {
    const core::yaml_scalar s = core::resolve_plain_scalar(text);
    if (s.k == core::yaml_scalar::kind::integer) {
      out = json::value::integer(s.i);
      return true;
    }
  }
  return typed_scalar(r, line, text, false, t, out);
}

bool scalar_value(reading& r, yaml::node n, const type_node* t, json::value& out) {
  const std::string_view text = n.text();
  if (text.find(tmpl::hole_open) == std::string_view::npos) {
    if (n.is_null()) {
      out = json::value();
      return true;
    }
    return typed_scalar(r, n.pos().line, text, n.style() == yaml::scalar_style::plain, t, out);
  }
  if (!r.sites) return hole_scalar(r, n.pos().line, text, n.style(), t, out);
  // A skeleton keeps the site; the caller records where the value is stored.
  bool ok = true;
  const std::string_view kept = r.a.copy(text, ok);
  if (!ok) return out_of_memory(r);
  r.sites->push_back({nullptr, kept, t, nullptr, {}, n.style(), n.pos().line});
  out = json::value();
  return true;
}

bool node_value(reading& r, yaml::node n, const type_node* t, json::value& out);

// encoding/json leaves out an `omitempty` field that is empty, so Istio's typed
// round trip drops it: a Probe's counts (initialDelaySeconds: 0), and an env
// var's empty value (`value: ""` of ISTIO_META_APP_CONTAINERS when the pod has
// no app container).
bool omitted_when_zero(const type_node* parent, const type_node* field, std::string_view key,
                       const json::value& v) noexcept {
  if (!parent || !field) return false;
  if (parent->name == "Probe") return field->t == field_type::integer && v.is_integer() && v.as_integer() == 0;
  if (parent->name == "EnvVar") return key == "value" && v.is_string() && v.as_string().empty();
  return false;
}

bool mapping_value(reading& r, yaml::node n, const type_node* t, json::value& out) {
  if (t && t->t != field_type::object && t->t != field_type::map && t->t != field_type::any)
    return fail(r, n, "expected ", t->name);
  out = json::value::object();
  // One spare member for a divisor, so a skeleton's recorded slots never move.
  if (out.reserve(r.a, n.size() + 1)) return out_of_memory(r);
  for (const yaml::node::entry e : n.entries()) {
    std::string_view key = e.key.text();
    if (key.find(tmpl::hole_open) != std::string_view::npos) {
      if (r.sites) return fail(r, e.key, "a per-request value in a key");  // read per request instead
      if (!substitute(r, e.key.pos().line, key, key)) return false;
    } else {
      bool ok = true;
      key = r.a.copy(key, ok);
      if (!ok) return out_of_memory(r);
    }
    const type_node* field = nullptr;
    if (t && t->t == field_type::object) {
      const k8s::field_desc* f = t->find(key);
      field = f ? f->type : nullptr;  // a field the table does not list keeps its YAML types
    } else if (t && t->t == field_type::map) {
      field = t->elem;
    }
    json::value v;
    const std::size_t sites_before = r.sites ? r.sites->size() : 0;
    if (!node_value(r, e.value, field, v)) return false;
    if (omitted_when_zero(t, field, key, v)) continue;
    json::value* slot = nullptr;
    if (out.set(r.a, key, v, &slot)) return out_of_memory(r);
    if (r.sites && r.sites->size() > sites_before && !e.value.is_mapping() && !e.value.is_sequence()) {
      rendered_skeleton::hole_site& site = r.sites->back();
      site.slot = slot;
      site.parent = t;
      site.key = key;
    }
  }
  // Go writes a struct field that is not a pointer even when empty: the typed
  // decode gives a resourceFieldRef its zero divisor.
  if (t && t->name == "ResourceFieldSelector" && !out.find("divisor") &&
      out.append_member(r.a, "divisor", json::value::string("0")))
    return out_of_memory(r);
  return true;
}

bool node_value(reading& r, yaml::node n, const type_node* t, json::value& out) {
  if (n.is_mapping()) return mapping_value(r, n, t, out);
  if (n.is_sequence()) {
    if (t && t->t != field_type::list && t->t != field_type::any) return fail(r, n, "expected ", t->name);
    const type_node* elem = t && t->t == field_type::list ? t->elem : nullptr;
    out = json::value::array();
    if (out.reserve(r.a, n.size())) return out_of_memory(r);
    for (const yaml::node item : n.items()) {
      json::value v;
      const std::size_t sites_before = r.sites ? r.sites->size() : 0;
      if (!node_value(r, item, elem, v)) return false;
      if (out.push_back(r.a, v)) return out_of_memory(r);
      if (r.sites && r.sites->size() > sites_before && !item.is_mapping() && !item.is_sequence())
        r.sites->back().slot = &out.items().back();
    }
    return true;
  }
  return scalar_value(r, n, t, out);
}

// Whether the skeleton's sites are its tree's hole scalars in depth-first
// order (a slot overwritten by a repeated key would break the order).
bool sites_in_order(const json::value& v, std::span<const rendered_skeleton::hole_site> sites, std::size_t& next) {
  if (next < sites.size() && sites[next].slot == &v) {
    ++next;
    return true;
  }
  if (v.is_object()) {
    for (const json::member& m : v.members())
      if (!sites_in_order(m.v, sites, next)) return false;
  } else if (v.is_array()) {
    for (const json::value& item : v.items())
      if (!sites_in_order(item, sites, next)) return false;
  }
  return true;
}

// Every array and object of the skeleton without a site below it gets its
// compact JSON text, written once here instead of by every request's diff that
// adds it (a request's copy carries the pointer; json_tree_writer checks the
// copy is unchanged before using it). Sites are met in depth-first order, as
// sites_in_order checked. Returns whether `v` holds a site.
bool prepare_texts(json::value& v, std::span<const rendered_skeleton::hole_site> sites, std::size_t& next,
                   core::arena& storage, std::string& scratch, bool& ok) {
  if (next < sites.size() && sites[next].slot == &v) {
    ++next;
    return true;
  }
  bool holds_site = false;
  if (v.is_object()) {
    for (json::member& m : v.members()) holds_site |= prepare_texts(m.v, sites, next, storage, scratch, ok);
  } else if (v.is_array()) {
    for (json::value& item : v.items()) holds_site |= prepare_texts(item, sites, next, storage, scratch, ok);
  } else {
    return false;
  }
  if (holds_site || !ok) return holds_site;
  scratch.clear();
  append_json(scratch, v);
  auto* p = storage.allocate_array<json::prepared_text>(1);
  const std::string_view text = storage.copy(scratch, ok);
  if (p == nullptr || !ok) {
    ok = false;
    return false;
  }
  *p = json::prepared_text{&v, text, smp::links_whole(v), static_cast<std::uint32_t>(json::depth(v))};
  v.set_prepared(p);
  return false;
}

struct filling {
  reading& r;
  std::span<const rendered_skeleton::hole_site> sites;
  bool share_plain = false;
  std::size_t next = 0;
};

// A copy of the skeleton's structure with each site filled; strings are shared,
// and with share_plain so are the subtrees without a site (see
// instantiate_rendered_pod).
bool fill(filling& f, const json::value& from, json::value& out) {
  // Prepared text is only written for subtrees without a site: nothing to fill.
  if (from.prepared() != nullptr) {
    if (f.share_plain) {
      out = from;
      return true;
    }
    return !json::deep_copy(from, f.r.a, out) || out_of_memory(f.r);
  }
  if (from.is_object()) {
    out = json::value::object();
    if (out.reserve(f.r.a, from.size())) return out_of_memory(f.r);
    for (const json::member& m : from.members()) {
      json::value v;
      const rendered_skeleton::hole_site* site =
          f.next < f.sites.size() && f.sites[f.next].slot == &m.v ? &f.sites[f.next] : nullptr;
      if (!fill(f, m.v, v)) return false;
      if (site && omitted_when_zero(site->parent, site->type, m.key, v)) continue;
      if (out.append_member(f.r.a, m.key, v)) return out_of_memory(f.r);
    }
    out.set_prepared(from.prepared());
    return true;
  }
  if (from.is_array()) {
    out = json::value::array();
    if (out.reserve(f.r.a, from.size())) return out_of_memory(f.r);
    for (const json::value& item : from.items()) {
      json::value v;
      if (!fill(f, item, v)) return false;
      if (out.push_back(f.r.a, v)) return out_of_memory(f.r);
    }
    out.set_prepared(from.prepared());
    return true;
  }
  if (f.next < f.sites.size() && f.sites[f.next].slot == &from) {
    const rendered_skeleton::hole_site& site = f.sites[f.next++];
    return hole_scalar(f.r, site.line, site.text, site.style, site.type, out);
  }
  out = from;
  return true;
}

}  // namespace

std::size_t rendered_skeleton::bytes() const noexcept {
  return sizeof(*this) + storage.bytes_reserved() + sites.capacity() * sizeof(hole_site) +
         holes.capacity() * sizeof(tmpl::hole_info);
}

bool read_rendered_skeleton(std::string_view rendered, std::span<const tmpl::hole_info> info,
                            yaml_reader_state& state, rendered_skeleton& out) {
  if (!state.reader.read(rendered)) return false;
  const yaml::node root = state.reader.root();
  if (!root || !root.is_mapping()) return false;
  std::string error;
  reading r{{}, info, out.storage, state.scratch, error, &out.sites};
  if (!node_value(r, root, &k8s::pod(), out.tree)) return false;
  std::size_t next = 0;
  if (!sites_in_order(out.tree, out.sites, next) || next != out.sites.size()) return false;
  out.holes.assign(info.begin(), info.end());
  next = 0;
  bool ok = true;
  prepare_texts(out.tree, out.sites, next, out.storage, state.scratch, ok);
  return ok;
}

bool instantiate_rendered_pod(const rendered_skeleton& s, std::span<const tmpl::value> holes,
                              yaml_reader_state& state, core::arena& a, json::value& out, std::string& error,
                              bool share_plain) {
  error.clear();
  reading r{holes, s.holes, a, state.scratch, error};
  filling f{r, s.sites, share_plain};
  return fill(f, s.tree, out);
}

// ------------------------------------------------------------------ the memo

namespace {

std::uint64_t memo_hash(const void* program, std::span<const std::uint8_t> trace) noexcept {
  std::uint64_t h = 1469598103934665603ull ^ reinterpret_cast<std::uintptr_t>(program);
  for (const std::uint8_t b : trace) h = (h ^ b) * 1099511628211ull;
  return h;
}

}  // namespace

void rendered_memo::start_request() noexcept {
  if (entries_.size() >= max_entries_ || bytes_ > max_bytes_) {
    clear();
    ++clears_;
  }
}

const rendered_skeleton* rendered_memo::find(const void* program, std::span<const std::uint8_t> trace) const noexcept {
  const std::uint64_t h = memo_hash(program, trace);
  for (const entry& e : entries_)
    if (e.hash == h && e.program == program && std::equal(e.trace.begin(), e.trace.end(), trace.begin(), trace.end()))
      return e.skeleton.get();
  return nullptr;
}

const rendered_skeleton* rendered_memo::insert(const void* program, std::span<const std::uint8_t> trace,
                                               std::unique_ptr<rendered_skeleton> s) {
  bytes_ += s->bytes() + trace.size() + sizeof(entry);
  entries_.push_back({memo_hash(program, trace), program, {trace.begin(), trace.end()}, std::move(s)});
  return entries_.back().skeleton.get();
}

void rendered_memo::clear() noexcept {
  entries_.clear();
  bytes_ = 0;
}

bool read_rendered_pod(std::string_view rendered, std::span<const tmpl::value> holes,
                       std::span<const tmpl::hole_info> info, yaml_reader_state& state, core::arena& a,
                       json::value& out, std::string& error) {
  if (!state.reader.read(rendered)) {
    const yaml::read_error& e = state.reader.error();
    error = "the rendered template is not YAML: line ";
    error += std::to_string(e.at.line);
    error += ": ";
    error += e.message;
    return false;
  }
  const yaml::node root = state.reader.root();
  if (!root || root.is_null()) {
    out = json::value::object();  // a template that renders nothing injects nothing
    return true;
  }
  if (!root.is_mapping()) {
    error = "the rendered template is not a Pod (a YAML mapping)";
    return false;
  }
  reading r{holes, info, a, state.scratch, error};
  return node_value(r, root, &k8s::pod(), out);
}

}  // namespace meshinject::patch
