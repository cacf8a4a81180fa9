#include "http/routes.hpp"

#include <gtest/gtest.h>

#include "http/reactor.hpp"

namespace meshinject::http {
namespace {

TEST(Routes, SplitTarget) {
  EXPECT_EQ(split_target("/inject").path, "/inject");
  EXPECT_EQ(split_target("/inject").query, "");
  EXPECT_EQ(split_target("/inject?timeout=10s").path, "/inject");
  EXPECT_EQ(split_target("/inject?timeout=10s").query, "timeout=10s");
  EXPECT_EQ(query_value("a=1&level=debug&b", "level"), "debug");
  EXPECT_EQ(query_value("a=1&b", "level"), "");
  EXPECT_EQ(query_value("", "level"), "");
}

TEST(Routes, AbsoluteFormTargetsAreRoutedByTheirPath) {
  EXPECT_EQ(origin_form("/inject?timeout=10s"), "/inject?timeout=10s");
  EXPECT_EQ(origin_form("https://meshinject.istio-system.svc:443/inject?timeout=10s"), "/inject?timeout=10s");
  EXPECT_EQ(origin_form("HTTP://host/inject/net/n1"), "/inject/net/n1");
  EXPECT_EQ(origin_form("https://host?x=1"), "?x=1");
  EXPECT_EQ(origin_form("https://host"), "");
  EXPECT_EQ(origin_form("*"), "*") << "asterisk form is not an absolute URI";
  EXPECT_EQ(origin_form("ftp://host/inject"), "ftp://host/inject") << "only http and https";
  EXPECT_EQ(origin_form("host:443"), "host:443") << "authority form";
}

TEST(Routes, RequestHeadsWithCtlBytesBareCrOrFoldingAreNotClean) {
  EXPECT_TRUE(is_clean_request_head("POST /inject HTTP/1.1\r\nHost: x\r\nX-Tab:\ta\tb\r\nX-Utf8: \xc3\xa9\r\n\r\n"));
  EXPECT_TRUE(is_clean_request_head("GET / HTTP/1.1\nHost: x\n\n")) << "bare LF ends a line, as in nginx and Go";
  EXPECT_FALSE(is_clean_request_head("GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n")) << "obs-fold with SP";
  EXPECT_FALSE(is_clean_request_head("GET / HTTP/1.1\r\nX: a\r\n\tb\r\n\r\n")) << "obs-fold with HT";
  EXPECT_FALSE(is_clean_request_head("GET / HTTP/1.1\r\n Host: x\r\n\r\n")) << "folded request line";
  EXPECT_FALSE(is_clean_request_head("GET / HTTP/1.1\r\nX: a\rb\r\n\r\n")) << "bare CR";
  constexpr char nul_in_value[] = "GET / HTTP/1.1\r\nX: a\0b\r\n\r\n";
  EXPECT_FALSE(is_clean_request_head(std::string_view(nul_in_value, sizeof nul_in_value - 1))) << "NUL";
  EXPECT_FALSE(is_clean_request_head("GET / HTTP/1.1\r\nX: a\x01\r\n\r\n"));
  EXPECT_FALSE(is_clean_request_head("GET / HTTP/1.1\r\nX: a\x7f\r\n\r\n")) << "DEL";
}

// The rule byte by byte, as the function once was: the eight-bytes-at-once
// form must agree with it on every head.
bool clean_byte_by_byte(std::string_view head) {
  for (std::size_t i = 0; i < head.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(head[i]);
    const char after = i + 1 < head.size() ? head[i + 1] : '\0';
    if ((c >= 0x20 && c != 0x7f) || c == '\t' || (c == '\r' && after == '\n') ||
        (c == '\n' && after != ' ' && after != '\t'))
      continue;
    return false;
  }
  return true;
}

TEST(Routes, CleanHeadsAreJudgedAsByteByByteWhereverTheBytesFall) {
  // Every byte value at every position of a printable head of 1 to 24 bytes
  // (each alignment of an eight-byte word, and the tail after the last one).
  std::size_t unclean = 0;
  for (std::size_t len = 1; len <= 24; ++len) {
    for (std::size_t at = 0; at < len; ++at) {
      for (int b = 0; b < 256; ++b) {
        std::string head(len, 'a');
        head[at] = static_cast<char>(b);
        ASSERT_EQ(is_clean_request_head(head), clean_byte_by_byte(head)) << "len " << len << " at " << at << " byte " << b;
        unclean += !clean_byte_by_byte(head);
      }
    }
  }
  EXPECT_GT(unclean, 9000u);
  // Pairs of line-end and folding bytes across word boundaries.
  const char pieces[] = {'\r', '\n', '\t', ' ', 'a', '\x7f', '\x1f', '\x80', '\xff', '\0'};
  std::uint64_t state = 12345;
  for (int round = 0; round < 200000; ++round) {
    std::string head;
    const std::size_t len = state % 40;
    for (std::size_t i = 0; i < len; ++i) {
      state = state * 6364136223846793005ULL + 1442695040888963407ULL;
      head += (state >> 33) % 3 == 0 ? pieces[(state >> 40) % sizeof pieces] : 'x';
    }
    ASSERT_EQ(is_clean_request_head(head), clean_byte_by_byte(head)) << ::testing::PrintToString(head);
  }
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
