#include "template/lex.hpp"

#include "core/json_text.hpp"

namespace meshinject::tmpl {

using core::append_utf8;

namespace {

class lexer {
 public:
  lexer(std::string_view src, std::uint32_t pos, std::string_view right, std::uint32_t action_start)
      : src_(src), pos_(pos), right_(right), action_start_(action_start) {}

  std::uint32_t pos() const { return pos_; }

  // Lexes the tokens of one action up to and including its right delimiter.
  // Returns the position just after the delimiter and whether it had a trim marker.
  std::vector<token> lex_action(std::uint32_t& end, bool& trim_right) {
    std::vector<token> out;
    for (;;) {
      const std::uint32_t before = pos_;
      skip_space();
      const bool spaced = pos_ != before;
      if (pos_ >= src_.size()) throw parse_error{action_start_, "unclosed action: missing " + std::string(right_)};
      // " -}}" : a trim marker is a dash preceded by space and followed by the delimiter.
      if (src_[pos_] == '-' && src_.substr(pos_ + 1, right_.size()) == right_ && pos_ > 0 && is_space(src_[pos_ - 1])) {
        trim_right = true;
        out.push_back({tok::eof_action, pos_, {}});
        end = pos_ + 1 + static_cast<std::uint32_t>(right_.size());
        return out;
      }
      if (src_.substr(pos_, right_.size()) == right_) {
        trim_right = false;
        out.push_back({tok::eof_action, pos_, {}});
        end = pos_ + static_cast<std::uint32_t>(right_.size());
        return out;
      }
      out.push_back(next());
      out.back().space_before = spaced;
    }
  }

 private:
  void skip_space() {
    while (pos_ < src_.size() && is_space(src_[pos_])) ++pos_;
  }

  token next() {
    const std::uint32_t start = pos_;
    const char c = src_[pos_];
    auto one = [&](tok t) {
      ++pos_;
      return token{t, start, src_.substr(start, 1)};
    };
    switch (c) {
      case '(': return one(tok::lparen);
      case ')': return one(tok::rparen);
      case '|': return one(tok::pipe);
      case ',': return one(tok::comma);
      case '=': return one(tok::assign);
      case ':':
        if (pos_ + 1 < src_.size() && src_[pos_ + 1] == '=') {
          pos_ += 2;
          return {tok::declare, start, src_.substr(start, 2)};
        }
        throw parse_error{start, "expected := after ':'"};
      case '"': return quoted('"', tok::string);
      case '\'': return quoted('\'', tok::character);
      case '`': {
        const std::size_t close = src_.find('`', pos_ + 1);
        if (close == std::string_view::npos) throw parse_error{start, "unterminated raw string"};
        pos_ = static_cast<std::uint32_t>(close + 1);
        return {tok::raw_string, start, src_.substr(start, pos_ - start)};
      }
      case '$': {
        ++pos_;
        while (pos_ < src_.size() && is_alnum(src_[pos_])) ++pos_;
        return {tok::variable, start, src_.substr(start, pos_ - start)};
      }
      case '.': {
        if (pos_ + 1 < src_.size() && is_alpha(src_[pos_ + 1])) {
          ++pos_;
          while (pos_ < src_.size() && is_alnum(src_[pos_])) ++pos_;
          return {tok::field, start, src_.substr(start, pos_ - start)};
        }
        if (pos_ + 1 < src_.size() && src_[pos_ + 1] >= '0' && src_[pos_ + 1] <= '9') return number();
        return one(tok::dot);
      }
      default:
        break;
    }
    if ((c >= '0' && c <= '9') || c == '-' || c == '+') return number();
    if (is_alpha(c)) {
      while (pos_ < src_.size() && is_alnum(src_[pos_])) ++pos_;
      const std::string_view w = src_.substr(start, pos_ - start);
      tok t = tok::identifier;
      if (w == "true" || w == "false") t = tok::boolean;
      else if (w == "nil") t = tok::nil;
      else if (w == "if") t = tok::kw_if;
      else if (w == "else") t = tok::kw_else;
      else if (w == "end") t = tok::kw_end;
      else if (w == "range") t = tok::kw_range;
      else if (w == "with") t = tok::kw_with;
      else if (w == "define" || w == "template" || w == "block" || w == "break" || w == "continue")
        t = tok::kw_unsupported;
      return {t, start, w};
    }
    throw parse_error{start, std::string("unexpected character '") + c + "' in action"};
  }

