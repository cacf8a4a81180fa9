#include "cmd/json_patch.hpp"

#include <simdjson.h>

#include <optional>

namespace meshinject::cmd::json_patch {

bool parse_pointer(std::string_view pointer, std::vector<std::string>& tokens) {
  tokens.clear();
  if (pointer.empty()) return true;
  if (pointer[0] != '/') return false;
  std::string token;
  for (std::size_t i = 1; i <= pointer.size(); ++i) {
    if (i == pointer.size() || pointer[i] == '/') {
      tokens.push_back(std::move(token));
      token.clear();
      continue;
    }
    if (pointer[i] == '~') {
      if (i + 1 >= pointer.size()) return false;
      if (pointer[i + 1] == '0') token += '~';
      else if (pointer[i + 1] == '1') token += '/';
      else return false;
      ++i;
      continue;
    }
    token += pointer[i];
  }
  return true;
}

namespace {

using yaml::value;

// An array index: "0", or digits without a leading zero.
std::optional<std::size_t> parse_index(const std::string& token) {
  if (token.empty() || token.size() > 18) return std::nullopt;
  if (token.size() > 1 && token[0] == '0') return std::nullopt;
  std::size_t n = 0;
  for (char c : token) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<std::size_t>(c - '0');
  }
  return n;
}

std::string pointer_of(const std::vector<std::string>& tokens, std::size_t count) {
  std::string out;
  for (std::size_t i = 0; i < count; ++i) {
    out += '/';
    for (char c : tokens[i]) {
      if (c == '~') out += "~0";
      else if (c == '/') out += "~1";
      else out += c;
    }
  }
  return out;
}

class applier {
 public:
  explicit applier(value& doc) : doc_(doc) {}

  // The value at the first `count` tokens, or null with error_ set.
  value* resolve(const std::vector<std::string>& tokens, std::size_t count) {
    value* at = &doc_;
    for (std::size_t i = 0; i < count; ++i) {
      if (at->is_mapping()) {
        at = at->find(tokens[i]);
        if (!at) return fail(pointer_of(tokens, i + 1) + " does not exist");
      } else if (at->is_sequence()) {
        const auto idx = parse_index(tokens[i]);
        if (!idx) return fail(pointer_of(tokens, i + 1) + ": \"" + tokens[i] + "\" is not an array index");
        if (*idx >= at->items.size())
          return fail(pointer_of(tokens, i + 1) + ": index " + tokens[i] + " is past the end of the array (size " +
                      std::to_string(at->items.size()) + ")");
        at = &at->items[*idx];
      } else {
        return fail(pointer_of(tokens, i) + " is not an object or an array");
      }
    }
    return at;
  }

  bool add(const std::vector<std::string>& tokens, value v) {
    if (tokens.empty()) {
      doc_ = std::move(v);
      return true;
    }
    value* parent = resolve(tokens, tokens.size() - 1);
    if (!parent) return false;
    const std::string& last = tokens.back();
    if (parent->is_mapping()) {
      if (value* existing = parent->find(last)) *existing = std::move(v);
      else parent->members.emplace_back(last, std::move(v));
      return true;
    }
    if (parent->is_sequence()) {
      if (last == "-") {
        parent->items.push_back(std::move(v));
        return true;
      }
      const auto idx = parse_index(last);
      if (!idx) return fail_bool("\"" + last + "\" is not an array index");
      if (*idx > parent->items.size())
        return fail_bool("index " + last + " is past the end of the array (size " +
                         std::to_string(parent->items.size()) + ")");
      parent->items.insert(parent->items.begin() + static_cast<std::ptrdiff_t>(*idx), std::move(v));
      return true;
    }
    return fail_bool(pointer_of(tokens, tokens.size() - 1) + " is not an object or an array");
  }

