// The request path's JSON tree and its arena: building, lookup, mutation,
// equality by meaning, conversion from simdjson, depth bound, and no heap once
// the arena is warm. nlohmann-json is the independent reader the trees are
// checked against.

#include "core/json_tree.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <nlohmann/json.hpp>
#include <string>

namespace {

namespace json = meshinject::core::json;
using meshinject::core::arena;
using nl = nlohmann::json;

nl to_nl(const json::value& v) {
  switch (v.type()) {
    case json::kind::null: return nullptr;
    case json::kind::boolean: return v.as_bool();
    case json::kind::number:
      if (v.is_integer()) return v.as_integer();
      return nl::parse(std::string(v.number_text()));
    case json::kind::string: return std::string(v.as_string());
    case json::kind::array: {
      nl out = nl::array();
      for (const auto& item : v.items()) out.push_back(to_nl(item));
      return out;
    }
    case json::kind::object: {
      nl out = nl::object();
      for (const auto& m : v.members()) out[std::string(m.key)] = to_nl(m.v);
      return out;
    }
  }
  return nullptr;
}

struct tree_fixture : ::testing::Test {
  arena a;
  simdjson::dom::parser parser;

  json::value parse(std::string_view text) {
    json::value v;
    const json::error err = json::parse(text, parser, a, v);
    EXPECT_FALSE(err) << err.message << " in " << text;
    return v;
  }
};

TEST(arena, aligns_and_reuses_blocks_after_reset) {
  arena a(256);
  for (int round = 0; round < 3; ++round) {
    a.reset();
    for (int i = 0; i < 100; ++i) {
      void* p = a.allocate(40, 8);
      ASSERT_NE(p, nullptr);
      EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % 8, 0u);
      auto* c = static_cast<char*>(a.allocate(3, 1));
      ASSERT_NE(c, nullptr);
    }
    auto* big = a.allocate_array<std::uint64_t>(1000);  // larger than any growth block so far
    ASSERT_NE(big, nullptr);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(big) % alignof(std::uint64_t), 0u);
  }
  const std::size_t warm = a.heap_allocations();
  a.reset();
  for (int i = 0; i < 100; ++i) {
    ASSERT_NE(a.allocate(40, 8), nullptr);
    ASSERT_NE(a.allocate(3, 1), nullptr);
  }
  ASSERT_NE(a.allocate_array<std::uint64_t>(1000), nullptr);
  EXPECT_EQ(a.heap_allocations(), warm) << "a warm arena serves the same workload without the heap";
  EXPECT_GT(a.bytes_used(), 8000u);
}

TEST(arena, refuses_past_its_limit) {
  arena a(1024, 4096);
  EXPECT_NE(a.allocate(1000, 8), nullptr);
  EXPECT_EQ(a.allocate(10000, 8), nullptr);
  EXPECT_EQ(a.allocate_array<std::uint64_t>(std::size_t{1} << 61), nullptr);
  bool ok = true;
  a.copy(std::string(8192, 'x'), ok);
  EXPECT_FALSE(ok);
  EXPECT_LE(a.bytes_reserved(), 4096u);
}

TEST(json_value, is_a_small_handle) { EXPECT_LE(sizeof(json::value), 32u); }

TEST(json_value, number_literals_follow_json_grammar) {
  for (const char* ok : {"0", "-0", "12", "-12", "1.5", "1e3", "1E+3", "-1.25e-7", "9223372036854775807",
                         "18446744073709551616"}) {
    json::value v;
    EXPECT_FALSE(json::value::number(ok, v)) << ok;
    EXPECT_EQ(v.number_text(), ok);
  }
  for (const char* bad : {"", "-", "01", "1.", ".5", "1e", "1e+", "+1", "0x10", "1.5.2", "NaN", "1 "}) {
    json::value v;
    EXPECT_EQ(json::value::number(bad, v).code, json::errc::invalid_number) << bad;
  }
  json::value v;
  ASSERT_FALSE(json::value::number("9223372036854775807", v));
  EXPECT_TRUE(v.is_integer());
  EXPECT_EQ(v.as_integer(), INT64_MAX);
  ASSERT_FALSE(json::value::number("9223372036854775808", v));
  EXPECT_FALSE(v.is_integer()) << "beyond int64 keeps its text, not a wrapped value";
  ASSERT_FALSE(json::value::number("2.0", v));
  EXPECT_FALSE(v.is_integer());
  EXPECT_TRUE(v.is_float_literal());
  EXPECT_DOUBLE_EQ(v.as_double(), 2.0);
}

