// meshinject kube-inject: every workload kind, Lists, multi-document files,
// stdin/stdout, -o, pods left alone byte for byte, and errors that name the
// document and the line.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "cmd/yaml_io.hpp"
#include "tests/cmd/cli_runner.hpp"
#include "tests/support/engine_fixture.hpp"

namespace meshinject::test {
namespace {

// The non-empty documents of a YAML text, as JSON.
std::vector<json> documents(const std::string& text) {
  std::vector<json> out;
  for (const auto& c : cmd::yaml::split_documents(text)) {
    json j = yaml_to_json(c.separator + c.body);
    if (!j.is_null()) out.push_back(j);
  }
  return out;
}

// The raw text of each chunk that holds a document.
std::vector<std::string> document_texts(const std::string& text) {
  std::vector<std::string> out;
  for (const auto& c : cmd::yaml::split_documents(text))
    if (!yaml_to_json(c.separator + c.body).is_null()) out.push_back(c.separator + c.body);
  return out;
}

int count_named(json list, const std::string& name) {
  int n = 0;
  if (list.is_array())
    for (const auto& item : list) n += item.value("name", "") == name;
  return n;
}

// The pod template was injected: one istio-proxy (a container, or a native sidecar
// among the init containers, as the embedded default injects it), one istio-init,
// the status annotation.
void expect_injected(json pod, const std::string& what) {
  ASSERT_TRUE(pod.is_object()) << what;
  const json inits = pod["spec"].value("initContainers", json::array());
  EXPECT_EQ(count_named(pod["spec"]["containers"], "istio-proxy") + count_named(inits, "istio-proxy"), 1) << what;
  EXPECT_EQ(count_named(inits, "istio-init"), 1) << what;
  EXPECT_TRUE(pod["metadata"]["annotations"].contains("sidecar.istio.io/status")) << what;
}

const std::string app_spec =
    "    spec:\n"
    "      containers:\n"
    "      - name: app\n"
    "        image: app:1.0\n"
    "        args: [\"1337\", \"true\", \"*\"]\n"
    "        ports:\n"
    "        - containerPort: 8080\n";

std::string workload(const std::string& api_version, const std::string& kind, const std::string& name) {
  return "apiVersion: " + api_version + "\nkind: " + kind + "\nmetadata:\n  name: " + name +
         "\nspec:\n  template:\n    metadata:\n      labels:\n        app: " + name + "\n" + app_spec;
}

struct kind_case {
  std::string yaml;
  std::string pointer;  // to the pod (template)
};

std::vector<kind_case> every_kind() {
  std::vector<kind_case> out;
  out.push_back(
      {"apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: app\n    image: app\n", ""});
  for (const auto& [api, kind] :
       std::vector<std::pair<std::string, std::string>>{{"apps/v1", "Deployment"},
                                                        {"extensions/v1beta1", "Deployment"},
                                                        {"apps/v1", "StatefulSet"},
                                                        {"apps/v1", "DaemonSet"},
                                                        {"apps/v1", "ReplicaSet"},
                                                        {"batch/v1", "Job"},
                                                        {"v1", "ReplicationController"},
                                                        {"apps.openshift.io/v1", "DeploymentConfig"}})
    out.push_back({workload(api, kind, "w"), "/spec/template"});
  out.push_back(
      {"apiVersion: batch/v2alpha1\nkind: CronJob\nmetadata:\n  name: c\nspec:\n  schedule: '*/1 * * * *'\n"
       "  jobTemplate:\n    metadata:\n      labels: {job: c}\n    spec:\n      template:\n        spec:\n"
       "          containers:\n          - name: app\n            image: app\n",
       "/spec/jobTemplate/spec/template"});
  return out;
}

TEST(KubeInject, InjectsThePodTemplateOfEveryKind) {
  for (const auto& c : every_kind()) {
    const auto r = run_cli({"kube-inject", "-f", "-"}, c.yaml);
    ASSERT_EQ(r.code, 0) << c.yaml << r.err;
    EXPECT_EQ(r.err, "") << c.yaml;
    const auto docs = documents(r.out);
    ASSERT_EQ(docs.size(), 1u) << r.out;
    expect_injected(docs[0].at(json::json_pointer(c.pointer)), c.yaml);
    // Only the pod (template) changed: the rest of the object is as it was.
    json before = yaml_to_json(c.yaml), after = docs[0];
    before[json::json_pointer(c.pointer)] = nullptr;
    after[json::json_pointer(c.pointer)] = nullptr;
    EXPECT_EQ(semantic_diff(before, after), "") << c.yaml;
  }
}

TEST(KubeInject, CronJobStatusGoesOnThePodTemplateNotTheJobTemplate) {
  const kind_case c = every_kind().back();
  const auto r = run_cli({"kube-inject", "-f", "-"}, c.yaml);
  ASSERT_EQ(r.code, 0) << r.err;
  json doc = documents(r.out).at(0);
  EXPECT_FALSE(doc["spec"]["jobTemplate"]["metadata"].contains("annotations"));
  EXPECT_EQ(doc["spec"]["jobTemplate"]["metadata"]["labels"]["job"], "c");
}

TEST(KubeInject, StringsThatLookLikeOtherTypesStayStrings) {
  const auto r = run_cli({"kube-inject", "-f", "-"}, workload("apps/v1", "Deployment", "q"));
  ASSERT_EQ(r.code, 0) << r.err;
  json pod = documents(r.out).at(0)["spec"]["template"];
  EXPECT_EQ(pod["spec"]["containers"][0]["args"], json::parse(R"(["1337","true","*"])"));
  EXPECT_EQ(pod["spec"]["containers"][0]["image"], "app:1.0");
  EXPECT_EQ(pod["spec"]["containers"][0]["ports"][0]["containerPort"], 8080);
  for (const auto& init : pod["spec"]["initContainers"])
    for (const auto& a : init["args"]) EXPECT_TRUE(a.is_string()) << init.dump();
  EXPECT_NE(r.out.find("- '1337'"), std::string::npos);
}

TEST(KubeInject, ListItemsAreInjectedAndOtherItemsKept) {
  const std::string list =
      "apiVersion: v1\nkind: List\nitems:\n"
      "- apiVersion: v1\n  kind: Service\n  metadata: {name: s}\n  spec:\n    ports: [{port: 80}]\n"
      "- apiVersion: apps/v1\n  kind: Deployment\n  metadata: {name: a}\n  spec:\n    template:\n      spec:\n"
      "        containers: [{name: a, image: a}]\n"
      "- apiVersion: v1\n  kind: List\n  items:\n  - apiVersion: v1\n    kind: Pod\n    metadata: {name: nested}\n"
      "    spec:\n      containers: [{name: inner, image: inner}]\n";
  const auto r = run_cli({"kube-inject", "-f", "-"}, list);
  ASSERT_EQ(r.code, 0) << r.err;
  json out = documents(r.out).at(0);
  json in = yaml_to_json(list);
  EXPECT_EQ(semantic_diff(in["items"][0], out["items"][0]), "");
  expect_injected(out["items"][1]["spec"]["template"], "list item 1");
  expect_injected(out["items"][2]["items"][0], "nested list item");
}

TEST(KubeInject, MultiDocumentFilesKeepOtherDocumentsByteForByte) {
  const std::string service =
      "# the service\n"
      "kind: Service\n"
      "apiVersion: v1\n"
      "metadata:\n"
      "  name: hello   # trailing comment, odd spacing\n"
      "spec:\n"
      "  ports: [ {port: 80, targetPort: \"http\"} ]\n";
  const std::string config_map = "apiVersion: v1\nkind: ConfigMap\ndata:\n  on: yes\n  port: 0777\n";
  const std::string deployment = "# about the deployment\n" + workload("apps/v1", "Deployment", "hello");
  const std::string input = "---\n" + service + "---\n" + deployment + "---\n" + config_map + "---\n";
  const auto r = run_cli({"kube-inject", "-f", "-"}, input);
  ASSERT_EQ(r.code, 0) << r.err;
  const auto texts = document_texts(r.out);
  ASSERT_EQ(texts.size(), 3u) << r.out;
  EXPECT_EQ(texts[0], "---\n" + service);
  EXPECT_EQ(texts[2], "---\n" + config_map);
  EXPECT_EQ(texts[1].rfind("---\n# about the deployment\napiVersion: apps/v1\n", 0), 0u) << texts[1];
  expect_injected(documents(r.out).at(1)["spec"]["template"], "deployment");
  EXPECT_EQ(r.out.substr(r.out.size() - 4), "---\n");  // the trailing separator is kept
}

std::string to_crlf(const std::string& lf) {
  std::string out;
  for (char c : lf) {
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

TEST(KubeInject, CrlfInputComesBackCrlfThroughout) {
  const std::string service = "kind: Service\napiVersion: v1\nmetadata:\n  name: hello\n";
  const std::string input =
      to_crlf("---\n" + service + "---\n# about the deployment\n" + workload("apps/v1", "Deployment", "hello"));
  const auto r = run_cli({"kube-inject", "-f", "-"}, input);
  ASSERT_EQ(r.code, 0) << r.err;
  ASSERT_NE(r.out.find("istio-proxy"), std::string::npos) << r.out;
  for (std::size_t i = r.out.find('\n'); i != std::string::npos; i = r.out.find('\n', i + 1))
    ASSERT_TRUE(i > 0 && r.out[i - 1] == '\r') << "bare LF at byte " << i << " of:\n" << r.out;
  EXPECT_EQ(r.out.rfind(to_crlf("---\n" + service), 0), 0u);  // the Service is copied as it was
  expect_injected(documents(r.out).at(1)["spec"]["template"], "deployment");
}

TEST(KubeInject, LfInputHasNoCarriageReturns) {
  const auto r = run_cli({"kube-inject", "-f", "-"}, workload("apps/v1", "Deployment", "hello"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.find('\r'), std::string::npos);
}

TEST(KubeInject, OptOutHostNetworkAndIgnoredNamespacesAreLeftByteForByte) {
  const std::string opt_out =
      "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  annotations:\n"
      "    sidecar.istio.io/inject: \"false\"\nspec:\n  containers: [{name: a, image: a}]\n";
  const std::string label_out =
      "apiVersion: v1\nkind: Pod\nmetadata:\n  name: l\n  labels:\n"
      "    sidecar.istio.io/inject: \"off\"\nspec:\n  containers: [{name: a, image: a}]\n";
  const std::string host =
      "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: h}\nspec:\n  template:\n"
      "    spec:\n      hostNetwork: true\n      containers: [{name: a, image: a}]";
  const std::string system =
      "apiVersion: v1\nkind: Pod\nmetadata: {name: s, namespace: kube-system}\nspec:\n"
      "  containers: [{name: a, image: a}]\n";
  const std::string input = opt_out + "---\n" + label_out + "---\n" + system + "---\n" + host;
  // Istio 1.1's decision ("off" opts out); the embedded default decides as 1.28 does.
  const auto r = run_cli({"kube-inject", "-f", "-", "--inject-config", istio_1_1_example_config_path().string()}, input);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, input);
  EXPECT_NE(r.err.find("<stdin>:1: document 1, Pod \"a\": skipping injection (annotation-opt-out)"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("document 2, Pod \"l\": skipping injection (label-opt-out)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("document 3, Pod \"s\": skipping injection (ignored-namespace)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("document 4, Deployment \"h\": skipping injection (host-network)"), std::string::npos) << r.err;
}

TEST(KubeInject, NamespaceComesFromTheFileElseTheFlagAndDeploymentMetaIsTheWorkload) {
  temp_dir dir;
  const auto config = dir.path() / "config.yaml";
  write_file(config, injection_config_text(
                         "containers:\n"
                         "- name: istio-proxy\n"
                         "  image: proxy\n"
                         "  env:\n"
                         "  - {name: DEPLOYMENT, value: \"{{ .DeploymentMeta.Name }}\"}\n"
                         "  - {name: DEPLOYMENT_NAMESPACE, value: \"{{ .DeploymentMeta.Namespace }}\"}\n"
                         "  - {name: POD_NAMESPACE, value: \"{{ .ObjectMeta.Namespace }}\"}\n"
                         "  - {name: DEPLOYMENT_LABEL, value: \"{{ index .DeploymentMeta.Labels `team` }}\"}\n"));
  auto env_of = [&](const std::string& yaml, std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {"kube-inject", "-f", "-", "--inject-config", config.string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    const auto r = run_cli(argv, yaml);
    EXPECT_EQ(r.code, 0) << r.err;
    std::map<std::string, std::string> env;
    json doc = documents(r.out).at(0);
    json pod = doc.contains("spec") && doc["spec"].contains("template") ? doc["spec"]["template"] : doc;
    for (const auto& c : pod["spec"]["containers"])
      if (c["name"] == "istio-proxy")
        for (const auto& e : c["env"]) env[e["name"]] = e["value"];
    return env;
  };
  const std::string in_test =
      "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: hello\n  namespace: test\n  labels: {team: blue}\n"
      "spec:\n  template:\n    metadata:\n      labels: {app: hello}\n    spec:\n      containers: [{name: a, image: "
      "a}]\n";
  auto env = env_of(in_test, {"--namespace", "ignored"});
  EXPECT_EQ(env["DEPLOYMENT"], "hello");
  EXPECT_EQ(env["DEPLOYMENT_NAMESPACE"], "test");
  EXPECT_EQ(env["POD_NAMESPACE"], "test");
  EXPECT_EQ(env["DEPLOYMENT_LABEL"], "blue");

  const std::string nowhere =
      "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: hello}\n"
      "spec:\n  template:\n    spec:\n      containers: [{name: a, image: a}]\n";
  env = env_of(nowhere);
  EXPECT_EQ(env["DEPLOYMENT_NAMESPACE"], "");  // as istioctl: no namespace unless one is given
  EXPECT_EQ(env["POD_NAMESPACE"], "");
  env = env_of(nowhere, {"-n", "shop"});
  EXPECT_EQ(env["DEPLOYMENT_NAMESPACE"], "shop");
  EXPECT_EQ(env["POD_NAMESPACE"], "shop");

  // A Pod's .DeploymentMeta is its own metadata.
  env = env_of(
      "apiVersion: v1\nkind: Pod\nmetadata: {name: solo, labels: {team: red}}\n"
      "spec:\n  containers: [{name: a, image: a}]\n");
  EXPECT_EQ(env["DEPLOYMENT"], "solo");
  EXPECT_EQ(env["DEPLOYMENT_LABEL"], "red");

  // --namespace kube-system puts an unlabelled workload in an ignored namespace.
  const auto r = run_cli({"kube-inject", "-f", "-", "--namespace", "kube-system"}, nowhere);
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out, nowhere);
  EXPECT_NE(r.err.find("ignored-namespace"), std::string::npos);
}

TEST(KubeInject, ReinjectingTheOutputChangesNothing) {
  const auto first = run_cli({"kube-inject", "-f", "-"}, workload("apps/v1", "Deployment", "again"));
  ASSERT_EQ(first.code, 0) << first.err;
  const auto second = run_cli({"kube-inject", "-f", "-"}, first.out);
  ASSERT_EQ(second.code, 0) << second.err;
  EXPECT_EQ(second.out, first.out);
}

TEST(KubeInject, OutputFileIsWrittenWholeOrNotAtAll) {
  temp_dir dir;
  const auto out = dir.path() / "out.yaml";
  const auto good = run_cli({"kube-inject", "-f", "-", "-o", out.string()}, workload("apps/v1", "Deployment", "o"));
  ASSERT_EQ(good.code, 0) << good.err;
  EXPECT_EQ(good.out, "");
  expect_injected(documents(read_file(out)).at(0)["spec"]["template"], "-o file");

  // An error anywhere: the existing file is untouched, a new one is not created,
  // and no temporary file is left behind.
  const std::string before = read_file(out);
  const std::string bad = workload("apps/v1", "Deployment", "fine") +
                          "---\nkind: Pod\napiVersion: v1\nmetadata:\n"
                          "  annotations:\n    traffic.sidecar.istio.io/includeInboundPorts: bad\n"
                          "spec:\n  containers: [{name: a, image: a}]\n";
  auto r = run_cli({"kube-inject", "-f", "-", "--output-file", out.string()}, bad);
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(read_file(out), before);
  const auto fresh = dir.path() / "fresh.yaml";
  r = run_cli({"kube-inject", "-f", "-", "-o", fresh.string()}, bad);
  EXPECT_EQ(r.code, 1);
  EXPECT_FALSE(std::filesystem::exists(fresh));
  int files = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path())) ++files;
  EXPECT_EQ(files, 1);
}

TEST(KubeInject, BadYamlNamesTheDocumentAndLine) {
  const std::string input = workload("apps/v1", "Deployment", "ok") +
                            "---\napiVersion: v1\nkind: Pod\nmetadata:\n"
                            "  name: broken\n  labels: {a: b\nspec: {}\n";
  const auto r = run_cli({"kube-inject", "-f", "-"}, input);
  EXPECT_NE(r.code, 0);
  EXPECT_EQ(r.out, "");
  // The Deployment has 16 lines; the flow mapping opened on line 22 is found unclosed on line 23.
  EXPECT_NE(r.err.find("<stdin>:23:5: document 2: invalid YAML: end of map flow not found"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("document 2: invalid YAML"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("nothing written"), std::string::npos) << r.err;
}

TEST(KubeInject, DuplicateKeysInAPodTemplateAreErrors) {
  const auto r = run_cli({"kube-inject", "-f", "-"},
                         "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  name: b\nspec: {containers: []}\n");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("<stdin>:5:3: document 1: duplicate key \"name\" (first at line 4)"), std::string::npos)
      << r.err;
}

TEST(KubeInject, BadAnnotationNamesTheDocumentAndTheAnnotationsLine) {
  const std::string input = "kind: Service\napiVersion: v1\nmetadata: {name: s}\n---\n" +
                            std::string(
                                "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: traffic}\nspec:\n"
                                "  template:\n    metadata:\n      annotations:\n"
                                "        traffic.sidecar.istio.io/excludeOutboundIPRanges: \"*\"\n"
                                "    spec:\n      containers: [{name: a, image: a}]\n");
  const auto r = run_cli({"kube-inject", "-f", "-"}, input);
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("<stdin>:12:59: document 2, Deployment \"traffic\": invalid value \"*\" for annotation "
                       "traffic.sidecar.istio.io/excludeOutboundIPRanges"),
            std::string::npos)
      << r.err;
}

TEST(KubeInject, WhatCannotBeInjectedIsSaid) {
  // A ReplicationController without a template, and a kind in an unknown API group.
  const std::string input =
      "apiVersion: v1\nkind: ReplicationController\nmetadata: {name: rc}\nspec: {replicas: 1}\n---\n"
      "apiVersion: example.com/v1\nkind: Deployment\nmetadata: {name: crd}\nspec: {template: {spec: {}}}\n";
  const auto r = run_cli({"kube-inject", "-f", "-"}, input);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, input);
  EXPECT_NE(r.err.find("document 1, ReplicationController \"rc\": no spec.template; left unchanged"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("document 2, Deployment \"crd\": apiVersion example.com/v1 is not one kube-inject knows"),
            std::string::npos)
      << r.err;

  const auto scalar = run_cli({"kube-inject", "-f", "-"},
                              "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  template: oops\n");
  EXPECT_EQ(scalar.code, 1);
  EXPECT_NE(scalar.err.find("<stdin>:5:13: document 1: spec.template must be a mapping"), std::string::npos)
      << scalar.err;

  const auto label = run_cli({"kube-inject", "-f", "-"},
                             "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\n  labels: {version: 2}\n"
                             "spec:\n  template:\n    spec: {containers: [{name: a, image: a}]}\n");
  EXPECT_EQ(label.code, 1);
  EXPECT_NE(label.err.find("<stdin>:5:21: document 1, Deployment \"d\": metadata.labels.version must be a string"),
            std::string::npos)
      << label.err;
}

TEST(KubeInject, DocumentLayoutAroundARewrittenDocumentIsKept) {
  // A document on the separator line, and a document closed by "...".
  const std::string input =
      "--- {apiVersion: v1, kind: Pod, metadata: {name: a}, spec: {containers: [{name: a, "
      "image: a}]}}\n...\n" +
      workload("apps/v1", "Deployment", "b");
  const auto r = run_cli({"kube-inject", "-f", "-"}, input);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("---\napiVersion: v1\nkind: Pod\n", 0), 0u) << r.out;
  // A directive stays in front of its document.
  const auto directive = run_cli({"kube-inject", "-f", "-"}, "%YAML 1.1\n--- " + input.substr(4));
  ASSERT_EQ(directive.code, 0) << directive.err;
  EXPECT_EQ(directive.out, "%YAML 1.1\n" + r.out);
  EXPECT_NE(r.out.find("\n...\napiVersion: apps/v1\n"), std::string::npos) << r.out;
  const auto docs = documents(r.out);
  ASSERT_EQ(docs.size(), 2u);
  expect_injected(docs[0], "pod");
  expect_injected(docs[1]["spec"]["template"], "deployment");
}

TEST(KubeInject, UsageAndConfigErrors) {
  EXPECT_EQ(run_cli({"kube-inject"}).code, 2);
  EXPECT_EQ(run_cli({"kube-inject", "-f", "-", "--bogus"}).code, 2);
  EXPECT_EQ(run_cli({"kube-inject", "-f", "-", "stray"}).code, 2);
  EXPECT_EQ(run_cli({"kube-inject", "-f", "-", "--injectConfigFile", "-"}).code, 2);
  const auto help = run_cli({"kube-inject", "--help"});
  EXPECT_EQ(help.code, 0);
  for (const char* flag : {"--injectConfigFile", "--inject-config", "--meshConfigFile", "--mesh-config", "--valuesFile",
                           "--values", "--output-file", "--filename"})
    EXPECT_NE(help.out.find(flag), std::string::npos) << flag;

  temp_dir dir;
  const auto bad = dir.path() / "bad.yaml";
  write_file(bad, "policy: sometimes\ntemplate: |\n  containers: []\n");
  const auto r = run_cli({"kube-inject", "-f", "-", "--injectConfigFile", bad.string()}, "kind: Service\n");
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(has_position(r.err, bad.string(), 1, 9)) << r.err;
  const auto missing = run_cli({"kube-inject", "-f", (dir.path() / "nope.yaml").string()});
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.err.find("cannot read"), std::string::npos);
}

TEST(KubeInjectBinary, StdinToStdoutAndExitCodes) {
  MESHINJECT_REQUIRE_BINARY();
  const std::string input =
      "apiVersion: v1\nkind: Service\nmetadata: {name: s}\n---\n" + workload("apps/v1", "Deployment", "bin");
  auto r = run_binary({"kube-inject", "-f", "-"}, input);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out.rfind("apiVersion: v1\nkind: Service\nmetadata: {name: s}\n---\n", 0), 0u);
  expect_injected(documents(r.out).at(1)["spec"]["template"], "binary");
  // The same through a file and the istioctl flag names.
  temp_dir dir;
  write_file(dir.path() / "in.yaml", input);
  const auto out = dir.path() / "out.yaml";
  r = run_binary({"kube-inject", "--filename", (dir.path() / "in.yaml").string(), "--output", out.string()});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(documents(read_file(out)), documents(run_binary({"kube-inject", "-f", "-"}, input).out));