  bool remove(const std::vector<std::string>& tokens, value* removed = nullptr) {
    if (tokens.empty()) return fail_bool("cannot remove the whole document");
    value* parent = resolve(tokens, tokens.size() - 1);
    if (!parent) return false;
    const std::string& last = tokens.back();
    if (parent->is_mapping()) {
      for (auto it = parent->members.begin(); it != parent->members.end(); ++it) {
        if (it->first != last) continue;
        if (removed) *removed = std::move(it->second);
        parent->members.erase(it);
        return true;
      }
      return fail_bool(pointer_of(tokens, tokens.size()) + " does not exist");
    }
    if (parent->is_sequence()) {
      const auto idx = parse_index(last);
      if (!idx || *idx >= parent->items.size()) return fail_bool(pointer_of(tokens, tokens.size()) + " does not exist");
      if (removed) *removed = std::move(parent->items[*idx]);
      parent->items.erase(parent->items.begin() + static_cast<std::ptrdiff_t>(*idx));
      return true;
    }
    return fail_bool(pointer_of(tokens, tokens.size() - 1) + " is not an object or an array");
  }

  const std::string& error() const noexcept { return error_; }

 private:
  value* fail(std::string message) {
    error_ = std::move(message);
    return nullptr;
  }
  bool fail_bool(std::string message) {
    error_ = std::move(message);
    return false;
  }

  value& doc_;
  std::string error_;
};

bool is_prefix(const std::vector<std::string>& prefix, const std::vector<std::string>& path) {
  if (prefix.size() >= path.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i)
    if (prefix[i] != path[i]) return false;
  return true;
}

}  // namespace

std::string apply(yaml::value& doc, std::string_view patch_json) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  const simdjson::padded_string padded(patch_json);
  if (const auto err = parser.parse(padded).get(root); err)
    return std::string("the patch is not valid JSON: ") + simdjson::error_message(err);
  simdjson::dom::array ops;
  if (root.get_array().get(ops)) return "the patch is not a JSON array";

  value work = doc;
  applier a(work);
  std::size_t n = 0;
  std::vector<std::string> path, from;
  for (simdjson::dom::element op_e : ops) {
    ++n;
    const std::string where = "operation " + std::to_string(n);
    simdjson::dom::object op;
    if (op_e.get_object().get(op)) return where + ": not an object";
    std::string_view name, path_text, from_text;
    if (op.at_key("op").get_string().get(name)) return where + ": \"op\" is missing or not a string";
    if (op.at_key("path").get_string().get(path_text)) return where + ": \"path\" is missing or not a string";
    const std::string label = where + " (" + std::string(name) + " " + std::string(path_text) + ")";
    if (!parse_pointer(path_text, path)) return label + ": \"" + std::string(path_text) + "\" is not a JSON pointer";
    auto value_of = [&](value& out) -> bool {
      simdjson::dom::element v;
      if (op.at_key("value").get(v)) return false;
      out = yaml::from_json(v);
      return true;
    };
    auto need_from = [&]() -> bool {
      return !op.at_key("from").get_string().get(from_text) && parse_pointer(from_text, from);
    };
    bool ok = true;
    if (name == "add") {
      value v;
      if (!value_of(v)) return label + ": \"value\" is missing";
      ok = a.add(path, std::move(v));
    } else if (name == "remove") {
      ok = a.remove(path);
    } else if (name == "replace") {
      value v;
      if (!value_of(v)) return label + ": \"value\" is missing";
      value* target = a.resolve(path, path.size());
      ok = target != nullptr;
      if (ok) *target = std::move(v);
    } else if (name == "move") {
      if (!need_from()) return label + ": \"from\" is missing or not a JSON pointer";
      if (from == path) continue;
      if (is_prefix(from, path)) return label + ": cannot move " + std::string(from_text) + " into itself";
      value moved;
      ok = a.remove(from, &moved) && a.add(path, std::move(moved));
    } else if (name == "copy") {
      if (!need_from()) return label + ": \"from\" is missing or not a JSON pointer";
      const value* source = a.resolve(from, from.size());
      ok = source != nullptr;
      if (ok) {
        value copy = *source;
        ok = a.add(path, std::move(copy));
      }
    } else if (name == "test") {
      value v;
      if (!value_of(v)) return label + ": \"value\" is missing";
      const value* target = a.resolve(path, path.size());
      ok = target != nullptr;
      if (ok && !(*target == v)) return label + ": the value differs";
    } else {
      return label + ": unknown operation \"" + std::string(name) + "\"";
    }
    if (!ok) return label + ": " + a.error();
  }
  doc = std::move(work);
  return {};
}

}  // namespace meshinject::cmd::json_patch
