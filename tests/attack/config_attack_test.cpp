// Attack suite, config rows: hostile config, values and mesh files and file
// faults against the real binary. Each row runs `check-config` as a child
// process, asserts the refusal (exit 1, the bound or fault named), and reports
// the child's time and peak RSS (getrusage through wait4). The RSS bound is
// asserted only without sanitizers, which inflate memory. The same files
// hot-reloaded into a running `serve` are tests/integration/serve_faults_test.cpp's.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "tests/support/engine_fixture.hpp"
#include "tests/support/server_process.hpp"
#include "tests/support/support.hpp"

namespace meshinject::test {
namespace {

namespace fs = std::filesystem;

// Peak RSS a refusal may cost: the process's own start-up is about 10 MiB.
[[maybe_unused]] constexpr long max_rss_kib = 128 * 1024;  // asserted only without sanitizers

struct child_run {
  int exit_code = -1;  // -1: killed by a signal
  std::string err;
  double seconds = 0;
  long max_rss_kib = 0;
};

// Runs the binary with `args`, stderr to a file, and collects its resource use.
child_run run_measured(const std::vector<std::string>& args, const fs::path& dir) {
  const fs::path err_path = dir / "stderr";
  std::vector<std::string> argv = {meshinject_binary().string()};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> raw;
  for (auto& a : argv) raw.push_back(a.data());
  raw.push_back(nullptr);
  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int null_fd = ::open("/dev/null", O_RDWR);
    const int err_fd = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(null_fd, 0);
    ::dup2(null_fd, 1);
    ::dup2(err_fd, 2);
    ::execv(raw[0], raw.data());
    ::_exit(127);
  }
  child_run r;
  int status = 0;
  struct rusage usage {};
  ::wait4(pid, &status, 0, &usage);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  r.max_rss_kib = usage.ru_maxrss;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.err = read_file(err_path);
  return r;
}

std::string alias_bomb(int levels) {
  std::string bomb = "a0: &a0 [x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i <= levels; ++i) {
    bomb += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int j = 0; j < 9; ++j) bomb += (j ? ", *a" : "*a") + std::to_string(i - 1);
    bomb += "]\n";
  }
  return bomb;
}

struct attack_row {
  std::string name;
  std::string flag;                        // which file the hostile path is given as
  std::function<std::string(const fs::path&)> make;  // lays out the hostile path, returns it
  std::string expected;                    // in the error
  std::vector<std::string> extra = {};     // more flags
};

void PrintTo(const attack_row& row, std::ostream* os) { *os << row.name; }

class ConfigAttack : public ::testing::TestWithParam<attack_row> {};

TEST_P(ConfigAttack, RefusedWithinBoundedMemory) {
  if (meshinject_binary().empty() || !fs::exists(meshinject_binary())) GTEST_SKIP() << "no meshinject binary";
  const attack_row& row = GetParam();
  temp_dir dir;
  const fs::path config = dir.path() / "config.yaml";
  write_file(config, injection_config_text("containers: []\n"));
  const std::string hostile = row.make(dir.path());
  std::vector<std::string> args = {"check-config"};
  if (row.flag == "config") {
    args.push_back(hostile);
  } else {
    args.insert(args.end(), {config.string(), row.flag, hostile});
  }
  args.insert(args.end(), row.extra.begin(), row.extra.end());
  const child_run r = run_measured(args, dir.path());
  // The report: one line per row, for the suite's output.
  std::printf("attack-report row=%s exit=%d seconds=%.3f max_rss_kib=%ld\n", row.name.c_str(), r.exit_code,
              r.seconds, r.max_rss_kib);
  EXPECT_EQ(r.exit_code, 1) << r.err.substr(0, 400);
  EXPECT_NE(r.err.find(row.expected), std::string::npos) << r.err.substr(0, 400);
  EXPECT_LT(r.err.size(), 1000u) << r.err.substr(0, 400);
#ifndef MESHINJECT_SANITIZED
  EXPECT_LT(r.max_rss_kib, max_rss_kib) << row.name;
#endif
}

std::string write(const fs::path& dir, const std::string& name, const std::string& text) {
  write_file(dir / name, text);
  return (dir / name).string();
}

const attack_row rows[] = {
    {"values_alias_bomb", "--values", [](const fs::path& d) { return write(d, "v.yaml", alias_bomb(9)); },
     "expands to more than 100000 values"},
    {"mesh_alias_bomb", "--mesh-config", [](const fs::path& d) { return write(d, "m.yaml", alias_bomb(9)); },
     "expands to more than 100000 values"},
    {"values_deep_nesting", "--values",
     [](const fs::path& d) {
       // Nesting through aliases: each level is one line, 600 levels deep (and
       // 180,000 values in all, so the node bound is raised to reach the depth's).
       std::string text = "l0: &l0 [x]\n";
       for (int i = 1; i <= 600; ++i)
         text += "l" + std::to_string(i) + ": &l" + std::to_string(i) + " [*l" + std::to_string(i - 1) + "]\n";
       return write(d, "deep.yaml", text);
     },
     "nests deeper than 512 levels", {"--max-config-nodes", "1000000"}},
    {"values_huge_sparse", "--values",
     [](const fs::path& d) {
       const std::string p = write(d, "huge.yaml", "");
       if (::truncate(p.c_str(), off_t{1} << 30) != 0) ADD_FAILURE() << "truncate";
       return p;
     },
     "larger than 4 MiB"},
    {"values_dev_zero", "--values", [](const fs::path&) { return std::string("/dev/zero"); }, "not a regular file"},
    {"mesh_fifo", "--mesh-config",
     [](const fs::path& d) {
       const std::string p = (d / "fifo").string();
       if (::mkfifo(p.c_str(), 0600) != 0) ADD_FAILURE() << "mkfifo";
       return p;
     },
     "not a regular file"},
    {"values_directory", "--values", [](const fs::path& d) { return d.string(); }, "it is a directory"},
    {"values_dangling_symlink", "--values",
     [](const fs::path& d) {
       const std::string p = (d / "link").string();
       if (::symlink((d / "gone").c_str(), p.c_str()) != 0) ADD_FAILURE() << "symlink";
       return p;
     },
     "No such file or directory"},
    {"config_template_step_bomb", "config",
     [](const fs::path& d) {
       // Caught by the load-time check render: a billion iterations.
       return write(d, "c.yaml", injection_config_text("containers: []\n{{ range 1000000000 }}{{ end }}\n"));
     },
     "--max-template-steps"},
};

INSTANTIATE_TEST_SUITE_P(rows, ConfigAttack, ::testing::ValuesIn(rows),
                         [](const ::testing::TestParamInfo<attack_row>& i) { return i.param.name; });

}  // namespace
}  // namespace meshinject::test
