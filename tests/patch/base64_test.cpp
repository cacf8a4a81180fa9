#include "patch/base64.hpp"

#include <gtest/gtest.h>

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
