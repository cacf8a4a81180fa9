#include "patch/sidecar.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <optional>

#include "core/byte_words.hpp"
#include "core/yaml_reader.hpp"
#include "core/yaml_scalar.hpp"
#include "patch/json_text.hpp"

namespace meshinject::patch {
namespace {

using k8s::field_type;
using k8s::type_node;
using tmpl::value;
using vkind = tmpl::kind;
using ynode = core::yaml::node;

struct piece {
  bool is_hole;
  std::string_view text;
  std::uint32_t hole;
};

// Eight bytes a step: a miss hashes every piece of its text once or twice, and
// a byte a step was most of what looking a piece up cost.
std::uint64_t hash_of(std::string_view s) noexcept {
  std::uint64_t h = 0x9e3779b97f4a7c15ULL ^ s.size();
  auto mix = [&h](std::uint64_t word) {
    h = (h ^ word) * 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 31;
  };
  std::size_t at = 0;
  for (; at + 8 <= s.size(); at += 8) {
    std::uint64_t word;
    std::memcpy(&word, s.data() + at, 8);
    mix(word);
  }
  if (at < s.size()) {
    std::uint64_t word = 0;
    std::memcpy(&word, s.data() + at, s.size() - at);
    mix(word);
  }
  return h;
}

bool has_hole_marker(std::string_view s) { return s.find(tmpl::hole_open) != std::string_view::npos; }

// Splits a scalar into literal text and hole placeholders, into `out` (the
// compile's scratch, so that splitting allocates nothing once it has grown).
void split_holes(std::string_view s, std::size_t hole_count, std::vector<piece>& out) {
  out.clear();
  std::size_t pos = 0;
  while (pos < s.size()) {
    const std::size_t open = s.find(tmpl::hole_open, pos);
    if (open == std::string_view::npos) break;
    const std::size_t digits = open + tmpl::hole_open.size();
    const std::size_t close = s.find(tmpl::hole_close, digits);
    if (close == std::string_view::npos) break;
    std::uint32_t n = 0;
    bool ok = close > digits;
    for (std::size_t k = digits; k < close && ok; ++k) {
      if (s[k] < '0' || s[k] > '9') ok = false;
      else n = n * 10 + static_cast<std::uint32_t>(s[k] - '0');
    }
    if (!ok || n >= hole_count) {
      pos = digits;
      continue;
    }
    if (open > pos) out.push_back({false, s.substr(pos, open - pos), 0});
    out.push_back({true, {}, n});
    pos = close + tmpl::hole_close.size();
  }
  if (pos < s.size()) out.push_back({false, s.substr(pos), 0});
}

// yaml-cpp's reading, which the compiler was written against and keeps: an
// empty node is null whatever its tag, and a scalar is typed by YAML's rules
// unless it is quoted or a block scalar without an explicit tag, or tagged `!`.
bool is_null(const ynode& n) { return !n || n.is_null() || n.is_empty(); }
bool is_scalar(const ynode& n) { return n.is_scalar() && !is_null(n); }
bool is_plain(const ynode& n) {
  return n.tag().empty() ? n.style() == core::yaml::scalar_style::plain : n.tag() != "!";
}
std::string_view key_text(const ynode& key) { return is_null(key) ? std::string_view() : key.text(); }

// Where a node sits in the sidecar ("containers[0].env[2].name"), kept as a
// chain on the stack and spelled out only for a message, so that a compile
// that succeeds builds none of these strings.
struct field_path {
  const field_path* parent = nullptr;
  std::string_view key;      // a member's key, or the top-level field's name
  std::int64_t index = -1;   // instead of a key: an item of a list

  std::string str() const {
    std::string out = parent ? parent->str() : std::string();
    if (index >= 0) return out + "[" + std::to_string(index) + "]";
    if (parent) out += '.';
    return out.append(key);
  }
};
std::string operator+(const field_path& p, std::string_view s) { return p.str().append(s); }

// Writes one fragment: its text into the workspace's pool and its segments
// after the previous fragments' in the workspace's segments, which the variant
// takes at once when the compile is done.
class builder {
 public:
  builder(std::string& pool, std::vector<segment>& segments, fragment& f)
      : pool_(pool), segments_(segments), f_(f), first_(segments.size()) {}
  builder(const builder&) = delete;
  builder& operator=(const builder&) = delete;
  ~builder() {
    f_.first = static_cast<std::uint32_t>(first_);
    f_.count = static_cast<std::uint32_t>(segments_.size() - first_);
  }

  void text(std::string_view s) {
    const std::size_t at = pool_.size();
    pool_ += s;
    appended(at);
  }
  // Most of what a compile writes is one punctuation byte at a time.
  void text(char c) {
    const std::size_t at = pool_.size();
    pool_ += c;
    appended(at);
  }
  void escaped(std::string_view s) {
    const std::size_t at = pool_.size();
    append_json_escaped(pool_, s);
    appended(at);
  }
  // A JSON string, and a member's key with its colon: written as one piece,
  // so the segment is looked at once, not for each quote.
  void quoted(std::string_view s) { quoted_then(s, "\""); }
  void key(std::string_view s) { quoted_then(s, "\":"); }
  void push(segment s) { segments_.push_back(s); }
  segment& back() { return segments_.back(); }
  // This fragment's segments so far.
  std::span<const segment> written() const { return {segments_.data() + first_, segments_.size() - first_}; }

 private:
  // `"`, `s` escaped, then `close`.
  void quoted_then(std::string_view s, std::string_view close) {
    const std::size_t at = pool_.size();
    pool_ += '"';
    append_json_escaped(pool_, s);
    pool_ += close;
    appended(at);
  }

  // The pool's text from `at` on joins the fragment: it extends the last text
  // segment when that one ends where the new text starts.
  void appended(std::size_t at) {
    const auto n = static_cast<std::uint32_t>(pool_.size() - at);
    if (n == 0) return;
    if (segments_.size() > first_ && segments_.back().k == segment::kind::text &&
        std::size_t{segments_.back().a} + segments_.back().b == at) {
      segments_.back().b += n;
      return;
    }
    segment seg;
    seg.k = segment::kind::text;
    seg.a = static_cast<std::uint32_t>(at);
    seg.b = n;
    segments_.push_back(seg);
  }

  std::string& pool_;
  std::vector<segment>& segments_;
  fragment& f_;
  std::size_t first_;
};

// Key sets and literals are written to a side text while the fragments' text
// grows; the variant's pool is the fragments' text followed by the side text,
// and a reference into the side text carries this bit until then.
constexpr std::uint32_t side_bit = 0x8000'0000u;

// A part of the rendered text: from the start of a node's first line to the
// start of the line of the sibling after it (or the end of its parent's part),
// so it holds all of the node. Empty (to == 0): not known, no memo.
struct region {
  std::uint32_t from = 0, to = 0;
  bool ok() const noexcept { return to > from; }
};

// A mapping's entry as the field it sets. Members of the mappings being
// written sit on one stack in the workspace (a mapping's members above its
// parent's), so writing a mapping allocates nothing once the stack has grown.
struct member {
  std::string_view key;  // canonical name (object) or literal key (map): the schema's or the input's text
  ynode key_node;
  ynode value;
  const type_node* type;
  int splice = -1;    // hole index of a `toYaml` placeholder entry
  int key_hole = -1;  // a key that is a string hole
  region at{};        // the entry's lines, for the part memo
};

// Empties an open-addressed table whose slots are filled only when their
// generation is the table's: by moving to the next generation, and at the
// counter's wrap by marking every slot empty.
template <class Slot>
void next_generation(std::vector<Slot>& table, std::uint32_t& generation) noexcept {
  if (++generation == 0) {
    for (Slot& s : table) s.generation = 0;
    generation = 1;
  }
}

}  // namespace

struct compile_workspace::scratch {
  core::yaml::reader reader;
  std::string pool;
  std::string side;  // key sets' and literals' text, appended to the pool at the end
  std::string own;   // the text the variant keeps: what the shared text lacks
  std::vector<segment> placed;       // the segments, text ones cut where the shared text holds a part
  std::vector<std::uint32_t> moved;  // a segment's index in `segments` -> in `placed`, and the end's
  std::vector<segment> segments;
  std::vector<text_ref> keys;
  std::array<std::vector<sidecar_item>, 4> lists;
  std::vector<member> members;
  std::vector<piece> pieces;
  // Where this compile placed each distinct piece of text: user volumes repeat
  // the same pieces (a mount's text, a key set's keys), and looking each up in
  // the shared text, bisecting it and searching the variant's own text again
  // for every repeat was a sixth of a miss. Open addressing, emptied by
  // bumping `generation` rather than by clearing, kept from one compile to the
  // next like the rest of the scratch.
  struct placement {
    std::uint64_t hash = 0;
    std::string_view text;          // in `pool` or `side`, which stay as they are while placing
    std::uint32_t generation = 0;   // the compile that filled it; another's is empty
    std::uint32_t first = 0;        // a segment's: its first text segment in `placed`; a ref's: its offset
    std::uint32_t count = 0;        // a segment's: how many; a ref's: placement::ref
    static constexpr std::uint32_t ref = ~std::uint32_t{0};
  };
  std::vector<placement> placements;
  std::uint32_t generation = 0;

  // The part memo (sidecar.hpp's compile_workspace). A kept part is a run of
  // ops: a text op's text is memo_text[off, off+len); a hole op's hole number
  // counts from the part's first hole; a hole_members op's off is its key
  // set's schema and len the number of text ops (the keys) after it.
  struct memo_op {
    segment seg;
    std::uint32_t off = 0, len = 0;
  };
  struct memo_entry {
    std::uint64_t hash = 0;
    std::uint32_t key_off = 0, key_len = 0;
    std::uint32_t ops_first = 0, ops_count = 0;
    std::uint32_t generation = 0;  // memo_generation: filled; else empty
  };
  std::vector<memo_entry> memo_table;  // open addressing, at most half full
  std::uint32_t memo_generation = 1;
  std::size_t memo_entries = 0;
  std::string memo_text;               // the keys and the kept text, never past its reserved size
  std::vector<memo_op> memo_ops;       // never past its reserved size
  std::string memo_key;                // room for the key being looked up (sized once, written in place)
  std::size_t memo_key_len = 0;        // the key: memo_key[0, memo_key_len)
  std::vector<std::uint32_t> line_starts;  // of the rendered text, for the parts' offsets
  std::uint64_t memo_hits = 0, memo_misses = 0;

