#include "cmd/cli.hpp"

#include "cmd/flags.hpp"
#include "core/build_info.hpp"

#include <iostream>
#include <string>
#include <vector>

namespace meshinject::cmd {
namespace {

constexpr std::string_view usage_text =
    "usage: meshinject <command> [flags]\n"
    "\n"
    "commands:\n"
    "  serve         run the mutating admission webhook (HTTPS)\n"
    "  kube-inject   inject the sidecar into Kubernetes YAML, like istioctl kube-inject\n"
    "  explain       show why a pod is, or is not, injected\n"
    "  check-config  compile an injection config and report its errors\n"
    "  version       print the version\n"
    "\n"
    "Run `meshinject <command> --help` for the flags of a command.\n";

}  // namespace

int run(args all, io streams) {
  if (all.empty()) {
    streams.err << usage_text;
    return 2;
  }
  const std::string_view command = all[0];
  const args rest = all.subspan(1);
  if (command == "serve") return serve(rest, streams);
  if (command == "kube-inject") return kube_inject(rest, streams);
  if (command == "explain") return explain(rest, streams);
  if (command == "check-config") return check_config(rest, streams);
  if (command == "version" || command == "--version") return version(rest, streams);
  if (command == "help" || command == "--help" || command == "-h") {
    streams.out << usage_text;
    return 0;
  }
  streams.err << "meshinject: unknown command '" << command << "'\n\n" << usage_text;
  return 2;
}

int run(int argc, char** argv) {
  std::vector<std::string_view> all(argv + 1, argv + argc);
  return run(args(all), io{std::cin, std::cout, std::cerr});
}

int version(args a, io streams) {
  flag_set flags("usage: meshinject version\n\nPrints the version of this build, its commit and the commit's time.");
  int code = 0;
  if (!flags.parse(a, streams, code)) return code;
  if (!flags.positional().empty()) {
    streams.err << "version: takes no arguments\n";
    return 2;
  }
  streams.out << "meshinject " << core::build_version() << " (commit " << core::build_commit() << ", "
              << core::build_commit_time() << ")\n";
  return 0;
}

}  // namespace meshinject::cmd
