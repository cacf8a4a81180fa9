#include "http/routes.hpp"

#include <bit>
#include <charconv>
#include <cstdint>

#include "core/byte_words.hpp"

namespace meshinject::http {
namespace {

constexpr char lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

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

}  // namespace

target_parts split_target(std::string_view target) noexcept {
  const std::size_t q = target.find('?');
  if (q == std::string_view::npos) return {target, {}};
  return {target.substr(0, q), target.substr(q + 1)};
}

std::string_view origin_form(std::string_view target) noexcept {
  if (target.empty() || target.front() == '/') return target;
  std::size_t scheme_end = 0;
  if (iequals(target.substr(0, 7), "http://")) scheme_end = 7;
  else if (iequals(target.substr(0, 8), "https://")) scheme_end = 8;
  else return target;
  const std::size_t path_at = target.find_first_of("/?", scheme_end);
  return path_at == std::string_view::npos ? std::string_view() : target.substr(path_at);
}

namespace {

// Whether head[i] may stand where it is: a control character only as a tab, as
// the CR of a CRLF, or as a line feed that does not start a folded line.
bool clean_at(std::string_view head, std::size_t i) noexcept {
  const unsigned char c = static_cast<unsigned char>(head[i]);
  if (c >= 0x20 && c != 0x7f) return true;
  const char after = i + 1 < head.size() ? head[i + 1] : '\0';
  if (c == '\t') return true;
  if (c == '\r' && after == '\n') return true;
  return c == '\n' && after != ' ' && after != '\t';
}

}  // namespace

// Most of a head is printable text: eight bytes are looked at at once, and
// only its control bytes (line ends, tabs) one by one.
bool is_clean_request_head(std::string_view head) noexcept {
  std::size_t i = 0;
  for (; i + 8 <= head.size(); i += 8) {
    for (std::uint64_t controls = core::control_bytes(core::word_at(head.data() + i)); controls != 0;
         controls &= controls - 1)
      if (!clean_at(head, i + static_cast<std::size_t>(std::countr_zero(controls)) / 8)) return false;
  }
  for (; i < head.size(); ++i)
    if (!clean_at(head, i)) return false;
  return true;
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


}  // namespace meshinject::http
