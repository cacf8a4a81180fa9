// JSON ambiguity (issue 16): a repeated key is read as the apiserver's decoder
// reads it, the last member wins, in every object the engine reads, on the 1.1
// and the 1.28 path; keys with NUL, lone surrogates and integers out of range are
// 400s with a message. nlohmann-json, which also keeps the last member of a
// repeated key, is the oracle for the rewrite.

#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

#include "patch/admission.hpp"
#include "patch/injector.hpp"
#include "patch/json_keys.hpp"
#include "tests/support/engine_fixture.hpp"

namespace {

namespace mt = meshinject::test;
namespace patch = meshinject::patch;
using mt::json;

simdjson::dom::element parse(simdjson::dom::parser& parser, const std::string& text) {
  simdjson::dom::element e;
  EXPECT_EQ(parser.parse(text).get(e), simdjson::SUCCESS) << text;
  return e;
}

// ------------------------------------------------------------- the scan

TEST(json_key_scan, finds_a_repeated_key_at_any_depth_and_size) {
  simdjson::dom::parser parser;
  patch::key_scan scan;
  std::string wide = "{";
  for (int i = 0; i < 40; ++i) wide += "\"k" + std::to_string(i) + "\":" + std::to_string(i) + ",";
  const std::string wide_unique = wide + "\"last\":0}";
  const std::string wide_repeat = wide + "\"k7\":0}";
  struct row {
    std::string text;
    bool duplicate;
  };
  const row rows[] = {
      {R"({"a":1,"b":{"a":2},"c":[{"a":1,"b":2}]})", false},
      {R"({"a":1,"a":2})", true},
      {R"({"x":{"y":[1,{"z":1,"w":2,"z":3}]}})", true},
      {R"([{"a":1},{"a":2}])", false},  // the same key in two objects is no repeat
      {R"({"a":{"k":1},"b":{"k":1,"k":1}})", true},
      {wide_unique, false},
      {wide_repeat, true},
  };
  for (const row& r : rows) {
    SCOPED_TRACE(r.text.substr(0, 80));
    const patch::key_scan_result got = scan.scan(parse(parser, r.text));
    EXPECT_EQ(got.duplicate, r.duplicate);
    EXPECT_FALSE(got.nul_in_key);
  }
}

TEST(json_key_scan, a_nul_in_any_key_is_reported) {
  simdjson::dom::parser parser;
  patch::key_scan scan;
  EXPECT_TRUE(scan.scan(parse(parser, R"({"a":{"b\u0000c":1}})")).nul_in_key);
  EXPECT_TRUE(scan.scan(parse(parser, R"([1,{"\u0000":1}])")).nul_in_key);
  EXPECT_FALSE(scan.scan(parse(parser, R"({"a":"value\u0000is not a key"})")).nul_in_key);
}

// The scan walks simdjson's tape in one loop; these rows aim at the places a
// flat walk can lose track of which word is a key: values that are containers,
// numbers taking two words, empty objects and arrays, closing braces in a row.
TEST(json_key_scan, the_tape_walk_keeps_keys_and_values_apart_at_every_depth) {
  simdjson::dom::parser parser;
  patch::key_scan scan;
  std::string deep_repeat = R"({"k":1,"k":2})";
  std::string deep_unique = R"({"k":1,"j":2})";
  for (int depth = 0; depth < 40; ++depth) {
    deep_repeat = (depth % 2 ? "[1.5," : R"({"n":-1,"k":{},"x":)") + deep_repeat + (depth % 2 ? "]" : "}");
    deep_unique = (depth % 2 ? "[1.5," : R"({"n":-1,"k":{},"x":)") + deep_unique + (depth % 2 ? "]" : "}");
  }
  struct row {
    std::string text;
    bool duplicate;
  };
  const row rows[] = {
      {deep_repeat, true},
      {deep_unique, false},
      // A value that is a string equal to a key is not a key.
      {R"({"a":"b","b":"a"})", false},
      {R"({"a":"a","b":"b"})", false},
      // Numbers (two words each) and literals between keys.
      {R"({"a":1,"b":-2,"c":3.5,"d":18446744073709551615,"e":true,"f":null,"a":false})", true},
      {R"({"a":1,"b":-2,"c":3.5,"d":18446744073709551615,"e":true,"f":null,"g":false})", false},
      // The repeat after a nested object and array closes.
      {R"({"a":{"b":{"c":[[],[{}]]}},"a":0})", true},
      {R"({"a":{"b":{"c":[[],[{}]]}},"z":0})", false},
      // In an array of objects, only within one element.
      {R"({"items":[{"name":"x","v":1},{"name":"y","v":2},{"name":"z","v":3,"name":"w"}]})", true},
      {R"({"items":[{"name":"x","v":1},{"name":"y","v":2},{"name":"z","v":3}]})", false},
      // The key of an outer object repeated inside an inner one is no repeat, and
      // the outer object's keys resume after the inner one closes.
      {R"({"a":{"a":{"a":1}},"b":[{"b":1}],"c":{"b":1}})", false},
      {R"({"a":{"x":1},"b":[{"y":1}],"a":{}})", true},
      // Keys that differ only in the middle byte share length, first and last byte.
      {R"({"abXcd":1,"abYcd":2})", false},
      {R"({"abXcd":1,"abYcd":2,"abXcd":3})", true},
      // Escapes decode before comparing, as Go's decoder compares them.
      {R"({"a":1,"\u0061":2})", true},
      {R"({"é":1,"\u00e9":2})", true},
      {R"({"a\"b":1,"a\u0022b":2})", true},
      {R"({"a":1,"\u0062":2})", false},
      {R"([[],{},[{}],"",{"":1,"":2}])", true},
      {R"("just a string")", false},
      {R"(42)", false},
  };
  for (const row& r : rows) {
    SCOPED_TRACE(r.text.substr(0, 120));
    const patch::key_scan_result got = scan.scan(parse(parser, r.text));
    EXPECT_EQ(got.duplicate, r.duplicate);
    EXPECT_FALSE(got.nul_in_key);
  }
}

