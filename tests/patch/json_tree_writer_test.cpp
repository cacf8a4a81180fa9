// The compact JSON writer (patch/json_tree_writer.hpp): text prepared for a
// subtree is written only while the subtree is identical to the one the text
// was written from; a changed subtree (or a change anywhere below it) is walked.

#include "patch/json_tree_writer.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

namespace json = meshinject::core::json;
using meshinject::core::arena;
using meshinject::patch::append_json;

class json_tree_writer : public ::testing::Test {
 protected:
  arena a;
  simdjson::dom::parser parser;

  json::value tree(std::string_view text) {
    json::value v;
    const json::error err = json::parse(text, parser, a, v);
    EXPECT_FALSE(err) << err.message;
    return v;
  }
  static std::string text_of(const json::value& v) {
    std::string out;
    append_json(out, v);
    return out;
  }
};

TEST_F(json_tree_writer, writes_compact_json_in_member_order) {
  EXPECT_EQ(text_of(tree(R"({ "b" : [1, 2.5, "x\"y"], "a": {"n": null, "t": true}})")),
            R"({"b":[1,2.5,"x\"y"],"a":{"n":null,"t":true}})");
}

// The prepared text here differs from the tree's own on purpose (spaces), so
// the output shows which was written.
TEST_F(json_tree_writer, prepared_text_is_used_while_the_copy_is_unchanged) {
  json::value source = tree(R"({"name":"istio-proxy","resources":{"limits":{"cpu":"2"}},"args":["a"]})");
  const json::prepared_text prepared{&source, R"({ "prepared": true })"};
  source.set_prepared(&prepared);

  json::value copy;
  ASSERT_FALSE(json::deep_copy(source, a, copy));
  EXPECT_EQ(text_of(copy), R"({ "prepared": true })");
  json::value wrapper = json::value::array();
  ASSERT_FALSE(wrapper.push_back(a, copy));
  EXPECT_EQ(text_of(wrapper), R"([{ "prepared": true }])") << "used below an unprepared parent";

  // A request's merge changes a value two levels down (a user container of
  // the same name merged in): the copy is walked, so the change is written.
  ASSERT_FALSE(json::value::string_copy("4", a, *copy.find("resources")->find("limits")->find("cpu")));
  EXPECT_EQ(text_of(copy), R"({"name":"istio-proxy","resources":{"limits":{"cpu":"4"}},"args":["a"]})");

  ASSERT_FALSE(json::deep_copy(source, a, copy));
  ASSERT_FALSE(copy.find("args")->push_back(a, json::value::string("b")));
  EXPECT_EQ(text_of(copy), R"({"name":"istio-proxy","resources":{"limits":{"cpu":"2"}},"args":["a","b"]})");

  ASSERT_FALSE(json::deep_copy(source, a, copy));
  ASSERT_TRUE(copy.erase("args"));
  EXPECT_EQ(text_of(copy), R"({"name":"istio-proxy","resources":{"limits":{"cpu":"2"}}})");
}

TEST_F(json_tree_writer, an_unchanged_child_keeps_its_text_when_its_parent_changed) {
  json::value source = tree(R"({"env":[{"name":"A"}],"securityContext":{"runAsUser":1337}})");
  const json::prepared_text whole{&source, "WHOLE"};
  source.set_prepared(&whole);
  json::value* context = source.find("securityContext");
  const json::prepared_text part{context, R"({ "kept": 1 })"};
  context->set_prepared(&part);

  json::value copy;
  ASSERT_FALSE(json::deep_copy(source, a, copy));
  EXPECT_EQ(text_of(copy), "WHOLE");
  ASSERT_FALSE(copy.find("env")->push_back(a, json::value::string("B")));
  EXPECT_EQ(text_of(copy), R"({"env":[{"name":"A"},"B"],"securityContext":{ "kept": 1 }})");
}

}  // namespace
