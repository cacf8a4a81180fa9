#pragma once
// Runs meshinject subcommands for the tests: in-process through cmd::run with
// string streams, or as the real binary ($MESHINJECT_BINARY) through the shell,
// for stdin, stdout and exit codes.

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "cmd/cli.hpp"
#include "tests/support/support.hpp"

namespace meshinject::test {

struct cli_result {
  int code = -1;
  std::string out;
  std::string err;
};

inline cli_result run_cli(const std::vector<std::string>& argv, const std::string& stdin_text = "") {
  std::istringstream in(stdin_text);
  std::ostringstream out, err;
  std::vector<std::string_view> views(argv.begin(), argv.end());
  cli_result r;
  r.code = cmd::run(cmd::args(views), cmd::io{in, out, err});
  r.out = out.str();
  r.err = err.str();
  return r;
}

inline std::filesystem::path binary_path() {
  const char* env = std::getenv("MESHINJECT_BINARY");
  return env && *env ? std::filesystem::path(env) : std::filesystem::path();
}

inline std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  return out + "'";
}

// Runs the binary with `argv` (after the program name), feeding `stdin_text`.
inline cli_result run_binary(const std::vector<std::string>& argv, const std::string& stdin_text = "") {
  temp_dir dir;
  const auto in = dir.path() / "stdin", out = dir.path() / "stdout", err = dir.path() / "stderr";
  write_file(in, stdin_text);
  std::string command = shell_quote(binary_path().string());
  for (const auto& a : argv) command += " " + shell_quote(a);
  command += " <" + shell_quote(in.string()) + " >" + shell_quote(out.string()) + " 2>" + shell_quote(err.string());
  const int status = std::system(command.c_str());
  cli_result r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = read_file(out);
  r.err = read_file(err);
  return r;
}

#define MESHINJECT_REQUIRE_BINARY()                                                                             \
  if (::meshinject::test::binary_path().empty() || !std::filesystem::exists(::meshinject::test::binary_path())) \
  GTEST_SKIP() << "MESHINJECT_BINARY is not set (ctest sets it to the built meshinject)"

// Whether `text` holds "<file>:<line>:<column>: " for the given numbers.
inline bool has_position(const std::string& text, const std::string& file, int line, int column) {
  return text.find(file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": ") != std::string::npos;
}

}  // namespace meshinject::test
