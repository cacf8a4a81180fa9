// JSON Patch as a difference, by hand: every patch is applied with nlohmann-json
// (the independent RFC 6902 implementation) and must give the target; the
// shape of the patch (which operations, in which order) is checked where the
// alignment matters.

#include "patch/json_diff.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "patch/json_text.hpp"

namespace {

namespace json = meshinject::core::json;
namespace smp = meshinject::patch::smp;
using meshinject::core::arena;
using meshinject::patch::json_differ;
using nl = nlohmann::json;

class json_diff : public ::testing::Test {
 protected:
  arena a;
  simdjson::dom::parser parser;
  json_differ differ;

  json::value tree(const nl& j) {
    json::value v;
    const json::error err = json::parse(j.dump(), parser, a, v);
    EXPECT_FALSE(err) << err.message;
    return v;
  }

  // The patch from `from` to `to`, checked with nlohmann's patch().
  nl patch(const nl& from, const nl& to, const smp::type_meta* type = nullptr) {
    std::string out;
    const json::error err = differ.diff(tree(from), tree(to), type, a, out);
    EXPECT_FALSE(err) << err.message;
    const nl p = nl::parse(out);
    EXPECT_EQ(p.size(), differ.operations());
    nl applied;
    try {
      applied = from.patch(p);
    } catch (const std::exception& e) {
      ADD_FAILURE() << "the patch does not apply: " << e.what() << "\n" << p.dump();
      return p;
    }
    EXPECT_EQ(applied, to) << "patch: " << p.dump();
    return p;
  }
};

nl op(const char* o, const char* path) { return nl{{"op", o}, {"path", path}}; }
nl op(const char* o, const char* path, const nl& value) { return nl{{"op", o}, {"path", path}, {"value", value}}; }

TEST_F(json_diff, equal_documents_give_an_empty_patch) {
  EXPECT_EQ(patch(nl::parse(R"({"a":[1,{"b":2}],"c":"d"})"), nl::parse(R"({"c":"d","a":[1,{"b":2}]})")), nl::array());
  EXPECT_EQ(patch(nl::parse(R"({"a":1})"), nl::parse(R"({"a":1.0})")), nl::array()) << "equal by meaning";
}

TEST_F(json_diff, scalars_and_kind_changes_are_replaced) {
  EXPECT_EQ(patch(nl::parse("1"), nl::parse(R"("x")")), nl::array({op("replace", "", "x")}));
  EXPECT_EQ(patch(nl::parse(R"({"a":1})"), nl::parse("[1]")), nl::array({op("replace", "", nl::parse("[1]"))}));
  EXPECT_EQ(patch(nl::parse(R"({"a":{"b":1}})"), nl::parse(R"({"a":[1]})")),
            nl::array({op("replace", "/a", nl::parse("[1]"))}));
  EXPECT_EQ(patch(nl::parse(R"({"a":null})"), nl::parse(R"({"a":false})")), nl::array({op("replace", "/a", false)}));
}

TEST_F(json_diff, objects_add_remove_and_recurse) {
  EXPECT_EQ(patch(nl::parse(R"({"keep":1,"gone":2,"deep":{"x":1,"y":2}})"),
                  nl::parse(R"({"keep":1,"deep":{"x":1,"y":3,"z":[1]},"new":{"n":null}})")),
            nl::array({op("replace", "/deep/y", 3), op("add", "/deep/z", nl::parse("[1]")),
                       op("add", "/new", nl::parse(R"({"n":null})")), op("remove", "/gone")}));
}

TEST_F(json_diff, pointers_escape_tilde_and_slash) {
  const nl p = patch(nl::parse(R"({"a/b":{"c~d":1},"~1":0})"), nl::parse(R"({"a/b":{"c~d":2},"/":0})"));
  // (nlohmann lists members sorted: "/" before "a/b".)
  EXPECT_EQ(p, nl::array({op("add", "/~1", 0), op("replace", "/a~1b/c~0d", 2), op("remove", "/~01")}));
  patch(nl::parse(R"({"q\"uote":1,"back\\slash":[1],"ctl\u0001":1})"),
        nl::parse(R"({"q\"uote":2,"back\\slash":[1,2],"ctl\u0001":null})"));
}

// The differ spells a path only for an operation, and only past the part the
// previous operation spelled: operations deep in one branch, then in a sibling,
// then back at the top must each have their own full path.
TEST_F(json_diff, paths_spelled_per_operation_share_only_the_common_prefix) {
  const nl p = patch(nl::parse(R"({"":{"~":1},"a":{"x/y":{"b":1,"c":[1,2]},"q\"":1},"z":1})"),
                     nl::parse(R"({"":{"~":2},"a":{"x/y":{"b":2,"c":[1,3]},"q\"":2,"n":1},"z":2})"));
  // (nlohmann lists members sorted.)
  EXPECT_EQ(p, nl::array({op("replace", "//~0", 2), op("add", "/a/n", 1), op("replace", "/a/q\"", 2),
                          op("replace", "/a/x~1y/b", 2), op("replace", "/a/x~1y/c/1", 3), op("replace", "/z", 2)}));
}

