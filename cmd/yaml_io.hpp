#pragma once
// Kubernetes YAML files for kube-inject and explain: splitting a file into its
// documents without losing a byte, reading a document the way the apiserver
// reads it (go-yaml v2 / YAML 1.1 scalar typing, merge keys), and writing a
// changed document back as YAML that reads back to exactly the same object.
//
// Cold path (CLI): clarity first, exceptions for errors.

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace YAML {
class Node;
}

namespace simdjson::dom {
class element;
}

namespace meshinject::cmd::yaml {

// One document of a multi-document file. `separator + body` of every chunk, in
// order, is the file byte for byte; an unchanged document is written back as
// exactly that text.
struct chunk {
  std::string separator;  // the "---" line before the document ("" for the first chunk)
  std::string body;       // the document's text, through the line before the next "---"
  int first_line = 1;     // 1-based file line where `separator + body` starts
};

std::vector<chunk> split_documents(std::string_view text);

// An error at a place in the input: "line:column: message" relative to the file.
struct input_error : std::runtime_error {
  input_error(int line_, int column_, const std::string& message)
      : std::runtime_error(message), line(line_), column(column_) {}
  int line;
  int column;
};

// Parses one chunk with yaml-cpp. A chunk with only comments gives a null node.
// Throws input_error (file line and column) for YAML syntax errors.
YAML::Node parse_chunk(const chunk& c);

// map[key] that never throws: an undefined node when `map` is not a mapping or
// has no such key (yaml-cpp's operator[] throws on scalars and its missing-key
// nodes throw on use).
YAML::Node child(const YAML::Node& map, const std::string& key);

// A JSON-shaped tree that keeps mapping keys in their order and remembers where
// each value came from. Scalars are typed: strings, integers, floats, booleans,
// null, as Kubernetes would read them.
struct value {
  enum class kind : std::uint8_t { null, boolean, integer, floating, string, sequence, mapping };

  kind k = kind::null;
  bool b = false;
  std::int64_t i = 0;
  double f = 0.0;
  std::string s;
  std::vector<value> items;                            // sequence
  std::vector<std::pair<std::string, value>> members;  // mapping, in input order
  int line = 0;  // 1-based file position; 0 for values that did not come from the input
  int column = 0;

  // Defined in yaml_io.cpp: `members` holds pairs of this very type, and clang
  // with libstdc++ refuses to instantiate their destructor while it is incomplete.
  value();
  value(const value&);
  value(value&&) noexcept;
  value& operator=(const value&);
  value& operator=(value&&) noexcept;
  ~value();

  static value string(std::string text) {
    value v;
    v.k = kind::string;
    v.s = std::move(text);
    return v;
  }
  static value mapping() {
    value v;
    v.k = kind::mapping;
    return v;
  }

  bool is_mapping() const noexcept { return k == kind::mapping; }
  bool is_sequence() const noexcept { return k == kind::sequence; }
  bool is_string() const noexcept { return k == kind::string; }
  bool is_null() const noexcept { return k == kind::null; }

  value* find(std::string_view key) noexcept;
  const value* find(std::string_view key) const noexcept;
  // The string member `key`, or "" when absent or not a string.
  std::string_view text_of(std::string_view key) const noexcept;
};

bool operator==(const value& a, const value& b);  // JSON equality (1 == 1.0; key order free)

// Converts a yaml-cpp node as Kubernetes reads YAML (sigs.k8s.io/yaml over
// go-yaml v2): plain scalars typed by YAML 1.1, quoted and block scalars are
// strings, `!!str`/`!!int`/... tags honoured, `<<` merge keys applied, mapping
// keys turned into strings. `line_offset` is added to yaml-cpp's 0-based line.
// Throws input_error for duplicate keys, complex keys and unknown tags.
// A document expands to at most max(kube_input_min_node_bound, source_bytes) values,
// so an alias bomb is refused before it fills memory.
inline constexpr std::size_t kube_input_min_node_bound = 100'000;
value from_yaml(const YAML::Node& node, int line_offset, std::size_t source_bytes = 0);

// From parsed JSON (a patch value).
value from_json(simdjson::dom::element e);

// Compact JSON. Throws std::runtime_error for NaN and infinities, which JSON
// cannot hold (nor can Kubernetes).
std::string to_json(const value& v);
void append_json(const value& v, std::string& out);
// Indented JSON, for people.
std::string to_pretty_json(const value& v, int indent = 2);

// Block-style YAML in kubectl's layout (sequences under a key are not indented),
// mapping keys in the tree's order, ending with a newline. Strings that would read
// back as anything else ("1337", "true", "*", "", "on", "15020", "a: b") are quoted.
std::string emit(const value& v);

// How a string must be written as a YAML scalar; exposed for tests.
enum class scalar_style : std::uint8_t { plain, single_quoted, double_quoted, literal };
scalar_style style_for(std::string_view s, bool is_key);

}  // namespace meshinject::cmd::yaml
