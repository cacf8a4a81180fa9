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
  // As compilers print them: the position, then the severity.
  EXPECT_NE(r.err.find("injector-config.yaml:38:20: warning: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("restartPolicy"), std::string::npos) << r.err;
  // Istio 1.1's production mesh config has no unknown key.
  EXPECT_EQ(r.err.find("unknown key"), std::string::npos) << r.err;
}

TEST_F(CheckConfigTest, UnknownMeshKeysWarnWithTheKeyTheyProbablyMeant) {
  const auto config = file("ok.yaml", injection_config_text("containers: []\n"));
  const auto mesh = file("mesh.yaml",
                         "enableTracing: true\n"
                         "defaultConfig:\n"
                         "  discoveryAdress: istiod:15012\n"
                         "  someNewSetting: 1\n"
                         "discoveryAddress: istiod:15012\n"
                         "enablePrometheusMerge: true\n");
  const cli_result r = run_cli({"check-config", config, "--mesh-config", mesh});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err,
            mesh + ":3:3: warning: unknown key 'defaultConfig.discoveryAdress' is ignored (did you mean "
                   "'discoveryAddress'?)\n" +
                mesh + ":4:3: warning: unknown key 'defaultConfig.someNewSetting' is ignored\n" + mesh +
                ":5:1: warning: unknown key 'discoveryAddress' is ignored (did you mean "
                "'defaultConfig.discoveryAddress'?)\n");
}