TEST(json_value, floating_prints_shortest_and_stays_a_float) {
  arena a;
  json::value v;
  ASSERT_FALSE(json::value::floating(1.0, a, v));
  EXPECT_EQ(v.number_text(), "1.0");
  ASSERT_FALSE(json::value::floating(0.1, a, v));
  EXPECT_EQ(v.number_text(), "0.1");
  ASSERT_FALSE(json::value::floating(1e22, a, v));
  EXPECT_EQ(nl::parse(std::string(v.number_text())).get<double>(), 1e22);
  EXPECT_EQ(json::value::floating(std::numeric_limits<double>::infinity(), a, v).code, json::errc::invalid_number);
  EXPECT_EQ(json::value::floating(std::numeric_limits<double>::quiet_NaN(), a, v).code, json::errc::invalid_number);
}

TEST_F(tree_fixture, converts_simdjson_documents) {
  const char* docs[] = {
      R"({"a":1,"b":[true,false,null,"x\u00e9\n"],"c":{"d":-2.5e-3,"e":18446744073709551615,"f":{}},"g":[]})",
      R"([1,2,[3,[4,[5]]],{"k":"v"}])",
      R"("just a string")",
      R"(-9223372036854775808)",
      R"({"":"empty key","a/b":"~1","~":0})",
  };
  for (const char* d : docs) {
    const json::value v = parse(d);
    EXPECT_EQ(to_nl(v), nl::parse(d)) << d;
  }
}

TEST_F(tree_fixture, repeated_keys_keep_the_last_value) {
  json::value v = parse(R"({"a":1,"b":2,"a":3})");
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v.members()[0].key, "b");
  EXPECT_EQ(v.find("a")->as_integer(), 3);

  std::string big = "{";
  for (int i = 0; i < 40; ++i) big += "\"k" + std::to_string(i) + "\":" + std::to_string(i) + ",";
  big += "\"k7\":700,\"k39\":3900}";
  v = parse(big);
  EXPECT_EQ(v.size(), 40u);
  EXPECT_EQ(v.find("k7")->as_integer(), 700);
  EXPECT_EQ(v.find("k39")->as_integer(), 3900);
  EXPECT_EQ(v.find("k8")->as_integer(), 8);
}

TEST_F(tree_fixture, depth_is_bounded_at_512) {
  const std::string ok = std::string(512, '[') + std::string(512, ']');
  json::value v;
  EXPECT_FALSE(json::parse(ok, parser, a, v));
  EXPECT_EQ(json::depth(v), 512u);
  const std::string deep = std::string(513, '[') + std::string(513, ']');
  EXPECT_EQ(json::parse(deep, parser, a, v).code, json::errc::too_deep);
  std::string objs;
  for (int i = 0; i < 513; ++i) objs += "{\"a\":";
  objs += "1" + std::string(513, '}');
  EXPECT_EQ(json::parse(objs, parser, a, v).code, json::errc::too_deep);
}

TEST_F(tree_fixture, invalid_text_is_an_error_value) {
  json::value v;
  for (const char* bad : {"", "{", "[1,]", "{\"a\" 1}", "tru", "\"\xff\""})
    EXPECT_EQ(json::parse(bad, parser, a, v).code, json::errc::invalid_json) << bad;
}

