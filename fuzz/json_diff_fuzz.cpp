// The 1.28 injection machinery on arbitrary JSON: two documents from the input
// (split at the first NUL byte, else in the middle). Whatever they are:
// - the strategic merge of one over the other, the native-sidecar move and the
//   re-application of user containers end in a result or an error value, never
//   a crash, unbounded recursion or a leak;
// - the diff from a to b, applied by nlohmann-json (an independent RFC 6902
//   implementation), gives b.

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>

#include "core/json_tree.hpp"
#include "patch/json_diff.hpp"
#include "patch/json_tree_writer.hpp"
#include "patch/pod_overlay.hpp"
#include "patch/strategic_merge.hpp"

namespace {

namespace json = meshinject::core::json;
namespace smp = meshinject::patch::smp;

struct state {
  meshinject::core::arena arena{64 * 1024, std::size_t{256} << 20};
  simdjson::dom::parser parser;
  meshinject::patch::json_differ differ;
  meshinject::patch::pod_overlay overlay;
  std::string text;
};

[[noreturn]] void fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "json_diff_fuzz: %s\n%s\n", what, detail.c_str());
  std::abort();
}

void check_diff(state& s, const json::value& a, const json::value& b, const smp::type_meta* type) {
  s.text.clear();
  if (auto err = s.differ.diff(a, b, type, s.arena, s.text)) {
    if (err.code == json::errc::too_deep || err.code == json::errc::out_of_memory) return;
    fail("diff failed", std::string(err.message));
  }
  std::string at, bt;
  meshinject::patch::append_json(at, a);
  meshinject::patch::append_json(bt, b);
  const auto na = nlohmann::json::parse(at, nullptr, false);
  const auto nb = nlohmann::json::parse(bt, nullptr, false);
  if (na.is_discarded() || nb.is_discarded()) fail("the tree does not print as JSON", at + "\n" + bt);
  const auto patch = nlohmann::json::parse(s.text, nullptr, false);
  if (patch.is_discarded()) fail("the patch is not JSON", s.text);
  nlohmann::json applied;
  try {
    applied = na.patch(patch);
  } catch (const std::exception& e) {
    fail(e.what(), s.text);
  }
  if (applied != nb) fail("apply(a, diff(a, b)) != b", at + "\n" + bt + "\n" + s.text + "\n" + applied.dump());
}

void exercise_merge(state& s, const json::value& a, const json::value& b) {
  for (const smp::type_meta* type : {&smp::pod(), static_cast<const smp::type_meta*>(nullptr)}) {
    json::value target;
    if (json::deep_copy(a, s.arena, target)) return;
    (void)smp::merge(target, b, type, s.arena);
    if (json::depth(target, json::max_depth + 1) > json::max_depth) fail("merge grew too deep", "");
  }
  if (!a.is_object() || !b.is_object()) return;
  json::value pod, template_pod = json::value::object();
  if (json::deep_copy(a, s.arena, pod)) return;
  if (s.overlay.apply_template(pod, template_pod, b, true, s.arena)) return;
  (void)s.overlay.reapply_overwritten_containers(pod, a, template_pod, {}, s.arena);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static state s;
  s.arena.reset();
  const auto* p = reinterpret_cast<const char*>(data);
  const void* nul = std::memchr(p, 0, size);
  const std::size_t cut = nul != nullptr ? static_cast<std::size_t>(static_cast<const char*>(nul) - p) : size / 2;
  const std::string_view first(p, cut);
  const std::string_view second = nul != nullptr ? std::string_view(p + cut + 1, size - cut - 1)
                                                 : std::string_view(p + cut, size - cut);
  json::value a, b;
  if (json::parse(first, s.parser, s.arena, a) || json::parse(second, s.parser, s.arena, b)) return 0;
  check_diff(s, a, b, nullptr);
  check_diff(s, a, b, &smp::pod());
  exercise_merge(s, a, b);
  return 0;
}
