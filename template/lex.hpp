#pragma once
// The lexer of Go's text/template (parse/lex.go): the tokens of one action, and
// the literal forms (quoted strings, runes). Load time only: errors throw
// parse_error with the byte offset of the offending token.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace meshinject::tmpl {

struct parse_error {
  std::uint32_t pos;
  std::string message;
};

inline bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
inline bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
inline bool is_alnum(char c) { return is_alpha(c) || (c >= '0' && c <= '9'); }

enum class tok : std::uint8_t {
  eof_action,  // the right delimiter
  lparen, rparen, pipe, comma, declare, assign,
  string, raw_string, character, number, boolean, nil,
  dot, field, variable, identifier,
  kw_if, kw_else, kw_end, kw_range, kw_with, kw_unsupported,
};

struct token {
  tok t;
  std::uint32_t pos;
  std::string_view text;
  bool space_before = false;  // `.A .B` is two arguments, `.A.B` one chain
};

// Lexes one action, from `pos` (just after the left delimiter and its trim
// marker) up to and including its right delimiter; the last token is
// tok::eof_action. Sets `end` just after the delimiter and whether it carried
// a trim marker. `action_start` is where an unclosed action is reported.
std::vector<token> lex_action(std::string_view src, std::uint32_t pos, std::string_view right,
                              std::uint32_t action_start, std::uint32_t& end, bool& trim_right);

// Go's strconv.Unquote of a "..." or '...' token.
std::string unquote(const token& t);
// The code point of a character literal's unquoted text (Go: one rune).
std::int64_t char_value(const std::string& s, const token& t);

}  // namespace meshinject::tmpl