  // Reading without the parts the memo holds (skip_copied_parts): each line's
  // shape, the held parts found (in line order), and the text read instead.
  struct scan_line {
    std::uint32_t indent = 0;   // leading spaces
    std::uint32_t content = 0;  // column (0-based) of the node after `- `, else indent
    std::uint32_t key_end = 0;  // a key line: column (0-based) of its `:`; else 0
    bool blank = false;         // spaces only, or inside a block scalar
    bool dash = false;          // `- ` at indent
    bool value_below = false;   // a key line with nothing after the `:`
    std::uint32_t standin = 0;  // 1 + the index in `standins` of the stand-in on this line; 0: none
  };
  std::vector<scan_line> scan_lines;
  struct standin {
    std::uint32_t line = 0, column = 0;  // the stand-in node's position (1-based)
    std::uint32_t from = 0, to = 0;      // the part
    const k8s::type_node* type = nullptr;
    int insert = -1;
    bool proxy = false;
    std::uint32_t slot = 0, base = 0, generation = 0;  // the memo entry found
    std::uint32_t keep = 0;                            // bytes of the part's first line the cut text keeps
  };
  std::vector<standin> standins;
  std::string cut;  // the text read: the rendered text with the held parts' lines cut
  std::uint64_t cut_compiles = 0, cut_redos = 0;

  std::uint64_t memo_clears = 0;
  void forget_parts() noexcept {
    ++memo_clears;
    memo_text.clear();
    memo_ops.clear();
    memo_entries = 0;
    next_generation(memo_table, memo_generation);
  }
};

compile_workspace::compile_workspace() : scratch_(std::make_unique<scratch>()) {}
compile_workspace::~compile_workspace() = default;
void compile_workspace::forget_parts() noexcept { scratch_->forget_parts(); }
std::size_t compile_workspace::memo_bytes() const noexcept {
  const scratch& w = *scratch_;
  return w.memo_table.capacity() * sizeof(scratch::memo_entry) + w.memo_ops.capacity() * sizeof(scratch::memo_op) +
         w.memo_text.capacity() + w.memo_key.capacity() + w.line_starts.capacity() * sizeof(std::uint32_t) +
         w.scan_lines.capacity() * sizeof(scratch::scan_line) + w.standins.capacity() * sizeof(scratch::standin) +
         w.cut.capacity();
}
std::uint64_t compile_workspace::memo_hits() const noexcept { return scratch_->memo_hits; }
std::uint64_t compile_workspace::memo_misses() const noexcept { return scratch_->memo_misses; }
std::uint64_t compile_workspace::memo_clears() const noexcept { return scratch_->memo_clears; }
std::uint64_t compile_workspace::cut_compiles() const noexcept { return scratch_->cut_compiles; }
std::uint64_t compile_workspace::cut_redos() const noexcept { return scratch_->cut_redos; }

namespace {

// Every step returns false with error_ set (position first) when the rendered
// template cannot become the sidecar.
class compiler {
 public:
  compiler(const tmpl::program& prog, const tmpl::render_result& r, sidecar_variant& v, std::string& error,
           compile_workspace::scratch& ws, bool warnings, std::size_t memo_limit, bool skip_held)
      : prog_(prog), rendered_(r), v_(v), error_(error), ws_(ws), warnings_(warnings), memo_limit_(memo_limit),
        skip_held_(skip_held) {}

  // Whether run() read a cut text (the parts the memo holds left out): if it
  // then returns false, the compile must start over from the whole text.
  bool cut() const noexcept { return cut_; }

  bool run() {
    core::yaml::reader& reader = ws_.reader;
    const bool memo = memo_start();
    cut_ = memo && skip_held_ && find_held_parts();
    if (cut_) ++ws_.cut_compiles;
    if (!reader.read(cut_ ? std::string_view(ws_.cut) : rendered_.text)) {
      if (cut_) return false;
      const core::yaml::read_error& e = reader.error();
      error_ = where(e.at) + ": the rendered template is not valid YAML: " + std::string(e.message);
      return false;
    }
    const ynode root = reader.root();
    if (is_null(root)) return true;
    if (!root.is_mapping()) return fail(root, "the rendered template must be a mapping of sidecar fields");
    const region whole = memo && is_block(root) ? region{0, static_cast<std::uint32_t>(text_.size())} : region{};
    const auto root_entries = root.entries();
    for (auto it = root_entries.begin(); it != root_entries.end();) {
      const auto kv = *it;
      ++it;
      const region entry_at = part_of(kv.key, it != root_entries.end() ? (*it).key : ynode(), whole);
      const std::string_view key = key_text(kv.key);
      const ynode value = kv.value;
      const k8s::field_desc* f = k8s::sidecar_spec().find(key);
      if (!f) {
        if (warnings_)
          warn(kv.key, "top-level key '" + std::string(key) + "' is not part of the sidecar spec; it is ignored");
        continue;
      }
      const std::string_view name = f->name;
      if (name == "rewriteAppHTTPProbe") {
        v_.rewrite_probe = ref_of(value, k8s::field_type::boolean);
      } else if (name == "dnsConfig") {
        if (is_null(value)) continue;
        v_.has_dns_config = true;
        builder b(ws_.pool, ws_.segments, v_.dns_config);
        if (!write(value, *f->type, b, field_path{nullptr, "dnsConfig"})) return false;
      } else {
        if (is_null(value)) continue;
        if (!value.is_sequence()) return fail(value, std::string(name) + " must be a list");
        auto& items = ws_.lists[static_cast<std::size_t>(name == "initContainers" ? sidecar_list::init_containers
                                                          : name == "containers"   ? sidecar_list::containers
                                                          : name == "volumes"      ? sidecar_list::volumes
                                                                                   : sidecar_list::image_pull_secrets)];
        const region list_at = entry_at.ok() && is_block(value) ? entry_at : region{};
        const auto list_items = value.items();
        for (auto at = list_items.begin(); at != list_items.end();) {
          const ynode item = *at;
          ++at;
          const region item_at = part_of(item, at != list_items.end() ? *at : ynode(), list_at);
          sidecar_item out;
          const bool proxy = name == "containers" && is_named(item, "istio-proxy");
          if (proxy) {
            // What scan_proxy reads must have been read.
            if (cut_ && (standin_at(item) || standin_at(item.find("args")) || standin_at(item.find("resources"))))
              return false;
            v_.proxy = static_cast<int>(items.size());
            scan_proxy(item);
          }
          out.name = name_of(item);
          if (redo_) return false;
          proxy_ = proxy;
          {
            builder b(ws_.pool, ws_.segments, out.json);
            const field_path top{nullptr, name};
            if (!write_part(item, *f->type->elem, b, field_path{&top, {}, static_cast<std::int64_t>(items.size())},
                            item_at, 1))
              return false;
          }
          proxy_ = false;
          items.push_back(out);
        }
      }
    }
    return true;
  }

 private:
  bool fail(const ynode& n, const std::string& msg) {
    error_ = where(n.pos()) + ": " + msg;
    return false;
  }

  std::string where(core::yaml::position p) const {
    position_mapper pm{&prog_, &rendered_};
    return pm.at(static_cast<int>(p.line) - 1, static_cast<int>(p.column) - 1);
  }

  void warn(const ynode& n, const std::string& msg) { v_.warnings.push_back(where(n.pos()) + ": " + msg); }

  // ---- The part memo (sidecar.hpp's compile_workspace) ----

  // Parts are looked up down to this depth: a top-level item (1), its members
  // (2), the items of their lists (3).
  static constexpr int memo_depth = 3;
  // A larger part (the proxy container, whose text differs between shapes
  // in a few members) is not looked up nor kept, only its members: keeping
  // it would push the parts that repeat out of the memo.
  static constexpr std::uint32_t memo_part_limit = 2048;
  // The longest key: its head, the part's text, and a byte more for each hole
  // (a marker takes at least seven bytes of the text: open, a digit, close).
  static constexpr std::size_t memo_key_head = sizeof(const void*) + 2;
  static constexpr std::size_t memo_key_room = memo_key_head + memo_part_limit + memo_part_limit / 7 + 1;

  // Whether this compile uses the memo; if so, the rendered text's line starts
  // are indexed. Not with warnings (their messages carry positions), nor when
  // a lone CR could count as a line break (the reader's lines would not be
  // the index's).
  bool memo_start() {
    memo_ = false;
    if (warnings_ || memo_limit_ == 0 || text_.find('\r') != std::string_view::npos) return false;
    std::vector<std::uint32_t>& starts = ws_.line_starts;
    starts.clear();
    starts.push_back(0);
    const char* const base = text_.data();
    const char* p = base;
    const char* const end = base + text_.size();
    while (const void* nl = std::memchr(p, '\n', static_cast<std::size_t>(end - p))) {
      p = static_cast<const char*>(nl) + 1;
      starts.push_back(static_cast<std::uint32_t>(p - base));
    }
    if (ws_.memo_key.size() < memo_key_room) ws_.memo_key.resize(memo_key_room);
    // The cut reading's room, sized by this text (a cut text is at most a
    // byte longer for each part cut, `- 1` read as `- []`, and a line break),
    // so that a compile of a text no larger allocates none.
    ws_.scan_lines.reserve(starts.size());
    ws_.standins.reserve(starts.size());
    ws_.cut.reserve(text_.size() + starts.size() + 8);
    if (ws_.memo_table.empty()) {
      // Reserved once at the bound's shares, so the memo never grows past it:
      // a quarter for the table, a quarter for the ops, half for the text.
      std::size_t slots = 64;
      while (slots * 2 * sizeof(compile_workspace::scratch::memo_entry) <= memo_limit_ / 4) slots *= 2;
      ws_.memo_table.assign(slots, {});
      ws_.memo_ops.reserve(memo_limit_ / 4 / sizeof(compile_workspace::scratch::memo_op));
      ws_.memo_text.reserve(memo_limit_ / 2);
      ws_.forget_parts();
    }
    memo_ = true;
    return true;
  }

  std::uint32_t line_start(const ynode& n) const { return ws_.line_starts[n.pos().line - 1]; }
  std::uint32_t offset_of(const ynode& n) const { return line_start(n) + n.pos().column - 1; }
  // A block collection: its first token is a `-` or a key, not `[`, `{` or a tag.
  bool is_block(const ynode& n) const {
    if (!n || n.is_scalar() || n.pos().line == 0 || n.pos().line > ws_.line_starts.size()) return false;
    const std::size_t at = offset_of(n);
    if (at >= text_.size()) return false;
    const char c = text_[at];
    return n.is_sequence() ? c == '-' : c != '{' && c != '[' && c != '!';
  }
  // The part of a block collection's child `n` whose next sibling is `next`
  // (none: it is the last, its part ends with its parent's).
  region part_of(const ynode& n, const ynode& next, region parent) const {
    if (!parent.ok() || !n) return {};
    const std::uint32_t line = n.pos().line;
    if (line == 0 || line > ws_.line_starts.size()) return {};
    const std::uint32_t from = ws_.line_starts[line - 1];
    std::uint32_t to = parent.to;
    if (next) {
      const std::uint32_t next_line = next.pos().line;
      if (next_line <= line || next_line > ws_.line_starts.size()) return {};
      to = ws_.line_starts[next_line - 1];
    }
    if (from < parent.from || to > parent.to || to <= from) return {};
    return {from, to};
  }

