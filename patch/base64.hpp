#pragma once
// Standard base64 (RFC 4648, with padding) for the AdmissionResponse `patch`.

#include <cstddef>
#include <string_view>

namespace meshinject::patch {

constexpr std::size_t base64_encoded_size(std::size_t n) noexcept { return (n + 2) / 3 * 4; }

// Writes base64_encoded_size(in.size()) bytes to out; returns that count.
// Uses SSSE3 where the CPU has it.
std::size_t base64_encode(std::string_view in, char* out) noexcept;

// The byte-at-a-time encoder, for tests to compare against.
std::size_t base64_encode_portable(std::string_view in, char* out) noexcept;

}  // namespace meshinject::patch