// Above 16 members the keys are sorted instead of compared pairwise; a repeat
// must be found at any pair of positions, including first and last.
TEST(json_key_scan, the_sorting_path_finds_a_repeat_at_any_pair_of_positions) {
  simdjson::dom::parser parser;
  patch::key_scan scan;
  constexpr int members = 24;
  auto key = [](int i) { return "key-" + std::string(1, static_cast<char>('a' + i % 26)) + "-" + std::to_string(i); };
  for (int first = 0; first < members; ++first) {
    for (int second = first + 1; second < members; ++second) {
      std::string text = "{";
      for (int i = 0; i < members; ++i) {
        if (i) text += ',';
        text += '"' + key(i == second ? first : i) + "\":" + std::to_string(i);
      }
      text += '}';
      SCOPED_TRACE(text);
      // Nested under another wide object, so the outer keys sit below in the scratch.
      const std::string nested = R"({"0":0,"1":1,"2":2,"3":3,"4":4,"5":5,"6":6,"7":7,"8":8,"9":9,"10":10,"11":11,)"
                                 R"("12":12,"13":13,"14":14,"15":15,"16":16,"inner":)" +
                                 text + R"(,"17":17})";
      ASSERT_TRUE(scan.scan(parse(parser, text)).duplicate);
      ASSERT_TRUE(scan.scan(parse(parser, nested)).duplicate);
    }
  }
  std::string unique = "{";
  for (int i = 0; i < members; ++i) unique += (i ? ",\"" : "\"") + key(i) + "\":" + std::to_string(i);
  unique += '}';
  EXPECT_FALSE(scan.scan(parse(parser, unique)).duplicate);
}

// An element below the root is scanned alone: what lies beside it does not count.
TEST(json_key_scan, a_subtree_is_scanned_alone) {
  simdjson::dom::parser parser;
  patch::key_scan scan;
  simdjson::dom::element inner;
  const simdjson::dom::element root = parse(parser, R"({"a":1,"a":2,"inner":{"x":[{"y":1}],"z":2},"last":{"q":1,"q":2}})");
  ASSERT_EQ(root["inner"].get(inner), simdjson::SUCCESS);
  EXPECT_FALSE(scan.scan(inner).duplicate);
  EXPECT_TRUE(scan.scan(root).duplicate);
  simdjson::dom::element last;
  ASSERT_EQ(root["last"].get(last), simdjson::SUCCESS);
  EXPECT_TRUE(scan.scan(last).duplicate);
  EXPECT_FALSE(scan.scan(simdjson::dom::element{}).duplicate);  // an element of no document
}

TEST(json_key_scan, a_nul_written_as_an_escape_is_found_in_keys_only) {
  simdjson::dom::parser parser;
  patch::key_scan scan;
  EXPECT_TRUE(scan.scan(parse(parser, R"({"ok":1,"deep":[{"x":{"a\u0000":1}}]})")).nul_in_key);
  EXPECT_TRUE(scan.scan(parse(parser, R"({"tail\u0000":1})")).nul_in_key);
  EXPECT_FALSE(scan.scan(parse(parser, R"({"deep":[{"x":{"a":"\u0000"}}],"b":["\u0000"]})")).nul_in_key);
  // Told that the text holds no \u0000 escape, the scan does not look into keys.
  EXPECT_FALSE(scan.scan(parse(parser, R"({"a\u0000":1})"), false).nul_in_key);
}

