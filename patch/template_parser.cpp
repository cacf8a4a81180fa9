// Lexer and parser for the Go text/template subset (SPEC section 3). Everything
// else (define, template, block, break, continue, method calls with arguments)
// is rejected with the position of the offending token.

#include <charconv>
#include <cmath>
#include <cstdlib>

#include "patch/template_ast.hpp"

namespace meshinject::patch::tmpl {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_alnum(char c) { return is_alpha(c) || (c >= '0' && c <= '9'); }

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

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Go's strconv.Unquote for "..." and '...'.
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

// The code point of a character literal's unquoted text (Go: one rune).
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

class parser {
 public:
  parser(std::string_view src, std::string_view left, std::string_view right)
      : src_(src), left_(left), right_(right) {}

  std::vector<node> parse_all() {
    std::vector<node> out;
    const stop s = parse_list(out);
    if (s.kind != stop::eof) {
      throw parse_error{s.pos, s.kind == stop::end ? "unexpected {{end}}" : "unexpected {{else}}"};
    }
    return out;
  }

 private:
  struct stop {
    enum kind_t { eof, end, else_ } kind;
    std::uint32_t pos;
    std::vector<token> rest;  // for else: the tokens after `else` (else if / else with)
  };

  // Parses nodes until end of input, {{end}} or {{else}}.
  stop parse_list(std::vector<node>& out) {
    for (;;) {
      const std::size_t open = src_.find(left_, pos_);
      std::string_view text = src_.substr(pos_, open == std::string_view::npos ? std::string_view::npos : open - pos_);
      const std::uint32_t text_pos = pos_;
      if (trim_next_) {
        std::size_t k = 0;
        while (k < text.size() && is_space(text[k])) ++k;
        text.remove_prefix(k);
        trim_next_ = false;
      }
      if (open == std::string_view::npos) {
        push_text(out, text, text_pos);
        pos_ = static_cast<std::uint32_t>(src_.size());
        return {stop::eof, pos_, {}};
      }
      std::uint32_t p = static_cast<std::uint32_t>(open + left_.size());
      // "{{- " trims the text before; the dash must be followed by a space.
      if (p + 1 < src_.size() && src_[p] == '-' && is_space(src_[p + 1])) {
        while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
        ++p;
      }
      push_text(out, text, text_pos);
      // Comments: {{/* ... */}} with optional trim markers around them.
      std::uint32_t q = p;
      while (q < src_.size() && is_space(src_[q])) ++q;
      if (src_.substr(q, 2) == "/*") {
        const std::size_t close = src_.find("*/", q + 2);
        if (close == std::string_view::npos) throw parse_error{static_cast<std::uint32_t>(open), "unclosed comment"};
        std::uint32_t r = static_cast<std::uint32_t>(close + 2);
        bool trim = false;
        if (r + 1 < src_.size() && is_space(src_[r]) && src_[r + 1] == '-' &&
            src_.substr(r + 2, right_.size()) == right_) {
          trim = true;
          r += 2;
        }
        if (src_.substr(r, right_.size()) != right_)
          throw parse_error{static_cast<std::uint32_t>(open), "comment ends before closing delimiter"};
        pos_ = r + static_cast<std::uint32_t>(right_.size());
        trim_next_ = trim;
        continue;
      }
      lexer lx(src_, p, right_, static_cast<std::uint32_t>(open));
      std::uint32_t end = 0;
      bool trim_right = false;
      std::vector<token> toks = lx.lex_action(end, trim_right);
      pos_ = end;
      trim_next_ = trim_right;
      const auto action_pos = static_cast<std::uint32_t>(open);
      if (toks.size() == 1) throw parse_error{action_pos, "missing value for command"};
      switch (toks[0].t) {
        case tok::kw_end:
          expect_end(toks, 1);
          return {stop::end, action_pos, {}};
        case tok::kw_else:
          return {stop::else_, action_pos, std::vector<token>(toks.begin() + 1, toks.end())};
        case tok::kw_if:
        case tok::kw_range:
        case tok::kw_with:
          out.push_back(parse_control(toks, action_pos));
          break;
        case tok::kw_unsupported:
          throw parse_error{toks[0].pos, "'" + std::string(toks[0].text) + "' is not supported by meshinject templates"};
        default: {
          node n;
          n.k = node::kind::action;
          n.pos = action_pos;
          std::size_t i = 0;
          n.pipe = parse_pipeline(toks, i, true, false);
          expect_end(toks, i);
          out.push_back(std::move(n));
        }
      }
    }
  }

