#pragma once
// Pod labels and annotations as the request path sees them: views into the parsed
// AdmissionReview (or into a kube-inject document). Nothing here owns memory; the
// views live as long as the buffer they were parsed from.

#include <span>
#include <string_view>

namespace meshinject::core {

struct label {
  std::string_view key;
  std::string_view value;
};

using label_set = std::span<const label>;

// Linear search: pods carry a handful of labels, and a scan over a contiguous
// array beats any hash at that size.
inline const label* find_label(label_set set, std::string_view key) noexcept {
  for (const label& l : set)
    if (l.key == key) return &l;
  return nullptr;
}

}  // namespace meshinject::core
