#pragma once
// Helpers for the language tests: run a template over the test binding
// (test_binding.hpp) and read its output, its run-time error or its load error.

#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "tests/template/test_binding.hpp"

namespace meshinject::test {

// Output of a template that must succeed for the request (the default test data
// unless `setup` changes it).
inline std::string out(const std::string& text, const std::function<void(test_data&)>& setup = {}) {
  try {
    const auto prog = compile_test_template(text);
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

// The error of a template that must fail while executing.
inline std::string run_error(const std::string& text, const std::function<void(test_data&)>& setup = {}) {
  try {
    const auto prog = compile_test_template(text);
    test_data d;
    if (setup) setup(d);
    const exec_result r = run_program(*prog, d);
    EXPECT_FALSE(r.ok) << "template succeeded with '" << r.out << "'\n  template: " << text;
    return r.error;
  } catch (const tmpl::program::compile_error& e) {
    ADD_FAILURE() << "unexpected compile error: " << e.message << "\n  template: " << text;
    return "";
  }
}

struct compile_failure {
  std::string message;
  int line = 0, column = 0;
};

// The load error of a template that must not compile.
inline compile_failure load_error(const std::string& text) {
  try {
    compile_test_template(text);
  } catch (const tmpl::program::compile_error& e) {
    const auto [line, col] = tmpl::line_column(text, e.pos);
    return {e.message, line, col};
  }
  ADD_FAILURE() << "template compiled, expected a load error: " << text;
  return {};
}

inline bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace meshinject::test
