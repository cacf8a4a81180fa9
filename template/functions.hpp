#pragma once
// The function table: every function a template may call, in one place.
//
// An entry gives the name, the arity (the parser checks both at load), whether
// the function is pure (the folder may evaluate it at load when its arguments are
// constant), and the implementation the evaluator calls. Go's builtins come from
// add_builtin_functions(); a host adds its own (the injector's Istio functions,
// sprig's families) with add() before compiling a program, and the library
// knows nothing of them. A program copies the table it was compiled with.
//
// An implementation receives its arguments (the piped value last), already
// evaluated, never unknown and never deferred, and a call_context for memory,
// errors and JSON documents. It returns its result, or calls cx.fail(message) and
// returns anything. On the request path it must not throw and should not allocate
// once warm: results go to cx.strings(), formatting to cx.scratch().

#include <simdjson.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "template/arena.hpp"
#include "template/value.hpp"

namespace meshinject::tmpl {

class json_documents;
class program;

// What a function (or a binding) may use while it runs. Owned by the evaluator.
class call_context {
 public:
  enum class phase : std::uint8_t {
    fold,    // at load, on constants
    trace,   // per request: decisions and holes
    render,  // per variant: the text with placeholders
  };
  phase when() const noexcept { return phase_; }

  arena& strings() noexcept { return *strings_; }
  // Two formatting buffers for the function being called (a function that
  // formats pieces into a whole uses both); their content is not kept. Error
  // messages are composed in scratch(1).
  std::string& scratch(int n = 0) noexcept { return n == 0 ? *scratch_[0] : *scratch_[1]; }
  // A string value whose text is copied into the arena.
  value text(std::string_view s, std::string_view origin = {}) { return value::string(strings_->copy(s), origin); }

  // Records the error at the position of the call being evaluated, as
  // "template:LINE:COL: message". Returns false.
  bool fail(std::string_view message);
  bool failed() const noexcept { return failed_; }

  // Parses JSON into a document that lives until the request (or the render)
  // ends. At load (phase fold) there is nowhere to keep it: returns false.
  bool parse_json(std::string_view text, simdjson::dom::element& out, simdjson::error_code& error);

  // `.name` of any value, with Go's errors (as the evaluator's own field access).
  value field(const value& v, std::string_view name);

  // Appends where a value came from, as the host names it ("annotation NAME: "),
  // or nothing when it has no origin.
  void append_origin(const value& v, std::string& out) const;

 private:
  friend class machine;
  call_context(const program& prog, phase when, arena& strings, std::string& scratch0, std::string& scratch1,
               std::string& error, json_documents* docs, std::string_view origin_label) noexcept
      : prog_(&prog), phase_(when), strings_(&strings), scratch_{&scratch0, &scratch1}, error_(&error), docs_(docs),
        origin_label_(origin_label) {}

  const program* prog_;
  phase phase_;
  arena* strings_;
  std::string* scratch_[2];
  std::string* error_;
  json_documents* docs_;
  std::string_view origin_label_;
  std::size_t docs_used_ = 0;
  std::uint32_t pos_ = 0;
  bool failed_ = false;
};

using function_impl = value (*)(call_context& cx, std::span<value> args);

// A call the compiler may replace by one direct map lookup on a field chain
// from the root (see README: "The lookup fast path").
struct lookup_plan {
  enum class result : std::uint8_t {
    index,       // as `index MAP key`
    exists,      // true when the key is present
    or_default,  // the value when present, else `fallback`
  };
  result mode = result::index;
  std::vector<std::string> chain;  // from the root, ending at a map
  std::string key;
  std::string fallback;
};

// One argument of a call, as the compiler knows it at load.
struct call_site_arg {
  const std::vector<std::string>* root_chain = nullptr;  // a field chain from the root (`.A.B`)
  const value* constant = nullptr;                       // a constant (literal or folded)
};

// Offered by an entry that can be planned as a lookup; false: not this call.
using specialize_fn = bool (*)(std::span<const call_site_arg> args, lookup_plan& plan);

struct function_entry {
  enum class special : std::uint8_t {
    none,
    and_,  // Go's and/or: arguments evaluated left to right, only as far as needed
    or_,
  };
  enum class shape : std::uint8_t {
    text,             // an ordinary result
    structure,        // the result is text *of* its argument's structure (a toYaml): see value::deferred
    keeps_structure,  // a text transform (an indent) that the host may skip when it splices structure
  };

  std::string_view name;  // must outlive the table (a literal)
  // null: a name the table knows but refuses (an impure sprig function): the
  // parser rejects a call to it with the reason, at load.
  function_impl impl = nullptr;
  std::uint8_t min_args = 0;
  std::int16_t max_args = -1;  // -1: any number
  bool pure = true;            // may be folded at load when every argument is constant
  special lazy = special::none;
  shape result = shape::text;
  specialize_fn specialize = nullptr;
};

class function_table {
 public:
  // Adds an entry, replacing one of the same name.
  void add(const function_entry& e);
  const function_entry* find(std::string_view name) const noexcept;
  std::span<const function_entry> entries() const noexcept { return entries_; }

 private:
  std::vector<function_entry> entries_;
};

// Go's builtins: and or not eq ne lt le gt ge index len print printf println.
void add_builtin_functions(function_table& t);
function_table builtin_functions();

// sprig's pure families, one file each (funcs_<family>.cpp; README lists them).
void add_string_functions(function_table& t);
void add_list_functions(function_table& t);
void add_dict_functions(function_table& t);
void add_default_functions(function_table& t);  // defaults and types (kindOf, typeOf, kindIs)
void add_math_functions(function_table& t);
void add_encoding_functions(function_table& t);
void add_semver_functions(function_table& t);
void add_regex_functions(function_table& t);  // regexMatch regexFind regexReplaceAll (RE2 subset)
// encoding/json's Marshal of a value (maps by sorted key, HTML characters
// escaped), appended to `out`; indent_depth >= 0 gives MarshalIndent's layout
// (two spaces a level). False where Go's Marshal fails (NaN, an unknown value).
bool marshal_json(call_context& cx, const value& v, std::string& out, int indent_depth = -1);

// All of the above, plus sprig's impure names as refused entries (now, rand*,
// uuidv4, genCA, getHostByName, expandenv, env, ...).
void add_sprig_functions(function_table& t);

// The builtin `index` on one key, for functions and bindings that need Go's
// index semantics (missing map key: the map's zero value).
value index_value(const value& container, const value& key, call_context& cx);

}  // namespace meshinject::tmpl
