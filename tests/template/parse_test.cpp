// The lexer and parser: delimiters, trim markers, comments, literals, and load
// errors with their positions (Go's parse package).

#include <gtest/gtest.h>

#include "tests/template/template_fixture.hpp"

namespace {

using namespace meshinject::test;
namespace tmpl = meshinject::tmpl;

TEST(template_delimiters, curly) { EXPECT_EQ(out("a{{ .Name }}b"), "aweb-1b"); }

TEST(template_delimiters, square) { EXPECT_EQ(out("a[[ .Name ]]b"), "aweb-1b"); }

TEST(template_delimiters, the_first_style_wins_and_the_other_is_text) {
  EXPECT_EQ(out("{{ \"x\" }} [[ \"y\" ]]"), "x [[ \"y\" ]]");
  EXPECT_EQ(out("[[ \"y\" ]] {{ \"x\" }}"), "y {{ \"x\" }}");
  EXPECT_EQ(tmpl::detect_delimiters("no actions").first, "{{");
  EXPECT_EQ(tmpl::detect_delimiters("a: [[ x ]]\nb: {{ y }}").first, "[[");
  EXPECT_EQ(tmpl::detect_delimiters("a: {{ x }}\nb: [[ y ]]").first, "{{");
}

TEST(template_delimiters, square_template_keeps_literal_curly_braces) {
  EXPECT_EQ(out("[[ if true ]]{}{{}}[[ end ]]"), "{}{{}}");
}

TEST(template_trim, exact_whitespace) {
  EXPECT_EQ(out("a  \n\t {{- 1 -}} \n\t b"), "a1b");
  EXPECT_EQ(out("a \n {{- 1 }} \n b"), "a1 \n b");
  EXPECT_EQ(out("a \n {{ 1 -}} \n b"), "a \n 1b");
  EXPECT_EQ(out("[[ 1 ]]\n[[- 2 ]]\n  [[- 3 -]]\n\n4"), "1234");
  EXPECT_EQ(out("x\n  [[- if true ]]\n  y\n  [[- end ]]\nz"), "x\n  y\nz");
  EXPECT_EQ(out("x\n[[ if false -]]\n  y\n[[- else -]]\n  z\n[[- end ]]"), "x\nz");
}

TEST(template_trim, a_dash_without_space_is_a_number) {
  EXPECT_EQ(out("a {{-3}} b"), "a -3 b");
  EXPECT_EQ(out("a {{- -3 -}} b"), "a-3b");
}

TEST(template_trim, comments) {
  EXPECT_EQ(out("a{{/* note */}}b"), "ab");
  EXPECT_EQ(out("a {{/* multi\nline */}} b"), "a  b");
  EXPECT_EQ(out("a \n {{- /* note */ -}} \n b"), "ab");
  EXPECT_EQ(out("a \n {{- /* note */}} \n b"), "a \n b");
  EXPECT_EQ(out("a \n {{/* note */ -}} \n b"), "a \n b");
  EXPECT_EQ(out("a[[/* }} ]] */]]b"), "ab");
}

TEST(template_trim, comment_errors) {
  EXPECT_TRUE(contains(load_error("a {{/* open").message, "comment"));
  EXPECT_TRUE(contains(load_error("a {{/* x */ 1 }}").message, "comment"));
}

TEST(template_literals, strings) {
  EXPECT_EQ(out(R"({{ "a\tb\u00e9\x41\101\\\"" }})"), "a\tb\xc3\xa9" "AA\\\"");
  EXPECT_EQ(out("{{ `raw \\n {{ x }}` }}"), "raw \\n {{ x }}");
  EXPECT_EQ(out("{{ `two\nlines` }}"), "two\nlines");
  EXPECT_EQ(out(R"({{ "\U0001F600" }})"), "\xf0\x9f\x98\x80");
}

TEST(template_literals, characters_are_runes) {
  EXPECT_EQ(out("{{ 'a' }}"), "97");
  EXPECT_EQ(out(R"({{ '\n' }})"), "10");
  EXPECT_EQ(out(R"({{ '\'' }})"), "39");
  EXPECT_EQ(out("{{ '\xc3\xa9' }}"), "233");  // é is one rune, U+00E9
  EXPECT_EQ(out("{{ '\xf0\x9f\x98\x80' }}"), "128512");
  EXPECT_EQ(out(R"({{ '\u00e9' }})"), "233");
}

