#include "core/config_keys.hpp"

#include <algorithm>
#include <numeric>

namespace meshinject::core {

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  std::iota(row.begin(), row.end(), std::size_t{0});
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string_view closest_key(std::string_view key, std::span<const std::string_view> known) {
  std::string_view best;
  std::size_t best_distance = 3;
  for (std::string_view candidate : known) {
    const std::size_t d = edit_distance(key, candidate);
    if (d < best_distance && d * 3 < std::max(key.size(), candidate.size())) {
      best = candidate;
      best_distance = d;
    }
  }
  return best;
}

std::string unknown_key_message(std::string_view path, std::string_view key,
                                std::span<const std::string_view> known) {
  std::string out = "unknown key '";
  if (!path.empty()) out.append(path).append(".");
  out.append(key).append("' is ignored");
  if (const std::string_view meant = closest_key(key, known); !meant.empty())
    out.append(" (did you mean '").append(meant).append("'?)");
  return out;
}

void sort_in_file_order(std::vector<config_error>& problems) {
  std::stable_sort(problems.begin(), problems.end(), [](const config_error& a, const config_error& b) {
    if (a.where().line != b.where().line) return a.where().line < b.where().line;
    return a.where().column < b.where().column;
  });
}

void throw_first(std::vector<config_error>& problems) {
  if (problems.empty()) return;
  sort_in_file_order(problems);
  throw problems.front();
}

}  // namespace meshinject::core