// As read (an AdmissionReview): a repeat counts only in an object some reader
// sees; the pod's status and managedFields and the envelope's other parts are
// jumped over, but their own keys still belong to the object holding them.
TEST(json_key_scan, as_read_finds_repeats_only_where_a_reader_looks) {
  simdjson::dom::parser parser;
  patch::key_scan scan;
  struct row {
    const char* text;
    bool whole, as_read;  // a repeat found walking the whole document / as read
  };
  const row rows[] = {
      {R"({"request":{"object":{"status":{"a":1,"a":2}}}})", true, false},
      {R"({"request":{"object":{"status":[{"a":1,"a":2}]}}})", true, false},
      {R"({"request":{"object":{"metadata":{"managedFields":[{"f":{"a":{},"a":{}}}]}}}})", true, false},
      {R"({"request":{"oldObject":{"metadata":{"labels":{"a":"1","a":"2"}}}}})", true, false},
      {R"({"request":{"userInfo":{"groups":["g"],"extra":{"a":[],"a":[]}}}})", true, false},
      {R"({"request":{"options":{"a":1,"a":2},"resource":{"b":1,"b":2}}})", true, false},
      {R"({"response":{"a":1,"a":2},"request":{}})", true, false},
      // Read: the keys of the review, request and pod objects themselves, and below them.
      {R"({"request":{"object":{"status":{},"status":{}}}})", true, true},
      {R"({"request":{"oldObject":{},"oldObject":{}}})", true, true},
      {R"({"request":{},"request":{}})", true, true},
      {R"({"request":{"uid":"a","uid":"b"}})", true, true},
      {R"({"request":{"kind":{"kind":"Pod","kind":"Secret"}}})", true, true},
      {R"({"request":{"object":{"metadata":{"labels":{"a":"1","a":"2"}}}}})", true, true},
      {R"({"request":{"object":{"metadata":{"managedFields":[],"managedFields":[]}}}})", true, true},
      {R"({"request":{"object":{"spec":{"containers":[{"name":"a","name":"b"}]}}}})", true, true},
      {R"({"request":{"object":{"kind":"Pod","apiVersion":"v1","weird":{"x":[{"a":1,"a":2}]}}}})", true, true},
      // Only the pod's own status and managedFields are left out, not keys named so below them.
      {R"({"request":{"object":{"spec":{"status":{"a":1,"a":2}}}}})", true, true},
      {R"({"request":{"object":{"spec":{"metadata":{"managedFields":{"a":1,"a":2}}}}}})", true, true},
      {R"({"request":{"object":{"metadata":{"labels":{"managedFields":{"a":1,"a":2}}}}}})", true, true},
      // An unread key at the top of the pod is read below `request.kind`.
      {R"({"request":{"kind":{"status":{"a":1,"a":2}}}})", true, true},
      {R"([{"request":{"oldObject":{"a":1,"a":2}}}])", true, true},  // not a review: read whole
  };
  for (const row& r : rows) {
    SCOPED_TRACE(r.text);
    const simdjson::dom::element doc = parse(parser, r.text);
    EXPECT_EQ(scan.scan(doc, false).duplicate, r.whole);
    EXPECT_EQ(scan.scan(doc, false, patch::scan_extent::as_read).duplicate, r.as_read);
  }
  // A text that may hold a NUL in a key is walked whole, so one is refused anywhere.
  const simdjson::dom::element nul = parse(parser, R"({"request":{"oldObject":{"a\u0000":1,"b":1,"b":2}}})");
  const patch::key_scan_result got = scan.scan(nul, true, patch::scan_extent::as_read);
  EXPECT_TRUE(got.nul_in_key);
}

// Documents built at random from a few keys, so that repeats are common, checked
// against nlohmann-json's SAX reader, which reports every key as it reads it.
TEST(json_key_scan, agrees_with_an_independent_reader_on_random_documents) {
  struct repeat_finder : mt::json::json_sax_t {
    std::vector<std::vector<std::string>> open;  // the keys of each object open at this point
    bool repeat = false;
    bool null() override { return true; }
    bool boolean(bool) override { return true; }
    bool number_integer(number_integer_t) override { return true; }
    bool number_unsigned(number_unsigned_t) override { return true; }
    bool number_float(number_float_t, const string_t&) override { return true; }
    bool string(string_t&) override { return true; }
    bool binary(binary_t&) override { return true; }
    bool start_object(std::size_t) override {
      open.emplace_back();
      return true;
    }
    bool key(string_t& k) override {
      auto& seen = open.back();
      if (std::find(seen.begin(), seen.end(), k) != seen.end()) repeat = true;
      seen.push_back(k);
      return true;
    }
    bool end_object() override {
      open.pop_back();
      return true;
    }
    bool start_array(std::size_t) override { return true; }
    bool end_array() override { return true; }
    bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override { return false; }
  };
  std::uint64_t state = 0x9e3779b97f4a7c15u;  // a fixed seed: every run checks the same documents
  auto next = [&state](std::uint64_t bound) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state % bound;
  };
  // "\u0061" is "a" written as an escape.
  const char* keys[] = {"a", "b", "\\u0061", "ab", "ba", "aXb", "aYb", "name"};
  std::function<void(std::string&, int)> value = [&](std::string& out, int depth) {
    const auto pick = depth == 0 ? 0 : depth > 4 ? 2 + next(3) : next(5);
    if (pick == 0) {
      out += '{';
      const auto n = next(depth == 0 ? 20 : 6);
      for (std::uint64_t i = 0; i < n; ++i) {
        if (i) out += ',';
        out += '"';
        out += keys[next(std::size(keys))];
        if (next(4) == 0) out += std::to_string(i);  // wide objects with few repeats
        out += "\":";
        value(out, depth + 1);
      }
      out += '}';
    } else if (pick == 1) {
      out += '[';
      const auto n = next(4);
      for (std::uint64_t i = 0; i < n; ++i) {
        if (i) out += ',';
        value(out, depth + 1);
      }
      out += ']';
    } else if (pick == 2) {
      out += "\"a\"";
    } else if (pick == 3) {
      out += "-12.5";
    } else {
      out += "null";
    }
  };
  simdjson::dom::parser parser;
  patch::key_scan scan;
  int repeats = 0;
  for (int n = 0; n < 3000; ++n) {
    std::string text;
    value(text, 0);
    repeat_finder oracle;
    ASSERT_TRUE(mt::json::sax_parse(text, &oracle)) << text;
    SCOPED_TRACE(text);
    ASSERT_EQ(scan.scan(parse(parser, text)).duplicate, oracle.repeat);
    repeats += oracle.repeat;
  }
  // Both answers occur often enough for the comparison to mean something.
  EXPECT_GT(repeats, 300);
  EXPECT_LT(repeats, 2700);
}

