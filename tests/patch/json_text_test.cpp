// JSON escaping against an independent implementation (nlohmann-json) on
// random strings, including every byte the vector path treats specially.

#include "patch/json_text.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>

namespace {

std::string escaped(std::string_view s, bool html = false) {
  std::string out;
  meshinject::patch::append_json_escaped(out, s, html);
  return out;
}

TEST(json_text, matches_an_independent_encoder_on_random_valid_utf8) {
  std::mt19937 rng(7);
  const std::string alphabet[] = {"a", "Z", "0", " ", "\"", "\\", "\n", "\t", "\r", std::string(1, '\x01'),
                                  std::string(1, '\x1f'), "/", "<", "&", "\xc3\xa9", "\xe2\x82\xac",
                                  "\xf0\x9f\x98\x80", "\xe2\x80\xa8"};
  for (int round = 0; round < 3000; ++round) {
    std::string s;
    const int len = static_cast<int>(rng() % 80);
    for (int k = 0; k < len; ++k) s += alphabet[rng() % std::size(alphabet)];
    // Parsing our output back must give the input exactly.
    const std::string json = "\"" + escaped(s) + "\"";
    ASSERT_EQ(nlohmann::json::parse(json).get<std::string>(), s) << json;
    const std::string html = "\"" + escaped(s, true) + "\"";
    ASSERT_EQ(nlohmann::json::parse(html).get<std::string>(), s) << html;
    ASSERT_EQ(html.find('<'), std::string::npos);
    ASSERT_EQ(html.find('&'), std::string::npos);
  }
}

TEST(json_text, exact_forms) {
  EXPECT_EQ(escaped("plain text that is longer than sixteen bytes"), "plain text that is longer than sixteen bytes");
  EXPECT_EQ(escaped("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
  EXPECT_EQ(escaped(std::string("\x01", 1)), "\\u0001");
  EXPECT_EQ(escaped("<a&b>", true), "\\u003ca\\u0026b\\u003e");
  EXPECT_EQ(escaped("<a&b>", false), "<a&b>");
  EXPECT_EQ(escaped("\xe2\x80\xa8", true), "\\u2028");
  // Quotes after a long plain run, and at the very end of a block.
  EXPECT_EQ(escaped("0123456789abcde\""), "0123456789abcde\\\"");
  EXPECT_EQ(escaped("0123456789abcdef\""), "0123456789abcdef\\\"");
}

TEST(json_text, invalid_utf8_becomes_replacement_characters) {
  EXPECT_EQ(escaped("a\xff" "b"), "a\\ufffdb");
  EXPECT_EQ(escaped("\xc3"), "\\ufffd");                 // truncated sequence
  EXPECT_EQ(escaped("\xed\xa0\x80"), "\\ufffd\\ufffd\\ufffd");  // a surrogate
  EXPECT_EQ(escaped("\xc0\xaf"), "\\ufffd\\ufffd");       // overlong
  std::string long_invalid(40, 'x');
  long_invalid[20] = '\x80';
  const std::string out = escaped(long_invalid);
  EXPECT_EQ(nlohmann::json::parse("\"" + out + "\"").get<std::string>(),
            std::string(20, 'x') + "\xef\xbf\xbd" + std::string(19, 'x'));
}

}  // namespace
