// The value model: scalars, generic lists and maps built in an arena, JSON
// values, map[string]string views, and host objects through a binding.

#include <gtest/gtest.h>

#include <string>

#include "tests/template/test_binding.hpp"

namespace {

namespace tt = meshinject::tmpl;
using tt::value;

std::string printed(const value& v) {
  std::string s;
  tt::print_value(v, s);
  return s;
}

TEST(template_values, scalars_print_as_go) {
  EXPECT_EQ(printed(value{}), "<no value>");
  EXPECT_EQ(printed(value::nil()), "<nil>");
  EXPECT_EQ(printed(value::boolean(true)), "true");
  EXPECT_EQ(printed(value::integer(-42)), "-42");
  EXPECT_EQ(printed(value::floating(1e21)), "1e+21");
  EXPECT_EQ(printed(value::floating(0.5)), "0.5");
  EXPECT_EQ(printed(value::string("s")), "s");
  std::string s;
  tt::sprint(value{}, s);
  EXPECT_EQ(s, "<nil>");  // print/printf show a missing value as nil
  EXPECT_EQ(tt::type_name(value::floating(1)), "float64");
  EXPECT_EQ(tt::type_name(value{}), "<no value>");
}

TEST(template_values, lists_and_maps_live_in_the_arena) {
  tt::arena a;
  const value items[] = {value::string("x"), value::integer(2)};
  const value l = tt::make_list(a, items);
  EXPECT_EQ(l.k, tt::kind::list);
  EXPECT_EQ(printed(l), "[x 2]");
  EXPECT_TRUE(tt::truth(l));
  EXPECT_FALSE(tt::truth(tt::make_list(a, {})));
  EXPECT_EQ(tt::type_name(l), "[]interface {}");
  ASSERT_EQ(tt::list_items(l).size(), 2u);
  EXPECT_EQ(tt::list_items(l)[1].i, 2);

  // Keys sorted; for a repeated key the last entry wins.
  const tt::map_entry entries[] = {{"b", value::integer(1)}, {"a", l}, {"c", value::nil()}, {"b", value::integer(9)}};
  const value m = tt::make_map(a, entries);
  EXPECT_EQ(m.k, tt::kind::map);
  EXPECT_EQ(printed(m), "map[a:[x 2] b:9 c:<nil>]");
  EXPECT_EQ(tt::map_entries(m).size(), 3u);
  const value found = m.type->find(m, "b");
  EXPECT_EQ(found.k, tt::kind::integer);
  EXPECT_EQ(found.i, 9);
  EXPECT_EQ(m.type->find(m, "z").k, tt::kind::invalid);
  EXPECT_FALSE(tt::truth(tt::make_map(a, {})));
  std::int64_t n = 0;
  EXPECT_TRUE(m.type->length(m, n));
  EXPECT_EQ(n, 3);
}

TEST(template_values, arena_reuse_needs_no_new_blocks) {
  tt::arena a(1024);
  const value items[] = {value::integer(1), value::integer(2), value::integer(3)};
  tt::make_list(a, items);
  const std::size_t capacity = a.capacity();
  for (int round = 0; round < 100; ++round) {
    a.reset();
    tt::make_list(a, items);
  }
  EXPECT_EQ(a.capacity(), capacity);
}

TEST(template_values, string_maps_print_and_find_in_key_order) {
  const meshinject::core::label labels[] = {{"tier", "front"}, {"app", "web"}, {"app", "dup"}};
  const value m = tt::string_map(labels, true);
  EXPECT_TRUE(tt::is_string_map(m));
  EXPECT_EQ(printed(m), "map[app:web app:dup tier:front]");
  EXPECT_EQ(tt::type_name(m), "map[string]string");
  const value found = m.type->find(m, "app");
  ASSERT_EQ(found.k, tt::kind::string);
  EXPECT_EQ(found.s, "web");
  EXPECT_EQ(found.origin, "app");  // errors name the key a value came from
  EXPECT_FALSE(tt::truth(tt::string_map({}, true)));
}

TEST(template_values, json_as_encoding_json_decodes_it) {
  simdjson::dom::parser parser;
  const value v = tt::from_json(parser.parse(std::string(R"({"z":[true,null,"s"],"a":2,"m":{}})")).value(), "an-annotation");
  EXPECT_EQ(v.k, tt::kind::json);
  EXPECT_EQ(v.origin, "an-annotation");
  EXPECT_EQ(printed(v), "map[a:2 m:map[] z:[true <nil> s]]");
  EXPECT_EQ(tt::type_name(v), "map[string]interface {}");
  const value a = v.type->find(v, "a");
  EXPECT_EQ(a.k, tt::kind::floating);  // every number is a float64
  const value scalar = tt::from_json(parser.parse(std::string("7")).value());
  EXPECT_EQ(scalar.k, tt::kind::floating);
}

TEST(template_values, host_objects_go_through_their_binding) {
  meshinject::test::test_data d;
  const value root = meshinject::test::test_root(d);
  EXPECT_EQ(tt::type_name(root), "*test.Data");
  EXPECT_EQ(printed(root), "{test data}");
  EXPECT_TRUE(tt::truth(root));  // the binding's default
}

}  // namespace