TEST_F(tree_fixture, equality_is_by_meaning) {
  EXPECT_TRUE(json::equal(parse(R"({"a":1,"b":[1,2]})"), parse(R"({"b":[1,2],"a":1})")));
  EXPECT_FALSE(json::equal(parse(R"({"a":1,"b":[1,2]})"), parse(R"({"b":[2,1],"a":1})")));
  EXPECT_FALSE(json::equal(parse(R"({"a":1})"), parse(R"({"a":1,"b":null})")));
  EXPECT_FALSE(json::equal(parse(R"({"a":1,"c":2})"), parse(R"({"a":1,"b":2})")));
  EXPECT_TRUE(json::equal(parse("1"), parse("1.0")));
  EXPECT_TRUE(json::equal(parse("100"), parse("1e2")));
  EXPECT_FALSE(json::equal(parse("1"), parse("\"1\"")));
  EXPECT_FALSE(json::equal(parse("null"), parse("false")));
  EXPECT_FALSE(json::equal(parse("18446744073709551615"), parse("18446744073709551614")))
      << "integers beyond int64 compare exactly";
  EXPECT_TRUE(json::equal(parse("18446744073709551615"), parse("18446744073709551615")));
  EXPECT_FALSE(json::equal(parse("9007199254740993"), parse("9007199254740992")));
  json::value lit;
  ASSERT_FALSE(json::value::number("-0", lit));
  EXPECT_TRUE(json::equal(lit, json::value::integer(0)));
}

// index_of compares keys of up to 16 bytes inline, in overlapping loads: a key
// that differs from the one looked up in any single byte, at any length, is
// another key; the same bytes elsewhere in memory are the same key.
TEST_F(tree_fixture, keys_differing_in_one_byte_are_different_keys) {
  bool ok = true;
  for (std::size_t n = 0; n <= 24; ++n) {
    std::string key(n, 'k');
    for (std::size_t i = 0; i < n; ++i) key[i] = static_cast<char>('a' + i);
    json::value obj = json::value::object();
    for (std::size_t at = 0; at < n; ++at) {
      std::string other = key;
      other[at] = '#';
      const std::string_view stored = a.copy(other, ok);
      ASSERT_FALSE(obj.append_member(a, stored, json::value::integer(static_cast<std::int64_t>(at))));
    }
    EXPECT_EQ(obj.index_of(key), json::value::npos) << "length " << n;
    const std::string_view same = a.copy(key, ok);
    ASSERT_FALSE(obj.append_member(a, same, json::value::integer(-1)));
    const std::string lookup = key;  // other bytes, same content
    EXPECT_EQ(obj.index_of(lookup), n) << "length " << n;
  }
  ASSERT_TRUE(ok);
}

TEST_F(tree_fixture, objects_and_arrays_mutate_in_place) {
  json::value obj = json::value::object();
  for (int i = 0; i < 20; ++i) {
    const std::string key = "k" + std::to_string(i);
    json::value s;
    ASSERT_FALSE(json::value::string_copy(key, a, s));
    ASSERT_FALSE(obj.set(a, s.as_string(), json::value::integer(i)));
  }
  ASSERT_FALSE(obj.set(a, "k3", json::value::string("three")));
  EXPECT_EQ(obj.size(), 20u);
  EXPECT_EQ(obj.find("k3")->as_string(), "three");
  EXPECT_EQ(obj.index_of("k19", 19), 19u);
  EXPECT_EQ(obj.index_of("k0", 19), 0u) << "the hinted scan wraps around";
  EXPECT_TRUE(obj.erase("k0"));
  EXPECT_FALSE(obj.erase("k0"));
  EXPECT_EQ(obj.members()[0].key, "k1");
  EXPECT_EQ(obj.find("nope"), nullptr);

  json::value arr = json::value::array();
  for (int i = 0; i < 10; ++i) ASSERT_FALSE(arr.push_back(a, json::value::integer(i)));
  ASSERT_FALSE(arr.insert(a, 0, json::value::integer(-1)));
  ASSERT_FALSE(arr.insert(a, arr.size(), json::value::integer(10)));
  arr.erase(std::size_t{5});
  EXPECT_EQ(to_nl(arr), nl::parse("[-1,0,1,2,3,5,6,7,8,9,10]"));
  // An item of the array itself, appended while the array grows.
  json::value small = json::value::array();
  ASSERT_FALSE(small.push_back(a, json::value::string("x")));
  for (int i = 0; i < 6; ++i) ASSERT_FALSE(small.push_back(a, small.items()[0]));
  EXPECT_EQ(to_nl(small), nl::parse(R"(["x","x","x","x","x","x","x"])"));
  EXPECT_TRUE(arr.insert(a, 99, json::value()).code == json::errc::type_conflict);
  EXPECT_TRUE(obj.push_back(a, json::value()).code == json::errc::type_conflict);
}

