#pragma once
// A sidecar variant: the template's output for one combination of pod-dependent
// decisions, compiled into ready JSON with holes.
//
// compile_sidecar() runs once per variant (per core, on first use): it reads the
// rendered YAML (core/yaml_reader, exception-free), types every scalar by the
// Kubernetes field it lands in, and cuts the JSON of each injected item into
// literal text and holes. emit_fragment()
// runs per request: it copies the literal text and writes each hole's value,
// JSON-escaped or typed, so pod data can never change the JSON's structure.
// The compiler lives in variant_compiler.cpp, emission in fragment.cpp; both
// are request-path files (a miss compiles on the reactor).

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "patch/k8s_schema.hpp"
#include "template/binding.hpp"
#include "template/program.hpp"

namespace meshinject::core::yaml {
class reader;
}

namespace meshinject::patch {

enum class insert_point : std::uint8_t {
  env_items,      // before `]` of the proxy's env list
  env_member,     // before `}` of the proxy container, when it has no env
  mounts_items,
  mounts_member,
  args_items,
  args_member,
};

// A piece of the variant's pool text, or of its snapshot's shared text when
// the offset carries shared_text_bit.
struct text_ref {
  std::uint32_t offset = 0, length = 0;
};
inline constexpr std::uint32_t shared_text_bit = 1u << 23;
// What a segment's 24-bit fields hold: a variant's own text (and the shared
// text) is under 8 MiB, its holes and key-set entries fewer than 16 Mi each
// (compile_sidecar refuses more; Kubernetes' objects are far smaller).
inline constexpr std::uint32_t segment_field_limit = 1u << 24;

// 8 bytes: a variant with many user volumes has hundreds of these, which
// (with the text shared per snapshot) are most of what it holds.
struct segment {
  enum class kind : std::uint8_t {
    text,          // pool[a, a+b), or the shared text's when a carries shared_text_bit
    hole_string,   // hole a printed and JSON-escaped (inside quotes that are part of the text)
    hole_scalar,   // hole a as a whole scalar: typed by `scalar_type` (quotes added when it is a string)
    hole_members,  // YAML of pod data (hole a) spliced as object members; b: its key set in sidecar_variant::keys
    hole_value,    // YAML of pod data (hole a) spliced as one value; b: k8s::schema_index of its type
    insert,        // per-request additions to the proxy container
  };
  static constexpr std::uint8_t preceded_flag = 1;  // hole_members/insert: something was written before in this object/list
  static constexpr std::uint8_t followed_flag = 2;  // hole_members: static members follow

  kind k : 3 = kind::text;
  k8s::field_type scalar_type : 5 = k8s::field_type::string;
  insert_point point : 3 = insert_point::env_items;
  std::uint8_t flags : 2 = 0;
  std::uint64_t a : 24 = 0, b : 24 = 0;  // below segment_field_limit

  bool preceded() const noexcept { return (flags & preceded_flag) != 0; }
  bool followed() const noexcept { return (flags & followed_flag) != 0; }
};
static_assert(sizeof(segment) == 8);

// A run of sidecar_variant::segments.
struct fragment {
  std::uint32_t first = 0, count = 0;
};

// A scalar of the rendered spec that is a literal, one hole, or neither.
struct value_ref {
  enum class kind : std::uint8_t { none, literal, hole, complex, splice_name } k = kind::none;
  std::uint32_t hole = 0;
  text_ref literal;  // in the variant's pool
};

struct sidecar_item {
  fragment json;
  value_ref name;
};

// The lists a template injects, in the order sidecar_variant::items holds them.
enum class sidecar_list : std::uint8_t { init_containers, containers, volumes, image_pull_secrets };

struct sidecar_variant;

// The text every variant of one template repeats (fragments' literal JSON, key
// names, literals), held once per snapshot instead of once per variant: a
// variant's own pool keeps only the text this one lacks. Built at load from the
// variant a plain pod gets, immutable after, so every core's compiles and
// fragments read it without a lock; it lives as long as its snapshot, which
// outlives the variants that point into it (a core empties its cache before
// it lets go of a snapshot). Not movable: the variants point into it.
class shared_variant_text {
 public:
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);

  explicit shared_variant_text(const sidecar_variant& sample);
  shared_variant_text(const shared_variant_text&) = delete;
  shared_variant_text& operator=(const shared_variant_text&) = delete;

