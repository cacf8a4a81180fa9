// sprig's pure functions (template/funcs_*.cpp), one test per function, each
// against the result sprig documents (masterminds.github.io/sprig) or Go gives.

#include <gtest/gtest.h>

#include "tests/template/sprig_fixture.hpp"

namespace {

using namespace meshinject::test;

// ------------------------------------------------------------------ strings

TEST(sprig_strings, trim) {
  EXPECT_EQ(sout(R"([{{ trim "   hello  \n" }}])"), "[hello]");
  EXPECT_EQ(sout(R"([{{ trim "   " }}])"), "[]");
  EXPECT_TRUE(contains(serror("{{ trim 5 }}"), "wrong type for value; expected string; got int"));
}

TEST(sprig_strings, trimAll) {
  EXPECT_EQ(sout(R"({{ trimAll "$" "$5.00" }})"), "5.00");
  EXPECT_EQ(sout(R"({{ trimAll "-_" "-_a-b_-" }})"), "a-b");
}

TEST(sprig_strings, trimPrefix) {
  EXPECT_EQ(sout(R"({{ trimPrefix "-" "-hello" }})"), "hello");
  EXPECT_EQ(sout(R"({{ trimPrefix "x" "hello" }})"), "hello");
}

TEST(sprig_strings, trimSuffix) {
  EXPECT_EQ(sout(R"({{ trimSuffix "-" "hello-" }})"), "hello");
  EXPECT_EQ(sout(R"({{ "name--" | trimSuffix "-" }})"), "name-");  // once, as strings.TrimSuffix
}

TEST(sprig_strings, upper) { EXPECT_EQ(sout(R"({{ upper "hello" }} {{ .Name | upper }})"), "HELLO WEB-1"); }
TEST(sprig_strings, lower) { EXPECT_EQ(sout(R"({{ lower "HELLO World" }})"), "hello world"); }

TEST(sprig_strings, title) {
  EXPECT_EQ(sout(R"({{ title "hello world" }})"), "Hello World");
  EXPECT_EQ(sout(R"({{ title "her royal-highness o'neil" }})"), "Her Royal-Highness O'Neil");
}

TEST(sprig_strings, untitle) { EXPECT_EQ(sout(R"({{ untitle "Hello World" }})"), "hello world"); }

TEST(sprig_strings, replace) {
  EXPECT_EQ(sout(R"({{ "I Am Henry VIII" | replace " " "-" }})"), "I-Am-Henry-VIII");
  EXPECT_EQ(sout(R"({{ replace "" "." "ab" }})"), ".a.b.");
}

TEST(sprig_strings, contains) {
  EXPECT_EQ(sout(R"({{ contains "cat" "catch" }} {{ contains "dog" "catch" }})"), "true false");
}

TEST(sprig_strings, hasPrefix) { EXPECT_EQ(sout(R"({{ hasPrefix "cat" "catch" }} {{ hasPrefix "h" "catch" }})"), "true false"); }
TEST(sprig_strings, hasSuffix) { EXPECT_EQ(sout(R"({{ hasSuffix "ch" "catch" }} {{ hasSuffix "c" "catch" }})"), "true false"); }

TEST(sprig_strings, split) {
  EXPECT_EQ(sout(R"({{ $a := split "$" "foo$bar$baz" }}{{ $a._0 }} {{ $a._2 }} {{ len $a }})"), "foo baz 3");
  EXPECT_EQ(sout(R"({{ split "," "" }})"), "map[_0:]");
}

TEST(sprig_strings, splitList) {
  EXPECT_EQ(sout(R"({{ splitList "$" "foo$bar$baz" }})"), "[foo bar baz]");
  EXPECT_EQ(sout(R"({{ splitList "" "abc" }})"), "[a b c]");
  EXPECT_EQ(sout(R"({{ splitList "," "" | len }})"), "1");
}

TEST(sprig_strings, splitn) {
  EXPECT_EQ(sout(R"({{ $a := splitn "$" 2 "foo$bar$baz" }}{{ $a._0 }}|{{ $a._1 }}|{{ len $a }})"), "foo|bar$baz|2");
  EXPECT_EQ(sout(R"({{ splitn "$" 0 "a$b" | len }})"), "0");
}

TEST(sprig_strings, join) {
  EXPECT_EQ(sout(R"({{ list "hello" "world" | join "_" }})"), "hello_world");
  EXPECT_EQ(sout(R"({{ list 1 2 3 | join "+" }})"), "1+2+3");
  EXPECT_EQ(sout(R"({{ list "a" nil "b" | join "," }})"), "a,b");
  EXPECT_EQ(sout(R"({{ join "," .List }} {{ join "," .Name }} [{{ join "," nil }}])"), "a,b,c web-1 []");
  EXPECT_EQ(sout(R"({{ join "," .JSON.b }})"), "1,2");
}

TEST(sprig_strings, quote) {
  EXPECT_EQ(sout(R"({{ quote "a" 1 nil "b\"c" }})"), R"("a" "1" "b\"c")");
  EXPECT_EQ(sout(R"({{ .Name | quote }} {{ quote "tab\there" }})"), R"("web-1" "tab\there")");
  EXPECT_EQ(sout(R"({{ quote "é\x01" }})"), R"("é\x01")");
  // Runs of plain ASCII are copied whole: what ends a run is still escaped.
  EXPECT_EQ(sout(R"({{ quote "run \"q\" back\\slash\x7f\x1f~ é end\x20" }})"),
            R"("run \"q\" back\\slash\x7f\x1f~ é end ")");
  // Go's strconv.Quote escapes runes unicode.IsPrint refuses (a zero-width
  // space, a private-use rune), as printf's %q does.
  EXPECT_EQ(sout("{{ quote \"a\u200Bb\ue000\" }}"), R"("a\u200bb\ue000")");
  EXPECT_EQ(sout("{{ quote \"a\u200Bb\" }}"), sout("{{ printf \"%q\" \"a\u200Bb\" }}"));
}