// A deep copy sharing strings copies each array and object whole and then
// replaces its arrays and objects by copies: every level must still be its own.
TEST_F(tree_fixture, deep_copy_sharing_strings_owns_every_array_and_object) {
  const char* const text = R"({"a":{"b":[1,{"c":"d"},[]],"e":{}},"f":"g","h":[[["i"]]]})";
  const json::value original = parse(text);
  json::value copy;
  ASSERT_FALSE(json::deep_copy(original, a, copy));
  EXPECT_TRUE(json::identical(copy, original)) << "strings shared, structure the same";
  EXPECT_EQ(copy.find("f")->as_string().data(), original.find("f")->as_string().data());
  copy.find("a")->find("b")->items()[1].find("c")->operator=(json::value::string("changed"));
  ASSERT_FALSE(copy.find("a")->find("b")->items()[2].push_back(a, json::value::integer(3)));
  ASSERT_FALSE(copy.find("a")->find("e")->append_member(a, "new", json::value::integer(4)));
  ASSERT_FALSE(copy.find("h")->items()[0].items()[0].push_back(a, json::value::string("j")));
  ASSERT_FALSE(copy.find("a")->find("b")->push_back(a, json::value::integer(5)));
  *copy.find("f") = json::value::string("other");
  EXPECT_EQ(to_nl(original), nl::parse(text));
  EXPECT_EQ(to_nl(copy),
            nl::parse(R"({"a":{"b":[1,{"c":"changed"},[3],5],"e":{"new":4}},"f":"other","h":[[["i","j"]]]})"));
}

// Nested beyond max_depth: refused as before, also where the deepest child is a scalar.
TEST_F(tree_fixture, deep_copy_sharing_strings_refuses_trees_nested_too_deep) {
  for (const bool scalar_at_the_bottom : {false, true}) {
    json::value v = scalar_at_the_bottom ? json::value::integer(1) : json::value::array();
    for (std::size_t i = 0; i <= json::max_depth; ++i) {  // the bottom one level past max_depth
      json::value outer = json::value::array();
      ASSERT_FALSE(outer.push_back(a, v));
      v = outer;
    }
    json::value copy;
    EXPECT_TRUE(json::deep_copy(v, a, copy).code == json::errc::too_deep) << scalar_at_the_bottom;
    json::value shallower = v.items()[0];
    EXPECT_FALSE(json::deep_copy(shallower, a, copy)) << scalar_at_the_bottom;
  }
}

TEST_F(tree_fixture, deep_copy_is_independent) {
  const json::value original = parse(R"({"a":{"b":[1,{"c":"d"}]},"e":"f"})");
  json::value copy;
  ASSERT_FALSE(json::deep_copy(original, a, copy, true));
  EXPECT_TRUE(json::equal(original, copy));
  copy.find("a")->find("b")->items()[1].find("c")->operator=(json::value::string("changed"));
  ASSERT_FALSE(copy.find("a")->find("b")->push_back(a, json::value::integer(3)));
  EXPECT_EQ(to_nl(original), nl::parse(R"({"a":{"b":[1,{"c":"d"}]},"e":"f"})"));
  EXPECT_FALSE(json::equal(original, copy));
  EXPECT_NE(copy.find("e")->as_string().data(), original.find("e")->as_string().data());
}

