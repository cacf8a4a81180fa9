// How much of a review has to be parsed (issue 15): today's path, simdjson's DOM
// (stage 1 + the tape of stage 2) followed by the key scan and the views, against
// simdjson's On Demand API reading, in one forward pass, only what the Istio 1.1
// compiled config reads (patch/admission.cpp's list: the review's uid, kind,
// operation and names; the pod's metadata, labels, annotations, owners; the
// containers' names, images, ports, volume mounts and probe `httpGet`s; volume
// and pull-secret names) and skipping the rest without building a tape.
//
// On Demand validates less of what it skips, so the pieces a full check would add
// are timed alone too: simdjson::validate_utf8 over the whole body, and stage 1
// (the structural index, which also checks UTF-8 and strings) over the whole body.
// At start the program checks that both paths read the same fields from each
// input, and prints what On Demand refuses in a skipped value.
//
// Inputs (argument of each benchmark): 0 the realistic review
// (conformance/reviews/checkout-pod.json), 1 the same pod with 1,500 environment
// variables, 2 the same pod grown to 64 KB, both built as engine_bench builds them.
//
//   parse_bench [google-benchmark flags]
//   parse_bench --loop NAME INPUT COUNT    runs one path COUNT times, for callgrind
//                                          (bench/count-parse-instructions.sh)

#include <benchmark/benchmark.h>
#include <simdjson.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <new>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "patch/admission.hpp"

#include "bench/heap_count.hpp"

using meshinject::bench::allocations;

namespace {

namespace mp = meshinject::patch;
namespace od = simdjson::ondemand;
using json = nlohmann::json;

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A request body the way the server holds it: with simdjson's padding after it.
struct padded {
  std::string buf;
  std::size_t len = 0;
  padded() = default;
  explicit padded(const std::string& s) : buf(s), len(s.size()) { buf.resize(len + simdjson::SIMDJSON_PADDING); }
  const char* data() const { return buf.data(); }
};

struct inputs {
  padded bodies[3];
  const char* names[3] = {"realistic 5 KB", "1,500 env", "64 KB"};

