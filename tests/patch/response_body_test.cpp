#include "patch/response_body.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

namespace {

using meshinject::patch::response_body;

TEST(response_body, appends_text_characters_and_extended_room_in_order) {
  response_body body;
  body += "{\"a\":";
  std::memcpy(body.extend(3), "123", 3);
  body += '}';
  EXPECT_EQ(body.view(), "{\"a\":123}");
  EXPECT_EQ(body.size(), 9u);
}

TEST(response_body, keeps_what_was_written_when_it_grows) {
  response_body body;
  std::string expected;
  for (int i = 0; i < 5000; ++i) {
    const char c = static_cast<char>('a' + i % 26);
    if (i % 3 == 0) {
      *body.extend(1) = c;
    } else {
      body += std::string_view(&c, 1);
    }
    expected += c;
  }
  EXPECT_EQ(body.view(), expected);
  EXPECT_GE(body.capacity(), body.size());
}

TEST(response_body, clear_keeps_the_capacity_so_a_warm_body_does_not_reallocate) {
  response_body body;
  body.reserve(64);
  body += std::string(60, 'x');
  const char* const first = body.view().data();
  body.clear();
  EXPECT_EQ(body.size(), 0u);
  EXPECT_EQ(body.capacity(), 64u);
  body += std::string(64, 'y');
  EXPECT_EQ(body.view().data(), first);
  EXPECT_EQ(body.view(), std::string(64, 'y'));
}

TEST(response_body, extend_past_capacity_grows_to_at_least_what_is_needed) {
  response_body body;
  body.reserve(4);
  body += "ab";
  char* const room = body.extend(100);
  std::memset(room, 'z', 100);
  EXPECT_GE(body.capacity(), 102u);
  EXPECT_EQ(body.view(), "ab" + std::string(100, 'z'));
}

}  // namespace