  // The memo's key for writing the part `s` as `t` (memo_key_view()), and the
  // part's first hole number: each hole marker's number counted from it, and
  // whether the hole is spliced YAML. False when the part's text does not alone
  // decide what is written: a backslash (an escape could spell a hole marker),
  // a tag, a marker that is not a hole of this render or numbers before the first.
  bool memo_key(std::string_view s, const type_node& t, int insert, std::uint32_t& base) {
    if (s.size() > memo_part_limit || ws_.memo_key.size() < memo_key_room) return false;
    if (s.find('\\') != std::string_view::npos || s.find('!') != std::string_view::npos) return false;
    // Written in place, in room sized once (memo_start): a part's key was a
    // dozen string appends, one for each stretch and each piece of a hole.
    char* const k0 = ws_.memo_key.data();
    char* k = k0;
    const type_node* tp = &t;
    std::memcpy(k, &tp, sizeof tp);
    k[sizeof tp] = static_cast<char>(insert + 1);
    k[sizeof tp + 1] = proxy_ ? 'p' : '-';
    k += memo_key_head;
    bool have_base = false;
    base = 0;
    std::size_t pos = 0;   // the text from here on is not in the key yet
    std::size_t scan = 0;  // a marker's first byte is looked for from here
    for (;;) {
      // The first marker, its first byte found by memchr and the other two
      // compared in place (string_view::find's search was a call a marker).
      const void* lead = std::memchr(s.data() + scan, tmpl::hole_open[0], s.size() - scan);
      if (!lead) break;
      const auto open = static_cast<std::size_t>(static_cast<const char*>(lead) - s.data());
      if (s.size() - open < tmpl::hole_open.size() ||
          std::memcmp(s.data() + open, tmpl::hole_open.data(), tmpl::hole_open.size()) != 0) {
        scan = open + 1;
        continue;
      }
      // Its number: one to nine digits, then the close marker (as the first
      // close after them with only digits between).
      const std::size_t digits = open + tmpl::hole_open.size();
      std::size_t close = digits;
      std::uint32_t n = 0;
      while (close < s.size() && close - digits < 10 && s[close] >= '0' && s[close] <= '9') {
        n = n * 10 + static_cast<std::uint32_t>(s[close] - '0');
        ++close;
      }
      if (close == digits || close - digits > 9 || s.size() - close < tmpl::hole_close.size() ||
          std::memcmp(s.data() + close, tmpl::hole_close.data(), tmpl::hole_close.size()) != 0)
        return false;
      if (n >= rendered_.holes.size()) return false;
      if (!have_base) {
        base = n;
        have_base = true;
      } else if (n < base) {
        return false;
      }
      std::memcpy(k, s.data() + pos, open - pos);
      k += open - pos;
      std::memcpy(k, tmpl::hole_open.data(), tmpl::hole_open.size());
      k += tmpl::hole_open.size();
      char num[10];
      char* const end = num + sizeof num;
      char* d = end;
      std::uint32_t rel = n - base;
      do {
        *--d = static_cast<char>('0' + rel % 10);
        rel /= 10;
      } while (rel != 0);
      std::memcpy(k, d, static_cast<std::size_t>(end - d));
      k += end - d;
      std::memcpy(k, tmpl::hole_close.data(), tmpl::hole_close.size());
      k += tmpl::hole_close.size();
      *k++ = rendered_.holes[n].structured ? 's' : 'p';
      pos = close + tmpl::hole_close.size();
      scan = pos;
    }
    std::memcpy(k, s.data() + pos, s.size() - pos);
    k += s.size() - pos;
    ws_.memo_key_len = static_cast<std::size_t>(k - k0);
    return true;
  }
  std::string_view memo_key_view() const { return {ws_.memo_key.data(), ws_.memo_key_len}; }

  const compile_workspace::scratch::memo_entry* memo_find(std::uint64_t h) const {
    const auto& table = ws_.memo_table;
    const std::size_t mask = table.size() - 1;
    const std::string_view key = memo_key_view();
    for (std::size_t i = static_cast<std::size_t>(h) & mask;; i = (i + 1) & mask) {
      const auto& e = table[i];
      if (e.generation != ws_.memo_generation) return nullptr;
      if (e.hash == h && e.key_len == key.size() &&
          std::memcmp(ws_.memo_text.data() + e.key_off, key.data(), key.size()) == 0)
        return &e;
    }
  }

  std::string_view memo_view(const compile_workspace::scratch::memo_op& o) const {
    return {ws_.memo_text.data() + o.off, o.len};
  }

  // Writes a kept part as the compile that kept it wrote it: the same builder
  // calls, so text joins the text before and after it as it did there, and
  // key sets go through side_text and held_once as write_object's do.
  void replay(const compile_workspace::scratch::memo_entry& e, std::uint32_t base, builder& b) {
    const auto& ops = ws_.memo_ops;
    for (std::uint32_t i = e.ops_first, end = e.ops_first + e.ops_count; i < end; ++i) {
      const auto& o = ops[i];
      segment s = o.seg;
      switch (s.k) {
        case segment::kind::text:
          b.text(memo_view(o));
          break;
        case segment::kind::hole_members: {
          s.a += base;
          const auto start = static_cast<std::uint32_t>(ws_.keys.size());
          ws_.keys.push_back({o.off, o.len});
          for (std::uint32_t k = 1; k <= o.len; ++k) ws_.keys.push_back(side_text(memo_view(ops[i + k])));
          i += o.len;
          s.b = held_once(start);
          b.push(s);
          break;
        }
        case segment::kind::insert:
          b.push(s);
          break;
        default:
          s.a += base;
          b.push(s);
          break;
      }
    }
  }

  // Appends to the memo's text, or false when its reserved size is reached.
  bool memo_append(std::string_view s, std::uint32_t& off) {
    std::string& t = ws_.memo_text;
    if (t.size() + s.size() > t.capacity()) return false;
    off = static_cast<std::uint32_t>(t.size());
    t.append(s);
    return true;
  }
  bool memo_push(const compile_workspace::scratch::memo_op& o) {
    if (ws_.memo_ops.size() == ws_.memo_ops.capacity()) return false;
    ws_.memo_ops.push_back(o);
    return true;
  }

  // Keeps what the part just written (from pool_from and seg_from on) wrote.
  // False when it does not fit: the caller empties the memo.
  bool keep_part(std::uint64_t h, std::uint32_t key_off, std::uint32_t key_len, std::uint32_t base,
                 std::size_t pool_from, std::size_t seg_from) {
    using memo_op = compile_workspace::scratch::memo_op;
    const auto ops_first = static_cast<std::uint32_t>(ws_.memo_ops.size());
    auto text_op = [&](std::size_t from, std::size_t to) {
      memo_op o;
      o.seg.k = segment::kind::text;
      o.len = static_cast<std::uint32_t>(to - from);
      return memo_append(std::string_view(ws_.pool).substr(from, to - from), o.off) && memo_push(o);
    };
    // The part's first text may have joined the text segment before it.
    if (seg_from > 0) {
      const segment& before = ws_.segments[seg_from - 1];
      const std::size_t end = std::size_t{before.a} + before.b;
      if (before.k == segment::kind::text && end > pool_from && !text_op(pool_from, end)) return false;
    }
    for (std::size_t i = seg_from; i < ws_.segments.size(); ++i) {
      const segment seg = ws_.segments[i];
      memo_op o;
      o.seg = seg;
      switch (seg.k) {
        case segment::kind::text:
          if (!text_op(seg.a, std::size_t{seg.a} + seg.b)) return false;
          continue;
        case segment::kind::hole_members: {
          if (seg.a < base) return false;
          o.seg.a = seg.a - base;
          o.seg.b = 0;
          const text_ref header = ws_.keys[seg.b];
          o.off = header.offset;
          o.len = header.length;
          if (!memo_push(o)) return false;
          for (std::uint32_t k = 1; k <= header.length; ++k) {
            memo_op key;
            key.seg.k = segment::kind::text;
            key.len = ws_.keys[seg.b + k].length;
            if (!memo_append(side_view(ws_.keys[seg.b + k]), key.off) || !memo_push(key)) return false;
          }
          continue;
        }
        case segment::kind::insert:
          break;
        default:
          if (seg.a < base) return false;
          o.seg.a = seg.a - base;
          break;
      }
      if (!memo_push(o)) return false;
    }
    if ((ws_.memo_entries + 1) * 2 > ws_.memo_table.size()) return false;
    const std::size_t mask = ws_.memo_table.size() - 1;
    for (std::size_t i = static_cast<std::size_t>(h) & mask;; i = (i + 1) & mask) {
      auto& e = ws_.memo_table[i];
      if (e.generation == ws_.memo_generation) continue;
      e = {h, key_off, key_len, ops_first,
           static_cast<std::uint32_t>(ws_.memo_ops.size()) - ops_first, ws_.memo_generation};
      ++ws_.memo_entries;
      return true;
    }
  }

  // ---- Reading without the parts the memo holds (skip_copied_parts) ----

  using scan_line = compile_workspace::scratch::scan_line;
  using standin = compile_workspace::scratch::standin;

  // The stand-in the cut text holds where `n` is, if any.
  const standin* standin_at(const ynode& n) const {
    if (!n) return nullptr;
    const core::yaml::position p = n.pos();
    if (p.line == 0 || p.line > ws_.scan_lines.size()) return nullptr;
    const std::uint32_t k = ws_.scan_lines[p.line - 1].standin;
    return k != 0 && ws_.standins[k - 1].column == p.column ? &ws_.standins[k - 1] : nullptr;
  }

  // Whether the node at `p` ends on its line (which ends at `end`) for certain:
  // a plain scalar, a quoted one closed with only spaces after, `[]` or `{}`.
  // `block`: a block scalar's header (`|` or `>`, a chomping sign), whose
  // lines follow. Anything else (a tag, an anchor, an alias, a flow collection
  // with content, an indentation indicator, an escape) is not sure.
  static bool ends_on_line(const char* s, std::size_t p, std::size_t end, bool& block) {
    block = false;
    auto blank_to_end = [&](std::size_t q) {
      while (q < end && s[q] == ' ') ++q;
      return q == end;
    };
    switch (s[p]) {
      case '"':
        for (std::size_t q = p + 1; q < end; ++q) {
          if (s[q] == '\\') return false;
          if (s[q] == '"') return blank_to_end(q + 1);
        }
        return false;
      case '\'':
        for (std::size_t q = p + 1; q < end; ++q) {
          if (s[q] != '\'') continue;
          if (q + 1 < end && s[q + 1] == '\'') {
            ++q;
            continue;
          }
          return blank_to_end(q + 1);
        }
        return false;
      case '[': return p + 1 < end && s[p + 1] == ']' && blank_to_end(p + 2);
      case '{': return p + 1 < end && s[p + 1] == '}' && blank_to_end(p + 2);
      case '|':
      case '>': {
        std::size_t q = p + 1;
        if (q < end && (s[q] == '+' || s[q] == '-')) ++q;
        block = true;
        return blank_to_end(q);
      }
      case '&': case '*': case '!': case '%': case '@': case '`': case '?': case ',': case ']': case '}': case ':':
        return false;
      case '-': return p + 1 < end && s[p + 1] != ' ';
      default: return true;
    }
  }

