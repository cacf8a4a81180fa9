// The template language alone (meshinject_template and the test binding of
// tests/template/): bytes as a template (either delimiter style), compiled, then
// traced and rendered for a request that carries the bytes as data too. Only
// compile_error may be thrown; everything after compilation reports errors as
// values, and a render must produce one placeholder for each traced hole.

#include <cstdint>
#include <cstdlib>
#include <string>

#include "tests/template/test_binding.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace tt = meshinject::tmpl;
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::unique_ptr<tt::program> prog;
  try {
    prog = meshinject::test::compile_test_template(text);
  } catch (const tt::program::compile_error&) {
    return 0;
  }
  static meshinject::test::test_data request;
  request.name = text;
  request.labels = {{"app", request.name}, {"tier", "front"}};
  static tt::trace_state state;
  const tt::value root = meshinject::test::test_root(request);
  for (int round = 0; round < 2; ++round) {  // the second trace runs on a warm state
    if (!prog->trace(root, state)) return 0;
  }
  tt::render_result rendered;
  std::string error;
  if (!prog->render(root, state.trace, rendered, error)) return 0;
  if (rendered.holes.size() != state.holes.size()) std::abort();
  return 0;
}
