#pragma once
// Unknown keys in a config file: the key a typo most likely meant, so that
// `discoveryAdress:` is reported as a probable `discoveryAddress` instead of being
// silently ignored. Cold path (config load, check-config).

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace meshinject::core {

// Levenshtein distance (insertions, deletions, substitutions), case-sensitive.
std::size_t edit_distance(std::string_view a, std::string_view b);

// The known key closest to `key` when the two are near enough to be a typo
// (a distance of at most 2, and less than a third of the key's length); empty otherwise.
std::string_view closest_key(std::string_view key, std::span<const std::string_view> known);

// "unknown key 'discoveryAdress' is ignored (did you mean 'discoveryAddress'?)".
std::string unknown_key_message(std::string_view path, std::string_view key,
                                 std::span<const std::string_view> known);

// Sorts by line, then column, keeping the order of equal positions: problems are
// reported in file order, whatever order the checks ran in.
void sort_in_file_order(std::vector<config_error>& problems);

// Throws the first problem in file order, if any.
void throw_first(std::vector<config_error>& problems);

}  // namespace meshinject::core