  // Each line's shape (ws_.scan_lines), or false when the text holds what the
  // scan is not sure of: a tab, a `#`, a document marker, a line the reader
  // could continue on a line less indented (a quoted scalar or flow collection
  // left open), a block scalar whose lines it cannot bound, an item below its `-`.
  bool scan_shapes() {
    const char* const s = text_.data();
    const std::size_t size = text_.size();
    if (std::memchr(s, '\t', size) || std::memchr(s, '#', size)) return false;
    const std::vector<std::uint32_t>& starts = ws_.line_starts;
    const std::size_t lines = starts.size();
    std::vector<scan_line>& out = ws_.scan_lines;
    out.resize(lines);
    auto line_end = [&](std::size_t i) { return i + 1 < lines ? starts[i + 1] - 1 : size; };
    auto indent_of = [&](std::size_t i, std::size_t end) {
      std::size_t p = starts[i];
      while (p < end && s[p] == ' ') ++p;
      return p;
    };
    for (std::size_t i = 0; i < lines;) {
      scan_line& l = out[i];
      l = {};
      const std::size_t from = starts[i], end = line_end(i);
      std::size_t p = indent_of(i, end);
      l.indent = static_cast<std::uint32_t>(p - from);
      ++i;
      if (p == end) {
        l.blank = true;
        continue;
      }
      if (l.indent == 0 && end - p >= 3 &&
          (std::memcmp(s + p, "---", 3) == 0 || std::memcmp(s + p, "...", 3) == 0))
        return false;
      if (s[p] == '-' && (p + 1 == end || s[p + 1] == ' ')) {
        l.dash = true;
        while (++p < end && s[p] == ' ') {
        }
        if (p == end) {
          // An empty item, unless its node is on the lines below.
          std::size_t k = i;
          while (k < lines && indent_of(k, line_end(k)) == line_end(k)) ++k;
          if (k < lines && indent_of(k, line_end(k)) - starts[k] > l.indent) return false;
          l.content = static_cast<std::uint32_t>(p - from);
          continue;
        }
      }
      l.content = static_cast<std::uint32_t>(p - from);
      bool block = false;
      const char c = s[p];
      bool plain_start = true;
      switch (c) {
        case '"': case '\'': case '[': case '{': case '|': case '>': case '&': case '*': case '!': case '%':
        case '@': case '`': case '?': case ',': case ']': case '}': case ':':
          plain_start = false;
          break;
        case '-': plain_start = !(p + 1 == end || s[p + 1] == ' '); break;
        default: break;
      }
      std::size_t colon = end;
      if (plain_start) {
        // The first `:` followed by a space or the line's end, eight bytes a step.
        std::size_t q = p;
        while (q < end) {
          std::size_t at = end;
          if (q + 8 <= size) {
            const std::uint64_t m = core::bytes_equal(core::word_at(s + q), ':');
            if (m == 0) {
              q += 8;
              continue;
            }
            at = q + static_cast<std::size_t>(std::countr_zero(m)) / 8;
          } else {
            if (const void* hit = std::memchr(s + q, ':', end - q))
              at = static_cast<std::size_t>(static_cast<const char*>(hit) - s);
          }
          if (at >= end) break;
          if (at + 1 == end || s[at + 1] == ' ') {
            colon = at;
            break;
          }
          q = at + 1;
        }
      }
      // A block scalar's parent column: its key's, else its `-`'s.
      const std::uint32_t parent = colon < end || !l.dash ? l.content : l.indent;
      if (colon < end) {
        l.key_end = static_cast<std::uint32_t>(colon - from);
        std::size_t v = colon + 1;
        while (v < end && s[v] == ' ') ++v;
        if (v == end) l.value_below = true;
        else if (!ends_on_line(s, v, end, block)) return false;
      } else {
        if (!ends_on_line(s, p, end, block)) return false;
        if (block && !l.dash) return false;  // below its key: the parent's column is not on this line
      }
      if (!block) continue;
      // The block scalar's lines: from the first non-empty one's indentation
      // (above the parent's) on, as the reader takes them; they are not the
      // structure's lines.
      std::uint32_t widest_blank = 0;
      while (i < lines) {
        const std::size_t e = line_end(i);
        const std::size_t q = indent_of(i, e);
        if (q != e) break;
        widest_blank = std::max(widest_blank, static_cast<std::uint32_t>(q - starts[i]));
        out[i] = {};
        out[i++].blank = true;
      }
      if (i == lines) break;
      const auto content_indent = static_cast<std::uint32_t>(indent_of(i, line_end(i)) - starts[i]);
      if (content_indent <= parent) continue;  // an empty block scalar
      if (widest_blank > content_indent) return false;
      while (i < lines) {
        const std::size_t e = line_end(i);
        const std::size_t q = indent_of(i, e);
        if (q != e && q - starts[i] < content_indent) {
          if (q - starts[i] > parent) return false;
          break;
        }
        out[i] = {};
        out[i++].blank = true;
      }
    }
    return true;
  }

  std::uint32_t line_offset(std::size_t i) const {
    return i < ws_.line_starts.size() ? ws_.line_starts[i] : static_cast<std::uint32_t>(text_.size());
  }
  std::string_view key_on(std::size_t i) const {
    const scan_line& l = ws_.scan_lines[i];
    std::string_view k = text_.substr(ws_.line_starts[i] + l.content, l.key_end - l.content);
    while (!k.empty() && k.back() == ' ') k.remove_suffix(1);
    return k;
  }

  // Looks the part [line a, line b) up as write_part would, written as `t`.
  bool held(std::size_t a, std::size_t b, const type_node& t, int insert, bool proxy, standin& out) {
    const std::uint32_t from = line_offset(a), to = line_offset(b);
    if (to <= from || to - from > memo_part_limit) return false;
    const bool was = proxy_;
    proxy_ = proxy;
    std::uint32_t base = 0;
    const bool keyed = memo_key(text_.substr(from, to - from), t, insert, base);
    proxy_ = was;
    if (!keyed) return false;
    const auto* e = memo_find(hash_of(memo_key_view()));
    if (!e) return false;
    out.from = from;
    out.to = to;
    out.type = &t;
    out.insert = insert;
    out.proxy = proxy;
    out.slot = static_cast<std::uint32_t>(e - ws_.memo_table.data());
    out.base = base;
    out.generation = ws_.memo_generation;
    out.line = static_cast<std::uint32_t>(a + 1);
    return true;
  }

  // The next line after `i` (before `end`) that is not blank, else `end`.
  std::size_t next_shape(std::size_t i, std::size_t end) const {
    while (++i < end && ws_.scan_lines[i].blank) {
    }
    return i;
  }

  // The children of a collection whose lines are (first, end): lines at
  // column `col` that are `dash` items (else keys), each child to the next.
  // `each(line, next)` is called for each; false: a line the scan is not sure of.
  template <class F>
  bool children(std::size_t first, std::size_t end, std::uint32_t col, bool dash, F&& each) {
    const auto& L = ws_.scan_lines;
    std::size_t at = first;
    for (std::size_t i = next_shape(first, end);; i = next_shape(i, end)) {
      if (i < end) {
        const scan_line& l = L[i];
        if (l.indent > col) continue;
        if (l.indent < col) return false;
        if (dash ? !l.dash : l.dash) {
          if (!dash) continue;  // an indentless list of the member before
          return false;
        }
        if (!dash && !l.key_end) return false;
      }
      if (!each(at, i)) return false;
      if (i >= end) return true;
      at = i;
    }
  }

  // A member part (the key line `a`, to line `b`) of a mapping written as `t`
  // at `depth`: held, or its own parts looked at (depth 2).
  bool member_parts(std::size_t a, std::size_t b, const type_node& t, int depth, bool proxy) {
    const std::string_view key = key_on(a);
    if (has_hole_marker(key)) return true;
    const type_node* ft = t.elem;
    std::string_view name = key;
    if (t.t == field_type::object) {
      const k8s::field_desc* f = t.find(key);
      if (!f) return true;
      ft = f->type;
      name = f->name;
    } else if (t.t != field_type::map) {
      return true;
    }
    // What is read besides write_part's copy stays: a name (is_named,
    // name_of) and a container's args and resources (scan_proxy).
    if (name == "name" || (depth == 2 && t.name == "Container" && (name == "args" || name == "resources")))
      return true;
    const int insert = depth == 2 && proxy && t.name == "Container"
                           ? (name == "env" ? static_cast<int>(insert_point::env_items)
                              : name == "volumeMounts" ? static_cast<int>(insert_point::mounts_items)
                              : name == "args" ? static_cast<int>(insert_point::args_items) : -1)
                           : -1;
    standin s;
    const scan_line& l = ws_.scan_lines[a];
    if (held(a, b, *ft, insert, proxy, s)) {
      s.column = l.key_end + 3;
      s.keep = l.key_end + 1;
      ws_.standins.push_back(s);
      return true;
    }
    if (depth != 2 || !l.value_below) return true;
    const std::size_t c = next_shape(a, b);
    if (c >= b) return true;
    const scan_line& first = ws_.scan_lines[c];
    if (first.dash) {
      if (ft->t != field_type::list) return true;
      return children(a, b, first.indent, true, [&](std::size_t i, std::size_t next) {
        if (i == a) return true;
        standin item;
        if (held(i, next, *ft->elem, -1, proxy, item)) {
          item.column = ws_.scan_lines[i].indent + 3;
          item.keep = ws_.scan_lines[i].indent + 1;
          ws_.standins.push_back(item);
        }
        return true;
      });
    }
    if (!first.key_end || (ft->t != field_type::object && ft->t != field_type::map)) return true;
    return children(a, b, first.indent, false, [&](std::size_t i, std::size_t next) {
      return i == a || member_parts(i, next, *ft, 3, proxy);
    });
  }