TEST(sprig_strings, squote) { EXPECT_EQ(sout(R"({{ squote "a" 2 }})"), "'a' '2'"); }
TEST(sprig_strings, cat) { EXPECT_EQ(sout(R"({{ cat "hello" "beautiful" nil "world" 1 }})"), "hello beautiful world 1"); }

TEST(sprig_strings, indent) { EXPECT_EQ(sout(R"({{ indent 2 "a\nb" }})"), "  a\n  b"); }

TEST(sprig_strings, nindent) {
  EXPECT_EQ(sout(R"(x:{{ "a: 1\nb: 2" | nindent 4 }})"), "x:\n    a: 1\n    b: 2");
}

TEST(sprig_strings, trunc) {
  EXPECT_EQ(sout(R"({{ trunc 5 "hello world" }}|{{ trunc -5 "hello world" }}|{{ trunc 50 "hi" }}|{{ trunc -50 "hi" }})"),
            "hello|world|hi|hi");
}

TEST(sprig_strings, repeat) {
  EXPECT_EQ(sout(R"({{ repeat 3 "hello" }})"), "hellohellohello");
  EXPECT_TRUE(contains(serror(R"({{ repeat -1 "x" }})"), "negative Repeat count"));
}

TEST(sprig_strings, substr) {
  EXPECT_EQ(sout(R"({{ substr 0 5 "hello world" }}|{{ substr 6 -1 "hello world" }}|{{ substr -1 2 "abc" }})"),
            "hello|world|ab");
  EXPECT_TRUE(contains(serror(R"({{ substr 3 1 "abcd" }})"), "slice bounds out of range"));
}

// -------------------------------------------------------------------- lists

TEST(sprig_lists, list) {
  EXPECT_EQ(sout(R"({{ list 1 "a" 2.5 true }})"), "[1 a 2.5 true]");
  EXPECT_EQ(sout(R"({{ list }}{{ len list }})"), "[]0");
}

TEST(sprig_lists, append) {
  EXPECT_EQ(sout(R"({{ $l := list 1 2 }}{{ append $l 3 }} {{ $l }})"), "[1 2 3] [1 2]");
  // The templates' accumulate-in-a-loop idiom.
  EXPECT_EQ(sout(R"({{ $c := list }}{{ range .Items }}{{ $c = append $c .Name }}{{ end }}{{ $c | join "," }})"),
            "app,proxy,side");
  EXPECT_EQ(sout(R"({{ append .JSON.b 3 }})"), "[1 2 3]");
  EXPECT_TRUE(contains(serror(R"({{ append "x" 1 }})"), "Cannot push on type string"));
}

TEST(sprig_lists, push) { EXPECT_EQ(sout(R"({{ push (list 1) 2 }})"), "[1 2]"); }

TEST(sprig_lists, prepend) { EXPECT_EQ(sout(R"({{ prepend (list 1 2) 0 }})"), "[0 1 2]"); }

