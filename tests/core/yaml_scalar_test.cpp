// Plain-scalar typing and Go's float text: the number conversions here use
// std::from_chars/std::to_chars, and must give what strtod/snprintf gave.

#include "core/yaml_scalar.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <string>

namespace {

using meshinject::core::format_go_float;
using meshinject::core::resolve_plain_scalar;
using meshinject::core::yaml_scalar;

TEST(yaml_scalar, go_float_text) {
  // strconv.FormatFloat(v, 'g', -1, 64), as Go prints them.
  EXPECT_EQ(format_go_float(0.0), "0");
  EXPECT_EQ(format_go_float(1.0), "1");
  EXPECT_EQ(format_go_float(0.5), "0.5");
  EXPECT_EQ(format_go_float(-0.5), "-0.5");
  EXPECT_EQ(format_go_float(0.0001), "0.0001");
  EXPECT_EQ(format_go_float(0.00001), "1e-05");
  EXPECT_EQ(format_go_float(100000.0), "100000");
  EXPECT_EQ(format_go_float(123456.7), "123456.7");
  EXPECT_EQ(format_go_float(1e6), "1e+06");
  EXPECT_EQ(format_go_float(1234567.0), "1.234567e+06");
  EXPECT_EQ(format_go_float(-2.5e-7), "-2.5e-07");
  EXPECT_EQ(format_go_float(1e21), "1e+21");
  EXPECT_EQ(format_go_float(1e100), "1e+100");
  EXPECT_EQ(format_go_float(5e-324), "5e-324");
  EXPECT_EQ(format_go_float(1.7976931348623157e308), "1.7976931348623157e+308");
  EXPECT_EQ(format_go_float(0.1, 32), "0.1");
  EXPECT_EQ(format_go_float(16777216.0, 32), "1.6777216e+07");
  EXPECT_EQ(format_go_float(std::numeric_limits<double>::quiet_NaN()), "NaN");
  EXPECT_EQ(format_go_float(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(format_go_float(-std::numeric_limits<double>::infinity()), "-Inf");
}

double as_float(const char* text) {
  const yaml_scalar s = resolve_plain_scalar(text);
  EXPECT_EQ(s.k, yaml_scalar::kind::floating) << text;
  return s.f;
}

TEST(yaml_scalar, floats_parse_as_strtod_did) {
  EXPECT_EQ(as_float("1.5"), 1.5);
  EXPECT_EQ(as_float("+1.5"), 1.5);
  EXPECT_EQ(as_float("-.5"), -0.5);
  EXPECT_EQ(as_float("5."), 5.0);
  EXPECT_EQ(as_float(".5e+1"), 5.0);
  EXPECT_EQ(as_float("1_000.5"), 1000.5);
  EXPECT_EQ(as_float("6.02e23"), 6.02e23);
  EXPECT_EQ(as_float("1e999"), std::numeric_limits<double>::infinity());
  EXPECT_EQ(as_float("-1e999"), -std::numeric_limits<double>::infinity());
  EXPECT_EQ(as_float("1e-999"), 0.0);
  EXPECT_TRUE(std::signbit(as_float("-1e-999")));
  EXPECT_EQ(as_float("4.9e-324"), 4.9e-324);  // the smallest subnormal
  EXPECT_EQ(resolve_plain_scalar("1.2.3").k, yaml_scalar::kind::string);
  EXPECT_EQ(resolve_plain_scalar("12").k, yaml_scalar::kind::integer);

  // Random decimal texts against the C library, in the C locale the process runs in.
  std::mt19937 rng(5);
  for (int round = 0; round < 20000; ++round) {
    std::string text = rng() % 2 ? "-" : "";
    const int int_digits = static_cast<int>(rng() % 20);
    for (int k = 0; k < int_digits; ++k) text += static_cast<char>('0' + rng() % 10);
    text += '.';
    const int frac_digits = static_cast<int>(rng() % 20) + (int_digits == 0 ? 1 : 0);
    for (int k = 0; k < frac_digits; ++k) text += static_cast<char>('0' + rng() % 10);
    if (rng() % 2) text += "e" + std::to_string(static_cast<int>(rng() % 700) - 350);
    const double expected = std::strtod(text.c_str(), nullptr);
    const yaml_scalar s = resolve_plain_scalar(text);
    ASSERT_EQ(s.k, yaml_scalar::kind::floating) << text;
    ASSERT_EQ(std::memcmp(&s.f, &expected, sizeof expected), 0) << text << ": " << s.f << " vs " << expected;
  }
}

}  // namespace
