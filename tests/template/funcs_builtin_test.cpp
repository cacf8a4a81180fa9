// Go's builtin functions, with Go's results and errors.

#include <gtest/gtest.h>

#include "tests/template/template_fixture.hpp"

namespace {

using namespace meshinject::test;

TEST(template_builtins, and_or_return_an_operand) {
  EXPECT_EQ(out("{{ and 1 0 2 }}"), "0");
  EXPECT_EQ(out("{{ and 1 2 }}"), "2");
  EXPECT_EQ(out("{{ and 1 \"\" }}"), "");
  EXPECT_EQ(out("{{ or 0 \"\" \"x\" 1 }}"), "x");
  EXPECT_EQ(out("{{ or 0 \"\" }}"), "");
  EXPECT_EQ(out("{{ or .Labels.nope \"dflt\" }}"), "dflt");
  EXPECT_EQ(out("{{ or .Labels.app \"dflt\" }}"), "web");
  EXPECT_EQ(out("{{ 0 | or 5 }}"), "5");
}

TEST(template_builtins, and_or_short_circuit) {
  EXPECT_EQ(out("{{ or 1 (index .Items 99) }}"), "1");
  EXPECT_EQ(out("{{ and 0 (index .Items 99) }}"), "0");
  EXPECT_EQ(out("{{ or .Name (index .Config.list 99) }}"), "web-1");
  EXPECT_TRUE(contains(run_error("{{ or 0 (index .Items 99) }}"), "index out of range"));
}

TEST(template_builtins, not_) {
  EXPECT_EQ(out("{{ not 0 }} {{ not 1 }} {{ not \"\" }} {{ not .Labels }}"), "true false true false");
}

TEST(template_builtins, eq_ne_with_many_arguments) {
  EXPECT_EQ(out("{{ eq 1 2 3 1 }}"), "true");
  EXPECT_EQ(out("{{ eq 1 2 3 }}"), "false");
  EXPECT_EQ(out(R"({{ eq .Name "x" "web-1" }})"), "true");
  EXPECT_EQ(out(R"({{ eq "a" "b" }})"), "false");
  EXPECT_EQ(out("{{ eq true true }}"), "true");
  EXPECT_EQ(out("{{ eq 1.5 1.5 }}"), "true");
  EXPECT_EQ(out("{{ ne 1 2 }} {{ ne \"a\" \"a\" }}"), "true false");
  EXPECT_EQ(out("{{ eq .Config.num 3 }}"), "true");
  // A host type with a basic value (an enum) compares as it.
  EXPECT_EQ(out("{{ eq .Mode 0 }} {{ ne .Mode 1 }}"), "true true");
  EXPECT_EQ(out("{{ eq nil nil }} {{ eq .Nil .Config.missing }} {{ eq .List nil }}"), "true true false");
}

TEST(template_builtins, comparison_errors) {
  EXPECT_TRUE(contains(run_error(R"({{ eq 1 "1" }})"), "error calling eq: incompatible types for comparison"));
  EXPECT_TRUE(contains(run_error(R"({{ eq (len .Labels) "2" }})"), "incompatible types"));
  EXPECT_TRUE(contains(run_error(R"({{ lt 1 1.5 }})"), "incompatible types"));
  EXPECT_TRUE(contains(run_error(R"({{ eq .Mode "REDIRECT" }})"), "incompatible types"));
  EXPECT_TRUE(contains(run_error("{{ lt true false }}"), "invalid type for comparison"));
  // Lists and maps are not comparable, as in Go.
  EXPECT_TRUE(contains(run_error("{{ eq .List .List }}"), "error calling eq: non-comparable types"));
  EXPECT_TRUE(contains(run_error("{{ eq .Map .List }}"), "non-comparable types"));
  EXPECT_TRUE(contains(run_error("{{ ne .Name .List }}"), "error calling ne: incompatible types"));
}

TEST(template_builtins, ordering) {
  EXPECT_EQ(out("{{ lt 1 2 }} {{ le 2 2 }} {{ gt 1 2 }} {{ ge 2 3 }}"), "true true false false");
  EXPECT_EQ(out(R"({{ lt "a" "b" }} {{ gt "b" "a" }})"), "true true");
  EXPECT_EQ(out("{{ lt 1.5 2.5 }} {{ ge 1.5 2.5 }}"), "true false");
  EXPECT_EQ(out("{{ gt .Mode 0 }} {{ ge .Mode 0 }}"), "false true");
}

TEST(template_builtins, index) {
  EXPECT_EQ(out(R"({{ index .Labels "app" }})"), "web");
  EXPECT_EQ(out(R"([{{ index .Labels "missing" }}])"), "[]");  // map[string]string: the zero value
  EXPECT_EQ(out(R"([{{ index .Labels "x" }}])", [](test_data& d) { d.labels.clear(); }), "[]");
  EXPECT_EQ(out(R"({{ index .Config "missing" }})"), "<no value>");  // interface map: no value
  EXPECT_EQ(out(R"({{ index .Config "name" }})"), "demo");
  EXPECT_EQ(out(R"({{ index .Config.list 1 }})"), "b");
  EXPECT_EQ(out(R"({{ index .Config "nested" "a" "b" }})"), "deep");
  EXPECT_EQ(out(R"({{ (index .Items 2).Name }})"), "side");
  EXPECT_EQ(out(R"({{ index .Config.list }})"), "[a b c]");
  EXPECT_EQ(out(R"({{ index .JSON "b" 1 }})"), "2");
  EXPECT_EQ(out(R"({{ index .JSON "nope" }})"), "<no value>");
  EXPECT_TRUE(contains(run_error(R"({{ index .Config.list 5 }})"), "error calling index: index out of range: 5"));
  EXPECT_TRUE(contains(run_error(R"({{ index .Items -1 }})"), "index out of range"));
  EXPECT_TRUE(contains(run_error(R"({{ index .JSON "b" 2 }})"), "index out of range: 2"));
  EXPECT_TRUE(contains(run_error(R"({{ index .Labels 1 }})"), "value has type int; should be string"));
  EXPECT_TRUE(contains(run_error(R"({{ index .Nil 1 }})"), "index of untyped nil"));
  EXPECT_TRUE(contains(run_error(R"({{ index .Name 1 }})"), "can't index item of type string"));
  EXPECT_TRUE(contains(run_error(R"({{ index .Mode 1 }})"), "can't index item of type test.Mode"));
}

TEST(template_builtins, len) {
  EXPECT_EQ(out("{{ len \"h\xc3\xa9llo\" }}"), "6");
  EXPECT_EQ(out("{{ len .Labels }} {{ len .Items }} {{ len .Config.list }} {{ len .Config }} {{ len .JSON }}"),
            "2 3 3 6 3");
  EXPECT_TRUE(contains(run_error("{{ len 3 }}"), "error calling len: len of type int"));
  EXPECT_TRUE(contains(run_error("{{ len .Mode }}"), "len of type test.Mode"));
}

TEST(template_builtins, print_spacing) {
  // Sprint adds a space between operands when neither is a string.
  EXPECT_EQ(out(R"({{ print 1 2 "a" 3 true }})"), "1 2a3 true");
  EXPECT_EQ(out(R"({{ print "a" "b" }})"), "ab");
  EXPECT_EQ(out(R"({{ print 1.5 2 }})"), "1.5 2");
  EXPECT_EQ(out(R"({{ print }})"), "");
  EXPECT_EQ(out(R"({{ print .Config.missing }})"), "<nil>");
  EXPECT_EQ(out(R"({{ .Config.missing }})"), "<no value>");
  EXPECT_EQ(out(R"({{ print .Labels }})"), "map[app:web tier:front]");
  EXPECT_EQ(out(R"({{ print .Config.list }})"), "[a b c]");
  EXPECT_EQ(out(R"({{ print .Map }})"), "map[alpha:x mid:[a b c] zeta:1]");
  EXPECT_EQ(out(R"({{ print .JSON }})"), "map[a:map[x:1.5] b:[1 2] n:5]");
  EXPECT_EQ(out(R"({{ print .Mode }})"), "REDIRECT");
}

TEST(template_builtins, println) {
  EXPECT_EQ(out(R"({{ println 1 "a" 2 }})"), "1 a 2\n");
  EXPECT_EQ(out(R"({{ println }})"), "\n");
}

TEST(template_builtins, printf_verbs) {
  EXPECT_EQ(out(R"({{ printf "%s|%d|%v|%q|%t|%x|%X|%05d|%-5s|%5s|%o|%b" "s" 42 1.5 "q\"" true 255 255 42 "ab" "cd" 8 5 }})"),
            "s|42|1.5|\"q\\\"\"|true|ff|FF|00042|ab   |   cd|10|101");
  EXPECT_EQ(out(R"({{ printf "%d%%" 5 }})"), "5%");
  EXPECT_EQ(out(R"({{ printf "%x" "hi" }})"), "6869");
  EXPECT_EQ(out(R"({{ printf "%x|%X|%b" -255 -255 -5 }})"), "-ff|-FF|-101");
  EXPECT_EQ(out(R"({{ printf "%5.1f|%.2f|%g" 3.14159 2.0 0.5 }})"), "  3.1|2.00|0.5");
  EXPECT_EQ(out(R"({{ printf "%e|%E|%.3g|%G|%f" 1234.5678 1234.5678 1234.5678 1e-7 0.1 }})"),
            "1.234568e+03|1.234568E+03|1.23e+03|1E-07|0.100000");
  EXPECT_EQ(out(R"({{ printf "%05d" -42 }})"), "-0042");
  EXPECT_EQ(out(R"({{ printf "%+d" 5 }})"), "+5");
  EXPECT_EQ(out(R"({{ printf "%.2s" "abc" }})"), "ab");
  EXPECT_EQ(out(R"({{ printf "%c" 65 }})"), "A");
  EXPECT_EQ(out(R"({{ printf "%v" .Labels }})"), "map[app:web tier:front]");
  EXPECT_EQ(out(R"({{ printf "%v %s %d" .Mode .Mode .Mode }})"), "REDIRECT REDIRECT 0");
  EXPECT_EQ(out(R"({{ printf "name.%s" .Name }})"), "name.web-1");
  EXPECT_EQ(out(R"({{ printf "no verbs" }})"), "no verbs");
}

