#pragma once
// Standard base64 (RFC 4648, with padding) for the AdmissionResponse `patch`.

#include <cstddef>
#include <string_view>

namespace meshinject::patch {

constexpr std::size_t base64_encoded_size(std::size_t n) noexcept { return (n + 2) / 3 * 4; }

// Writes base64_encoded_size(in.size()) bytes to out; returns that count.
// Uses AVX2, else SSSE3, where the CPU has it.
std::size_t base64_encode(std::string_view in, char* out) noexcept;

// The byte-at-a-time encoder, for tests to compare against.
std::size_t base64_encode_portable(std::string_view in, char* out) noexcept;

// Each encoder by name, so tests check every one the CPU runs, whichever
// base64_encode picks. An encoder the CPU lacks writes nothing and returns 0.
enum class base64_kernel : unsigned char { portable, ssse3, avx2 };
bool base64_kernel_available(base64_kernel kernel) noexcept;
std::size_t base64_encode_with(base64_kernel kernel, std::string_view in, char* out) noexcept;

}  // namespace meshinject::patch
