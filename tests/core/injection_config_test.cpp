// The injection config's two shapes (Istio 1.1-1.8's `template`, Istio >= 1.9's
// `templates`), and ConfigMap manifests read as Istio mounts them.
#include <gtest/gtest.h>

#include <yaml-cpp/yaml.h>

#include <string>

#include "core/config_tree.hpp"
#include "core/error.hpp"
#include "core/injection_config.hpp"

namespace meshinject::core {
namespace {

// The error's text, or "" when the config loads.
std::string load_error(const std::string& text) {
  try {
    load_injection_config(text, "c.yaml");
  } catch (const config_error& e) {
    return e.what();
  }
  return "";
}

TEST(InjectionConfig, SingleTemplateShape) {
  const auto cfg = load_injection_config("policy: enabled\ntemplate: |\n  containers: []\n", "c.yaml");
  EXPECT_EQ(cfg.shape, config_shape::single_template);
  EXPECT_EQ(cfg.rules.dialect, decision_dialect::istio_1_1);
  EXPECT_EQ(cfg.template_text, "containers: []\n");
  EXPECT_TRUE(cfg.templates.empty());
  EXPECT_EQ(cfg.template_first_line, 3);
  EXPECT_EQ(cfg.template_indent, 2);
}

TEST(InjectionConfig, NamedTemplatesShapeKeepsOrderDefaultsAndAliases) {
  const std::string text =
      "policy: enabled\n"
      "defaultTemplates: [sidecar]\n"
      "aliases:\n"
      "  both: [sidecar, extra]\n"
      "template: \"{{ Undefined_On_Purpose }}\"\n"
      "templates:\n"
      "  sidecar: |\n"
      "    containers: []\n"
      "  extra: |-\n"
      "      volumes: []\n";
  const auto cfg = load_injection_config(text, "c.yaml");
  EXPECT_EQ(cfg.shape, config_shape::named_templates);
  EXPECT_EQ(cfg.rules.dialect, decision_dialect::istio_1_28) << "today's shape is decided by today's rules";
  ASSERT_EQ(cfg.templates.size(), 2u);
  EXPECT_EQ(cfg.templates[0].name, "sidecar");
  EXPECT_EQ(cfg.templates[0].text, "containers: []\n");
  EXPECT_EQ(cfg.templates[1].name, "extra");
  EXPECT_EQ(cfg.templates[1].text, "volumes: []");
  EXPECT_EQ(cfg.templates_line, 6);
  EXPECT_EQ(cfg.default_templates, std::vector<std::string>{"sidecar"});
  ASSERT_EQ(cfg.aliases.size(), 1u);
  EXPECT_EQ(cfg.aliases[0].name, "both");
  EXPECT_EQ(cfg.aliases[0].templates, (std::vector<std::string>{"sidecar", "extra"}));
  EXPECT_EQ(cfg.template_text, "") << "`template` is ignored beside `templates`, as in Istio >= 1.9";
  // Positions inside a named template map to the file.
  const source_position p = template_position(cfg, cfg.templates[1], 1, 3);
  EXPECT_EQ(p.line, 10);
  EXPECT_EQ(p.column, 9);
  EXPECT_EQ(find_template(cfg, "extra"), &cfg.templates[1]);
  EXPECT_EQ(find_template(cfg, "gateway"), nullptr);
}

TEST(InjectionConfig, NamesThatSelectNoTemplateAreErrorsWithPositions) {
  EXPECT_EQ(load_error("policy: enabled\ndefaultTemplates: [sidecar, gone]\ntemplates:\n  sidecar: x\n"),
            "c.yaml:2:19: defaultTemplates: 'gone' is not one of the config's templates");
  EXPECT_EQ(load_error("policy: enabled\naliases:\n  a: [nope]\ntemplates:\n  sidecar: x\n"),
            "c.yaml:3:6: aliases.a: 'nope' is not one of the config's templates");
  EXPECT_EQ(load_error("policy: enabled\ntemplates:\n  sidecar: x\n  sidecar: y\n"),
            "c.yaml:4:3: templates.sidecar is defined twice");
  EXPECT_EQ(load_error("policy: enabled\ntemplates: [a]\n"),
            "c.yaml:2:12: templates must be a mapping of name to template text");
  EXPECT_EQ(load_error("policy: enabled\ntemplates:\n  s: {a: 1}\n"),
            "c.yaml:3:6: templates.s must be a string (use `s: |`)");
  EXPECT_EQ(load_error("policy: enabled\ndefaultTemplates: sidecar\ntemplates:\n  sidecar: x\n"),
            "c.yaml:2:19: defaultTemplates must be a list of template names");
}

TEST(InjectionConfig, TheNewKeysWithoutTemplatesAreAnError) {
  EXPECT_EQ(load_error("policy: enabled\ndefaultTemplates: [sidecar]\ntemplate: x\n"),
            "c.yaml:1:1: defaultTemplates and aliases need templates (Istio >= 1.9's shape)");
  EXPECT_EQ(load_error("policy: enabled\n"), "c.yaml:1:1: the injection config has no template (nor templates)");
}

TEST(ConfigMapManifest, ReadsDataKeysInOrder) {
  const auto keys = read_configmap_manifest(
      "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: istio-sidecar-injector\ndata:\n"
      "  values: '{}'\n  config: |\n    policy: enabled\n",
      "cm.yaml");
  ASSERT_TRUE(keys.has_value());
  EXPECT_EQ(keys->name, "istio-sidecar-injector");
  ASSERT_EQ(keys->data.size(), 2u);
  EXPECT_EQ(keys->data[0].first, "values");
  ASSERT_NE(keys->find("config"), nullptr);
  EXPECT_EQ(*keys->find("config"), "policy: enabled\n");
  EXPECT_EQ(keys->find("mesh"), nullptr);
}

TEST(ConfigMapManifest, OtherTextIsNotAManifest) {
  EXPECT_FALSE(read_configmap_manifest("policy: enabled\ntemplate: x\n", "c.yaml").has_value());
  EXPECT_FALSE(read_configmap_manifest("kind: ConfigMap\n", "c.yaml").has_value()) << "no apiVersion: a config key";
  EXPECT_FALSE(read_configmap_manifest("[unclosed\n", "c.yaml").has_value());
  EXPECT_FALSE(read_configmap_manifest("apiVersion: v1\nkind: Secret\ndata: {}\n", "c.yaml").has_value());
}

TEST(ConfigMapManifest, DataThatIsNotTextIsAnError) {
  try {
    read_configmap_manifest("apiVersion: v1\nkind: ConfigMap\ndata:\n  config: {a: 1}\n", "cm.yaml");
    FAIL() << "expected an error";
  } catch (const config_error& e) {
    EXPECT_STREQ(e.what(), "cm.yaml:4:11: ConfigMap data.config must be a string");
  }
}

// Nine levels of nine aliases each: tiny as text, 9^9 values expanded.
std::string billion_laughs() {
  std::string text = "a0: &a0 [x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i <= 9; ++i) {
    const std::string prev = "*a" + std::to_string(i - 1);
    text += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int j = 0; j < 9; ++j) text += (j ? ", " : "") + prev;
    text += "]\n";
  }
  return text;
}