TEST_F(json_diff, an_item_inserted_at_the_front_is_one_add) {
  const nl from = nl::parse(R"({"spec":{"initContainers":[{"name":"user-init","image":"busybox"}]}})");
  const nl to = nl::parse(R"({"spec":{"initContainers":[{"name":"istio-init"},{"name":"istio-proxy"},
      {"name":"user-init","image":"busybox"}]}})");
  EXPECT_EQ(patch(from, to, &smp::pod()),
            nl::array({op("add", "/spec/initContainers/0", nl::parse(R"({"name":"istio-init"})")),
                       op("add", "/spec/initContainers/1", nl::parse(R"({"name":"istio-proxy"})"))}));
}

TEST_F(json_diff, an_appended_env_var_is_one_add_and_an_edited_one_one_replace) {
  const nl from = nl::parse(R"({"spec":{"containers":[{"name":"app","env":[{"name":"A","value":"1"},{"name":"B","value":"2"}]}]}})");
  nl to = from;
  to["spec"]["containers"][0]["env"][0]["value"] = "one";
  to["spec"]["containers"][0]["env"].push_back(nl::parse(R"({"name":"C","value":"3"})"));
  EXPECT_EQ(patch(from, to, &smp::pod()),
            nl::array({op("replace", "/spec/containers/0/env/0/value", "one"),
                       op("add", "/spec/containers/0/env/2", nl::parse(R"({"name":"C","value":"3"})"))}));
}

TEST_F(json_diff, removals_come_first_highest_index_first) {
  EXPECT_EQ(patch(nl::parse("[1,2,3,4,5]"), nl::parse("[1,3,5]")),
            nl::array({op("remove", "/3"), op("remove", "/1")}));
  EXPECT_EQ(patch(nl::parse("[1,2,3,4,5,6]"), nl::parse("[2,3,7,5,8]")),
            nl::array({op("remove", "/0"), op("replace", "/2", 7), op("replace", "/4", 8)}));
  EXPECT_EQ(patch(nl::parse("[1,2,3,4,5,6]"), nl::parse("[1,6]")),
            nl::array({op("remove", "/4"), op("remove", "/3"), op("remove", "/2"), op("remove", "/1")}));
}

TEST_F(json_diff, a_container_moving_between_lists_is_a_remove_and_an_add) {
  const nl from = nl::parse(R"({"spec":{"containers":[{"name":"app"},{"name":"istio-proxy","image":"auto"}]}})");
  const nl to = nl::parse(R"({"spec":{"containers":[{"name":"app"}],
      "initContainers":[{"name":"istio-init"},{"name":"istio-proxy","image":"proxyv2"}]}})");
  EXPECT_EQ(patch(from, to, &smp::pod()),
            nl::array({op("remove", "/spec/containers/1"), op("add", "/spec/initContainers", to["spec"]["initContainers"])}));
}

TEST_F(json_diff, items_are_matched_by_their_merge_key) {
  // ports by containerPort: the edited port is diffed in place, the new one added.
  const nl from = nl::parse(R"({"spec":{"containers":[{"name":"c","ports":[{"containerPort":80,"name":"http"},
      {"containerPort":81}]}]}})");
  const nl to = nl::parse(R"({"spec":{"containers":[{"name":"c","ports":[{"containerPort":79},
      {"containerPort":80,"name":"http","protocol":"TCP"},{"containerPort":81}]}]}})");
  EXPECT_EQ(patch(from, to, &smp::pod()),
            nl::array({op("add", "/spec/containers/0/ports/0", nl::parse(R"({"containerPort":79})")),
                       op("add", "/spec/containers/0/ports/1/protocol", "TCP")}));
}

TEST_F(json_diff, reordered_items_keep_what_they_can) {
  patch(nl::parse(R"([{"name":"x","v":1},{"name":"y","v":2}])"), nl::parse(R"([{"name":"y","v":2},{"name":"x","v":3}])"));
  patch(nl::parse("[1,2,3,4,5,6,7,8]"), nl::parse("[8,7,6,5,4,3,2,1]"));
  patch(nl::parse(R"(["a","b","a","b"])"), nl::parse(R"(["b","a","b","a","c"])"));
}

TEST_F(json_diff, differently_named_items_in_place_are_replaced_whole) {
  EXPECT_EQ(patch(nl::parse(R"([{"name":"a","x":1}])"), nl::parse(R"([{"name":"b","x":1}])")),
            nl::array({op("replace", "/0", nl::parse(R"({"name":"b","x":1})"))}));
  // Without identities, their difference.
  EXPECT_EQ(patch(nl::parse(R"([{"k":"a","x":1}])"), nl::parse(R"([{"k":"a","x":2}])")),
            nl::array({op("replace", "/0/x", 2)}));
}