TEST_F(CheckConfigTest, UnknownInjectionConfigAndNearMissValuesKeysWarn) {
  const auto config = file("typo.yaml", injection_config_text("containers: []\n") + "neverInjectSelectors: []\n");
  const auto values = file("values.yaml", "globl:\n  hub: x\nmyOwnKey: 1\n");
  const cli_result r = run_cli({"check-config", config, "--values", values});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("warning: unknown key 'neverInjectSelectors' is ignored (did you mean 'neverInjectSelector'?)"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find(values + ":1:1: warning: values: top-level key 'globl'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("did you mean 'global'?"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("myOwnKey"), std::string::npos) << "values are free-form: " << r.err;
}

TEST_F(CheckConfigTest, StrictTurnsWarningsIntoFailure) {
  const auto config = file("ok.yaml", injection_config_text("containers: []\n"));
  const auto mesh = file("mesh.yaml", "defaultConfig:\n  discoveryAdress: x\n");
  EXPECT_EQ(run_cli({"check-config", config, "--mesh-config", mesh}).code, 0);
  const cli_result r = run_cli({"check-config", config, "--mesh-config", mesh, "--strict"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find(mesh + ":2:3: warning: unknown key"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--strict"), std::string::npos) << r.err;
  // Without warnings, --strict passes.
  EXPECT_EQ(run_cli({"check-config", config, "--strict"}).code, 0);
}

TEST_F(CheckConfigTest, EveryErrorOfAFileIsReportedInFileOrder) {
  // Keys out of alphabetical order: the tree sorts keys, the report must not.
  const auto mesh = file("mesh.yaml",
                         "enableTracing: maybe\n"
                         "defaultConfig:\n"
                         "  proxyAdminPort: lots\n"
                         "  drainDuration: forever\n"
                         "accessLogEncoding: XML\n");
  const auto config = file("config.yaml",
                           "policy: sometimes\n"
                           "neverInjectSelector: 3\n"
                           "template: |\n"
                           "  containers: []\n"
                           "injectedAnnotations: [a]\n");
  const cli_result r = run_cli({"check-config", config, "--mesh-config", mesh});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, config + ":1:9: policy: 'sometimes' is not a valid policy (use enabled or disabled)\n" + config +
                       ":2:22: neverInjectSelector: must be a list of label selectors, found a scalar\n" + config +
                       ":5:22: injectedAnnotations must be a mapping\n" + mesh +
                       ":1:16: enableTracing: expected true or false, got 'maybe'\n" + mesh +
                       ":3:19: defaultConfig.proxyAdminPort: expected an integer, got 'lots'\n" + mesh +
                       ":4:18: defaultConfig.drainDuration: expected a duration such as 10s or 1m0s, got 'forever'\n" +
                       mesh + ":5:20: accessLogEncoding: unknown value 'XML' (expected one of TEXT, JSON)\n");
}

TEST_F(CheckConfigTest, ReadsWhatKubectlCreateConfigMapPrints) {
  // `kubectl create configmap --from-file=config=... -o yaml`: no namespace, a
  // creationTimestamp: null, and the key as a literal block.
  const std::string config = injection_config_text("containers:\n- name: istio-proxy\n  image: p\n");
  std::string manifest = "apiVersion: v1\ndata:\n  config: |\n";
  for (std::size_t at = 0; at < config.size();) {
    const std::size_t end = config.find('\n', at);
    manifest += "    " + config.substr(at, end - at) + "\n";
    at = end + 1;
  }
  manifest += "kind: ConfigMap\nmetadata:\n  creationTimestamp: null\n  name: istio-sidecar-injector\n";
  const auto cm = file("cm.yaml", manifest);
  const cli_result r = run_cli({"check-config", cm});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.rfind(cm + " (data.config): ok", 0), 0u) << r.out;
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
  const cli_result r = run_cli({"check-config", f});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err.rfind(f + ":5:16: template: function \"nosuchfn\" not defined", 0), 0u) << r.err;
  // Then which Istio the file looks like, and what is missing.
  EXPECT_NE(r.err.find("\nnote: " + f + ": it looks like an Istio 1.2-1.8 config (one `template`, `{{ }}` delimiters)"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("`nosuchfn` is not a function Istio 1.1/1.2's injector has"), std::string::npos) << r.err;
}

// Each release's sample file, with a function or data field it does not have:
// the note names the release the file looks like and what is missing.
TEST_F(CheckConfigTest, SaysWhichIstioTheFileLooksLikeAndWhatIsMissing) {
  MESHINJECT_REQUIRE_CONFORMANCE(dir);
  struct sample {
    std::string name, text, looks_like, missing;
  };
  const std::string v11 = read_file(dir / "istio-1.1" / "injector-config.yaml");
  std::string v12_template = read_file(dir / "istio-1.2" / "webhook" / "TestWebhookInject_http_probe_rewrite_template.yaml");
  std::string v12 = "policy: enabled\ntemplate: |\n";
  for (std::size_t at = 0; at < v12_template.size();) {
    const std::size_t eol = v12_template.find('\n', at);
    v12 += "  " + v12_template.substr(at, eol - at) + "\n";
    at = eol == std::string::npos ? v12_template.size() : eol + 1;
  }
  const std::string v128 = read_file(dir / "istio-1.28" / "rendered" / "config.yaml");
  auto replaced = [](std::string text, const std::string& from, const std::string& to) {
    const std::size_t at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) text.replace(at, from.size(), to);
    return text;
  };
  const std::vector<sample> samples = {
      {"1.1", replaced(v11, "[[ toYaml $value | indent 2 ]]", "[[ nindent 2 $value ]]"),
       "an Istio 1.1 config (one `template`, `[[ ]]` delimiters)",
       "`nindent` is a function of Istio >= 1.9's injector, which reads it only in the named-templates shape"},
      {"1.2", replaced(v12, "{{ if eq .Spec.ServiceAccountName", "{{ if eq .ProxyImage"),
       "an Istio 1.2-1.8 config (one `template`, `{{ }}` delimiters)",
       "`.ProxyImage` is data Istio >= 1.9 gives templates, only in the named-templates shape"},
      {"1.28", replaced(v128, "{{ toYaml $value | indent 6 }}", "{{ toYaml $value | indent2 6 }}"),
       "an Istio >= 1.9 config (`templates`, `defaultTemplates`), read as Istio 1.28 reads it",
       "`indent2` is not a function Istio 1.28's injector has: the file may come from a newer Istio"},
  };
  for (const sample& s : samples) {
    SCOPED_TRACE(s.name);
    const auto f = file("sample-" + s.name + ".yaml", s.text);
    const cli_result r = run_cli({"check-config", f});
    EXPECT_EQ(r.code, 1) << r.err;
    EXPECT_NE(r.err.find("note: " + f + ": it looks like " + s.looks_like), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(s.missing), std::string::npos) << r.err;
  }
  // Neither shape: said so.
  const auto none = file("none.yaml", "policy: enabled\ntempaltes: {}\n");
  const cli_result r = run_cli({"check-config", none});
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_NE(r.err.find("it does not look like an injection config of any Istio release"), std::string::npos) << r.err;
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

// A ConfigMap manifest as `kubectl get cm -o yaml` prints it, holding `key: text`
// entries under data (each text as a literal block).
std::string configmap_manifest(const std::string& name, const std::vector<std::pair<std::string, std::string>>& data) {
  std::string out = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\n  namespace: istio-system\ndata:\n";
  for (const auto& [key, text] : data) {
    out += "  " + key + ": |\n";
    std::size_t start = 0;
    while (start < text.size()) {
      const std::size_t end = text.find('\n', start);
      out += "    " + text.substr(start, end - start) + "\n";
      if (end == std::string::npos) break;
      start = end + 1;
    }
  }
  return out;
}

TEST_F(CheckConfigTest, ReadsTheInjectorConfigMapManifestAsIstioMountsIt) {
  const std::string config = injection_config_text("containers:\n- name: istio-proxy\n  image: \"{{ .Values.image }}\"\n");
  const auto cm = file("istio-sidecar-injector.yaml",
                       configmap_manifest("istio-sidecar-injector", {{"config", config}, {"values", "{\"image\": \"p\"}"}}));
  const auto mesh = file("istio.yaml", configmap_manifest("istio", {{"mesh", "defaultConfig:\n  concurrency: 2\n"}}));
  const cli_result r = run_cli({"check-config", cm, "--mesh-config", mesh});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.rfind(cm + " (data.config): ok", 0), 0u) << r.out;
}

TEST_F(CheckConfigTest, ErrorsInsideAManifestPointIntoTheKey) {
  const auto cm = file("cm.yaml", configmap_manifest("istio-sidecar-injector", {{"config", "policy: sometimes\ntemplate: x\n"}}));
  expect_error({cm}, cm + " (data.config)", 1, 9, "not a valid policy");
  const auto mesh_cm = file("mesh-cm.yaml", configmap_manifest("istio", {{"mesh", "defaultConfig:\n  drainDuration: forever\n"}}));
  const auto config = file("ok.yaml", injection_config_text("containers: []\n"));
  expect_error({config, "--mesh-config", mesh_cm}, mesh_cm + " (data.mesh)", 2, 18, "defaultConfig.drainDuration");
}

TEST_F(CheckConfigTest, AManifestWithoutTheKeyIsAnError) {
  const auto cm = file("cm.yaml", configmap_manifest("istio", {{"mesh", "defaultConfig: {}\n"}}));
  const cli_result r = run_cli({"check-config", cm});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find(cm + ": a ConfigMap manifest (istio) without data.config"), std::string::npos) << r.err;
}

TEST_F(CheckConfigTest, AnExplicitValuesFileWinsOverTheManifestsValues) {
  const std::string config = injection_config_text("containers:\n- name: istio-proxy\n  image: p\n");
  const auto cm = file("cm.yaml", configmap_manifest("istio-sidecar-injector", {{"config", config}, {"values", "[broken\n"}}));
  const auto values = file("values.yaml", "image: p\n");
  EXPECT_EQ(run_cli({"check-config", cm, "--values", values}).code, 0);
  const cli_result r = run_cli({"check-config", cm});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find(cm + " (data.values)"), std::string::npos) << r.err;
}

