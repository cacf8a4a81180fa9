#include "http/routes.hpp"

#include <gtest/gtest.h>

#include <map>

#include "http/reactor.hpp"

namespace meshinject::http {
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

TEST(Routes, SplitTarget) {
  EXPECT_EQ(split_target("/inject").path, "/inject");
  EXPECT_EQ(split_target("/inject").query, "");
  EXPECT_EQ(split_target("/inject?timeout=10s").path, "/inject");
  EXPECT_EQ(split_target("/inject?timeout=10s").query, "timeout=10s");
  EXPECT_EQ(query_value("a=1&level=debug&b", "level"), "debug");
  EXPECT_EQ(query_value("a=1&b", "level"), "");
  EXPECT_EQ(query_value("", "level"), "");
}

TEST(Routes, InjectPaths) {
  EXPECT_TRUE(is_inject_path("/inject"));
  EXPECT_TRUE(is_inject_path("/inject/"));
  EXPECT_TRUE(is_inject_path("/inject/cluster/c1"));
  EXPECT_FALSE(is_inject_path("/injector"));
  EXPECT_FALSE(is_inject_path("/"));
  EXPECT_FALSE(is_inject_path("/health"));
}

TEST(Routes, JsonContentType) {
  EXPECT_TRUE(is_json_content_type("application/json"));
  EXPECT_TRUE(is_json_content_type("Application/JSON"));
  EXPECT_TRUE(is_json_content_type("application/json; charset=utf-8"));
  EXPECT_TRUE(is_json_content_type("  application/json ;charset=UTF-8"));
  EXPECT_FALSE(is_json_content_type(""));
  EXPECT_FALSE(is_json_content_type("text/plain"));
  EXPECT_FALSE(is_json_content_type("application/jsonx"));
  EXPECT_FALSE(is_json_content_type("application/json-patch+json"));
  EXPECT_FALSE(is_json_content_type("application/yaml; x=application/json"));
}

TEST(Routes, InjectEnvLikeIstio) {
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

TEST(Routes, DeprecatedEnvSyntax) {
  auto env = env_of("/inject/:ENV:cluster=c1:ENV:FOO=bar--slash--baz:ENV:=nokey:ENV:novalue:ENV:E=");
  EXPECT_EQ(env, (std::map<std::string, std::string>{
                     {"ISTIO_META_CLUSTER_ID", "c1"}, {"FOO", "bar--slash--baz"}, {"E", ""}}));
}

TEST(Routes, EnvViewsStayValidAndNothingReallocatesOnceWarm) {
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

TEST(Routes, ResponseHead) {
  std::string out;
  append_response_head(out, 200, "application/json", 12, false);
  EXPECT_EQ(out, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 12\r\n\r\n");
  out.clear();
  append_response_head(out, 405, "text/plain; charset=utf-8", 0, true, "Allow: POST\r\n");
  EXPECT_EQ(out,
            "HTTP/1.1 405 Method Not Allowed\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 0\r\n"
            "Connection: close\r\nAllow: POST\r\n\r\n");
  for (unsigned s : {200u, 400u, 404u, 405u, 413u, 415u, 431u, 500u, 503u}) EXPECT_NE(status_reason(s), "Unknown") << s;
}

TEST(Routes, JsonString) {
  std::string out;
  append_json_string(out, "a\"b\\c\nd\x01");
  EXPECT_EQ(out, "\"a\\\"b\\\\c\\nd\\u0001\"");
}

TEST(ListenAddress, Parses) {
  EXPECT_EQ(parse_listen_address("0.0.0.0:9443").host, "0.0.0.0");
  EXPECT_EQ(parse_listen_address("0.0.0.0:9443").port, 9443);
  EXPECT_EQ(parse_listen_address(":0").host, "0.0.0.0");
  EXPECT_EQ(parse_listen_address("localhost:15014").host, "127.0.0.1");
  EXPECT_EQ(parse_listen_address("[::1]:9443").host, "::1");
  EXPECT_EQ(parse_listen_address("[::1]:9443").to_string(), "[::1]:9443");
  EXPECT_EQ(parse_listen_address("127.0.0.1:0").to_string(), "127.0.0.1:0");
  for (const char* bad : {"", "9443", "1.2.3.4", "1.2.3.4:", "1.2.3.4:65536", "1.2.3.4:-1", "::1:9443",
                          "[::1]9443", "example.com:80", "1.2.3.4:12x"})
    EXPECT_THROW(parse_listen_address(bad), std::invalid_argument) << bad;
}

TEST(Limits, ConnectionsAreSplitAcrossReactors) {
  EXPECT_EQ(connections_per_reactor(10'000, 2), 5'000u);
  EXPECT_EQ(connections_per_reactor(3, 2), 2u);
  EXPECT_EQ(connections_per_reactor(1, 4), 1u);
  EXPECT_EQ(connections_per_reactor(5, 0), 5u);
}

}  // namespace
}  // namespace meshinject::http