TEST(template_builtins, printf_q_quotes_as_go) {
  EXPECT_EQ(out(R"({{ printf "%q" "a\tb\n\x01\x7f\\" }})"), R"("a\tb\n\x01\x7f\\")");
  EXPECT_EQ(out("{{ printf \"%q\" \"\xc3\xa9\xff\" }}"), "\"\xc3\xa9\\xff\"");
  EXPECT_EQ(out(R"({{ printf "%q" "\u00ad\U0001F600" }})"), "\"\\u00ad\xf0\x9f\x98\x80\"");
  EXPECT_EQ(out(R"({{ printf "%q" 1 }})"), "%!q(int=1)");
}

TEST(template_builtins, printf_width_and_precision_over_a_million_are_refused_like_go) {
  // Found by template_fuzz: "%9999999999d" overflowed the width. Go stops at 1e6.
  // As in Go, the argument the lost verb would have used is then reported extra.
  EXPECT_EQ(out(R"({{ printf "a%9999999999db" 5 }})"), "a%!(NOVERB)%!(EXTRA int=5)");
  EXPECT_EQ(out(R"({{ printf "a%.99999999999fb" 1.5 }})"), "a%!(NOVERB)%!(EXTRA float64=1.5)");
  EXPECT_EQ(out(R"({{ printf "%.40f" 0.5 }})"), "0." + std::string(1, '5') + std::string(39, '0'));
  EXPECT_EQ(out(R"({{ printf "%.1000000f" 0.5 }})").size(), 1000002u);
  EXPECT_EQ(out(R"({{ printf "%8d|%.3f" 5 1.5 }})"), "       5|1.500");
}

