// Subcommands whose issues are still open. Each says so plainly instead of
// pretending to work; the file shrinks as they land.
#include "cmd/cli.hpp"

#include <ostream>

namespace meshinject::cmd {

static int not_implemented(std::string_view name, io streams) {
  streams.err << "meshinject " << name << ": not implemented yet\n";
  return 2;
}

int serve(args, io streams) { return not_implemented("serve", streams); }
int kube_inject(args, io streams) { return not_implemented("kube-inject", streams); }
int explain(args, io streams) { return not_implemented("explain", streams); }
int check_config(args, io streams) { return not_implemented("check-config", streams); }

}  // namespace meshinject::cmd
