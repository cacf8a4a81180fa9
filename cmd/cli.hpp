#pragma once
// The meshinject command line: `meshinject <subcommand> [flags]`.
// Each subcommand takes its arguments (without the program and subcommand names)
// and its streams, so tests can run it in-process and read what it printed.

#include <iosfwd>
#include <span>
#include <string_view>

namespace meshinject::cmd {

struct io {
  std::istream& in;
  std::ostream& out;
  std::ostream& err;
};

using args = std::span<const std::string_view>;

int run(int argc, char** argv);
int run(args all, io streams);  // all[0] is the subcommand

int serve(args a, io streams);
int kube_inject(args a, io streams);
int explain(args a, io streams);
int check_config(args a, io streams);
int version(args a, io streams);

}  // namespace meshinject::cmd