  inputs() {
    const char* env = std::getenv("MESHINJECT_CONFORMANCE_DIR");
    const std::filesystem::path dir = env && *env ? env : MESHINJECT_CONFORMANCE_DIR;
    std::string realistic;
    if (std::filesystem::exists(dir / "reviews" / "checkout-pod.json")) {
      realistic = read_file(dir / "reviews" / "checkout-pod.json");
    } else {
      std::cerr << "parse_bench: conformance data not found; using load/reviews/orders-pod.json\n";
      realistic = read_file(std::filesystem::path(MESHINJECT_SOURCE_DIR) / "load" / "reviews" / "orders-pod.json");
    }
    // The same two large pods as engine_bench.
    const json review = json::parse(realistic);
    json many = review;
    json& env_list = many["request"]["object"]["spec"]["containers"][0]["env"];
    for (int i = 0; i < 1500; ++i)
      env_list.push_back({{"name", "SETTING_" + std::to_string(i)}, {"value", "value-" + std::to_string(i * 7919)}});
    json big = review;
    const json& containers = review["request"]["object"]["spec"]["containers"];
    auto& meta = big["request"]["object"]["metadata"];
    for (int i = 0; big.dump().size() < 64 * 1024; ++i) {
      meta["labels"]["team.example.com/label-" + std::to_string(i)] = "v" + std::to_string(i);
      meta["annotations"]["example.com/note-" + std::to_string(i)] = std::string(40, 'a' + i % 26);
      if (i % 20 == 0) {
        json c = containers[0];
        c["name"] = "worker-" + std::to_string(i);
        c["ports"][0]["containerPort"] = 9000 + i;
        big["request"]["object"]["spec"]["containers"].push_back(c);
      }
    }
    bodies[0] = padded(realistic);
    bodies[1] = padded(many.dump());
    bodies[2] = padded(big.dump());
  }
};

const inputs& data() {
  static const inputs d;
  return d;
}

// ------------------------------------------------------------ the On Demand pass

// What the forward pass records: the fields of mp::review and mp::pod, with the
// whole-object views (a volume mount, a probe's httpGet) as JSON text instead of
// DOM elements. Vectors keep their capacity, so a warm pass allocates nothing.
struct ondemand_review {
  mp::review r;
  mp::pod p;
  std::vector<std::string_view> mount_json;                           // parallel to p.mounts
  std::vector<std::string_view> readiness_json, liveness_json;        // per container, "" if none
  bool duplicate_label = false;                                       // a repeat inside labels/annotations
  void clear() {
    r = mp::review{};
    p.clear();
    mount_json.clear();
    readiness_json.clear();
    liveness_json.clear();
    duplicate_label = false;
  }
};

// Each reader returns false on a type error or malformed input. Of a repeated
// key the last member wins: scalars are overwritten, lists and maps cleared.

bool read_key(od::field& f, std::string_view& key) {
  if (f.unescaped_key().get(key)) return false;
  return key.find('\0') == std::string_view::npos;
}

bool read_string(od::value v, std::string_view& out) {
  od::json_type t;
  if (v.type().get(t)) return false;
  if (t == od::json_type::null) {
    out = {};
    return true;
  }
  if (t != od::json_type::string || v.get_string().get(out)) return false;
  return out.find('\0') == std::string_view::npos;
}

bool is_null(od::value& v) {
  od::json_type t;
  return !v.type().get(t) && t == od::json_type::null;
}

bool read_string_map(od::value v, std::vector<meshinject::core::label>& out, bool& present, bool& duplicate) {
  out.clear();
  present = false;
  if (is_null(v)) return true;
  od::object o;
  if (v.get_object().get(o)) return false;
  present = true;
  for (auto member : o) {
    od::field f;
    std::string_view key, value;
    if (std::move(member).get(f) || !read_key(f, key) || !read_string(f.value(), value)) return false;
    out.push_back({key, value});
  }
  if (out.size() <= 16) {
    for (std::size_t i = 0; i < out.size(); ++i)
      for (std::size_t j = i + 1; j < out.size(); ++j)
        if (out[i].key == out[j].key) duplicate = true;
  }
  return true;
}

bool read_int(od::value v, std::int64_t& out) {
  od::json_type t;
  if (v.type().get(t)) return false;
  if (t == od::json_type::null) return true;
  return !v.get_int64().get(out);
}

bool read_container(od::value v, ondemand_review& out, mp::container& c, std::string_view& readiness,
                    std::string_view& liveness) {
  od::object o;
  if (v.get_object().get(o)) return false;
  c.ports_begin = c.ports_end = static_cast<std::uint32_t>(out.p.ports.size());
  c.mounts_begin = c.mounts_end = static_cast<std::uint32_t>(out.p.mounts.size());
  for (auto member : o) {
    od::field f;
    std::string_view key;
    if (std::move(member).get(f) || !read_key(f, key)) return false;
    od::value fv = f.value();
    if (key == "name") {
      if (!read_string(fv, c.name)) return false;
    } else if (key == "image") {
      if (!read_string(fv, c.image)) return false;
    } else if (key == "ports") {
      out.p.ports.resize(c.ports_begin);
      if (is_null(fv)) continue;
      od::array ports;
      if (fv.get_array().get(ports)) return false;
      for (auto item : ports) {
        od::object po;
        if (item.get_object().get(po)) return false;
        mp::container_port port;
        for (auto pm : po) {
          od::field pf;
          std::string_view pk;
          if (std::move(pm).get(pf) || !read_key(pf, pk)) return false;
          if (pk == "containerPort") {
            if (!read_int(pf.value(), port.container_port)) return false;
          } else if (pk == "name") {
            if (!read_string(pf.value(), port.name)) return false;
          } else if (pk == "protocol") {
            if (!read_string(pf.value(), port.protocol)) return false;
          }
        }
        out.p.ports.push_back(port);
      }
      c.ports_end = static_cast<std::uint32_t>(out.p.ports.size());
    } else if (key == "volumeMounts") {
      out.p.mounts.resize(c.mounts_begin);
      out.mount_json.resize(c.mounts_begin);
      if (is_null(fv)) continue;
      od::array mounts;
      if (fv.get_array().get(mounts)) return false;
      for (auto item : mounts) {
        od::object mo;
        std::string_view raw;
        // The whole mount is copied into the patch as-is: its text, then its fields.
        if (item.get_object().get(mo) || mo.raw_json().get(raw) || mo.reset().error()) return false;
        mp::volume_mount m;
        for (auto mm : mo) {
          od::field mf;
          std::string_view mk;
          if (std::move(mm).get(mf) || !read_key(mf, mk)) return false;
          if (mk == "name") {
            if (!read_string(mf.value(), m.name)) return false;
          } else if (mk == "mountPath") {
            if (!read_string(mf.value(), m.mount_path)) return false;
          }
        }
        out.p.mounts.push_back(m);
        out.mount_json.push_back(raw);
      }
      c.mounts_end = static_cast<std::uint32_t>(out.p.mounts.size());
    } else if (key == "readinessProbe" || key == "livenessProbe") {
      std::string_view& target = key == "readinessProbe" ? readiness : liveness;
      target = {};
      if (is_null(fv)) continue;
      od::object probe;
      if (fv.get_object().get(probe)) return false;
      for (auto pm : probe) {
        od::field pf;
        std::string_view pk;
        if (std::move(pm).get(pf) || !read_key(pf, pk)) return false;
        if (pk != "httpGet") continue;
        od::value hv = pf.value();
        if (is_null(hv)) continue;
        od::object hg;
        if (hv.get_object().get(hg) || hg.raw_json().get(target)) return false;
      }
    }
  }
  return true;
}

bool read_containers(od::value v, ondemand_review& out, std::vector<mp::container>& list) {
  list.clear();
  if (is_null(v)) return true;
  od::array items;
  if (v.get_array().get(items)) return false;
  for (auto item : items) {
    od::value iv;
    if (std::move(item).get(iv)) return false;
    mp::container c;
    std::string_view readiness, liveness;
    if (!read_container(iv, out, c, readiness, liveness)) return false;
    c.has_readiness_http_get = !readiness.empty();
    c.has_liveness_http_get = !liveness.empty();
    list.push_back(c);
    out.readiness_json.push_back(readiness);
    out.liveness_json.push_back(liveness);
  }
  return true;
}

bool read_names(od::value v, std::vector<std::string_view>& out) {
  out.clear();
  if (is_null(v)) return true;
  od::array items;
  if (v.get_array().get(items)) return false;
  for (auto item : items) {
    od::object o;
    if (item.get_object().get(o)) return false;
    std::string_view name;
    for (auto member : o) {
      od::field f;
      std::string_view key;
      if (std::move(member).get(f) || !read_key(f, key)) return false;
      if (key == "name" && !read_string(f.value(), name)) return false;
    }
    out.push_back(name);
  }
  return true;
}

bool read_metadata(od::value v, ondemand_review& out) {
  mp::pod& p = out.p;
  if (is_null(v)) return true;
  od::object o;
  if (v.get_object().get(o)) return false;
  p.has_metadata = true;
  for (auto member : o) {
    od::field f;
    std::string_view key;
    if (std::move(member).get(f) || !read_key(f, key)) return false;
    od::value fv = f.value();
    bool ok = true;
    if (key == "name") ok = read_string(fv, p.name);
    else if (key == "generateName") ok = read_string(fv, p.generate_name);
    else if (key == "namespace") ok = read_string(fv, p.namespace_name);
    else if (key == "labels") ok = read_string_map(fv, p.labels, p.has_labels, out.duplicate_label);
    else if (key == "annotations") ok = read_string_map(fv, p.annotations, p.has_annotations, out.duplicate_label);
    else if (key == "ownerReferences") {
      p.owners.clear();
      if (is_null(fv)) continue;
      od::array owners;
      if (fv.get_array().get(owners)) return false;
      for (auto item : owners) {
        od::object oo;
        if (item.get_object().get(oo)) return false;
        mp::owner_reference r;
        for (auto om : oo) {
          od::field of;
          std::string_view ok_key;
          if (std::move(om).get(of) || !read_key(of, ok_key)) return false;
          if (ok_key == "kind") ok = read_string(of.value(), r.kind);
          else if (ok_key == "name") ok = read_string(of.value(), r.name);
          else if (ok_key == "apiVersion") ok = read_string(of.value(), r.api_version);
          else if (ok_key == "controller") {
            bool b = false;
            r.controller = !of.value().get_bool().get(b) && b;
          }
          if (!ok) return false;
        }
        p.owners.push_back(r);
      }
    }
    if (!ok) return false;
  }
  return true;
}

bool read_spec(od::value v, ondemand_review& out) {
  mp::pod& p = out.p;
  if (is_null(v)) return true;
  od::object o;
  if (v.get_object().get(o)) return false;
  p.has_spec = true;
  for (auto member : o) {
    od::field f;
    std::string_view key;
    if (std::move(member).get(f) || !read_key(f, key)) return false;
    od::value fv = f.value();
    bool ok = true;
    if (key == "hostNetwork") ok = is_null(fv) || !fv.get_bool().get(p.host_network);
    else if (key == "serviceAccountName") ok = read_string(fv, p.service_account_name);
    else if (key == "serviceAccount") ok = read_string(fv, p.service_account);
    else if (key == "securityContext") {
      od::json_type t;
      p.has_security_context = !fv.type().get(t) && t == od::json_type::object;
    } else if (key == "containers") ok = read_containers(fv, out, p.containers);
    else if (key == "initContainers") ok = read_containers(fv, out, p.init_containers);
    else if (key == "volumes") ok = read_names(fv, p.volume_names);
    else if (key == "imagePullSecrets") ok = read_names(fv, p.image_pull_secret_names);
    if (!ok) return false;
  }
  return true;
}

bool read_pod(od::value v, ondemand_review& out) {
  out.p.clear();
  out.mount_json.clear();
  out.readiness_json.clear();
  out.liveness_json.clear();
  od::object o;
  if (v.get_object().get(o)) return false;
  for (auto member : o) {
    od::field f;
    std::string_view key;
    if (std::move(member).get(f) || !read_key(f, key)) return false;
    if (key == "metadata") {
      if (!read_metadata(f.value(), out)) return false;
    } else if (key == "spec") {
      if (!read_spec(f.value(), out)) return false;
    }
  }
  return true;
}

bool read_request(od::value v, ondemand_review& out) {
  mp::review& r = out.r;
  od::object o;
  if (v.get_object().get(o)) return false;
  for (auto member : o) {
    od::field f;
    std::string_view key;
    if (std::move(member).get(f) || !read_key(f, key)) return false;
    od::value fv = f.value();
    bool ok = true;
    if (key == "uid") ok = read_string(fv, r.uid);
    else if (key == "kind") {
      if (is_null(fv)) continue;
      od::object gvk;
      if (fv.get_object().get(gvk)) return false;
      for (auto gm : gvk) {
        od::field gf;
        std::string_view gk;
        if (std::move(gm).get(gf) || !read_key(gf, gk)) return false;
        if (gk == "group") ok = read_string(gf.value(), r.kind_group);
        else if (gk == "version") ok = read_string(gf.value(), r.kind_version);
        else if (gk == "kind") ok = read_string(gf.value(), r.kind);
        if (!ok) return false;
      }
    } else if (key == "subResource") ok = read_string(fv, r.sub_resource);
    else if (key == "operation") ok = read_string(fv, r.operation);
    else if (key == "namespace") ok = read_string(fv, r.namespace_name);
    else if (key == "name") ok = read_string(fv, r.name);
    else if (key == "dryRun") {
      bool b = false;
      r.dry_run = !fv.get_bool().get(b) && b;
    } else if (key == "object") {
      // Read in the same pass whatever the kind: a forward pass cannot come back,
      // and the webhook is only sent pod creations.
      if (!is_null(fv) && !read_pod(fv, out)) return false;
    }
    if (!ok) return false;
  }
  return true;
}

bool ondemand_parse(od::parser& parser, const padded& body, ondemand_review& out) {
  out.clear();
  od::document doc;
  if (parser.iterate(body.data(), body.len, body.buf.size()).get(doc)) return false;
  od::object top;
  if (doc.get_object().get(top)) return false;
  std::string_view api_version, kind;
  for (auto member : top) {
    od::field f;
    std::string_view key;
    if (std::move(member).get(f) || !read_key(f, key)) return false;
    if (key == "apiVersion") {
      if (!read_string(f.value(), api_version)) return false;
    } else if (key == "kind") {
      if (!read_string(f.value(), kind)) return false;
    } else if (key == "request") {
      if (!read_request(f.value(), out)) return false;
    }
  }
  // The pass must reach the end: trailing content is an error, as in the DOM
  // (past the end there is no current location).
  if (!doc.current_location().error()) return false;
  if (api_version != "admission.k8s.io/v1" && api_version != "admission.k8s.io/v1beta1") return false;
  out.r.version = api_version == "admission.k8s.io/v1" ? mp::review_version::v1 : mp::review_version::v1beta1;
  out.r.is_pod_create =
      out.r.kind == "Pod" && out.r.kind_group.empty() && out.r.sub_resource.empty() && out.r.operation == "CREATE";
  if (out.p.namespace_name.empty()) out.p.namespace_name = out.r.namespace_name;
  return !out.r.uid.empty();
}

// ------------------------------------------------------------ the paths timed

// Stage 1 alone: the structural index of the whole body (UTF-8, strings, where
// every token starts), which both the DOM and On Demand run first.
struct stage1_only {
  std::unique_ptr<simdjson::internal::dom_parser_implementation> impl;
  explicit stage1_only(std::size_t capacity) {
    if (simdjson::get_active_implementation()->create_dom_parser_implementation(capacity, simdjson::DEFAULT_MAX_DEPTH,
                                                                                impl))
      std::abort();
  }
  bool run(const padded& body) {
    return impl->stage1(reinterpret_cast<const std::uint8_t*>(body.data()), body.len,
                        simdjson::stage1_mode::regular) == simdjson::SUCCESS;
  }
};

struct paths {
  simdjson::dom::parser dom;
  mp::review_scratch scratch;
  mp::review r;
  mp::pod p;
  std::string error;
  od::parser ondemand;
  ondemand_review od_out;
  stage1_only stage1{128 * 1024};