TEST(template_literals, numbers) {
  EXPECT_EQ(out("{{ 42 }}"), "42");
  EXPECT_EQ(out("{{ -7 }}"), "-7");
  EXPECT_EQ(out("{{ +7 }}"), "7");
  EXPECT_EQ(out("{{ 0x1F }}"), "31");
  EXPECT_EQ(out("{{ 0X1f }}"), "31");
  EXPECT_EQ(out("{{ 017 }}"), "15");
  EXPECT_EQ(out("{{ 0o17 }}"), "15");
  EXPECT_EQ(out("{{ 0b101 }}"), "5");
  EXPECT_EQ(out("{{ 1_000_000 }}"), "1000000");
  EXPECT_EQ(out("{{ 0 }}"), "0");
  EXPECT_EQ(out("{{ 1.5 }}"), "1.5");
  EXPECT_EQ(out("{{ 1.0 }}"), "1");
  EXPECT_EQ(out("{{ .25 }}"), "0.25");
  EXPECT_EQ(out("{{ +2.5 }}"), "2.5");
  EXPECT_EQ(out("{{ -2.5 }}"), "-2.5");
  EXPECT_EQ(out("{{ 1e3 }}"), "1000");
  EXPECT_EQ(out("{{ 1e6 }}"), "1e+06");
  EXPECT_EQ(out("{{ 2.5e-5 }}"), "2.5e-05");
  EXPECT_EQ(out("{{ 1_0.5 }}"), "10.5");
}

TEST(template_literals, bad_numbers_are_load_errors) {
  EXPECT_TRUE(contains(load_error("{{ 09 }}").message, "number"));
  EXPECT_TRUE(contains(load_error("{{ 12ab }}").message, "number"));
  EXPECT_TRUE(contains(load_error("{{ 1.5x }}").message, "number"));
  EXPECT_TRUE(contains(load_error("{{ 1e }}").message, "number"));
  EXPECT_TRUE(contains(load_error("{{ 99999999999999999999 }}").message, "number"));
}

TEST(template_literals, bools_and_nil) {
  EXPECT_EQ(out("{{ true }} {{ false }}"), "true false");
  EXPECT_EQ(out("{{ print nil }}"), "<nil>");
  EXPECT_EQ(out("{{ printf \"%v\" nil }}"), "<nil>");
  // Go: "nil is not a command".
  EXPECT_TRUE(contains(load_error("{{ nil }}").message, "nil is not a command"));
}

TEST(template_functions, the_table_checks_names_and_argument_counts_at_load) {
  EXPECT_TRUE(contains(load_error("{{ not 1 2 }}").message, "wrong number of args for not: want 1 got 2"));
  EXPECT_TRUE(contains(load_error("{{ len }}").message, "wrong number of args for len"));
  EXPECT_TRUE(contains(load_error("{{ eq 1 }}").message, "wrong number of args for eq: want at least 2 got 1"));
  EXPECT_TRUE(contains(load_error("{{ lt 1 2 3 }}").message, "wrong number of args for lt"));
  EXPECT_TRUE(contains(load_error("{{ printf }}").message, "wrong number of args for printf"));
  EXPECT_TRUE(contains(load_error("{{ and }}").message, "wrong number of args for and"));
  EXPECT_TRUE(contains(load_error("{{ index }}").message, "wrong number of args for index"));
  // A host's function is checked the same way.
  EXPECT_TRUE(contains(load_error("{{ upper }}").message, "wrong number of args for upper"));
  EXPECT_TRUE(contains(load_error("{{ \"a\" | upper \"b\" }}").message, "wrong number of args for upper: want 1 got 2"));
  // A function named as an argument is called without arguments.
  EXPECT_TRUE(contains(load_error("{{ print not }}").message, "wrong number of args for not: want 1 got 0"));
  EXPECT_EQ(out("{{ print (stamp) stamp }}"), "stampstamp");
  // The piped value counts as an argument.
  EXPECT_EQ(out("{{ \"a\" | upper }}"), "A");
  EXPECT_TRUE(contains(load_error("{{ nosuch 1 }}").message, "function \"nosuch\" not defined"));
}

TEST(template_load_errors, positions_inside_the_template) {
  struct row {
    const char* text;
    const char* message;
    int line, column;
  };
  const row rows[] = {
      {"a: 1\nb: {{ .Nope }}", "can't evaluate field Nope in type *test.Data", 2, 7},
      {"x\ny\n   {{ foo }}", "function \"foo\" not defined", 3, 7},
      {"{{ $nope }}", "undefined variable: $nope", 1, 4},
      {"a\n{{ .Name", "unclosed action", 2, 1},
      {"{{ if true }}\nx", "missing {{end}}", 1, 1},
      {"x{{ end }}", "unexpected {{end}}", 1, 2},
      {"x\n {{ else }}", "unexpected {{else}}", 2, 2},
      {"{{ template \"x\" . }}", "no such template \"x\"", 1, 13},
      {"{{ define \"x\" }}{{ end }}{{ template \"x\" }}", "{{template \"x\" .}} only", 1, 29},
      {"{{ if true }}{{ define \"x\" }}{{ end }}{{ end }}", "define only at the top level", 1, 17},
      {"{{ define \"x\" }}a{{ end }}{{ define \"x\" }}b{{ end }}", "multiple definition of template", 1, 30},
      {"{{ range .List }}{{ break }}{{ end }}", "'break' is not supported", 1, 21},
      {"{{ len 1 2 }}", "wrong number of args for len: want 1 got 2", 1, 4},
      {"{{ if true }}{{ else }}{{ else }}{{ end }}", "second {{else}}", 1, 24},
      {"{{ \"unterminated }}", "unterminated quoted string", 1, 4},
      {"{{ ( 1 }}", "unclosed left parenthesis", 1, 8},
      {"{{ }}", "missing value for command", 1, 1},
      {"{{ 1 2 }}", "non-function", 1, 4},
      {"{{ 1 | .Name }}", "non-function", 1, 8},
      {"{{ .Name ! }}", "unexpected character '!'", 1, 10},
      {"{{ 'ab' }}", "malformed character constant", 1, 4},
      {"{{ \"\\q\" }}", "unknown escape", 1, 4},
  };
  for (const row& r : rows) {
    SCOPED_TRACE(r.text);
    const compile_failure e = load_error(r.text);
    EXPECT_TRUE(contains(e.message, r.message)) << e.message;
    EXPECT_EQ(e.line, r.line) << e.message;
    EXPECT_EQ(e.column, r.column) << e.message;
  }
}

