#pragma once
// Syntax tree of the Go text/template subset meshinject accepts (SPEC section 3),
// as parse/node.go has it. Produced by parse_template() (parse.hpp), annotated in
// place by the program compiler (program.cpp): which expressions vary per
// request, which are folded, which run as a direct lookup.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "template/functions.hpp"
#include "template/value.hpp"

namespace meshinject::tmpl {

struct pipeline;

struct operand {
  enum class kind : std::uint8_t { dot, field, variable, string, integer, floating, boolean, nil, function, sub };
  kind k = kind::nil;
  std::uint32_t pos = 0;  // byte offset in the template text
  std::string name;       // function name; variable name without '$' ("" is `$`); string literal
  std::vector<std::string> fields;  // `.A.B` chain (for field: the chain itself; else after the term)
  std::int64_t i = 0;
  double f = 0;
  bool b = false;
  std::unique_ptr<pipeline> sub;
  const function_entry* fn = nullptr;  // function: resolved by the parser

  // Filled by the compiler.
  int slot = -1;            // variables: frame slot
  int accessor = -1;        // a field chain from the root that the root binding resolved
  int fetch_slot = -1;      // accessor >= 0: its per-request slot (trace_state), one fetch per trace
  int memo = -1;            // a per-request root chain without an accessor: its memo slot (read once per trace)
  bool root_chain = false;  // `fields` start at the root data
  bool varies = false;         // value varies per request
  bool uses_scope = false;  // reads a variable or a rebound dot: cannot be folded once
  bool impure = false;      // calls a function that may not be folded
  std::optional<value> folded;
};

struct command {
  std::uint32_t pos = 0;
  std::vector<operand> args;
};

struct pipeline {
  std::uint32_t pos = 0;
  std::vector<std::string> decl;  // `$x :=` / `$i, $v :=` (names without '$')
  std::vector<int> decl_slots;
  bool assign = false;            // `=` rather than `:=`
  std::vector<command> cmds;

  bool varies = false;
  bool uses_scope = false;
  bool impure = false;
  bool structured = false;  // output is the structure of per-request data (a `structure`-shaped call)
  int memo = -1;            // varies per request and scope-free: index of its per-request memo slot
  std::optional<value> folded;

  // A call planned as one direct map lookup (function_entry::specialize).
  struct lookup {
    lookup_plan::result mode = lookup_plan::result::index;
    int accessor = -1;     // the map: root binding's fetch()
    std::string key;
    std::string fallback;
    int fetch_slot = -1;   // the accessor's per-request slot
  };
  std::optional<lookup> fast;

  // `index .A.B "k" | default X | default Y ... | rest` (rest and defaults may be
  // absent when no lookup plan covers the head): Istio 1.28's labels and
  // annotations with their fallbacks. The flat form reads the head from the
  // map's fetch slot and decides each `default` in place, with the steps and
  // errors of the calls it replaces; the rest goes through the evaluator.
  struct default_chain {
    const operand* map = nullptr;  // the head's root chain: resolved (fetch slot) or memoised
    value key;                     // the head's constant string
    std::uint32_t head_pos = 0;
    const function_entry* head_fn = nullptr;
    std::size_t defaults = 0;  // the commands after the head that are `default X`
  };
  std::optional<default_chain> chain;
};

struct node;

// One instruction of a trace's flat form (program.cpp, flatten_traced): the
// traced nodes of one list (the root's, or a with's or range's body: one dot),
// with each `if` among them turned into a jump, so a trace runs down one array
// instead of recursing walk_node -> walk_if -> ... for every decision and hole.
// A node it does not cover (with, range, a declaration of two variables) is one
// `walk` instruction: the tree walk from that node.
struct trace_op {
  enum class code : std::uint8_t {
    walk,           // the node through the tree walk
    hole,           // a per-request action
    hole_lookup,    // ... that is a planned lookup (pipeline::fast)
    decide,         // an `if`: taken falls through, not taken jumps to `target`
    decide_lookup,  // ... on a planned lookup
    decide_equal,   // ... on Go's eq/ne of a per-request operand and a constant string
    jump,           // the end of a taken body: over the else branch
    // An `if and A B ...` / `if or A B ...` as Go evaluates it, one operand at a
    // time: `test` evaluates one and jumps to `target` when its truth is
    // `jump_when`; `mark` records the decision where the two ways meet.
    test,
    mark,
    // `$x := ...` / `$x = ...`: the value of `pipe` (the right-hand side, or the
    // pipeline inside its parentheses) into the variable's slot, evaluated the
    // way the decide* of the same expression would.
    declare,         // through the evaluator
    declare_lookup,  // a planned lookup
    declare_equal,   // eq/ne of a per-request operand and a constant string
  };
  code c = code::walk;
  bool record = false;  // decide*: the condition varies per request, so the bit goes into the key
  bool negate = false;  // decide_equal, declare_equal: ne
  bool steps = true;      // counts the node's step (the first instruction of an if does)
  bool jump_when = false;  // test: the truth that jumps
  bool bit = false;        // mark: the decision recorded
  bool subject_first = false;  // *_equal: the per-request operand is the call's first argument
  std::uint32_t target = 0;    // decide*, jump: the instruction to go to
  int slot = -1;               // declare*: the variable's frame slot
  const node* n = nullptr;
  const pipeline* pipe = nullptr;    // hole*, decide*, declare*: what is evaluated (an `if (x)`'s x)
  const operand* subject = nullptr;  // *_equal, test: the per-request operand
  const pipeline* lookup = nullptr;  // ... when it is a planned lookup: read directly
  const operand* constant = nullptr;  // *_equal: the constant string
  std::string_view constant_text;     // ... its text
};

struct node {
  enum class kind : std::uint8_t { text, action, if_, range, with };
  kind k = kind::text;
  std::uint32_t pos = 0;
  std::string_view text;  // kind::text, after trim markers; points into the template source
  std::unique_ptr<pipeline> pipe;
  std::vector<node> body;
  std::vector<node> else_body;
  bool traced = true;     // trace() must visit it: it (or something inside) varies per request or binds a variable
  // The traced nodes of body and else_body, in order: trace() visits only these,
  // so the text and constant actions between them cost nothing per request.
  std::vector<const node*> traced_body;
  std::vector<const node*> traced_else;
  // with/range: the flat form of traced_body and traced_else (trace_op).
  std::vector<trace_op> body_ops;
  std::vector<trace_op> else_ops;
  bool varying_dot = false;   // with/range: the dot inside the body varies per request
};


}  // namespace meshinject::tmpl
