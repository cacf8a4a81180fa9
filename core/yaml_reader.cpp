#include "core/yaml_reader.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>

#include "core/byte_words.hpp"
#include "core/json_text.hpp"
#include "core/yaml_scan.hpp"

namespace meshinject::core::yaml {
namespace {

// The bytes of 8 that need a closer look when validating: not printable ASCII
// (0x20-0x7E), so a line break, a control character or part of a UTF-8
// sequence. The lowest mark is exact (a mark may be false only above a true one).
std::uint64_t not_printable_ascii(const char* p) noexcept {
  const std::uint64_t w = word_at(p);
  return (w & byte_highs) | bytes_below(w, 0x20) | bytes_equal(w, 0x7F);
}
bool is_hex(char c) noexcept { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
int hex_value(char c) noexcept { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; }

// Where a node is read: after `- ` (where a compact collection may start on the
// same line), after `key:` or `---` (where none may).
enum class context : std::uint8_t { document, mapping_value, sequence_item };

struct tag_span {
  std::uint32_t off = 0, len = 0;
  position at;
};

}  // namespace

class reader::parser {
 public:
  parser(reader& r, std::string_view src) noexcept : r_(r), s_(src) {}

  bool run() {
    if (s_.size() >= std::numeric_limits<std::int32_t>::max()) return fail({1, 1}, "the document is 2 GiB or larger");
    if (!validate()) return false;
    if (s_.substr(0, 3) == "\xEF\xBB\xBF") pos_ = line_start_ = 3;
    if (!skip_gap(false)) return false;
    if (cur() == '%' && column() == 0) return fail(here(), "directives (%YAML, %TAG) are not supported");
    if (marker("---")) {
      pos_ += 3;
      if (!parse_value(-1, context::document)) return false;
    } else if (eof() || marker("...")) {
      add_empty(here(), {});
    } else if (!parse_line_start(-1, {})) {
      return false;
    }
    if (!skip_gap(false)) return false;
    if (marker("...")) {
      pos_ += 3;
      if (!skip_gap(true)) return false;
      if (!eof()) return fail(here(), "several documents in one stream are not supported (content after '...')");
    }
    if (eof()) return true;
    if (marker("---")) return fail(here(), "several documents in one stream are not supported");
    return fail(here(), "unexpected content after the document's root node (check the indentation)");
  }

 private:
  // ------------------------------------------------------------ characters

  char at(std::size_t p) const noexcept { return p < s_.size() ? s_[p] : '\0'; }
  char cur() const noexcept { return at(pos_); }
  bool eof() const noexcept { return pos_ >= s_.size(); }
  int column() const noexcept { return static_cast<int>(pos_ - line_start_); }
  position here() const noexcept { return {line_, static_cast<std::uint32_t>(column() + 1)}; }
  std::size_t break_at(std::size_t p) const noexcept {
    const char c = at(p);
    if (c == '\n') return 1;
    if (c == '\r') return at(p + 1) == '\n' ? 2 : 1;
    return 0;
  }
  bool blank(std::size_t p) const noexcept { return scan::blank(at(p)); }
  bool blankz(std::size_t p) const noexcept { return p >= s_.size() || scan::blank(s_[p]) || break_at(p); }
  bool breakz(std::size_t p) const noexcept { return p >= s_.size() || break_at(p); }
  void take_break() noexcept {
    pos_ += break_at(pos_);
    ++line_;
    line_start_ = pos_;
  }
  bool marker(std::string_view m) const noexcept {
    return column() == 0 && s_.substr(pos_, 3) == m && blankz(pos_ + 3);
  }
  bool any_marker() const noexcept { return marker("---") || marker("..."); }
  bool indicator(char c) const noexcept { return cur() == c && blankz(pos_ + 1); }

  bool fail(position p, std::string_view message) noexcept {
    if (!failed_) r_.error_ = {p, message};
    failed_ = true;
    return false;
  }

