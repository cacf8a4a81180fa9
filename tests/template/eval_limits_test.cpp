// What one trace() or render() may cost (eval_limits): templates whose work grows
// with pod data or with constants fail with a message naming the bound instead of
// holding the thread, and a template inside the bound is untouched by it.

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "tests/template/template_fixture.hpp"

namespace {

using namespace meshinject::test;

// Nested ranges over per-request lists: the work is the product of their lengths.
constexpr char nested_ranges[] =
    "{{ range .Items }}{{ range .Ports }}{{ range $.List }}{{ $.Name }}:{{ . }} {{ end }}{{ end }}{{ end }}";

struct run {
  bool ok = false;
  std::string error;
  std::uint64_t trace_steps = 0, render_steps = 0;
  std::size_t text_bytes = 0;
};

run run_with(const std::string& text, const tt::eval_limits& limits) {
  const auto prog = compile_test_template(text);
  prog->set_limits(limits);
  test_data d;
  tt::trace_state state;
  run r;
  const tt::value root = test_root(d);
  r.ok = prog->trace(root, state);
  r.trace_steps = state.steps;
  if (!r.ok) {
    r.error = state.error;
    return r;
  }
  tt::render_result rendered;
  r.ok = prog->render(root, state.trace, rendered, r.error);
  r.render_steps = rendered.steps;
  r.text_bytes = rendered.text.size();
  return r;
}

TEST(template_eval_limits, the_step_bound_is_exact) {
  const run measured = run_with(nested_ranges, {});
  ASSERT_TRUE(measured.ok) << measured.error;
  // Four ports of three items, three list elements each: the steps grow with them.
  ASSERT_GT(measured.trace_steps, 4u * 3u);
  const std::uint64_t needed = std::max(measured.trace_steps, measured.render_steps);

  tt::eval_limits exact;
  exact.max_steps = needed;
  EXPECT_TRUE(run_with(nested_ranges, exact).ok);

  tt::eval_limits one_short;
  one_short.max_steps = needed - 1;
  const run refused = run_with(nested_ranges, one_short);
  EXPECT_FALSE(refused.ok);
  EXPECT_TRUE(contains(refused.error, "template:1:")) << refused.error;
  EXPECT_TRUE(contains(refused.error, "bound of " + std::to_string(needed - 1) + " steps")) << refused.error;
  EXPECT_TRUE(contains(refused.error, "--max-template-steps")) << refused.error;
}

TEST(template_eval_limits, per_request_ranges_inside_configuration_are_still_counted) {
  // The trace skips configuration-only nodes, not the per-request work they hold.
  const std::string wrapped = std::string("{{ if .Config.num }}text{{ if .Config.name }}") + nested_ranges +
                              "{{ end }}{{ .Config.name }}{{ end }}";
  const run measured = run_with(wrapped, {});
  ASSERT_TRUE(measured.ok) << measured.error;
  ASSERT_GT(measured.trace_steps, 4u * 3u);
  tt::eval_limits one_short;
  one_short.max_steps = measured.trace_steps - 1;
  const run refused = run_with(wrapped, one_short);
  EXPECT_FALSE(refused.ok);
  EXPECT_TRUE(contains(refused.error, "bound of " + std::to_string(measured.trace_steps - 1) + " steps"))
      << refused.error;
}

TEST(template_eval_limits, a_huge_constant_range_stops_at_the_default_bound) {
  // Go 1.22 ranges over an integer; a billion iterations would take minutes.
  const run r = run_with("{{ range 1000000000 }}x{{ end }}", {});
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(contains(r.error, "bound of " + std::to_string(tt::eval_limits::default_max_steps) + " steps"))
      << r.error;
}

TEST(template_eval_limits, wide_printf_per_request_is_bounded_by_output_bytes) {
  // Go caps one width at 1e6; nine of them per pod (three list elements, twice
  // nested) are 9 MB of per-request text, past the 4 MiB default.
  const std::string wide = "{{ range .List }}{{ range $.List }}{{ printf \"%900000s\" $.Name }}{{ end }}{{ end }}";
  const run r = run_with(wide, {});
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(contains(r.error, "bound of " + std::to_string(tt::eval_limits::default_max_output_bytes) +
                                    " bytes of output"))
      << r.error;
  EXPECT_TRUE(contains(r.error, "--max-patch-bytes")) << r.error;
  // One level (2.7 MB) fits.
  EXPECT_TRUE(run_with("{{ range .List }}{{ printf \"%900000s\" $.Name }}{{ end }}", {}).ok);
}

TEST(template_eval_limits, rendered_text_is_bounded_by_output_bytes) {
  tt::eval_limits small;
  small.max_output_bytes = 1000;
  const run fits = run_with("{{ range 99 }}0123456789{{ end }}", small);
  ASSERT_TRUE(fits.ok) << fits.error;
  EXPECT_EQ(fits.text_bytes, 990u);
  const run refused = run_with("{{ range 101 }}0123456789{{ end }}", small);
  EXPECT_FALSE(refused.ok);
  EXPECT_TRUE(contains(refused.error, "bound of 1000 bytes of output")) << refused.error;
}

TEST(template_eval_limits, a_failed_run_leaves_the_program_usable) {
  const auto prog = compile_test_template(nested_ranges);
  tt::eval_limits tight;
  tight.max_steps = 5;
  prog->set_limits(tight);
  test_data d;
  tt::trace_state state;
  EXPECT_FALSE(prog->trace(test_root(d), state));
  prog->set_limits({});
  EXPECT_TRUE(prog->trace(test_root(d), state)) << state.error;
  EXPECT_TRUE(state.error.empty());
}

TEST(template_eval_limits, recursion_through_template_is_refused_at_load) {
  EXPECT_TRUE(contains(load_error(R"({{ define "r" }}{{ template "r" . }}{{ end }}{{ template "r" . }})").message,
                       "calls itself"));
}

}  // namespace
