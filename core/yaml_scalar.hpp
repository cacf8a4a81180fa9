#pragma once
// How an unquoted YAML scalar is typed. Istio decodes its config and its rendered
// sidecar with go-yaml v2, which follows YAML 1.1: `yes`, `on` and `y` are
// booleans, `0x1F` and `0777` are integers, `~` is null. We type scalars the same
// way so a config means here what it meant to Istio.

#include <cstdint>
#include <string>
#include <string_view>

namespace meshinject::core {

struct yaml_scalar {
  enum class kind : std::uint8_t { null, boolean, integer, floating, string };
  kind k = kind::string;
  bool b = false;
  std::int64_t i = 0;
  double f = 0.0;
};

// Types a plain (unquoted, non-block) scalar.
yaml_scalar resolve_plain_scalar(std::string_view text) noexcept;

// The decimal text Go's strconv.FormatFloat(v, 'g', -1, bits) gives; go-yaml and
// Istio's decoder produce exactly this text when a float lands in a string field.
std::string format_go_float(double v, int bits = 64);

}  // namespace meshinject::core
