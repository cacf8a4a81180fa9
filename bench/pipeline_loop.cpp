// The whole pipeline N times on one review, nothing else: a program for
// instruction counting (bench/count-instructions.sh runs it under callgrind at two
// values of N and takes the difference, so start-up and config compilation cancel).
// Instruction counts do not depend on what else the machine runs, which makes them
// the before/after measure on a shared machine.
//
//   pipeline_loop N [REVIEW.json]
// Config: the Istio 1.1 production template and mesh config from the conformance
// data (MESHINJECT_CONFORMANCE_DIR), else docs/examples/istio-1.1-injector-config.yaml.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "patch/injector.hpp"

namespace {

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) {
    std::cerr << "pipeline_loop: cannot read " << p << "\n";
    std::exit(2);
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

int main(int argc, char** argv) {
  namespace mp = meshinject::patch;
  const long n = argc > 1 ? std::strtol(argv[1], nullptr, 10) : 1000;
  if (n <= 0) {
    std::cerr << "usage: pipeline_loop N [REVIEW.json]\n";
    return 2;
  }
  const char* env = std::getenv("MESHINJECT_CONFORMANCE_DIR");
  const std::filesystem::path dir = env && *env ? env : MESHINJECT_CONFORMANCE_DIR;
  mp::config_sources sources;
  std::filesystem::path review = argc > 2 ? argv[2] : "";
  if (std::filesystem::exists(dir / "istio-1.1" / "injector-config.yaml")) {
    sources.inject_config_text = read_file(dir / "istio-1.1" / "injector-config.yaml");
    sources.inject_config_name = "istio-1.1/injector-config.yaml";
    sources.mesh_text = read_file(dir / "istio-1.1" / "mesh.yaml");
    sources.mesh_name = "istio-1.1/mesh.yaml";
    if (review.empty()) review = dir / "reviews" / "checkout-pod.json";
  } else {
    std::cerr << "pipeline_loop: no conformance data; docs/examples/istio-1.1-injector-config.yaml\n";
    const std::filesystem::path src = std::filesystem::path(__FILE__).parent_path().parent_path();
    sources.inject_config_text = read_file(src / "docs" / "examples" / "istio-1.1-injector-config.yaml");
    sources.inject_config_name = "docs/examples/istio-1.1-injector-config.yaml";
    if (review.empty()) review = src / "load" / "reviews" / "orders-pod.json";
  }
  const auto snap = mp::snapshot::build(sources);
  mp::engine engine(snap);
  std::string body = read_file(review);
  const std::size_t len = body.size();
  body.resize(len + simdjson::SIMDJSON_PADDING);
  for (int i = 0; i < 10; ++i) engine.handle(body.data(), len, body.size());  // warm the variant cache
  std::size_t total = 0;
  for (long i = 0; i < n; ++i) total += engine.handle(body.data(), len, body.size()).body.size();
  std::cout << n << " reviews, " << total << " response bytes\n";
  return 0;
}
