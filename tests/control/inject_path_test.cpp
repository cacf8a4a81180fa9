#include "control/inject_path.hpp"

#include <gtest/gtest.h>

#include <map>

namespace meshinject::control {
namespace {

std::map<std::string, std::string> env_of(std::string_view path, bool* ok = nullptr) {
  std::string storage;
  std::vector<patch::env_pair> pairs;
  const bool good = parse_inject_env(path, storage, pairs);
  if (ok) *ok = good;
  std::map<std::string, std::string> out;
  for (const auto& p : pairs) out[std::string(p.name)] = std::string(p.value);
  return out;
}

TEST(InjectPath, InjectPaths) {
  EXPECT_TRUE(is_inject_path("/inject"));
  EXPECT_TRUE(is_inject_path("/inject/"));
  EXPECT_TRUE(is_inject_path("/inject/cluster/c1"));
  EXPECT_FALSE(is_inject_path("/injector"));
  EXPECT_FALSE(is_inject_path("/"));
  EXPECT_FALSE(is_inject_path("/health"));
}

TEST(InjectPath, InjectEnvLikeIstio) {
  EXPECT_TRUE(env_of("/inject").empty());
  EXPECT_TRUE(env_of("/inject/").empty());
  auto env = env_of("/inject/cluster/c1/net/n1");
  EXPECT_EQ(env, (std::map<std::string, std::string>{{"ISTIO_META_CLUSTER_ID", "c1"}, {"ISTIO_META_NETWORK", "n1"}}));
  env = env_of("/inject/net/n1/cluster/c1/");  // any order, trailing slash
  EXPECT_EQ(env["ISTIO_META_CLUSTER_ID"], "c1");
  EXPECT_EQ(env["ISTIO_META_NETWORK"], "n1");
  env = env_of("/inject/my_var/x--slash--y--slash--z/odd");  // upper-cased, slashes, odd key ignored
  EXPECT_EQ(env, (std::map<std::string, std::string>{{"MY_VAR", "x/y/z"}}));
  env = env_of("/inject/cluster/a%2Fb/key/%41%42");  // decoded first, as Go's URL.Path
  EXPECT_EQ(env.count("ISTIO_META_CLUSTER_ID"), 1u);
  EXPECT_EQ(env["ISTIO_META_CLUSTER_ID"], "a");  // %2F splits like a slash
  env = env_of("/inject/cluster/c1/cluster/c2");  // a map: the last value wins
  EXPECT_EQ(env["ISTIO_META_CLUSTER_ID"], "c2");
  env = env_of("/inject/1bad/x/has space/y/ok.name/z/-dash/w");  // invalid names are dropped
  EXPECT_EQ(env, (std::map<std::string, std::string>{{"OK.NAME", "z"}, {"-DASH", "w"}}));
  env = env_of("/inject/empty/");  // empty value is a value
  EXPECT_TRUE(env.empty()) << "trailing slash trimmed: 'empty' is an odd key";
  env = env_of("/inject/empty//x/1");
  EXPECT_EQ(env["EMPTY"], "");
  EXPECT_EQ(env["X"], "1");
  bool ok = true;
  env_of("/inject/cluster/%zz", &ok);
  EXPECT_FALSE(ok);
  env_of("/inject/cluster/%4", &ok);
  EXPECT_FALSE(ok);
}

TEST(InjectPath, DeprecatedEnvSyntax) {
  auto env = env_of("/inject/:ENV:cluster=c1:ENV:FOO=bar--slash--baz:ENV:=nokey:ENV:novalue:ENV:E=");
  EXPECT_EQ(env, (std::map<std::string, std::string>{
                     {"ISTIO_META_CLUSTER_ID", "c1"}, {"FOO", "bar--slash--baz"}, {"E", ""}}));
}

TEST(InjectPath, EnvViewsStayValidAndNothingReallocatesOnceWarm) {
  std::string storage;
  std::vector<patch::env_pair> pairs;
  ASSERT_TRUE(parse_inject_env("/inject/cluster/c1/net/n1/a/b/c/d", storage, pairs));
  const char* data = storage.data();
  const auto* first = pairs.data();
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(parse_inject_env("/inject/cluster/c2/net/n2/a/b", storage, pairs));
  EXPECT_EQ(storage.data(), data);
  EXPECT_EQ(pairs.data(), first);
  EXPECT_EQ(pairs[0].value, "c2");
}

}  // namespace
}  // namespace meshinject::control
