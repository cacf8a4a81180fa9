// Kubernetes quantities in millis, read with std::from_chars (no locale); and the
// schema's field names, which the fragment writer puts into JSON unescaped.

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <set>
#include <string>

#include "core/json_text.hpp"

#include "patch/k8s_schema.hpp"

namespace {

std::optional<std::int64_t> millis(const char* text) {
  std::int64_t m = 0;
  if (!meshinject::patch::k8s::quantity_millis(text, m)) return std::nullopt;
  return m;
}

TEST(k8s_quantity, millis_of_each_form) {
  EXPECT_EQ(millis("1"), 1000);
  EXPECT_EQ(millis("100m"), 100);
  EXPECT_EQ(millis("0.5"), 500);
  EXPECT_EQ(millis(".5"), 500);
  EXPECT_EQ(millis("2."), 2000);
  EXPECT_EQ(millis("+2"), 2000);
  EXPECT_EQ(millis("-1"), -1000);
  EXPECT_EQ(millis("1.0001"), 1001);  // rounded up, as the apiserver does
  EXPECT_EQ(millis("250u"), 1);
  EXPECT_EQ(millis("2k"), 2000000);
  EXPECT_EQ(millis("2Ki"), 2048000);
  EXPECT_EQ(millis("1.5Gi"), 1610612736000);
  EXPECT_EQ(millis("1e3"), 1000000);
  EXPECT_EQ(millis("1e+3"), 1000000);
  EXPECT_EQ(millis("1E-3"), 1);
  EXPECT_EQ(millis("12e-1"), 1200);
}

TEST(k8s_quantity, rejects_what_is_not_a_quantity) {
  for (const char* bad : {"", "m", ".", "1x", "1e", "1e-", "1e+", "1e31", "1e-31", "1e3.5", "1ee3", "1 ", " 1",
                          "1e 3", "10E"})
    EXPECT_EQ(millis(bad), std::nullopt) << bad;
  EXPECT_EQ(millis("9E"), std::nullopt);  // beyond 2^63 millis
  EXPECT_TRUE(meshinject::patch::k8s::is_quantity("9E"));
}

void collect_field_names(const meshinject::patch::k8s::type_node* t,
                         std::set<const meshinject::patch::k8s::type_node*>& seen, std::set<std::string>& names) {
  if (t == nullptr || !seen.insert(t).second) return;
  for (const auto& f : t->fields) {
    names.insert(std::string(f.name));
    collect_field_names(f.type, seen, names);
  }
  collect_field_names(t->elem, seen, names);
}

// write_typed_members writes a schema field's name between quotes as it is: a
// name that JSON escapes would change it, so none may have one.
TEST(k8s_schema, field_names_need_no_json_escaping) {
  namespace k8s = meshinject::patch::k8s;
  std::set<const k8s::type_node*> seen;
  std::set<std::string> names;
  collect_field_names(&k8s::sidecar_spec(), seen, names);
  collect_field_names(&k8s::pod(), seen, names);
  EXPECT_GT(names.size(), 100u);
  EXPECT_TRUE(names.count("secretName") && names.count("mountPath") && names.count("readOnly"));
  for (const std::string& name : names) {
    std::string escaped;
    meshinject::core::append_escaped(escaped, name, meshinject::core::escape_style::json);
    EXPECT_EQ(escaped, name);
  }
}

}  // namespace