TEST_F(tree_fixture, borrowed_strings_point_into_the_parser_document) {
  const std::string text = R"({"key":"value"})";
  simdjson::padded_string padded(text);
  simdjson::dom::element root;
  ASSERT_EQ(parser.parse(padded).get(root), simdjson::SUCCESS);
  json::value borrowed, copied;
  ASSERT_FALSE(json::from_simdjson(root, a, borrowed, json::strings::borrow));
  ASSERT_FALSE(json::from_simdjson(root, a, copied, json::strings::copy));
  EXPECT_EQ(borrowed.find("key")->as_string().data(), root["key"].get_string().value().data());
  EXPECT_NE(copied.find("key")->as_string().data(), root["key"].get_string().value().data());
  EXPECT_TRUE(json::equal(borrowed, copied));
}

TEST_F(tree_fixture, omitted_members_are_left_out_only_where_named) {
  const std::string text =
      R"({"status":{"a":1},"metadata":{"managedFields":[{"x":[1]}],"name":"p","status":"kept"},)"
      R"("spec":{"status":"kept","managedFields":"kept","metadata":{"managedFields":"kept"}},)"
      R"("status":"repeated","list":[{"managedFields":1}]})";
  simdjson::padded_string padded(text);
  simdjson::dom::element root;
  ASSERT_EQ(parser.parse(padded).get(root), simdjson::SUCCESS);
  const json::omitted_member omit[] = {{{}, "status"}, {"metadata", "managedFields"}};
  json::value lean;
  ASSERT_FALSE(json::from_simdjson(root, a, lean, json::strings::borrow, omit));
  EXPECT_EQ(to_nl(lean), nl::parse(R"({"metadata":{"name":"p","status":"kept"},)"
                                   R"("spec":{"status":"kept","managedFields":"kept","metadata":{"managedFields":"kept"}},)"
                                   R"("list":[{"managedFields":1}]})"));
  // An empty list converts everything, as the plain overload does.
  json::value whole, plain;
  ASSERT_FALSE(json::from_simdjson(root, a, whole, json::strings::borrow, {}));
  ASSERT_FALSE(json::from_simdjson(root, a, plain));
  EXPECT_TRUE(json::equal(whole, plain));
  EXPECT_EQ(to_nl(plain)["status"], "repeated");
}

TEST_F(tree_fixture, a_warm_arena_parses_again_without_the_heap) {
  const std::string doc =
      R"({"metadata":{"name":"p","labels":{"app":"x"}},"spec":{"containers":[{"name":"a","image":"i",)"
      R"("ports":[{"containerPort":80}]},{"name":"b","args":["-x","1.5"]}]}})";
  json::value v;
  ASSERT_FALSE(json::parse(doc, parser, a, v));
  json::value copy;
  ASSERT_FALSE(json::deep_copy(v, a, copy, true));
  const std::size_t warm = a.heap_allocations();
  for (int i = 0; i < 50; ++i) {
    a.reset();
    ASSERT_FALSE(json::parse(doc, parser, a, v));
    ASSERT_FALSE(json::deep_copy(v, a, copy, true));
  }
  EXPECT_EQ(a.heap_allocations(), warm);
}

TEST_F(tree_fixture, a_full_arena_is_an_error_not_a_crash) {
  arena tiny(256, 512);
  json::value v;
  std::string doc = "[";
  for (int i = 0; i < 200; ++i) doc += "\"some string value\",";
  doc += "1]";
  EXPECT_EQ(json::parse(doc, parser, tiny, v).code, json::errc::out_of_memory);
}

}  // namespace