  bool dom_review(const padded& b) {
    return mp::parse_review(dom, scratch, b.data(), b.len, b.buf.size(), r, p, error);
  }
  bool dom_parse_only(const padded& b) {
    simdjson::dom::element e;
    return !dom.parse(reinterpret_cast<const std::uint8_t*>(b.data()), b.len, false).get(e);
  }
  // After dom_parse_only; as parse_review scans a text without a `\u0000` escape.
  bool key_scan_only() { return !scratch.keys.scan(dom.doc.root(), false, mp::scan_extent::as_read).duplicate; }
  bool ondemand_review_pass(const padded& b) { return ondemand_parse(ondemand, b, od_out); }
  bool ondemand_with_utf8(const padded& b) {
    return simdjson::validate_utf8(b.data(), b.len) && ondemand_parse(ondemand, b, od_out);
  }
  bool ondemand_with_stage1(const padded& b) { return stage1.run(b) && ondemand_parse(ondemand, b, od_out); }
};

// What a parse read, as text: the two paths agree when these agree.
std::string summary(const mp::review& r, const mp::pod& p) {
  std::string s = "uid=" + std::string(r.uid) + " kind=" + std::string(r.kind) + " op=" + std::string(r.operation) +
                  " ns=" + std::string(r.namespace_name) + " pod=" + std::string(p.name) + "/" +
                  std::string(p.namespace_name) + "/" + std::string(p.generate_name) + " sa=" +
                  std::string(p.service_account_name) + " host=" + (p.host_network ? "1" : "0") +
                  " sc=" + (p.has_security_context ? "1" : "0");
  for (const auto& l : p.labels) s += " label:" + std::string(l.key) + "=" + std::string(l.value);
  for (const auto& l : p.annotations) s += " annotation:" + std::string(l.key) + "=" + std::string(l.value);
  for (const auto& o : p.owners) s += " owner:" + std::string(o.kind) + "/" + std::string(o.name) + (o.controller ? "*" : "");
  for (const auto* list : {&p.containers, &p.init_containers})
    for (const auto& c : *list) {
      s += " container:" + std::string(c.name) + "=" + std::string(c.image) + " probes:" +
           (c.has_readiness_http_get ? "r" : "") + (c.has_liveness_http_get ? "l" : "");
      for (auto i = c.ports_begin; i < c.ports_end; ++i)
        s += " port:" + std::to_string(p.ports[i].container_port) + "/" + std::string(p.ports[i].name);
      for (auto i = c.mounts_begin; i < c.mounts_end; ++i)
        s += " mount:" + std::string(p.mounts[i].name) + "@" + std::string(p.mounts[i].mount_path);
    }
  for (const auto& v : p.volume_names) s += " volume:" + std::string(v);
  for (const auto& v : p.image_pull_secret_names) s += " secret:" + std::string(v);
  return s;
}

// Both paths must read the same fields, or the comparison means nothing.
void check_agreement() {
  paths run;
  for (int i = 0; i < 3; ++i) {
    const padded& b = data().bodies[i];
    if (!run.dom_review(b) || !run.ondemand_review_pass(b)) {
      std::cerr << "parse_bench: input " << i << " did not parse: " << run.error << "\n";
      std::exit(1);
    }
    const std::string a = summary(run.r, run.p), o = summary(run.od_out.r, run.od_out.p);
    if (a != o) {
      std::cerr << "parse_bench: the paths disagree on input " << i << "\nDOM:       " << a << "\nOn Demand: " << o
                << "\n";
      std::exit(1);
    }
    const json mount0 = json::parse(run.od_out.mount_json.empty() ? "null" : std::string(run.od_out.mount_json[0]));
    std::cerr << "parse_bench: input " << i << " (" << data().names[i] << ", " << b.len
              << " bytes): both paths read the same fields; first mount " << mount0.dump() << "\n";
  }
  // What On Demand notices in a value it skips (status is never read).
  const std::string base = std::string(data().bodies[0].data(), data().bodies[0].len);
  const auto status = base.rfind("\"status\"");
  if (status == std::string::npos) return;
  struct probe {
    const char* what;
    std::string injected;
  } probes[] = {
      {"invalid UTF-8 in a skipped string", "\"status\":{\"bad\":\"\xff\xfe\"},\"x-status\""},
      {"a lone surrogate escape in a skipped string", "\"status\":{\"bad\":\"\\ud800\"},\"x-status\""},
      {"a misspelt literal in a skipped value", "\"status\":{\"bad\":tru},\"x-status\""},
      {"a missing value in a skipped array", "\"status\":{\"bad\":[1,,2]},\"x-status\""},
      {"a number with two points in a skipped value", "\"status\":{\"bad\":1.2.3},\"x-status\""},
  };
  for (const probe& pr : probes) {
    std::string text = base;
    text.replace(status, 8, pr.injected);
    const padded b(text);
    paths run2;
    std::cerr << "parse_bench: " << pr.what << ": DOM " << (run2.dom_review(b) ? "accepts" : "refuses")
              << ", On Demand " << (run2.ondemand_review_pass(b) ? "accepts" : "refuses") << ", + stage 1 "
              << (run2.stage1.run(b) && run2.ondemand_review_pass(b) ? "accepts" : "refuses") << "\n";
  }
}

template <bool (paths::*path)(const padded&)>
void timed(benchmark::State& state) {
  paths run;
  const padded& body = data().bodies[state.range(0)];
  for (int i = 0; i < 3; ++i) benchmark::DoNotOptimize((run.*path)(body));
  const auto before = allocations.load();
  for (auto _ : state) benchmark::DoNotOptimize((run.*path)(body));
  state.counters["allocs/iter"] = benchmark::Counter(static_cast<double>(allocations.load() - before),
                                                     benchmark::Counter::kAvgIterations);
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.len));
  state.SetLabel(data().names[state.range(0)]);
}

