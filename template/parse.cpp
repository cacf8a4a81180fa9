#include "template/parse.hpp"

#include <charconv>
#include <cmath>
#include <cstdlib>

#include "template/lex.hpp"

namespace meshinject::tmpl {
namespace {

class parser {
 public:
  parser(std::string_view src, std::string_view left, std::string_view right, const function_table& functions)
      : src_(src), left_(left), right_(right), functions_(functions) {}

  // Two passes: the first only learns where each `define` (and `block`) body
  // is, so a `template` call may come before its definition, as in Go; the
  // second builds the tree with every call expanded in place.
  std::vector<node> parse_all() {
    collecting_ = true;
    parse_top();
    collecting_ = false;
    pos_ = 0;
    trim_next_ = false;
    return parse_top();
  }

 private:
  std::vector<node> parse_top() {
    std::vector<node> out;
    const stop s = parse_list(out);
    if (s.kind != stop::eof) {
      throw parse_error{s.pos, s.kind == stop::end ? "unexpected {{end}}" : "unexpected {{else}}"};
    }
    return out;
  }

  // A named template's body: where it starts, and whether the opening action
  // trimmed the text after it.
  struct definition {
    std::string name;
    std::uint32_t body = 0;
    bool trim_start = false;
    bool from_block = false;
  };

  const definition* find_definition(std::string_view name) const {
    for (const definition& d : definitions_)
      if (d.name == name) return &d;
    return nullptr;
  }

  // The name operand of define/template/block: a string constant.
  static std::string template_name(const std::vector<token>& toks) {
    if (toks[1].t == tok::string) return unquote(toks[1]);
    if (toks[1].t == tok::raw_string) return std::string(toks[1].text.substr(1, toks[1].text.size() - 2));
    throw parse_error{toks[1].pos, "unexpected '" + std::string(toks[1].text) + "' in " + std::string(toks[0].text) +
                                       ": want a template name in quotes"};
  }

  // Skips a body up to its {{end}}, checking its syntax (calls are not expanded).
  void skip_body(std::uint32_t action_pos, std::string_view what) {
    const bool was_collecting = collecting_;
    collecting_ = true;
    std::vector<node> ignored;
    ++depth_;
    const stop s = parse_list(ignored);
    --depth_;
    collecting_ = was_collecting;
    if (s.kind != stop::end)
      throw parse_error{action_pos, s.kind == stop::eof ? "missing {{end}} for " + std::string(what)
                                                        : "unexpected {{else}} in " + std::string(what)};
  }

  // define / template / block. A call is expanded where it stands: the named
  // body is parsed again at the call, with the call's dot, which must be `.`
  // (see README: meshinject's named templates).
  void parse_named(const std::vector<token>& toks, std::uint32_t action_pos, bool trim_right,
                   std::vector<node>& out) {
    const std::string_view word = toks[0].text;
    if (word == "break" || word == "continue")
      throw parse_error{toks[0].pos, "'" + std::string(word) + "' is not supported by meshinject templates"};
    const std::string name = template_name(toks);
    if (word == "define") {
      if (depth_ > 0) throw parse_error{toks[0].pos, "unexpected <define> in command: define only at the top level"};
      if (toks[2].t != tok::eof_action) throw parse_error{toks[2].pos, "unexpected '" + std::string(toks[2].text) + "' in define"};
      if (collecting_ && !expanding_) {
        definition* existing = nullptr;
        for (definition& d : definitions_)
          if (d.name == name) existing = &d;
        if (existing && !existing->from_block)
          throw parse_error{toks[0].pos, "template: multiple definition of template \"" + name + "\""};
        if (existing) *existing = definition{name, pos_, trim_right, false};
        else definitions_.push_back(definition{name, pos_, trim_right, false});
      }
      skip_body(action_pos, "define");
      return;
    }
    // template "name" [PIPE] / block "name" PIPE
    std::size_t i = 2;
    bool dot_only = toks[i].t == tok::dot && toks[i + 1].t == tok::eof_action;
    if (toks[i].t != tok::eof_action && !dot_only) {
      // Parsed for its syntax and names, then refused: only `.` is passed on.
      parse_pipeline(toks, i, false, false);
      expect_end(toks, i);
    }
    if (!dot_only)
      throw parse_error{toks[0].pos, "meshinject supports {{" + std::string(word) + " \"" + name +
                                         "\" .}} only: the named template runs with the caller's dot"};
    if (word == "block") {
      if (depth_ > 0 && collecting_ && !expanding_)
        throw parse_error{toks[0].pos, "unexpected <block> in command: block only at the top level"};
      if (collecting_ && !expanding_ && !find_definition(name))
        definitions_.push_back(definition{name, pos_, trim_right, true});
      skip_body(action_pos, "block");
      // fall through: a block is also a call, with the body in force (a define may override it)
    }
    if (collecting_) return;
    const definition* d = find_definition(name);
    if (!d) throw parse_error{toks[1].pos, "no such template \"" + name + "\""};
    if (expansions_ >= 64) throw parse_error{toks[0].pos, "template \"" + name + "\" calls itself: recursion is not supported"};
    // Calls that call others twice, nested, would multiply: bound the work.
    if (++total_expansions_ > 10000)
      throw parse_error{toks[0].pos, "too many named template expansions (more than 10000)"};
    const std::uint32_t resume = pos_;
    const bool trim_after = trim_next_;
    pos_ = d->body;
    trim_next_ = d->trim_start;
    ++expansions_;
    const bool was_expanding = expanding_;
    expanding_ = true;
    const stop s = parse_list(out);
    expanding_ = was_expanding;
    --expansions_;
    if (s.kind != stop::end) throw parse_error{action_pos, "internal: named template \"" + name + "\" has no {{end}}"};
    pos_ = resume;
    trim_next_ = trim_after;
  }

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
      std::uint32_t end = 0;
      bool trim_right = false;
      std::vector<token> toks = lex_action(src_, p, right_, static_cast<std::uint32_t>(open), end, trim_right);
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
          parse_named(toks, action_pos, trim_right, out);
          break;
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
    ++depth_;
    struct leave {
      int& d;
      ~leave() { --d; }
    } leave_depth{depth_};
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
      check_command(c, !p->cmds.empty());
      p->cmds.push_back(std::move(c));
      if (toks[i].t != tok::pipe) break;
      ++i;
    }
    return p;
  }

