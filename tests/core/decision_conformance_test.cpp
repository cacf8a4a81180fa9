// conformance/inject-required.yaml: every row through selector_list::compile,
// parse_policy and decide(), and explain_decision() must agree with decide().

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/decision.hpp"
#include "core/error.hpp"

namespace meshinject::core {
namespace {

namespace fs = std::filesystem;

// Returns the table path, or "" with `why` set when the data is not available.
std::string table_path(std::string& why) {
  const char* dir = std::getenv("MESHINJECT_CONFORMANCE_DIR");
  if (dir == nullptr || *dir == '\0') {
    why = "MESHINJECT_CONFORMANCE_DIR is not set";
    return {};
  }
  fs::path path = fs::path(dir) / "inject-required.yaml";
  if (!fs::is_directory(dir)) {
    why = std::string("conformance directory ") + dir + " does not exist";
    return {};
  }
  if (!fs::exists(path)) {
    why = path.string() + " does not exist";
    return {};
  }
  return path.string();
}

struct owned_labels {
  std::vector<std::pair<std::string, std::string>> kv;
  std::vector<label> views;

  explicit owned_labels(const YAML::Node& map) {
    if (map.IsMap())
      for (auto it = map.begin(); it != map.end(); ++it)
        kv.emplace_back(it->first.as<std::string>(), it->second.as<std::string>());
    for (const auto& [k, v] : kv) views.push_back({k, v});
  }
  const label* find(std::string_view key) const { return find_label(views, key); }
};

// The test's own reading of the table header, independent of decision.cpp:
// does the row's inject value get ignored with a warning?
bool expects_warning(const YAML::Node& row, const owned_labels& labels, const owned_labels& annotations) {
  if (row["hostNetwork"].as<bool>()) return false;
  const std::string ns = row["namespace"].as<std::string>();
  if (ns == "kube-system" || ns == "kube-public") return false;
  const label* l = labels.find("sidecar.istio.io/inject");
  if (l == nullptr) l = annotations.find("sidecar.istio.io/inject");
  if (l == nullptr || l->value.empty()) return false;
  std::string v(l->value);
  for (char& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  static const std::set<std::string> known = {"y", "yes", "true", "on", "n", "no", "false", "off"};
  return known.count(v) == 0;
}

class inject_required : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    path_ = table_path(why);
    if (path_.empty()) GTEST_SKIP() << "conformance data unavailable: " << why;
    root_ = YAML::LoadFile(path_);
    ASSERT_TRUE(root_["cases"].IsSequence()) << path_ << ": no `cases` list";
  }

  std::string path_;
  YAML::Node root_;
};

TEST_F(inject_required, table_has_the_expected_rows) {
  std::set<std::string> ids;
  for (const YAML::Node& row : root_["cases"]) {
    const std::string id = row["id"].as<std::string>();
    EXPECT_TRUE(ids.insert(id).second) << "duplicate row id " << id;
  }
  for (int i = 1; i <= 33; ++i) {
    std::string id = (i < 10 ? "u0" : "u") + std::to_string(i);
    EXPECT_TRUE(ids.count(id)) << "missing row " << id;
  }
  for (int i = 1; i <= 17; ++i) {
    std::string id = (i < 10 ? "a0" : "a") + std::to_string(i);
    EXPECT_TRUE(ids.count(id)) << "missing row " << id;
  }
}

TEST_F(inject_required, every_row_decides_as_wanted_and_explain_agrees) {
  int checked = 0, rejected_policies = 0, warned = 0;
  for (const YAML::Node& row : root_["cases"]) {
    const std::string id = row["id"].as<std::string>();
    SCOPED_TRACE("row " + id + " (" + row["name"].as<std::string>() + ")");
    const bool want = row["want"].as<bool>();

    const std::string policy_text = row["policy"].as<std::string>();
    const std::optional<injection_policy_mode> policy = parse_policy(policy_text);
    if (!policy) {
      // Such a config never loads (SPEC 3), so no pod is injected by it.
      EXPECT_FALSE(want) << id << ": an invalid policy must never inject";
      ++rejected_policies;
      continue;
    }

    injection_rules rules{*policy, {}, {}};
    try {
      rules.never_inject = selector_list::compile(row["neverInjectSelector"], path_, "neverInjectSelector");
      rules.always_inject =
          selector_list::compile(row["alwaysInjectSelector"], path_, "alwaysInjectSelector");
    } catch (const config_error& e) {
      ADD_FAILURE() << id << ": selectors do not compile: " << e.what();
      continue;
    }

    const owned_labels labels(row["labels"]);
    const owned_labels annotations(row["annotations"]);
    const std::string ns = row["namespace"].as<std::string>();
    const pod_facts pod{ns, row["hostNetwork"].as<bool>(), labels.views, annotations.views};

    const decision d = decide(pod, rules);
    EXPECT_EQ(d.inject, want) << id << ": decided " << (d.inject ? "inject" : "skip") << " ("
                              << reason_code(d.reason) << "), table wants " << (want ? "inject" : "skip");

    const bool warning_expected = expects_warning(row, labels, annotations);
    EXPECT_EQ(d.has_warning(), warning_expected) << id;
    warned += d.has_warning() ? 1 : 0;

    const explanation e = explain_decision(pod, rules);
    EXPECT_EQ(e.verdict.inject, d.inject) << id;
    EXPECT_EQ(reason_code(e.verdict.reason), reason_code(d.reason)) << id;
    EXPECT_EQ(e.verdict.selector_index, d.selector_index) << id;
    EXPECT_EQ(e.verdict.ignored_value, d.ignored_value) << id;
    EXPECT_EQ(e.verdict.ignored_value_from_label, d.ignored_value_from_label) << id;
    EXPECT_EQ(e.warning, ignored_value_warning(d)) << id;
    int deciders = 0;
    for (const decision_step& s : e.steps) {
      if (s.result != decision_step::outcome::decided) continue;
      ++deciders;
      EXPECT_EQ(s.inject, d.inject) << id << ": step " << s.name;
      EXPECT_EQ(s.reason, d.reason) << id << ": step " << s.name;
    }
    EXPECT_EQ(deciders, 1) << id;
    ++checked;
  }
  EXPECT_EQ(checked + rejected_policies, 50);
  EXPECT_EQ(rejected_policies, 1);  // u10
  EXPECT_EQ(warned, 4);             // a09-a12
}

}  // namespace
}  // namespace meshinject::core
