// sprig's regex functions (regex.go): regexMatch regexFind regexReplaceAll.
//
// Go's regexp is RE2: linear time, no backtracking. meshinject matches the same
// way with its own small engine (a Pike VM over a compiled program), so that a
// pattern applied to pod data on the request path can neither throw nor take
// exponential time, and its memory comes from the request's arena. Syntax:
// literals, `.`, classes `[a-z]` `[^...]` with `\d \w \s` (and negated `\D \W
// \S` outside classes), anchors `^ $ \A \z \b \B`, groups `( )`, `(?: )`,
// `(?P<name> )`, alternation, `* + ? {n} {n,} {n,m}` and their lazy forms, and
// escapes. Matching is by byte (`.` is one byte, not one rune) and flags such
// as `(?i)` are refused: see README, "Differences".

#include <algorithm>

#include "template/binding.hpp"
#include "template/funcs_support.hpp"

namespace meshinject::tmpl {
namespace {

enum class op : std::uint8_t { byte, any, cls, split, jump, save, match, begin_text, end_text, word_boundary, not_word_boundary };

struct inst {
  op o = op::match;
  std::uint8_t c = 0;
  bool negate = false;
  std::uint32_t x = 0, y = 0;  // split: x preferred, y other; jump: x; cls: first range, count; save: slot
};

constexpr std::size_t max_program = 1024;
constexpr std::size_t max_groups = 10;  // group 0 and nine more
constexpr std::size_t max_slots = 2 * max_groups;

bool is_word(unsigned char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

struct regex {
  inst* code = nullptr;
  std::size_t size = 0;
  std::uint8_t* ranges = nullptr;  // pairs lo, hi
  std::size_t slots = 2;
  std::string_view names[max_groups];
};

class compiler {
 public:
  compiler(std::string_view pattern, regex& re) : p_(pattern), re_(re) {}

  bool run() {
    emit({op::save, 0, false, 0, 0});
    if (!alternation()) return false;
    if (pos_ != p_.size()) return false;  // an unmatched ')'
    emit({op::save, 0, false, 1, 0});
    emit({op::match});
    re_.size = n_;
    re_.slots = 2 * (groups_ + 1);
    return ok_;
  }

 private:
  std::size_t emit(inst i) {
    if (n_ >= max_program) {
      ok_ = false;
      return 0;
    }
    re_.code[n_] = i;
    return n_++;
  }

  // Puts `i` at `at`, moving what follows one place on (targets fixed).
  bool insert(std::size_t at, inst i) {
    if (n_ >= max_program) return ok_ = false;
    for (std::size_t k = n_; k > at; --k) re_.code[k] = re_.code[k - 1];
    ++n_;
    for (std::size_t k = at + 1; k < n_; ++k) {
      inst& c = re_.code[k];
      if ((c.o == op::split || c.o == op::jump) && c.x >= at) ++c.x;
      if (c.o == op::split && c.y >= at) ++c.y;
    }
    re_.code[at] = i;
    return true;
  }

  bool alternation() {
    const std::size_t start = n_;
    if (!concatenation()) return false;
    while (ok_ && pos_ < p_.size() && p_[pos_] == '|') {
      ++pos_;
      if (!insert(start, {op::split, 0, false, static_cast<std::uint32_t>(start + 1), 0})) return false;
      const std::size_t jump = emit({op::jump});
      re_.code[start].y = static_cast<std::uint32_t>(n_);
      if (!concatenation()) return false;
      re_.code[jump].x = static_cast<std::uint32_t>(n_);
    }
    return ok_;
  }

  bool concatenation() {
    while (ok_ && pos_ < p_.size() && p_[pos_] != '|' && p_[pos_] != ')')
      if (!repetition()) return false;
    return ok_;
  }

  bool number(std::size_t& out) {
    const std::size_t begin = pos_;
    out = 0;
    while (pos_ < p_.size() && p_[pos_] >= '0' && p_[pos_] <= '9' && out < 100000)
      out = out * 10 + static_cast<std::size_t>(p_[pos_++] - '0');
    return pos_ > begin;
  }

  // {n} {n,} {n,m}; anything else leaves '{' a literal, as Go does.
  bool counted(std::size_t& min, std::size_t& max, bool& unbounded) {
    const std::size_t save = pos_;
    ++pos_;
    if (!number(min)) return (pos_ = save), false;
    max = min;
    if (pos_ < p_.size() && p_[pos_] == ',') {
      ++pos_;
      if (pos_ < p_.size() && p_[pos_] == '}') unbounded = true;
      else if (!number(max)) return (pos_ = save), false;
    }
    if (pos_ >= p_.size() || p_[pos_] != '}') return (pos_ = save), false;
    ++pos_;
    return true;
  }

  // atom then an optional quantifier. The atom is compiled once to find where
  // it ends; with a quantifier, its code is dropped and laid out again (the
  // atom's text compiled once per copy, with the same group numbers).
  bool repetition() {
    const std::size_t atom_pos = pos_;
    const std::size_t start = n_;
    const std::size_t groups_before = groups_;
    if (!atom()) return false;
    if (pos_ >= p_.size()) return ok_;
    std::size_t min = 0, max = 0;
    bool unbounded = false;
    const char q = p_[pos_];
    if (q == '*') unbounded = true, ++pos_;
    else if (q == '+') min = 1, unbounded = true, ++pos_;
    else if (q == '?') max = 1, ++pos_;
    else if (!(q == '{' && counted(min, max, unbounded))) return ok_;
    const bool lazy = pos_ < p_.size() && p_[pos_] == '?';
    if (lazy) ++pos_;
    if (pos_ < p_.size() && (p_[pos_] == '*' || p_[pos_] == '+')) return ok_ = false;  // invalid nested repetition
    if (max > 1000 || min > 1000 || (!unbounded && max < min)) return ok_ = false;
    const std::size_t after = pos_;
    const std::size_t groups_after = groups_;
    n_ = start;
    auto copy = [&] {
      pos_ = atom_pos;
      groups_ = groups_before;
      return atom();
    };
    auto split_to = [&](std::size_t at, std::size_t body, std::size_t out) {
      re_.code[at].o = op::split;
      re_.code[at].x = static_cast<std::uint32_t>(lazy ? out : body);
      re_.code[at].y = static_cast<std::uint32_t>(lazy ? body : out);
    };
    const std::size_t required = unbounded && min > 0 ? min - 1 : min;
    for (std::size_t k = 0; k < required; ++k)
      if (!copy()) return false;
    if (unbounded && min > 0) {
      // x+: x, then split back to x or on.
      const std::size_t body = n_;
      if (!copy()) return false;
      const std::size_t s = emit({op::split});
      if (!ok_) return false;
      split_to(s, body, n_);
    } else if (unbounded) {
      // x*: split to x or on; x; jump back.
      const std::size_t s = emit({op::split});
      if (!copy()) return false;
      emit({op::jump, 0, false, static_cast<std::uint32_t>(s), 0});
      if (!ok_) return false;
      split_to(s, s + 1, n_);
    } else {
      // (x(x(x)?)?)?: each optional copy skips to the end when not taken. The
      // splits are chained through their y until the end is known.
      constexpr std::uint32_t none = 0xFFFFFFFF;
      std::uint32_t chain = none;
      for (std::size_t k = 0; k < max - min; ++k) {
        const std::size_t s = emit({op::split, 0, false, 0, chain});
        if (!ok_) return false;
        chain = static_cast<std::uint32_t>(s);
        if (!copy()) return false;
      }
      while (chain != none) {
        const std::uint32_t previous = re_.code[chain].y;
        split_to(chain, chain + 1, n_);
        chain = previous;
      }
    }
    pos_ = after;
    groups_ = groups_after;
    return ok_;
  }

  // \d \w \s as ranges; false for any other escape.
  static bool perl_class(char e, std::uint8_t* lo_hi, std::size_t& count) {
    auto add = [&](char lo, char hi) {
      lo_hi[2 * count] = static_cast<std::uint8_t>(lo);
      lo_hi[2 * count + 1] = static_cast<std::uint8_t>(hi);
      ++count;
    };
    switch (e | 0x20) {
      case 'd': add('0', '9'); return true;
      case 'w': add('0', '9'); add('A', 'Z'); add('a', 'z'); add('_', '_'); return true;
      case 's': add('\t', '\n'); add('\f', '\r'); add(' ', ' '); return true;
      default: return false;
    }
  }

  // The byte an escape stands for; false when it stands for none.
  static bool literal_escape(char e, char& out) {
    switch (e) {
      case 'n': out = '\n'; return true;
      case 't': out = '\t'; return true;
      case 'r': out = '\r'; return true;
      case 'f': out = '\f'; return true;
      case 'v': out = '\v'; return true;
      case 'a': out = '\a'; return true;
      default: break;
    }
    if ((e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z') || (e >= '0' && e <= '9')) return false;
    out = e;  // punctuation stands for itself
    return true;
  }

  bool room_for_ranges(std::size_t n) {
    if (ranges_used_ + n > max_program) ok_ = false;
    return ok_;
  }

  bool char_class() {
    ++pos_;  // '['
    bool negate = false;
    if (pos_ < p_.size() && p_[pos_] == '^') negate = true, ++pos_;
    const std::size_t first_range = ranges_used_;
    bool first = true;
    while (pos_ < p_.size() && (p_[pos_] != ']' || first)) {
      first = false;
      if (!room_for_ranges(4)) return false;
      char lo = p_[pos_++];
      if (lo == '\\') {
        if (pos_ >= p_.size()) return ok_ = false;
        const char e = p_[pos_++];
        std::size_t count = 0;
        if (perl_class(e, re_.ranges + 2 * ranges_used_, count)) {
          if (e >= 'A' && e <= 'Z') return ok_ = false;  // \D inside a class: not supported
          ranges_used_ += count;
          continue;
        }
        if (!literal_escape(e, lo)) return ok_ = false;
      } else if (lo == '[' && pos_ < p_.size() && p_[pos_] == ':') {
        return ok_ = false;  // [[:alpha:]]: not supported
      }
      char hi = lo;
      if (pos_ + 1 < p_.size() && p_[pos_] == '-' && p_[pos_ + 1] != ']') {
        ++pos_;
        hi = p_[pos_++];
        if (hi == '\\' && (pos_ >= p_.size() || !literal_escape(p_[pos_++], hi))) return ok_ = false;
        if (static_cast<unsigned char>(hi) < static_cast<unsigned char>(lo)) return ok_ = false;
      }
      re_.ranges[2 * ranges_used_] = static_cast<std::uint8_t>(lo);
      re_.ranges[2 * ranges_used_ + 1] = static_cast<std::uint8_t>(hi);
      ++ranges_used_;
    }
    if (pos_ >= p_.size()) return ok_ = false;  // missing ']'
    ++pos_;
    emit({op::cls, 0, negate, static_cast<std::uint32_t>(first_range),
          static_cast<std::uint32_t>(ranges_used_ - first_range)});
    return ok_;
  }

  bool group() {
    if (++depth_ > 64) return ok_ = false;  // nesting bounds the compiler's recursion
    struct leave {
      int& d;
      ~leave() { --d; }
    } leave_depth{depth_};
    ++pos_;  // '('
    std::size_t number = 0;
    if (p_.substr(pos_, 2) == "?:") {
      pos_ += 2;
    } else if (p_.substr(pos_, 3) == "?P<" || p_.substr(pos_, 2) == "?<") {
      pos_ += p_[pos_ + 1] == 'P' ? 3 : 2;
      const std::size_t end = p_.find('>', pos_);
      if (end == std::string_view::npos || end == pos_) return ok_ = false;
      number = ++groups_;
      if (number >= max_groups) return ok_ = false;
      re_.names[number] = p_.substr(pos_, end - pos_);
      pos_ = end + 1;
    } else if (pos_ < p_.size() && p_[pos_] == '?') {
      return ok_ = false;  // flags: not supported
    } else {
      number = ++groups_;
      if (number >= max_groups) return ok_ = false;
      re_.names[number] = {};
    }
    if (number) emit({op::save, 0, false, static_cast<std::uint32_t>(2 * number), 0});
    if (!alternation()) return false;
    if (pos_ >= p_.size() || p_[pos_] != ')') return ok_ = false;  // missing ')'
    ++pos_;
    if (number) emit({op::save, 0, false, static_cast<std::uint32_t>(2 * number + 1), 0});
    return ok_;
  }

  bool atom() {
    const char c = p_[pos_];
    switch (c) {
      case '(': return group();
      case '[': return char_class();
      case '.': ++pos_; emit({op::any}); return ok_;
      case '^': ++pos_; emit({op::begin_text}); return ok_;
      case '$': ++pos_; emit({op::end_text}); return ok_;
      case '*': case '+': case '?': return ok_ = false;  // missing argument to repetition operator
      case '\\': {
        if (pos_ + 1 >= p_.size()) return ok_ = false;
        const char e = p_[pos_ + 1];
        pos_ += 2;
        if (e == 'A') return emit({op::begin_text}), ok_;
        if (e == 'z') return emit({op::end_text}), ok_;
        if (e == 'b') return emit({op::word_boundary}), ok_;
        if (e == 'B') return emit({op::not_word_boundary}), ok_;
        if (!room_for_ranges(4)) return false;
        std::size_t count = 0;
        if (perl_class(e, re_.ranges + 2 * ranges_used_, count)) {
          emit({op::cls, 0, e >= 'A' && e <= 'Z', static_cast<std::uint32_t>(ranges_used_),
                static_cast<std::uint32_t>(count)});
          ranges_used_ += count;
          return ok_;
        }
        char literal = 0;
        if (!literal_escape(e, literal)) return ok_ = false;
        emit({op::byte, static_cast<std::uint8_t>(literal)});
        return ok_;
      }
      default:
        ++pos_;
        emit({op::byte, static_cast<std::uint8_t>(c)});
        return ok_;
    }
  }

  std::string_view p_;
  regex& re_;
  std::size_t ranges_used_ = 0;
  std::size_t pos_ = 0;
  std::size_t n_ = 0;
  std::size_t groups_ = 0;
  int depth_ = 0;
  bool ok_ = true;
};

bool compile(call_context& cx, std::string_view pattern, regex& out) {
  out.code = cx.strings().allocate_array<inst>(max_program);
  out.ranges = cx.strings().allocate_array<std::uint8_t>(2 * max_program);
  compiler c(pattern, out);
  return c.run();
}

// Leftmost-first search (Perl's order, as Go's regexp) in time linear in the
// text: every thread advances one byte at a time, at most one per instruction.
class matcher {
 public:
  matcher(call_context& cx, const regex& re) : re_(re) {
    seen_ = cx.strings().allocate_array<std::uint32_t>(re.size);
    for (int l = 0; l < 2; ++l) {
      pcs_[l] = cx.strings().allocate_array<std::uint32_t>(re.size);
      caps_[l] = cx.strings().allocate_array<std::int64_t>(re.size * re.slots);
    }
    std::fill(seen_, seen_ + re.size, 0u);
  }

  // The first match at or after `from`; its group offsets in `out` (-1: unset).
  bool search(std::string_view text, std::size_t from, std::int64_t* out) {
    text_ = text;
    std::size_t count[2] = {0, 0};
    int cur = 0;
    bool matched = false;
    std::int64_t start[max_slots];
    for (std::size_t pos = from;; ++pos) {
      ++generation_;
      if (!matched) {
        std::fill(start, start + re_.slots, -1);
        add(cur, count[cur], 0, pos, start);
      }
      if (count[cur] == 0) break;
      const int next = 1 - cur;
      count[next] = 0;
      ++generation_;
      for (std::size_t t = 0; t < count[cur]; ++t) {
        const std::uint32_t pc = pcs_[cur][t];
        const std::int64_t* caps = caps_[cur] + t * re_.slots;
        const inst& i = re_.code[pc];
        if (i.o == op::match) {
          std::copy(caps, caps + re_.slots, out);
          matched = true;
          break;  // threads after this one have lower priority
        }
        if (pos < text.size() && consumes(i, static_cast<unsigned char>(text[pos])))
          add(next, count[next], pc + 1, pos + 1, caps);
      }
      cur = next;
      if (pos >= text.size()) {
        for (std::size_t t = 0; t < count[cur]; ++t) {
          if (re_.code[pcs_[cur][t]].o != op::match) continue;
          std::copy(caps_[cur] + t * re_.slots, caps_[cur] + (t + 1) * re_.slots, out);
          matched = true;
          break;
        }
        break;
      }
    }
    return matched;
  }

 private:
  bool consumes(const inst& i, unsigned char ch) const noexcept {
    switch (i.o) {
      case op::byte: return ch == i.c;
      case op::any: return ch != '\n';
      case op::cls: {
        bool in = false;
        for (std::uint32_t k = 0; k < i.y && !in; ++k)
          in = ch >= re_.ranges[2 * (i.x + k)] && ch <= re_.ranges[2 * (i.x + k) + 1];
        return in != i.negate;
      }
      default: return false;
    }
  }

  // Follows the empty transitions from pc; threads that consume a byte (or
  // match) join the list in priority order, each instruction once per step.
  void add(int list, std::size_t& count, std::uint32_t pc, std::size_t pos, const std::int64_t* caps) {
    if (seen_[pc] == generation_) return;
    seen_[pc] = generation_;
    const inst& i = re_.code[pc];
    switch (i.o) {
      case op::jump: add(list, count, i.x, pos, caps); return;
      case op::split:
        add(list, count, i.x, pos, caps);
        add(list, count, i.y, pos, caps);
        return;
      case op::save: {
        std::int64_t saved[max_slots];
        std::copy(caps, caps + re_.slots, saved);
        saved[i.x] = static_cast<std::int64_t>(pos);
        add(list, count, pc + 1, pos, saved);
        return;
      }
      case op::begin_text:
        if (pos == 0) add(list, count, pc + 1, pos, caps);
        return;
      case op::end_text:
        if (pos == text_.size()) add(list, count, pc + 1, pos, caps);
        return;
      case op::word_boundary:
      case op::not_word_boundary: {
        const bool before = pos > 0 && is_word(static_cast<unsigned char>(text_[pos - 1]));
        const bool after = pos < text_.size() && is_word(static_cast<unsigned char>(text_[pos]));
        if ((before != after) == (i.o == op::word_boundary)) add(list, count, pc + 1, pos, caps);
        return;
      }
      default:
        pcs_[list][count] = pc;
        std::copy(caps, caps + re_.slots, caps_[list] + count * re_.slots);
        ++count;
        return;
    }
  }

  const regex& re_;
  std::string_view text_;
  std::uint32_t* seen_ = nullptr;
  std::uint32_t* pcs_[2] = {nullptr, nullptr};
  std::int64_t* caps_[2] = {nullptr, nullptr};
  std::uint32_t generation_ = 0;
};

bool compile_or_fail(call_context& cx, std::string_view function, std::string_view pattern, regex& re) {
  if (compile(cx, pattern, re)) return true;
  std::string& m = cx.scratch(0);
  m = "regexp: Compile(";
  m += pattern;
  m += "): meshinject's regexp engine does not accept this pattern";
  sprig::fail_with(cx, function, m);
  return false;
}

// regexMatch REGEX S: a pattern that does not compile matches nothing (sprig drops the error).
value fn_regex_match(call_context& cx, std::span<value> a) {
  std::string_view pattern, s;
  if (!sprig::want_string(cx, a[0], pattern) || !sprig::want_string(cx, a[1], s)) return {};
  regex re;
  if (!compile(cx, pattern, re)) return value::boolean(false);
  matcher m(cx, re);
  std::int64_t caps[max_slots];
  return value::boolean(m.search(s, 0, caps));
}

value fn_regex_find(call_context& cx, std::span<value> a) {
  std::string_view pattern, s;
  if (!sprig::want_string(cx, a[0], pattern) || !sprig::want_string(cx, a[1], s)) return {};
  regex re;
  if (!compile_or_fail(cx, "regexFind", pattern, re)) return {};
  matcher m(cx, re);
  std::int64_t caps[max_slots];
  if (!m.search(s, 0, caps)) return value::string("");
  return value::string(s.substr(static_cast<std::size_t>(caps[0]), static_cast<std::size_t>(caps[1] - caps[0])),
                       a[1].origin);
}

// Regexp.Expand's template: $1, ${1}, $name, ${name}, $$. A name is the longest
// run of letters, digits and '_' ("$1x" is the group named "1x": empty).
void expand(std::string_view repl, std::string_view s, const regex& re, const std::int64_t* caps, std::string& out) {
  for (std::size_t k = 0; k < repl.size();) {
    if (repl[k] != '$' || k + 1 >= repl.size()) {
      out += repl[k++];
      continue;
    }
    if (repl[k + 1] == '$') {
      out += '$';
      k += 2;
      continue;
    }
    std::string_view name;
    std::size_t next = k + 1;
    if (repl[next] == '{') {
      const std::size_t close = repl.find('}', next);
      if (close == std::string_view::npos) {
        out += repl[k++];
        continue;
      }
      name = repl.substr(next + 1, close - next - 1);
      next = close + 1;
    } else {
      std::size_t end = next;
      while (end < repl.size() && is_word(static_cast<unsigned char>(repl[end]))) ++end;
      name = repl.substr(next, end - next);
      next = end;
    }
    bool valid = !name.empty();
    for (char c : name) valid = valid && is_word(static_cast<unsigned char>(c));
    if (!valid) {
      out += repl[k++];
      continue;
    }
    std::size_t group = max_groups;
    bool numeric = true;
    std::size_t number = 0;
    for (char c : name) {
      numeric = numeric && c >= '0' && c <= '9';
      if (numeric && number < 1000) number = number * 10 + static_cast<std::size_t>(c - '0');
    }
    if (numeric) group = number;
    else
      for (std::size_t g = 1; g < re.slots / 2; ++g)
        if (re.names[g] == name) group = g;
    if (group < re.slots / 2 && caps[2 * group] >= 0)
      out.append(s.substr(static_cast<std::size_t>(caps[2 * group]),
                          static_cast<std::size_t>(caps[2 * group + 1] - caps[2 * group])));
    k = next;
  }
}

// regexReplaceAll REGEX S REPL: Regexp.ReplaceAllString. An empty match right
// after the previous match is skipped, as Go does.
value fn_regex_replace_all(call_context& cx, std::span<value> a) {
  std::string_view pattern, s, repl;
  if (!sprig::want_string(cx, a[0], pattern) || !sprig::want_string(cx, a[1], s) ||
      !sprig::want_string(cx, a[2], repl))
    return {};
  regex re;
  if (!compile_or_fail(cx, "regexReplaceAll", pattern, re)) return {};
  matcher m(cx, re);
  std::string& out = cx.scratch(0);
  out.clear();
  std::int64_t caps[max_slots];
  std::size_t copied = 0, search_from = 0;
  std::int64_t last_end = -1;
  while (search_from <= s.size() && m.search(s, search_from, caps)) {
    const auto begin = static_cast<std::size_t>(caps[0]), end = static_cast<std::size_t>(caps[1]);
    if (begin == end && static_cast<std::int64_t>(begin) == last_end) {
      // An empty match where the previous one ended: not a match; move on one byte.
      search_from = begin + 1;
      continue;
    }
    out.append(s.substr(copied, begin - copied));
    expand(repl, s, re, caps, out);
    copied = end;
    last_end = static_cast<std::int64_t>(end);
    search_from = end > begin ? end : end + 1;
  }
  out.append(s.substr(std::min(copied, s.size())));
  return cx.text(out, a[1].origin);
}

}  // namespace

void add_regex_functions(function_table& t) {
  t.add({.name = "regexMatch", .impl = fn_regex_match, .min_args = 2, .max_args = 2});
  t.add({.name = "regexFind", .impl = fn_regex_find, .min_args = 2, .max_args = 2});
  t.add({.name = "regexReplaceAll", .impl = fn_regex_replace_all, .min_args = 3, .max_args = 3});
}

}  // namespace meshinject::tmpl
