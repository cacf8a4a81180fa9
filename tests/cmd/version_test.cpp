// `meshinject version` and the build identity behind it (cmake/write-build-info.cmake).
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <regex>
#include <string>

#include "core/build_info.hpp"
#include "tests/cmd/cli_runner.hpp"

namespace meshinject::test {
namespace {

namespace fs = std::filesystem;

const fs::path source_dir = fs::path(__FILE__).parent_path().parent_path().parent_path();

std::string git_head() {
  const std::string command = "git -C '" + source_dir.string() + "' rev-parse --short=12 HEAD 2>/dev/null";
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
  if (!pipe) return {};
  char line[64] = {};
  if (!std::fgets(line, sizeof line, pipe.get())) return {};
  std::string head(line);
  while (!head.empty() && (head.back() == '\n' || head.back() == '\r')) head.pop_back();
  return head;
}

TEST(Version, PrintsVersionCommitAndCommitTime) {
  const cli_result r = run_cli({"version"});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out, "meshinject " + std::string(core::build_version()) + " (commit " + std::string(core::build_commit()) +
                       ", " + std::string(core::build_commit_time()) + ")\n");
  EXPECT_EQ(core::build_version(), "0.1.0");
}

TEST(Version, HelpDescribesTheCommandInsteadOfRunningIt) {
  const cli_result r = run_cli({"version", "--help"});
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("usage: meshinject version"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("(commit "), std::string::npos) << r.out;
}

TEST(Version, ArgumentsAndUnknownFlagsAreUsageErrors) {
  EXPECT_EQ(run_cli({"version", "extra"}).code, 2);
  EXPECT_EQ(run_cli({"version", "--bogus"}).code, 2);
}

TEST(Version, CommitIsHexOrUnknown) {
  static const std::regex commit("[0-9a-f]{12}(-dirty)?|unknown");
  static const std::regex time(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d([+-]\d\d:\d\d|Z)|unknown)");
  EXPECT_TRUE(std::regex_match(std::string(core::build_commit()), commit)) << core::build_commit();
  EXPECT_TRUE(std::regex_match(std::string(core::build_commit_time()), time)) << core::build_commit_time();
}

TEST(Version, InACheckoutTheCommitIsGitsHead) {
  if (!fs::exists(source_dir / ".git")) GTEST_SKIP() << "not a git checkout: " << source_dir << " has no .git";
  const std::string head = git_head();
  if (head.empty()) GTEST_SKIP() << "git is not available to read HEAD";
  // The build records HEAD when it runs; a commit made since then without
  // rebuilding would differ, so compare against what the test binary was built at.
  const std::string commit(core::build_commit());
  EXPECT_EQ(commit.substr(0, 12), head) << "rebuild after committing: the build records HEAD at build time";
  EXPECT_NE(core::build_commit_time(), "unknown");
}

}  // namespace
}  // namespace meshinject::test
