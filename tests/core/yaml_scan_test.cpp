// core/yaml_scan: the YAML reader's eight-bytes-at-once line scans agree with
// the byte-by-byte rules they replaced, wherever the interesting bytes fall
// relative to a word, on every byte value and on many generated lines.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/yaml_scan.hpp"

namespace meshinject::core::yaml::scan {
namespace {

bool ref_blank_or_break(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// The rules as the reader once wrote them, one byte at a time.
std::size_t ref_plain_run_end(std::string_view s, std::size_t p) {
  while (p < s.size()) {
    const char c = s[p];
    if (ref_blank_or_break(c)) break;
    if (c == ':' && (p + 1 >= s.size() || ref_blank_or_break(s[p + 1]))) break;
    ++p;
  }
  return p;
}

bool ref_plain_line_is_key(std::string_view s, std::size_t p) {
  const std::size_t n = s.size();
  for (; p < n; ++p) {
    const char c = s[p];
    if (c == ':') {
      if (p + 1 >= n || ref_blank_or_break(s[p + 1])) return true;
    } else if (c == '\n' || c == '\r') {
      return false;
    } else if ((c == ' ' || c == '\t') && p + 1 < n && s[p + 1] == '#') {
      return false;
    }
  }
  return false;
}

void expect_agree(std::string_view s, std::size_t from) {
  ASSERT_EQ(plain_run_end(s, from), ref_plain_run_end(s, from)) << ::testing::PrintToString(std::string(s)) << " from " << from;
  ASSERT_EQ(plain_line_is_key(s, from), ref_plain_line_is_key(s, from))
      << ::testing::PrintToString(std::string(s)) << " from " << from;
}

TEST(YamlScan, HandPickedLines) {
  EXPECT_EQ(plain_run_end("name: x", 0), 4u);
  EXPECT_EQ(plain_run_end("image:tag x", 0), 9u);
  EXPECT_EQ(plain_run_end("a-very-long-plain-scalar", 0), 24u);
  EXPECT_EQ(plain_run_end("a-very-long-plain-scalar:", 0), 24u);
  EXPECT_EQ(plain_run_end("http://host:80/path\n", 0), 19u);
  EXPECT_TRUE(plain_line_is_key("averyverylongkey: v", 0));
  EXPECT_TRUE(plain_line_is_key("key:", 0));
  EXPECT_TRUE(plain_line_is_key("a b c d e f g h i j:\tv", 0));
  EXPECT_FALSE(plain_line_is_key("http://host:80/path\nkey: v", 0)) << "the line ends first";
  EXPECT_FALSE(plain_line_is_key("value with a # comment: x", 0));
  EXPECT_TRUE(plain_line_is_key("value#not-a-comment: x", 0));
  EXPECT_FALSE(plain_line_is_key("k\r: v", 0));
  EXPECT_TRUE(plain_line_is_key(" #k: v", 1)) << "the blank before the start is not looked at";
}

TEST(YamlScan, EveryByteAtEveryPositionAgrees) {
  // A line of plain characters of 1 to 24 bytes with one byte changed to each
  // value, then a stop byte after it: every alignment, and the tail.
  std::size_t keys = 0;
  for (std::size_t len = 1; len <= 24; ++len)
    for (std::size_t at = 0; at < len; ++at)
      for (int b = 0; b < 256; ++b)
        for (const char* tail : {"", ":", ": v", " #x: v", "\n: v"}) {
          std::string s(len, 'k');
          s[at] = static_cast<char>(b);
          s += tail;
          for (std::size_t from = 0; from <= std::min<std::size_t>(at, 2); ++from) expect_agree(s, from);
          keys += ref_plain_line_is_key(s, 0);
        }
  EXPECT_GT(keys, 20000u) << "the inputs must reach both answers";
}

TEST(YamlScan, GeneratedLinesAgree) {
  // Lines dense in the bytes the rules look at, so that stops, near misses
  // (`:x`, `#` without a blank) and pairs across word boundaries all occur.
  const char pieces[] = {':', ' ', '\t', '#', '\n', '\r', '\0', '\x1f', '\x7f', '\x80', '\xff', '-', '"'};
  std::uint64_t state = 2026;
  std::size_t runs_short = 0, keys = 0;
  for (int round = 0; round < 300000; ++round) {
    std::string s;
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    const std::size_t len = (state >> 33) % 48;
    const unsigned density = 2 + static_cast<unsigned>((state >> 45) % 12);
    for (std::size_t i = 0; i < len; ++i) {
      state = state * 6364136223846793005ULL + 1442695040888963407ULL;
      s += (state >> 33) % density == 0 ? pieces[(state >> 40) % sizeof pieces] : static_cast<char>('a' + (state >> 50) % 26);
    }
    const std::size_t from = s.empty() ? 0 : (state >> 20) % (s.size() + 1);
    expect_agree(s, from);
    runs_short += ref_plain_run_end(s, from) < s.size();
    keys += ref_plain_line_is_key(s, from);
  }
  EXPECT_GT(runs_short, 100000u);
  EXPECT_GT(keys, 3000u);
}

}  // namespace
}  // namespace meshinject::core::yaml::scan
