// cmd/json_patch: RFC 6902 over the ordered tree, checked against nlohmann-json's
// implementation (the tests' oracle), plus the error paths.
#include "cmd/json_patch.hpp"

#include <gtest/gtest.h>
#include <simdjson.h>

#include "tests/support/support.hpp"

namespace meshinject::test {
namespace {

cmd::yaml::value tree(const json& j) {
  simdjson::dom::parser p;
  return cmd::yaml::from_json(p.parse(simdjson::padded_string(j.dump())).value());
}

json back(const cmd::yaml::value& v) { return json::parse(cmd::yaml::to_json(v)); }

// Applies `patch` both ways and expects the same result.
void expect_like_oracle(const json& doc, const json& patch) {
  cmd::yaml::value v = tree(doc);
  const std::string error = cmd::json_patch::apply(v, patch.dump());
  ASSERT_EQ(error, "") << patch.dump();
  EXPECT_EQ(back(v), apply_patch(doc, patch)) << patch.dump();
}

const json pod = json::parse(R"({
  "metadata": {"name": "p", "annotations": {"a/b": "1", "c~d": "2"}},
  "spec": {"containers": [{"name": "app"}, {"name": "old"}], "volumes": []}
})");

TEST(JsonPatch, PointersUnescape) {
  std::vector<std::string> t;
  ASSERT_TRUE(cmd::json_patch::parse_pointer("/a~1b/c~0d/~01", t));
  EXPECT_EQ(t, (std::vector<std::string>{"a/b", "c~d", "~1"}));
  ASSERT_TRUE(cmd::json_patch::parse_pointer("", t));
  EXPECT_TRUE(t.empty());
  ASSERT_TRUE(cmd::json_patch::parse_pointer("/", t));
  EXPECT_EQ(t, (std::vector<std::string>{""}));
  EXPECT_FALSE(cmd::json_patch::parse_pointer("a", t));
  EXPECT_FALSE(cmd::json_patch::parse_pointer("/a~2", t));
  EXPECT_FALSE(cmd::json_patch::parse_pointer("/a~", t));
}

TEST(JsonPatch, EveryOperationMatchesTheOracle) {
  expect_like_oracle(pod, json::parse(R"([{"op":"add","path":"/spec/containers/-","value":{"name":"proxy"}}])"));
  expect_like_oracle(pod, json::parse(R"([{"op":"add","path":"/spec/containers/0","value":{"name":"first"}}])"));
  expect_like_oracle(pod, json::parse(R"([{"op":"add","path":"/spec/containers/2","value":{"name":"last"}}])"));
  expect_like_oracle(pod, json::parse(R"([{"op":"add","path":"/spec/initContainers","value":[{"name":"init"}]}])"));
  expect_like_oracle(pod, json::parse(R"([{"op":"add","path":"/metadata/annotations/x~1y","value":"z"}])"));
  expect_like_oracle(pod, json::parse(R"([{"op":"add","path":"/metadata/name","value":"renamed"}])"));
  expect_like_oracle(pod, json::parse(R"([{"op":"replace","path":"/metadata/annotations/c~0d","value":"3"}])"));
  expect_like_oracle(pod, json::parse(R"([{"op":"remove","path":"/spec/containers/1"}])"));
  expect_like_oracle(pod, json::parse(R"([{"op":"remove","path":"/metadata/annotations/a~1b"}])"));
  expect_like_oracle(pod, json::parse(R"([{"op":"move","from":"/metadata/name","path":"/metadata/generateName"}])"));
  expect_like_oracle(pod, json::parse(R"([{"op":"move","from":"/spec/containers/0","path":"/spec/containers/1"}])"));
  expect_like_oracle(pod, json::parse(R"([{"op":"copy","from":"/spec/containers/0","path":"/spec/containers/-"}])"));
  expect_like_oracle(pod, json::parse(R"([{"op":"test","path":"/spec/containers/0/name","value":"app"}])"));
  expect_like_oracle(pod, json::parse(R"([{"op":"replace","path":"","value":{"x":1}}])"));
  expect_like_oracle(pod, json::parse(R"([
    {"op":"remove","path":"/spec/containers/1"},
    {"op":"add","path":"/spec/containers/-","value":{"name":"istio-proxy","args":["1337"]}},
    {"op":"add","path":"/spec/volumes","value":[{"name":"v"}]},
    {"op":"replace","path":"/metadata/annotations/a~1b","value":"{\"json\":true}"}])"));
}

TEST(JsonPatch, AddKeepsKeyOrderAndAppendsNewKeys) {
  simdjson::dom::parser p;  // not through nlohmann::json, which sorts keys
  cmd::yaml::value v = cmd::yaml::from_json(p.parse(simdjson::padded_string(std::string(R"({"b":1,"a":2})"))).value());
  ASSERT_EQ(cmd::json_patch::apply(v, R"([{"op":"add","path":"/b","value":3},{"op":"add","path":"/c","value":4}])"),
            "");
  ASSERT_EQ(v.members.size(), 3u);
  EXPECT_EQ(v.members[0].first, "b");
  EXPECT_EQ(v.members[0].second.i, 3);
  EXPECT_EQ(v.members[2].first, "c");
}

TEST(JsonPatch, ErrorsNameTheOperationAndLeaveTheDocumentAlone) {
  struct bad {
    const char* patch;
    const char* message;
  } cases[] = {
      {R"([{"op":"remove","path":"/spec/nope"}])", "operation 1 (remove /spec/nope): /spec/nope does not exist"},
      {R"([{"op":"add","path":"/spec/containers/3","value":1}])", "past the end of the array (size 2)"},
      {R"([{"op":"add","path":"/spec/containers/01","value":1}])", "is not an array index"},
      {R"([{"op":"add","path":"/nope/x","value":1}])", "/nope does not exist"},
      {R"([{"op":"replace","path":"/spec/x","value":1}])", "/spec/x does not exist"},
      {R"([{"op":"test","path":"/metadata/name","value":"q"}])", "the value differs"},
      {R"([{"op":"move","from":"/spec","path":"/spec/x"}])", "into itself"},
      {R"([{"op":"copy","path":"/x"}])", "\"from\" is missing"},
      {R"([{"op":"add","path":"/x"}])", "\"value\" is missing"},
      {R"([{"op":"frobnicate","path":"/x"}])", "unknown operation"},
      {R"([{"op":"add","path":"x","value":1}])", "is not a JSON pointer"},
      {R"({"op":"add"})", "not a JSON array"},
      {R"([)", "not valid JSON"},
      {R"([{"op":"add","path":"/metadata/name/x","value":1}])", "is not an object or an array"},
      {R"([{"op":"add","path":"/x","value":1},{"op":"remove","path":"/y"}])", "operation 2"},
  };
  for (const auto& c : cases) {
    cmd::yaml::value v = tree(pod);
    const std::string error = cmd::json_patch::apply(v, c.patch);
    EXPECT_NE(error.find(c.message), std::string::npos) << c.patch << " -> " << error;
    EXPECT_EQ(back(v), pod) << "partially applied: " << c.patch;
  }
}

TEST(JsonPatch, TestComparesNumbersByValueAndObjectsWithoutOrder) {
  cmd::yaml::value v = tree(json::parse(R"({"n":1,"o":{"a":1,"b":[1,2]}})"));
  EXPECT_EQ(cmd::json_patch::apply(v, R"([{"op":"test","path":"/n","value":1.0}])"), "");
  EXPECT_EQ(cmd::json_patch::apply(v, R"([{"op":"test","path":"/o","value":{"b":[1,2],"a":1}}])"), "");
  EXPECT_NE(cmd::json_patch::apply(v, R"([{"op":"test","path":"/o/b","value":[2,1]}])"), "");
}

}  // namespace
}  // namespace meshinject::test