  void push_text(std::vector<node>& out, std::string_view text, std::uint32_t pos) {
    if (text.empty()) return;
    node n;
    n.k = node::kind::text;
    n.pos = pos;
    n.text = text;
    out.push_back(std::move(n));
  }

  void expect_end(const std::vector<token>& toks, std::size_t i) {
    if (toks[i].t != tok::eof_action) throw parse_error{toks[i].pos, "unexpected '" + std::string(toks[i].text) + "' in action"};
  }

  node parse_control(const std::vector<token>& toks, std::uint32_t action_pos) {
    node n;
    n.k = toks[0].t == tok::kw_if ? node::kind::if_ : toks[0].t == tok::kw_range ? node::kind::range : node::kind::with;
    n.pos = action_pos;
    std::size_t i = 1;
    n.pipe = parse_pipeline(toks, i, true, n.k == node::kind::range);
    expect_end(toks, i);
    stop s = parse_list(n.body);
    if (s.kind == stop::eof) throw parse_error{action_pos, "missing {{end}} for " + std::string(toks[0].text)};
    if (s.kind == stop::else_) {
      if (s.rest.size() > 1 && (s.rest[0].t == tok::kw_if || s.rest[0].t == tok::kw_with)) {
        // `else if` / `else with`: a nested control node that shares our {{end}}.
        if ((s.rest[0].t == tok::kw_with) != (n.k == node::kind::with) || n.k == node::kind::range)
          throw parse_error{s.pos, "'else " + std::string(s.rest[0].text) + "' must follow '" + std::string(s.rest[0].text) + "'"};
        n.else_body.push_back(parse_control(s.rest, s.pos));
        return n;
      }
      if (s.rest.size() != 1) throw parse_error{s.rest[0].pos, "unexpected '" + std::string(s.rest[0].text) + "' after else"};
      s = parse_list(n.else_body);
      if (s.kind == stop::else_) throw parse_error{s.pos, "expected {{end}}, found a second {{else}}"};
      if (s.kind == stop::eof) throw parse_error{action_pos, "missing {{end}} for " + std::string(toks[0].text)};
    }
    return n;
  }

  std::unique_ptr<pipeline> parse_pipeline(const std::vector<token>& toks, std::size_t& i, bool allow_decl,
                                           bool range_decl) {
    auto p = std::make_unique<pipeline>();
    p->pos = toks[i].pos;
    if (allow_decl && toks[i].t == tok::variable) {
      // Look ahead: `$x :=`, `$x =`, or (range) `$i, $v :=`.
      std::size_t j = i;
      std::vector<std::string> names{std::string(toks[j].text.substr(1))};
      ++j;
      if (range_decl && toks[j].t == tok::comma && toks[j + 1].t == tok::variable) {
        names.emplace_back(toks[j + 1].text.substr(1));
        j += 2;
      }
      if (toks[j].t == tok::declare || (toks[j].t == tok::assign && names.size() == 1)) {
        p->assign = toks[j].t == tok::assign;
        p->decl = std::move(names);
        i = j + 1;
      }
    }
    for (;;) {
      command c;
      c.pos = toks[i].pos;
      while (toks[i].t != tok::pipe && toks[i].t != tok::eof_action && toks[i].t != tok::rparen)
        c.args.push_back(parse_operand(toks, i));
      if (c.args.empty()) throw parse_error{toks[i].pos, "missing command"};
      p->cmds.push_back(std::move(c));
      if (toks[i].t != tok::pipe) break;
      ++i;
    }
    return p;
  }

