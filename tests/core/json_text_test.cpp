// The project's one escaper (core/json_text.hpp): each style's exact forms, the
// outputs of the escapers it replaced, and the bounded form cut at every length.

#include "core/json_text.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <vector>

namespace {

using meshinject::core::append_escaped;
using meshinject::core::append_escaped_twice;
using meshinject::core::escaped_size;
using meshinject::core::escape_bounded;
using meshinject::core::escape_style;
using meshinject::core::quote_for_humans;

constexpr escape_style all_styles[] = {escape_style::json, escape_style::json_html, escape_style::log_text,
                                       escape_style::human};

std::string escaped(std::string_view s, escape_style style) {
  std::string out;
  append_escaped(out, s, style);
  return out;
}

// What http/routes.cpp's append_json_string wrote before it used the core one
// (byte for byte on valid UTF-8, which is all the admin endpoints print).
std::string former_routes_json(std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"') out += "\\\"";
    else if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c == '\t') out += "\\t";
    else if (c < 0x20) out += std::string("\\u00") + hex[c >> 4] + hex[c & 15];
    else out += ch;
  }
  return out;
}

// What core/decision.cpp's and core/selector.cpp's quote helpers wrote, for any bytes.
std::string former_human_quote(std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out = "\"";
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20 || c == 0x7f) {
      out += std::string("\\x") + hex[c >> 4] + hex[c & 15];
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

const std::vector<std::string>& alphabet() {
  static const std::vector<std::string> a = {
      "a", "Z", "0", " ", "\"", "\\", "\n", "\t", "\r", std::string(1, '\0'), std::string(1, '\x01'),
      std::string(1, '\x1f'), "\x7f", "/", "<", ">", "&", "=", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
      "\xe2\x80\xa8", "\xe2\x80\xa9", "\xff", "\xc0\xaf", "\xed\xa0\x80", "\xe2\x82"};
  return a;
}

std::string random_text(std::mt19937& rng, int max_pieces, bool valid_utf8_only) {
  const auto& a = alphabet();
  const std::size_t usable = valid_utf8_only ? a.size() - 4 : a.size();
  std::string s;
  const int n = static_cast<int>(rng() % static_cast<unsigned>(max_pieces + 1));
  for (int k = 0; k < n; ++k) s += a[rng() % usable];
  return s;
}

TEST(json_text, json_exact_forms) {
  EXPECT_EQ(escaped("plain text longer than sixteen bytes", escape_style::json), "plain text longer than sixteen bytes");
  EXPECT_EQ(escaped("a\"b\\c\nd\re\tf", escape_style::json), "a\\\"b\\\\c\\nd\\re\\tf");
  EXPECT_EQ(escaped(std::string("\0\x08\x0c\x1f", 4), escape_style::json), "\\u0000\\u0008\\u000c\\u001f");
  EXPECT_EQ(escaped("\x7f", escape_style::json), "\x7f");  // legal in JSON, left alone
  EXPECT_EQ(escaped("<a&b>", escape_style::json), "<a&b>");
  EXPECT_EQ(escaped("<a&b>", escape_style::json_html), "\\u003ca\\u0026b\\u003e");
  EXPECT_EQ(escaped("\xe2\x80\xa8\xe2\x80\xa9", escape_style::json_html), "\\u2028\\u2029");
  EXPECT_EQ(escaped("\xe2\x80\xa8", escape_style::json), "\xe2\x80\xa8");
  EXPECT_EQ(escaped("a\xff" "b\xc3", escape_style::json), "a\\ufffdb\\ufffd");
}

TEST(json_text, log_text_exact_forms) {
  // Quotes and backslashes are literal on a text line; what breaks a line is not.
  EXPECT_EQ(escaped("say \"hi\" C:\\x", escape_style::log_text), "say \"hi\" C:\\x");
  EXPECT_EQ(escaped("line\nbreak\x7f\x01", escape_style::log_text), "line\\nbreak\\u007f\\u0001");
  EXPECT_EQ(escaped("\xff\xc3\xa9", escape_style::log_text), "\xef\xbf\xbd\xc3\xa9");
  EXPECT_EQ(escaped("<&>", escape_style::log_text), "<&>");
}

TEST(json_text, human_exact_forms) {
  EXPECT_EQ(quote_for_humans("a\"b\\c\nd"), "\"a\\\"b\\\\c\\x0ad\"");
  EXPECT_EQ(quote_for_humans("\x7f\x01"), "\"\\x7f\\x01\"");
  EXPECT_EQ(quote_for_humans("\xff\xc3\xa9"), "\"\xff\xc3\xa9\"");  // bytes kept: the reader sees what came
  // Cut on a UTF-8 boundary, and marked.
  EXPECT_EQ(quote_for_humans("abc\xc3\xa9", 4), "\"abc...\"");
  EXPECT_EQ(quote_for_humans("abcdef", 6), "\"abcdef\"");
  EXPECT_EQ(quote_for_humans("abcdefg", 6), "\"abcdef...\"");
}

TEST(json_text, json_output_parses_back_to_the_input) {
  std::mt19937 rng(11);
  for (int round = 0; round < 3000; ++round) {
    const std::string s = random_text(rng, 60, true);
    for (const escape_style style : {escape_style::json, escape_style::json_html}) {
      const std::string json = "\"" + escaped(s, style) + "\"";
      ASSERT_EQ(nlohmann::json::parse(json).get<std::string>(), s) << json;
    }
  }
}

TEST(json_text, equals_the_escapers_it_replaced) {
  std::mt19937 rng(12);
  for (int round = 0; round < 3000; ++round) {
    const std::string valid = random_text(rng, 60, true);
    ASSERT_EQ(escaped(valid, escape_style::json), former_routes_json(valid)) << valid;
    const std::string any = random_text(rng, 60, false);
    ASSERT_EQ(quote_for_humans(any), former_human_quote(any)) << any;
  }
}

// Every cut is where some prefix of the input ends in the full output, and it is
// the longest such prefix that fits: nothing half-escaped, no split UTF-8.
void check_every_capacity(std::string_view s, escape_style style) {
  const std::string full = escaped(s, style);
  std::set<std::size_t> clean_cuts;
  for (std::size_t j = 0;; ) {  // j steps over whole characters (an invalid byte is one)
    const std::string part = escaped(s.substr(0, j), style);
    EXPECT_EQ(full.compare(0, part.size(), part), 0) << "escaping is not prefix-stable at " << j;
    clean_cuts.insert(part.size());
    if (j == s.size()) break;
    const std::size_t len = meshinject::core::utf8_sequence_length(s, j);
    j += len == 0 ? 1 : len;
  }
  std::vector<char> buf(full.size() + 8, '#');
  for (std::size_t cap = 0; cap <= full.size() + 1; ++cap) {
    const auto r = escape_bounded(buf.data(), cap, s, style);
    ASSERT_LE(r.written, cap);
    ASSERT_EQ(std::string_view(buf.data(), r.written), std::string_view(full).substr(0, r.written))
        << "capacity " << cap << " of " << full;
    ASSERT_EQ(r.complete, r.written == full.size()) << "capacity " << cap;
    ASSERT_EQ(r.complete, cap >= full.size()) << "capacity " << cap;
    ASSERT_TRUE(clean_cuts.count(r.written)) << "cut inside an escape at " << r.written << " of " << full;
    const auto next = clean_cuts.upper_bound(r.written);
    if (next != clean_cuts.end()) {
      ASSERT_GT(*next, cap) << "stopped early at capacity " << cap;
    }
    ASSERT_EQ(buf[r.written], '#') << "wrote past the cut";
    std::fill(buf.begin(), buf.end(), '#');
  }
}

TEST(json_text, bounded_cuts_cleanly_at_every_capacity) {
  for (const escape_style style : all_styles) {
    check_every_capacity("", style);
    check_every_capacity("plain ascii that runs past one sixteen-byte block", style);
    std::string every_piece;
    for (const std::string& piece : alphabet()) every_piece += piece + "x";
    check_every_capacity(every_piece, style);
  }
  std::mt19937 rng(13);
  for (int round = 0; round < 300; ++round) {
    const std::string s = random_text(rng, 40, false);
    for (const escape_style style : all_styles) check_every_capacity(s, style);
  }
}

TEST(json_text, bounded_and_growable_agree) {
  std::mt19937 rng(14);
  char buf[4096];
  for (int round = 0; round < 1000; ++round) {
    const std::string s = random_text(rng, 200, false);
    for (const escape_style style : all_styles) {
      const auto r = escape_bounded(buf, sizeof buf, s, style);
      ASSERT_TRUE(r.complete);
      ASSERT_EQ(std::string_view(buf, r.written), escaped(s, style));
    }
  }
}

}  // namespace