namespace {

// identical(): what a writer checks before it uses text prepared for another
// subtree (json::prepared_text), so it must see every change a merge can make.
TEST(json_tree_identical, a_copy_sharing_strings_is_identical_until_changed) {
  arena a;
  simdjson::dom::parser parser;
  json::value source;
  ASSERT_FALSE(json::parse(R"({"name":"istio-proxy","args":["proxy","sidecar"],"port":15090,"on":true,"x":null,
                               "r":{"limits":{"cpu":"2"}}})",
                           parser, a, source));
  const auto fresh_copy = [&] {
    json::value c;
    EXPECT_FALSE(json::deep_copy(source, a, c));
    return c;
  };
  EXPECT_TRUE(json::identical(source, source));
  EXPECT_TRUE(json::identical(fresh_copy(), source));

  json::value strings_copied;
  ASSERT_FALSE(json::deep_copy(source, a, strings_copied, true));
  EXPECT_TRUE(json::equal(strings_copied, source));
  EXPECT_FALSE(json::identical(strings_copied, source)) << "equal text in other bytes: not the same handles";

  json::value c = fresh_copy();
  c.find("r")->find("limits")->find("cpu")->operator=(json::value::string("2"));  // equal, other bytes
  EXPECT_FALSE(json::identical(c, source)) << "a change two levels down";

  c = fresh_copy();
  ASSERT_FALSE(c.find("args")->push_back(a, json::value::string("--x")));
  EXPECT_FALSE(json::identical(c, source)) << "an item appended";

  c = fresh_copy();
  *c.find("port") = json::value::integer(15090);
  EXPECT_TRUE(json::identical(c, source)) << "an integer written anew: the same text";
  *c.find("port") = json::value::integer(15091);
  EXPECT_FALSE(json::identical(c, source));

  c = fresh_copy();
  *c.find("on") = json::value::boolean(false);
  EXPECT_FALSE(json::identical(c, source));

  c = fresh_copy();
  ASSERT_TRUE(c.erase("x"));
  ASSERT_FALSE(c.append_member(a, "x", json::value()));
  EXPECT_FALSE(json::identical(c, source)) << "the same member, now in another place";

  c = fresh_copy();
  std::swap(c.members()[0], c.members()[1]);
  EXPECT_FALSE(json::identical(c, source)) << "member order is part of the text";

  json::value i1 = json::value::integer(7), i2 = json::value::integer(7), i3 = json::value::integer(8);
  EXPECT_TRUE(json::identical(i1, i2));
  EXPECT_FALSE(json::identical(i1, i3));
}

TEST(json_tree_identical, prepared_text_follows_handle_copies_and_deep_copies_sharing_strings) {
  arena a;
  simdjson::dom::parser parser;
  json::value source;
  ASSERT_FALSE(json::parse(R"({"a":[1,2]})", parser, a, source));
  const json::prepared_text text{&source, R"({"a":[1,2]})"};
  source.set_prepared(&text);
  EXPECT_EQ(source.prepared(), &text);
  json::value handle = source;
  EXPECT_EQ(handle.prepared(), &text);
  json::value copy, strings_copied;
  ASSERT_FALSE(json::deep_copy(source, a, copy));
  ASSERT_FALSE(json::deep_copy(source, a, strings_copied, true));
  EXPECT_EQ(copy.prepared(), &text);
  EXPECT_EQ(strings_copied.prepared(), nullptr) << "its strings could never be identical";
  EXPECT_EQ(source.find("a")->prepared(), nullptr) << "set on the object only";
  json::value scalar = json::value::integer(1);
  scalar.set_prepared(&text);
  EXPECT_EQ(scalar.prepared(), nullptr) << "scalars carry no text";
  EXPECT_EQ(scalar.as_integer(), 1);
}

}  // namespace
