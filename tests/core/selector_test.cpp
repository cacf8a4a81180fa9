#include "core/selector.hpp"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "core/error.hpp"

namespace meshinject::core {
namespace {

selector_list compile(const std::string& yaml) {
  return selector_list::compile(YAML::Load(yaml), "test.yaml", "sel");
}

// Labels backed by owned strings, so tests can build them from anything.
class pod_labels {
 public:
  pod_labels(std::initializer_list<std::pair<std::string, std::string>> init)
      : storage_(init.begin(), init.end()) {
    refresh();
  }
  explicit pod_labels(std::vector<std::pair<std::string, std::string>> kv) : storage_(std::move(kv)) {
    refresh();
  }
  label_set view() const noexcept { return views_; }
  operator label_set() const noexcept { return views_; }

 private:
  void refresh() {
    views_.clear();
    for (const auto& [k, v] : storage_) views_.push_back({k, v});
  }
  std::vector<std::pair<std::string, std::string>> storage_;
  std::vector<label> views_;
};

TEST(selector_list, default_and_null_nodes_are_empty_lists) {
  selector_list def;
  EXPECT_EQ(def.size(), 0u);
  EXPECT_EQ(def.first_match(pod_labels{{"a", "b"}}), -1);

  EXPECT_EQ(selector_list::compile(YAML::Node(), "f").size(), 0u);
  EXPECT_EQ(compile("").size(), 0u);
  EXPECT_EQ(compile("~").size(), 0u);
  EXPECT_EQ(compile("[]").size(), 0u);
  YAML::Node root = YAML::Load("other: 1");
  EXPECT_EQ(selector_list::compile(root["neverInjectSelector"], "f").size(), 0u);
}

TEST(selector_list, match_labels_is_equality_and_all_entries_are_anded) {
  selector_list s = compile("[{matchLabels: {app: web, tier: front}}]");
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s.first_match(pod_labels{{"app", "web"}, {"tier", "front"}}), 0);
  EXPECT_EQ(s.first_match(pod_labels{{"tier", "front"}, {"x", "y"}, {"app", "web"}}), 0);
  EXPECT_EQ(s.first_match(pod_labels{{"app", "web"}}), -1);
  EXPECT_EQ(s.first_match(pod_labels{{"app", "web"}, {"tier", "back"}}), -1);
  EXPECT_EQ(s.first_match(pod_labels{{"app", "Web"}, {"tier", "front"}}), -1);
  EXPECT_EQ(s.first_match(pod_labels{}), -1);
}

TEST(selector_list, in_requires_the_key_with_a_listed_value) {
  selector_list s = compile("[{matchExpressions: [{key: tier, operator: In, values: [a, b]}]}]");
  EXPECT_TRUE(s.matches(0, pod_labels{{"tier", "a"}}));
  EXPECT_TRUE(s.matches(0, pod_labels{{"tier", "b"}}));
  EXPECT_FALSE(s.matches(0, pod_labels{{"tier", "c"}}));
  EXPECT_FALSE(s.matches(0, pod_labels{{"tier", ""}}));
  EXPECT_FALSE(s.matches(0, pod_labels{{"other", "a"}}));
  EXPECT_FALSE(s.matches(0, pod_labels{}));
}

TEST(selector_list, not_in_matches_absent_keys_and_other_values) {
  selector_list s = compile("[{matchExpressions: [{key: tier, operator: NotIn, values: [a, b]}]}]");
  EXPECT_TRUE(s.matches(0, pod_labels{}));
  EXPECT_TRUE(s.matches(0, pod_labels{{"other", "a"}}));
  EXPECT_TRUE(s.matches(0, pod_labels{{"tier", "c"}}));
  EXPECT_TRUE(s.matches(0, pod_labels{{"tier", ""}}));
  EXPECT_FALSE(s.matches(0, pod_labels{{"tier", "a"}}));
  EXPECT_FALSE(s.matches(0, pod_labels{{"tier", "b"}}));
}

TEST(selector_list, exists_and_does_not_exist_look_at_the_key_only) {
  selector_list s = compile(R"(
- matchExpressions: [{key: foo, operator: Exists}]
- matchExpressions: [{key: foo, operator: DoesNotExist, values: []}]
)");
  ASSERT_EQ(s.size(), 2u);
  EXPECT_TRUE(s.matches(0, pod_labels{{"foo", ""}}));
  EXPECT_TRUE(s.matches(0, pod_labels{{"foo", "x"}}));
  EXPECT_FALSE(s.matches(0, pod_labels{{"foo2", "x"}}));
  EXPECT_FALSE(s.matches(1, pod_labels{{"foo", ""}}));
  EXPECT_TRUE(s.matches(1, pod_labels{{"foo2", "x"}}));
  EXPECT_TRUE(s.matches(1, pod_labels{}));
}

TEST(selector_list, empty_values_are_values) {
  selector_list s = compile(R"(
- matchLabels: {foo: ""}
- matchExpressions: [{key: bar, operator: In, values: ["", x]}]
)");
  EXPECT_TRUE(s.matches(0, pod_labels{{"foo", ""}}));
  EXPECT_FALSE(s.matches(0, pod_labels{{"foo", "x"}}));
  EXPECT_FALSE(s.matches(0, pod_labels{}));
  EXPECT_TRUE(s.matches(1, pod_labels{{"bar", ""}}));
  EXPECT_TRUE(s.matches(1, pod_labels{{"bar", "x"}}));
  EXPECT_FALSE(s.matches(1, pod_labels{}));
}

TEST(selector_list, match_labels_and_expressions_are_anded) {
  selector_list s = compile(R"(
- matchLabels: {app: web}
  matchExpressions:
  - {key: canary, operator: DoesNotExist}
  - {key: tier, operator: In, values: [a, b]}
)");
  EXPECT_TRUE(s.matches(0, pod_labels{{"app", "web"}, {"tier", "a"}}));
  EXPECT_FALSE(s.matches(0, pod_labels{{"app", "web"}, {"tier", "a"}, {"canary", ""}}));
  EXPECT_FALSE(s.matches(0, pod_labels{{"app", "web"}}));
  EXPECT_FALSE(s.matches(0, pod_labels{{"tier", "b"}}));
}

TEST(selector_list, list_is_ored_and_first_match_wins) {
  selector_list s = compile(R"(
- matchLabels: {a: "1"}
- matchExpressions: [{key: b, operator: Exists}]
- matchLabels: {a: "1", b: "2"}
)");
  EXPECT_EQ(s.first_match(pod_labels{{"a", "1"}, {"b", "2"}}), 0);
  EXPECT_EQ(s.first_match(pod_labels{{"a", "2"}, {"b", "2"}}), 1);
  EXPECT_EQ(s.first_match(pod_labels{{"b", ""}}), 1);
  EXPECT_EQ(s.first_match(pod_labels{{"c", "1"}}), -1);
  EXPECT_TRUE(s.matches(2, pod_labels{{"a", "1"}, {"b", "2"}}));
  EXPECT_FALSE(s.matches(3, pod_labels{{"a", "1"}, {"b", "2"}}));  // out of range
}

TEST(selector_list, selectors_without_requirements_match_nothing) {
  selector_list s = compile(R"(
- {}
- matchLabels: {}
- matchExpressions: []
- matchLabels: ~
  matchExpressions: ~
- matchExpressions: [{key: x, operator: DoesNotExist}]
)");
  ASSERT_EQ(s.size(), 5u);
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_FALSE(s.matches(i, pod_labels{})) << i;
    EXPECT_FALSE(s.matches(i, pod_labels{{"a", "b"}})) << i;
    EXPECT_EQ(s.describe(i), "{} (no requirements, matches nothing)");
  }
  EXPECT_EQ(s.first_match(pod_labels{}), 4);
  EXPECT_EQ(s.first_match(pod_labels{{"x", ""}}), -1);
}

