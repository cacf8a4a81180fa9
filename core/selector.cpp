#include "core/selector.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <limits>

#include "core/error.hpp"
#include "core/json_text.hpp"

namespace meshinject::core {

namespace {

constexpr std::size_t max_label_name = 63;
constexpr std::size_t max_subdomain = 253;

bool is_alnum(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
bool is_lower_alnum(char c) noexcept { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

// [A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?
bool is_label_name_shape(std::string_view s) noexcept {
  if (s.empty() || !is_alnum(s.front()) || !is_alnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return is_alnum(c) || c == '-' || c == '_' || c == '.'; });
}

// RFC 1123 subdomain: dot-separated [a-z0-9]([-a-z0-9]*[a-z0-9])?
bool is_dns1123_subdomain(std::string_view s) noexcept {
  if (s.empty() || s.size() > max_subdomain) return false;
  std::size_t start = 0;
  while (true) {
    std::size_t dot = s.find('.', start);
    std::string_view part = s.substr(start, dot == std::string_view::npos ? s.npos : dot - start);
    if (part.empty() || !is_lower_alnum(part.front()) || !is_lower_alnum(part.back())) return false;
    for (char c : part)
      if (!is_lower_alnum(c) && c != '-') return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

const char* const name_charset_rule =
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character";

std::string quoted(std::string_view s) { return quote_for_humans(s); }

std::string_view yaml_type_name(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map:
      return "map";
    case YAML::NodeType::Sequence:
      return "list";
    case YAML::NodeType::Scalar:
      return "scalar";
    case YAML::NodeType::Null:
      return "null";
    case YAML::NodeType::Undefined:
      break;
  }
  return "nothing";
}

bool is_yaml11_bool(std::string_view s) noexcept {
  static constexpr std::string_view words[] = {"y",  "Y",  "yes",  "Yes",  "YES",  "n",     "N",     "no",
                                               "No", "NO", "true", "True", "TRUE", "false", "False", "FALSE",
                                               "on", "On", "ON",   "off",  "Off",  "OFF"};
  return std::find(std::begin(words), std::end(words), s) != std::end(words);
}

bool all_of_digits(std::string_view s, std::string_view digits) noexcept {
  return !s.empty() && s.find_first_not_of(digits) == std::string_view::npos;
}

// What go-yaml (behind Istio's config loader) reads as an integer or a float:
// underscores are dropped, then Go integer syntax with base prefixes, or
// [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?, or the .inf/.nan words.
bool is_yaml_number(std::string_view text) {
  if (text.empty()) return false;
  char first = text.front();
  if (!is_digit(first) && first != '+' && first != '-' && first != '.') return false;
  static constexpr std::string_view specials[] = {".inf",  ".Inf",  ".INF",  "+.inf", "+.Inf", "+.INF",
                                                  "-.inf", "-.Inf", "-.INF", ".nan",  ".NaN",  ".NAN"};
  if (std::find(std::begin(specials), std::end(specials), text) != std::end(specials)) return true;

  std::string s;
  for (char c : text)
    if (c != '_') s += c;
  std::string_view v = s;
  if (!v.empty() && (v.front() == '+' || v.front() == '-')) v.remove_prefix(1);
  if (v.size() > 2 && v[0] == '0') {
    char base = v[1];
    std::string_view rest = v.substr(2);
    if ((base == 'x' || base == 'X') && all_of_digits(rest, "0123456789abcdefABCDEF")) return true;
    if ((base == 'o' || base == 'O') && all_of_digits(rest, "01234567")) return true;
    if ((base == 'b' || base == 'B') && all_of_digits(rest, "01")) return true;
  }
  // Float syntax (which also covers plain decimal integers).
  std::size_t i = 0;
  std::size_t int_digits = 0;
  while (i < v.size() && is_digit(v[i])) ++i, ++int_digits;
  std::size_t frac_digits = 0;
  if (i < v.size() && v[i] == '.') {
    ++i;
    while (i < v.size() && is_digit(v[i])) ++i, ++frac_digits;
  }
  if (int_digits == 0 && frac_digits == 0) return false;
  if (i < v.size() && (v[i] == 'e' || v[i] == 'E')) {
    ++i;
    if (i < v.size() && (v[i] == '+' || v[i] == '-')) ++i;
    std::size_t exp_digits = 0;
    while (i < v.size() && is_digit(v[i])) ++i, ++exp_digits;
    if (exp_digits == 0) return false;
  }
  return i == v.size();
}

// Decimal integers Istio's loader turns back into the same text: -?(0|[1-9][0-9]*),
// kept well inside int64.
bool is_canonical_integer(std::string_view s) noexcept {
  if (!s.empty() && s.front() == '-') s.remove_prefix(1);
  if (s.empty() || s.size() > 18 || !all_of_digits(s, "0123456789")) return false;
  return s == "0" || s.front() != '0';
}

}  // namespace

std::string label_key_error(std::string_view key) {
  std::string_view name = key;
  std::size_t slash = key.find('/');
  if (slash != std::string_view::npos) {
    std::string_view prefix = key.substr(0, slash);
    name = key.substr(slash + 1);
    if (name.find('/') != std::string_view::npos)
      return "a label key is an optional DNS subdomain prefix and a name, separated by one '/'";
    if (prefix.empty()) return "prefix part must be non-empty";
    if (prefix.size() > max_subdomain) return "prefix part must be no more than 253 characters";
    if (!is_dns1123_subdomain(prefix))
      return "prefix part must be a lowercase RFC 1123 subdomain: lowercase alphanumeric characters, "
             "'-' or '.', each dot-separated part starting and ending with an alphanumeric character";
  }
  if (name.empty()) return "name part must be non-empty";
  if (name.size() > max_label_name) return "name part must be no more than 63 characters";
  if (!is_label_name_shape(name)) return std::string("name part ") + name_charset_rule;
  return {};
}

std::string label_value_error(std::string_view value) {
  if (value.empty()) return {};
  if (value.size() > max_label_name) return "must be no more than 63 characters";
  if (!is_label_name_shape(value)) return name_charset_rule;
  return {};
}

class selector_list::builder {
 public:
  builder(const std::string& file, std::string_view field) : file_(file), field_(field) {}

  selector_list build(const YAML::Node& node) {
    if (!node.IsDefined() || node.IsNull()) return std::move(out_);
    if (!node.IsSequence())
      fail(node, field_, "must be a list of label selectors, found a " + std::string(yaml_type_name(node)));
    std::size_t index = 0;
    for (const YAML::Node& sel : node) selector(sel, field_ + '[' + std::to_string(index++) + ']');
    return std::move(out_);
  }

 private:
  struct requirement {
    opcode op;
    bool from_match_labels;
    std::string key;
    std::vector<std::string> values;
  };

  [[noreturn]] void fail(const YAML::Node& at, const std::string& path, const std::string& message) {
    YAML::Mark mark = at.Mark();
    fail(mark, path, message);
  }
  [[noreturn]] void fail(const YAML::Mark& mark, const std::string& path, const std::string& message) {
    source_position where{file_, mark.is_null() ? 0 : mark.line + 1, mark.is_null() ? 0 : mark.column + 1};
    throw config_error(std::move(where), path + ": " + message);
  }

  // A scalar that Istio's loader reads as a string. Plain scalars that YAML types
  // as numbers or booleans are accepted only when the loader's string coercion
  // gives back the same text (`1`, `true`); others (`yes`, `1.0`, `0x1f`) would
  // silently become something else, so they are rejected with a hint to quote.
  std::string string_scalar(const YAML::Node& n, const YAML::Mark& fallback, const std::string& path,
                            std::string_view what) {
    // A null node's mark is wherever the next token starts, so point at its key.
    if (!n.IsDefined() || n.IsNull())
      fail(fallback, path, std::string(what) + " must be a string, found null");
    if (!n.IsScalar())
      fail(n, path, std::string(what) + " must be a string, found a " + std::string(yaml_type_name(n)));
    const std::string& text = n.Scalar();
    const std::string& tag = n.Tag();
    if (tag == "!" || tag == "tag:yaml.org,2002:str") return text;
    if (tag != "?") fail(n, path, std::string(what) + " has unsupported YAML tag " + quoted(tag));
    std::string_view kind;
    if (is_yaml11_bool(text)) {
      if (text == "true" || text == "false") return text;
      kind = "a YAML boolean";
    } else if (is_yaml_number(text)) {
      if (is_canonical_integer(text)) return text;
      kind = "a YAML number";
    } else {
      return text;
    }
    fail(n, path,
         std::string(what) + " " + text + " is " + std::string(kind) +
             ", not a string; quote it: " + quoted(text));
  }

  std::string key_of(const YAML::Node& k, const std::string& path) {
    return string_scalar(k, k.Mark(), path, "field name");
  }

  void selector(const YAML::Node& sel, const std::string& path) {
    if (!sel.IsMap())
      fail(sel, path,
           "a label selector must be a map with matchLabels and/or matchExpressions, found a " +
               std::string(yaml_type_name(sel)));
    YAML::Node match_labels;
    YAML::Node match_expressions;
    YAML::Mark labels_mark;
    bool seen_labels = false, seen_expressions = false;
    for (auto it = sel.begin(); it != sel.end(); ++it) {
      std::string field = key_of(it->first, path);
      if (field == "matchLabels") {
        if (seen_labels) fail(it->first, path, "duplicate field matchLabels");
        seen_labels = true;
        match_labels = it->second;
        labels_mark = it->first.Mark();
      } else if (field == "matchExpressions") {
        if (seen_expressions) fail(it->first, path, "duplicate field matchExpressions");
        seen_expressions = true;
        match_expressions = it->second;
      } else {
        fail(it->first, path,
             "unknown field " + quoted(field) +
                 " in a label selector (valid fields: matchLabels, matchExpressions)");
      }
    }

    std::vector<requirement> reqs;
    if (seen_labels) labels(match_labels, labels_mark, path + ".matchLabels", reqs);
    if (seen_expressions) expressions(match_expressions, path + ".matchExpressions", reqs);
    emit(reqs);
  }

  void labels(const YAML::Node& map, const YAML::Mark& key_mark, const std::string& path,
              std::vector<requirement>& reqs) {
    if (map.IsNull()) return;
    if (!map.IsMap()) {
      fail(map.Mark().is_null() ? key_mark : map.Mark(), path,
           "matchLabels must be a map of label keys to values, found a " + std::string(yaml_type_name(map)));
    }
    std::size_t first = reqs.size();
    for (auto it = map.begin(); it != map.end(); ++it) {
      std::string key = string_scalar(it->first, it->first.Mark(), path, "label key");
      const bool plain = key.find_first_of("./") == std::string::npos && label_key_error(key).empty();
      std::string entry_path = plain ? path + '.' + key : path + '[' + quoted(key) + ']';
      check_key(it->first, entry_path, key);
      for (std::size_t i = first; i < reqs.size(); ++i)
        if (reqs[i].key == key) fail(it->first, entry_path, "duplicate label key " + quoted(key));
      std::string value = string_scalar(it->second, it->first.Mark(), entry_path, "label value");
      check_value(it->second, entry_path, value);
      reqs.push_back({opcode::in, true, std::move(key), {std::move(value)}});
    }
  }

  void expressions(const YAML::Node& list, const std::string& path, std::vector<requirement>& reqs) {
    if (list.IsNull()) return;
    if (!list.IsSequence())
      fail(list, path,
           "matchExpressions must be a list of {key, operator, values}, found a " +
               std::string(yaml_type_name(list)));
    std::size_t index = 0;
    for (const YAML::Node& expr : list) {
      std::string expr_path = path + '[' + std::to_string(index++) + ']';
      if (!expr.IsMap())
        fail(expr, expr_path,
             "a match expression must be a map with key, operator and values, found a " +
                 std::string(yaml_type_name(expr)));
      YAML::Node key_node, op_node, values_node;
      YAML::Mark key_mark = expr.Mark(), op_mark = expr.Mark(), values_mark = expr.Mark();
      bool has_key = false, has_op = false, has_values = false;
      for (auto it = expr.begin(); it != expr.end(); ++it) {
        std::string field = key_of(it->first, expr_path);
        // Assigning to a YAML::Node that already refers to a node writes through
        // it, so every slot is assigned once, after the duplicate check.
        YAML::Node* slot = nullptr;
        bool* seen = nullptr;
        if (field == "key") {
          slot = &key_node, seen = &has_key;
          key_mark = it->first.Mark();
        } else if (field == "operator") {
          slot = &op_node, seen = &has_op;
          op_mark = it->first.Mark();
        } else if (field == "values") {
          slot = &values_node, seen = &has_values;
          values_mark = it->first.Mark();
        } else {
          fail(it->first, expr_path,
               "unknown field " + quoted(field) +
                   " in a match expression (valid fields: key, operator, values)");
        }
        if (*seen) fail(it->first, expr_path, "duplicate field " + field);
        *seen = true;
        *slot = it->second;
      }
      if (!has_key) fail(expr, expr_path, "a match expression needs a key");
      if (!has_op) fail(expr, expr_path, "a match expression needs an operator");

      requirement req{opcode::exists, false, {}, {}};
      req.key = string_scalar(key_node, key_mark, expr_path + ".key", "key");
      check_key(key_node, expr_path + ".key", req.key);

      std::string op = string_scalar(op_node, op_mark, expr_path + ".operator", "operator");
      if (op == "In")
        req.op = opcode::in;
      else if (op == "NotIn")
        req.op = opcode::not_in;
      else if (op == "Exists")
        req.op = opcode::exists;
      else if (op == "DoesNotExist")
        req.op = opcode::does_not_exist;
      else
        fail(op_node, expr_path + ".operator",
             "unknown operator " + quoted(op) + " (valid: In, NotIn, Exists, DoesNotExist)");

      const std::string values_path = expr_path + ".values";
      if (has_values && !values_node.IsNull()) {
        if (!values_node.IsSequence())
          fail(values_node, values_path,
               "values must be a list of strings, found a " + std::string(yaml_type_name(values_node)));
        std::size_t vi = 0;
        for (const YAML::Node& v : values_node) {
          std::string vpath = values_path + '[' + std::to_string(vi++) + ']';
          std::string value = string_scalar(v, v.Mark().is_null() ? values_mark : v.Mark(), vpath, "value");
          check_value(v, vpath, value);
          req.values.push_back(std::move(value));
        }
      }
      bool wants_values = req.op == opcode::in || req.op == opcode::not_in;
      if (wants_values && req.values.empty()) {
        fail(has_values && values_node.IsSequence() ? values_node.Mark() : values_mark, values_path,
             "operator " + op + " requires at least one value");
      }
      if (!wants_values && !req.values.empty())
        fail(values_node, values_path, "operator " + op + " takes no values");
      reqs.push_back(std::move(req));
    }
  }

  void check_key(const YAML::Node& at, const std::string& path, const std::string& key) {
    std::string problem = label_key_error(key);
    if (!problem.empty()) fail(at, path, "invalid label key " + quoted(key) + ": " + problem);
  }
  void check_value(const YAML::Node& at, const std::string& path, const std::string& value) {
    std::string problem = label_value_error(value);
    if (!problem.empty()) fail(at, path, "invalid label value " + quoted(value) + ": " + problem);
  }

  std::uint32_t intern(const std::string& s) {
    if (s.empty()) return 0;
    std::size_t at = out_.pool_.find(s);
    if (at == std::string::npos) {
      at = out_.pool_.size();
      out_.pool_ += s;
    }
    if (out_.pool_.size() > std::numeric_limits<std::uint32_t>::max())
      throw config_error({file_, 0, 0}, field_ + ": label selectors too large");
    return static_cast<std::uint32_t>(at);
  }

  void emit(const std::vector<requirement>& reqs) {
    out_.starts_.push_back(static_cast<std::uint32_t>(out_.code_.size()));
    if (reqs.empty()) {
      out_.code_.push_back({opcode::reject, false, 0, 0, 0});
      return;
    }
    for (const requirement& r : reqs) {
      out_.code_.push_back({r.op, r.from_match_labels, static_cast<std::uint32_t>(r.values.size()),
                            intern(r.key), static_cast<std::uint32_t>(r.key.size())});
      for (const std::string& v : r.values)
        out_.code_.push_back({opcode::value, false, 0, intern(v), static_cast<std::uint32_t>(v.size())});
    }
    out_.code_.push_back({opcode::accept, false, 0, 0, 0});
  }

  const std::string& file_;
  std::string field_;
  selector_list out_;
};

selector_list selector_list::compile(const YAML::Node& node, const std::string& file_name,
                                     std::string_view field) {
  return builder(file_name, field.empty() ? std::string_view("selectors") : field).build(node);
}

bool selector_list::run(std::uint32_t pc, label_set labels) const noexcept {
  const instruction* ip = code_.data() + pc;
  for (;;) {
    const instruction& ins = *ip;
    switch (ins.op) {
      case opcode::accept:
        return true;
      case opcode::reject:
      case opcode::value:  // operands are stepped over, never executed
        return false;
      case opcode::exists:
        if (find_label(labels, text(ins)) == nullptr) return false;
        ++ip;
        break;
      case opcode::does_not_exist:
        if (find_label(labels, text(ins)) != nullptr) return false;
        ++ip;
        break;
      case opcode::in:
      case opcode::not_in: {
        const label* found = find_label(labels, text(ins));
        bool in_set = false;
        if (found != nullptr) {
          for (std::uint32_t i = 1; i <= ins.count && !in_set; ++i) in_set = text(ip[i]) == found->value;
        }
        if (in_set != (ins.op == opcode::in)) return false;
        ip += 1 + ins.count;
        break;
      }
    }
  }
}

int selector_list::first_match(label_set labels) const noexcept {
  for (std::size_t i = 0; i < starts_.size(); ++i)
    if (run(starts_[i], labels)) return static_cast<int>(i);
  return -1;
}

bool selector_list::matches(std::size_t i, label_set labels) const noexcept {
  return i < starts_.size() && run(starts_[i], labels);
}

std::string selector_list::describe(std::size_t i) const {
  if (i >= starts_.size()) return {};
  auto shown = [](std::string_view v) { return v.empty() ? std::string("\"\"") : std::string(v); };
  std::string labels_part, expressions_part;
  for (std::size_t pc = starts_[i]; code_[pc].op != opcode::accept && code_[pc].op != opcode::reject;) {
    const instruction& ins = code_[pc];
    if (ins.from_match_labels) {
      if (!labels_part.empty()) labels_part += ',';
      labels_part += std::string(text(ins)) + '=' + shown(text(code_[pc + 1]));
    } else {
      if (!expressions_part.empty()) expressions_part += "; ";
      expressions_part += text(ins);
      switch (ins.op) {
        case opcode::in:
          expressions_part += " In (";
          break;
        case opcode::not_in:
          expressions_part += " NotIn (";
          break;
        case opcode::exists:
          expressions_part += " Exists";
          break;
        case opcode::does_not_exist:
          expressions_part += " DoesNotExist";
          break;
        default:
          break;
      }
      if (ins.op == opcode::in || ins.op == opcode::not_in) {
        for (std::uint32_t v = 1; v <= ins.count; ++v) {
          if (v > 1) expressions_part += ',';
          expressions_part += shown(text(code_[pc + v]));
        }
        expressions_part += ')';
      }
    }
    pc += 1 + ins.count;
  }
  if (labels_part.empty() && expressions_part.empty()) return "{} (no requirements, matches nothing)";
  std::string out;
  if (!labels_part.empty()) out = "matchLabels{" + labels_part + '}';
  if (!expressions_part.empty()) {
    if (!out.empty()) out += ' ';
    out += "matchExpressions{" + expressions_part + '}';
  }
  return out;
}

}  // namespace meshinject::core
