// core/yaml_reader: every construct of the subset, every error with its
// line:column, the bounds (nesting, memory, no allocation on a warm re-read),
// and agreement with yaml-cpp on hand-written documents and on the injected
// Istio goldens (plain YAML, several documents a file).

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/yaml_reader.hpp"
#include "tests/support/counting_heap.hpp"
#include "tests/support/yaml_oracle.hpp"

namespace meshinject::core::yaml {
namespace {

namespace fs = std::filesystem;

// A compact picture of a tree: {k: v, ...}, [a, ...], scalars by style:
// plain as is, 'single', "double", |literal|, >folded>, <> for an empty node,
// !tag before a tagged node; line breaks inside scalars as \n.
std::string show(node n) {
  std::string out;
  if (!n.tag().empty()) {
    out += n.tag();
    out += ' ';
  }
  if (n.is_mapping()) {
    out += '{';
    bool first = true;
    for (const auto e : n.entries()) {
      if (!first) out += ", ";
      first = false;
      out += show(e.key) + ": " + show(e.value);
    }
    return out + '}';
  }
  if (n.is_sequence()) {
    out += '[';
    bool first = true;
    for (const node item : n.items()) {
      if (!first) out += ", ";
      first = false;
      out += show(item);
    }
    return out + ']';
  }
  if (n.is_empty()) return out + "<>";
  std::string text;
  for (const char c : n.text()) {
    if (c == '\n') text += "\\n";
    else text += c;
  }
  switch (n.style()) {
    case scalar_style::plain: return out + text;
    case scalar_style::single_quoted: return out + "'" + text + "'";
    case scalar_style::double_quoted: return out + "\"" + text + "\"";
    case scalar_style::literal: return out + "|" + text + "|";
    case scalar_style::folded: return out + ">" + text + ">";
  }
  return out;
}

std::string read_shown(const std::string& text) {
  reader r;
  if (!r.read(text)) {
    ADD_FAILURE() << "not read: " << r.error().at.line << ":" << r.error().at.column << ": " << r.error().message
                  << "\n" << text;
    return {};
  }
  return show(r.root());
}

// The error for `text` as "line:column: message".
std::string error_of(const std::string& text) {
  reader r;
  if (r.read(text)) {
    ADD_FAILURE() << "read, as " << show(r.root()) << ":\n" << text;
    return {};
  }
  EXPECT_FALSE(r.root());
  return std::to_string(r.error().at.line) + ":" + std::to_string(r.error().at.column) + ": " +
         std::string(r.error().message);
}

// ------------------------------------------------------------- block context

TEST(yaml_reader_block, mappings_keep_document_order_and_positions) {
  reader r;
  ASSERT_TRUE(r.read("zeta: 1\nalpha:\n  beta: two\n  gamma: 3\n"));
  const node root = r.root();
  EXPECT_EQ(show(root), "{zeta: 1, alpha: {beta: two, gamma: 3}}");
  EXPECT_EQ(root.size(), 2u);
  EXPECT_EQ(root.pos().line, 1u);
  EXPECT_EQ(root.pos().column, 1u);
  const node inner = root.find("alpha");
  ASSERT_TRUE(inner.is_mapping());
  EXPECT_EQ(inner.pos().line, 3u);
  EXPECT_EQ(inner.pos().column, 3u);
  const node gamma = inner.find("gamma");
  EXPECT_EQ(gamma.text(), "3");
  EXPECT_EQ(gamma.pos().line, 4u);
  EXPECT_EQ(gamma.pos().column, 10u);
  EXPECT_FALSE(root.find("missing"));
  EXPECT_FALSE(gamma.find("x"));  // not a mapping
}

TEST(yaml_reader_block, sequences_at_the_keys_indentation_and_indented) {
  EXPECT_EQ(read_shown("key:\n- a\n- b\nnext:\n  - c\n  -   d\nlast: e\n"), "{key: [a, b], next: [c, d], last: e}");
  EXPECT_EQ(read_shown("- x\n-\n  y\n- \n-\n"), "[x, y, <>, <>]");
}

TEST(yaml_reader_block, compact_mappings_and_sequences_in_entries) {
  EXPECT_EQ(read_shown("- name: a\n  args:\n  - x\n  - y\n- name: b\n  env:\n    - {name: K, value: V}\n"),
            "[{name: a, args: [x, y]}, {name: b, env: [{name: K, value: V}]}]");
  EXPECT_EQ(read_shown("- - a\n  - b\n- - - c\n"), "[[a, b], [[c]]]");
  EXPECT_EQ(read_shown("-   k: v\n    l: w\n"), "[{k: v, l: w}]");
  EXPECT_EQ(read_shown("- a:\n  - b\n  c: d\n"), "[{a: [b], c: d}]");
}

TEST(yaml_reader_block, empty_values) {
  reader r;
  ASSERT_TRUE(r.read("a:\nb: # nothing\nc:\n"));
  EXPECT_EQ(show(r.root()), "{a: <>, b: <>, c: <>}");
  for (const auto e : r.root().entries()) {
    EXPECT_TRUE(e.value.is_empty());
    EXPECT_TRUE(e.value.is_null());
    EXPECT_TRUE(e.value.text().empty());
  }
}

TEST(yaml_reader_block, keys_of_every_scalar_style) {
  EXPECT_EQ(read_shown("'a b': 1\n\"c\\td\" : 2\ne f:g: 3\n-x: 4\n"), "{'a b': 1, \"c\td\": 2, e f:g: 3, -x: 4}");
}

// ------------------------------------------------------------- flow context

TEST(yaml_reader_flow, nested_over_several_lines_with_trailing_commas) {
  EXPECT_EQ(read_shown("a: [1, [2, 3], {b: c, d: [e,],},]\n"), "{a: [1, [2, 3], {b: c, d: [e]}]}");
  EXPECT_EQ(read_shown("a: {\n  x: [1,\n     2],   # comment\n  y: 'q',\n}\nb: [\n]\n"), "{a: {x: [1, 2], y: 'q'}, b: []}");
  EXPECT_EQ(read_shown("[]"), "[]");
  EXPECT_EQ(read_shown("{}"), "{}");
}

TEST(yaml_reader_flow, pairs_keys_without_values_and_adjacent_values) {
  EXPECT_EQ(read_shown("[a: 1, b, c: ]"), "[{a: 1}, b, {c: <>}]");
  EXPECT_EQ(read_shown("{a, b: , \"c\":d, 'e':f}"), "{a: <>, b: <>, \"c\": d, 'e': f}");
  // go-yaml: a `:` not followed by a blank belongs to the plain scalar.
  EXPECT_EQ(read_shown("{a:1, u: http://x:80/p}"), "{a:1: <>, u: http://x:80/p}");
}

TEST(yaml_reader_flow, plain_scalars_fold_and_stop_at_indicators) {
  EXPECT_EQ(read_shown("[a b\n  c, d#e, f #g\n]"), "[a b c, d#e, f]");
}

// ------------------------------------------------------------- scalars

TEST(yaml_reader_scalars, plain_multi_line_folding) {
  EXPECT_EQ(read_shown("a: one\n  two\n\n  three\n\n\n  four\nb: x\n"), "{a: one two\\nthree\\n\\nfour, b: x}");
  EXPECT_EQ(read_shown("top\nlevel\n"), "top level");
  // A continuation line may hold what would start a node elsewhere.
  EXPECT_EQ(read_shown("- a\n  - b\n"), "[a - b]");
  EXPECT_EQ(read_shown("a: b # comment\nc: d#e\n"), "{a: b, c: d#e}");
  EXPECT_EQ(read_shown("a: x   \n"), "{a: x}");
  EXPECT_EQ(read_shown("a: x  y\n"), "{a: x  y}");
}

TEST(yaml_reader_scalars, single_quoted) {
  EXPECT_EQ(read_shown("a: 'it''s'\nb: ''\nc: ' x '\n"), "{a: 'it's', b: '', c: ' x '}");
  EXPECT_EQ(read_shown("a: 'one\n  two\n\n  three  '\n"), "{a: 'one two\\nthree  '}");
  EXPECT_EQ(read_shown("a: 'no \\escapes'\n"), "{a: 'no \\escapes'}");
}

TEST(yaml_reader_scalars, double_quoted_escapes) {
  reader r;
  ASSERT_TRUE(r.read(
      R"(a: "\0\a\b\t\	\n\v\f\r\e\ \"\/\\\'\N\_\L\P\x41\u00e9\U0001F600")"));
  const std::string want = std::string("\0\a\b\t\t\n\v\f\r\x1B \"/\\'", 15) +
                           "\xC2\x85\xC2\xA0\xE2\x80\xA8\xE2\x80\xA9" + "A\xC3\xA9\xF0\x9F\x98\x80";
  EXPECT_EQ(r.root().find("a").text(), want);
  EXPECT_EQ(r.root().find("a").style(), scalar_style::double_quoted);
}

TEST(yaml_reader_scalars, double_quoted_line_breaks) {
  EXPECT_EQ(read_shown("a: \"one \\\n    two\"\n"), "{a: \"one two\"}");
  EXPECT_EQ(read_shown("a: \"one\\\n\n  two\"\n"), "{a: \"one\\ntwo\"}");
  EXPECT_EQ(read_shown("a: \"one\n  two\n\n  three\"\n"), "{a: \"one two\\nthree\"}");
  EXPECT_EQ(read_shown("a: \"x\\n\\\n  y\"\n"), "{a: \"x\\ny\"}");
}

TEST(yaml_reader_scalars, block_scalars_with_chomping) {
  EXPECT_EQ(read_shown("a: |\n  one\n   two\n\n  three\n\n\nb: x\n"), "{a: |one\\n two\\n\\nthree\\n|, b: x}");
  EXPECT_EQ(read_shown("a: |-\n  one\n\nb: |+\n  two\n\n\nc: |\n  last"), "{a: |one|, b: |two\\n\\n\\n|, c: |last|}");
  EXPECT_EQ(read_shown("a: >\n  one\n  two\n\n  three\n    more\n  back\n"), "{a: >one two\\nthree\\n  more\\nback\\n>}");
  EXPECT_EQ(read_shown("a: >-\n\n  lead\n"), "{a: >\\nlead>}");
  EXPECT_EQ(read_shown("a: |\n\nb: 1\n"), "{a: ||, b: 1}");
  EXPECT_EQ(read_shown("a: | # comment\n  # not a comment\n"), "{a: |# not a comment\\n|}");
  // Keep chomping keeps the empty line that ends the document, as go-yaml and PyYAML
  // do (yaml-cpp drops it: found by yaml_reader_fuzz, excluded there as its quirk).
  EXPECT_EQ(read_shown(">+\n -\n\n"), ">-\\n\\n>");
}

TEST(yaml_reader_scalars, block_scalar_indentation_indicators) {
  EXPECT_EQ(read_shown("a: |2\n    indented\n  base\n"), "{a: |  indented\\nbase\\n|}");
  EXPECT_EQ(read_shown("- |1-\n  x\n"), "[| x|]");
  EXPECT_EQ(read_shown("a: >+2\n   x\n\n"), "{a: > x\\n\\n>}");
  EXPECT_EQ(read_shown("- name: |\n    text\n  next: 1\n"), "[{name: |text\\n|, next: 1}]");
}

TEST(yaml_reader_scalars, styles_and_nulls) {
  reader r;
  ASSERT_TRUE(r.read("- ~\n- null\n- Null\n- NULL\n- 'null'\n- nULL\n- !!null ~\n-\n- \"\"\n"));
  std::vector<bool> nulls;
  for (const node n : r.root().items()) nulls.push_back(n.is_null());
  EXPECT_EQ(nulls, (std::vector<bool>{true, true, true, true, false, false, false, true, false}));
}

TEST(yaml_reader_scalars, blanks_inside_and_between_the_lines_of_a_plain_scalar) {
  // Blanks are skipped a run at a time: on the scalar's line they are kept
  // (tabs too), on the next line's indentation a tab is judged where it is.
  EXPECT_EQ(read_shown("a: x \t y  \t\nb: p\n  \t  q\n"), "{a: x \t y, b: p q}");
  EXPECT_EQ(read_shown("- a    b\n      c\n\n   \t d\n"), "[a    b c\\nd]");
}

TEST(yaml_reader_scalars, placeholders_of_pod_values_are_plain_text) {
  const std::string hole = "\xEE\x80\x80" "3" "\xEE\x80\x81";
  EXPECT_EQ(read_shown("a: x" + hole + "y\n" + hole + ": ~\n"), "{a: x" + hole + "y, " + hole + ": ~}");
}

// ------------------------------------------------------------- document

TEST(yaml_reader_document, markers_comments_and_empty_documents) {
  EXPECT_EQ(read_shown("# head\n---  # start\na: 1\n...\n# tail\n"), "{a: 1}");
  EXPECT_EQ(read_shown("--- |\n  text\n"), "|text\\n|");
  EXPECT_EQ(read_shown("--- [a]\n"), "[a]");
  EXPECT_EQ(read_shown("--- scalar\n"), "scalar");
  for (const char* empty : {"", "\n\n", "# only a comment\n", "---\n", "--- # c\n...\n", "...\n"}) {
    reader r;
    ASSERT_TRUE(r.read(empty)) << empty;
    EXPECT_TRUE(r.root().is_null()) << empty;
    EXPECT_TRUE(r.root().is_empty()) << empty;
  }
  EXPECT_EQ(read_shown("\xEF\xBB\xBF" "a: 1\n"), "{a: 1}");
}

TEST(yaml_reader_document, crlf_line_breaks) {
  EXPECT_EQ(read_shown("a: 1\r\nb:\r\n- 'x\r\n  y'\r\nc: |\r\n  l1\r\n  l2\r\n"), "{a: 1, b: ['x y'], c: |l1\\nl2\\n|}");
}

TEST(yaml_reader_document, tags_are_kept_as_written) {
  EXPECT_EQ(read_shown("a: !!str 5\nb: ! x\nc: !local {k: v}\nd: !<tag:x> y\n!k e: f\n"),
            "{a: !!str 5, b: ! x, c: !local {k: v}, d: !<tag:x> y, !k e: f}");
  EXPECT_EQ(read_shown("a: !!map\n  b: 1\nc: !!seq\n- d\ne: !!str\n"), "{a: !!map {b: 1}, c: !!seq [d], e: !!str <>}");
  EXPECT_EQ(read_shown("- !t\n  x: y\n- !t [a, !!str]\n"), "[!t {x: y}, !t [a, !!str <>]]");
}

TEST(yaml_reader_document, duplicate_keys_are_kept_and_reported) {
  reader r;
  ASSERT_TRUE(r.read("a: 1\nb: 2\n'a': 3\nc: {x: 1, x: 2}\n"));
  EXPECT_EQ(show(r.root()), "{a: 1, b: 2, 'a': 3, c: {x: 1, x: 2}}");
  EXPECT_EQ(r.duplicate_keys(), 2u);
  std::vector<bool> dup;
  for (const auto e : r.root().entries()) dup.push_back(e.key.is_duplicate_key());
  EXPECT_EQ(dup, (std::vector<bool>{false, false, true, false}));
  EXPECT_EQ(r.root().find("a").text(), "1");  // find() gives the first

  // Large mappings take the sorting path.
  std::string big;
  for (int i = 0; i < 100; ++i) big += "k" + std::to_string(i % 40) + ": v\n";
  ASSERT_TRUE(r.read(big));
  EXPECT_EQ(r.duplicate_keys(), 60u);
  std::size_t k = 0;
  for (const auto e : r.root().entries()) EXPECT_EQ(e.key.is_duplicate_key(), k++ >= 40) << e.key.text();
}

// ------------------------------------------------------------- errors

TEST(yaml_reader_errors, each_with_its_position) {
  const std::pair<const char*, const char*> rows[] = {
      {"a: &x 1\n", "1:4: anchors and aliases"},
      {"a: *x\n", "1:4: anchors and aliases"},
      {"- &a\n", "1:3: anchors and aliases"},
      {"? a\n: b\n", "1:1: complex mapping keys"},
      {"a:\n  ? b\n", "2:3: complex mapping keys"},
      {"{? a: b}\n", "1:2: complex mapping keys"},
      {"%YAML 1.1\n---\na\n", "1:1: directives"},
      {"a: 1\n---\nb: 2\n", "2:1: several documents"},
      {"a\n...\nb\n", "3:1: several documents"},
      {"a:\n\tb: 1\n", "2:1: a tab character where YAML expects indentation"},
      {"a: 'x'\n\t\n", "2:1: a tab character where YAML expects indentation"},
      {"a:\n  b: 1\n\tc: 2\n", "3:1: a tab character that violates indentation inside a plain scalar"},
      {"a:\n  b: 1\n  \tc: 2\n", "3:3: a tab character that violates indentation inside a plain scalar"},
      {"- \tx\n", "1:3: a tab character where YAML expects indentation"},
      {"a: |\n  x\n\ty\n", "3:1: a tab character where a block scalar's indentation is expected"},
      {"a:\n  b: 1\n c: 2\n", "3:2: bad indentation of a mapping entry"},
      {"a: 1\n  b: 2\n", "2:4: mapping values are not allowed"},
      {"- a\n- b\n  - c: 1\n", "3:6: mapping values are not allowed"},
      {"- a\n   - b\n- c\n  d: e\n", "4:4: mapping values are not allowed"},
      {"a:\n  - [b]\n   - c\n", "3:4: bad indentation of a sequence entry"},
      {"- a\nb: 1\n", "2:1: expected a sequence entry"},
      {"a: 1\n- b\n", "2:1: a sequence entry where a mapping key is expected"},
      {"a: 1\nb\n", "2:1: could not find expected ':'"},
      {"a: 'x\n", "1:4: unterminated single-quoted scalar"},
      {"a: \"x\n  y\n", "1:4: unterminated double-quoted scalar"},
      {"a: \"x\n---\ny\"\n", "1:4: a document marker inside a quoted scalar"},
      {"a: [1, 2\n", "1:4: unterminated flow sequence"},
      {"a: {x: [1]\n", "1:4: unterminated flow mapping"},
      {"a: [1\n---\n]\n", "2:1: a document marker inside a flow collection"},
      {"a: [1, \"2\" 3]\n", "1:12: expected ',' or ']'"},
      {"a: {x: 1]\n", "1:9: expected ',' or '}'"},
      {"[a,,b]\n", "1:4: a flow collection entry is missing"},
      {"[,]\n", "1:2: a flow collection entry is missing"},
      {"[a]]\n", "1:4: unexpected text after a complete value"},
      {"a: \"x\" y\n", "1:8: unexpected text after a complete value"},
      {"[- a]\n", "1:2: block sequence entries are not allowed in a flow collection"},
      {"a: \"\\q\"\n", "1:5: unknown escape sequence"},
      {"a: \"\\x4g\"\n", "1:5: missing hexadecimal digits"},
      {"a: \"\\uD800\"\n", "1:5: invalid Unicode code point"},
      {"a: \"\\U00110000\"\n", "1:5: invalid Unicode code point"},
      {"a: \"\\", "1:4: unterminated double-quoted scalar"},
      {"[a]: b\n", "1:1: a flow collection cannot be a mapping key"},
      {"{a: 1}: b\n", "1:1: a flow collection cannot be a mapping key"},
      {"[[a]: b]\n", "1:2: a flow collection cannot be a mapping key"},
      {"\"a\n b\": c\n", "1:1: a mapping key must be on a single line"},
      {"{a\n: b}\n", "1:2: a mapping key and its ':' must be on one line"},
      {"a: b: c\n", "1:4: mapping values are not allowed in this context"},
      {"--- a: b\n", "1:5: mapping values are not allowed in this context"},
      {"key: - a\n", "1:6: block sequence entries are not allowed in this context"},
      {"a: |0\n x\n", "1:5: indentation indicator must be 1 to 9"},
      {"a: |x\n", "1:5: expected a comment or a line break after a block scalar header"},
      {"a: \x01\n", "1:4: a control character"},
      {"a: \x7F\n", "1:4: a control character"},
      {"a: \xC2\x80\n", "1:4: a control character"},
      {"\nab: \xFF\n", "2:5: invalid UTF-8"},
      {"a: \xC0\x80\n", "1:4: invalid UTF-8"},
      {"a: \xED\xA0\x80\n", "1:4: invalid UTF-8"},
      {"a: \xE2\x82\n", "1:4: invalid UTF-8"},
      {"@a\n", "1:1: this character cannot start a YAML node"},
      {"a: `b`\n", "1:4: this character cannot start a YAML node"},
      {"- : a\n", "1:3: a mapping value without a key"},
      {"a: !x !y b\n", "1:7: a node has two tags"},
      {"a: !x\"y\n", "1:6: a tag must be followed by a space"},
      {"a: !<x\n", "1:4: unterminated verbatim tag"},
  };
  for (const auto& [text, want] : rows) {
    SCOPED_TRACE(text);
    // "line:column: " exactly, then the message contains the rest.
    const std::string got = error_of(text);
    const std::string w = want;
    const std::size_t colon = w.find(": ");
    EXPECT_EQ(got.substr(0, colon + 2), w.substr(0, colon + 2)) << got;
    EXPECT_NE(got.find(w.substr(colon + 2)), std::string::npos) << got;
  }
}

// The input check as it once went, one byte at a time: the reader skips
// printable ASCII eight bytes at a time and must find the same first bad byte
// at the same line and column, and count lines the same way.
struct validation {
  bool ok = true;
  position at;
  std::string_view message;
};
validation validate_byte_by_byte(std::string_view s) {
  std::uint32_t line = 1;
  std::size_t start = 0;
  const auto bad = [&](std::size_t i, std::string_view what) {
    return validation{false, {line, static_cast<std::uint32_t>(i - start + 1)}, what};
  };
  for (std::size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    if (b < 0x80) {
      if (b == '\n' || (b == '\r' && (i + 1 >= s.size() || s[i + 1] != '\n'))) {
        ++line;
        start = i + 1;
      } else if ((b < 0x20 && b != '\t' && b != '\r') || b == 0x7F) {
        return bad(i, "a control character (YAML allows tab, CR and LF only)");
      }
      ++i;
      continue;
    }
    const std::size_t n = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 0;
    if (n == 0 || b > 0xF4 || i + n > s.size()) return bad(i, "invalid UTF-8");
    std::uint32_t cp = b & (0x7F >> n);
    for (std::size_t k = 1; k < n; ++k) {
      const auto c = static_cast<unsigned char>(s[i + k]);
      if ((c & 0xC0) != 0x80) return bad(i, "invalid UTF-8");
      cp = (cp << 6) | (c & 0x3F);
    }
    const std::uint32_t least = n == 2 ? 0x80 : n == 3 ? 0x800 : 0x10000;
    if (cp < least || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return bad(i, "invalid UTF-8");
    if ((cp >= 0x80 && cp < 0xA0 && cp != 0x85) || cp == 0xFFFE || cp == 0xFFFF)
      return bad(i, "a control character (YAML allows tab, CR and LF only)");
    i += n;
  }
  return {};
}

TEST(yaml_reader_errors, the_input_check_agrees_with_the_byte_by_byte_rule) {
  // Lines of a mapping with line breaks, control bytes and UTF-8 (valid and
  // not) dropped in at random, so that each falls at every place in a word.
  const std::string_view pieces[] = {"\n", "\r\n", "\r", "\t", std::string_view("\0", 1), "\x01", "\x1f", "\x7f",
                                     "\xC3\xA9", "\xC2\x85", "\xC2\x80", "\xE2\x80\xA8", "\xF0\x9F\x98\x80",
                                     "\x80", "\xFF", "\xC0\xAF", "\xED\xA0\x80", "\xE2\x82", "\xEF\xBF\xBE"};
  std::uint64_t state = 77;
  const auto next = [&] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return state >> 33;
  };
  reader r;
  std::size_t rejected = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string doc;
    const std::size_t lines = 1 + next() % 6;
    const unsigned density = 4 + static_cast<unsigned>(next() % 60);
    for (std::size_t l = 0; l < lines; ++l) {
      doc += "key" + std::to_string(l) + ": ";
      const std::size_t len = next() % 30;
      for (std::size_t k = 0; k < len; ++k)
        doc += next() % density == 0 ? pieces[next() % std::size(pieces)] : std::string_view("abcdefgh").substr(next() % 8, 1);
      doc += '\n';
    }
    const validation want = validate_byte_by_byte(doc);
    const bool read = r.read(doc);
    if (!want.ok) {
      ++rejected;
      ASSERT_FALSE(read) << ::testing::PrintToString(doc);
      ASSERT_EQ(r.error().message, want.message) << ::testing::PrintToString(doc);
      ASSERT_EQ(r.error().at.line, want.at.line) << ::testing::PrintToString(doc);
      ASSERT_EQ(r.error().at.column, want.at.column) << ::testing::PrintToString(doc);
    } else if (!read) {
      ASSERT_NE(r.error().message, "invalid UTF-8") << ::testing::PrintToString(doc);
      ASSERT_EQ(r.error().message.find("a control character"), std::string_view::npos) << ::testing::PrintToString(doc);
    }
  }
  EXPECT_GT(rejected, 5000u);
  EXPECT_LT(rejected, 15000u);
}

TEST(yaml_reader_errors, implicit_keys_longer_than_1024_bytes) {
  const std::string at_limit(max_key_length, 'k');
  EXPECT_EQ(read_shown(at_limit + ": v\n"), "{" + at_limit + ": v}");
  EXPECT_EQ(error_of(at_limit + "k: v\n").rfind("1:1: an implicit mapping key longer than 1024", 0), 0u);
  EXPECT_EQ(error_of("{" + at_limit + "k: v}").rfind("1:2: an implicit mapping key longer than 1024", 0), 0u);
}

TEST(yaml_reader_errors, nesting_is_bounded) {
  const auto flow = [](std::size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); };
  const auto block = [](std::size_t depth) {
    std::string s;
    for (std::size_t d = 0; d < depth; ++d) s += std::string(d, ' ') + "k:\n";
    return s + std::string(depth, ' ') + "leaf\n";
  };
  const auto compact = [](std::size_t depth) {
    std::string s;
    for (std::size_t d = 0; d < depth; ++d) s += "- ";
    return s + "x\n";
  };
  reader r;
  for (const auto& make : {+flow, +block, +compact}) {
    EXPECT_TRUE(r.read(make(max_depth))) << r.error().message;
    EXPECT_FALSE(r.read(make(max_depth + 1)));
    EXPECT_EQ(r.error().message, "collections nested deeper than 512 levels");
  }
  // No recursion past the bound, however deep the input goes.
  EXPECT_FALSE(r.read(flow(100000)));
  EXPECT_FALSE(r.read(compact(100000)));
}

TEST(yaml_reader_errors, every_prefix_of_a_real_document_reads_or_fails_cleanly) {
  const std::string doc =
      "initContainers:\n- name: istio-init\n  args:\n  - \"-p\"\n  - '15001'\n  securityContext:\n"
      "    capabilities: {add: [NET_ADMIN]}\ncontainers:\n- name: istio-proxy\n  env:\n  - name: X\n"
      "    value: |\n      line\n  resources:\n    limits: {cpu: 2000m, memory: 1Gi}\n";
  reader r;
  for (std::size_t n = 0; n <= doc.size(); ++n) {
    const std::string prefix = doc.substr(0, n);
    if (!r.read(prefix)) {
      EXPECT_GE(r.error().at.line, 1u) << prefix;
      EXPECT_LE(r.error().at.line, 1u + static_cast<std::size_t>(std::count(prefix.begin(), prefix.end(), '\n')));
      EXPECT_GE(r.error().at.column, 1u);
    }
  }
}

// ------------------------------------------------------------- bounds

TEST(yaml_reader_bounds, memory_is_linear_in_the_input) {
  const std::string patterns[] = {"{a,", "[a: ,", "-\n", "- ", "a:\n", "\"\\L\",", "k: [[{}]]\n"};
  for (const std::string& p : patterns) {
    SCOPED_TRACE(p);
    std::string text;
    while (text.size() < 100000) text += p;
    reader r;
    (void)r.read(text);  // some patterns are errors at the end; storage is what counts
    EXPECT_LE(r.node_count(), text.size() + 1);
    // Nodes, text and scratch, with the slack of geometric growth.
    EXPECT_LE(r.capacity_bytes(), 2 * (36 * (text.size() + 1) + text.size() * 3 / 2 + 4 * text.size()) + 4096);
  }
}

TEST(yaml_reader_bounds, a_warm_re_read_does_not_allocate) {
  const std::string doc =
      "a: [1, 2, {b: \"esc\\taped\"}]\nc: |\n  block\n  text\nd:\n- 'it''s'\n- plain\n  folded\n"
      "e: {k1: 1, k2: 2, k3: 3, k4: 4, k5: 5, k6: 6, k7: 7, k8: 8, k9: 9, k10: 10, k11: 11, k12: 12, k13: 13, "
      "k14: 14, k15: 15, k16: 16, k17: 17, k1: dup}\n";
  reader r;
  ASSERT_TRUE(r.read(doc));
  const std::string first = show(r.root());
  namespace heap = test::counting_heap;
  bool ok = true;
  {
    heap::scope counting;
    for (int i = 0; i < 10; ++i) ok = r.read(doc) && ok;
  }
  EXPECT_TRUE(ok);
  EXPECT_EQ(heap::calls(), 0u);
  EXPECT_EQ(show(r.root()), first);
  // A failing read does not allocate either.
  bool read_bad = true;
  {
    heap::scope counting;
    read_bad = r.read("a: [1, &x 2]\n");
  }
  EXPECT_FALSE(read_bad);
  EXPECT_EQ(heap::calls(), 0u);
  // The counter sees a read that has to grow.
  {
    reader fresh;
    heap::scope counting;
    EXPECT_TRUE(fresh.read(doc));
  }
  EXPECT_GT(heap::calls(), 0u);
}

// ------------------------------------------------------------- versus yaml-cpp

TEST(yaml_reader_differential, hand_written_documents) {
  const char* const docs[] = {
      "a: 1\nb:\n  c: [x, y]\n  d: {e: f}\n",
      "- name: istio-proxy\n  args:\n  - proxy\n  - sidecar\n  - --configPath\n  - /etc/istio/proxy\n",
      "key:\n- a\n- b\nother: x\n",
      "a: |\n  one\n  two\n\nb: >-\n  f1\n  f2\n\n   more\n  back\nc: |2\n    two\n",
      "a: 'it''s\n  folded\n\n  x'\n",
      "k: \"a\\tb\\x41\\u00e9\\U0001F600 \\\n    c\n  d\"\n",
      "plain\n  multi\n\n  line\n",
      "[a: 1, b, {c: d}]",
      "{a, b: , \"c\":d}",
      "a:   # comment\n  b # not a key\n",
      "x: >\n\n  a\n  b\n\n  c\n",
      "x: |\n  a\n  \n  b\n",
      "- \"a\"\n- 'b'\n- c d\n- 1\n- ~\n-\n",
      "--- # start\na: 1\n...\n",
      "",
      "a: b\r\nc: d\r\n",
      "resources:\n  limits:\n    cpu: \"2\"\n    memory: 1Gi\n  requests: {cpu: 100m, memory: 128Mi}\n",
      "- - a\n  - b\n- - c\n",
      "a: 'x'   # c\nb: \"y\"\t# c\nc: [1]\t# c\n",
      "a: x\n\n\n# c\n\nb: y\n",
  };
  reader r;
  for (const char* doc : docs) EXPECT_EQ(meshinject::test::yaml_differential(doc, r), "") << doc;
}

// Every document of every injected golden (Istio 1.2 and 1.28): plain YAML as
// kubectl and istioctl write it.
TEST(yaml_reader_differential, injected_istio_goldens) {
  const char* dir = std::getenv("MESHINJECT_CONFORMANCE_DIR");
  if (!dir || !*dir || !fs::is_directory(dir)) GTEST_SKIP() << "conformance data not found (MESHINJECT_CONFORMANCE_DIR)";
  std::vector<fs::path> files;
  for (const char* sub : {"istio-1.2/inject", "istio-1.28/inject"}) {
    if (!fs::is_directory(fs::path(dir) / sub)) continue;
    for (const auto& e : fs::recursive_directory_iterator(fs::path(dir) / sub))
      if (e.path().extension() == ".injected") files.push_back(e.path());
  }
  if (files.empty()) GTEST_SKIP() << "no injected goldens under " << dir;
  reader r;
  std::size_t documents = 0;
  for (const fs::path& f : files) {
    std::ifstream in(f, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    std::vector<std::string> docs(1);
    std::string line;
    while (std::getline(ss, line)) {
      if (line.rfind("---", 0) == 0 && line.find_first_not_of(" \t\r", 3) == std::string::npos) docs.emplace_back();
      else docs.back() += line + "\n";
    }
    for (std::size_t k = 0; k < docs.size(); ++k) {
      ++documents;
      EXPECT_EQ(meshinject::test::yaml_differential(docs[k], r), "") << f << " document " << k;
    }
  }
  EXPECT_GT(documents, 150u);
}

}  // namespace
}  // namespace meshinject::core::yaml