TEST(sprig_lists, first) {
  EXPECT_EQ(sout(R"({{ first .List }} {{ first list }})"), "a <nil>");
  EXPECT_TRUE(contains(serror(R"({{ first 3 }})"), "Cannot find first on type int"));
}

TEST(sprig_lists, last) { EXPECT_EQ(sout(R"({{ last .List }} {{ last (list 1 2 3) }})"), "c 3"); }
TEST(sprig_lists, rest) { EXPECT_EQ(sout(R"({{ rest .List }} {{ rest list }})"), "[b c] <nil>"); }
TEST(sprig_lists, initial) { EXPECT_EQ(sout(R"({{ initial .List }})"), "[a b]"); }

TEST(sprig_lists, uniq) {
  EXPECT_EQ(sout(R"({{ list 1 1 1 2 "a" "a" 1 | uniq }})"), "[1 2 a]");
  EXPECT_EQ(sout(R"({{ uniq (list (list 1) (list 1) (list 2)) }})"), "[[1] [2]]");
}

TEST(sprig_lists, has) {
  EXPECT_EQ(sout(R"({{ list 1 2 3 | has 4 }} {{ has "b" .List }} {{ has 1 nil }} {{ has "1" (list 1) }})"),
            "false true false false");
}

TEST(sprig_lists, without) { EXPECT_EQ(sout(R"({{ without (list 1 2 3 4) 1 3 }})"), "[2 4]"); }
TEST(sprig_lists, compact) { EXPECT_EQ(sout(R"({{ compact (list 1 "" 0 nil "a" false (list)) }})"), "[1 a]"); }

TEST(sprig_lists, concat) {
  EXPECT_EQ(sout(R"({{ concat (list 1 2) (list 3) .List }})"), "[1 2 3 a b c]");
  EXPECT_TRUE(contains(serror(R"({{ concat (list 1) 2 }})"), "Cannot concat type int as list"));
}

// -------------------------------------------------------------------- dicts

TEST(sprig_dicts, dict) {
  EXPECT_EQ(sout(R"({{ dict "b" 1 "a" "x" }})"), "map[a:x b:1]");
  EXPECT_EQ(sout(R"({{ dict "k" }} {{ dict 1 2 }})"), "map[k:] map[1:2]");
  EXPECT_EQ(sout(R"({{ (dict "name" "x").name }})"), "x");
}

TEST(sprig_dicts, get) {
  EXPECT_EQ(sout(R"({{ get .Map "alpha" }}|{{ get .Map "nope" }}|{{ get .JSON "n" }})"), "x||5");
  // A map[string]string is not a map[string]interface{} to Go either.
  EXPECT_TRUE(contains(serror(R"({{ get .Labels "app" }})"),
                       "wrong type for value; expected map[string]interface {}; got map[string]string"));
}

TEST(sprig_dicts, set) {
  EXPECT_EQ(sout(R"({{ set (dict "a" 1) "b" 2 }} {{ set (dict "a" 1) "a" 3 }})"), "map[a:1 b:2] map[a:3]");
}

TEST(sprig_dicts, unset) { EXPECT_EQ(sout(R"({{ unset (dict "a" 1 "b" 2) "a" }})"), "map[b:2]"); }

TEST(sprig_dicts, hasKey) {
  EXPECT_EQ(sout(R"({{ hasKey .Map "mid" }} {{ hasKey .Map "x" }} {{ hasKey .Config "num" }})"), "true false true");
}

TEST(sprig_dicts, keys) {
  EXPECT_EQ(sout(R"({{ keys .Map }} {{ keys (dict "b" 1) (dict "a" 2) }})"), "[alpha mid zeta] [b a]");
}

TEST(sprig_dicts, pick) { EXPECT_EQ(sout(R"({{ pick .Map "alpha" "zeta" "nope" }})"), "map[alpha:x zeta:1]"); }
TEST(sprig_dicts, omit) { EXPECT_EQ(sout(R"({{ omit .Map "alpha" "mid" }})"), "map[zeta:1]"); }

TEST(sprig_dicts, merge) {
  EXPECT_EQ(sout(R"({{ merge (dict "a" 1 "n" (dict "x" 1)) (dict "a" 2 "b" 3 "n" (dict "y" 2)) }})"),
            "map[a:1 b:3 n:map[x:1 y:2]]");
}

