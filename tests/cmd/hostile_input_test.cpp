// Hostile input to the real binary's kube-inject, explain and check-config: every
// case ends with a short error naming the input (file:line:column where there is
// a position), exit 1, and never a crash, a hang or unbounded memory.

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "tests/cmd/cli_runner.hpp"
#include "tests/support/engine_fixture.hpp"

namespace meshinject::test {
namespace {

// Nine nested aliases of nine items each: 9^9 values once expanded.
std::string alias_bomb() {
  std::string bomb = "a0: &a0 [x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i <= 9; ++i) {
    bomb += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int j = 0; j < 9; ++j) bomb += (j ? ", *a" : "*a") + std::to_string(i - 1);
    bomb += "]\n";
  }
  return bomb;
}

class HostileInput : public ::testing::Test {
 protected:
  void SetUp() override { MESHINJECT_REQUIRE_BINARY(); }

  std::string file(const std::string& name, const std::string& content) {
    const auto p = dir_.path() / name;
    write_file(p, content);
    return p.string();
  }

  // Exit 1 (an exit, not a signal), nothing on stdout, a short error holding `needle`.
  void expect_refused(const std::vector<std::string>& argv, const std::string& needle) {
    const cli_result r = run_binary(argv);
    std::string shown;
    for (const auto& a : argv) shown += a + " ";
    EXPECT_EQ(r.code, 1) << shown << "\n" << r.err.substr(0, 500);
    EXPECT_EQ(r.out, "") << shown;
    EXPECT_NE(r.err.find(needle), std::string::npos) << shown << "\n" << r.err.substr(0, 500);
    EXPECT_LE(std::count(r.err.begin(), r.err.end(), '\n'), 2) << shown << "\n" << r.err.substr(0, 500);
    EXPECT_LT(r.err.size(), 600u) << shown << "\n" << r.err.substr(0, 500);
  }

  // The same bad `-f` input through both subcommands that read manifests.
  void expect_manifest_refused(const std::string& path, const std::string& needle) {
    expect_refused({"kube-inject", "-f", path}, needle);
    expect_refused({"explain", "-f", path}, needle);
  }

  // The same bad config path through every subcommand that reads one.
  void expect_config_refused(const std::string& flag, const std::string& path, const std::string& needle) {
    const std::string pod = file("pod.yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: a\n    image: a\n");
    const std::string config = file("config.yaml", injection_config_text("containers: []\n"));
    expect_refused({"check-config", config, flag, path}, needle);
    expect_refused({"kube-inject", "-f", pod, flag, path}, needle);
    expect_refused({"explain", "-f", pod, flag, path}, needle);
  }

  temp_dir dir_;
};

TEST_F(HostileInput, AMissingFile) {
  const std::string missing = (dir_.path() / "nope.yaml").string();
  expect_manifest_refused(missing, "cannot read " + missing + ": No such file or directory");
  expect_config_refused("--values", missing, "cannot read " + missing + ": No such file or directory");
}

TEST_F(HostileInput, ADirectory) {
  const std::string dir = dir_.path().string();
  expect_manifest_refused(dir, "cannot read " + dir + ": it is a directory");
  expect_config_refused("--mesh-config", dir, "cannot read " + dir + ": it is a directory");
}

TEST_F(HostileInput, DevZeroIsNeverRead) {
  expect_manifest_refused("/dev/zero", "cannot read /dev/zero: not a regular file");
  expect_config_refused("--values", "/dev/zero", "cannot read /dev/zero: not a regular file");
}

TEST_F(HostileInput, AFifoWithoutAWriterDoesNotBlock) {
  const std::string fifo = (dir_.path() / "fifo").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  expect_manifest_refused(fifo, "cannot read " + fifo + ": not a regular file");
  expect_config_refused("--mesh-config", fifo, "cannot read " + fifo + ": not a regular file");
}

TEST_F(HostileInput, ADanglingSymlink) {
  const std::string link = (dir_.path() / "link.yaml").string();
  ASSERT_EQ(::symlink((dir_.path() / "gone").c_str(), link.c_str()), 0);
  expect_manifest_refused(link, "cannot read " + link + ": No such file or directory");
  expect_config_refused("--values", link, "cannot read " + link + ": No such file or directory");
}

