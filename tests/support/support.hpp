#pragma once
// Shared helpers for meshinject's tests: where the conformance data is, YAML to
// JSON the way Kubernetes reads it, an independent RFC 6902 oracle
// (nlohmann-json's patch), and tree comparison by meaning.

#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace meshinject::test {

using json = nlohmann::json;

// $MESHINJECT_CONFORMANCE_DIR (set by ctest), or nullopt when it is absent.
std::optional<std::filesystem::path> conformance_dir();

// Skips the current test with a reason when the conformance data is absent.
#define MESHINJECT_REQUIRE_CONFORMANCE(var)                                                               \
  const auto var##_opt = ::meshinject::test::conformance_dir();                                        \
  if (!var##_opt)                                                                                         \
    GTEST_SKIP() << "conformance data not found (set MESHINJECT_CONFORMANCE_DIR to ../shared/conformance);" \
                    " Istio's test data is not part of this repository";                                 \
  const std::filesystem::path var = *var##_opt

std::filesystem::path source_dir();

// docs/examples/istio-1.1-injector-config.yaml: the Istio 1.1-shaped config that
// was the embedded default before Istio 1.28's shape became it. Tests of the
// compiled-variant path (fragments, zero allocations once warm) pin it.
std::filesystem::path istio_1_1_example_config_path();
std::string istio_1_1_example_config();
std::string read_file(const std::filesystem::path& p);
void write_file(const std::filesystem::path& p, std::string_view content);

// YAML (one document) to JSON, typing plain scalars as YAML 1.1 does.
json yaml_to_json(std::string_view yaml);

// The documents of a YAML stream, split at `---` lines.
std::vector<std::string> split_yaml_documents(const std::string& text);
// Appends the pod objects of a Kubernetes document: a Pod, each item of a List,
// a CronJob's job template, any other workload's `spec.template`.
void pods_of(const json& obj, std::vector<json>& out);
// Appends the pods of every document in a YAML file; documents the test's YAML
// reader cannot read are skipped (the conformance inputs include some on purpose).
void pods_in_yaml_file(const std::filesystem::path& file, std::vector<json>& out);
// The pod as an object with `metadata` and `spec` objects, which the engine's views expect.
json with_metadata(json pod);

// Applies an RFC 6902 patch with nlohmann-json (the oracle). Throws on failure.
json apply_patch(const json& doc, const json& patch);

// Compares two trees by meaning: object key order is free, a missing key equals
// an empty object. Returns "" when equal, else the path of the first difference.
std::string semantic_diff(const json& a, const json& b, const std::string& path = "");

// An AdmissionReview for `pod` (a JSON object).
std::string make_review(const json& pod, std::string_view version = "admission.k8s.io/v1",
                        std::string_view uid = "uid-1", std::string_view namespace_name = "",
                        std::string_view operation = "CREATE", std::string_view kind = "Pod");

// Decodes the base64 patch of an AdmissionReview response; json() when absent.
json response_patch(const json& review_response);

std::string base64_decode(std::string_view in);

// A temporary directory removed at destruction.
class temp_dir {
 public:
  temp_dir();
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace meshinject::test