  // A top-level list item (lines [a, b)) written as `t`: held (kept whole
  // when its first line is `- name: <value>`, which run() reads), or its members.
  bool item_parts(std::size_t a, std::size_t b, const type_node& t, bool in_containers) {
    const scan_line& l = ws_.scan_lines[a];
    const bool named = l.key_end && !l.value_below && key_on(a) == "name";
    std::string_view value;
    if (named) {
      const std::size_t v0 = line_offset(a) + l.key_end + 1;
      const std::size_t v1 = a + 1 < ws_.line_starts.size() ? line_offset(a + 1) - 1 : text_.size();
      value = text_.substr(v0, v1 - v0);
      while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
    }
    const bool proxy = in_containers && named && value == "istio-proxy";
    standin s;
    // The name is the item's whole first member when the next line is not
    // more indented than it (no plain scalar's continuation).
    const std::size_t n = next_shape(a, b);
    if (named && !proxy && (n >= b || ws_.scan_lines[n].indent <= l.content) && held(a, b, t, -1, false, s)) {
      s.column = l.content + 1;
      s.keep = static_cast<std::uint32_t>(
          (a + 1 < ws_.line_starts.size() ? line_offset(a + 1) - 1 : text_.size()) - line_offset(a));
      ws_.standins.push_back(s);
      return true;
    }
    if (!l.key_end || (t.t != field_type::object && t.t != field_type::map)) return true;
    // The item's mapping: its first key on the `- ` line, the others below at its column.
    bool first = true;
    return children(a, b, l.content, false, [&](std::size_t i, std::size_t next) {
      if (i == a && !first) return true;
      first = false;
      return member_parts(i, next, t, 2, proxy);
    });
  }

  // Finds the parts the memo holds (ws_.standins, in line order) and writes
  // the text to read without them (ws_.cut). False: none, or the scan is not
  // sure of the text; the whole text is read.
  bool find_held_parts() {
    ws_.standins.clear();
    if (!scan_shapes()) return false;
    const auto& L = ws_.scan_lines;
    const std::size_t lines = L.size();
    std::size_t i = L.empty() || !L[0].blank ? 0 : next_shape(0, lines);
    if (i >= lines || L[i].indent != 0 || L[i].dash || !L[i].key_end) return false;
    const type_node& spec = k8s::sidecar_spec();
    while (i < lines) {
      // A top-level entry: to the next line at column 0 that is not `- `.
      std::size_t j = next_shape(i, lines);
      while (j < lines && (L[j].indent != 0 || L[j].dash)) j = next_shape(j, lines);
      if (j < lines && !L[j].key_end) return false;
      const k8s::field_desc* f = spec.find(key_on(i));
      if (f && L[i].value_below &&
          (f->name == "containers" || f->name == "initContainers" || f->name == "volumes" ||
           f->name == "imagePullSecrets")) {
        const std::size_t k = next_shape(i, j);
        if (k < j && L[k].dash) {
          const bool in_containers = f->name == "containers";
          if (!children(i, j, L[k].indent, true, [&](std::size_t a, std::size_t b) {
                return a == i || item_parts(a, b, *f->type->elem, in_containers);
              }))
            return false;
        }
      }
      i = j;
    }
    if (ws_.standins.empty()) return false;
    // The cut text: each held part's first line up to its key's `:` or its
    // `- ` (a top-level item's whole), then ` []`, then a line break for
    // each of its other lines, so that every other node keeps its line and column.
    std::string& cut = ws_.cut;
    cut.clear();
    std::size_t at = 0;
    for (const standin& s : ws_.standins) {
      cut.append(text_, at, s.from + s.keep - at);
      if (s.column > s.keep + 1) cut += " []";
      cut += '\n';
      const std::size_t first_line = s.line - 1;
      std::size_t last = first_line;
      while (last + 1 < ws_.line_starts.size() && ws_.line_starts[last + 1] < s.to) ++last;
      cut.append(last - first_line, '\n');
      at = s.to;
    }
    cut.append(text_, at);
    for (std::size_t k = 0; k < ws_.standins.size(); ++k)
      ws_.scan_lines[ws_.standins[k].line - 1].standin = static_cast<std::uint32_t>(k + 1);
    return true;
  }

  // write(), or the JSON kept for a part with the same key: `at` is the node's
  // part of the text (empty: no memo), `depth` the part's (memo_depth at most).
  bool write_part(const ynode& n, const type_node& t, builder& b, const field_path& path, region at, int depth,
                  std::optional<insert_point> insert = std::nullopt) {
    if (cut_) {
      if (const auto* s = standin_at(n)) {
        // A part whose text was not read: copied from the entry the scan found
        // for the same part, type, insert point and container, if the memo
        // still holds it; else the compile starts over from the whole text.
        if (s->from != at.from || s->to != at.to || s->type != &t || s->insert != (insert ? static_cast<int>(*insert) : -1) ||
            s->proxy != proxy_ || depth > memo_depth || s->generation != ws_.memo_generation)
          return false;
        ++ws_.memo_hits;
        replay(ws_.memo_table[s->slot], s->base, b);
        return true;
      }
    }
    std::uint32_t base = 0;
    if (!memo_ || !at.ok() || depth > memo_depth || at.to - at.from > memo_part_limit ||
        !memo_key(text_.substr(at.from, at.to - at.from), t, insert ? static_cast<int>(*insert) : -1, base))
      return write_unit(n, t, b, path, at, depth, insert);
    const std::uint64_t h = hash_of(memo_key_view());
    if (const auto* e = memo_find(h)) {
      ++ws_.memo_hits;
      replay(*e, base, b);
      return true;
    }
    ++ws_.memo_misses;
    // The key is kept first: the parts inside this one reuse memo_key.
    std::uint32_t key_off = 0;
    if (!memo_append(memo_key_view(), key_off)) {
      ws_.forget_parts();
      if (!memo_append(memo_key_view(), key_off)) return write_unit(n, t, b, path, at, depth, insert);
    }
    const auto key_len = static_cast<std::uint32_t>(ws_.memo_key_len);
    const std::uint32_t generation = ws_.memo_generation;
    const std::size_t pool_from = ws_.pool.size(), seg_from = ws_.segments.size();
    if (!write_unit(n, t, b, path, at, depth, insert)) return false;
    if (ws_.memo_generation != generation) return true;  // emptied by a part inside: its key is gone
    if (!keep_part(h, key_off, key_len, base, pool_from, seg_from)) ws_.forget_parts();
    return true;
  }

  bool write_unit(const ynode& n, const type_node& t, builder& b, const field_path& path, region at, int depth,
                  std::optional<insert_point> insert) {
    if (insert) return write_list(n, t, b, path, insert, at, depth);
    return write(n, t, b, path, at, depth);
  }

  bool is_named(const ynode& item, std::string_view name) {
    if (!item.is_mapping()) return false;
    const ynode n = item.find("name");
    if (cut_ && standin_at(n)) redo_ = true;
    return is_scalar(n) && n.text() == name;
  }

  // Text for the variant to keep beside its fragments: found in what the side
  // text already holds (the same key in every user volume), else appended.
  text_ref side_text(std::string_view s) {
    std::size_t at = s.empty() ? 0 : ws_.side.find(s);
    if (at == std::string::npos) {
      at = ws_.side.size();
      ws_.side.append(s);
    }
    return {side_bit | static_cast<std::uint32_t>(at), static_cast<std::uint32_t>(s.size())};
  }
  std::string_view side_view(text_ref r) const {
    return std::string_view(ws_.side).substr(r.offset & ~side_bit, r.length);
  }

  value_ref ref_of(const ynode& n, field_type as) {
    value_ref r;
    if (is_null(n)) return r;
    if (!n.is_scalar()) {
      r.k = value_ref::kind::complex;
      return r;
    }
    if (has_hole_marker(n.text())) {
      const auto& parts = split(n.text());
      if (parts.size() == 1 && parts[0].is_hole && !rendered_.holes[parts[0].hole].structured) {
        r.k = value_ref::kind::hole;
        r.hole = parts[0].hole;
        return r;
      }
      for (const auto& p : parts)
        if (p.is_hole) {
          r.k = value_ref::kind::complex;
          return r;
        }
    }
    const auto lit = literal_string(n, as);
    if (!lit) return r;
    r.k = value_ref::kind::literal;
    r.literal = side_text(*lit);
    return r;
  }

  value_ref name_of(const ynode& item) {
    value_ref r;
    if (!item.is_mapping()) return r;
    for (const auto kv : item.entries()) {
      if (key_text(kv.key) == "name") {
        if (cut_ && standin_at(kv.value)) redo_ = true;
        return ref_of(kv.value, field_type::string);
      }
      if (!has_hole_marker(key_text(kv.key))) continue;
      const auto& key = split(key_text(kv.key));
      if (key.size() == 1 && key[0].is_hole && rendered_.holes[key[0].hole].structured) {
        r.k = value_ref::kind::splice_name;
        r.hole = key[0].hole;
      }
    }
    return r;
  }

  void scan_proxy(const ynode& item) {
    const ynode args = item.find("args");
    if (args.is_sequence()) {
      auto flag = [&](std::string_view name, value_ref& out, bool& present) {
        for (auto it = args.items().begin(), end = args.items().end(); it != end; ++it) {
          // Only an argument whose text names the flag can be it (a literal is
          // its text, or a number or boolean spelled anew, which names nothing).
          if (!(*it).is_scalar() || (*it).text().find(name) == std::string_view::npos) continue;
          const value_ref ref = ref_of(*it, field_type::string);
          if (ref.k != value_ref::kind::literal) continue;
          std::string_view a = side_view(ref.literal);
          while (!a.empty() && (a.front() == ' ' || a.front() == '\t')) a.remove_prefix(1);
          while (!a.empty() && (a.back() == ' ' || a.back() == '\t')) a.remove_suffix(1);
          std::size_t dashes = 0;
          while (dashes < a.size() && dashes < 3 && a[dashes] == '-') ++dashes;
          if (dashes < 1 || dashes > 2) continue;
          a.remove_prefix(dashes);
          if (a.substr(0, name.size()) != name) continue;
          a.remove_prefix(name.size());
          if (a.empty()) {
            present = true;
            if (++it != end) out = ref_of(*it, field_type::string);
            return;
          }
          if (a[0] == '=' && a.size() > 1 && std::all_of(a.begin() + 1, a.end(), [](char c) { return c >= '0' && c <= '9'; })) {
            present = true;
            out.k = value_ref::kind::literal;
            const std::string digits(a.substr(1));  // a views the side text, which may grow
            out.literal = side_text(digits);
            return;
          }
        }
      };
      flag("statusPort", v_.status_port, v_.status_port_flag);
      flag("concurrency", v_.concurrency, v_.concurrency_flag);
    }
    const ynode resources = item.find("resources");
    if (resources.is_mapping()) {
      for (const char* section : {"limits", "requests"}) {
        const ynode s = resources.find(section);
        if (s.is_mapping() && s.find("cpu")) {
          v_.cpu = ref_of(s.find("cpu"), field_type::quantity);
          if (v_.cpu.k != value_ref::kind::none) return;
        }
      }
    }
  }

  // A literal scalar as Istio's decoder would place it in a string field.
  std::optional<std::string> literal_string(const ynode& n, field_type) const {
    const std::string s(n.text());
    if (!is_plain(n)) return s;
    const core::yaml_scalar r = core::resolve_plain_scalar(s);
    switch (r.k) {
      case core::yaml_scalar::kind::null: return std::nullopt;
      case core::yaml_scalar::kind::boolean: return std::string(r.b ? "true" : "false");
      case core::yaml_scalar::kind::integer: return std::to_string(r.i);
      case core::yaml_scalar::kind::floating: return core::format_go_float(r.f, 32);
      case core::yaml_scalar::kind::string: return s;
    }
    return s;
  }