// ------------------------------------------------------------- the rewrite

TEST(json_last_wins, matches_nlohmann_which_keeps_the_last_member) {
  simdjson::dom::parser parser;
  const std::string cases[] = {
      R"({"a":1,"a":2})",
      R"({"a":{"x":1},"b":true,"a":{"y":[1,2,{"q":"r","q":"s"}]}})",
      R"({"s":"é\n\"\\\u2028","n":null,"d":-1.5e300,"i":-9223372036854775808,"u":18446744073709551615})",
      R"({"a":1,"b":2,"a":3,"c":4,"b":5})",
      R"({"port":8080.0,"port":8081.0})",
      R"([[],{},[{}],""])",
  };
  for (const std::string& text : cases) {
    SCOPED_TRACE(text);
    std::string out;
    patch::write_last_wins(parse(parser, text), out);
    const json got = json::parse(out);
    EXPECT_EQ(got, json::parse(text));
    // Nothing repeats once rewritten.
    patch::key_scan scan;
    EXPECT_FALSE(scan.scan(parse(parser, out)).duplicate) << out;
  }
}

TEST(json_last_wins, a_double_stays_a_double) {
  simdjson::dom::parser parser;
  std::string out;
  patch::write_last_wins(parse(parser, R"({"p":80.0,"p":8080.0})"), out);
  EXPECT_EQ(out, R"({"p":8080.0})");
}

// ---------------------------------------------- every object parse_review reads

std::string base_review() {
  json pod = json::parse(R"({"metadata":{"name":"web","namespace":"pns","generateName":"g-",
      "labels":{"app":"web"},"annotations":{"note":"n"},
      "ownerReferences":[{"kind":"ReplicaSet","name":"rs","apiVersion":"apps/v1","controller":true}]},
    "spec":{"hostNetwork":false,"serviceAccountName":"sa",
      "containers":[{"name":"app","image":"app:1","ports":[{"containerPort":8080,"name":"http"}]}],
      "initContainers":[{"name":"init","image":"i"}],
      "volumes":[{"name":"v"}]}})");
  return mt::make_review(pod, "admission.k8s.io/v1", "uid-1", "ns1");
}

// What a parse read, as text: two parses agree when these agree.
std::string summary(const patch::review& r, const patch::pod& p) {
  std::string s = "uid=" + std::string(r.uid) + " kind=" + std::string(r.kind) + " op=" + std::string(r.operation) +
                  " ns=" + std::string(r.namespace_name) + " pod=" + std::string(p.name) + "/" +
                  std::string(p.namespace_name) + "/" + std::string(p.generate_name) + " sa=" +
                  std::string(p.service_account_name) + " host=" + (p.host_network ? "1" : "0");
  for (const auto& l : p.labels) s += " label:" + std::string(l.key) + "=" + std::string(l.value);
  for (const auto& l : p.annotations) s += " annotation:" + std::string(l.key) + "=" + std::string(l.value);
  for (const auto& o : p.owners) s += " owner:" + std::string(o.kind) + "/" + std::string(o.name) + (o.controller ? "*" : "");
  for (const auto& c : p.containers) s += " container:" + std::string(c.name) + "=" + std::string(c.image);
  for (const auto& c : p.init_containers) s += " init:" + std::string(c.name);
  for (const auto& port : p.ports) s += " port:" + std::to_string(port.container_port) + "/" + std::string(port.name);
  for (const auto& v : p.volume_names) s += " volume:" + std::string(v);
  return s;
}

std::string parse_summary(const std::string& text) {
  simdjson::dom::parser parser;
  patch::review_scratch scratch;
  patch::review r;
  patch::pod p;
  std::string error;
  std::string buf = text;
  buf.resize(text.size() + simdjson::SIMDJSON_PADDING);
  if (!patch::parse_review(parser, scratch, buf.data(), text.size(), buf.size(), r, p, error)) return "error: " + error;
  return summary(r, p);
}

std::string replaced(std::string text, const std::string& needle, const std::string& with) {
  const std::size_t at = text.find(needle);
  EXPECT_NE(at, std::string::npos) << needle;
  if (at != std::string::npos) text.replace(at, needle.size(), with);
  return text;
}