TEST_F(json_diff, long_lists_fall_back_to_positions) {
  nl from = nl::array(), to = nl::array();
  for (int i = 0; i < 400; ++i) {
    from.push_back(i);
    to.push_back(i % 7 == 0 ? i + 1000 : i);
  }
  to.erase(to.begin() + 3);
  to.push_back("tail");
  patch(from, to);
  nl objs_from = nl::array(), objs_to = nl::array();
  for (int i = 0; i < 300; ++i) {
    objs_from.push_back({{"name", std::to_string(i)}, {"v", i}});
    objs_to.push_back({{"name", std::to_string(i + (i % 5 == 0 ? 1000 : 0))}, {"v", i}});
  }
  patch(objs_from, objs_to);
}

TEST_F(json_diff, deep_trees_end_in_an_error_not_a_crash) {
  json::value x = json::value::array();
  json::value y = json::value::array();
  json::value* xc = &x;
  json::value* yc = &y;
  for (int i = 0; i < 600; ++i) {
    ASSERT_FALSE(xc->push_back(a, json::value::array()));
    xc = &xc->items()[0];
    ASSERT_FALSE(yc->push_back(a, json::value::array()));
    yc = &yc->items()[0];
  }
  ASSERT_FALSE(yc->push_back(a, json::value::integer(1)));
  std::string out;
  EXPECT_EQ(differ.diff(x, y, nullptr, a, out).code, json::errc::too_deep);
}

TEST_F(json_diff, the_differ_is_reusable) {
  std::string out;
  ASSERT_FALSE(differ.diff(tree(nl::parse(R"({"a":1})")), tree(nl::parse(R"({"a":2})")), nullptr, a, out));
  EXPECT_EQ(out, R"([{"op":"replace","path":"/a","value":2}])");
  out.clear();
  ASSERT_FALSE(differ.diff(tree(nl::parse("[1]")), tree(nl::parse("[1]")), nullptr, a, out));
  EXPECT_EQ(out, "[]");
  EXPECT_EQ(differ.operations(), 0u);
}

}  // namespace

namespace {

// b sharing a subtree's storage with a (as the named path's pod shares
// managedFields): nothing is written for it, the rest is diffed as usual.
TEST(json_diff_shared, a_subtree_b_shares_with_a_is_equal_and_the_rest_is_diffed) {
  meshinject::core::arena arena;
  simdjson::dom::parser parser;
  json::value a;
  ASSERT_FALSE(json::parse(R"({"m":{"f":[{"k":1},{"k":2}]},"x":1,"l":[1,2]})", parser, arena, a));
  json::value b = json::value::object();
  json::value m = json::value::object();
  ASSERT_FALSE(m.append_member(arena, "f", *a.find("m")->find("f")));  // shared storage
  ASSERT_FALSE(b.append_member(arena, "m", m));
  ASSERT_FALSE(b.append_member(arena, "x", json::value::integer(2)));
  ASSERT_FALSE(b.append_member(arena, "l", *a.find("l")));
  meshinject::patch::json_differ differ;
  std::string out;
  ASSERT_FALSE(differ.diff(a, b, nullptr, arena, out));
  EXPECT_EQ(nl::parse(out), nl::parse(R"([{"op":"replace","path":"/x","value":2}])"));
}

// Keys are classified eight bytes at a time (plain, RFC 6901's `~`/`/`, or JSON
// escaping): a byte that needs an escape must be found wherever it sits in a
// key of any length, in a whole word, in the overlapping last word, or among
// the bytes of a short key. Checked against the pointer escaped byte by byte
// and then JSON-escaped (invalid UTF-8 becomes \ufffd, which nlohmann cannot
// even hold, so the text is compared).
TEST(json_diff_keys, a_byte_needing_an_escape_is_found_anywhere_in_a_key) {
  const std::string specials[] = {"~", "/", "\"", "\\", "\n", std::string(1, '\0'), "\x1f", "\x7f",
                                  "\xc3\xa9", "\xe2\x82\xac", "\xff", "\x80"};
  arena a;
  json_differ differ;
  auto path_of = [](const std::string& key) {
    std::string pointer;
    for (const char c : key) pointer += c == '~' ? "~0" : c == '/' ? "~1" : std::string(1, c);
    std::string text = "/";
    meshinject::patch::append_json_escaped(text, pointer);
    return text;
  };
  auto check = [&](const std::string& key) {
    json::value from = json::value::object();
    json::value to = json::value::object();
    ASSERT_FALSE(to.set(a, key, json::value::integer(1)));
    std::string out;
    ASSERT_FALSE(differ.diff(from, to, nullptr, a, out));
    EXPECT_EQ(out, R"([{"op":"add","path":")" + path_of(key) + R"(","value":1}])") << "key of " << key.size();
  };
  for (std::size_t n = 0; n <= 24; ++n) {
    check(std::string(n, 'k'));
    for (std::size_t at = 0; at < n; ++at)
      for (const std::string& c : specials) {
        std::string key(n, 'k');
        key.replace(at, 1, c);
        check(key);
      }
  }
}

}  // namespace