  bool is_null_literal(const ynode& n) const {
    if (is_null(n)) return true;
    if (!n.is_scalar() || !is_plain(n)) return false;
    if (n.text().find(tmpl::hole_open) != std::string_view::npos) return false;
    return core::resolve_plain_scalar(n.text()).k == core::yaml_scalar::kind::null;
  }

  // A whole-value `toYaml` placeholder: spliced as the value of this field.
  bool splice_of(const ynode& n, std::uint32_t& hole) {
    if (!is_scalar(n) || !has_hole_marker(n.text())) return false;
    const auto& parts = split(n.text());
    if (parts.size() != 1 || !parts[0].is_hole || !rendered_.holes[parts[0].hole].structured) return false;
    hole = parts[0].hole;
    return true;
  }

  // `at`: the node's part of the text and `depth` its depth, for the part memo
  // (write_part) to look the node's children up.
  bool write(const ynode& n, const type_node& t, builder& b, const field_path& path, region at = {}, int depth = 0) {
    std::uint32_t hole = 0;
    switch (t.t) {
      case field_type::object:
      case field_type::map:
        if (n.is_mapping()) return write_object(n, t, b, path, at, depth);
        if (splice_of(n, hole)) return splice_value(hole, t, b);
        return fail(n, path + (t.t == field_type::object ? ": expected a mapping (" + std::string(t.name) + ")"
                                                         : std::string(": expected a mapping")));
      case field_type::list:
        if (n.is_sequence()) return write_list(n, t, b, path, std::nullopt, at, depth);
        if (splice_of(n, hole)) return splice_value(hole, t, b);
        return fail(n, path + ": expected a list");
      case field_type::any:
        return write_any(n, b, path);
      default:
        return write_scalar(n, t, b, path);
    }
  }

  bool splice_value(std::uint32_t hole, const type_node& t, builder& b) {
    segment s;
    s.k = segment::kind::hole_value;
    s.a = hole;
    s.b = k8s::schema_index(t);
    if (s.b == k8s::no_schema) return fail_unknown_schema(t);
    b.push(s);
    return true;
  }

  bool fail_unknown_schema(const type_node& t) {
    error_ = "internal error: the type " + std::string(t.name) + " is missing from k8s::schema_index";
    return false;
  }

  // The entries of a mapping as the fields they set, pushed on the workspace's
  // member stack above `base`: unknown ones dropped with a warning, nulls left
  // out, a repeated key replacing the earlier one (go-yaml).
  bool collect_members(const ynode& n, const type_node& t, const field_path& path, std::size_t base, region at) {
    std::vector<member>& members = ws_.members;
    const auto entries = n.entries();
    for (auto it = entries.begin(); it != entries.end();) {
      const auto kv = *it;
      ++it;
      const std::string_view raw_key = key_text(kv.key);
      if (has_hole_marker(raw_key)) {
        const auto& key_parts = split(raw_key);
        if (key_parts.size() == 1 && key_parts[0].is_hole) {
          if (rendered_.holes[key_parts[0].hole].structured) {
            members.push_back({{}, kv.key, kv.value, &t, static_cast<int>(key_parts[0].hole), -1});
            continue;
          }
          if (t.t == field_type::object)
            return fail(kv.key, path + ": a pod-dependent value cannot be a field name of " + std::string(t.name));
          members.push_back({{}, kv.key, kv.value, t.elem, -1, static_cast<int>(key_parts[0].hole)});
          continue;
        }
        for (const auto& p : key_parts)
          if (p.is_hole) return fail(kv.key, path + ": a mapping key mixes text and a pod-dependent value");
      }
      if (is_null_literal(kv.value)) continue;  // `key:` with no value: Go leaves the field unset
      const type_node* ft = t.elem;
      std::string_view key = raw_key;
      if (t.t == field_type::object) {
        const k8s::field_desc* f = t.find(raw_key);
        if (!f) {
          if (!warnings_) continue;
          if (raw_key == "restartPolicy" && t.name == "Container")
            warn(kv.key, path + ".restartPolicy is dropped: Istio's decoder ignored it, and on Kubernetes 1.28+ "
                                "it would make the container a restartable sidecar");
          else
            warn(kv.key, path + "." + std::string(raw_key) + " is not a field of " + std::string(t.name) +
                             "; it is dropped");
          continue;
        }
        ft = f->type;
        key = f->name;
      }
      const auto from = members.begin() + static_cast<std::ptrdiff_t>(base);
      auto dup = std::find_if(from, members.end(),
                              [&](const member& m) { return m.splice < 0 && m.key_hole < 0 && m.key == key; });
      if (dup != members.end()) members.erase(dup);
      members.push_back({key, kv.key, kv.value, ft, -1, -1, part_of(kv.key, it != entries.end() ? (*it).key : ynode(), at)});
    }
    return true;
  }

  // Pops a mapping's members off the workspace's stack when it is written (or fails).
  struct members_frame {
    std::vector<member>& stack;
    std::size_t base;
    ~members_frame() { stack.resize(base); }
  };

  bool write_object(const ynode& n, const type_node& t, builder& b, const field_path& path, region at = {},
                    int depth = 0) {
    const members_frame frame{ws_.members, ws_.members.size()};
    const region members_at = memo_ && at.ok() && depth < memo_depth && is_block(n) ? at : region{};
    if (!collect_members(n, t, path, frame.base, members_at)) return false;
    const std::size_t end = ws_.members.size();
    b.text('{');
    bool first = true;
    bool have_env = false, have_mounts = false, have_args = false;
    for (std::size_t i = frame.base; i < end; ++i) {
      // A copy: writing a member's value pushes members of its own, which may
      // move the stack.
      const member m = ws_.members[i];
      if (m.splice >= 0) {
        segment s;
        s.k = segment::kind::hole_members;
        s.a = static_cast<std::uint32_t>(m.splice);
        if (!first) s.flags |= segment::preceded_flag;
        for (std::size_t j = i + 1; j < end; ++j)
          if (ws_.members[j].splice < 0) s.flags |= segment::followed_flag;
        s.b = static_cast<std::uint32_t>(ws_.keys.size());
        const std::uint32_t schema = k8s::schema_index(t);
        if (schema == k8s::no_schema) return fail_unknown_schema(t);
        ws_.keys.push_back({schema, 0});
        for (std::size_t j = frame.base; j < end; ++j) {
          const member& other = ws_.members[j];
          if (other.splice < 0 && other.key_hole < 0) ws_.keys.push_back(side_text(other.key));
        }
        ws_.keys[s.b].length = static_cast<std::uint32_t>(ws_.keys.size() - s.b - 1);
        s.b = held_once(s.b);
        b.push(s);
        // `first` stays as it is: the literal commas count static members only,
        // and the splice adds the commas it needs when it writes (emit_fragment).
        continue;
      }
      if (!first) b.text(',');
      first = false;
      if (m.key_hole >= 0) {
        b.text('"');
        segment s;
        s.k = segment::kind::hole_string;
        s.a = static_cast<std::uint32_t>(m.key_hole);
        b.push(s);
        b.text("\":");
      } else {
        b.key(m.key);
      }
      const field_path child{&path, m.key};
      if (proxy_ && t.name == "Container" && (m.key == "env" || m.key == "volumeMounts" || m.key == "args")) {
        const insert_point items = m.key == "env" ? insert_point::env_items
                                   : m.key == "volumeMounts" ? insert_point::mounts_items
                                                             : insert_point::args_items;
        (m.key == "env" ? have_env : m.key == "volumeMounts" ? have_mounts : have_args) = true;
        if (!m.value.is_sequence()) return fail(m.value, child + ": expected a list");
        if (!write_part(m.value, *m.type, b, child, m.at, depth + 1, items)) return false;
        continue;
      }
      if (!write_part(m.value, *m.type, b, child, m.at, depth + 1)) return false;
    }
    if (proxy_ && t.name == "Container") {
      // Without the list, the per-request additions create it.
      auto add = [&](bool have, insert_point p) {
        if (have) return;
        segment s;
        s.k = segment::kind::insert;
        s.point = p;
        if (!first || has_splice(b)) s.flags |= segment::preceded_flag;
        b.push(s);
      };
      add(have_env, insert_point::env_member);
      add(have_mounts, insert_point::mounts_member);
      add(have_args, insert_point::args_member);
    }
    b.text('}');
    return true;
  }

  // The key set just written at `start` (the last one) if no earlier one is
  // the same, else that one, the new copy dropped: every user volume's splice
  // has the same set. Equal texts have equal side refs (side_text finds them).
  std::uint32_t held_once(std::uint32_t start) {
    const std::vector<text_ref>& keys = ws_.keys;
    const std::size_t n = keys[start].length + 1;
    for (std::uint32_t i = 0; i < start; i += keys[i].length + 1) {
      if (keys[i].length + 1 != n) continue;
      bool same = true;
      for (std::size_t k = 0; k < n && same; ++k)
        same = keys[i + k].offset == keys[start + k].offset && keys[i + k].length == keys[start + k].length;
      if (same) {
        ws_.keys.resize(start);
        return i;
      }
    }
    return start;
  }

  static bool has_splice(const builder& b) {
    for (const auto& s : b.written())
      if (s.k == segment::kind::hole_members) return true;
    return false;
  }

  bool write_list(const ynode& n, const type_node& t, builder& b, const field_path& path,
                  std::optional<insert_point> insert = std::nullopt, region at = {}, int depth = 0) {
    b.text('[');
    std::size_t k = 0;
    const region items_at = memo_ && at.ok() && depth < memo_depth && is_block(n) ? at : region{};
    const auto items = n.items();
    for (auto it = items.begin(); it != items.end();) {
      const ynode item = *it;
      ++it;
      if (k) b.text(',');
      if (is_null_literal(item)) {
        // Go decodes null into a list element as the element type's zero value.
        switch (t.elem->t) {
          case field_type::object: b.text("{}"); break;
          case field_type::string:
          case field_type::quantity: b.text("\"\""); break;
          case field_type::integer:
          case field_type::int_or_string: b.text("0"); break;
          case field_type::boolean: b.text("false"); break;
          default: b.text("null"); break;
        }
      } else if (!write_part(item, *t.elem, b, field_path{&path, {}, static_cast<std::int64_t>(k)},
                             part_of(item, it != items.end() ? *it : ynode(), items_at), depth + 1)) {
        return false;
      }
      ++k;
    }
    if (insert) {
      segment s;
      s.k = segment::kind::insert;
      s.point = *insert;
      if (k > 0) s.flags |= segment::preceded_flag;
      b.push(s);
    }
    b.text(']');
    return true;
  }