  operand parse_operand(const std::vector<token>& toks, std::size_t& i) {
    const token& t = toks[i];
    operand o;
    o.pos = t.pos;
    switch (t.t) {
      case tok::dot: o.k = operand::kind::dot; ++i; break;
      case tok::field:
        o.k = operand::kind::field;
        o.fields.emplace_back(toks[i++].text.substr(1));
        while (toks[i].t == tok::field && !toks[i].space_before) o.fields.emplace_back(toks[i++].text.substr(1));
        return o;
      case tok::variable: o.k = operand::kind::variable; o.name = std::string(t.text.substr(1)); ++i; break;
      case tok::string: o.k = operand::kind::string; o.name = unquote(t); ++i; break;
      case tok::raw_string: o.k = operand::kind::string; o.name = std::string(t.text.substr(1, t.text.size() - 2)); ++i; break;
      case tok::character: {
        // A rune: one byte from an escape (\xff, \377), else one UTF-8 sequence.
        const std::string s = unquote(t);
        o.k = operand::kind::integer;
        o.i = char_value(s, t);
        ++i;
        break;
      }
      case tok::boolean: o.k = operand::kind::boolean; o.b = t.text == "true"; ++i; break;
      case tok::nil: o.k = operand::kind::nil; ++i; break;
      case tok::number: parse_number(t, o); ++i; break;
      case tok::identifier: o.k = operand::kind::function; o.name = std::string(t.text); ++i; break;
      case tok::lparen: {
        ++i;
        o.k = operand::kind::sub;
        o.sub = parse_pipeline(toks, i, false, false);
        if (toks[i].t != tok::rparen) throw parse_error{toks[i].pos, "unclosed left parenthesis"};
        ++i;
        break;
      }
      default:
        throw parse_error{t.pos, "unexpected '" + std::string(t.text) + "' in command"};
    }
    // A term may be followed by a field chain: $x.A.B, (pipeline).A
    while (toks[i].t == tok::field && !toks[i].space_before) {
      if (o.k != operand::kind::variable && o.k != operand::kind::sub && o.k != operand::kind::dot)
        throw parse_error{toks[i].pos, "unexpected field " + std::string(toks[i].text) + " after a literal"};
      o.fields.emplace_back(toks[i++].text.substr(1));
    }
    return o;
  }

  void parse_number(const token& t, operand& o) {
    std::string s;
    for (char c : t.text)
      if (c != '_') s += c;
    const bool is_float = s.find_first_of(".eEpP") != std::string::npos && s.find("0x") != 0 && s.find("0X") != 0;
    if (!is_float) {
      std::string digits = s;
      bool neg = false;
      if (!digits.empty() && (digits[0] == '-' || digits[0] == '+')) {
        neg = digits[0] == '-';
        digits.erase(0, 1);
      }
      int base = 10;
      if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) base = 16, digits.erase(0, 2);
      else if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'o' || digits[1] == 'O')) base = 8, digits.erase(0, 2);
      else if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'b' || digits[1] == 'B')) base = 2, digits.erase(0, 2);
      else if (digits.size() > 1 && digits[0] == '0') base = 8, digits.erase(0, 1);
      std::uint64_t v = 0;
      auto r = std::from_chars(digits.data(), digits.data() + digits.size(), v, base);
      if (r.ec != std::errc() || r.ptr != digits.data() + digits.size() || digits.empty())
        throw parse_error{t.pos, "bad number syntax: " + std::string(t.text)};
      if (v > static_cast<std::uint64_t>(INT64_MAX) + (neg ? 1 : 0)) throw parse_error{t.pos, "number out of range: " + std::string(t.text)};
      o.k = operand::kind::integer;
      o.i = neg ? static_cast<std::int64_t>(0 - v) : static_cast<std::int64_t>(v);
      return;
    }
    char* end = nullptr;
    const double d = std::strtod(s.c_str(), &end);
    if (end != s.c_str() + s.size()) throw parse_error{t.pos, "bad number syntax: " + std::string(t.text)};
    // Go treats a float constant with an integral value as usable where an int is expected.
    if (std::trunc(d) == d && std::fabs(d) < 9e15 && s.find_first_of("eE") == std::string::npos) {
      o.k = operand::kind::floating;
      o.f = d;
      return;
    }
    o.k = operand::kind::floating;
    o.f = d;
  }

  std::string_view src_;
  std::string_view left_, right_;
  std::uint32_t pos_ = 0;
  bool trim_next_ = false;
};

}  // namespace

std::pair<int, int> line_column(std::string_view text, std::uint32_t offset) noexcept {
  int line = 1, col = 1;
  for (std::uint32_t k = 0; k < offset && k < text.size(); ++k) {
    if (text[k] == '\n') {
      ++line;
      col = 1;
    } else if ((static_cast<unsigned char>(text[k]) & 0xC0) != 0x80) {
      ++col;
    }
  }
  return {line, col};
}

std::pair<std::string, std::string> detect_delimiters(std::string_view text) {
  const std::size_t square = text.find("[[");
  const std::size_t curly = text.find("{{");
  if (square != std::string_view::npos && (curly == std::string_view::npos || square < curly)) return {"[[", "]]"};
  return {"{{", "}}"};
}

parsed_template parse_template(std::string text, std::string left, std::string right) {
  parsed_template t;
  t.source = std::make_shared<const std::string>(std::move(text));
  t.left_delim = std::move(left);
  t.right_delim = std::move(right);
  parser p(*t.source, t.left_delim, t.right_delim);
  t.root = p.parse_all();
  return t;
}

}  // namespace meshinject::patch::tmpl