TEST(sprig_dicts, values) { EXPECT_EQ(sout(R"({{ values (dict "b" 2 "a" 1) }})"), "[1 2]"); }

// ------------------------------------------------------- defaults and types

TEST(sprig_defaults, default) {
  EXPECT_EQ(sout(R"({{ default "foo" "" }} {{ default "foo" "bar" }} {{ "" | default "d" }} {{ .Nil | default 7 }})"),
            "foo bar d 7");
  EXPECT_EQ(sout(R"({{ 0 | default 5 }} {{ false | default "t" }} {{ list | default "e" }} {{ .List | default "e" }})"),
            "5 t e [a b c]");
  EXPECT_EQ(sout(R"({{ index .Labels "nope" | default "x" }} {{ .Config.missing | default "y" }})"), "x y");
}

TEST(sprig_defaults, empty) {
  EXPECT_EQ(sout(R"({{ empty "" }} {{ empty 0 }} {{ empty .Map }} {{ empty (dict) }} {{ empty .Nil }} {{ empty 0.0 }})"),
            "true true false true true true");
}

TEST(sprig_defaults, coalesce) {
  EXPECT_EQ(sout(R"({{ coalesce 0 "" "x" 1 }} {{ coalesce 0 "" }})"), "x <nil>");
}

TEST(sprig_defaults, ternary) {
  EXPECT_EQ(sout(R"({{ ternary "yes" "no" true }} {{ false | ternary "yes" "no" }})"), "yes no");
  EXPECT_TRUE(contains(serror(R"({{ ternary "yes" "no" 1 }})"), "expected bool; got int"));
}

TEST(sprig_defaults, required) {
  EXPECT_EQ(sout(R"({{ required "need it" .Name }})"), "web-1");
  EXPECT_TRUE(contains(serror(R"({{ required "need name" .Config.missing }})"), "error calling required: need name"));
  EXPECT_TRUE(contains(serror(R"({{ required "need it" "" }})"), "need it"));
}

TEST(sprig_defaults, fail) { EXPECT_TRUE(contains(serror(R"({{ fail "stop here" }})"), "error calling fail: stop here")); }

TEST(sprig_types, typeOf) {
  EXPECT_EQ(sout(R"({{ typeOf 1 }} {{ typeOf "a" }} {{ typeOf 1.5 }} {{ typeOf .Nil }} {{ typeOf .List }} {{ typeOf .Labels }})"),
            "int string float64 <nil> []interface {} map[string]string");
}

TEST(sprig_types, kindOf) {
  EXPECT_EQ(sout(R"({{ kindOf 1 }} {{ kindOf .Map }} {{ kindOf .List }} {{ kindOf .Nil }} {{ kindOf .Labels }} {{ kindOf .JSON }})"),
            "int map slice invalid map map");
}

TEST(sprig_types, typeIs) { EXPECT_EQ(sout(R"({{ typeIs "string" .Name }} {{ typeIs "int" .Name }})"), "true false"); }

TEST(sprig_types, kindIs) { EXPECT_EQ(sout(R"({{ kindIs "int" 1 }} {{ kindIs "map" .List }})"), "true false"); }

// --------------------------------------------------------------------- math

TEST(sprig_math, add) { EXPECT_EQ(sout(R"({{ add 1 2 3 }} {{ add "4" 1.9 true }} {{ add }})"), "6 6 0"); }
TEST(sprig_math, add1) { EXPECT_EQ(sout(R"({{ add1 41 }})"), "42"); }
TEST(sprig_math, sub) { EXPECT_EQ(sout(R"({{ sub 10 3 }} {{ sub "x" 1 }})"), "7 -1"); }
TEST(sprig_math, mul) { EXPECT_EQ(sout(R"({{ mul 2 3 4 }})"), "24"); }

TEST(sprig_math, div) {
  EXPECT_EQ(sout(R"({{ div 7 2 }} {{ div -7 2 }})"), "3 -3");
  EXPECT_TRUE(contains(serror(R"({{ div 1 0 }})"), "error calling div: runtime error: integer divide by zero"));
}

TEST(sprig_math, mod) {
  EXPECT_EQ(sout(R"({{ mod 7 3 }} {{ mod -7 3 }})"), "1 -1");
  EXPECT_TRUE(contains(serror(R"({{ mod 1 0 }})"), "integer divide by zero"));
}

