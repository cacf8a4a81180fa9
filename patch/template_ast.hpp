#pragma once
// Syntax tree of the Go text/template subset meshinject accepts (SPEC section 3).
// Produced by parse_template(), annotated in place by the program compiler
// (template_program.cpp): which expressions depend on the pod, which are folded.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "patch/template_value.hpp"

namespace meshinject::patch::tmpl {

struct pipeline;

enum class function_id : std::uint8_t {
  none,
  // Go builtins
  and_, or_, not_, eq, ne, lt, le, gt, ge, index, len, print, printf, println,
  // Istio's functions
  annotation, isset, value_or_default, to_json, from_json, to_yaml, indent, format_duration,
  include_inbound_ports, exclude_inbound_port, application_ports, kubevirt_interfaces, directory, contains,
};

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

  // Filled by the compiler.
  function_id fn = function_id::none;
  int slot = -1;        // variables: frame slot
  bool pod = false;     // value depends on the pod
  bool uses_scope = false;  // reads a variable or a rebound dot: cannot be folded once
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

  bool pod = false;
  bool uses_scope = false;
  bool structured = false;  // output is YAML of pod data (`toYaml x | indent n`)
  int memo = -1;            // pod-dependent and scope-free: index of its per-request memo slot
  std::optional<value> folded;

  // Istio templates are mostly map lookups on the pod's metadata; those run as
  // one direct scan instead of through the general evaluator.
  enum class shortcut : std::uint8_t {
    none,
    annotation,  // annotation .ObjectMeta|.DeploymentMeta "key" <constant default>
    index,       // index .ObjectMeta.Annotations|Labels "key"
    isset,       // isset .ObjectMeta.Annotations|Labels "key"
  };
  shortcut fast = shortcut::none;
  bool fast_deployment = false;  // .DeploymentMeta rather than .ObjectMeta
  bool fast_labels = false;      // Labels rather than Annotations
  std::string fast_key;
  std::string fast_default;      // annotation: the default, formatted as Go's fmt.Sprint would
};

struct node {
  enum class kind : std::uint8_t { text, action, if_, range, with };
  kind k = kind::text;
  std::uint32_t pos = 0;
  std::string_view text;  // kind::text, after trim markers; points into the template source
  std::unique_ptr<pipeline> pipe;
  std::vector<node> body;
  std::vector<node> else_body;
  bool traced = true;     // trace() must visit it: it (or something inside) depends on the pod or binds a variable
  bool pod_dot = false;   // with/range: the dot inside the body depends on the pod
};

struct parsed_template {
  std::shared_ptr<const std::string> source;  // owns the text the nodes point into
  std::string left_delim, right_delim;
  std::vector<node> root;
};

// Line and column (1-based) of a byte offset.
std::pair<int, int> line_column(std::string_view text, std::uint32_t offset) noexcept;

// Chooses `[[ ]]` or `{{ }}`: a template written for Istio 1.1 (Helm-rendered)
// uses `[[`, later ones `{{`. When both occur, the one that appears first wins.
std::pair<std::string, std::string> detect_delimiters(std::string_view text);

struct parse_error {
  std::uint32_t pos;
  std::string message;
};

// Parses with the given delimiters. Throws parse_error.
parsed_template parse_template(std::string text, std::string left, std::string right);

}  // namespace meshinject::patch::tmpl
