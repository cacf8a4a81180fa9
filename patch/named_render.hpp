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

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

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

// A render read once and kept: the tree of one template for one trace (the
// template's variant key), with each scalar that holds a per-request value left
// as a site to fill. Same trace, same text with the same placeholders, so the
// same tree: per request only the sites are filled (instantiate_rendered_pod),
// the YAML is not read again. The tree's strings live in `storage`, and so
// does the compact JSON text of each of its arrays and objects that holds no
// site (core::json::prepared_text), which the request's copy points at.
struct rendered_skeleton {
  struct hole_site {
    const core::json::value* slot = nullptr;  // in `tree`: its depth-first order is the sites' order
    std::string_view text;                    // the scalar with its placeholders
    const k8s::type_node* type = nullptr;     // the field it lands in
    const k8s::type_node* parent = nullptr;   // the object holding it (omitempty fields)
    std::string_view key;                     // its key there; empty in a list
    core::yaml::scalar_style style = core::yaml::scalar_style::plain;
    std::uint32_t line = 0;
  };
  core::arena storage{4096};
  core::json::value tree;
  std::vector<hole_site> sites;
  std::vector<tmpl::hole_info> holes;  // the render's: which placeholders are structured data
  std::size_t bytes() const noexcept;  // estimated heap held
};

// Reads a render into a skeleton. False when the text does not read (the
// per-request read_rendered_pod then gives the error) or when the tree cannot be
// filled site by site (a per-request value in a mapping key, a repeated key):
// such a render is read per request.
bool read_rendered_skeleton(std::string_view rendered, std::span<const tmpl::hole_info> info,
                            yaml_reader_state& state, rendered_skeleton& out);

// The request's tree from a skeleton: a copy of its structure in `a` (strings
// shared with the skeleton, which must outlive `out`) with every site typed
// from this request's hole values as read_rendered_pod would. False with
// `error` set as read_rendered_pod sets it.
// `share_plain`: the subtrees without a site (those with prepared text) are
// not copied but are the skeleton's own storage, so a writer using the text
// finds them identical() in O(1). The caller must then never write into them:
// whatever it changes in `out` below a subtree with prepared text it first
// gives storage of its own (named_injector.cpp's own_written_parts).
bool instantiate_rendered_pod(const rendered_skeleton& s, std::span<const tmpl::value> holes,
                              yaml_reader_state& state, core::arena& a, core::json::value& out, std::string& error,
                              bool share_plain = false);

// A core's kept skeletons, keyed by the template's program and the trace. Not
// response caching: a skeleton holds no per-request value (uid, names, the
// pod's data all come from the request's holes). Bounded by entries and
// estimated bytes; when a request starts over either bound the memo is emptied
// (start_request), so it never frees a skeleton a request's tree still shares.
// One request may add one entry per template it selects above the bounds.
class rendered_memo {
 public:
  static constexpr std::size_t default_max_entries = 256;
  static constexpr std::size_t default_max_bytes = std::size_t{8} << 20;

  explicit rendered_memo(std::size_t max_entries = default_max_entries,
                         std::size_t max_bytes = default_max_bytes) noexcept
      : max_entries_(max_entries), max_bytes_(max_bytes) {}

  void start_request() noexcept;
  const rendered_skeleton* find(const void* program, std::span<const std::uint8_t> trace) const noexcept;
  const rendered_skeleton* insert(const void* program, std::span<const std::uint8_t> trace,
                                  std::unique_ptr<rendered_skeleton> s);
  void clear() noexcept;
  std::size_t size() const noexcept { return entries_.size(); }
  std::size_t bytes() const noexcept { return bytes_; }
  std::uint64_t clears() const noexcept { return clears_; }

 private:
  struct entry {
    std::uint64_t hash;
    const void* program;
    std::vector<std::uint8_t> trace;
    std::unique_ptr<rendered_skeleton> skeleton;
  };
  std::vector<entry> entries_;
  std::size_t bytes_ = 0;
  std::size_t max_entries_, max_bytes_;
  std::uint64_t clears_ = 0;
};

}  // namespace meshinject::patch