  // A command's head: a function with the number of arguments its entry
  // accepts (the piped value counts), or a value that takes none. A function
  // named as an argument is called with none.
  void check_command(const command& c, bool piped) {
    const operand& head = c.args[0];
    if (head.k == operand::kind::nil) throw parse_error{head.pos, "nil is not a command"};
    if (head.k != operand::kind::function) {
      if (c.args.size() > 1 || piped) throw parse_error{head.pos, "can't give argument to non-function"};
    } else {
      check_arity(head, static_cast<int>(c.args.size()) - 1 + (piped ? 1 : 0));
    }
    for (std::size_t k = 1; k < c.args.size(); ++k)
      if (c.args[k].k == operand::kind::function) check_arity(c.args[k], 0);
  }

  static void check_arity(const operand& o, int n) {
    const function_entry& f = *o.fn;
    if (n >= f.min_args && (f.max_args < 0 || n <= f.max_args)) return;
    throw parse_error{o.pos, "wrong number of args for " + o.name + ": want " +
                                 (f.max_args == f.min_args ? std::to_string(f.min_args)
                                                           : "at least " + std::to_string(f.min_args)) +
                                 " got " + std::to_string(n)};
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
      case tok::identifier:
        o.k = operand::kind::function;
        o.name = std::string(t.text);
        o.fn = functions_.find(o.name);
        if (!o.fn) throw parse_error{t.pos, "function \"" + o.name + "\" not defined"};
        if (!o.fn->impl)
          throw parse_error{t.pos, "function \"" + o.name +
                                       "\" is not supported: its result changes from call to call (clock, randomness, "
                                       "network or environment), and meshinject renders a template once for many pods"};
        ++i;
        break;
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
    // from_chars takes no sign but '-' and no hexadecimal prefix.
    std::string_view body = s;
    if (!body.empty() && body[0] == '+') body.remove_prefix(1);
    double d = 0;
    const auto r = std::from_chars(body.data(), body.data() + body.size(), d);
    if (r.ec != std::errc() || r.ptr != body.data() + body.size())
      throw parse_error{t.pos, "bad number syntax: " + std::string(t.text)};
    o.k = operand::kind::floating;
    o.f = d;
  }

  std::string_view src_;
  std::string_view left_, right_;
  const function_table& functions_;
  std::uint32_t pos_ = 0;
  bool trim_next_ = false;
  std::vector<definition> definitions_;
  bool collecting_ = false;  // first pass: learn the definitions, expand nothing
  bool expanding_ = false;   // inside an expanded body: its defines were learnt already
  int depth_ = 0;            // if/with/range/define nesting
  int expansions_ = 0;       // nested template calls being expanded
  int total_expansions_ = 0;  // every expansion of this parse
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

parsed_template parse_template(std::string text, std::string left, std::string right,
                               const function_table& functions) {
  parsed_template t;
  t.source = std::make_shared<const std::string>(std::move(text));
  t.left_delim = std::move(left);
  t.right_delim = std::move(right);
  parser p(*t.source, t.left_delim, t.right_delim, functions);
  t.root = p.parse_all();
  return t;
}

}  // namespace meshinject::tmpl
