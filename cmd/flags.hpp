#pragma once
// A small command-line flag parser shared by the subcommands: `--name value`,
// `--name=value`, short aliases (`-f`), boolean switches, and a --help text built
// from the declarations. Cold path: clarity first.

#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "cmd/cli.hpp"

namespace meshinject::cmd {

class flag_set {
 public:
  explicit flag_set(std::string usage) : usage_(std::move(usage)) {}

  // A flag with a value. `names` are alternatives: {"--inject-config", "--injectConfigFile"}.
  flag_set& value(std::vector<std::string> names, std::string* target, std::string help,
                  std::string metavar = "VALUE");
  // A switch: present means true; `--name=false` is accepted too.
  flag_set& boolean(std::vector<std::string> names, bool* target, std::string help);

  // Parses `a`. Returns false after printing a message (or the help text) to
  // `out`/`err`; `exit_code` is then 0 for --help and 2 for a usage error.
  // Arguments that are not flags are collected in positional().
  bool parse(args a, io streams, int& exit_code);

  const std::vector<std::string>& positional() const noexcept { return positional_; }
  // Whether the flag was given explicitly (by any of its names).
  bool given(std::string_view name) const;

  void print_help(std::ostream& out) const;

 private:
  struct flag {
    std::vector<std::string> names;
    std::string* text = nullptr;
    bool* switch_ = nullptr;
    std::string help, metavar;
    bool seen = false;
  };
  flag* find(std::string_view name);
  std::string usage_;
  std::vector<flag> flags_;
  std::vector<std::string> positional_;
};

}  // namespace meshinject::cmd
