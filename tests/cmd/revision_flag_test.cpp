// --revision (serve, kube-inject, explain) and istioctl's config flag names with
// Istio 1.28's ConfigMap: what the command line hands the engine. What the engine
// makes of the revision (.Revision, the status annotation) is tested in tests/patch.
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "cmd/config_flags.hpp"
#include "tests/cmd/cli_runner.hpp"

namespace meshinject::test {
namespace {

const char* const pod_yaml =
    "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: shop}\n"
    "spec: {containers: [{name: web, image: web}]}\n";

TEST(RevisionFlag, AcceptsDnsLabelsOnly) {
  for (const char* good : {"default", "canary", "1-28-0", "a", "rev2"})
    EXPECT_EQ(cmd::revision_problem(good), "") << good;
  for (const char* bad : {"", "Canary", "1.28", "-canary", "canary-", "rev_2", "a b", "rev\n"})
    EXPECT_NE(cmd::revision_problem(bad), "") << bad;
  EXPECT_NE(cmd::revision_problem(std::string(64, 'a')).find("longer than 63"), std::string::npos);
  EXPECT_EQ(cmd::revision_problem(std::string(63, 'a')), "");
  // A hostile value is cut before it reaches the message.
  EXPECT_LT(cmd::revision_problem(std::string(100000, '_')).size(), 200u);
}

TEST(RevisionFlag, ReachesTheEngineThroughConfigSources) {
  cmd::config_flags flags;
  flags.revision = "canary";
  std::istringstream in;
  std::ostringstream out, err;
  patch::config_sources sources;
  ASSERT_TRUE(flags.read(sources, cmd::io{in, out, err})) << err.str();
  EXPECT_EQ(sources.revision, "canary");

  cmd::config_flags unset;
  patch::config_sources defaults;
  ASSERT_TRUE(unset.read(defaults, cmd::io{in, out, err})) << err.str();
  EXPECT_EQ(defaults.revision, "") << "empty: the engine falls back to the values' revision, else default";
}

TEST(RevisionFlag, FallsBackToTheValuesRevision) {
  temp_dir dir;
  const auto values = dir.path() / "values.json";
  write_file(values, "{\"revision\": \"blue\", \"global\": {}}");
  std::istringstream in;
  std::ostringstream out, err;
  cmd::config_flags flags;
  flags.values = values.string();
  patch::config_sources sources;
  ASSERT_TRUE(flags.read(sources, cmd::io{in, out, err})) << err.str();
  EXPECT_EQ(sources.revision, "blue");
  flags.revision = "canary";
  ASSERT_TRUE(flags.read(sources, cmd::io{in, out, err})) << err.str();
  EXPECT_EQ(sources.revision, "canary") << "--revision wins";
  EXPECT_EQ(cmd::values_revision("revision: \"\"\n", "v.yaml"), "") << "the chart's default: none";
  EXPECT_EQ(cmd::values_revision("[broken\n", "v.yaml"), "") << "the snapshot reports a broken file";
}

// With a config in Istio >= 1.9's shape the revision reaches the status annotation.
TEST(RevisionFlag, StampsTheStatusAnnotationOfA128Config) {
  temp_dir dir;
  const auto config = dir.path() / "config.yaml";
  write_file(config,
             "policy: enabled\ndefaultTemplates: [sidecar]\ntemplates:\n  sidecar: |\n    spec:\n"
             "      containers:\n      - name: istio-proxy\n        image: proxy\n");
  const auto status_revision = [&](std::vector<std::string> extra) {
    std::vector<std::string> argv = {"kube-inject", "-f", "-", "--injectConfigFile", config.string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    const cli_result r = run_cli(argv, pod_yaml);
    EXPECT_EQ(r.code, 0) << r.err;
    const json pod = yaml_to_json(r.out);
    return json::parse(pod["metadata"]["annotations"]["sidecar.istio.io/status"].get<std::string>())["revision"];
  };
  EXPECT_EQ(status_revision({"--revision", "canary"}), "canary");
  EXPECT_EQ(status_revision({}), "default");
  const auto values = dir.path() / "values.json";
  write_file(values, "{\"revision\": \"blue\"}");
  EXPECT_EQ(status_revision({"--valuesFile", values.string()}), "blue");
}

TEST(RevisionFlag, KubeInjectAndExplainTakeIt) {
  cli_result r = run_cli({"kube-inject", "-f", "-", "--revision", "canary"}, pod_yaml);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("istio-proxy"), std::string::npos) << r.out;
  r = run_cli({"kube-inject", "-f", "-", "--revision=canary"}, pod_yaml);
  EXPECT_EQ(r.code, 0) << r.err;
  r = run_cli({"explain", "-f", "-", "--revision", "canary"}, pod_yaml);
  EXPECT_EQ(r.code, 0) << r.err;
}

TEST(RevisionFlag, ABadRevisionIsAUsageError) {
  for (const std::string sub : {"kube-inject", "explain"}) {
    cli_result r = run_cli({sub, "-f", "-", "--revision", "Not_A_Label"}, pod_yaml);
    EXPECT_EQ(r.code, 2) << sub;
    EXPECT_EQ(r.out, "") << sub;
    EXPECT_NE(r.err.find(sub + ": --revision 'Not_A_Label' is not a DNS-1123 label"), std::string::npos) << r.err;
    r = run_cli({sub, "-f", "-", "--revision="}, pod_yaml);
    EXPECT_EQ(r.code, 2) << sub;
    EXPECT_NE(r.err.find("--revision is empty"), std::string::npos) << r.err;
  }
  // serve refuses it before binding anything.
  const cli_result r = run_cli({"serve", "--revision", "canary-", "--listen", "127.0.0.1:0"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("serve: --revision 'canary-' must start and end with a letter or digit"), std::string::npos)
      << r.err;
}

TEST(RevisionFlag, HelpNamesIt) {
  for (const char* sub : {"serve", "kube-inject", "explain"}) {
    const cli_result r = run_cli({sub, "--help"});
    ASSERT_EQ(r.code, 0) << sub;
    EXPECT_NE(r.out.find("--revision REV"), std::string::npos) << sub << '\n' << r.out;
  }
  EXPECT_EQ(run_cli({"check-config", "--help"}).out.find("--revision"), std::string::npos)
      << "check-config injects nothing";
}

// Istio 1.28's GetProxyIDs: the last id of the namespace's UID range, and of the
// first supplemental-groups block (else of the UID range).
TEST(NamespaceAnnotations, GiveTheProxyIdsAsIstio128Does) {
  std::string problem;
  cmd::proxy_ids ids = cmd::proxy_ids_from_annotations(
      "openshift.io/sa.scc.uid-range=1000620000/10000,openshift.io/sa.scc.supplemental-groups=5000/100,6000/10", problem);
  EXPECT_EQ(problem, "");
  EXPECT_EQ(ids.uid, 1000629999);
  EXPECT_EQ(ids.gid, 5099);
  ids = cmd::proxy_ids_from_annotations("openshift.io/sa.scc.uid-range=2000-2999,team=shop", problem);
  EXPECT_EQ(ids.uid, 2999);
  EXPECT_EQ(ids.gid, 2999) << "without supplemental groups, the UID range";
  ids = cmd::proxy_ids_from_annotations("team=shop", problem);
  EXPECT_EQ(ids.uid, -1);
  EXPECT_EQ(ids.gid, -1);
  EXPECT_EQ(problem, "");
  for (const char* bad : {"openshift.io/sa.scc.uid-range=lots", "openshift.io/sa.scc.uid-range=10/0",
                          "openshift.io/sa.scc.uid-range=20-10", "noequals", "openshift.io/sa.scc.uid-range=99999999999/1"}) {
    problem.clear();
    cmd::proxy_ids_from_annotations(bad, problem);
    EXPECT_NE(problem, "") << bad;
  }
  const cli_result r = run_cli({"kube-inject", "-f", "-", "--namespace-annotations", "openshift.io/sa.scc.uid-range=x"},
                               pod_yaml);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("kube-inject: --namespace-annotations: openshift.io/sa.scc.uid-range 'x' is not"),
            std::string::npos)
      << r.err;
}

TEST(NativeSidecarsFlag, ReachesTheEngineThroughConfigSources) {
  cmd::config_flags flags;
  std::istringstream in;
  std::ostringstream out, err;
  patch::config_sources sources;
  ASSERT_TRUE(flags.read(sources, cmd::io{in, out, err}));
  EXPECT_TRUE(sources.native_sidecars) << "Istio 1.28's default";
  EXPECT_EQ(sources.proxy_uid, -1);
  flags.native_sidecars = false;
  flags.namespace_annotations = "openshift.io/sa.scc.uid-range=1000/10";
  ASSERT_TRUE(flags.read(sources, cmd::io{in, out, err}));
  EXPECT_FALSE(sources.native_sidecars);
  EXPECT_EQ(sources.proxy_uid, 1009);
  EXPECT_EQ(sources.proxy_gid, 1009);
  EXPECT_EQ(run_cli({"kube-inject", "-f", "-", "--native-sidecars=false"}, pod_yaml).code, 0);
  EXPECT_EQ(run_cli({"kube-inject", "-f", "-", "--native-sidecars=maybe"}, pod_yaml).code, 2);
}

// istioctl's names read Istio 1.28's ConfigMap as its keys, or as the whole
// manifest (`kubectl get cm istio-sidecar-injector -o yaml`), to the same texts.
TEST(IstioctlFlags, ReadIstio128sConfigMapKeysAndManifestAlike) {
  MESHINJECT_REQUIRE_CONFORMANCE(dir);
  const auto rendered = dir / "istio-1.28" / "rendered";
  std::istringstream in;
  std::ostringstream out, err;

  cmd::config_flags keys;
  keys.inject_config = (rendered / "config.yaml").string();
  keys.values = (rendered / "values.json").string();
  patch::config_sources from_keys;
  ASSERT_TRUE(keys.read(from_keys, cmd::io{in, out, err})) << err.str();

  cmd::config_flags manifest;
  manifest.inject_config = (rendered / "istio-sidecar-injector.yaml").string();
  patch::config_sources from_manifest;
  ASSERT_TRUE(manifest.read(from_manifest, cmd::io{in, out, err})) << err.str();

  auto trimmed = [](std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
  };
  EXPECT_EQ(trimmed(from_manifest.inject_config_text), trimmed(from_keys.inject_config_text));
  EXPECT_EQ(yaml_to_json(from_manifest.values_text), yaml_to_json(from_keys.values_text));
  EXPECT_NE(from_manifest.inject_config_name.find("(data.config)"), std::string::npos);
  EXPECT_NE(from_manifest.values_name.find("(data.values)"), std::string::npos);

  // The flags by istioctl's names land in the same fields as serve's names.
  const std::vector<std::string> argv = {"check-config", (rendered / "config.yaml").string(), "--valuesFile",
                                         (rendered / "values.json").string()};
  const cli_result by_istioctl_name = run_cli(argv);
  const cli_result by_serve_name =
      run_cli({"check-config", (rendered / "config.yaml").string(), "--values", (rendered / "values.json").string()});
  EXPECT_EQ(by_istioctl_name.code, by_serve_name.code);
  EXPECT_EQ(by_istioctl_name.err, by_serve_name.err);
}

}  // namespace
}  // namespace meshinject::test
