#include "control/inject_path.hpp"

#include "http/routes.hpp"

namespace meshinject::control {
namespace {

constexpr char upper(char c) noexcept { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }

// Replaces every "--slash--" in s[begin, end) by "/", in place; returns the new end.
std::size_t unslash(std::string& s, std::size_t begin, std::size_t end) {
  constexpr std::string_view token = "--slash--";
  std::size_t w = begin;
  for (std::size_t r = begin; r < end;) {
    if (end - r >= token.size() && std::string_view(s.data() + r, token.size()) == token) {
      s[w++] = '/';
      r += token.size();
    } else {
      s[w++] = s[r++];
    }
  }
  return w;
}

struct span_ref {
  std::size_t begin = 0, end = 0;
};

constexpr std::string_view env_marker = ":ENV:";

// Maps one key/value pair of `storage` to a variable of `out` (values are
// already rewritten in place; keys are upper-cased here, in place).
void add_env(std::string& storage, std::vector<patch::env_pair>& out, span_ref key, span_ref value) {
  std::string_view name;
  const std::string_view raw_key(storage.data() + key.begin, key.end - key.begin);
  if (raw_key == "cluster") {
    name = "ISTIO_META_CLUSTER_ID";
  } else if (raw_key == "net") {
    name = "ISTIO_META_NETWORK";
  } else {
    for (std::size_t i = key.begin; i < key.end; ++i) storage[i] = upper(storage[i]);
    name = std::string_view(storage.data() + key.begin, key.end - key.begin);
  }
  if (!is_env_name(name)) return;
  const std::string_view v(storage.data() + value.begin, value.end - value.begin);
  for (auto& e : out)
    if (e.name == name) {
      e.value = v;
      return;
    }
  out.push_back({name, v});
}

// Deprecated ":ENV:K=V:ENV:K2=V2" in storage[at, end), `at` past the first
// marker; a pair needs a non-empty name and an '='.
void read_marked_pairs(std::string& storage, std::size_t at, std::size_t end, std::vector<patch::env_pair>& out) {
  std::size_t p = at;
  while (p <= end) {
    std::size_t next = std::string_view(storage.data(), end).find(env_marker, p);
    if (next == std::string_view::npos) next = end;
    const std::string_view pair(storage.data() + p, next - p);
    const std::size_t eq = pair.find('=');
    if (eq != std::string_view::npos && eq > 0) add_env(storage, out, {p, p + eq}, {p + eq + 1, next});
    if (next == end) break;
    p = next + env_marker.size();
  }
}

// strings.Split(parts[2], "/") over storage[at, end): alternate keys and values.
// An odd trailing key has no value: ignored, as Istio does.
void read_path_pairs(std::string& storage, std::size_t at, std::size_t end, std::vector<patch::env_pair>& out) {
  span_ref key;
  bool have_key = false;
  std::size_t seg = at;
  for (std::size_t i = at; i <= end; ++i) {
    if (i != end && storage[i] != '/') continue;
    if (!have_key) {
      key = {seg, i};
      have_key = true;
    } else {
      add_env(storage, out, key, {seg, unslash(storage, seg, i)});
      have_key = false;
    }
    seg = i + 1;
  }
}

}  // namespace

bool is_inject_path(std::string_view path) noexcept {
  return path == "/inject" || path.starts_with("/inject/");
}

bool is_env_name(std::string_view name) noexcept {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    const bool digit = c >= '0' && c <= '9';
    if (!(alpha || c == '_' || c == '-' || c == '.' || (digit && i > 0))) return false;
  }
  return true;
}

bool parse_inject_env(std::string_view path, std::string& storage, std::vector<patch::env_pair>& out) {
  storage.clear();
  out.clear();
  // Decoding never lengthens the text and everything after works in place, so
  // the views handed out never move.
  storage.reserve(path.size());
  if (!http::percent_decode_append(path, storage)) return false;
  std::size_t end = storage.size();
  if (end > 0 && storage[end - 1] == '/') --end;  // strings.TrimSuffix(path, "/")

  // parts := strings.SplitN(path, "/", 3); the pairs are in parts[2].
  std::size_t at = 0, slashes = 0;
  while (at < end && slashes < 2) {
    if (storage[at] == '/') ++slashes;
    ++at;
  }
  if (slashes < 2) return true;  // just "/inject"

  if (std::string_view(storage.data() + at, end - at).starts_with(env_marker)) {
    read_marked_pairs(storage, at + env_marker.size(), end, out);
  } else {
    read_path_pairs(storage, at, end, out);
  }
  return true;
}

}  // namespace meshinject::control