// The engine renders named templates (patch/named_injector.cpp): the shape loads.
TEST_F(CheckConfigTest, NamedTemplatesLoad) {
  const auto f = file("named.yaml",
                      "policy: enabled\ndefaultTemplates: [sidecar]\ntemplate: \"{{ Undefined_On_Purpose }}\"\n"
                      "templates:\n  sidecar: |\n    containers: []\n  gateway: |\n    containers: []\n");
  const cli_result r = run_cli({"check-config", f});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err.find("Undefined_On_Purpose"), std::string::npos) << "`template` is ignored beside `templates`";
}

TEST_F(CheckConfigTest, Istio128sRenderedConfigMapLoads) {
  MESHINJECT_REQUIRE_CONFORMANCE(dir);
  const auto manifest = (dir / "istio-1.28" / "rendered" / "istio-sidecar-injector.yaml").string();
  const cli_result r = run_cli({"check-config", manifest});
  EXPECT_EQ(r.code, 0) << r.err;
  const auto config = (dir / "istio-1.28" / "rendered" / "config.yaml").string();
  const auto values = (dir / "istio-1.28" / "rendered" / "values.json").string();
  const cli_result split = run_cli({"check-config", config, "--values", values});
  EXPECT_EQ(split.code, 0) << split.err;
}