TEST(YamlLimits, AliasBombsAreRefusedWithAPosition) {
  try {
    load_values(billion_laughs(), "values.yaml");
    FAIL() << "expected an error";
  } catch (const config_error& e) {
    EXPECT_EQ(e.where().file, "values.yaml");
    EXPECT_GT(e.where().line, 0);
    EXPECT_NE(e.message().find("expands to more than 100000 values"), std::string::npos) << e.what();
  }
}

TEST(YamlLimits, DeepNestingIsRefused) {
  // yaml-cpp refuses deep nesting written out in the text itself; aliases nest
  // without it: each level below refers to the one above.
  std::string chain = "l0: &l0 [x]\n";
  for (int i = 1; i < 600; ++i)
    chain += "l" + std::to_string(i) + ": &l" + std::to_string(i) + " [*l" + std::to_string(i - 1) + "]\n";
  try {
    // Every level is a top-level key too, so the node bound is raised to let the
    // depth bound speak.
    config_node::from_yaml(YAML::Load(chain), "values.yaml", yaml_limits{10'000'000, 512});
    FAIL() << "expected an error";
  } catch (const config_error& e) {
    EXPECT_NE(e.message().find("nests deeper than 512 levels"), std::string::npos) << e.what();
  }
  try {
    load_values("v: " + std::string(600, '[') + std::string(600, ']') + "\n", "values.yaml");
    FAIL() << "expected an error";
  } catch (const config_error& e) {
    EXPECT_EQ(e.where().file, "values.yaml") << e.what();
  }
}

TEST(YamlLimits, TheBoundsAreAdjustableAndExact) {
  const YAML::Node node = YAML::Load("[1, 2, 3]");
  EXPECT_NO_THROW(config_node::from_yaml(node, "f", yaml_limits{4, 512}));  // the list and its three items
  EXPECT_THROW(config_node::from_yaml(node, "f", yaml_limits{3, 512}), config_error);
  EXPECT_NO_THROW(config_node::from_yaml(YAML::Load("[[1]]"), "f", yaml_limits{100, 2}));
  EXPECT_THROW(config_node::from_yaml(YAML::Load("[[[1]]]"), "f", yaml_limits{100, 2}), config_error);
}

TEST(YamlLimits, SharedAliasesWithinTheBoundStillLoad) {
  const config_node v = load_values("base: &b {a: 1, b: 2}\none: *b\ntwo: *b\n", "values.yaml");
  ASSERT_NE(v.find("two"), nullptr);
  EXPECT_EQ(v.find("two")->find("b")->as_int(), 2);
}

}  // namespace
}  // namespace meshinject::core