TEST(json_duplicate_keys, every_object_the_review_is_read_from_keeps_the_last_member) {
  struct row {
    const char* what;
    std::string needle, with;  // a member of the base review, and that member with an earlier one before it
    const char* expected;      // in the summary of the last-wins read
  };
  const row rows[] = {
      {"request.uid", R"("uid":"uid-1")", R"("uid":"first","uid":"uid-1")", "uid=uid-1 "},
      {"request.uid, last differs", R"("uid":"uid-1")", R"("uid":"uid-1","uid":"second")", "uid=second "},
      {"request.kind object", R"("kind":{"group":"")", R"("kind":{"kind":"Secret"},"kind":{"group":"")",
       "kind=Pod op"},
      {"request.kind.kind", R"("kind":"Pod")", R"("kind":"Pod","kind":"Service")", "kind=Service"},
      {"request.operation", R"("operation":"CREATE")", R"("operation":"CREATE","operation":"DELETE")", "op=DELETE"},
      {"request.namespace", R"("namespace":"ns1")", R"("namespace":"ns1","namespace":"ns2")", "ns=ns2"},
      {"metadata.name", R"("name":"web")", R"("name":"web","name":"web2")", "pod=web2/"},
      {"metadata.namespace", R"("namespace":"pns")", R"("namespace":"pns","namespace":"pns2")", "/pns2/"},
      {"metadata.generateName", R"("generateName":"g-")", R"("generateName":"g-","generateName":"h-")", "/h- "},
      {"metadata.labels member", R"("app":"web")", R"("app":"web","app":"api")", "label:app=api"},
      {"metadata.labels object", R"("labels":{)", R"("labels":{"gone":"1"},"labels":{)", "label:app=web annotation"},
      {"metadata.annotations member", R"("note":"n")", R"("note":"n","note":"m")", "annotation:note=m"},
      {"metadata.annotations object", R"("annotations":{)", R"("annotations":{"gone":"1"},"annotations":{)",
       "annotation:note=n owner"},
      {"metadata object", R"("metadata":{"annotations")", R"("metadata":{"name":"gone"},"metadata":{"annotations")",
       "pod=web/"},
      {"metadata.ownerReferences", R"("ownerReferences":[)", R"("ownerReferences":[],"ownerReferences":[)",
       "owner:ReplicaSet/rs*"},
      {"ownerReferences[].controller", R"("controller":true)", R"("controller":true,"controller":false)",
       "owner:ReplicaSet/rs "},
      {"spec object", R"("spec":{"containers")", R"("spec":{"hostNetwork":true},"spec":{"containers")",
       "host=0"},
      {"spec.hostNetwork", R"("hostNetwork":false)", R"("hostNetwork":false,"hostNetwork":true)", "host=1"},
      {"spec.serviceAccountName", R"("serviceAccountName":"sa")", R"("serviceAccountName":"sa","serviceAccountName":"sb")",
       "sa=sb"},
      {"spec.containers", R"("containers":[)", R"("containers":[{"name":"gone"}],"containers":[)",
       "container:app=app:1 init"},
      {"containers[].name", R"("name":"app")", R"("name":"app","name":"main")", "container:main="},
      {"containers[].image", R"("image":"app:1")", R"("image":"app:1","image":"app:2")", "=app:2"},
      {"ports[].containerPort", R"("containerPort":8080)", R"("containerPort":8080,"containerPort":9090)",
       "port:9090/http"},
      {"spec.initContainers", R"("initContainers":[)", R"("initContainers":[{"name":"gone"}],"initContainers":[)",
       "init:init "},
      {"spec.volumes", R"("volumes":[{"name":"v"}])", R"("volumes":[{"name":"v"}],"volumes":[{"name":"w"}])",
       "volume:w"},
      {"request.object", R"("object":{)", R"("object":{"metadata":{"name":"gone"}},"object":{)", "pod=web/"},
  };
  const std::string base = base_review();
  for (const row& r : rows) {
    SCOPED_TRACE(r.what);
    const std::string text = replaced(base, r.needle, r.with);
    const std::string got = parse_summary(text);
    EXPECT_NE(got.find(r.expected), std::string::npos) << got;
    // The oracle: nlohmann-json keeps the last member too; both reads must agree.
    EXPECT_EQ(got, parse_summary(json::parse(text).dump()));
  }
}

TEST(json_duplicate_keys, the_scan_allocates_nothing_once_warm_and_stays_off_without_repeats) {
  // A review without repeats is never rewritten: the scratch's rewrite stays empty.
  simdjson::dom::parser parser;
  patch::review_scratch scratch;
  patch::review r;
  patch::pod p;
  std::string error;
  std::string buf = base_review();
  const std::size_t len = buf.size();
  buf.resize(len + simdjson::SIMDJSON_PADDING);
  ASSERT_TRUE(patch::parse_review(parser, scratch, buf.data(), len, buf.size(), r, p, error)) << error;
  EXPECT_TRUE(scratch.rewritten.empty());
  buf = replaced(base_review(), R"("uid":"uid-1")", R"("uid":"a","uid":"uid-1")");
  const std::size_t len2 = buf.size();
  buf.resize(len2 + simdjson::SIMDJSON_PADDING);
  ASSERT_TRUE(patch::parse_review(parser, scratch, buf.data(), len2, buf.size(), r, p, error)) << error;
  EXPECT_FALSE(scratch.rewritten.empty());
  EXPECT_EQ(r.uid, "uid-1");
}

