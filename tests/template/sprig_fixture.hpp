#pragma once
// The language tests' helpers (template_fixture.hpp) over a function table with
// sprig's families added to Go's builtins, as a host that offers them has.

#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "tests/template/template_fixture.hpp"

namespace meshinject::test {

inline const tt::function_table& sprig_test_functions() {
  static const tt::function_table t = [] {
    tt::function_table f = tt::builtin_functions();
    tt::add_sprig_functions(f);
    return f;
  }();
  return t;
}

inline std::unique_ptr<tt::program> compile_sprig_template(std::string text) {
  auto load = std::make_shared<test_data>();
  load->request = false;
  const tt::value root = test_root(*load);
  return std::make_unique<tt::program>(std::move(text), sprig_test_functions(), root, std::move(load));
}

// Output of a template that must succeed.
inline std::string sout(const std::string& text, const std::function<void(test_data&)>& setup = {}) {
  try {
    const auto prog = compile_sprig_template(text);
    test_data d;
    if (setup) setup(d);
    const exec_result r = run_program(*prog, d);
    EXPECT_TRUE(r.ok) << "template failed: " << r.error << "\n  template: " << text;
    return r.out;
  } catch (const tmpl::program::compile_error& e) {
    ADD_FAILURE() << "compile error at " << e.pos << ": " << e.message << "\n  template: " << text;
    return "<compile error>";
  }
}

// The error of a template that must fail, at load (folded) or for the request.
inline std::string serror(const std::string& text) {
  try {
    const auto prog = compile_sprig_template(text);
    test_data d;
    const exec_result r = run_program(*prog, d);
    EXPECT_FALSE(r.ok) << "template succeeded with '" << r.out << "'\n  template: " << text;
    return r.error;
  } catch (const tmpl::program::compile_error& e) {
    return e.message;
  }
}

}  // namespace meshinject::test
