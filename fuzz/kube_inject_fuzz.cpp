// kube-inject's YAML input: bytes as the `-f -` input of `meshinject kube-inject`,
// run in-process with the embedded default config, exactly as the command line
// runs it. Whatever the bytes, the command must return 0 (injected) or 1 (an
// error, reported on stderr) and never crash, hang, leak or throw. A run that
// succeeds must have written something for a non-empty input, and its output,
// given back to kube-inject, must be accepted again (the output is YAML that
// kube-inject itself can read).

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <string_view>

#include "cmd/cli.hpp"

namespace {

int run_kube_inject(const std::string& input, std::string& out, std::string& err) {
  static constexpr std::string_view argv[] = {"kube-inject", "-f", "-"};
  std::istringstream in(input);
  std::ostringstream o, e;
  const int code = meshinject::cmd::run(meshinject::cmd::args(argv), meshinject::cmd::io{in, o, e});
  out = std::move(o).str();
  err = std::move(e).str();
  return code;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  std::string out, err;
  const int code = run_kube_inject(input, out, err);
  if (code != 0 && code != 1) std::abort();           // 2 is for bad flags, which these are not
  if (code == 1 && err.empty()) std::abort();         // a failure must say why
  if (code != 0) return 0;
  if (!input.empty() && out.empty()) std::abort();    // documents in, nothing out
  // The output is read back: a document kube-inject wrote must parse again.
  std::string out2, err2;
  if (run_kube_inject(out, out2, err2) != 0) {
    std::fprintf(stderr, "kube-inject could not read its own output:\n%s\n--- output:\n%s\n", err2.c_str(),
                 out.c_str());
    std::abort();
  }
  return 0;
}