// The base review with the parts no reader sees, as the apiserver sends them.
std::string review_with_unread_parts() {
  json review = json::parse(base_review());
  json& request = review["request"];
  request["object"]["metadata"]["managedFields"] = json::parse(
      R"([{"manager":"kubectl-client-side-apply","operation":"Update","apiVersion":"v1","time":"2026-12-07T12:00:00Z",
          "fieldsType":"FieldsV1","fieldsV1":{"f:metadata":{"f:labels":{".":{},"f:app":{}}},
          "f:spec":{"f:containers":{"k:{\"name\":\"app\"}":{".":{},"f:image":{}}}}}}])");
  request["object"]["status"] = json::parse(
      R"({"phase":"Pending","qosClass":"BestEffort","conditions":[{"type":"PodScheduled","lastProbeTime":null}]})");
  request["oldObject"] = json::parse(R"({"metadata":{"name":"old-pod"},"spec":{"nodeName":"n1"}})");
  request["userInfo"] = json::parse(R"({"username":"system:admin","groups":["system:masters"],"extra":{"k":["v"]}})");
  request["options"] = json::parse(R"({"kind":"CreateOptions","apiVersion":"meta.k8s.io/v1","fieldManager":"kubectl"})");
  request["requestKind"] = json::parse(R"({"group":"core","version":"v1","kind":"Pod"})");
  return review.dump();
}

// A repeated key in each part no reader sees: the needle, and it with an earlier member.
struct unread_repeat {
  const char* what;
  std::string needle, with;
};
std::vector<unread_repeat> unread_repeats() {
  return {
      {"metadata.managedFields[]", R"("manager":"kubectl-client-side-apply")",
       R"("manager":"first","manager":"kubectl-client-side-apply")"},
      {"managedFields[].fieldsV1, deep", R"("f:image":{})", R"("f:image":{},"f:image":{"x":1})"},
      {"status", R"("phase":"Pending")", R"("phase":"Failed","phase":"Pending")"},
      {"status.conditions[]", R"("type":"PodScheduled")", R"("type":"Ready","type":"PodScheduled")"},
      {"request.oldObject", R"("name":"old-pod")", R"("name":"web","name":"old-pod")"},
      {"request.oldObject.spec", R"("nodeName":"n1")", R"("nodeName":"n0","nodeName":"n1")"},
      {"request.userInfo", R"("username":"system:admin")", R"("username":"a","username":"system:admin")"},
      {"request.userInfo.extra", R"("k":["v"])", R"("k":["u"],"k":["v"])"},
      {"request.options", R"("fieldManager":"kubectl")", R"("fieldManager":"x","fieldManager":"kubectl")"},
      {"request.resource", R"("resource":"pods")", R"("resource":"secrets","resource":"pods")"},
      {"request.requestKind", R"("group":"core")", R"("group":"apps","group":"core")"},
  };
}

TEST(json_duplicate_keys, a_repeat_in_a_part_nobody_reads_rewrites_nothing) {
  const std::string base = review_with_unread_parts();
  const std::string expected = parse_summary(base);
  ASSERT_EQ(expected.find("error"), std::string::npos) << expected;
  simdjson::dom::parser parser;
  patch::review_scratch scratch;
  for (const unread_repeat& u : unread_repeats()) {
    SCOPED_TRACE(u.what);
    std::string buf = replaced(base, u.needle, u.with);
    const std::size_t len = buf.size();
    buf.resize(len + simdjson::SIMDJSON_PADDING);
    patch::review r;
    patch::pod p;
    std::string error;
    ASSERT_TRUE(patch::parse_review(parser, scratch, buf.data(), len, buf.size(), r, p, error)) << error;
    EXPECT_TRUE(scratch.rewritten.empty());
    EXPECT_EQ(summary(r, p), expected);
  }
  // A repeat in a read object beside them is still rewritten, last member winning.
  std::string buf = replaced(base, R"("app":"web")", R"("app":"web","app":"api")");
  const std::size_t len = buf.size();
  buf.resize(len + simdjson::SIMDJSON_PADDING);
  patch::review r;
  patch::pod p;
  std::string error;
  ASSERT_TRUE(patch::parse_review(parser, scratch, buf.data(), len, buf.size(), r, p, error)) << error;
  EXPECT_FALSE(scratch.rewritten.empty());
  EXPECT_NE(summary(r, p).find("label:app=api"), std::string::npos) << summary(r, p);
}

// ------------------------------------------------------------ through the engine

const char* const small_template = "containers:\n- name: istio-proxy\n  image: \"{{ .ObjectMeta.Namespace }}\"\n";

json answer(patch::engine& e, const std::string& body) {
  const patch::injection_result r = e.handle(body.data(), body.size(), body.size());
  return json::parse(std::string(r.body));
}