void BM_dom_review(benchmark::State& s) { timed<&paths::dom_review>(s); }
void BM_dom_parse_only(benchmark::State& s) { timed<&paths::dom_parse_only>(s); }
void BM_ondemand_review(benchmark::State& s) { timed<&paths::ondemand_review_pass>(s); }
void BM_ondemand_review_validate_utf8(benchmark::State& s) { timed<&paths::ondemand_with_utf8>(s); }
void BM_ondemand_review_stage1(benchmark::State& s) { timed<&paths::ondemand_with_stage1>(s); }

void BM_stage1_only(benchmark::State& state) {
  paths run;
  const padded& body = data().bodies[state.range(0)];
  for (auto _ : state) benchmark::DoNotOptimize(run.stage1.run(body));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.len));
  state.SetLabel(data().names[state.range(0)]);
}

void BM_validate_utf8_only(benchmark::State& state) {
  const padded& body = data().bodies[state.range(0)];
  for (auto _ : state) benchmark::DoNotOptimize(simdjson::validate_utf8(body.data(), body.len));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.len));
  state.SetLabel(data().names[state.range(0)]);
}

void BM_key_scan_only(benchmark::State& state) {
  paths run;
  const padded& body = data().bodies[state.range(0)];
  if (!run.dom_parse_only(body)) state.SkipWithError("parse failed");
  for (auto _ : state) benchmark::DoNotOptimize(run.key_scan_only());
  state.SetLabel(data().names[state.range(0)]);
}