  r = run_binary({"kube-inject", "-f", "-"}, "a: [\n");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("<stdin>:2:1: document 1: invalid YAML"), std::string::npos) << r.err;
  EXPECT_EQ(run_binary({"kube-inject"}).code, 2);
}

// ---------------------------------------------------------- conformance inputs

TEST(KubeInjectConformance, EachKindFromIstiosInputs) {
  MESHINJECT_REQUIRE_CONFORMANCE(dir);
  const auto inject = dir / "istio-1.2" / "inject";
  struct file_case {
    const char* file;
    std::vector<std::string> pointers;  // per document
  } cases[] = {
      {"pod.yaml", {""}},
      {"hello.yaml", {"/spec/template"}},
      {"statefulset.yaml", {"/spec/template"}},
      {"daemonset.yaml", {"/spec/template"}},
      {"replicaset.yaml", {"/spec/template"}},
      {"job.yaml", {"/spec/template"}},
      {"cronjob.yaml", {"/spec/jobTemplate/spec/template"}},
      {"replicationcontroller.yaml", {"/spec/template"}},
      {"deploymentconfig.yaml", {"/spec/template"}},
      {"list.yaml", {"/items/0/spec/template"}},
      {"deploymentconfig-multi.yaml", {"/items/1/spec/template"}},
      {"hello-multi.yaml", {"/spec/template", "/spec/template"}},
  };
  for (const auto& c : cases) {
    const auto r = run_cli({"kube-inject", "-f", (inject / c.file).string()});
    ASSERT_EQ(r.code, 0) << c.file << ": " << r.err;
    const auto docs = documents(r.out);
    ASSERT_EQ(docs.size(), c.pointers.size()) << c.file;
    for (std::size_t i = 0; i < docs.size(); ++i)
      expect_injected(docs[i].at(json::json_pointer(c.pointers[i])), c.file);
  }
  // list.yaml's second Deployment too, and the Service of deploymentconfig-multi.yaml untouched.
  json list = documents(run_cli({"kube-inject", "-f", (inject / "list.yaml").string()}).out).at(0);
  expect_injected(list["items"][1]["spec"]["template"], "list.yaml item 1");
  json multi = documents(run_cli({"kube-inject", "-f", (inject / "deploymentconfig-multi.yaml").string()}).out).at(0);
  EXPECT_EQ(multi["items"][0], yaml_to_json(read_file(inject / "deploymentconfig-multi.yaml"))["items"][0]);
}