TEST_F(HostileInput, AHugeFileIsRefusedBeforeItIsRead) {
  // Sparse: the bound is checked against the size before a byte is read.
  const std::string huge = file("huge.yaml", "");
  ASSERT_EQ(::truncate(huge.c_str(), (off_t{64} << 20) + 1), 0);
  expect_manifest_refused(huge, "larger than 64 MiB, the bound on -f input");
  expect_config_refused("--values", huge, "larger than 4 MiB, the bound on config files (--max-config-bytes");
  // Just under the -f bound is read (and then fails as YAML of NUL bytes, not as too large).
  const std::string big = file("big.yaml", "");
  ASSERT_EQ(::truncate(big.c_str(), off_t{64} << 20), 0);
  const cli_result r = run_binary({"kube-inject", "-f", big});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err.find("larger than"), std::string::npos) << r.err.substr(0, 300);
}

TEST_F(HostileInput, BinaryData) {
  std::string bytes;
  for (int i = 0; i < 4096; ++i) bytes += static_cast<char>((i * 7919) & 0xff);
  const std::string bin = file("bin.yaml", bytes);
  expect_manifest_refused(bin, bin + ":");
  expect_config_refused("--values", bin, bin + ":");
}

TEST_F(HostileInput, AMultiDocumentStreamWithABrokenDocument) {
  const std::string stream = file("stream.yaml",
                                  "apiVersion: v1\nkind: Pod\nmetadata:\n  name: ok\nspec:\n  containers:\n"
                                  "  - name: a\n    image: a\n---\n"
                                  "apiVersion: v1\nkind: Pod\nmetadata: {name: [broken\n");
  const cli_result r = run_binary({"kube-inject", "-f", stream});
  EXPECT_EQ(r.code, 1) << r.err;
  // Where the unterminated flow sequence ends: the end of the stream.
  EXPECT_NE(r.err.find(stream + ":13:1: document 2: invalid YAML"), std::string::npos) << r.err;
  EXPECT_LT(r.err.size(), 600u) << r.err;
}

TEST_F(HostileInput, AliasBombs) {
  const std::string bomb = file("bomb.yaml", alias_bomb());
  // In a pod of the manifest stream: a file:line:column error, not 9^9 values.
  std::string pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: a, image: a}]\n  x:\n";
  const std::string text = alias_bomb();
  for (std::size_t at = 0; at < text.size();) {
    const std::size_t nl = text.find('\n', at);
    pod += "    " + text.substr(at, nl + 1 - at);
    at = nl + 1;
  }
  const std::string bomb_pod = file("bomb-pod.yaml", pod);
  expect_refused({"kube-inject", "-f", bomb_pod},
                 bomb_pod + ":7:9: document 1: the document expands to more than 100000 values (excessive aliasing?)");
  expect_refused({"explain", "-f", bomb_pod}, "excessive aliasing");
  // In the values and the mesh config, with the bound named.
  expect_config_refused("--values", bomb, "expands to more than 100000 values");
  expect_config_refused("--mesh-config", bomb, "expands to more than 100000 values");
  // The bound is a flag: a bomb of 9^3 values passes 1000 and fails 500.
  std::string small = "a0: &a0 [x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i <= 2; ++i) {
    small += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int j = 0; j < 9; ++j) small += (j ? ", *a" : "*a") + std::to_string(i - 1);
    small += "]\n";
  }
  const std::string values = file("small-bomb.yaml", small);
  const std::string config = file("config.yaml", injection_config_text("containers: []\n"));
  EXPECT_EQ(run_binary({"check-config", config, "--values", values, "--max-config-nodes", "1000"}).code, 0);
  expect_refused({"check-config", config, "--values", values, "--max-config-nodes", "500"},
                 "expands to more than 500 values");
}

TEST_F(HostileInput, BadBoundFlagsAreUsageErrors) {
  const std::string config = file("config.yaml", injection_config_text("containers: []\n"));
  for (const char* flag : {"--max-config-bytes", "--max-config-nodes", "--max-config-depth", "--max-template-steps",
                           "--max-patch-bytes"}) {
    const cli_result r = run_binary({"check-config", config, flag, "0"});
    EXPECT_EQ(r.code, 2) << flag << " " << r.err;
    EXPECT_NE(r.err.find(flag), std::string::npos) << r.err;
  }
}

TEST_F(HostileInput, EverySubcommandDocumentsTheBoundsInItsHelp) {
  for (const char* command : {"serve", "kube-inject", "explain", "check-config"}) {
    const cli_result r = run_binary({command, "--help"});
    EXPECT_EQ(r.code, 0) << command;
    for (const char* flag : {"--max-config-bytes BYTES", "--max-config-nodes N", "--max-config-depth N",
                             "--max-template-steps N", "--max-patch-bytes BYTES"})
      EXPECT_NE(r.out.find(flag), std::string::npos) << command << " --help lacks " << flag << "\n" << r.out;
    EXPECT_NE(r.out.find("(default 30000)"), std::string::npos) << command;
  }
}

}  // namespace
}  // namespace meshinject::test
