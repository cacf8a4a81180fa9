// meshinject check-config: what loads in serve passes; every error is reported
// as file:line:column: message with exit 1.
#include <gtest/gtest.h>

#include "tests/cmd/cli_runner.hpp"
#include "tests/support/engine_fixture.hpp"

namespace meshinject::test {
namespace {

class CheckConfigTest : public ::testing::Test {
 protected:
  std::string file(const std::string& name, const std::string& content) {
    const auto p = dir_.path() / name;
    write_file(p, content);
    return p.string();
  }

  // Exit 1 and exactly one line on stderr: "<file>:<line>:<column>: ..." containing `message`.
  void expect_error(const std::vector<std::string>& argv, const std::string& at_file, int line, int column,
                    const std::string& message) {
    std::vector<std::string> all = {"check-config"};
    all.insert(all.end(), argv.begin(), argv.end());
    const cli_result r = run_cli(all);
    EXPECT_EQ(r.code, 1) << r.err;
    EXPECT_EQ(r.out, "");
    const std::string prefix = at_file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": ";
    EXPECT_EQ(r.err.rfind(prefix, 0), 0u) << r.err;
    EXPECT_NE(r.err.find(message), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }

  temp_dir dir_;
};

TEST_F(CheckConfigTest, AGoodConfigPasses) {
  const auto config =
      file("good.yaml", injection_config_text("containers:\n- name: istio-proxy\n  image: p\n", "disabled",
                                              "neverInjectSelector:\n- matchLabels: {a: b}\n"));
  const cli_result r = run_cli({"check-config", config});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out.rfind(config + ": ok (policy disabled, 1 neverInjectSelector, 0 alwaysInjectSelector", 0), 0u)
      << r.out;
}

TEST_F(CheckConfigTest, TheDeployedConfigAndMeshPass) {
  const auto base = source_dir() / "deploy" / "base";
  const cli_result r = run_cli(
      {"check-config", (base / "injector-config.yaml").string(), "--mesh-config", (base / "mesh.yaml").string()});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find(": ok (policy enabled"), std::string::npos) << r.out;
  // From stdin, with istioctl's flag name.
  const cli_result in = run_cli({"check-config", "-", "--meshConfigFile", (base / "mesh.yaml").string()},
                                read_file(base / "injector-config.yaml"));
  EXPECT_EQ(in.code, 0) << in.err;
  EXPECT_EQ(in.out.rfind("<stdin>: ok", 0), 0u) << in.out;
}

TEST_F(CheckConfigTest, WarningsGoToStderrAndStillPass) {
  MESHINJECT_REQUIRE_CONFORMANCE(dir);
  const cli_result r = run_cli({"check-config", (dir / "istio-1.1" / "injector-config.yaml").string(), "--mesh-config",
                                (dir / "istio-1.1" / "mesh.yaml").string()});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err.rfind("warning: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find("restartPolicy"), std::string::npos) << r.err;
}

TEST_F(CheckConfigTest, YamlErrors) {
  const auto f = file("yaml.yaml", "policy: enabled\ntemplate: [\n");
  expect_error({f}, f, 3, 1, "invalid YAML");
  const auto g = file("indent.yaml", "policy: enabled\n  template: x\n");
  expect_error({g}, g, 2, 11, "invalid YAML");
}

TEST_F(CheckConfigTest, BadPolicy) {
  const auto f = file("policy.yaml", injection_config_text("containers: []\n", "sometimes"));
  expect_error({f}, f, 1, 9, "'sometimes' is not a valid policy");
}

TEST_F(CheckConfigTest, BadSelector) {
  const auto f = file("selector.yaml",
                      "policy: enabled\n"
                      "neverInjectSelector:\n"
                      "- matchExpressions:\n"
                      "  - key: a\n"
                      "    operator: Near\n"
                      "template: |\n"
                      "  containers: []\n");
  expect_error({f}, f, 5, 15, "unknown operator \"Near\"");
  const auto g = file("selector-value.yaml",
                      "policy: enabled\n"
                      "alwaysInjectSelector:\n"
                      "- matchLabels: {app: yes}\n"
                      "template: |\n"
                      "  containers: []\n");
  expect_error({g}, g, 3, 22, "quote it");
}

TEST_F(CheckConfigTest, TemplateSyntaxErrors) {
  const auto f = file("unclosed.yaml",
                      "policy: enabled\ntemplate: |\n  containers:\n  - name: proxy\n    image: \"{{ if .Spec }}\"\n");
  expect_error({f}, f, 5, 13, "template: missing {{end}} for if");
  // The deploy test's broken config: Istio 1.1 delimiters with a stray bracket.
  const auto g =
      file("bracket.yaml", "policy: enabled\ntemplate: |-\n  containers:\n  - name: [[ annotation .ObjectMeta ]\n");
  expect_error({g}, g, 4, 37, "template: unexpected character ']'");
}

TEST_F(CheckConfigTest, UnknownFunctions) {
  const auto f =
      file("function.yaml",
           "policy: enabled\ntemplate: |\n  containers:\n  - name: proxy\n    image: \"{{ nosuchfn .Spec }}\"\n");
  expect_error({f}, f, 5, 16, "template: function \"nosuchfn\" not defined");
}

TEST_F(CheckConfigTest, BadMeshAndValuesFiles) {
  const auto config = file("ok.yaml", injection_config_text("containers: []\n"));
  const auto mesh = file("mesh.yaml", "defaultConfig:\n  drainDuration: forever\n");
  expect_error({config, "--mesh-config", mesh}, mesh, 2, 18, "defaultConfig.drainDuration");
  const auto values = file("values.yaml", "global: [\n");
  expect_error({config, "--values", values}, values, 2, 1, "invalid YAML");
}

TEST_F(CheckConfigTest, ErrorsInSeveralFilesAreAllReported) {
  const auto config = file("policy.yaml", injection_config_text("containers: []\n", "sometimes"));
  const auto mesh = file("mesh.yaml", "defaultConfig:\n  drainDuration: forever\n");
  const cli_result r = run_cli({"check-config", config, "--meshConfigFile", mesh});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find(config + ":1:9: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(mesh + ":2:18: "), std::string::npos) << r.err;
}

TEST_F(CheckConfigTest, UsageAndUnreadableFiles) {
  EXPECT_EQ(run_cli({"check-config"}).code, 2);
  const auto a = file("a.yaml", "x"), b = file("b.yaml", "y");
  EXPECT_EQ(run_cli({"check-config", a, b}).code, 2);
  EXPECT_EQ(run_cli({"check-config", "-", "--values", "-"}).code, 2);
  const cli_result missing = run_cli({"check-config", (dir_.path() / "nope.yaml").string()});
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.err.find("cannot read"), std::string::npos);
  const auto empty = file("empty.yaml", "");
  expect_error({empty}, empty, 1, 1, "the injection config is empty");
}

TEST(CheckConfigBinary, ExitCodes) {
  MESHINJECT_REQUIRE_BINARY();
  const auto base = source_dir() / "deploy" / "base";
  cli_result r = run_binary(
      {"check-config", (base / "injector-config.yaml").string(), "--mesh-config", (base / "mesh.yaml").string()});
  EXPECT_EQ(r.code, 0) << r.err;
  r = run_binary({"check-config", "-"}, "policy: maybe\ntemplate: x\n");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err.rfind("<stdin>:1:9: ", 0), 0u) << r.err;
}

}  // namespace
}  // namespace meshinject::test