TEST(selector_list, numbers_and_booleans_that_keep_their_text_are_strings) {
  selector_list s = compile(R"(
- matchLabels: {version: 1, 2: enabled, flag: true, quoted: "yes", tagged: !!str on}
)");
  EXPECT_TRUE(s.matches(
      0,
      pod_labels{{"version", "1"}, {"2", "enabled"}, {"flag", "true"}, {"quoted", "yes"}, {"tagged", "on"}}));
}

TEST(selector_list, prefixed_and_long_keys_within_limits_are_accepted) {
  const std::string name63(63, 'n');
  const std::string value63 = "v" + std::string(61, '-') + "v";
  selector_list s = compile("[{matchLabels: {sidecar.istio.io/inject: \"false\", example.com/" + name63 +
                            ": " + value63 + ", A_b.c-D: x.Y_z-1}}]");
  EXPECT_TRUE(s.matches(0, pod_labels{{"sidecar.istio.io/inject", "false"},
                                      {"example.com/" + name63, value63},
                                      {"A_b.c-D", "x.Y_z-1"}}));
}

TEST(selector_list, copies_and_moves_keep_working) {
  selector_list original =
      compile("[{matchLabels: {app: web}}, {matchExpressions: [{key: b, operator: Exists}]}]");
  selector_list copy = original;
  selector_list moved = std::move(original);
  EXPECT_EQ(copy.first_match(pod_labels{{"b", ""}}), 1);
  EXPECT_EQ(moved.first_match(pod_labels{{"app", "web"}}), 0);
  EXPECT_EQ(copy.describe(0), "matchLabels{app=web}");
}

