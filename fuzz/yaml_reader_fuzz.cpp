// The YAML reader alone (core/yaml_reader): any bytes are read without a crash,
// a sanitizer report or an exception, errors point inside the input, and a tree
// that is read is walked in full. When yaml-cpp also reads the bytes as one
// document, both trees must agree (shape, scalar text, nulls, quoted-or-plain):
// the reader is go-yaml's subset and yaml-cpp agrees with go-yaml on it. The
// reader is reused across inputs, as a reactor reuses it.

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/yaml_reader.hpp"
#include "tests/support/yaml_oracle.hpp"

namespace {

namespace y = meshinject::core::yaml;

bool tagged = false;
bool blank_quoted = false;    // a quoted scalar of breaks and spaces, or starting or ending with a break
bool quoted_newline = false;  // a quoted scalar with a line break in its text

std::size_t walk(y::node n, std::size_t depth) {
  if (depth > y::max_depth + 1) std::abort();
  std::size_t count = 1, seen = 0;
  volatile char sink = 0;
  for (const char c : n.text()) sink = static_cast<char>(sink ^ c);
  for (const char c : n.tag()) sink = static_cast<char>(sink ^ c);
  tagged = tagged || !n.tag().empty();
  if (n.is_scalar() && (n.style() == y::scalar_style::single_quoted || n.style() == y::scalar_style::double_quoted) &&
      n.text().find('\n') != std::string_view::npos) {
    quoted_newline = true;
    blank_quoted = blank_quoted || n.text().find_first_not_of(" \n") == std::string_view::npos ||
                   n.text().front() == '\n' || n.text().back() == '\n';
  }
  for (const y::node item : n.items()) {
    count += walk(item, depth + 1);
    ++seen;
  }
  for (const auto e : n.entries()) {
    if (!e.key.is_scalar()) std::abort();
    count += walk(e.key, depth + 1) + walk(e.value, depth + 1);
    ++seen;
  }
  if (!n.is_scalar() && seen != n.size()) std::abort();
  return count;
}

bool has_blank_line(const std::string& text) {
  std::size_t start = 0;
  for (std::size_t i = 0; i <= text.size(); ++i) {
    if (i < text.size() && text[i] != '\n') continue;
    const std::string_view line = std::string_view(text).substr(start, i - start);
    if (!line.empty() && line.find_first_not_of(" \t\r") == std::string_view::npos) return true;
    start = i + 1;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static y::reader r;
  const std::string text(reinterpret_cast<const char*>(data), size);
  if (!r.read(text)) {
    const y::read_error& e = r.error();
    if (e.at.line == 0 || e.at.column == 0 || e.message.empty() || r.root()) std::abort();
    return 0;
  }
  tagged = blank_quoted = quoted_newline = false;
  if (walk(r.root(), 0) != r.node_count()) std::abort();
  if (r.node_count() > size + 1) std::abort();
  // Known differences, where the reader follows go-yaml: a lone CR is a line
  // break to go-yaml and nothing to yaml-cpp; go-yaml's tags take all of a
  // URI's characters (yaml-cpp ends them at `,`), and a tagged top-level plain
  // scalar continues on the next line (yaml-cpp ends it); yaml-cpp writes the
  // escapes \N and \_ as one byte each, not as UTF-8; yaml-cpp folds the line
  // breaks that start or end a quoted scalar, and lines of blanks inside one,
  // differently from go-yaml (which follows the spec); a last line of
  // blanks without a line break is content of a block scalar to yaml-cpp (an
  // empty line to go-yaml); in a flow collection, go-yaml v2 ends a plain
  // scalar at `:` only before a blank (`{a::}` is the key "a::"), yaml-cpp also
  // before `,]}`; with keep chomping (`|+`, `>+`, `|2+`), yaml-cpp drops an empty
  // line that ends the document (`>+\n -\n\n`: "-\n" where go-yaml and PyYAML
  // keep "-\n\n", tests/core/yaml_reader_test.cpp). Templates emit none of these.
  if (tagged || blank_quoted) return 0;
  for (std::size_t plus = text.find('+'); plus != std::string::npos; plus = text.find('+', plus + 1)) {
    std::size_t indicator = plus;
    if (indicator > 0 && text[indicator - 1] >= '1' && text[indicator - 1] <= '9') --indicator;
    if (indicator > 0 && (text[indicator - 1] == '|' || text[indicator - 1] == '>')) return 0;
  }
  for (const char* colon : {":,", ":]", ":}"})
    if (text.find(colon) != std::string::npos) return 0;
  if (quoted_newline && has_blank_line(text)) return 0;
  const std::size_t last_line = text.find_last_of('\n');
  if (last_line != std::string::npos && last_line + 1 < size &&
      text.find_first_not_of(" \t", last_line + 1) == std::string::npos)
    return 0;
  for (std::size_t i = 0; i < size; ++i) {
    if (text[i] == '\r' && (i + 1 == size || text[i + 1] != '\n')) return 0;
    if (text[i] == '\\' && i + 1 < size && (text[i + 1] == 'N' || text[i + 1] == '_')) return 0;
  }
  const std::string diff = meshinject::test::yaml_differential(text, r);
  if (!diff.empty() && diff.rfind("yaml-cpp refuses it", 0) != 0) {
    std::fprintf(stderr, "yaml_reader_fuzz: the reader and yaml-cpp disagree:\n%s", diff.c_str());
    std::abort();
  }
  return 0;
}
