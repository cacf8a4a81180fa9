// parse_bench's On Demand pass on simdjson's haswell kernel (AVX2), for issue 15's
// question whether On Demand could run on a SIMD kernel chosen at run time.
// Debian's simdjson 3.1 compiles On Demand only for its builtin kernel, which
// without -march is the scalar fallback; this file is compiled with
// haswell's instructions (-mavx2 -mbmi -mpclmul -mlzcnt, bench/CMakeLists.txt), so
// its builtin is haswell. (A `#pragma GCC target` region does not do: GCC defines
// implicit constructors, such as pod.hpp's, outside it, and they then call
// simdjson's always-inline functions across targets.) Call it only when simdjson's
// run-time choice is haswell (parse_bench checks): every function this file
// emits, inline ones included, may use AVX2, and the linker may keep this file's copy
// of an inline function the rest of parse_bench shares, so on x86-64 parse_bench as
// a whole assumes AVX2. Measurement only; the product does not use it.

#include <simdjson.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "patch/admission.hpp"

namespace {

namespace mp = meshinject::patch;
namespace od = simdjson::ondemand;

#include "bench/parse_bench_ondemand.inc"

}  // namespace

bool ondemand_review_on_haswell(const char* data, std::size_t len, std::size_t capacity) {
  static od::parser parser;
  static ondemand_review out;
  return ondemand_parse(parser, data, len, capacity, out);
}
