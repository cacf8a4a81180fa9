#include "cmd/yaml_io.hpp"

#include <simdjson.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "core/yaml_scalar.hpp"
#include "patch/json_text.hpp"

namespace meshinject::cmd::yaml {

value::value() = default;
value::value(const value&) = default;
value::value(value&&) noexcept = default;
value& value::operator=(const value&) = default;
value& value::operator=(value&&) noexcept = default;
value::~value() = default;

// ------------------------------------------------------------------ documents

namespace {

// "---" or "..." followed by a blank, a line end or the end of the text.
bool is_marker(std::string_view line, char c) {
  if (line.size() < 3 || line[0] != c || line[1] != c || line[2] != c) return false;
  return line.size() == 3 || line[3] == ' ' || line[3] == '\t' || line[3] == '\r' || line[3] == '\n';
}

// Directive, comment and blank lines only, with at least one directive.
bool only_directives(std::string_view body) {
  bool any = false;
  std::size_t pos = 0;
  while (pos < body.size()) {
    std::size_t eol = body.find('\n', pos);
    eol = eol == std::string_view::npos ? body.size() : eol + 1;
    const std::string_view line = body.substr(pos, eol - pos);
    const std::size_t first = line.find_first_not_of(" \t\r\n");
    if (line[0] == '%') any = true;
    else if (first != std::string_view::npos && line[first] != '#') return false;
    pos = eol;
  }
  return any;
}

}  // namespace

std::vector<chunk> split_documents(std::string_view text) {
  std::vector<chunk> out;
  chunk current;
  int line_no = 1;
  auto flush = [&](int next_first_line) {
    if (!current.separator.empty() || !current.body.empty()) out.push_back(std::move(current));
    current = chunk{};
    current.first_line = next_first_line;
  };
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t eol = text.find('\n', pos);
    eol = eol == std::string_view::npos ? text.size() : eol + 1;
    const std::string_view line = text.substr(pos, eol - pos);
    if (is_marker(line, '-')) {
      if (only_directives(current.body)) {
        // "%YAML 1.1" and "%TAG" lines belong to the document they precede.
        std::string directives = std::move(current.body);
        const int first = line_no - static_cast<int>(std::count(directives.begin(), directives.end(), '\n'));
        current.body.clear();
        flush(first);
        current.separator = std::move(directives);
      } else {
        flush(line_no);
      }
      current.separator.append(line);
    } else if (is_marker(line, '.')) {
      current.body.append(line);
      flush(line_no + 1);
    } else {
      current.body.append(line);
    }
    pos = eol;
    ++line_no;
  }
  flush(line_no);
  return out;
}

YAML::Node parse_chunk(const chunk& c) {
  try {
    return YAML::Load(c.separator + c.body);
  } catch (const YAML::Exception& e) {
    const int line = e.mark.line >= 0 ? c.first_line + e.mark.line : c.first_line;
    const int column = e.mark.column >= 0 ? e.mark.column + 1 : 0;
    throw input_error(line, column, "invalid YAML: " + e.msg);
  }
}