TEST(selector_list, describe_reads_like_the_config) {
  selector_list s = compile(R"(
- matchExpressions:
  - {key: tier, operator: In, values: [a, b]}
  - {key: canary, operator: DoesNotExist}
  matchLabels: {app: foo}
- matchLabels: {a: x, b: ""}
- matchExpressions:
  - {key: c, operator: NotIn, values: ["", z]}
  - {key: d, operator: Exists}
)");
  EXPECT_EQ(s.describe(0), "matchLabels{app=foo} matchExpressions{tier In (a,b); canary DoesNotExist}");
  EXPECT_EQ(s.describe(1), "matchLabels{a=x,b=\"\"}");
  EXPECT_EQ(s.describe(2), "matchExpressions{c NotIn (\"\",z); d Exists}");
  EXPECT_EQ(s.describe(3), "");
}

// ---- compile errors -------------------------------------------------------

struct error_case {
  const char* name;
  std::string yaml;
  std::string at;       // first occurrence in yaml = the expected line:column
  std::string message;  // must appear in the message
};

std::pair<int, int> position_of(const std::string& text, const std::string& needle) {
  std::size_t at = text.find(needle);
  if (at == std::string::npos) return {-1, -1};
  int line = 1, column = 1;
  for (std::size_t i = 0; i < at; ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return {line, column};
}

std::vector<error_case> error_cases() {
  return {
      {"top level is a map", "matchLabels: {a: b}\n", "matchLabels",
       "must be a list of label selectors, found a map"},
      {"top level is a scalar", "nope\n", "nope", "must be a list of label selectors, found a scalar"},
      {"selector is a scalar", "- foo\n", "foo", "sel[0]: a label selector must be a map"},
      {"selector is a list", "- {matchLabels: {a: b}}\n- [a]\n", "[a]",
       "sel[1]: a label selector must be a map"},
      {"unknown selector field", "- matchLabels: {a: b}\n  matchLabel: {c: d}\n", "matchLabel:",
       "unknown field \"matchLabel\" in a label selector (valid fields: matchLabels, matchExpressions)"},
      {"matchLabels not a map", "- matchLabels: [a, b]\n", "[a, b]", "matchLabels must be a map"},
      {"matchExpressions not a list", "- matchExpressions: {key: a}\n", "{key: a}",
       "matchExpressions must be a list"},
      {"expression not a map", "- matchExpressions: [foo]\n", "foo]", "a match expression must be a map"},
      {"unknown operator", "- matchExpressions:\n  - {key: a, operator: in, values: [x]}\n", "in,",
       "sel[0].matchExpressions[0].operator: unknown operator \"in\" (valid: In, NotIn, Exists, "
       "DoesNotExist)"},
      {"In without values", "- matchExpressions:\n  - {key: a, operator: In}\n", "{key",
       "operator In requires at least one value"},
      {"In with empty values", "- matchExpressions:\n  - {key: a, operator: In, values: []}\n", "[]",
       "sel[0].matchExpressions[0].values: operator In requires at least one value"},
      {"NotIn with null values", "- matchExpressions:\n  - key: a\n    operator: NotIn\n    values:\n",
       "values", "operator NotIn requires at least one value"},
      {"Exists with values", "- matchExpressions:\n  - {key: a, operator: Exists, values: [x]}\n", "[x]",
       "operator Exists takes no values"},
      {"DoesNotExist with values", "- matchExpressions:\n  - {key: a, operator: DoesNotExist, values: [x]}\n",
       "[x]", "operator DoesNotExist takes no values"},
      {"missing key", "- matchExpressions:\n  - {operator: Exists}\n", "{operator", "needs a key"},
      {"missing operator", "- matchExpressions:\n  - {key: a}\n", "{key", "needs an operator"},
      {"unknown expression field", "- matchExpressions:\n  - {key: a, operator: In, value: [x]}\n",
       "value:", "unknown field \"value\" in a match expression (valid fields: key, operator, values)"},
      {"values not a list", "- matchExpressions:\n  - {key: a, operator: In, values: x}\n", "x}",
       "values must be a list of strings, found a scalar"},
      {"label value is a map", "- matchLabels: {a: {b: c}}\n", "{b: c}",
       "label value must be a string, found a map"},
      {"label value is a list", "- matchLabels: {a: [b]}\n", "[b]",
       "label value must be a string, found a list"},
      {"label value is null", "- matchLabels:\n    abc: ~\n", "abc",
       "label value must be a string, found null"},
      {"label value is a YAML boolean", "- matchLabels: {a: yes}\n", "yes",
       "label value yes is a YAML boolean, not a string; quote it: \"yes\""},
      {"label value is a YAML float", "- matchLabels: {a: 1.0}\n", "1.0", "label value 1.0 is a YAML number"},
      {"label value is a hex number", "- matchLabels: {a: 0x1f}\n", "0x1f", "is a YAML number"},
      {"label value has a leading zero", "- matchLabels: {a: 007}\n", "007", "is a YAML number"},
      {"label key is a list", "- matchLabels: {[a]: b}\n", "[a]", "label key must be a string, found a list"},
      {"label key is a YAML boolean", "- matchLabels: {on: b}\n", "on", "label key on is a YAML boolean"},
      {"expression value is a map", "- matchExpressions:\n  - {key: a, operator: In, values: [x, {y: z}]}\n",
       "{y: z}", "values[1]: value must be a string, found a map"},
      {"operator is a list", "- matchExpressions:\n  - {key: a, operator: [In]}\n", "[In]",
       "operator must be a string, found a list"},
      {"unsupported tag", "- matchLabels: {a: !!int 1}\n", "!!int", "unsupported YAML tag"},
      {"key with two slashes", "- matchLabels: {a/b/c: x}\n", "a/b/c", "invalid label key \"a/b/c\""},
      {"key with empty prefix", "- matchLabels: {/x: y}\n", "/x", "prefix part must be non-empty"},
      {"key with empty name", "- matchLabels: {example.com/: y}\n", "example.com/",
       "name part must be non-empty"},
      {"key with upper-case prefix", "- matchLabels: {Example.com/x: y}\n", "Example",
       "prefix part must be a lowercase RFC 1123 subdomain"},
      {"key with bad prefix label", "- matchLabels: {a..b/x: y}\n", "a..b",
       "prefix part must be a lowercase"},
      {"key starting with a dash", "- matchLabels: {\"-a\": y}\n", "\"-a\"",
       "name part must consist of alphanumeric characters"},
      {"key ending with a dot", "- matchLabels: {a.: y}\n", "a.", "name part must consist of alphanumeric"},
      {"key with a space", "- matchLabels: {\"a b\": y}\n", "\"a b\"", "name part must consist"},
      {"key name too long", "- matchLabels: {" + std::string(64, 'k') + ": y}\n", std::string(64, 'k'),
       "name part must be no more than 63 characters"},
      {"key prefix too long", "- matchLabels: {" + std::string(254, 'p') + "/x: y}\n", std::string(254, 'p'),
       "prefix part must be no more than 253 characters"},
      {"expression key invalid", "- matchExpressions:\n  - {key: \"a b\", operator: Exists}\n", "\"a b\"",
       "sel[0].matchExpressions[0].key: invalid label key \"a b\""},
      {"value too long", "- matchLabels: {a: " + std::string(64, 'v') + "}\n", std::string(64, 'v'),
       "invalid label value \"" + std::string(64, 'v') + "\": must be no more than 63 characters"},
      {"value with a space", "- matchLabels: {a: \"x y\"}\n", "\"x y\"", "invalid label value \"x y\""},
      {"value ending with a dash", "- matchLabels: {a: x-}\n", "x-", "invalid label value \"x-\""},
      {"expression value invalid",
       "- matchExpressions:\n  - {key: a, operator: NotIn, values: [ok, \"b@d\"]}\n", "\"b@d\"",
       "sel[0].matchExpressions[0].values[1]: invalid label value \"b@d\""},
      {"second selector is reported with its index",
       "- matchLabels: {a: b}\n- matchExpressions:\n  - {key: a, operator: Foo}\n", "Foo",
       "sel[1].matchExpressions[0].operator: unknown operator \"Foo\""},
  };
}

TEST(selector_list, compile_errors_carry_file_line_column_and_a_clear_message) {
  for (const error_case& c : error_cases()) {
    SCOPED_TRACE(c.name);
    auto [line, column] = position_of(c.yaml, c.at);
    ASSERT_GT(line, 0) << "bad test: " << c.at << " not in yaml";
    try {
      compile(c.yaml);
      ADD_FAILURE() << "compiled without error";
    } catch (const config_error& e) {
      EXPECT_EQ(e.where().file, "test.yaml");
      EXPECT_EQ(e.where().line, line) << e.what();
      EXPECT_EQ(e.where().column, column) << e.what();
      EXPECT_NE(e.message().find(c.message), std::string::npos) << "message: " << e.message();
      const std::string prefix = "test.yaml:" + std::to_string(line) + ':' + std::to_string(column) + ": ";
      EXPECT_EQ(std::string(e.what()).rfind(prefix, 0), 0u) << e.what();
    }
  }
}

TEST(selector_list, duplicate_keys_are_rejected) {
  // yaml-cpp keeps duplicate map keys; Kubernetes would keep only one of them,
  // so a config that says two things is refused rather than guessed at.
  for (const char* yaml : {"- matchLabels: {a: x, a: y}\n", "- {matchLabels: {a: x}, matchLabels: {b: y}}\n",
                           "- matchExpressions:\n  - {key: a, key: b, operator: Exists}\n"}) {
    SCOPED_TRACE(yaml);
    try {
      compile(yaml);
      ADD_FAILURE() << "compiled without error";
    } catch (const config_error& e) {
      EXPECT_NE(e.message().find("duplicate"), std::string::npos) << e.message();
      EXPECT_GT(e.where().line, 0);
    }
  }
}

TEST(label_validation, keys_and_values) {
  EXPECT_EQ(label_key_error("app"), "");
  EXPECT_EQ(label_key_error("sidecar.istio.io/inject"), "");
  EXPECT_EQ(label_key_error("a-b.c_d"), "");
  EXPECT_EQ(label_key_error("x"), "");
  EXPECT_NE(label_key_error(""), "");
  EXPECT_NE(label_key_error("_a"), "");
  EXPECT_NE(label_key_error("a-/b"), "");
  EXPECT_NE(label_key_error("-a.com/b"), "");
  EXPECT_NE(label_key_error("a.com/b/c"), "");
  EXPECT_NE(label_key_error("é"), "");
  EXPECT_EQ(label_value_error(""), "");
  EXPECT_EQ(label_value_error("v1.2_3-x"), "");
  EXPECT_EQ(label_value_error(std::string(63, 'a')), "");
  EXPECT_NE(label_value_error(std::string(64, 'a')), "");
  EXPECT_NE(label_value_error("a/b"), "");
  EXPECT_NE(label_value_error(".a"), "");
}

// ---- the bytecode against a plain reference implementation -----------------

enum class ref_op { in, not_in, exists, does_not_exist };
struct ref_requirement {
  std::string key;
  ref_op op;
  std::vector<std::string> values;
};
struct ref_selector {
  std::vector<std::pair<std::string, std::string>> match_labels;
  std::vector<ref_requirement> expressions;
};

bool ref_matches(const ref_selector& s, const std::map<std::string, std::string>& labels) {
  if (s.match_labels.empty() && s.expressions.empty()) return false;
  for (const auto& [k, v] : s.match_labels) {
    auto it = labels.find(k);
    if (it == labels.end() || it->second != v) return false;
  }
  for (const ref_requirement& r : s.expressions) {
    auto it = labels.find(r.key);
    bool present = it != labels.end();
    bool listed = false;
    if (present)
      for (const std::string& v : r.values) listed = listed || v == it->second;
    switch (r.op) {
      case ref_op::in:
        if (!present || !listed) return false;
        break;
      case ref_op::not_in:
        if (present && listed) return false;
        break;
      case ref_op::exists:
        if (!present) return false;
        break;
      case ref_op::does_not_exist:
        if (present) return false;
        break;
    }
  }
  return true;
}

int ref_first_match(const std::vector<ref_selector>& list, const std::map<std::string, std::string>& labels) {
  for (std::size_t i = 0; i < list.size(); ++i)
    if (ref_matches(list[i], labels)) return static_cast<int>(i);
  return -1;
}

std::string to_yaml(const std::vector<ref_selector>& list) {
  static const char* const op_names[] = {"In", "NotIn", "Exists", "DoesNotExist"};
  std::string out = "[";
  for (std::size_t i = 0; i < list.size(); ++i) {
    const ref_selector& s = list[i];
    if (i) out += ", ";
    out += "{matchLabels: {";
    for (std::size_t j = 0; j < s.match_labels.size(); ++j)
      out += (j ? ", \"" : "\"") + s.match_labels[j].first + "\": \"" + s.match_labels[j].second + "\"";
    out += "}, matchExpressions: [";
    for (std::size_t j = 0; j < s.expressions.size(); ++j) {
      const ref_requirement& r = s.expressions[j];
      out += std::string(j ? ", " : "") + "{key: \"" + r.key +
             "\", operator: " + op_names[static_cast<int>(r.op)];
      if (!r.values.empty()) {
        out += ", values: [";
        for (std::size_t k = 0; k < r.values.size(); ++k) out += (k ? ", \"" : "\"") + r.values[k] + "\"";
        out += "]";
      }
      out += "}";
    }
    out += "]}";
  }
  return out + "]";
}

TEST(selector_list, bytecode_agrees_with_a_reference_implementation_on_random_inputs) {
  const std::vector<std::string> keys = {"a", "b", "c", "app", "example.com/d"};
  const std::vector<std::string> values = {"", "x", "y", "zz"};
  std::mt19937 rng(20240611);
  auto pick = [&](const std::vector<std::string>& from) {
    return from[std::uniform_int_distribution<std::size_t>(0, from.size() - 1)(rng)];
  };
  auto upto = [&](int n) { return std::uniform_int_distribution<int>(0, n)(rng); };

  int matched = 0, unmatched = 0;
  for (int round = 0; round < 400; ++round) {
    std::vector<ref_selector> list(static_cast<std::size_t>(upto(4)));
    for (ref_selector& s : list) {
      std::vector<std::string> used;
      for (int n = upto(2); n > 0; --n) {
        std::string k = pick(keys);
        if (std::find(used.begin(), used.end(), k) != used.end()) continue;
        used.push_back(k);
        s.match_labels.emplace_back(k, pick(values));
      }
      for (int n = upto(3); n > 0; --n) {
        ref_requirement r{pick(keys), static_cast<ref_op>(upto(3)), {}};
        if (r.op == ref_op::in || r.op == ref_op::not_in)
          for (int v = 1 + upto(2); v > 0; --v) r.values.push_back(pick(values));
        s.expressions.push_back(std::move(r));
      }
    }
    const std::string yaml = to_yaml(list);
    SCOPED_TRACE(yaml);
    selector_list compiled;
    ASSERT_NO_THROW(compiled = compile(yaml));
    ASSERT_EQ(compiled.size(), list.size());

    for (int trial = 0; trial < 25; ++trial) {
      std::map<std::string, std::string> labels;
      for (int n = upto(4); n > 0; --n) labels[pick(keys)] = pick(values);
      std::vector<std::pair<std::string, std::string>> kv(labels.begin(), labels.end());
      std::shuffle(kv.begin(), kv.end(), rng);
      pod_labels pod(kv);

      const int want = ref_first_match(list, labels);
      EXPECT_EQ(compiled.first_match(pod), want);
      for (std::size_t i = 0; i < list.size(); ++i)
        EXPECT_EQ(compiled.matches(i, pod), ref_matches(list[i], labels));
      (want >= 0 ? matched : unmatched)++;
    }
  }
  // The generator must exercise both outcomes, or the comparison proves little.
  EXPECT_GT(matched, 500);
  EXPECT_GT(unmatched, 500);
}

}  // namespace
}  // namespace meshinject::core