BENCHMARK(BM_dom_review)->DenseRange(0, 2);
BENCHMARK(BM_dom_parse_only)->DenseRange(0, 2);
BENCHMARK(BM_key_scan_only)->DenseRange(0, 2);
BENCHMARK(BM_ondemand_review)->DenseRange(0, 2);
BENCHMARK(BM_ondemand_review_validate_utf8)->DenseRange(0, 2);
BENCHMARK(BM_ondemand_review_stage1)->DenseRange(0, 2);
BENCHMARK(BM_stage1_only)->DenseRange(0, 2);
BENCHMARK(BM_validate_utf8_only)->DenseRange(0, 2);

// Runs one path COUNT times and nothing else, so that callgrind's counts of two
// COUNTs subtract to the instructions of the path alone.
int loop(std::string_view name, int input, long count) {
  paths run;
  const padded& body = data().bodies[input];
  bool (paths::*path)(const padded&) = nullptr;
  if (name == "dom_review") path = &paths::dom_review;
  else if (name == "dom_parse_only") path = &paths::dom_parse_only;
  else if (name == "ondemand_review") path = &paths::ondemand_review_pass;
  else if (name == "ondemand_review_validate_utf8") path = &paths::ondemand_with_utf8;
  else if (name == "ondemand_review_stage1") path = &paths::ondemand_with_stage1;
  else if (name == "stage1_only") {
    for (long i = 0; i < count; ++i) benchmark::DoNotOptimize(run.stage1.run(body));
    return 0;
  } else {
    std::cerr << "parse_bench --loop: unknown path " << name << "\n";
    return 2;
  }
  for (long i = 0; i < count; ++i)
    if (!(run.*path)(body)) return 1;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 5 && std::string_view(argv[1]) == "--loop")
    return loop(argv[2], std::atoi(argv[3]), std::atol(argv[4]));
  check_agreement();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
