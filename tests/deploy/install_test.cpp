// The install path of deploy/README.md, as it is written there: every YAML block that
// starts with a `# <dir>/<file>` line is written into a scratch directory beside a
// link to this checkout (`meshinject/`), and each version of a kustomization.yaml is
// rendered with `kubectl kustomize` in the README's order (the trial, then
// production). Also: an overlay without its image does not render, the `release`
// knob of the monitoring objects, and the paths the install, upgrade and rollback
// commands of deploy/README.md and docs/operations.md name exist.
#include "tests/deploy/deploy_support.hpp"

#include <gtest/gtest.h>

#include <regex>

namespace meshinject::deploytest {
namespace {

struct file_block {
  std::string path;  // "my-meshinject/kustomization.yaml"
  std::string text;
};

// The ```yaml blocks whose first line is `# <dir>/<file>`, in order.
std::vector<file_block> named_yaml_blocks(const std::string& markdown) {
  std::vector<file_block> out;
  const std::regex fence("```yaml\n# ([a-z0-9-]+/[a-z0-9.-]+)\n([\\s\\S]*?)```");
  for (std::sregex_iterator it(markdown.begin(), markdown.end(), fence), end; it != end; ++it)
    out.push_back({(*it)[1].str(), (*it)[2].str()});
  return out;
}

class Install : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!have_tool("kubectl"))
      GTEST_SKIP() << "kubectl is not installed: the manifests under deploy/ cannot be rendered (kubectl kustomize)";
    fs::create_directory_symlink(source_dir(), scratch_.path() / "meshinject");
    readme_ = read_file(deploy_dir() / "README.md");
  }

  // Writes every block; returns each kustomization version of `dir`, rendered in order.
  std::vector<Manifests> render_readme(const std::string& dir) {
    std::vector<std::string> versions;
    for (const file_block& b : named_yaml_blocks(readme_)) {
      const fs::path p = scratch_.path() / b.path;
      fs::create_directories(p.parent_path());
      if (p.filename() == "kustomization.yaml" && p.parent_path().filename() == dir) versions.push_back(b.text);
      else write_file(p, b.text);
    }
    std::vector<Manifests> out;
    for (const std::string& k : versions) {
      write_file(scratch_.path() / dir / "kustomization.yaml", k);
      out.push_back(kustomize(scratch_.path() / dir));
    }
    return out;
  }

  std::string readme_image() const {
    for (const file_block& b : named_yaml_blocks(readme_))
      if (b.path == "my-meshinject/image.yaml") return str(YAML::Load(b.text)["data"]["image"]);
    return "";
  }

  TempDir scratch_;
  std::string readme_;
};

std::string container_image(const Manifests& m) {
  for (const auto& c : m.one("Deployment")["spec"]["template"]["spec"]["containers"])
    if (str(c["name"]) == "meshinject") return str(c["image"]);
  return "";
}

TEST_F(Install, TheReadmeStartsWithTheSafeTrialThenProduction) {
  const std::vector<Manifests> rendered = render_readme("my-meshinject");
  ASSERT_EQ(rendered.size(), 2u) << "deploy/README.md should show the trial overlay, then the production one";
  const std::string image = readme_image();
  ASSERT_FALSE(image.empty());
  ASSERT_EQ(image.find("registry.example.com"), std::string::npos) << "the README's own image is the placeholder";

  const Manifests& trial = rendered[0];
  EXPECT_EQ(container_image(trial), image);
  const auto trial_hooks = trial.one("MutatingWebhookConfiguration")["webhooks"];
  ASSERT_GE(trial_hooks.size(), 1u);
  for (const auto& hook : trial_hooks) {
    EXPECT_EQ(str(hook["failurePolicy"]), "Ignore") << str(hook["name"]);
    EXPECT_NE(str(hook["name"]).find("trial"), std::string::npos) << str(hook["name"]);
  }
  EXPECT_FALSE(trial.find("ConfigMap", "meshinject-image")) << "the image ConfigMap is local config, never applied";

  const Manifests& production = rendered[1];
  EXPECT_EQ(container_image(production), image);
  for (const auto& hook : production.one("MutatingWebhookConfiguration")["webhooks"])
    EXPECT_EQ(str(hook["failurePolicy"]), "Fail") << str(hook["name"]);
}

TEST_F(Install, AnOverlayWithoutItsImageDoesNotRender) {
  render_readme("my-meshinject");
  const fs::path dir = scratch_.path() / "my-meshinject";
  fs::remove(dir / "image.yaml");
  write_file(dir / "kustomization.yaml",
             "resources:\n- ../meshinject/deploy/overlays/cert-manager\n"
             "components:\n- ../meshinject/deploy/components/image\n");
  try {
    kustomize(dir);
    ADD_FAILURE() << "rendered with the base's placeholder image";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("meshinject-image"), std::string::npos) << e.what();
  }
}

TEST_F(Install, TheMonitoringObjectsTakeAReleaseLabel) {
  const std::vector<Manifests> rendered = render_readme("my-monitoring");
  ASSERT_EQ(rendered.size(), 1u);
  for (const char* kind : {"PodMonitor", "PrometheusRule"})
    EXPECT_EQ(str(rendered[0].one(kind)["metadata"]["labels"]["release"]), "kube-prometheus-stack") << kind;
  const auto plain = kustomize(deploy_dir() / "monitoring");
  EXPECT_FALSE(is_set(plain.one("PodMonitor")["metadata"]["labels"]["release"])) << "the knob is opt-in";
}

// `kubectl apply -k X`, `kubectl diff -k X`, `kubectl delete -k X`, `kubectl kustomize X`
// and paths into this checkout: each names something the README defines or that exists.
TEST_F(Install, TheCommandsOfTheInstallUpgradeAndRollbackDocsNameRealPaths) {
  std::set<std::string> defined;
  for (const file_block& b : named_yaml_blocks(readme_)) defined.insert(fs::path(b.path).parent_path().string());
  for (const fs::path& doc : {deploy_dir() / "README.md", source_dir() / "docs" / "operations.md"}) {
    const std::string text = read_file(doc);
    const std::regex kustomize_arg(R"(kubectl (?:apply|diff|delete) -k ([^\s`)]+)|kubectl kustomize ([^\s`)]+))");
    int seen = 0;
    for (std::sregex_iterator it(text.begin(), text.end(), kustomize_arg), end; it != end; ++it) {
      std::string dir = (*it)[1].matched ? (*it)[1].str() : (*it)[2].str();
      ++seen;
      if (defined.count(dir)) continue;
      if (dir.rfind("meshinject/", 0) == 0) dir = dir.substr(11);
      EXPECT_TRUE(fs::exists(source_dir() / dir / "kustomization.yaml")) << doc << ": " << dir;
    }
    EXPECT_GT(seen, 0) << doc;
    const std::regex checkout_path(R"(meshinject/(deploy/[A-Za-z0-9_./-]*[A-Za-z0-9_-]))");
    for (std::sregex_iterator it(text.begin(), text.end(), checkout_path), end; it != end; ++it)
      EXPECT_TRUE(fs::exists(source_dir() / (*it)[1].str())) << doc << ": " << (*it)[0].str();
  }
}

}  // namespace
}  // namespace meshinject::deploytest
