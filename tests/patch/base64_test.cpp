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
