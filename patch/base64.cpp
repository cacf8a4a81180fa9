#include "patch/base64.hpp"

#include <cstdint>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace meshinject::patch {
namespace {

constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::size_t encode_scalar(const std::uint8_t* p, std::size_t n, char* o) {
  char* const start = o;
  // Three input bytes become four output characters; the loop has no branches
  // so the compiler keeps it tight.
  for (; n >= 3; n -= 3, p += 3, o += 4) {
    const std::uint32_t v = (std::uint32_t{p[0]} << 16) | (std::uint32_t{p[1]} << 8) | p[2];
    o[0] = alphabet[(v >> 18) & 63];
    o[1] = alphabet[(v >> 12) & 63];
    o[2] = alphabet[(v >> 6) & 63];
    o[3] = alphabet[v & 63];
  }
  if (n == 1) {
    const std::uint32_t v = std::uint32_t{p[0]} << 16;
    o[0] = alphabet[(v >> 18) & 63];
    o[1] = alphabet[(v >> 12) & 63];
    o[2] = '=';
    o[3] = '=';
    o += 4;
  } else if (n == 2) {
    const std::uint32_t v = (std::uint32_t{p[0]} << 16) | (std::uint32_t{p[1]} << 8);
    o[0] = alphabet[(v >> 18) & 63];
    o[1] = alphabet[(v >> 12) & 63];
    o[2] = alphabet[(v >> 6) & 63];
    o[3] = '=';
    o += 4;
  }
  return static_cast<std::size_t>(o - start);
}

#if defined(__x86_64__)
// 12 input bytes to 16 characters per step with SSSE3 byte shuffles: spread each
// 3-byte group over a 32-bit lane, cut it into four 6-bit indices with two
// multiplies, then map indices to ASCII by adding a per-range offset chosen with
// a shuffle (the ranges A-Z, a-z, 0-9, '+', '/').
__attribute__((target("ssse3"))) std::size_t encode_ssse3(const std::uint8_t* p, std::size_t n, char* o) {
  char* const start = o;
  const __m128i spread = _mm_set_epi8(10, 11, 9, 10, 7, 8, 6, 7, 4, 5, 3, 4, 1, 2, 0, 1);
  const __m128i offsets = _mm_setr_epi8('a' - 26, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52,
                                        '0' - 52, '0' - 52, '0' - 52, '0' - 52, '+' - 62, '/' - 63, 'A', 0, 0);
  // Each step reads 16 bytes and uses 12, so stop while 16 remain.
  while (n >= 16) {
    __m128i in = _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)), spread);
    const __m128i hi = _mm_mulhi_epu16(_mm_and_si128(in, _mm_set1_epi32(0x0fc0fc00)), _mm_set1_epi32(0x04000040));
    const __m128i lo = _mm_mullo_epi16(_mm_and_si128(in, _mm_set1_epi32(0x003f03f0)), _mm_set1_epi32(0x01000010));
    const __m128i indices = _mm_or_si128(hi, lo);
    __m128i range = _mm_subs_epu8(indices, _mm_set1_epi8(51));
    const __m128i below26 = _mm_cmpgt_epi8(_mm_set1_epi8(26), indices);
    range = _mm_or_si128(range, _mm_and_si128(below26, _mm_set1_epi8(13)));
    const __m128i ascii = _mm_add_epi8(_mm_shuffle_epi8(offsets, range), indices);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(o), ascii);
    p += 12;
    n -= 12;
    o += 16;
  }
  o += encode_scalar(p, n, o);
  return static_cast<std::size_t>(o - start);
}

bool have_ssse3() {
  static const bool yes = __builtin_cpu_supports("ssse3");
  return yes;
}
#endif

}  // namespace

std::size_t base64_encode(std::string_view in, char* out) noexcept {
  const auto* p = reinterpret_cast<const std::uint8_t*>(in.data());
#if defined(__x86_64__)
  if (have_ssse3()) return encode_ssse3(p, in.size(), out);
#endif
  return encode_scalar(p, in.size(), out);
}

std::size_t base64_encode_portable(std::string_view in, char* out) noexcept {
  return encode_scalar(reinterpret_cast<const std::uint8_t*>(in.data()), in.size(), out);
}

}  // namespace meshinject::patch