  bool write_any(const ynode& n, builder& b, const field_path& path) {
    if (n.is_mapping()) {
      b.text('{');
      bool first = true;
      for (const auto kv : n.entries()) {
        if (!first) b.text(',');
        first = false;
        b.key(key_text(kv.key));
        if (!write_any(kv.value, b, field_path{&path, key_text(kv.key)})) return false;
      }
      b.text('}');
      return true;
    }
    if (n.is_sequence()) {
      b.text('[');
      bool first = true;
      for (const ynode item : n.items()) {
        if (!first) b.text(',');
        first = false;
        if (!write_any(item, b, path)) return false;
      }
      b.text(']');
      return true;
    }
    if (is_null(n)) {
      b.text("null");
      return true;
    }
    return write_scalar(n, k8s::string_type(), b, path, true);
  }

  // A scalar with pod values in it: holes typed by the field, or spliced.
  bool write_holes(const ynode& n, const std::vector<piece>& parts, const type_node& t, field_type ft, bool any,
                   builder& b, const field_path& path) {
    if (parts.size() == 1) {
      const std::uint32_t h = parts[0].hole;
      if (rendered_.holes[h].structured) {
        splice_value(h, any ? k8s::string_type() : t, b);
        if (any) b.back().scalar_type = field_type::any;
        return true;
      }
      if (!is_plain(n)) {
        if (ft == field_type::integer || ft == field_type::boolean)
          return fail(n, path + ": expected " + std::string(ft == field_type::integer ? "an integer" : "true or false") +
                             ", but the template quotes a pod-dependent value");
        b.text('"');
        segment seg;
        seg.k = segment::kind::hole_string;
        seg.a = h;
        b.push(seg);
        b.text('"');
        return true;
      }
      segment seg;
      seg.k = ft == field_type::string ? segment::kind::hole_string : segment::kind::hole_scalar;
      seg.scalar_type = ft;
      seg.a = h;
      if (seg.k == segment::kind::hole_string) b.text('"');
      b.push(seg);
      if (seg.k == segment::kind::hole_string) b.text('"');
      return true;
    }
    if (ft == field_type::integer || ft == field_type::boolean)
      return fail(n, path + ": a pod-dependent value mixed with text cannot be " +
                         std::string(ft == field_type::integer ? "an integer" : "a boolean"));
    b.text('"');
    for (const auto& p : parts) {
      if (p.is_hole) {
        if (rendered_.holes[p.hole].structured)
          return fail(n, path + ": the YAML of pod data cannot be part of a larger string");
        segment seg;
        seg.k = segment::kind::hole_string;
        seg.a = p.hole;
        b.push(seg);
      } else {
        b.escaped(p.text);
      }
    }
    b.text('"');
    return true;
  }

  bool write_scalar(const ynode& n, const type_node& t, builder& b, const field_path& path, bool any = false) {
    if (!is_scalar(n))
      return fail(n, path + ": expected a " + std::string(t.name) + ", got a " + (n.is_mapping() ? "mapping" : "list"));
    const std::string_view s = n.text();
    const field_type ft = any ? field_type::any : t.t;
    if (has_hole_marker(s)) {
      const auto& parts = split(s);
      for (const auto& p : parts)
        if (p.is_hole) return write_holes(n, parts, t, ft, any, b, path);
    }
    return write_literal(n, s, ft, b, path);
  }

  // A literal: typed the way Istio's decoder typed it.
  bool write_literal(const ynode& n, std::string_view s, field_type ft, builder& b, const field_path& path) {
    const bool plain = is_plain(n);
    const core::yaml_scalar r = plain ? core::resolve_plain_scalar(s) : core::yaml_scalar{};
    auto as_string = [&]() -> std::string {
      if (!plain) return std::string(s);
      switch (r.k) {
        case core::yaml_scalar::kind::boolean: return r.b ? "true" : "false";
        case core::yaml_scalar::kind::integer: return std::to_string(r.i);
        case core::yaml_scalar::kind::floating: return core::format_go_float(r.f, 32);
        default: return std::string(s);
      }
    };
    switch (ft) {
      case field_type::string:
        // Only booleans and numbers are spelled anew; other text goes in as it is.
        if (plain && (r.k == core::yaml_scalar::kind::boolean || r.k == core::yaml_scalar::kind::integer ||
                      r.k == core::yaml_scalar::kind::floating))
          b.quoted(as_string());
        else
          b.quoted(s);
        return true;
      case field_type::quantity:
        if (plain && r.k == core::yaml_scalar::kind::boolean)
          return fail(n, path + ": expected a quantity such as 100m or 1Gi, got '" + std::string(s) + "'");
        if (!k8s::is_quantity(s))
          return fail(n, path + ": '" + std::string(s) + "' is not a valid quantity (such as 100m, 2 or 128Mi)");
        b.quoted(s);
        return true;
      case field_type::integer:
        if (plain && r.k == core::yaml_scalar::kind::integer) {
          b.text(std::to_string(r.i));
          return true;
        }
        if (plain && r.k == core::yaml_scalar::kind::floating && std::trunc(r.f) == r.f && std::fabs(r.f) < 9e15) {
          b.text(std::to_string(static_cast<std::int64_t>(r.f)));
          return true;
        }
        return fail(n, path + ": expected an integer, got '" + std::string(s) + "'");
      case field_type::boolean:
        if (plain && r.k == core::yaml_scalar::kind::boolean) {
          b.text(r.b ? "true" : "false");
          return true;
        }
        return fail(n, path + ": expected true or false, got '" + std::string(s) + "'");
      case field_type::int_or_string:
        if (plain && r.k == core::yaml_scalar::kind::integer) {
          b.text(std::to_string(r.i));
          return true;
        }
        if (plain && (r.k == core::yaml_scalar::kind::boolean || r.k == core::yaml_scalar::kind::floating))
          return fail(n, path + ": expected an integer or a string, got '" + std::string(s) + "'");
        b.quoted(s);
        return true;
      case field_type::any:
        if (!plain || r.k == core::yaml_scalar::kind::string) {
          b.quoted(s);
        } else if (r.k == core::yaml_scalar::kind::null) {
          b.text("null");
        } else if (r.k == core::yaml_scalar::kind::boolean) {
          b.text(r.b ? "true" : "false");
        } else if (r.k == core::yaml_scalar::kind::integer) {
          b.text(std::to_string(r.i));
        } else {
          if (!std::isfinite(r.f)) return fail(n, path + ": " + std::string(s) + " cannot be represented in JSON");
          b.text(core::format_go_float(r.f));
        }
        return true;
      default:
        return fail(n, path + ": unexpected scalar");
    }
  }

  // A scalar's pieces, in the workspace's scratch: valid until the next split.
  const std::vector<piece>& split(std::string_view s) {
    split_holes(s, rendered_.holes.size(), ws_.pieces);
    return ws_.pieces;
  }