TEST(KubeInjectConformance, OptOutHostNetworkAndServicesAreByteIdentical) {
  MESHINJECT_REQUIRE_CONFORMANCE(dir);
  const auto inject = dir / "istio-1.2" / "inject";
  for (const char* f : {"hello-ignore.yaml", "hello-host-network.yaml", "hello-service.yaml"}) {
    const auto r = run_cli({"kube-inject", "-f", (inject / f).string()});
    ASSERT_EQ(r.code, 0) << f << r.err;
    EXPECT_EQ(r.out, read_file(inject / f)) << f;
  }
  const auto r = run_cli({"kube-inject", "-f", (inject / "hello-host-network.yaml").string()});
  EXPECT_NE(r.err.find("document 1, Deployment \"hello-host-network\": skipping injection (host-network)"),
            std::string::npos)
      << r.err;
}

TEST(KubeInjectConformance, BadTrafficAnnotationsAreErrorsAtTheirLine) {
  MESHINJECT_REQUIRE_CONFORMANCE(dir);
  const auto inject = dir / "istio-1.2" / "inject";
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(inject)) {
    const std::string name = e.path().filename().string();
    if (name.find("-bad-") == std::string::npos || e.path().extension() != ".yaml") continue;
    ++files;
    const auto r = run_cli({"kube-inject", "-f", e.path().string()});
    EXPECT_EQ(r.code, 1) << name;
    EXPECT_EQ(r.out, "") << name;
    // The annotation sits on line 13 of each of these files.
    EXPECT_NE(r.err.find(e.path().string() + ":13:"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("document 1, Deployment \"traffic\": invalid value"), std::string::npos) << r.err;
  }
  EXPECT_EQ(files, 5);
}

}  // namespace
}  // namespace meshinject::test
