#include "http/routes.hpp"

#include <charconv>

#include "core/json_text.hpp"

namespace meshinject::http {
namespace {

constexpr char lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }
constexpr char upper(char c) noexcept { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

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

}  // namespace

target_parts split_target(std::string_view target) noexcept {
  const std::size_t q = target.find('?');
  if (q == std::string_view::npos) return {target, {}};
  return {target.substr(0, q), target.substr(q + 1)};
}

bool is_inject_path(std::string_view path) noexcept {
  return path == "/inject" || path.starts_with("/inject/");
}

std::string_view query_value(std::string_view query, std::string_view key) noexcept {
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view item = query.substr(0, amp);
    const std::size_t eq = item.find('=');
    if (item.substr(0, eq) == key) return eq == std::string_view::npos ? std::string_view() : item.substr(eq + 1);
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return {};
}

bool is_json_content_type(std::string_view value) noexcept {
  const std::size_t semi = value.find(';');
  return iequals(trim(value.substr(0, semi)), "application/json");
}

bool percent_decode_append(std::string_view in, std::string& out) {
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out += in[i];
      continue;
    }
    if (i + 2 >= in.size()) return false;
    const int hi = hex_value(in[i + 1]), lo = hex_value(in[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return true;
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
  // the views handed out below never move.
  storage.reserve(path.size());
  if (!percent_decode_append(path, storage)) return false;
  std::size_t end = storage.size();
  if (end > 0 && storage[end - 1] == '/') --end;  // strings.TrimSuffix(path, "/")

  // parts := strings.SplitN(path, "/", 3); the pairs are in parts[2].
  std::size_t at = 0, slashes = 0;
  while (at < end && slashes < 2) {
    if (storage[at] == '/') ++slashes;
    ++at;
  }
  if (slashes < 2) return true;  // just "/inject"

  // Collect key/value spans first (values are rewritten in place), then map them.
  constexpr std::string_view env_marker = ":ENV:";
  auto add = [&](span_ref key, span_ref value) {
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
  };

  const std::string_view rest(storage.data() + at, end - at);
  if (rest.starts_with(env_marker)) {
    // Deprecated ":ENV:K=V:ENV:K2=V2"; a pair needs a non-empty name and an '='.
    std::size_t p = at + env_marker.size();
    while (p <= end) {
      std::size_t next = std::string_view(storage.data(), end).find(env_marker, p);
      if (next == std::string_view::npos) next = end;
      const std::string_view pair(storage.data() + p, next - p);
      const std::size_t eq = pair.find('=');
      if (eq != std::string_view::npos && eq > 0) add({p, p + eq}, {p + eq + 1, next});
      if (next == end) break;
      p = next + env_marker.size();
    }
    return true;
  }

  // strings.Split(parts[2], "/"): alternate keys and values.
  span_ref key;
  bool have_key = false;
  std::size_t seg = at;
  for (std::size_t i = at; i <= end; ++i) {
    if (i != end && storage[i] != '/') continue;
    if (!have_key) {
      key = {seg, i};
      have_key = true;
    } else {
      add(key, {seg, unslash(storage, seg, i)});
      have_key = false;
    }
    seg = i + 1;
  }
  // An odd trailing key has no value: ignored, as Istio does.
  return true;
}

std::string_view status_reason(unsigned status) noexcept {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}

void append_response_head(std::string& out, unsigned status, std::string_view content_type,
                          std::size_t content_length, bool close, std::string_view extra) {
  char num[24];
  out += "HTTP/1.1 ";
  auto r = std::to_chars(num, num + sizeof num, status);
  out.append(num, static_cast<std::size_t>(r.ptr - num));
  out += ' ';
  out += status_reason(status);
  out += "\r\nContent-Type: ";
  out += content_type;
  out += "\r\nContent-Length: ";
  r = std::to_chars(num, num + sizeof num, content_length);
  out.append(num, static_cast<std::size_t>(r.ptr - num));
  out += close ? "\r\nConnection: close\r\n" : "\r\n";
  out += extra;
  out += "\r\n";
}

void append_json_string(std::string& out, std::string_view s) { core::append_json_string(out, s); }

}  // namespace meshinject::http