TEST(sprig_math, max) { EXPECT_EQ(sout(R"({{ max 1 5 3 }} {{ max -1 }})"), "5 -1"); }
TEST(sprig_math, min) { EXPECT_EQ(sout(R"({{ min 4 2 8 }})"), "2"); }

TEST(sprig_math, int) {
  EXPECT_EQ(sout(R"({{ int "12" }} {{ int 3.9 }} {{ int "0x10" }} {{ int "1.0" }} {{ int "abc" }} {{ int true }} {{ int .Nil }})"),
            "12 3 16 1 0 1 0");
}

TEST(sprig_math, int64) { EXPECT_EQ(sout(R"({{ int64 "-8" }} {{ .JSON.n | int64 }})"), "-8 5"); }
TEST(sprig_math, float64) { EXPECT_EQ(sout(R"({{ float64 "1.5" }} {{ float64 2 }} {{ float64 "x" }})"), "1.5 2 0"); }

TEST(sprig_math, toString) {
  EXPECT_EQ(sout(R"({{ toString 5 }} {{ toString 1.5 }} {{ toString .List }} {{ toString .Nil }})"),
            "5 1.5 [a b c] <nil>");
}

TEST(sprig_math, atoi) { EXPECT_EQ(sout(R"({{ atoi "42" }} {{ atoi "-3" }} {{ atoi "4x" }} {{ atoi "0x10" }})"), "42 -3 0 0"); }

// ----------------------------------------------------------------- encoding

TEST(sprig_encoding, b64enc) {
  EXPECT_EQ(sout(R"({{ b64enc "hello" }} {{ b64enc "hi" }} {{ b64enc "abc" }} [{{ b64enc "" }}])"),
            "aGVsbG8= aGk= YWJj []");
}

TEST(sprig_encoding, b64dec) {
  EXPECT_EQ(sout(R"({{ b64dec "aGVsbG8=" }} {{ b64dec "aGk=" }})"), "hello hi");
  EXPECT_EQ(sout(R"({{ b64dec "a!" }})"), "illegal base64 data at input byte 1");
  EXPECT_EQ(sout(R"({{ b64dec "aGk" }})"), "illegal base64 data at input byte 0");
  EXPECT_EQ(sout(R"({{ b64dec "aGVsbG8=aGk=" }})"), "illegal base64 data at input byte 8");
}

TEST(sprig_encoding, toJson) {
  EXPECT_EQ(sout(R"({{ toJson (dict "b" (list 1 2.5 "x<") "a" nil "c" true) }})"),
            R"({"a":null,"b":[1,2.5,"x\u003c"],"c":true})");
  EXPECT_EQ(sout(R"({{ toJson .Labels }} {{ toJson .JSON }} {{ toJson "s" }} {{ toJson 1e-7 }})"),
            R"({"app":"web","tier":"front"} {"a":{"x":1.5},"b":[1,2],"n":5} "s" 1e-7)");
}

TEST(sprig_encoding, toPrettyJson) {
  EXPECT_EQ(sout(R"({{ toPrettyJson (dict "a" (list 1) "b" (dict)) }})"), "{\n  \"a\": [\n    1\n  ],\n  \"b\": {}\n}");
}

TEST(sprig_encoding, fromJson) {
  EXPECT_EQ(sout(R"({{ (fromJson "{\"a\":[1,\"x\"]}").a }} {{ fromJson "not json" }} {{ fromJson "3" }})"),
            "[1 x] <nil> 3");
}

// ------------------------------------------------------------------- semver

TEST(sprig_semver, semverCompare) {
  EXPECT_EQ(sout(R"({{ semverCompare ">=1.2.3" "1.2.3" }} {{ semverCompare ">=1.2.3" "1.2.2" }})"), "true false");
  EXPECT_EQ(sout(R"({{ semverCompare "^1.2.0" "1.9.9" }} {{ semverCompare "^1.2.0" "2.0.0" }} {{ semverCompare "^0.2.3" "0.3.0" }})"),
            "true false false");
  EXPECT_EQ(sout(R"({{ semverCompare "~1.2.3" "1.2.9" }} {{ semverCompare "~1.2.3" "1.3.0" }} {{ semverCompare "~1" "1.9.0" }})"),
            "true false true");
  EXPECT_EQ(sout(R"({{ semverCompare "1.2.x" "1.2.7" }} {{ semverCompare "1.2.x" "1.3.0" }} {{ semverCompare "*" "4.0.0" }})"),
            "true false true");
  EXPECT_EQ(sout(R"({{ semverCompare ">= 1.2, < 2" "1.5.0" }} {{ semverCompare "<1.0 || >=3.0" "2.0.0" }} {{ semverCompare "1.2 - 1.4.5" "1.4.5" }})"),
            "true false true");
  EXPECT_EQ(sout(R"({{ semverCompare ">=1.20" "v1.28.0" }} {{ semverCompare ">=1.2.3" "1.3.0-beta.1" }} {{ semverCompare ">=1.2.3-0" "1.3.0-beta.1" }})"),
            "true false true");
  EXPECT_EQ(sout(R"({{ semverCompare "!=1.2.3" "1.2.4" }} {{ semverCompare ">1.2" "1.3.0" }} {{ semverCompare "<=1.2" "1.2.9" }})"),
            "true true true");
  EXPECT_TRUE(contains(serror(R"({{ semverCompare ">=1.2" "not-a-version" }})"), "Invalid Semantic Version"));
  EXPECT_TRUE(contains(serror(R"({{ semverCompare "%%1" "1.0.0" }})"), "improper constraint"));
}

