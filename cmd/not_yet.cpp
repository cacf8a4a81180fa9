// Subcommands whose issues are still open. Each says so plainly instead of
// pretending to work; the file goes away as they land.
#include "cmd/cli.hpp"

#include <ostream>

namespace meshinject::cmd {

int serve(args, io streams) {
  streams.err << "meshinject serve: not implemented yet\n";
  return 2;
}

}  // namespace meshinject::cmd