TEST(json_duplicate_keys, the_engine_answers_the_last_uid_and_decides_on_the_last_annotations) {
  patch::engine e(mt::make_snapshot(mt::injection_config_text(small_template)));
  const std::string base = base_review();
  json a = answer(e, replaced(base, R"("uid":"uid-1")", R"("uid":"uid-1","uid":"uid-2")"));
  EXPECT_EQ(a["response"]["uid"], "uid-2") << a.dump();

  // Opted out by the first annotations object, not by the last: injected.
  a = answer(e, replaced(base, R"("annotations":{)",
                         R"("annotations":{"sidecar.istio.io/inject":"false"},"annotations":{)"));
  EXPECT_EQ(a["response"]["patchType"], "JSONPatch") << a.dump();
  // Opted out by the last member of a repeated key: skipped.
  a = answer(e, replaced(base, R"("note":"n")", R"("sidecar.istio.io/inject":"true","sidecar.istio.io/inject":"false")"));
  EXPECT_EQ(a["response"]["allowed"], true) << a.dump();
  EXPECT_FALSE(a["response"].contains("patch")) << a.dump();

  // The patch is computed from the last members: the template reads the pod's namespace.
  a = answer(e, replaced(base, R"("namespace":"pns")", R"("namespace":"pns","namespace":"last-ns")"));
  const json pod = json::parse(replaced(base, R"("namespace":"pns")", R"("namespace":"pns","namespace":"last-ns")"))["request"]["object"];
  const json patched = mt::apply_patch(pod, mt::response_patch(a));
  EXPECT_EQ(patched["spec"]["containers"].back()["image"], "last-ns");
}

TEST(json_duplicate_keys, the_1_28_path_renders_from_the_last_member) {
  const char* const config = R"(policy: enabled
defaultTemplates: [sidecar]
templates:
  sidecar: |
    metadata:
      labels:
        copied: "{{ index .ObjectMeta.Annotations `copy-me` }}"
    spec:
      containers:
      - name: istio-proxy
        image: proxy
)";
  patch::engine e(mt::make_snapshot(config, "", "", R"({"global": {"hub": "h", "tag": "t", "proxy": {"image": "p"}}})"));
  const std::string text =
      replaced(base_review(), R"("note":"n")", R"("copy-me":"first","copy-me":"last")");
  const json a = answer(e, text);
  ASSERT_EQ(a["response"]["allowed"], true) << a.dump();
  // nlohmann applies the patch to the pod as it reads it, with the last member.
  const json patched = mt::apply_patch(json::parse(text)["request"]["object"], mt::response_patch(a));
  EXPECT_EQ(patched["metadata"]["labels"]["copied"], "last") << patched.dump();
  EXPECT_EQ(patched["metadata"]["annotations"]["copy-me"], "last");
}

// The three configurations a review can meet: Istio 1.1's shape (variants and
// fragments), a named template (1.28's merge and diff) and the embedded default.
struct configured_engine {
  const char* what;
  std::shared_ptr<const patch::snapshot> snap;
};
std::vector<configured_engine> engines_on_every_path() {
  const char* const named = R"(policy: enabled
defaultTemplates: [sidecar]
templates:
  sidecar: |
    metadata:
      labels:
        copied: "{{ index .ObjectMeta.Labels `app` }}"
    spec:
      containers:
      - name: istio-proxy
        image: "proxy-for-{{ (index .Spec.Containers 0).Name }}"
)";
  return {
      {"istio 1.1", mt::make_snapshot(mt::injection_config_text(small_template))},
      {"named templates",
       mt::make_snapshot(named, "", "", R"({"global": {"hub": "h", "tag": "t", "proxy": {"image": "p"}}})")},
      {"embedded default", patch::snapshot::build(patch::config_sources{})},
  };
}

TEST(json_duplicate_keys, every_path_answers_a_repeat_nobody_reads_as_if_it_were_not_there) {
  const std::string base = review_with_unread_parts();
  for (const configured_engine& c : engines_on_every_path()) {
    SCOPED_TRACE(c.what);
    patch::engine e(c.snap);
    const json expected = answer(e, base);
    ASSERT_EQ(expected["response"]["allowed"], true) << expected.dump();
    ASSERT_TRUE(expected["response"].contains("patch")) << expected.dump();
    for (const unread_repeat& u : unread_repeats()) {
      SCOPED_TRACE(u.what);
      EXPECT_EQ(answer(e, replaced(base, u.needle, u.with)), expected);
    }
  }
}

