// The --help text every subcommand prints from its flag declarations.
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "tests/cmd/cli_runner.hpp"

namespace meshinject::test {
namespace {

std::vector<std::string> flag_lines(const std::string& help) {
  std::vector<std::string> lines;
  std::istringstream in(help.substr(help.find("flags:\n") + 7));
  for (std::string line; std::getline(in, line);)
    if (line.rfind("  -", 0) == 0) lines.push_back(line);
  return lines;
}

// Where the description starts: the first word after the names and the run of
// (at least two) spaces that ends them.
std::size_t help_column(const std::string& line) { return line.find_first_not_of(' ', line.find("  ", 2)); }

class FlagsHelp : public ::testing::TestWithParam<const char*> {};

TEST_P(FlagsHelp, DescriptionsStartInOneColumn) {
  const cli_result r = run_cli({GetParam(), "--help"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto lines = flag_lines(r.out);
  ASSERT_GE(lines.size(), 3u) << r.out;
  const std::size_t column = help_column(lines.front());
  for (const auto& line : lines) {
    EXPECT_EQ(help_column(line), column) << line;
  }
}

INSTANTIATE_TEST_SUITE_P(Subcommands, FlagsHelp,
                         ::testing::Values("serve", "kube-inject", "explain", "check-config"),
                         [](const auto& test_info) {
                           std::string name = test_info.param;
                           for (char& c : name)
                             if (c == '-') c = '_';
                           return name;
                         });

TEST(FlagsHelp, CheckConfigNamesNoDefaultForItsRequiredConfig) {
  const cli_result r = run_cli({"check-config", "--help"});
  ASSERT_EQ(r.code, 0);
  for (const auto& line : flag_lines(r.out)) {
    if (line.find("--inject-config") == std::string::npos) continue;
    EXPECT_EQ(line.find("default"), std::string::npos) << line;
    EXPECT_NE(line.find("required"), std::string::npos) << line;
  }
}

TEST(FlagsHelp, KubeInjectStillOffersTheEmbeddedDefault) {
  const cli_result r = run_cli({"kube-inject", "--help"});
  ASSERT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("default: the embedded default config"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace meshinject::test