namespace {

// Text that needs no escaping is appended whole, read in overlapping loads that
// depend on its length: every length up to three blocks, plain throughout and
// with each special piece at each position, must come out as the staged escaper
// (escape_bounded never takes the plain shortcut) writes it, after what `out` held.
TEST(json_text, plain_shortcut_agrees_with_the_staged_escaper_at_every_length_and_position) {
  char buf[1024];
  for (const escape_style style : all_styles) {
    for (std::size_t len = 0; len <= 48; ++len) {
      std::string plain(len, 'x');
      for (std::size_t k = 0; k < len; ++k) plain[k] = static_cast<char>('a' + k % 26);
      std::vector<std::string> inputs = {plain};
      for (std::size_t at = 0; at < len; ++at)
        for (const std::string& piece : alphabet()) inputs.push_back(plain.substr(0, at) + piece + plain.substr(at + 1));
      for (std::size_t k = 0; k < inputs.size(); ++k) {
        const auto r = escape_bounded(buf, sizeof buf, inputs[k], style);
        ASSERT_TRUE(r.complete);
        std::string out = "kept:";
        append_escaped(out, inputs[k], style);
        ASSERT_EQ(out, "kept:" + std::string(buf, r.written))
            << "style " << static_cast<int>(style) << " length " << len << " input " << k;
      }
    }
  }
}

// escaped_size counts what append_escaped writes, and append_escaped_twice writes
// in one pass what escaping twice writes (the toJSON text of a pod's metadata
// put into the patch as a JSON string), for every style, length and position of
// every special byte, and for random text with invalid UTF-8.
std::vector<std::string> every_position_inputs() {
  std::vector<std::string> inputs;
  for (std::size_t len = 0; len <= 40; ++len) {
    std::string plain(len, 'x');
    for (std::size_t k = 0; k < len; ++k) plain[k] = static_cast<char>('a' + k % 26);
    inputs.push_back(plain);
    for (std::size_t at = 0; at < len; ++at)
      for (const std::string& piece : alphabet()) inputs.push_back(plain.substr(0, at) + piece + plain.substr(at + 1));
  }
  std::mt19937 rng(15);
  for (int k = 0; k < 3000; ++k) inputs.push_back(random_text(rng, 60, false));
  inputs.push_back(R"({"vol-1":{"name":"vol-1","hostPath":{"path":"/var/<run>&"}}})");
  return inputs;
}

TEST(json_text, escaped_size_is_the_size_written) {
  for (const std::string& in : every_position_inputs())
    for (const escape_style style : all_styles) ASSERT_EQ(escaped_size(in, style), escaped(in, style).size()) << in;
}

TEST(json_text, escaping_twice_in_one_pass_equals_escaping_twice) {
  for (const std::string& in : every_position_inputs()) {
    for (const escape_style inner : {escape_style::json, escape_style::json_html}) {
      std::string out = "kept:";
      append_escaped_twice(out, in, inner);
      ASSERT_EQ(out, "kept:" + escaped(escaped(in, inner), escape_style::json)) << in;
    }
  }
}

}  // namespace
