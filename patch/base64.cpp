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

// The SSSE3 step on 24 input bytes: each 128-bit lane of a 256-bit register
// takes 12 bytes from its own 16-byte load and runs the same shuffles and
// multiplies (AVX2's byte shuffle never crosses lanes, so the SSSE3 constants
// serve both lanes). What is left goes to the SSSE3 encoder.
__attribute__((target("avx2"))) std::size_t encode_avx2(const std::uint8_t* p, std::size_t n, char* o) {
  char* const start = o;
  const __m256i spread = _mm256_set_epi8(10, 11, 9, 10, 7, 8, 6, 7, 4, 5, 3, 4, 1, 2, 0, 1,  //
                                         10, 11, 9, 10, 7, 8, 6, 7, 4, 5, 3, 4, 1, 2, 0, 1);
  const __m256i offsets = _mm256_setr_epi8('a' - 26, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52,
                                           '0' - 52, '0' - 52, '0' - 52, '0' - 52, '+' - 62, '/' - 63, 'A', 0, 0,
                                           'a' - 26, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52,
                                           '0' - 52, '0' - 52, '0' - 52, '0' - 52, '+' - 62, '/' - 63, 'A', 0, 0);
  // The upper lane's load starts 12 bytes in and reads 16, so stop while 28 remain.
  while (n >= 28) {
    const __m128i low = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i high = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 12));
    const __m256i in = _mm256_shuffle_epi8(_mm256_inserti128_si256(_mm256_castsi128_si256(low), high, 1), spread);
    const __m256i hi =
        _mm256_mulhi_epu16(_mm256_and_si256(in, _mm256_set1_epi32(0x0fc0fc00)), _mm256_set1_epi32(0x04000040));
    const __m256i lo =
        _mm256_mullo_epi16(_mm256_and_si256(in, _mm256_set1_epi32(0x003f03f0)), _mm256_set1_epi32(0x01000010));
    const __m256i indices = _mm256_or_si256(hi, lo);
    __m256i range = _mm256_subs_epu8(indices, _mm256_set1_epi8(51));
    const __m256i below26 = _mm256_cmpgt_epi8(_mm256_set1_epi8(26), indices);
    range = _mm256_or_si256(range, _mm256_and_si256(below26, _mm256_set1_epi8(13)));
    const __m256i ascii = _mm256_add_epi8(_mm256_shuffle_epi8(offsets, range), indices);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(o), ascii);
    p += 24;
    n -= 24;
    o += 32;
  }
  o += encode_ssse3(p, n, o);
  return static_cast<std::size_t>(o - start);
}

bool have_ssse3() {
  static const bool yes = __builtin_cpu_supports("ssse3");
  return yes;
}

bool have_avx2() {
  static const bool yes = __builtin_cpu_supports("avx2");
  return yes;
}
#endif

}  // namespace

std::size_t base64_encode(std::string_view in, char* out) noexcept {
  const auto* p = reinterpret_cast<const std::uint8_t*>(in.data());
#if defined(__x86_64__)
  if (have_avx2()) return encode_avx2(p, in.size(), out);
  if (have_ssse3()) return encode_ssse3(p, in.size(), out);
#endif
  return encode_scalar(p, in.size(), out);
}

std::size_t base64_encode_with(base64_kernel kernel, std::string_view in, char* out) noexcept {
  const auto* p = reinterpret_cast<const std::uint8_t*>(in.data());
  switch (kernel) {
    case base64_kernel::portable: return encode_scalar(p, in.size(), out);
#if defined(__x86_64__)
    case base64_kernel::ssse3: return have_ssse3() ? encode_ssse3(p, in.size(), out) : 0;
    case base64_kernel::avx2: return have_avx2() ? encode_avx2(p, in.size(), out) : 0;
#else
    case base64_kernel::ssse3:
    case base64_kernel::avx2: return 0;
#endif
  }
  return 0;
}

bool base64_kernel_available(base64_kernel kernel) noexcept {
  switch (kernel) {
    case base64_kernel::portable: return true;
#if defined(__x86_64__)
    case base64_kernel::ssse3: return have_ssse3();
    case base64_kernel::avx2: return have_avx2();
#else
    case base64_kernel::ssse3:
    case base64_kernel::avx2: return false;
#endif
  }
  return false;
}

std::size_t base64_encode_portable(std::string_view in, char* out) noexcept {
  return encode_scalar(reinterpret_cast<const std::uint8_t*>(in.data()), in.size(), out);
}

}  // namespace meshinject::patch