  token quoted(char q, tok t) {
    const std::uint32_t start = pos_++;
    while (pos_ < src_.size() && src_[pos_] != q) {
      if (src_[pos_] == '\\') ++pos_;
      if (pos_ < src_.size() && src_[pos_] == '\n') throw parse_error{start, "unterminated quoted string"};
      ++pos_;
    }
    if (pos_ >= src_.size()) throw parse_error{start, "unterminated quoted string"};
    ++pos_;
    return {t, start, src_.substr(start, pos_ - start)};
  }

  token number() {
    const std::uint32_t start = pos_;
    if (src_[pos_] == '-' || src_[pos_] == '+') ++pos_;
    while (pos_ < src_.size() && (is_alnum(src_[pos_]) || src_[pos_] == '.' ||
                                  ((src_[pos_] == '-' || src_[pos_] == '+') &&
                                   (src_[pos_ - 1] == 'e' || src_[pos_ - 1] == 'E' || src_[pos_ - 1] == 'p' ||
                                    src_[pos_ - 1] == 'P'))))
      ++pos_;
    return {tok::number, start, src_.substr(start, pos_ - start)};
  }

  std::string_view src_;
  std::uint32_t pos_;
  std::string_view right_;
  std::uint32_t action_start_;  // the left delimiter, where an unclosed action is reported
};

}  // namespace

std::vector<token> lex_action(std::string_view src, std::uint32_t pos, std::string_view right,
                              std::uint32_t action_start, std::uint32_t& end, bool& trim_right) {
  lexer lx(src, pos, right, action_start);
  return lx.lex_action(end, trim_right);
}

std::string unquote(const token& t) {
  const std::string_view body = t.text.substr(1, t.text.size() - 2);
  std::string out;
  for (std::size_t i = 0; i < body.size(); ++i) {
    char c = body[i];
    if (c != '\\') {
      out += c;
      continue;
    }
    if (++i >= body.size()) throw parse_error{t.pos, "bad escape in string"};
    c = body[i];
    auto hex = [&](int n) {
      std::uint32_t v = 0;
      for (int k = 0; k < n; ++k) {
        if (i + 1 >= body.size()) throw parse_error{t.pos, "bad escape in string"};
        const char h = body[++i];
        int d;
        if (h >= '0' && h <= '9') d = h - '0';
        else if (h >= 'a' && h <= 'f') d = h - 'a' + 10;
        else if (h >= 'A' && h <= 'F') d = h - 'A' + 10;
        else throw parse_error{t.pos, "bad escape in string"};
        v = v * 16 + static_cast<std::uint32_t>(d);
      }
      return v;
    };
    switch (c) {
      case 'a': out += '\a'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'v': out += '\v'; break;
      case '\\': out += '\\'; break;
      case '"': out += '"'; break;
      case '\'': out += '\''; break;
      case 'x': out += static_cast<char>(hex(2)); break;
      case 'u': append_utf8(out, hex(4)); break;
      case 'U': append_utf8(out, hex(8)); break;
      default:
        if (c >= '0' && c <= '7' && i + 2 < body.size()) {
          const int v = (c - '0') * 64 + (body[i + 1] - '0') * 8 + (body[i + 2] - '0');
          out += static_cast<char>(v);
          i += 2;
        } else {
          throw parse_error{t.pos, std::string("unknown escape \\") + c + " in string"};
        }
    }
  }
  return out;
}

std::int64_t char_value(const std::string& s, const token& t) {
  if (s.size() == 1) return static_cast<unsigned char>(s[0]);
  const auto c = static_cast<unsigned char>(s.empty() ? 0 : s[0]);
  const std::size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
  if (n == 0 || s.size() != n) throw parse_error{t.pos, "malformed character constant: " + std::string(t.text)};
  std::uint32_t cp = c & (0xFF >> (n + 1));
  for (std::size_t k = 1; k < n; ++k) {
    const auto b = static_cast<unsigned char>(s[k]);
    if ((b & 0xC0) != 0x80) throw parse_error{t.pos, "malformed character constant: " + std::string(t.text)};
    cp = (cp << 6) | (b & 0x3F);
  }
  return cp;
}

}  // namespace meshinject::tmpl
