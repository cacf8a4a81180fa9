#pragma once
// Eight bytes of text tested in one 64-bit word, for scans that look for a rare
// byte: the YAML reader's runs of printable text, NUL in a review's names,
// control bytes in an HTTP request head. (The tricks are "Bit Twiddling Hacks".)

#include <bit>
#include <cstdint>
#include <cstring>

namespace meshinject::core {

inline constexpr std::uint64_t byte_ones = 0x0101010101010101ULL;
inline constexpr std::uint64_t byte_highs = 0x8080808080808080ULL;

// The eight bytes at `p`, the first in the lowest byte on any machine, so that
// a mask's lowest set bit names the first byte it marks.
inline std::uint64_t word_at(const char* p) noexcept {
  std::uint64_t w;
  std::memcpy(&w, p, sizeof w);
  if constexpr (std::endian::native == std::endian::big) w = __builtin_bswap64(w);
  return w;
}

// Up to seven bytes at `p` in one word, for tests that look at every byte but
// not at their order: two overlapping four-byte loads cover four to seven, the
// first, middle and last byte cover one to three; the word's other bytes are
// `filler`'s. (Host byte order: no mask may name a position in it.)
inline std::uint64_t short_word_at(const char* p, std::size_t n, std::uint64_t filler) noexcept {
  if (n >= 4) {
    std::uint32_t first, last;
    std::memcpy(&first, p, 4);
    std::memcpy(&last, p + n - 4, 4);
    return first | (std::uint64_t{last} << 32);
  }
  if (n == 0) return filler;
  return (filler & ~std::uint64_t{0xffffff}) | static_cast<unsigned char>(p[0]) |
         (std::uint64_t{static_cast<unsigned char>(p[n / 2])} << 8) |
         (std::uint64_t{static_cast<unsigned char>(p[n - 1])} << 16);
}

// The high bit of each byte of `w` that equals `c`, and possibly of a byte
// above such a byte (a borrow): use it only to test that none does.
constexpr std::uint64_t bytes_equal(std::uint64_t w, unsigned char c) noexcept {
  const std::uint64_t x = w ^ (c * byte_ones);
  return (x - byte_ones) & ~x & byte_highs;
}

// The high bit of each byte of `w` below `n` (at most 0x80), and possibly of a
// byte above such a byte: use it only to test that none is.
constexpr std::uint64_t bytes_below(std::uint64_t w, unsigned char n) noexcept {
  return (w - n * byte_ones) & ~w & byte_highs;
}

// The high bit of each byte of `w` below 0x20 or equal to 0x7F, exactly: no
// sum carries into the next byte, so each marked byte can be looked at.
constexpr std::uint64_t control_bytes(std::uint64_t w) noexcept {
  constexpr std::uint64_t low7 = 0x7f7f7f7f7f7f7f7fULL;
  const std::uint64_t at_least_space = (((w & low7) + 0x6060606060606060ULL) | w) & byte_highs;
  const std::uint64_t del = w ^ low7;
  const std::uint64_t is_del = ~(((del & low7) + low7) | del) & byte_highs;
  return (at_least_space ^ byte_highs) | is_del;
}

}  // namespace meshinject::core