// -------------------------------------------------------------------- regex

TEST(sprig_regex, regexMatch) {
  EXPECT_EQ(sout(R"T({{ regexMatch `^[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\.[a-zA-Z]{2,}$` "test@acme.com" }})T"), "true");
  EXPECT_EQ(sout(R"T({{ regexMatch `^web-\d+$` .Name }} {{ regexMatch "^web$" .Name }} {{ regexMatch "b|x" "abc" }})T"),
            "true false true");
  EXPECT_EQ(sout(R"T({{ regexMatch "(" "x" }})T"), "false");  // sprig drops the compile error
  // RE2 is linear: a pattern that makes a backtracking engine explode is quick here.
  EXPECT_EQ(sout(R"T({{ regexMatch "^(a+)+$" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab" }})T"), "false");
}

TEST(sprig_regex, regexFind) {
  EXPECT_EQ(sout(R"T({{ regexFind "[a-zA-Z][1-9]" "abcd1234" }})T"), "d1");
  EXPECT_EQ(sout(R"T([{{ regexFind "z+" "abc" }}] {{ regexFind "a|ab" "ab" }} {{ regexFind "a+?" "aaa" }} {{ regexFind `\bweb\b` "a web b" }})T"),
            "[] a a web");
  EXPECT_EQ(sout(R"T({{ regexFind "x{2,3}" "xxxxx" }} {{ regexFind "(?:ab){2}" "abababx" }} {{ regexFind "[^a-c]+" "abcxyzab" }})T"),
            "xxx abab xyz");
  EXPECT_TRUE(contains(serror(R"T({{ regexFind "(?i)x" "X" }})T"), "error calling regexFind: regexp: Compile"));
}

TEST(sprig_regex, regexReplaceAll) {
  EXPECT_EQ(sout(R"T({{ regexReplaceAll "a(x*)b" "-ab-axxb-" "${1}W" }})T"), "-W-xxW-");
  EXPECT_EQ(sout(R"T({{ regexReplaceAll "a(x*)b" "-ab-axxb-" "$1W" }})T"), "---");  // the group named "1W"
  EXPECT_EQ(sout(R"T({{ regexReplaceAll `(?P<k>\w+)=(?P<v>\w+)` "a=1,b=2" "$v:$k" }})T"), "1:a,2:b");
  EXPECT_EQ(sout(R"T({{ regexReplaceAll "x*" "abc" "-" }})T"), "-a-b-c-");
  EXPECT_EQ(sout(R"T({{ regexReplaceAll "a*" "baaac" "-" }})T"), "-b-c-");
  EXPECT_EQ(sout(R"T({{ regexReplaceAll `\.` "1.2.3" "$$" }})T"), "1$2$3");
}

// ------------------------------------------------------------------- impure

TEST(sprig_impure, refused_at_load_with_the_reason) {
  for (const char* name : {"now", "date", "randAlphaNum", "uuidv4", "genCA", "genPrivateKey", "getHostByName",
                           "expandenv", "env"}) {
    const std::string text = std::string("x {{ ") + name + " }}";
    const auto prog_error = [&] {
      try {
        compile_sprig_template(text);
      } catch (const tt::program::compile_error& e) {
        return e.message;
      }
      return std::string("(compiled)");
    }();
    EXPECT_TRUE(contains(prog_error, std::string("function \"") + name + "\" is not supported")) << prog_error;
  }
}

}  // namespace
