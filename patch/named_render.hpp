#pragma once
// Reading one of Istio >= 1.9's rendered templates into a Pod tree for the
// strategic merge (named_injector.cpp). The render keeps a placeholder for each
// per-request value (template/program.hpp); the YAML is parsed with the
// placeholders in it, and each scalar's placeholders are then replaced by their
// values, so an annotation holding `"}], x: y` stays inside its string. A
// placeholder that is a whole structured value (toYaml of pod data) becomes
// that data. Scalars are typed by the corev1.Pod field they land in
// (k8s_schema.hpp): `- 1337` under `args` is "1337", `port: 15021` a number.
//
// Request path: no exceptions but std::bad_alloc, no YAML library; the tree's
// strings are copied into the arena (the reader's text is gone at its next read).

#include <span>
#include <string>
#include <string_view>

#include "core/arena.hpp"
#include "core/json_tree.hpp"
#include "core/yaml_reader.hpp"
#include "patch/k8s_schema.hpp"
#include "template/program.hpp"

namespace meshinject::patch {

// What reading keeps between requests (one per core).
struct yaml_reader_state {
  core::yaml::reader reader;
  std::string scratch;
};

// Returns false with `error` set when the text is not YAML in the reader's
// subset, not a mapping, or a scalar does not fit its field.
bool read_rendered_pod(std::string_view rendered, std::span<const tmpl::value> holes,
                       std::span<const tmpl::hole_info> info, yaml_reader_state& state, core::arena& a,
                       core::json::value& out, std::string& error);

}  // namespace meshinject::patch