TEST(template_load_errors, variables_out_of_scope) {
  auto e = load_error("{{ if true }}{{ $y := 1 }}{{ end }}\n{{ $y }}");
  EXPECT_TRUE(contains(e.message, "undefined variable")) << e.message;
  EXPECT_EQ(e.line, 2);
  EXPECT_EQ(e.column, 4);
  EXPECT_TRUE(contains(load_error("{{ range .List }}{{ $z := . }}{{ end }}{{ $z }}").message, "$z"));
  EXPECT_TRUE(contains(load_error("{{ with $w := 1 }}{{ end }}{{ $w }}").message, "$w"));
  EXPECT_TRUE(contains(load_error("{{ range $i, $v := .List }}{{ end }}{{ $i }}").message, "$i"));
  EXPECT_TRUE(contains(load_error("{{ $q = 1 }}").message, "undefined variable"));
  EXPECT_TRUE(contains(load_error("{{ $x := $x }}").message, "undefined variable"));
}

TEST(template_load_errors, line_and_column_count_runes) {
  EXPECT_EQ(tmpl::line_column("a\n\xc3\xa9x", 4), std::make_pair(2, 2));
  EXPECT_EQ(tmpl::line_column("abc", 0), std::make_pair(1, 1));
}

}  // namespace

namespace {

using namespace meshinject::test;

// Named templates as Go runs them: a call expands the body with the caller's
// dot, before or after the definition, trim markers on both sides honoured.
TEST(template_named, define_and_template) {
  EXPECT_EQ(out(R"({{- define "greet" }}hi {{ .Name }}{{ end }}[{{ template "greet" . }}])"), "[hi web-1]");
  EXPECT_EQ(out(R"([{{ template "t" . }}]{{ define "t" }}{{ len .List }}{{ end }})"), "[3]");
  EXPECT_EQ(out("{{ define \"r\" }}\n  a: {{ .Config.name }}\n{{- end }}x:{{ template \"r\" . }}\ny"), "x:\n  a: demo\ny");
  EXPECT_EQ(out(R"({{ define "in" }}<{{ .Name }}>{{ end }}{{ define "out" }}[{{ template "in" . }}]{{ end }}{{ template "out" . }})"),
            "[<web-1>]");
  // The dot of the call: inside range, the element.
  EXPECT_EQ(out(R"({{ define "n" }}{{ .Name }};{{ end }}{{ range .Items }}{{ template "n" . }}{{ end }})"),
            "app;proxy;side;");
  EXPECT_EQ(out(R"({{ define "c" }}{{ if .Labels.app }}yes{{ else }}no{{ end }}{{ end }}{{ template "c" . }})"), "yes");
}

TEST(template_named, block_is_a_default_body) {
  EXPECT_EQ(out(R"({{ block "b" . }}default {{ .Name }}{{ end }}!)"), "default web-1!");
  EXPECT_EQ(out(R"({{ block "b" . }}default{{ end }}{{ define "b" }}override{{ end }})"), "override");
}

TEST(template_named, recursion_is_refused_at_load) {
  EXPECT_TRUE(contains(load_error(R"({{ define "r" }}{{ template "r" . }}{{ end }}{{ template "r" . }})").message,
                       "calls itself"));
  // Each level calls the next twice: 2^30 expansions are refused, not attempted.
  std::string text;
  for (int k = 0; k < 30; ++k)
    text += "{{ define \"t" + std::to_string(k) + "\" }}{{ template \"t" + std::to_string(k + 1) + "\" . }}{{ template \"t" +
            std::to_string(k + 1) + "\" . }}{{ end }}";
  text += "{{ define \"t30\" }}x{{ end }}{{ template \"t0\" . }}";
  EXPECT_TRUE(contains(load_error(text).message, "too many named template expansions"));
}

}  // namespace
