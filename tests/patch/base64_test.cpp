#include "patch/base64.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace {

std::string encode(std::string_view in) {
  std::string out(meshinject::patch::base64_encoded_size(in.size()), '\0');
  out.resize(meshinject::patch::base64_encode(in, out.data()));
  return out;
}

TEST(base64, rfc4648_vectors) {
  EXPECT_EQ(encode(""), "");
  EXPECT_EQ(encode("f"), "Zg==");
  EXPECT_EQ(encode("fo"), "Zm8=");
  EXPECT_EQ(encode("foo"), "Zm9v");
  EXPECT_EQ(encode("foob"), "Zm9vYg==");
  EXPECT_EQ(encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(encode("foobar"), "Zm9vYmFy");
}

TEST(base64, high_bytes) {
  EXPECT_EQ(encode(std::string("\xff\xfe\xfd", 3)), "//79");
  EXPECT_EQ(encode(std::string("\0\0\0", 3)), "AAAA");
}

}  // namespace

namespace {

TEST(base64, vector_path_matches_the_portable_encoder) {
  std::mt19937 rng(42);
  for (std::size_t len = 0; len < 300; ++len) {
    std::string in(len, '\0');
    for (char& c : in) c = static_cast<char>(rng());
    std::string fast(meshinject::patch::base64_encoded_size(len), '\0');
    std::string slow(fast.size(), '\0');
    ASSERT_EQ(meshinject::patch::base64_encode(in, fast.data()), fast.size());
    ASSERT_EQ(meshinject::patch::base64_encode_portable(in, slow.data()), slow.size());
    ASSERT_EQ(fast, slow) << "length " << len;
  }
}

}  // namespace

namespace {

using meshinject::patch::base64_kernel;

std::string encode_with(base64_kernel kernel, std::string_view in) {
  std::string out(meshinject::patch::base64_encoded_size(in.size()), '\0');
  const std::size_t written = meshinject::patch::base64_encode_with(kernel, in, out.data());
  EXPECT_EQ(written, out.size());
  return out;
}

// Every encoder the CPU runs against the byte-at-a-time one, on every length up
// to 200 (every tail after every number of vector steps) and several random
// fills, so a wrong byte in either 128-bit lane or in the hand-over to the tail shows.
TEST(base64, every_vector_encoder_matches_the_portable_one) {
  for (const base64_kernel kernel : {base64_kernel::ssse3, base64_kernel::avx2}) {
    if (!meshinject::patch::base64_kernel_available(kernel)) continue;
    std::mt19937 rng(7 + static_cast<unsigned>(kernel));
    for (int fill = 0; fill < 8; ++fill) {
      for (std::size_t len = 0; len <= 200; ++len) {
        std::string in(len, '\0');
        for (char& c : in) c = static_cast<char>(rng());
        ASSERT_EQ(encode_with(kernel, in), encode_with(base64_kernel::portable, in))
            << "kernel " << static_cast<int>(kernel) << " length " << len << " fill " << fill;
      }
    }
  }
}

// Every 6-bit index in every output position of both lanes: bytes 0..255 and
// their shifts, so each alphabet range (A-Z, a-z, 0-9, '+', '/') lands in each lane.
TEST(base64, vector_encoders_map_every_index_in_every_position) {
  for (const base64_kernel kernel : {base64_kernel::ssse3, base64_kernel::avx2}) {
    if (!meshinject::patch::base64_kernel_available(kernel)) continue;
    for (int shift = 0; shift < 3; ++shift) {
      std::string in;
      for (int i = 0; i < 3 * 256; ++i) in += static_cast<char>((i * 7 + shift * 85) & 0xff);
      ASSERT_EQ(encode_with(kernel, in), encode_with(base64_kernel::portable, in))
          << "kernel " << static_cast<int>(kernel) << " shift " << shift;
    }
  }
}

}  // namespace