TEST_F(CheckConfigTest, ConfigFilesAreBoundedInSize) {
  const auto config = file("ok.yaml", injection_config_text("containers: []\n"));
  const auto big = file("big.yaml", "# " + std::string(4u << 20, 'x') + "\n");
  const cli_result r = run_cli({"check-config", config, "--values", big});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("cannot read " + big + ": larger than 4 MiB"), std::string::npos) << r.err.substr(0, 300);
  // A path that never ends, as a config symlinked to /dev/zero would be: a
  // device is never read.
  const cli_result zero = run_cli({"check-config", config, "--mesh-config", "/dev/zero"});
  EXPECT_EQ(zero.code, 1);
  EXPECT_NE(zero.err.find("cannot read /dev/zero: not a regular file"), std::string::npos) << zero.err.substr(0, 300);
  // The bound is a flag.
  const auto small = file("small.yaml", "# " + std::string(2000, 'x') + "\n");
  const cli_result bounded = run_cli({"check-config", config, "--values", small, "--max-config-bytes", "1Ki"});
  EXPECT_EQ(bounded.code, 1);
  EXPECT_NE(bounded.err.find("larger than 1024 bytes"), std::string::npos) << bounded.err.substr(0, 300);
  EXPECT_NE(bounded.err.find("--max-config-bytes"), std::string::npos) << bounded.err.substr(0, 300);
  EXPECT_EQ(run_cli({"check-config", config, "--values", small}).code, 0);
  const cli_result in = run_cli({"check-config", "-"}, std::string((4u << 20) + 1, '#'));
  EXPECT_EQ(in.code, 1);
  EXPECT_NE(in.err.find("cannot read <stdin>: larger than 4 MiB"), std::string::npos) << in.err.substr(0, 300);
}

TEST_F(CheckConfigTest, AnAliasBombInTheValuesIsAnErrorNotAnOutage) {
  std::string bomb = "a0: &a0 [x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i <= 9; ++i) {
    bomb += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int j = 0; j < 9; ++j) bomb += (j ? ", *a" : "*a") + std::to_string(i - 1);
    bomb += "]\n";
  }
  const auto config = file("ok.yaml", injection_config_text("containers: []\n"));
  const auto values = file("values.yaml", bomb);
  const cli_result r = run_cli({"check-config", config, "--values", values});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find(values + ":"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("expands to more than 100000 values"), std::string::npos) << r.err;
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