YAML::Node child(const YAML::Node& map, const std::string& key) {
  if (!map.IsDefined() || !map.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
  const YAML::Node c = map[key];
  return c.IsDefined() ? c : YAML::Node(YAML::NodeType::Undefined);
}

// ---------------------------------------------------------------------- value

value* value::find(std::string_view key) noexcept {
  for (auto& [name, member] : members)
    if (name == key) return &member;
  return nullptr;
}

const value* value::find(std::string_view key) const noexcept {
  for (const auto& [name, member] : members)
    if (name == key) return &member;
  return nullptr;
}

std::string_view value::text_of(std::string_view key) const noexcept {
  const value* v = find(key);
  return v && v->is_string() ? std::string_view(v->s) : std::string_view();
}

namespace {

bool is_number(const value& v) { return v.k == value::kind::integer || v.k == value::kind::floating; }
double as_double(const value& v) { return v.k == value::kind::integer ? static_cast<double>(v.i) : v.f; }

}  // namespace

bool operator==(const value& a, const value& b) {
  if (is_number(a) && is_number(b)) {
    if (a.k == value::kind::integer && b.k == value::kind::integer) return a.i == b.i;
    return as_double(a) == as_double(b);
  }
  if (a.k != b.k) return false;
  switch (a.k) {
    case value::kind::null: return true;
    case value::kind::boolean: return a.b == b.b;
    case value::kind::string: return a.s == b.s;
    case value::kind::sequence: return a.items == b.items;
    case value::kind::mapping: {
      if (a.members.size() != b.members.size()) return false;
      for (const auto& [k, v] : a.members) {
        const value* other = b.find(k);
        if (!other || !(v == *other)) return false;
      }
      return true;
    }
    default: return false;
  }
}

// ------------------------------------------------------------------ from YAML

namespace {

constexpr std::string_view core_tag = "tag:yaml.org,2002:";
constexpr int max_depth = 256;
// Aliases can multiply a small file ("billion laughs"): a document may hold at most
// one value per byte of its text, or kube_input_min_node_bound, whichever is larger.
// A document without aliases never comes near it (every value takes a byte or more).

struct converter {
  int line_offset;
  std::size_t max_nodes;
  std::size_t nodes = 0;

  void position(const YAML::Node& n, value& v, int parent_line, int parent_column) const {
    const YAML::Mark m = n.Mark();
    if (m.line >= 0) {
      v.line = line_offset + m.line;
      v.column = m.column + 1;
    } else {
      v.line = parent_line;
      v.column = parent_column;
    }
  }

  static value typed(const core::yaml_scalar& r, const std::string& text) {
    value v;
    switch (r.k) {
      case core::yaml_scalar::kind::null: v.k = value::kind::null; break;
      case core::yaml_scalar::kind::boolean:
        v.k = value::kind::boolean;
        v.b = r.b;
        break;
      case core::yaml_scalar::kind::integer:
        v.k = value::kind::integer;
        v.i = r.i;
        break;
      case core::yaml_scalar::kind::floating:
        v.k = value::kind::floating;
        v.f = r.f;
        break;
      case core::yaml_scalar::kind::string:
        v.k = value::kind::string;
        v.s = text;
        break;
    }
    return v;
  }

  value scalar(const YAML::Node& n, int line, int column) const {
    const std::string& tag = n.Tag();
    const std::string& text = n.Scalar();
    if (tag == "?") return typed(core::resolve_plain_scalar(text), text);
    if (tag == "!" || tag.empty()) return value::string(text);
    if (tag.rfind(core_tag, 0) == 0) {
      const std::string_view t = std::string_view(tag).substr(core_tag.size());
      if (t == "str") return value::string(text);
      if (t == "binary") {
        std::string compact;
        for (char c : text)
          if (c != ' ' && c != '\n' && c != '\t' && c != '\r') compact += c;
        return value::string(compact);
      }
      if (t == "null") return value{};
      const core::yaml_scalar r = core::resolve_plain_scalar(text);
      if (t == "bool" && r.k == core::yaml_scalar::kind::boolean) return typed(r, text);
      if (t == "int" && r.k == core::yaml_scalar::kind::integer) return typed(r, text);
      if (t == "float" && r.k == core::yaml_scalar::kind::floating) return typed(r, text);
      if (t == "float" && r.k == core::yaml_scalar::kind::integer) {
        value v;
        v.k = value::kind::floating;
        v.f = static_cast<double>(r.i);
        return v;
      }
      if (t == "bool" || t == "int" || t == "float")
        throw input_error(line, column, "\"" + text + "\" is not a valid !!" + std::string(t));
      if (t == "timestamp") return value::string(text);
    }
    throw input_error(line, column, "unsupported YAML tag " + tag);
  }

  // Mapping keys become strings, as sigs.k8s.io/yaml turns them into JSON keys.
  std::string key_text(const YAML::Node& k, int line, int column) const {
    if (k.IsNull()) return "null";
    if (!k.IsScalar()) throw input_error(line, column, "a mapping key must be a scalar");
    const value v = scalar(k, line, column);
    switch (v.k) {
      case value::kind::null: return "null";
      case value::kind::boolean: return v.b ? "true" : "false";
      case value::kind::integer: return std::to_string(v.i);
      case value::kind::floating: return core::format_go_float(v.f);
      default: return v.s;
    }
  }

  value convert(const YAML::Node& n, int depth, int parent_line, int parent_column) {
    if (depth > max_depth) throw input_error(parent_line, parent_column, "the document is nested too deeply");
    if (++nodes > max_nodes)
      throw input_error(parent_line, parent_column,
                        "the document expands to more than " + std::to_string(max_nodes) +
                            " values (excessive aliasing?)");
    value v;
    int line = parent_line, column = parent_column;
    {
      value pos;
      position(n, pos, parent_line, parent_column);
      line = pos.line;
      column = pos.column;
    }
    switch (n.Type()) {
      case YAML::NodeType::Undefined:
      case YAML::NodeType::Null: break;
      case YAML::NodeType::Scalar: v = scalar(n, line, column); break;
      case YAML::NodeType::Sequence:
        v.k = value::kind::sequence;
        for (const auto& item : n) v.items.push_back(convert(item, depth + 1, line, column));
        break;
      case YAML::NodeType::Map: {
        v.k = value::kind::mapping;
        std::vector<value> merges;
        std::unordered_map<std::string, int> seen;  // key -> line of its first occurrence
        for (const auto& kv : n) {
          value key_pos;
          position(kv.first, key_pos, line, column);
          if (kv.first.IsScalar() && kv.first.Tag() == "?" && kv.first.Scalar() == "<<") {
            value source = convert(kv.second, depth + 1, key_pos.line, key_pos.column);
            if (source.is_mapping()) {
              merges.push_back(std::move(source));
            } else if (source.is_sequence()) {
              for (auto& item : source.items) {
                if (!item.is_mapping())
                  throw input_error(key_pos.line, key_pos.column, "a << merge takes a mapping or a list of mappings");
                merges.push_back(std::move(item));
              }
            } else {
              throw input_error(key_pos.line, key_pos.column, "a << merge takes a mapping or a list of mappings");
            }
            continue;
          }
          std::string key = key_text(kv.first, key_pos.line, key_pos.column);
          if (const auto it = seen.find(key); it != seen.end())
            throw input_error(key_pos.line, key_pos.column,
                              "duplicate key \"" + key + "\" (first at line " + std::to_string(it->second) + ")");
          seen.emplace(key, key_pos.line);
          v.members.emplace_back(std::move(key), convert(kv.second, depth + 1, key_pos.line, key_pos.column));
        }
        // go-yaml: explicit keys win over merged ones, earlier merged maps over later.
        for (auto& source : merges)
          for (auto& [k, mv] : source.members)
            if (seen.emplace(k, 0).second) v.members.emplace_back(k, std::move(mv));
        break;
      }
    }
    v.line = line;
    v.column = column;
    return v;
  }
};

}  // namespace

value from_yaml(const YAML::Node& node, int line_offset, std::size_t source_bytes) {
  converter c{line_offset, std::max(kube_input_min_node_bound, source_bytes)};
  return c.convert(node, 0, line_offset, 1);
}

// ------------------------------------------------------------------ from JSON

value from_json(simdjson::dom::element e) {
  value v;
  switch (e.type()) {
    case simdjson::dom::element_type::ARRAY: {
      v.k = value::kind::sequence;
      const simdjson::dom::array array = e.get_array().value_unsafe();  // named: the range must outlive the loop
      for (simdjson::dom::element item : array) v.items.push_back(from_json(item));
      break;
    }
    case simdjson::dom::element_type::OBJECT: {
      v.k = value::kind::mapping;
      const simdjson::dom::object object = e.get_object().value_unsafe();
      for (auto field : object) {
        // Duplicate keys in a patch value: the last wins, as Go's decoder does.
        if (value* existing = v.find(field.key)) *existing = from_json(field.value);
        else v.members.emplace_back(std::string(field.key), from_json(field.value));
      }
      break;
    }
    case simdjson::dom::element_type::INT64:
      v.k = value::kind::integer;
      v.i = e.get_int64().value_unsafe();
      break;
    case simdjson::dom::element_type::UINT64:
      v.k = value::kind::floating;
      v.f = static_cast<double>(e.get_uint64().value_unsafe());
      break;
    case simdjson::dom::element_type::DOUBLE:
      v.k = value::kind::floating;
      v.f = e.get_double().value_unsafe();
      break;
    case simdjson::dom::element_type::STRING:
      v.k = value::kind::string;
      v.s = std::string(e.get_string().value_unsafe());
      break;
    case simdjson::dom::element_type::BOOL:
      v.k = value::kind::boolean;
      v.b = e.get_bool().value_unsafe();
      break;
    case simdjson::dom::element_type::NULL_VALUE: break;
  }
  return v;
}

// -------------------------------------------------------------------- to JSON

namespace {

void append_number(const value& v, std::string& out) {
  if (v.k == value::kind::integer) {
    patch::append_int(out, v.i);
    return;
  }
  if (!std::isfinite(v.f)) {
    throw std::runtime_error(std::string("the value ") + (std::isnan(v.f) ? ".nan" : (v.f > 0 ? ".inf" : "-.inf")) +
                             (v.line ? " at line " + std::to_string(v.line) : std::string()) +
                             " cannot be represented in JSON");
  }
  out += core::format_go_float(v.f);
}

void append_pretty(const value& v, std::string& out, int indent, int depth) {
  auto newline = [&](int d) {
    out += '\n';
    out.append(static_cast<std::size_t>(indent * d), ' ');
  };
  switch (v.k) {
    case value::kind::sequence:
      if (v.items.empty()) {
        out += "[]";
        return;
      }
      out += '[';
      for (std::size_t i = 0; i < v.items.size(); ++i) {
        if (i) out += ',';
        newline(depth + 1);
        append_pretty(v.items[i], out, indent, depth + 1);
      }
      newline(depth);
      out += ']';
      return;
    case value::kind::mapping:
      if (v.members.empty()) {
        out += "{}";
        return;
      }
      out += '{';
      for (std::size_t i = 0; i < v.members.size(); ++i) {
        if (i) out += ',';
        newline(depth + 1);
        patch::append_json_string(out, v.members[i].first);
        out += ": ";
        append_pretty(v.members[i].second, out, indent, depth + 1);
      }
      newline(depth);
      out += '}';
      return;
    default: append_json(v, out);
  }
}

}  // namespace

void append_json(const value& v, std::string& out) {
  switch (v.k) {
    case value::kind::null: out += "null"; return;
    case value::kind::boolean: out += v.b ? "true" : "false"; return;
    case value::kind::integer:
    case value::kind::floating: append_number(v, out); return;
    case value::kind::string: patch::append_json_string(out, v.s); return;
    case value::kind::sequence:
      out += '[';
      for (std::size_t i = 0; i < v.items.size(); ++i) {
        if (i) out += ',';
        append_json(v.items[i], out);
      }
      out += ']';
      return;
    case value::kind::mapping:
      out += '{';
      for (std::size_t i = 0; i < v.members.size(); ++i) {
        if (i) out += ',';
        patch::append_json_string(out, v.members[i].first);
        out += ':';
        append_json(v.members[i].second, out);
      }
      out += '}';
      return;
  }
}

std::string to_json(const value& v) {
  std::string out;
  append_json(v, out);
  return out;
}

std::string to_pretty_json(const value& v, int indent) {
  std::string out;
  append_pretty(v, out, indent, 0);
  return out;
}

// -------------------------------------------------------------------- to YAML

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Characters that may make up a number, date or time in some YAML dialect
// (1.2 octal 0o17, 1.1 sexagesimal 1:20, timestamps 2001-12-14 21:59:43.10).
bool number_like(std::string_view s) {
  for (char c : s)
    if (!(is_digit(c) || c == '.' || c == '-' || c == '+' || c == ':' || c == '_' || c == 'e' || c == 'E' || c == 'x' ||
          c == 'X' || c == 'o' || c == 'O' || c == 'b' || c == 'B' || c == 'T' || c == 't' || c == 'Z' || c == ' ' ||
          (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
      return false;
  return true;
}

// Line breaks and other code points YAML treats specially: must be escaped.
bool has_special_code_point(std::string_view s) {
  for (std::size_t i = 0; i + 1 < s.size(); ++i) {
    const auto a = static_cast<unsigned char>(s[i]), b = static_cast<unsigned char>(s[i + 1]);
    if (a == 0xC2 && b == 0x85) return true;  // NEL
    if (i + 2 < s.size()) {
      const auto c = static_cast<unsigned char>(s[i + 2]);
      if (a == 0xE2 && b == 0x80 && (c == 0xA8 || c == 0xA9)) return true;  // LS, PS
      if (a == 0xEF && b == 0xBB && c == 0xBF) return true;                 // BOM
    }
  }
  return false;
}

bool valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    const std::size_t n = patch::utf8_sequence_length(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

bool plain_is_safe(std::string_view s) {
  if (s.empty()) return false;
  if (s.front() == ' ' || s.back() == ' ') return false;
  if (core::resolve_plain_scalar(s).k != core::yaml_scalar::kind::string) return false;
  if (s == "<<" || s == "=") return false;
  // Numbers, dates and times of other YAML dialects.
  if (is_digit(s[0]) && number_like(s)) return false;
  if ((s[0] == '+' || s[0] == '-' || s[0] == '.') && s.size() > 1 && (is_digit(s[1]) || s[1] == '.') &&
      number_like(s.substr(1)))
    return false;
  if (s.rfind("---", 0) == 0 || s.rfind("...", 0) == 0) return false;
  // Indicators that start something else than a plain scalar.
  if ((s[0] == '-' || s[0] == '?' || s[0] == ':') && (s.size() == 1 || s[1] == ' ')) return false;
  if (std::string_view(",[]{}#&*!|>'\"%@`").find(s[0]) != std::string_view::npos) return false;
  if (s.back() == ':') return false;
  if (s.find(": ") != std::string_view::npos || s.find(" #") != std::string_view::npos) return false;
  return true;
}

void append_double_quoted(std::string_view s, std::string& out) {
  static constexpr char hex[] = "0123456789ABCDEF";
  out += '"';
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      const std::size_t n = patch::utf8_sequence_length(s, i);
      if (n == 0) {
        out += "\\uFFFD";  // as Go's JSON encoder: Kubernetes would hold U+FFFD
        ++i;
        continue;
      }
      const std::string_view seq = s.substr(i, n);
      if (seq == "\xC2\x85") out += "\\u0085";
      else if (seq == "\xE2\x80\xA8") out += "\\u2028";
      else if (seq == "\xE2\x80\xA9") out += "\\u2029";
      else if (seq == "\xEF\xBB\xBF") out += "\\uFEFF";
      else out.append(seq);
      i += n;
      continue;
    }
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      case '\0': out += "\\0"; break;
      default:
        if (c < 0x20 || c == 0x7F) {
          out += "\\x";
          out += hex[c >> 4];
          out += hex[c & 15];
        } else {
          out += static_cast<char>(c);
        }
    }
    ++i;
  }
  out += '"';
}

void append_single_quoted(std::string_view s, std::string& out) {
  out += '\'';
  for (char c : s) {
    if (c == '\'') out += "''";
    else out += c;
  }
  out += '\'';
}

void indent_to(std::string& out, int n) { out.append(static_cast<std::size_t>(n), ' '); }

// A literal block scalar: the indicator, then each line at `indent` columns.
void append_literal(std::string_view s, int indent, std::string& out) {
  std::size_t trailing = 0;
  while (trailing < s.size() && s[s.size() - 1 - trailing] == '\n') ++trailing;
  out += trailing == 0 ? "|-" : trailing == 1 ? "|" : "|+";
  out += '\n';
  std::string_view content = s.substr(0, s.size() - trailing);
  std::size_t pos = 0;
  while (true) {
    const std::size_t eol = content.find('\n', pos);
    const std::string_view line =
        content.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol - pos);
    if (!line.empty()) indent_to(out, indent);
    out.append(line);
    out += '\n';
    if (eol == std::string_view::npos) break;
    pos = eol + 1;
  }
  for (std::size_t k = 1; k < trailing; ++k) out += '\n';
}

void append_string(std::string_view s, bool is_key, int indent, std::string& out) {
  switch (style_for(s, is_key)) {
    case scalar_style::plain: out.append(s); break;
    case scalar_style::single_quoted: append_single_quoted(s, out); break;
    case scalar_style::double_quoted: append_double_quoted(s, out); break;
    case scalar_style::literal: append_literal(s, indent, out); return;  // ends with its own newline
  }
}

// A scalar (or an empty collection) after "key: " or "- ". Ends the line.
void append_scalar_line(const value& v, int indent, std::string& out) {
  switch (v.k) {
    case value::kind::null: out += "null"; break;
    case value::kind::boolean: out += v.b ? "true" : "false"; break;
    case value::kind::integer: out += std::to_string(v.i); break;
    case value::kind::floating:
      if (std::isnan(v.f)) out += ".nan";
      else if (std::isinf(v.f)) out += v.f > 0 ? ".inf" : "-.inf";
      else out += core::format_go_float(v.f);
      break;
    case value::kind::string:
      if (style_for(v.s, false) == scalar_style::literal) {
        append_literal(v.s, indent, out);
        return;
      }
      append_string(v.s, false, indent, out);
      break;
    case value::kind::sequence: out += "[]"; break;
    case value::kind::mapping: out += "{}"; break;
  }
  out += '\n';
}

bool is_block(const value& v) {
  return (v.is_mapping() && !v.members.empty()) || (v.is_sequence() && !v.items.empty());
}

void emit_sequence(const value& v, int indent, bool continues_line, std::string& out);

// Members of a non-empty mapping at `indent`; the first one continues the
// current line when `continues_line` (after "- ").
void emit_mapping(const value& v, int indent, bool continues_line, std::string& out) {
  bool first = true;
  for (const auto& [key, member] : v.members) {
    if (!(first && continues_line)) indent_to(out, indent);
    first = false;
    append_string(key, true, indent, out);
    out += ':';
    if (member.is_mapping() && !member.members.empty()) {
      out += '\n';
      emit_mapping(member, indent + 2, false, out);
    } else if (member.is_sequence() && !member.items.empty()) {
      out += '\n';
      emit_sequence(member, indent, false, out);
    } else {
      out += ' ';
      append_scalar_line(member, indent + 2, out);
    }
  }
}

void emit_sequence(const value& v, int indent, bool continues_line, std::string& out) {
  bool first = true;
  for (const value& item : v.items) {
    if (!(first && continues_line)) indent_to(out, indent);
    first = false;
    out += "- ";
    if (item.is_mapping() && is_block(item)) emit_mapping(item, indent + 2, true, out);
    else if (item.is_sequence() && is_block(item)) emit_sequence(item, indent + 2, true, out);
    else append_scalar_line(item, indent + 2, out);
  }
}

}  // namespace

scalar_style style_for(std::string_view s, bool is_key) {
  bool control = false, newline = false;
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '\n') newline = true;
    else if ((c < 0x20 && c != '\t') || c == 0x7F) control = true;
  }
  if (control || has_special_code_point(s) || !valid_utf8(s)) return scalar_style::double_quoted;
  if (newline) {
    // A literal block keeps the text as it is, if its first line fixes the indentation.
    if (is_key || s.front() == ' ' || s.front() == '\n' || s.front() == '\t') return scalar_style::double_quoted;
    return scalar_style::literal;
  }
  if (s.find('\t') != std::string_view::npos) return scalar_style::double_quoted;
  if (plain_is_safe(s)) return scalar_style::plain;
  return scalar_style::single_quoted;
}

std::string emit(const value& v) {
  std::string out;
  if (v.is_mapping() && !v.members.empty()) emit_mapping(v, 0, false, out);
  else if (v.is_sequence() && !v.items.empty()) emit_sequence(v, 0, false, out);
  else append_scalar_line(v, 2, out);
  return out;
}

}  // namespace meshinject::cmd::yaml