TEST(json_duplicate_keys, every_path_answers_a_repeat_in_a_read_object_with_its_last_member) {
  // Each repeat is answered as the review holding only its last member, and that
  // answer differs from the one holding only the first: the member is read.
  struct row {
    const char* what;
    std::string needle, first, last;
  };
  const row rows[] = {
      {"request.uid", R"("uid":"uid-1")", R"("uid":"uid-0")", R"("uid":"uid-1")"},
      {"a pod label", R"("app":"web")", R"("app":"web")", R"("app":"api")"},
      {"a container's name", R"("name":"app")", R"("name":"app")", R"("name":"main")"},
  };
  const std::string base = review_with_unread_parts();
  for (const configured_engine& c : engines_on_every_path()) {
    SCOPED_TRACE(c.what);
    patch::engine e(c.snap);
    for (const row& r : rows) {
      SCOPED_TRACE(r.what);
      const json only_last = answer(e, replaced(base, r.needle, r.last));
      const json only_first = answer(e, replaced(base, r.needle, r.first));
      if (std::string_view(c.what) == "istio 1.1" && std::string_view(r.what) != "request.uid") continue;  // not in its patch
      EXPECT_NE(only_last, only_first);
      EXPECT_EQ(answer(e, replaced(base, r.needle, r.first + "," + r.last)), only_last);
    }
  }
}

// ------------------------------------------------------------ refused input

TEST(json_hostile, nul_lone_surrogates_and_out_of_range_integers_are_400s_with_a_message) {
  patch::engine e(mt::make_snapshot(mt::injection_config_text(small_template)));
  const std::string base = base_review();
  struct row {
    const char* what;
    std::string body;
    const char* needle;
  };
  const row rows[] = {
      {"NUL in a label key", replaced(base, R"("app":"web")", R"("a\u0000pp":"web")"), "NUL character"},
      {"NUL in a key nobody reads", replaced(base, R"("app":"web")", R"("app":"web","x":{"\u0000":1})"),
       "NUL character"},
      {"NUL in the pod's name", replaced(base, R"("name":"web")", R"("name":"we\u0000b")"),
       "metadata.name: contains a NUL character"},
      {"NUL in a container name", replaced(base, R"("name":"app")", R"("name":"a\u0000")"),
       "spec.containers[].name: contains a NUL character"},
      {"lone high surrogate", replaced(base, R"("note":"n")", R"("note":"\ud800")"), "surrogate"},
      {"lone low surrogate", replaced(base, R"("note":"n")", R"("note":"\udc00x")"), "surrogate"},
      {"high surrogate then a letter", replaced(base, R"("note":"n")", R"("note":"\ud800\u0041")"), "surrogate"},
      {"containerPort past int32", replaced(base, R"("containerPort":8080)", R"("containerPort":4294967296)"),
       "containerPort: 4294967296 is out of range for a 32-bit integer"},
      {"containerPort negative past int32",
       replaced(base, R"("containerPort":8080)", R"("containerPort":-2147483649)"), "out of range"},
      {"containerPort past uint64", replaced(base, R"("containerPort":8080)", R"("containerPort":99999999999999999999)"),
       "number"},
      {"containerPort past double", replaced(base, R"("containerPort":8080)", R"("containerPort":1e400)"), "number"},
      {"probe port past int32",
       replaced(base, R"("image":"app:1")", R"("image":"app:1","readinessProbe":{"httpGet":{"port":2147483648}})"),
       "httpGet.port: 2147483648 is out of range"},
  };
  for (const row& r : rows) {
    SCOPED_TRACE(r.what);
    const patch::injection_result res = e.handle(r.body.data(), r.body.size(), r.body.size());
    EXPECT_EQ(res.http_status, 400);
    EXPECT_NE(std::string(res.message).find(r.needle), std::string::npos) << res.message;
    // The next good review is answered as if nothing happened.
    const patch::injection_result good = e.handle(base.data(), base.size(), base.size());
    EXPECT_EQ(good.http_status, 200);
    EXPECT_EQ(json::parse(std::string(good.body))["response"]["uid"], "uid-1");
  }
  // Malformed JSON in a part no reader sees is refused all the same: the DOM
  // parse reads every byte, whatever the key scan jumps over.
  const std::string with_unread = review_with_unread_parts();
  const row malformed[] = {
      {"a bad literal in status", replaced(with_unread, R"("phase":"Pending")", R"("phase":tru)"), "not valid JSON"},
      {"an empty item in managedFields", replaced(with_unread, R"("f:image":{})", R"("f:image":[1,,2])"),
       "not valid JSON"},
      {"a lone surrogate in oldObject", replaced(with_unread, R"("name":"old-pod")", R"("name":"\ud800")"),
       "surrogate"},
      {"a malformed number in userInfo", replaced(with_unread, R"("groups":["system:masters"])", R"("groups":[1.2.3])"),
       "not valid JSON"},
      {"a NUL in a key of oldObject", replaced(with_unread, R"("name":"old-pod")", R"("na\u0000me":"old-pod")"),
       "NUL character"},
  };
  for (const row& r : malformed) {
    SCOPED_TRACE(r.what);
    const patch::injection_result res = e.handle(r.body.data(), r.body.size(), r.body.size());
    EXPECT_EQ(res.http_status, 400);
    EXPECT_NE(std::string(res.message).find(r.needle), std::string::npos) << res.message;
  }
  // The edges of int32 are accepted.
  for (const char* port : {"2147483647", "0"}) {
    const std::string body = replaced(base, R"("containerPort":8080)", std::string(R"("containerPort":)") + port);
    EXPECT_EQ(e.handle(body.data(), body.size(), body.size()).http_status, 200) << port;
  }
}

}  // namespace