  const tmpl::program& prog_;
  const tmpl::render_result& rendered_;
  sidecar_variant& v_;
  std::string& error_;
  compile_workspace::scratch& ws_;
  bool warnings_ = true;
  bool proxy_ = false;
  std::size_t memo_limit_ = 0;
  bool memo_ = false;
  bool skip_held_ = false;
  bool cut_ = false;   // the reader read ws_.cut, not the rendered text
  bool redo_ = false;  // a stand-in was met where its text is needed
  std::string_view text_ = rendered_.text;
};

}  // namespace

std::string position_mapper::at(int rendered_line, int rendered_column) const {
  if (!program || !rendered || rendered_line < 0) return "template";
  // Rendered (line, column) -> offset -> the chunk of template text it came from.
  std::size_t offset = 0;
  for (int l = 0; l < rendered_line && offset < rendered->text.size(); ++l) {
    const std::size_t nl = rendered->text.find('\n', offset);
    if (nl == std::string::npos) break;
    offset = nl + 1;
  }
  offset += static_cast<std::size_t>(std::max(0, rendered_column));
  std::uint32_t tpos = 0;
  for (const auto& [text_off, template_off] : rendered->source_map) {
    if (text_off > offset) break;
    tpos = template_off + static_cast<std::uint32_t>(offset - text_off);
  }
  tpos = std::min<std::uint32_t>(tpos, static_cast<std::uint32_t>(program->text().size()));
  const auto [line, col] = program->line_column(tpos);
  return "template:" + std::to_string(line) + ":" + std::to_string(col);
}

bool compile_sidecar(const tmpl::program& program, tmpl::render_result rendered, sidecar_variant& out,
                     std::string& error) {
  compile_workspace workspace;
  return compile_sidecar(program, rendered, out, error, workspace);
}

namespace {

// A text segment is cut to refer to a part of it in the shared text only when
// that part is longer than the segment the cut adds.
constexpr std::size_t shortest_shared_part = 2 * sizeof(segment);

}  // namespace

shared_variant_text::shared_variant_text(const sidecar_variant& sample) : text_(sample.pool) {
  auto add = [&](std::uint32_t offset, std::uint32_t length) {
    if (length == 0 || (offset & shared_text_bit) != 0) return;
    pieces_.push_back({hash_of(std::string_view(text_).substr(offset, length)), offset, length});
  };
  for (const segment& seg : sample.segments)
    if (seg.k == segment::kind::text) add(seg.a, seg.b);
  for (std::size_t i = 0; i < sample.keys.size(); i += sample.keys[i].length + 1)  // a header, then its keys
    for (std::size_t k = i + 1; k <= i + sample.keys[i].length; ++k) add(sample.keys[k].offset, sample.keys[k].length);
  for (const sidecar_item& item : sample.items)
    if (item.name.k == value_ref::kind::literal) add(item.name.literal.offset, item.name.literal.length);
  for (const value_ref* r : {&sample.rewrite_probe, &sample.status_port, &sample.concurrency, &sample.cpu})
    if (r->k == value_ref::kind::literal) add(r->literal.offset, r->literal.length);
  std::sort(pieces_.begin(), pieces_.end(), [](const piece& x, const piece& y) { return x.hash < y.hash; });
  pieces_.shrink_to_fit();
  if (text_.size() >= gram_length) {
    grams_.reserve(text_.size() - gram_length + 1);
    for (std::size_t at = 0; at + gram_length <= text_.size(); ++at)
      grams_.push_back({gram_of(text_.data() + at), static_cast<std::uint32_t>(at)});
    std::sort(grams_.begin(), grams_.end(),
              [](const gram& x, const gram& y) { return x.key != y.key ? x.key < y.key : x.at < y.at; });
  }
}

std::uint64_t shared_variant_text::gram_of(const char* p) noexcept {
  std::uint64_t key = 0;
  std::memcpy(&key, p, gram_length);
  return key;
}

std::size_t shared_variant_text::find(std::string_view s) const noexcept {
  const std::uint64_t h = hash_of(s);
  auto it = std::lower_bound(pieces_.begin(), pieces_.end(), h, [](const piece& p, std::uint64_t v) { return p.hash < v; });
  for (; it != pieces_.end() && it->hash == h; ++it)
    if (it->length == s.size() && std::string_view(text_).substr(it->offset, it->length) == s) return it->offset;
  if (s.size() < gram_length) {
    const std::size_t at = text_.find(s);
    return at == std::string::npos ? npos : at;
  }
  // Only where the text has s's first 8 bytes: a scan of the whole text per
  // piece made a miss twice as slow.
  const std::uint64_t key = gram_of(s.data());
  auto g = std::lower_bound(grams_.begin(), grams_.end(), key, [](const gram& x, std::uint64_t k) { return x.key < k; });
  for (; g != grams_.end() && g->key == key; ++g)
    if (std::string_view(text_).substr(g->at, s.size()) == s) return g->at;
  return npos;
}

// A head (tail) of 8 bytes or more can only start (end) where the text has
// s's first (last) 8 bytes: measured at each such place, not by bisecting with
// find(), which looked the same places up again for every length it tried.
// Shorter ones by bisection, as every prefix (suffix) of a piece the text holds
// is held too.
std::size_t shared_variant_text::longest_head(std::string_view s) const noexcept {
  if (s.size() >= gram_length) {
    const std::uint64_t key = gram_of(s.data());
    std::size_t longest = 0;
    auto g = std::lower_bound(grams_.begin(), grams_.end(), key, [](const gram& x, std::uint64_t k) { return x.key < k; });
    for (; g != grams_.end() && g->key == key && longest < s.size(); ++g) {
      const std::size_t room = std::min(s.size(), text_.size() - g->at);
      std::size_t n = gram_length;
      while (n < room && text_[g->at + n] == s[n]) ++n;
      longest = std::max(longest, n);
    }
    if (longest > 0) return longest;
  }
  std::size_t held = 0, lacking = std::min(s.size(), gram_length - 1) + 1;
  while (lacking - held > 1) {
    const std::size_t mid = held + (lacking - held) / 2;
    (find(s.substr(0, mid)) != npos ? held : lacking) = mid;
  }
  return held;
}

std::size_t shared_variant_text::longest_tail(std::string_view s) const noexcept {
  if (s.size() >= gram_length) {
    const std::uint64_t key = gram_of(s.data() + s.size() - gram_length);
    std::size_t longest = 0;
    auto g = std::lower_bound(grams_.begin(), grams_.end(), key, [](const gram& x, std::uint64_t k) { return x.key < k; });
    for (; g != grams_.end() && g->key == key && longest < s.size(); ++g) {
      const std::size_t end = g->at + gram_length;  // in the text, one past the tail's last byte
      const std::size_t room = std::min(s.size(), end);
      std::size_t n = gram_length;
      while (n < room && text_[end - 1 - n] == s[s.size() - 1 - n]) ++n;
      longest = std::max(longest, n);
    }
    if (longest > 0) return longest;
  }
  std::size_t held = 0, lacking = std::min(s.size(), gram_length - 1) + 1;
  while (lacking - held > 1) {
    const std::size_t mid = held + (lacking - held) / 2;
    (find(s.substr(s.size() - mid)) != npos ? held : lacking) = mid;
  }
  return held;
}

std::size_t shared_variant_text::heap_bytes() const noexcept {
  const std::size_t text = text_.capacity() > std::string().capacity() ? text_.capacity() + 1 : 0;
  return text + pieces_.capacity() * sizeof(piece) + grams_.capacity() * sizeof(gram);
}

bool compile_sidecar(const tmpl::program& program, const tmpl::render_result& rendered, sidecar_variant& out,
                     std::string& error, compile_workspace& workspace, const shared_variant_text* shared) {
  compile_workspace::scratch& ws = workspace.store();
  auto compile = [&](bool skip_held, bool& cut) {
    out = sidecar_variant{};
    ws.pool.clear();
    ws.side.clear();
    ws.segments.clear();
    ws.keys.clear();
    for (auto& l : ws.lists) l.clear();
    ws.members.clear();
    compiler c(program, rendered, out, error, ws, workspace.collect_warnings,
               workspace.memo_parts ? workspace.memo_limit : 0, skip_held);
    const bool ok = c.run();
    cut = c.cut();
    return ok;
  };
  bool cut = false;
  if (!compile(workspace.skip_copied_parts, cut)) {
    if (!cut) return false;
    // The cut text failed, or met a stand-in it could not copy: the whole
    // text's compile decides (and spells any error).
    ++ws.cut_redos;
    error.clear();
    if (!compile(false, cut)) return false;
  }
  if (ws.pool.size() + ws.side.size() >= shared_text_bit || rendered.holes.size() >= segment_field_limit ||
      ws.keys.size() >= segment_field_limit) {
    error = "the rendered sidecar is too large: 8 MiB of JSON text or more, or 16 Mi pod values or keys";
    return false;
  }
  // Each piece of text goes where it is already held: the snapshot's shared
  // text, else what this variant keeps so far (the same `{"name":"` for every
  // user volume), else it is appended to what the variant keeps.
  ws.own.clear();
  auto keep = [&](std::string_view s) -> std::uint32_t {
    std::size_t at = ws.own.find(s);
    if (at == std::string::npos) {
      at = ws.own.size();
      ws.own.append(s);
    }
    return static_cast<std::uint32_t>(at);
  };
  auto place = [&](std::string_view s) -> std::uint32_t {
    if (s.empty()) return 0;
    if (shared) {
      const std::size_t at = shared->find(s);
      if (at != shared_variant_text::npos) return shared_text_bit | static_cast<std::uint32_t>(at);
    }
    return keep(s);
  };
  auto push_text = [&](std::uint32_t at, std::size_t length) {
    segment t;
    t.k = segment::kind::text;
    t.a = at;
    t.b = static_cast<std::uint32_t>(length);
    ws.placed.push_back(t);
  };
  // Text a branch of the template joined to text every variant has (a user
  // volume's mount after the proxy's own) is held only in part: its shared
  // head and tail are referred to there, the new text between is kept.
  auto place_segment_text_once = [&](std::string_view s) {
    if (!shared || s.size() < shortest_shared_part || shared->find(s) != shared_variant_text::npos) {
      push_text(place(s), s.size());
      return;
    }
    std::size_t head = shared->longest_head(s);
    if (head < shortest_shared_part) head = 0;
    std::size_t tail = shared->longest_tail(s.substr(head));
    if (tail < shortest_shared_part) tail = 0;
    if (head > 0) push_text(place(s.substr(0, head)), head);
    if (const std::string_view middle = s.substr(head, s.size() - head - tail); !middle.empty())
      push_text(keep(middle), middle.size());
    if (tail > 0) push_text(place(s.substr(s.size() - tail)), tail);
  };
  // Each distinct piece is placed once; a repeat takes the same place.
  using placement = compile_workspace::scratch::placement;
  {
    std::size_t lookups = ws.segments.size() + ws.keys.size() + 4;
    for (const auto& l : ws.lists) lookups += l.size();
    std::size_t slots = 64;
    while (slots < 2 * lookups) slots *= 2;  // at most half full: short probes
    if (ws.placements.size() < slots) {
      ws.placements.assign(slots, placement{});
      ws.generation = 0;
    }
    next_generation(ws.placements, ws.generation);
  }
  // The slot holding `s` (filled by this compile), else the empty one where it goes.
  auto slot_of = [&](std::string_view s, bool ref) -> placement& {
    const std::uint64_t h = hash_of(s);
    const std::size_t mask = ws.placements.size() - 1;
    for (std::size_t i = static_cast<std::size_t>(h) & mask;; i = (i + 1) & mask) {
      placement& p = ws.placements[i];
      if (p.generation != ws.generation) {
        p.hash = h;
        p.text = s;
        return p;
      }
      if (p.hash == h && (p.count == placement::ref) == ref && p.text == s) return p;
    }
  };
  auto place_segment_text = [&](std::string_view s) {
    placement& p = slot_of(s, false);
    if (p.generation == ws.generation) {
      for (std::uint32_t k = 0; k < p.count; ++k) {
        const segment seg = ws.placed[p.first + k];
        ws.placed.push_back(seg);
      }
      return;
    }
    const auto first = static_cast<std::uint32_t>(ws.placed.size());
    place_segment_text_once(s);
    p.generation = ws.generation;
    p.first = first;
    p.count = static_cast<std::uint32_t>(ws.placed.size()) - first;
  };
  auto place_ref = [&](text_ref& r) {
    const std::string_view s = (r.offset & side_bit) != 0 ? std::string_view(ws.side).substr(r.offset & ~side_bit, r.length)
                                                          : std::string_view(ws.pool).substr(r.offset, r.length);
    placement& p = slot_of(s, true);
    if (p.generation != ws.generation) {
      p.generation = ws.generation;
      p.first = place(s);
      p.count = placement::ref;
    }
    r.offset = p.first;
  };
  auto place_value = [&](value_ref& r) {
    if (r.k == value_ref::kind::literal) place_ref(r.literal);
  };
  // A variant lives in the cache for many requests, and the cache's byte bound
  // counts its buffers' capacity: everything is built in the workspace and
  // copied once, at its size.
  ws.placed.clear();
  ws.moved.clear();
  for (const segment& seg : ws.segments) {
    ws.moved.push_back(static_cast<std::uint32_t>(ws.placed.size()));
    if (seg.k == segment::kind::text) place_segment_text(std::string_view(ws.pool).substr(seg.a, seg.b));
    else ws.placed.push_back(seg);
  }
  ws.moved.push_back(static_cast<std::uint32_t>(ws.placed.size()));
  auto renumber = [&](fragment& f) {
    const std::uint32_t first = ws.moved[f.first];
    f.count = ws.moved[f.first + f.count] - first;
    f.first = first;
  };
  out.segments.assign(ws.placed.begin(), ws.placed.end());
  if (out.has_dns_config) renumber(out.dns_config);
  out.keys.assign(ws.keys.begin(), ws.keys.end());
  for (std::size_t i = 0; i < out.keys.size(); i += out.keys[i].length + 1)  // a header, then its keys
    for (std::size_t k = i + 1; k <= i + out.keys[i].length; ++k) place_ref(out.keys[k]);
  std::size_t item_count = 0;
  for (const auto& l : ws.lists) item_count += l.size();
  out.items.reserve(item_count);
  for (std::size_t l = 0; l < ws.lists.size(); ++l) {
    for (sidecar_item item : ws.lists[l]) {
      place_value(item.name);
      renumber(item.json);
      out.items.push_back(item);
    }
    out.list_end[l] = static_cast<std::uint32_t>(out.items.size());
  }
  for (value_ref* r : {&out.rewrite_probe, &out.status_port, &out.concurrency, &out.cpu}) place_value(*r);
  out.pool.reserve(ws.own.size());
  out.pool.append(ws.own);
  out.shared = shared;
  return true;
}

}  // namespace meshinject::patch
