#pragma once
// The parser of Go's text/template (parse/parse.go) for the subset meshinject
// accepts (SPEC section 3): text, actions, if/else if/else, with, range, variables,
// pipelines, parenthesized calls, comments and trim markers, and named templates
// (define, template, block), each call expanded in place with the caller's dot
// (`{{template "name" .}}`). break and continue are rejected with the position
// of the offending token. Function names and argument counts are checked against
// the function table, as Go's parser checks names against its FuncMap.
// Load time only: errors throw parse_error.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "template/functions.hpp"
#include "template/lex.hpp"
#include "template/node.hpp"
#include "template/program.hpp"

namespace meshinject::tmpl {

struct parsed_template {
  std::shared_ptr<const std::string> source;  // owns the text the nodes point into
  std::string left_delim, right_delim;
  std::vector<node> root;
  std::vector<trace_op> trace_ops;  // the traced top-level nodes' flat form (program.cpp)
  std::size_t trace_walks = 0;      // how many of them are `walk` (not covered by the flat form)
};

// Parses with the given delimiters; the nodes' function entries point into
// `functions`, which must outlive the tree.
parsed_template parse_template(std::string text, std::string left, std::string right,
                               const function_table& functions);

}  // namespace meshinject::tmpl