  // Where `s` is in the text, or npos: the sample's own pieces (a fragment's
  // text between holes, a key, a literal) by hash, as most pieces of another
  // variant are one of these; then anywhere in the text.
  std::size_t find(std::string_view s) const noexcept;
  // How much of the start (end) of `s` the text holds in one piece.
  std::size_t longest_head(std::string_view s) const noexcept;
  std::size_t longest_tail(std::string_view s) const noexcept;
  std::string_view text() const noexcept { return text_; }
  // The heap it holds: counted once for its snapshot, not in any variant.
  std::size_t heap_bytes() const noexcept;

 private:
  struct piece {
    std::uint64_t hash;
    std::uint32_t offset, length;
  };
  // Where each run of 8 bytes of the text starts, by those bytes: a longer
  // string is looked for only where its first 8 bytes are.
  static constexpr std::size_t gram_length = 8;
  struct gram {
    std::uint64_t key;
    std::uint32_t at;
  };
  static std::uint64_t gram_of(const char* p) noexcept;

  std::string text_;
  std::vector<piece> pieces_;  // sorted by hash
  std::vector<gram> grams_;    // sorted by key, then position
};

// Flat on purpose: a core keeps hundreds of these (variant_cache), so a variant
// is a handful of exact-size arrays (text, segments, key sets, items) whatever
// the number of fragments, rather than a vector per fragment and a string per
// key. Nothing that is the same for every variant of a template (hole
// descriptions, schema pointers, the text its snapshot's shared_variant_text
// holds) is copied in, and a key set repeated within a variant (each user
// volume's) is held once.
struct sidecar_variant {
  // Every fragment's literal text, then the raw text of key sets and literals.
  std::string pool;
  std::vector<segment> segments;
  // Key sets of hole_members segments, each a header {k8s::schema_index of the
  // object, n} followed by the n keys (in `pool`) the template sets beside the splice.
  std::vector<text_ref> keys;
  std::vector<sidecar_item> items;                 // the lists, one after the other
  std::array<std::uint32_t, 4> list_end{};         // where each list ends in `items`
  bool has_dns_config = false;
  fragment dns_config;
  value_ref rewrite_probe;     // none: false
  int proxy = -1;              // index of istio-proxy in containers
  value_ref status_port;       // the value after --statusPort in the proxy's args
  bool status_port_flag = false;
  value_ref concurrency;       // the value after --concurrency
  bool concurrency_flag = false;
  value_ref cpu;               // the proxy's CPU limit, else its request
  std::vector<std::string> warnings;
  // The status annotation's value, JSON-escaped, for a variant whose names are
  // all literal: the engine fills it before the variant enters its cache, so
  // that the cache's byte bound counts it.
  std::string status_cache;
  // Where text refs and text segments with shared_text_bit point: the
  // snapshot's, held once for all its variants (null: the pool holds all).
  const shared_variant_text* shared = nullptr;

  std::span<const sidecar_item> list(sidecar_list l) const noexcept {
    const auto i = static_cast<std::size_t>(l);
    const std::uint32_t begin = i == 0 ? 0 : list_end[i - 1];
    return {items.data() + begin, list_end[i] - begin};
  }
  std::span<const sidecar_item> init_containers() const noexcept { return list(sidecar_list::init_containers); }
  std::span<const sidecar_item> containers() const noexcept { return list(sidecar_list::containers); }
  std::span<const sidecar_item> volumes() const noexcept { return list(sidecar_list::volumes); }
  std::span<const sidecar_item> image_pull_secrets() const noexcept { return list(sidecar_list::image_pull_secrets); }
  std::string_view text(text_ref r) const noexcept { return text_at(r.offset, r.length); }
  std::string_view text_at(std::uint32_t offset, std::uint32_t length) const noexcept {
    const char* base = (offset & shared_text_bit) != 0 ? shared->text().data() : pool.data();
    return {base + (offset & ~shared_text_bit), length};
  }
  std::span<const segment> segments_of(fragment f) const noexcept { return {segments.data() + f.first, f.count}; }
};

struct position_mapper {
  const tmpl::program* program = nullptr;
  const tmpl::render_result* rendered = nullptr;
  // "template:L:C" of a position in the rendered text.
  std::string at(int rendered_line, int rendered_column) const;
};

