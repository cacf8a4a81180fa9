// sprig's encodings (crypto.go's base64, defaults.go's JSON): b64enc b64dec
// toJson toPrettyJson fromJson. fromJson's document lives in the request, so it
// is never folded at load.

#include "template/binding.hpp"
#include "template/funcs_support.hpp"

namespace meshinject::tmpl {
namespace {

constexpr char b64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

value fn_b64enc(call_context& cx, std::span<value> a) {
  std::string_view s;
  if (!sprig::want_string(cx, a[0], s)) return {};
  std::string& out = cx.scratch(0);
  out.clear();
  std::size_t k = 0;
  for (; k + 3 <= s.size(); k += 3) {
    const auto n = static_cast<std::uint32_t>(static_cast<unsigned char>(s[k]) << 16 |
                                              static_cast<unsigned char>(s[k + 1]) << 8 |
                                              static_cast<unsigned char>(s[k + 2]));
    out += b64_alphabet[n >> 18];
    out += b64_alphabet[(n >> 12) & 63];
    out += b64_alphabet[(n >> 6) & 63];
    out += b64_alphabet[n & 63];
  }
  if (k < s.size()) {
    std::uint32_t n = static_cast<std::uint32_t>(static_cast<unsigned char>(s[k]) << 16);
    if (k + 1 < s.size()) n |= static_cast<std::uint32_t>(static_cast<unsigned char>(s[k + 1]) << 8);
    out += b64_alphabet[n >> 18];
    out += b64_alphabet[(n >> 12) & 63];
    out += k + 1 < s.size() ? b64_alphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return cx.text(out);
}

int b64_digit(char c) noexcept {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// base64.StdEncoding.DecodeString; sprig returns the error's text as the result.
// Go skips \r and \n; the offset it reports counts them.
value fn_b64dec(call_context& cx, std::span<value> a) {
  std::string_view s;
  if (!sprig::want_string(cx, a[0], s)) return {};
  std::string& out = cx.scratch(0);
  out.clear();
  std::uint32_t acc = 0;
  int bits = 0, digits = 0, padding = 0;
  std::size_t bad = std::string_view::npos;
  for (std::size_t k = 0; k < s.size() && bad == std::string_view::npos; ++k) {
    const char c = s[k];
    if (c == '\r' || c == '\n') continue;
    if (c == '=') {
      // Padding only completes a quantum of 2 or 3 digits.
      if (digits % 4 < 2) bad = k;
      ++padding;
      ++digits;
      continue;
    }
    const int d = b64_digit(c);
    if (d < 0 || padding > 0) {
      bad = k;
      break;
    }
    acc = (acc << 6) | static_cast<std::uint32_t>(d);
    bits += 6;
    ++digits;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  // A quantum cut short by the end: Go reports where that quantum began.
  if (bad == std::string_view::npos && digits % 4 != 0) bad = s.size() - static_cast<std::size_t>(digits % 4);
  if (bad == std::string_view::npos) return cx.text(out);
  std::string& m = cx.scratch(1);
  m = "illegal base64 data at input byte ";
  append_int(m, static_cast<std::int64_t>(bad));
  return cx.text(m);
}

// toJson / toPrettyJson: encoding/json's text, "" when Go's Marshal would fail.
value to_json(call_context& cx, const value& v, bool pretty) {
  std::string& out = cx.scratch(0);
  out.clear();
  if (!sprig::write_json(cx, v, out, pretty ? 0 : -1)) return value::string("");
  return cx.text(out);
}

value fn_to_json(call_context& cx, std::span<value> a) { return to_json(cx, a[0], false); }
value fn_to_pretty_json(call_context& cx, std::span<value> a) { return to_json(cx, a[0], true); }

// fromJson: the decoded value, nil when the text is not JSON.
value fn_from_json(call_context& cx, std::span<value> a) {
  std::string_view s;
  if (!sprig::want_string(cx, a[0], s)) return {};
  simdjson::dom::element e;
  simdjson::error_code error = simdjson::SUCCESS;
  if (!cx.parse_json(s, e, error)) return value::nil();
  return from_json(e, a[0].origin);
}

}  // namespace

void add_encoding_functions(function_table& t) {
  t.add({.name = "b64enc", .impl = fn_b64enc, .min_args = 1, .max_args = 1});
  t.add({.name = "b64dec", .impl = fn_b64dec, .min_args = 1, .max_args = 1});
  t.add({.name = "toJson", .impl = fn_to_json, .min_args = 1, .max_args = 1});
  t.add({.name = "toPrettyJson", .impl = fn_to_pretty_json, .min_args = 1, .max_args = 1});
  t.add({.name = "fromJson", .impl = fn_from_json, .min_args = 1, .max_args = 1, .pure = false});
}

}  // namespace meshinject::tmpl