  // go-yaml reads only UTF-8 made of printable characters (and tab, CR, LF).
  bool validate() noexcept {
    std::uint32_t line = 1;
    std::size_t start = 0;
    const auto bad = [&](std::size_t i, std::string_view what) {
      return fail({line, static_cast<std::uint32_t>(i - start + 1)}, what);
    };
    for (std::size_t i = 0; i < s_.size();) {
      // Most of a template's output is printable ASCII: skip it 8 bytes at a
      // time, and within the word that ends the run, to its first other byte
      // (byte by byte, each line's break cost up to eight more word tests).
      while (i + 8 <= s_.size()) {
        const std::uint64_t marks = not_printable_ascii(s_.data() + i);
        if (marks != 0) {
          i += static_cast<std::size_t>(std::countr_zero(marks)) / 8;
          break;
        }
        i += 8;
      }
      if (i >= s_.size()) break;
      const auto b = static_cast<unsigned char>(s_[i]);
      if (b < 0x80) {
        if (b == '\n' || (b == '\r' && at(i + 1) != '\n')) {
          ++line;
          start = i + 1;
        } else if ((b < 0x20 && b != '\t' && b != '\r') || b == 0x7F) {
          return bad(i, "a control character (YAML allows tab, CR and LF only)");
        }
        ++i;
        continue;
      }
      const std::size_t n = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 0;
      if (n == 0 || b > 0xF4 || i + n > s_.size()) return bad(i, "invalid UTF-8");
      std::uint32_t cp = b & (0x7F >> n);
      for (std::size_t k = 1; k < n; ++k) {
        const auto c = static_cast<unsigned char>(s_[i + k]);
        if ((c & 0xC0) != 0x80) return bad(i, "invalid UTF-8");
        cp = (cp << 6) | (c & 0x3F);
      }
      const std::uint32_t least = n == 2 ? 0x80 : n == 3 ? 0x800 : 0x10000;
      if (cp < least || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return bad(i, "invalid UTF-8");
      if ((cp >= 0x80 && cp < 0xA0 && cp != 0x85) || cp == 0xFFFE || cp == 0xFFFF)
        return bad(i, "a control character (YAML allows tab, CR and LF only)");
      i += n;
    }
    return true;
  }

  // ------------------------------------------------------------ gaps

  // Spaces, comments and line breaks up to the next token, in block context.
  // A tab may not indent a line or follow `- ` (go-yaml v2's rule).
  bool skip_gap(bool tabs_ok) noexcept {
    for (;;) {
      while (cur() == ' ' || (tabs_ok && cur() == '\t')) ++pos_;
      if (cur() == '\t') return fail(here(), "a tab character where YAML expects indentation or a space (after '- ')");
      if (cur() == '#')
        while (!breakz(pos_)) ++pos_;
      if (!break_at(pos_)) return true;
      take_break();
      tabs_ok = false;
    }
  }

  bool skip_flow_gap() noexcept {
    for (;;) {
      while (blank(pos_)) ++pos_;
      if (cur() == '#')
        while (!breakz(pos_)) ++pos_;
      if (break_at(pos_)) {
        take_break();
        continue;
      }
      if (any_marker()) return fail(here(), "a document marker inside a flow collection");
      return true;
    }
  }

  // After a node read in block context: only blanks and a comment may follow on
  // its line. `start` is where the node began, to explain a `:` after it.
  bool end_of_node(position start, char first) noexcept {
    if (line_ended_) {
      line_ended_ = false;
      if (indicator(':')) return fail(here(), "mapping values are not allowed in this context");
      return true;
    }
    while (blank(pos_)) ++pos_;
    if (cur() == '#')
      while (!breakz(pos_)) ++pos_;
    if (breakz(pos_)) return true;
    if (cur() != ':') return fail(here(), "unexpected text after a complete value");
    if (first == '[' || first == '{') return fail(start, "a flow collection cannot be a mapping key");
    if ((first == '"' || first == '\'') && start.line != line_)
      return fail(start, "a mapping key must be on a single line");
    return fail(here(), "mapping values are not allowed in this context");
  }

  // ------------------------------------------------------------ nodes

  std::uint32_t add(node_kind k, position p, tag_span tag) {
    node_data d;
    d.kind = k;
    d.line = p.line;
    d.column = p.column;
    if (tag.len) {
      d.tag_off = tag.off;
      d.tag_len = tag.len;
      d.line = tag.at.line;
      d.column = tag.at.column;
    }
    const auto i = static_cast<std::uint32_t>(r_.nodes_.size());
    d.end = i + 1;
    r_.nodes_.push_back(d);
    return i;
  }

  std::uint32_t add_empty(position p, tag_span tag) {
    const std::uint32_t i = add(node_kind::scalar, p, tag);
    r_.nodes_[i].flags = empty;
    return i;
  }

  void set_text(std::uint32_t i, std::size_t off, std::size_t len, bool pool) noexcept {
    node_data& d = r_.nodes_[i];
    d.text_off = static_cast<std::uint32_t>(off);
    d.text_len = static_cast<std::uint32_t>(len);
    if (pool) d.flags |= in_pool;
  }

  bool enter(position p) noexcept {
    if (++depth_ > max_depth) return fail(p, "collections nested deeper than 512 levels");
    return true;
  }

  void close(std::uint32_t i) {
    r_.nodes_[i].end = static_cast<std::uint32_t>(r_.nodes_.size());
    if (r_.nodes_[i].kind == node_kind::mapping) mark_duplicates(i);
    --depth_;
  }

  void mark_duplicates(std::uint32_t m) {
    auto& nodes = r_.nodes_;
    auto& keys = r_.scratch_;
    keys.clear();
    for (std::uint32_t k = m + 1; k < nodes[m].end; k = nodes[nodes[k].end].end) keys.push_back(k);
    const auto text = [&](std::uint32_t k) { return r_.text_of(nodes[k]); };
    auto mark = [&](std::uint32_t k) {
      nodes[k].flags |= duplicate;
      ++r_.duplicates_;
    };
    if (keys.size() <= 16) {
      for (std::size_t a = 1; a < keys.size(); ++a)
        for (std::size_t b = 0; b < a; ++b)
          if (text(keys[a]) == text(keys[b])) {
            mark(keys[a]);
            break;
          }
      return;
    }
    std::sort(keys.begin(), keys.end(), [&](std::uint32_t a, std::uint32_t b) {
      const std::string_view ta = text(a), tb = text(b);
      return ta < tb || (ta == tb && a < b);
    });
    for (std::size_t k = 1; k < keys.size(); ++k)
      if (text(keys[k]) == text(keys[k - 1])) mark(keys[k]);
  }

  // ------------------------------------------------------------ block context

  // Right after an indicator (`:` of a key, `-` of an entry, `---`): the node is
  // on the same line, or on the lines below, or absent.
  bool parse_value(int parent, context ctx) {
    const bool tabs_ok = ctx != context::sequence_item;
    while (cur() == ' ' || (tabs_ok && cur() == '\t')) ++pos_;
    if (cur() == '\t') return fail(here(), "a tab character where YAML expects indentation or a space (after '- ')");
    if (cur() == '#')
      while (!breakz(pos_)) ++pos_;
    if (!breakz(pos_)) return parse_inline(parent, ctx);
    if (!skip_gap(false)) return false;
    return parse_below(parent, ctx, {});
  }

  // The node starts on a later line (at pos_, the next token) or is empty.
  bool parse_below(int parent, context ctx, tag_span tag) {
    if (!eof() && !any_marker()) {
      const int col = column();
      if (col > parent) return parse_line_start(parent, tag);
      if (col == parent && ctx == context::mapping_value && indicator('-'))
        return parse_block_sequence(col, tag, true);
    }
    add_empty(here(), tag);
    return true;
  }

  // A node on the line of its indicator.
  bool parse_inline(int parent, context ctx) {
    if (indicator('-')) {
      if (ctx == context::sequence_item) return parse_block_sequence(column(), {}, false);
      return fail(here(), "block sequence entries are not allowed in this context");
    }
    if (indicator('?')) return fail(here(), "complex mapping keys ('? ') are not supported");
    if (line_is_key(pos_)) {
      if (ctx == context::sequence_item) return parse_block_mapping(column(), {});
      return fail(here(), "mapping values are not allowed in this context");
    }
    tag_span tag;
    if (cur() == '!') {
      if (!scan_tag(tag)) return false;
      while (blank(pos_)) ++pos_;
      if (cur() == '#')
        while (!breakz(pos_)) ++pos_;
      if (breakz(pos_)) {
        if (!skip_gap(false)) return false;
        return parse_below(parent, ctx, tag);
      }
    }
    return parse_scalar_or_flow(parent, tag);
  }

  // A node whose first token starts a line (its column is above `parent`).
  bool parse_line_start(int parent, tag_span tag) {
    const int col = column();
    if (cur() == '%') return fail(here(), "'%' cannot start a node (directives are not supported)");
    if (indicator('-')) return parse_block_sequence(col, tag, false);
    if (indicator('?')) return fail(here(), "complex mapping keys ('? ') are not supported");
    if (line_is_key(pos_)) return parse_block_mapping(col, tag);
    if (cur() == '!') {
      if (tag.len) return fail(here(), "a node has two tags");
      if (!scan_tag(tag)) return false;
      while (blank(pos_)) ++pos_;
      if (cur() == '#')
        while (!breakz(pos_)) ++pos_;
      if (breakz(pos_)) {
        if (!skip_gap(false)) return false;
        if (!eof() && !any_marker() && column() > parent) return parse_line_start(parent, tag);
        add_empty(here(), tag);
        return true;
      }
    }
    return parse_scalar_or_flow(parent, tag);
  }

  // A scalar or a flow collection in block context, and the rest of its line.
  bool parse_scalar_or_flow(int parent, tag_span tag) {
    const position start = here();
    const char c = cur();
    switch (c) {
      case '"':
      case '\'': return scan_quoted(c == '\'', tag) && end_of_node(start, c);
      case '[':
      case '{': {
        block_indent_ = parent;
        return parse_flow(tag) && end_of_node(start, c);
      }
      case '|':
      case '>': return scan_block_scalar(parent, tag) && end_of_node(start, c);
      case '&':
      case '*': return fail(here(), "anchors and aliases ('&', '*') are not supported");
      case '!': return fail(here(), "a node has two tags");
      default: break;
    }
    if (indicator('-')) return fail(here(), "block sequence entries are not allowed in this context");
    if (indicator('?')) return fail(here(), "complex mapping keys ('? ') are not supported");
    if (indicator(':')) return fail(here(), "a mapping value without a key");
    if (!plain_can_start(pos_)) return fail(here(), "this character cannot start a YAML node");
    return scan_plain(parent + 1, tag) && end_of_node(start, c);
  }

  bool plain_can_start(std::size_t p) const noexcept {
    switch (at(p)) {
      case '\0': case ' ': case '\t': case '\r': case '\n':
      case ',': case '[': case ']': case '{': case '}': case '#': case '&': case '*': case '!':
      case '|': case '>': case '\'': case '"': case '%': case '@': case '`':
        return false;
      case '-': return !blankz(p + 1);
      case '?':
      case ':': return flow_ == 0 && !blankz(p + 1);
      default: return true;
    }
  }

  // Whether the line from `p` holds an implicit key: an optional tag, then a
  // single-line scalar, then `:` and a blank.
  bool line_is_key(std::size_t p) const noexcept {
    // A key's line is asked about by the node that starts there and again by
    // its mapping: the input does not change while it is read, so the last
    // answer stands (in block context: plain_can_start reads flow_).
    if (flow_ != 0) return scan_line_is_key(p);
    if (p == key_memo_pos_) return key_memo_;
    key_memo_ = scan_line_is_key(p);
    key_memo_pos_ = p;
    return key_memo_;
  }

  bool scan_line_is_key(std::size_t p) const noexcept {
    if (at(p) == '!') {
      while (!blankz(p)) ++p;
      while (blank(p)) ++p;
    }
    const char q = at(p);
    if (q == '"' || q == '\'') {
      for (++p;; ++p) {
        const char c = at(p);
        if (p >= s_.size() || break_at(p)) return false;
        if (q == '\'' && c == '\'') {
          if (at(p + 1) != '\'') break;
          ++p;
        } else if (q == '"' && c == '\\') {
          if (breakz(p + 1)) return false;
          ++p;
        } else if (q == '"' && c == '"') {
          break;
        }
      }
      ++p;
      while (blank(p)) ++p;
      return at(p) == ':' && blankz(p + 1);
    }
    if (!plain_can_start(p)) return false;
    return scan::plain_line_is_key(s_, p);
  }

  bool parse_block_mapping(int col, tag_span tag) {
    if (!enter(here())) return false;
    const std::uint32_t m = add(node_kind::mapping, here(), tag);
    for (;;) {
      const position kp = here();
      const std::size_t key_start = pos_;
      if (indicator('?')) return fail(kp, "complex mapping keys ('? ') are not supported");
      if (indicator(':')) return fail(kp, "a mapping value without a key");
      if (indicator('-')) return fail(kp, "a sequence entry where a mapping key is expected");
      if (!line_is_key(pos_)) {
        if (cur() == '[' || cur() == '{') return fail(kp, "a flow collection cannot be a mapping key");
        if (cur() == '&' || cur() == '*') return fail(kp, "anchors and aliases ('&', '*') are not supported");
        return fail(kp, "could not find expected ':' after a mapping key");
      }
      tag_span key_tag;
      if (cur() == '!') {
        if (!scan_tag(key_tag)) return false;
        while (blank(pos_)) ++pos_;
      }
      if (cur() == '"' || cur() == '\'') {
        if (!scan_quoted(cur() == '\'', key_tag)) return false;
      } else if (!scan_plain(col + 1, key_tag)) {
        return false;
      }
      line_ended_ = false;
      while (blank(pos_)) ++pos_;
      if (pos_ - key_start > max_key_length) return fail(kp, "an implicit mapping key longer than 1024 characters");
      ++pos_;  // ':'
      ++r_.nodes_[m].size;
      if (!parse_value(col, context::mapping_value) || !skip_gap(false)) return false;
      if (eof() || any_marker() || column() < col) break;
      if (column() > col) return fail(here(), "bad indentation of a mapping entry");
    }
    close(m);
    return true;
  }

  bool parse_block_sequence(int col, tag_span tag, bool indentless) {
    if (!enter(here())) return false;
    const std::uint32_t s = add(node_kind::sequence, here(), tag);
    for (;;) {
      ++pos_;  // '-'
      ++r_.nodes_[s].size;
      if (!parse_value(col, context::sequence_item) || !skip_gap(false)) return false;
      if (eof() || any_marker() || column() < col) break;
      if (column() > col) return fail(here(), "bad indentation of a sequence entry");
      if (!indicator('-')) {
        if (indentless) break;
        return fail(here(), "expected a sequence entry ('- ') at this indentation");
      }
    }
    close(s);
    return true;
  }

  // ------------------------------------------------------------ flow context

  bool parse_flow(tag_span tag) {
    const position open = here();
    if (!enter(open)) return false;
    const bool is_map = cur() == '{';
    const char closing = is_map ? '}' : ']';
    const std::uint32_t n = add(is_map ? node_kind::mapping : node_kind::sequence, open, tag);
    ++pos_;
    ++flow_;
    for (;;) {
      if (!skip_flow_gap()) return false;
      if (eof()) return unterminated(open, is_map);
      if (cur() == closing) break;
      if (cur() == ',') return fail(here(), "a flow collection entry is missing before ','");
      if (!(is_map ? parse_flow_pair() : parse_flow_item())) return false;
      ++r_.nodes_[n].size;
      if (!skip_flow_gap()) return false;
      if (cur() == ',') {
        ++pos_;
        continue;
      }
      if (cur() == closing) break;
      if (eof()) return unterminated(open, is_map);
      return fail(here(), is_map ? "expected ',' or '}' in a flow mapping" : "expected ',' or ']' in a flow sequence");
    }
    ++pos_;
    --flow_;
    close(n);
    line_ended_ = false;
    return true;
  }

  bool unterminated(position open, bool is_map) noexcept {
    return fail(open, is_map ? "unterminated flow mapping (no closing '}')" : "unterminated flow sequence (no closing ']')");
  }

  // A sequence entry: a node, or `key: value` (a mapping of one entry).
  bool parse_flow_item() {
    const position ep = here();
    const std::uint32_t at_index = static_cast<std::uint32_t>(r_.nodes_.size());
    const std::uint32_t key_line = line_;
    const std::size_t key_start = pos_;
    if (!parse_flow_node()) return false;
    if (!skip_flow_gap()) return false;
    if (cur() != ':') return true;
    if (!flow_key_ok(at_index, ep, key_line, key_start)) return false;
    if (!enter(ep)) return false;
    node_data pair;
    pair.kind = node_kind::mapping;
    pair.line = ep.line;
    pair.column = ep.column;
    pair.size = 1;
    auto& nodes = r_.nodes_;
    nodes.insert(nodes.begin() + at_index, pair);
    nodes[at_index + 1].end = at_index + 2;  // the key, moved up by one
    ++pos_;
    if (!flow_value()) return false;
    close(at_index);
    return true;
  }

  bool parse_flow_pair() {
    const position kp = here();
    const std::uint32_t key_index = static_cast<std::uint32_t>(r_.nodes_.size());
    const std::uint32_t key_line = line_;
    const std::size_t key_start = pos_;
    if (!parse_flow_node()) return false;
    if (!skip_flow_gap()) return false;
    if (cur() != ':') {
      if (r_.nodes_[key_index].kind != node_kind::scalar) return fail(kp, "a flow collection cannot be a mapping key");
      add_empty(here(), {});  // `{a, b}`: keys without values
      return true;
    }
    if (!flow_key_ok(key_index, kp, key_line, key_start)) return false;
    ++pos_;
    return flow_value();
  }

  bool flow_key_ok(std::uint32_t key_index, position kp, std::uint32_t key_line, std::size_t key_start) noexcept {
    if (r_.nodes_[key_index].kind != node_kind::scalar) return fail(kp, "a flow collection cannot be a mapping key");
    if (line_ != key_line) return fail(kp, "a mapping key and its ':' must be on one line");
    if (pos_ - key_start > max_key_length) return fail(kp, "an implicit mapping key longer than 1024 characters");
    return true;
  }

  // After `:` inside a flow collection: a node, or nothing before `,` / `}` / `]`.
  bool flow_value() {
    if (!skip_flow_gap()) return false;
    if (cur() == ',' || cur() == '}' || cur() == ']') {
      add_empty(here(), {});
      return true;
    }
    return parse_flow_node();
  }

  bool parse_flow_node() {
    tag_span tag;
    if (cur() == '!') {
      if (!scan_tag(tag) || !skip_flow_gap()) return false;
      if (cur() == ',' || cur() == '}' || cur() == ']' || cur() == ':') {
        add_empty(here(), tag);
        return true;
      }
    }
    const char c = cur();
    switch (c) {
      case '"':
      case '\'': return scan_quoted(c == '\'', tag);
      case '[':
      case '{': return parse_flow(tag);
      case '&':
      case '*': return fail(here(), "anchors and aliases ('&', '*') are not supported");
      case '!': return fail(here(), "a node has two tags");
      case '?': return fail(here(), "complex mapping keys ('?') are not supported");
      case ':': return fail(here(), "a mapping value without a key");
      case ',':
      case ']':
      case '}': return fail(here(), "a flow collection entry is missing");
      default: break;
    }
    if (indicator('-')) return fail(here(), "block sequence entries are not allowed in a flow collection");
    if (!plain_can_start(pos_)) return fail(here(), "this character cannot start a YAML node");
    return scan_plain(block_indent_ + 1, tag);
  }

  // ------------------------------------------------------------ scalars

  // go-yaml's tag characters: a URI's, where a flow collection's `,[]` end it.
  bool tag_char(char c) const noexcept {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    if (flow_ && (c == ',' || c == '[' || c == ']')) return false;
    return std::string_view("-_;/?:@&=+$,.!~*'()[]%").find(c) != std::string_view::npos;
  }

  bool scan_tag(tag_span& tag) noexcept {
    if (tag.len) return fail(here(), "a node has two tags");
    tag.at = here();
    const std::size_t start = pos_;
    if (at(pos_ + 1) == '<') {
      while (!breakz(pos_) && cur() != '>') ++pos_;
      if (cur() != '>') return fail(tag.at, "unterminated verbatim tag ('!<...>')");
      ++pos_;
    } else {
      for (++pos_; tag_char(cur()); ++pos_) {
      }
    }
    if (!blankz(pos_) && !(flow_ && (cur() == ',' || cur() == ']' || cur() == '}')))
      return fail(here(), "a tag must be followed by a space or a line break");
    tag.off = static_cast<std::uint32_t>(start);
    tag.len = static_cast<std::uint32_t>(pos_ - start);
    return true;
  }

  // go-yaml's plain scalar: runs of non-blank characters joined by their
  // whitespace on a line; a single line break folds to a space, n >= 2 breaks
  // to n - 1 newlines. Ends at `: `, ` #`, a flow indicator inside a flow
  // collection, a document marker, or (block context) a line indented to less
  // than `min_indent`.
  bool scan_plain(int min_indent, tag_span tag) {
    const position start = here();
    const std::uint32_t n = add(node_kind::scalar, start, tag);
    std::string& pool = r_.pool_;
    const std::size_t first = pos_;
    std::size_t first_end = pos_;  // the text is s_[first, first_end) until a line break joins lines
    bool pooled = false;
    std::size_t pool_start = pool.size();
    bool leading_blanks = false;
    std::size_t breaks = 0;
    std::size_t ws_begin = 0, ws_end = 0;  // whitespace since the last character (same line)
    for (;;) {
      if (any_marker() || cur() == '#') break;
      if (!leading_blanks && !pooled && flow_ == 0) {
        // The common run: characters of a scalar read from the input as they
        // are, up to a blank, a line break or `: ` (the loop below stops at
        // the same places, and does the joining when lines fold).
        const std::size_t p = scan::plain_run_end(s_, pos_);
        if (p != pos_) {
          ws_begin = ws_end = 0;
          pos_ = first_end = p;
        }
      }
      while (!blankz(pos_)) {
        const char c = cur();
        if (c == ':' && blankz(pos_ + 1)) break;
        if (flow_ && (c == ',' || c == '?' || c == '[' || c == ']' || c == '{' || c == '}')) break;
        if (leading_blanks) {
          if (!pooled) {
            pool.append(s_, first, first_end - first);
            pooled = true;
          }
          if (breaks == 0) pool += ' ';
          else pool.append(breaks, '\n');
          leading_blanks = false;
          breaks = 0;
        } else if (pooled && ws_end > ws_begin) {
          pool.append(s_, ws_begin, ws_end - ws_begin);
        }
        ws_begin = ws_end = 0;
        if (pooled) pool += c;
        ++pos_;
        first_end = pos_;
      }
      if (!blank(pos_) && !break_at(pos_)) break;
      while (blank(pos_) || break_at(pos_)) {
        if (blank(pos_)) {
          if (leading_blanks && column() < min_indent && cur() == '\t')
            return fail(here(), "a tab character that violates indentation inside a plain scalar");
          // The rest of the run at once (a next line's indentation, mostly):
          // spaces ask nothing more, nor do tabs on the scalar's own line.
          std::size_t q = pos_ + 1;
          while (q < s_.size() && (s_[q] == ' ' || (!leading_blanks && s_[q] == '\t'))) ++q;
          if (!leading_blanks) {
            if (ws_end == 0) ws_begin = pos_;
            ws_end = q;
          }
          pos_ = q;
        } else {
          if (!leading_blanks) {
            ws_begin = ws_end = 0;
            leading_blanks = true;
          } else {
            ++breaks;
          }
          take_break();
        }
      }
      if (flow_ == 0 && column() < min_indent) break;
    }
    if (!pooled && first_end == first) return fail(start, "an empty plain scalar");
    line_ended_ = leading_blanks;
    if (pooled) set_text(n, pool_start, pool.size() - pool_start, true);
    else set_text(n, first, first_end - first, false);
    return true;
  }

  bool scan_quoted(bool single, tag_span tag) {
    const position start = here();
    const std::uint32_t n = add(node_kind::scalar, start, tag);
    r_.nodes_[n].style = single ? scalar_style::single_quoted : scalar_style::double_quoted;
    line_ended_ = false;
    ++pos_;
    // The common case: the whole scalar on this line, nothing escaped.
    for (std::size_t p = pos_; p < s_.size() && !break_at(p); ++p) {
      const char c = s_[p];
      if (single && c == '\'') {
        if (at(p + 1) == '\'') break;
        set_text(n, pos_, p - pos_, false);
        pos_ = p + 1;
        return true;
      }
      if (!single && c == '\\') break;
      if (!single && c == '"') {
        set_text(n, pos_, p - pos_, false);
        pos_ = p + 1;
        return true;
      }
    }
    std::string& pool = r_.pool_;
    const std::size_t pool_start = pool.size();
    const char quote = single ? '\'' : '"';
    for (;;) {
      if (any_marker()) return fail(start, "a document marker inside a quoted scalar");
      if (eof()) return fail(start, single ? "unterminated single-quoted scalar" : "unterminated double-quoted scalar");
      bool leading_blanks = false;
      while (!blankz(pos_)) {
        const char c = cur();
        if (single && c == '\'' && at(pos_ + 1) == '\'') {
          pool += '\'';
          pos_ += 2;
        } else if (c == quote) {
          break;
        } else if (!single && c == '\\' && break_at(pos_ + 1)) {
          ++pos_;
          take_break();
          leading_blanks = true;
          break;
        } else if (!single && c == '\\') {
          if (!escape(start)) return false;
        } else {
          pool += c;
          ++pos_;
        }
      }
      if (cur() == quote) break;
      bool folded_break = false;
      std::size_t breaks = 0, ws_begin = pos_, ws_end = pos_;
      while (blank(pos_) || break_at(pos_)) {
        if (blank(pos_)) {
          if (!leading_blanks) ws_end = pos_ + 1;
          ++pos_;
        } else {
          if (!leading_blanks) {
            leading_blanks = folded_break = true;
          } else {
            ++breaks;
          }
          take_break();
        }
      }
      if (!leading_blanks) pool.append(s_, ws_begin, ws_end - ws_begin);
      else if (folded_break && breaks == 0) pool += ' ';
      else pool.append(breaks, '\n');
    }
    ++pos_;
    set_text(n, pool_start, pool.size() - pool_start, true);
    return true;
  }

  bool escape(position start) {
    std::string& pool = r_.pool_;
    const position where = here();
    if (pos_ + 1 >= s_.size()) return fail(start, "unterminated double-quoted scalar");
    int digits = 0;
    switch (at(pos_ + 1)) {
      case '0': pool += '\0'; break;
      case 'a': pool += '\a'; break;
      case 'b': pool += '\b'; break;
      case 't':
      case '\t': pool += '\t'; break;
      case 'n': pool += '\n'; break;
      case 'v': pool += '\v'; break;
      case 'f': pool += '\f'; break;
      case 'r': pool += '\r'; break;
      case 'e': pool += '\x1B'; break;
      case ' ': pool += ' '; break;
      case '"': pool += '"'; break;
      case '\'': pool += '\''; break;
      case '/': pool += '/'; break;
      case '\\': pool += '\\'; break;
      case 'N': pool += "\xC2\x85"; break;
      case '_': pool += "\xC2\xA0"; break;
      case 'L': pool += "\xE2\x80\xA8"; break;
      case 'P': pool += "\xE2\x80\xA9"; break;
      case 'x': digits = 2; break;
      case 'u': digits = 4; break;
      case 'U': digits = 8; break;
      default: return fail(where, "unknown escape sequence in a double-quoted scalar");
    }
    pos_ += 2;
    if (!digits) return true;
    std::uint32_t cp = 0;
    for (int k = 0; k < digits; ++k, ++pos_) {
      if (!is_hex(cur())) return fail(where, "an escape sequence is missing hexadecimal digits");
      cp = (cp << 4) | static_cast<std::uint32_t>(hex_value(cur()));
    }
    if ((cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
      return fail(where, "an escape sequence names an invalid Unicode code point");
    append_utf8(pool, cp);
    return true;
  }

  // go-yaml's block scalar: the header, then lines indented by at least the
  // content indentation (given, or that of the first non-empty line).
  bool scan_block_scalar(int parent, tag_span tag) {
    const position start = here();
    const bool literal = cur() == '|';
    const std::uint32_t n = add(node_kind::scalar, start, tag);
    r_.nodes_[n].style = literal ? scalar_style::literal : scalar_style::folded;
    ++pos_;
    int chomp = 0, increment = 0;
    for (int k = 0; k < 2; ++k) {
      if (!chomp && (cur() == '+' || cur() == '-')) {
        chomp = cur() == '+' ? 1 : -1;
        ++pos_;
      } else if (!increment && cur() >= '0' && cur() <= '9') {
        if (cur() == '0') return fail(here(), "a block scalar's indentation indicator must be 1 to 9");
        increment = cur() - '0';
        ++pos_;
      }
    }
    while (blank(pos_)) ++pos_;
    if (cur() == '#')
      while (!breakz(pos_)) ++pos_;
    if (!breakz(pos_)) return fail(here(), "expected a comment or a line break after a block scalar header");
    if (break_at(pos_)) take_break();
    int indent = increment ? (parent >= 0 ? parent + increment : increment) : 0;
    std::string& pool = r_.pool_;
    const std::size_t pool_start = pool.size();
    std::size_t breaks = 0;
    if (!block_breaks(parent, indent, breaks)) return false;
    bool leading_break = false, leading_blank = false;
    while (column() == indent && !eof()) {
      const bool trailing_blank = blank(pos_);
      if (!literal && leading_break && !leading_blank && !trailing_blank) {
        if (breaks == 0) pool += ' ';
      } else if (leading_break) {
        pool += '\n';
      }
      pool.append(breaks, '\n');
      breaks = 0;
      leading_blank = blank(pos_);
      const std::size_t line_begin = pos_;
      while (!breakz(pos_)) ++pos_;
      pool.append(s_, line_begin, pos_ - line_begin);
      leading_break = break_at(pos_) != 0;
      if (leading_break) take_break();
      if (!block_breaks(parent, indent, breaks)) return false;
    }
    if (chomp != -1 && leading_break) pool += '\n';
    if (chomp == 1) pool.append(breaks, '\n');
    set_text(n, pool_start, pool.size() - pool_start, true);
    line_ended_ = true;
    return true;
  }

  bool block_breaks(int parent, int& indent, std::size_t& breaks) noexcept {
    int max_indent = 0;
    for (;;) {
      while ((indent == 0 || column() < indent) && cur() == ' ') ++pos_;
      max_indent = std::max(max_indent, column());
      if ((indent == 0 || column() < indent) && cur() == '\t')
        return fail(here(), "a tab character where a block scalar's indentation is expected");
      if (!break_at(pos_)) break;
      take_break();
      ++breaks;
    }
    if (indent == 0) indent = std::max({max_indent, parent + 1, 1});
    return true;
  }

  reader& r_;
  std::string_view s_;
  std::size_t pos_ = 0;
  std::uint32_t line_ = 1;
  std::size_t line_start_ = 0;
  std::size_t depth_ = 0;
  int flow_ = 0;
  int block_indent_ = -1;  // the block indentation around the current flow collection
  bool line_ended_ = false;  // the last scalar consumed its line's end (plain, block)
  bool failed_ = false;
  mutable std::size_t key_memo_pos_ = std::numeric_limits<std::size_t>::max();  // line_is_key's last question
  mutable bool key_memo_ = false;                                                  // and its answer
};

bool reader::read(std::string_view text) {
  src_ = text;
  nodes_.clear();
  pool_.clear();
  error_ = {};
  duplicates_ = 0;
  parser p(*this, text);
  if (p.run()) return true;
  nodes_.clear();
  return false;
}

std::size_t reader::capacity_bytes() const noexcept {
  return nodes_.capacity() * sizeof(node_data) + pool_.capacity() + scratch_.capacity() * sizeof(std::uint32_t);
}

// ------------------------------------------------------------------ node

node node::find(std::string_view key) const noexcept {
  for (const entry e : entries())
    if (e.key.text() == key) return e.value;
  return {};
}

}  // namespace meshinject::core::yaml