// What a core keeps from one compile to the next: the YAML reader and the
// compiler's scratch (the pool and segments being built, the members of the
// mappings being written, a scalar's pieces). A compile then allocates only the
// variant it returns, once the scratch has grown to the largest variant seen.
class compile_workspace {
 public:
  compile_workspace();
  ~compile_workspace();
  compile_workspace(const compile_workspace&) = delete;
  compile_workspace& operator=(const compile_workspace&) = delete;

  // Whether warnings (dropped fields, unknown keys) are spelled out into the
  // variant. A core's miss has no one to show them to: the snapshot reported
  // the template's warnings when it was loaded.
  bool collect_warnings = true;

  // The part memo: most of a template's rendered text is the same for every
  // variant (only pod-dependent branches, user volumes and counts differ), so
  // a compile keeps the JSON it wrote for a part of the text (a top-level list
  // item, a member of one, an item of such a member's list), keyed by the
  // part's exact text (hole numbers counted from the part's first), the type
  // it is written as, and whether each hole in it is spliced YAML; a later
  // compile whose text has the same part copies that JSON instead of writing
  // it from the YAML tree again. Used only when warnings are not collected
  // (errors are not memoised: a part that fails is never kept, and a part
  // that was kept writes without error). Bounded by memo_limit bytes: when a
  // part would not fit, the memo is emptied and fills again. A core empties it
  // when it takes a new snapshot (forget_parts).
  bool memo_parts = true;
  std::size_t memo_limit = std::size_t{512} << 10;
  // With the memo: the parts it holds are not read as YAML. A line scan finds
  // the parts (top-level list items, their members, those members' members and
  // items), looks each up, and the text is read with a held part's lines cut
  // (its first line kept up to its key or `- `, its value a stand-in `[]`); a
  // copy then replays the part where the stand-in stands. The scan gives up
  // (the whole text is read) on anything it is not sure of: tabs, comments,
  // document markers, a quoted scalar or flow collection not closed on its
  // line, block scalars it cannot bound. If the cut text's compile finds an
  // error, or meets a stand-in it cannot replay, the compile starts over from
  // the whole text, so errors and their positions are the full read's.
  bool skip_copied_parts = true;
  std::uint64_t cut_compiles() const noexcept;  // compiles that read a cut text, since construction
  std::uint64_t cut_redos() const noexcept;     // of those, compiles started over from the whole text
  void forget_parts() noexcept;
  // The heap the memo holds (keys, kept JSON, table), for the bench's counters.
  std::size_t memo_bytes() const noexcept;
  // Parts written from the memo and parts written anew, since construction.
  std::uint64_t memo_hits() const noexcept;
  std::uint64_t memo_misses() const noexcept;
  std::uint64_t memo_clears() const noexcept;  // emptied, when full or told (the first fill counts one)

  struct scratch;
  scratch& store() noexcept { return *scratch_; }

 private:
  std::unique_ptr<scratch> scratch_;
};

// Returns false with `error` set (with a template position) when the rendered
// text is not valid YAML or a literal does not fit its field. Errors are values:
// nothing here throws (but std::bad_alloc) and no YAML library is involved; the
// text is read by core/yaml_reader.
bool compile_sidecar(const tmpl::program& program, tmpl::render_result rendered, sidecar_variant& out,
                     std::string& error);
// The same, with a workspace the caller keeps (one per core), whose storage
// then serves every compile.
// With `shared`, the text it holds is referred to there and not copied into
// the variant, which then points at it: `shared` must outlive the variant.
bool compile_sidecar(const tmpl::program& program, const tmpl::render_result& rendered, sidecar_variant& out,
                     std::string& error, compile_workspace& workspace, const shared_variant_text* shared = nullptr);

// Writes a fragment. `insert` is called for insert segments. Returns false with
// `error` set when a hole's value does not fit its field (e.g. a non-integer
// annotation where an integer goes).
using insert_writer = void (*)(void* ctx, insert_point point, bool preceded, std::string& out);
bool emit_fragment(const fragment& f, const sidecar_variant& v, std::span<const tmpl::value> holes, std::string& out,
                   std::string& scratch, std::string& error, insert_writer insert = nullptr, void* ctx = nullptr);

// The text a value_ref stands for in this request (holes printed as strings).
std::string_view resolve_ref(const value_ref& r, const sidecar_variant& v, std::span<const tmpl::value> holes,
                             std::string& scratch);

// Writes a JSON element re-serialized (compact, keys in document order).
void write_json(simdjson::dom::element e, std::string& out);

}  // namespace meshinject::patch