TEST(template_builtins, printf_pads_by_rune) {
  EXPECT_EQ(out("{{ printf \"%-4s|%4s|\" \"\xc3\xa9\" \"\xc3\xa9\" }}"), "\xc3\xa9   |   \xc3\xa9|");
}

TEST(template_builtins, printf_bad_arguments) {
  EXPECT_EQ(out(R"({{ printf "%d" "x" }})"), "%!d(string=x)");
  EXPECT_EQ(out(R"({{ printf "%s" 5 }})"), "%!s(int=5)");
  EXPECT_EQ(out(R"({{ printf "%t" 1 }})"), "%!t(int=1)");
  EXPECT_EQ(out(R"({{ printf "%d" 1.5 }})"), "%!d(float64=1.5)");
  EXPECT_EQ(out(R"({{ printf "%f" 1 }})"), "%!f(int=1)");
  EXPECT_EQ(out(R"({{ printf "%v %v" 1 }})"), "1 %!v(MISSING)");
  EXPECT_EQ(out(R"({{ printf "%d" 1 2 }})"), "1%!(EXTRA int=2)");
  EXPECT_EQ(out(R"({{ printf "%s" nil }})"), "%!s(<nil>)");
  EXPECT_EQ(out(R"({{ printf "%z" 1 }})"), "%!z(int=1)");
  EXPECT_EQ(out(R"({{ printf "100%" }})"), "100%!(NOVERB)");
  EXPECT_TRUE(contains(run_error(R"({{ printf 1 }})"), "wrong type for value; expected string; got int"));
}

}  // namespace
