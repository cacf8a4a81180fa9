// The built-in config in today's shape (patch/default_config_today.cpp): it
// loads as the named-templates shape, its values load, and every template
// parses with Istio 1.28's function table. (What it injects is compared with
// Istio 1.28's golden proxy, field by field, once the engine renders named
// templates.)

#include <gtest/gtest.h>

#include <string>

#include "core/injection_config.hpp"
#include "patch/default_config.hpp"
#include "patch/istio_functions.hpp"
#include "template/parse.hpp"

namespace {

namespace core = meshinject::core;
namespace patch = meshinject::patch;
namespace tmpl = meshinject::tmpl;

TEST(default_config_today, loads_in_the_named_templates_shape) {
  const core::injection_config cfg =
      core::load_injection_config(patch::default_injection_config_today(), "embedded default (today)");
  EXPECT_EQ(cfg.shape, core::config_shape::named_templates);
  ASSERT_EQ(cfg.templates.size(), 1u);
  EXPECT_EQ(cfg.templates[0].name, "sidecar");
  ASSERT_EQ(cfg.default_templates.size(), 1u);
  EXPECT_EQ(cfg.default_templates[0], "sidecar");
  EXPECT_TRUE(cfg.warnings.empty()) << cfg.warnings.front();
}

TEST(default_config_today, values_load) {
  const core::config_node values = core::load_values(patch::default_values_today(), "embedded values (today)");
  const core::config_node* global = values.find("global");
  ASSERT_NE(global, nullptr);
  const core::config_node* hub = global->find("hub");
  ASSERT_NE(hub, nullptr);
  EXPECT_EQ(hub->text(), "docker.io/istio");
}

TEST(default_config_today, every_template_parses_with_the_1_28_functions) {
  const core::injection_config cfg =
      core::load_injection_config(patch::default_injection_config_today(), "embedded default (today)");
  for (const core::named_template& t : cfg.templates) {
    SCOPED_TRACE(t.name);
    try {
      const auto parsed = tmpl::parse_template(t.text, "{{", "}}", patch::istio_functions_1_28());
      EXPECT_FALSE(parsed.root.empty());
    } catch (const tmpl::parse_error& e) {
      const auto [line, col] = tmpl::line_column(t.text, e.pos);
      ADD_FAILURE() << "template " << t.name << ":" << line << ":" << col << ": " << e.message;
    }
  }
}

}  // namespace
