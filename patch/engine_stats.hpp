#pragma once
// What an engine counts about its own work. The engine that owns the block is its
// only writer (its reactor's thread); a scrape on the control thread reads it with
// relaxed loads (core/metrics.hpp explains why that is enough). The server reads
// an engine's outcome only through this block and `injection_result`, never
// through the engine's internals.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/metrics.hpp"

namespace meshinject::patch {

enum class outcome : std::uint8_t {
  injected,     // allowed, with a patch
  skipped,      // allowed, no patch: the decision said no
  passthrough,  // allowed, no patch: not a Pod CREATE
  rejected,     // allowed: false: an annotation value is invalid for this pod
  failed,       // allowed: false: the template failed for this pod
  bad_request,  // HTTP 400: the body is not an AdmissionReview
};
inline constexpr std::size_t outcome_count = 6;

// "injected", "skipped", ... (log fields and audit annotations).
std::string_view outcome_name(outcome o) noexcept;

// Why a review passed through without a decision (core's enum: it labels a metric).
using passthrough_reason = core::passthrough_reason;

// "not-a-pod" or "not-create".
std::string_view passthrough_name(passthrough_reason r) noexcept;

struct alignas(core::metrics_alignment) engine_stats {
  std::array<core::counter, outcome_count> outcomes;  // indexed by outcome
  std::array<core::counter, core::passthrough_reason_count> passthrough;

  // The per-core cache of compiled template variants (patch/variant_cache.hpp).
  core::gauge cached_variants;
  core::gauge cached_variant_bytes;   // the cache's estimate of what its variants hold
  core::counter variant_hits;         // pods served from a cached variant
  core::counter variant_compiles;     // misses: a variant rendered and compiled on the reactor
  core::counter variant_compile_ns;   // the misses' total cost, render and compile
  core::counter variant_evictions;    // variants dropped to make room for a miss
  // Pods whose request rendered template text. The variant cache keeps every
  // variant it compiles, so for the single-template shape this stays 0; a pod
  // of a named-templates config counts when one of its templates was not in the
  // core's rendered_memo (its first pod of a trace, or a render the memo cannot
  // keep). Exported as meshinject_template_uncached_renders_total.
  core::counter uncached_renders;
  // Pods of a named-templates (Istio >= 1.9) config: traced, merged and diffed
  // per request (from the memo or a render), not served from compiled variants.
  core::counter named_renders;

  void count(outcome o) noexcept { outcomes[static_cast<std::size_t>(o)].inc(); }
  void count(passthrough_reason r) noexcept { passthrough[static_cast<std::size_t>(r)].inc(); }
};

}  // namespace meshinject::patch
