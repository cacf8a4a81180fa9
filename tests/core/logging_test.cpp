#include "core/logging.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <cerrno>
#include <string>
#include <thread>
#include <vector>

namespace {

using meshinject::core::log_format;
using meshinject::core::log_level;
using meshinject::core::logger;

// A pipe whose read end is drained by a thread, so writers never block on a full
// pipe; `finish()` closes the write end and returns everything written.
class capture {
 public:
  capture() {
    if (::pipe2(fds_, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category(), "pipe2");
    reader_ = std::thread([this] {
      char buf[65536];
      for (;;) {
        const ssize_t n = ::read(fds_[0], buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        data_.append(buf, static_cast<std::size_t>(n));
      }
    });
  }
  ~capture() { finish(); }

  int fd() const { return fds_[1]; }

  std::string finish() {
    if (fds_[1] >= 0) {
      ::close(fds_[1]);
      fds_[1] = -1;
      reader_.join();
      ::close(fds_[0]);
    }
    return data_;
  }

  std::vector<std::string> lines() {
    std::string all = finish();
    std::vector<std::string> out;
    std::size_t start = 0;
    for (std::size_t nl; (nl = all.find('\n', start)) != std::string::npos; start = nl + 1)
      out.push_back(all.substr(start, nl - start));
    EXPECT_EQ(start, all.size()) << "output does not end with a newline";
    return out;
  }

 private:
  int fds_[2] = {-1, -1};
  std::thread reader_;
  std::string data_;
};

// "2026-11-27T16:47:30.123456Z"
bool is_timestamp(std::string_view s) {
  constexpr std::string_view shape = "dddd-dd-ddTdd:dd:dd.ddddddZ";
  if (s.size() != shape.size()) return false;
  for (std::size_t i = 0; i < s.size(); ++i)
    if (shape[i] == 'd' ? !(s[i] >= '0' && s[i] <= '9') : s[i] != shape[i]) return false;
  return true;
}

TEST(logging, json_line_has_ts_level_msg_and_typed_fields) {
  capture out;
  logger log(log_format::json, log_level::info, out.fd());
  const std::string owned = "from a std::string";
  log.info("config reloaded", {{"path", "/etc/istio/inject/config"},
                               {"owned", owned},
                               {"bytes", 1234},
                               {"negative", -7},
                               {"big", std::uint64_t{18446744073709551615ull}},
                               {"ok", true},
                               {"failed", false}});
  const auto lines = out.lines();
  ASSERT_EQ(lines.size(), 1u);
  const auto j = nlohmann::json::parse(lines[0]);
  EXPECT_TRUE(is_timestamp(j.at("ts").get<std::string>())) << j.at("ts");
  EXPECT_EQ(j.at("level"), "info");
  EXPECT_EQ(j.at("msg"), "config reloaded");
  EXPECT_EQ(j.at("path"), "/etc/istio/inject/config");
  EXPECT_EQ(j.at("owned"), owned);
  EXPECT_EQ(j.at("bytes"), 1234);
  EXPECT_EQ(j.at("negative"), -7);
  EXPECT_EQ(j.at("big").get<std::uint64_t>(), 18446744073709551615ull);
  EXPECT_EQ(j.at("ok"), true);
  EXPECT_EQ(j.at("failed"), false);
  EXPECT_FALSE(j.contains("truncated"));
  // Key order is part of what a human reads: ts, level, msg first.
  EXPECT_EQ(lines[0].rfind("{\"ts\":\"", 0), 0u);
  EXPECT_NE(lines[0].find("\",\"level\":\"info\",\"msg\":\"config reloaded\",\"path\":"), std::string::npos);
}

TEST(logging, timestamp_is_current_utc) {
  capture out;
  logger log(log_format::json, log_level::info, out.fd());
  const auto before = std::chrono::system_clock::now();
  log.info("t");
  const auto after = std::chrono::system_clock::now();
  const auto lines = out.lines();
  ASSERT_EQ(lines.size(), 1u);
  const std::string ts = nlohmann::json::parse(lines[0]).at("ts");
  std::tm tm{};
  ASSERT_NE(::strptime(ts.c_str(), "%Y-%m-%dT%H:%M:%S", &tm), nullptr);
  const auto secs = std::chrono::seconds(::timegm(&tm));
  const auto micros = std::chrono::microseconds(std::stoi(ts.substr(20, 6)));
  const std::chrono::system_clock::time_point at(secs + micros);
  EXPECT_GE(at, std::chrono::floor<std::chrono::microseconds>(before));
  EXPECT_LE(at, after);
}

TEST(logging, json_escapes_hostile_strings) {
  capture out;
  logger log(log_format::json, log_level::debug, out.fd());
  const std::string hostile = std::string("quote\" backslash\\ nl\n cr\r tab\t bell\x07 nul") + '\0' +
                              " del\x7f us\x1f" + " e\xC3\xA9 emoji\xF0\x9F\x98\x80" +
                              " lone\xFF overlong\xC0\xAF surrogate\xED\xA0\x80 cut\xE2\x82";
  log.warn(hostile, {{hostile, hostile}, {"}\",\"level\":\"error", "injected?"}});
  const auto lines = out.lines();
  ASSERT_EQ(lines.size(), 1u);
  for (const char c : lines[0]) EXPECT_GE(static_cast<unsigned char>(c), 0x20) << "raw control char in line";
  const auto j = nlohmann::json::parse(lines[0]);  // throws on invalid UTF-8
  const std::string fffd = "\xEF\xBF\xBD";
  const std::string expected = std::string("quote\" backslash\\ nl\n cr\r tab\t bell\x07 nul") + '\0' +
                               " del\x7f us\x1f" + " e\xC3\xA9 emoji\xF0\x9F\x98\x80" + " lone" + fffd +
                               " overlong" + fffd + fffd + " surrogate" + fffd + fffd + fffd + " cut" + fffd + fffd;
  EXPECT_EQ(j.at("msg").get<std::string>(), expected);
  EXPECT_EQ(j.at(expected).get<std::string>(), expected);
  EXPECT_EQ(j.at("level"), "warn");
  EXPECT_EQ(j.at("}\",\"level\":\"error"), "injected?");
}

TEST(logging, level_filters_and_changes_at_run_time) {
  capture out;
  logger log(log_format::json, log_level::info, out.fd());
  EXPECT_TRUE(log.enabled(log_level::error));
  EXPECT_TRUE(log.enabled(log_level::warn));
  EXPECT_TRUE(log.enabled(log_level::info));
  EXPECT_FALSE(log.enabled(log_level::debug));
  log.debug("hidden 1");
  log.info("shown 1");

  // The admin endpoint changes the level from another thread.
  std::thread([&] { log.set_level(log_level::debug); }).join();
  EXPECT_EQ(log.level(), log_level::debug);
  log.debug("shown 2");

  log.set_level(log_level::error);
  log.warn("hidden 2");
  log.info("hidden 3");
  log.error("shown 3");

  const auto lines = out.lines();
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(nlohmann::json::parse(lines[0]).at("msg"), "shown 1");
  EXPECT_EQ(nlohmann::json::parse(lines[1]).at("msg"), "shown 2");
  EXPECT_EQ(nlohmann::json::parse(lines[1]).at("level"), "debug");
  EXPECT_EQ(nlohmann::json::parse(lines[2]).at("msg"), "shown 3");
  EXPECT_EQ(nlohmann::json::parse(lines[2]).at("level"), "error");
}

TEST(logging, text_format) {
  capture out;
  logger log(log_format::text, log_level::info, out.fd());
  log.info("config reloaded", {{"path", "/etc/config"}, {"n", 42}, {"neg", -1}, {"ok", true},
                               {"spaced", "a b"}, {"empty", ""}, {"quote", "say \"hi\""},
                               {"bad key=x", "v"}});
  log.error("line\nbreak");
  const auto lines = out.lines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_TRUE(is_timestamp(lines[0].substr(0, 27))) << lines[0];
  EXPECT_EQ(lines[0].substr(27),
            R"( info config reloaded path=/etc/config n=42 neg=-1 ok=true spaced="a b" empty="" )"
            R"(quote="say \"hi\"" bad_key_x=v)");
  EXPECT_TRUE(is_timestamp(lines[1].substr(0, 27))) << lines[1];
  EXPECT_EQ(lines[1].substr(28), "error line\\nbreak");
}

TEST(logging, long_lines_are_cut_at_a_character_boundary_and_marked) {
  capture out;
  logger log(log_format::json, log_level::info, out.fd());
  std::string big;
  while (big.size() < 10000) big += "\xC3\xA9\"x";  // multibyte and escaped chars near any cut
  log.info("short", {{"big", big}, {"after", 1}});
  log.info(big, {{"never", "written"}});
  log.info("fits", {{"a", std::string(3000, 'a')}, {"b", std::string(3000, 'b')}});

  logger text(log_format::text, log_level::info, out.fd());
  text.info("short", {{"big", big}, {"after", 1}});

  const auto lines = out.lines();
  ASSERT_EQ(lines.size(), 4u);
  for (const auto& line : lines) EXPECT_LE(line.size() + 1, logger::max_line_bytes);

  auto j = nlohmann::json::parse(lines[0]);
  EXPECT_EQ(j.at("truncated"), true);
  const std::string cut = j.at("big");
  EXPECT_GT(cut.size(), 3000u);
  EXPECT_EQ(big.compare(0, cut.size(), cut), 0);
  EXPECT_FALSE(j.contains("after"));

  j = nlohmann::json::parse(lines[1]);
  EXPECT_EQ(j.at("truncated"), true);
  EXPECT_FALSE(j.contains("never"));

  j = nlohmann::json::parse(lines[2]);
  EXPECT_EQ(j.at("truncated"), true);
  EXPECT_EQ(j.at("a"), std::string(3000, 'a'));
  const std::string b = j.at("b");  // a string value that does not fit is cut, not dropped
  EXPECT_LT(b.size(), 3000u);
  EXPECT_EQ(b, std::string(b.size(), 'b'));

  EXPECT_NE(lines[3].find(" big=\""), std::string::npos);
  EXPECT_EQ(lines[3].substr(lines[3].size() - 16), "\" truncated=true");
}

TEST(logging, concurrent_threads_write_whole_lines) {
  capture out;
  logger log(log_format::json, log_level::info, out.fd());
  constexpr int threads = 8;
  constexpr int per_thread = 1500;
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&log, t] {
      for (int i = 0; i < per_thread; ++i) {
        // Lengths up to ~3.5 KiB so lines exceed the usual stdio buffer sizes.
        const std::string pad(static_cast<std::size_t>((i * 37 + t * 101) % 3500), static_cast<char>('a' + t));
        log.info("concurrent", {{"thread", t}, {"seq", i}, {"pad", pad}});
      }
    });
  }
  for (auto& th : pool) th.join();

  const auto lines = out.lines();
  ASSERT_EQ(lines.size(), static_cast<std::size_t>(threads * per_thread));
  std::vector<int> next(threads, 0);
  for (const auto& line : lines) {
    const auto j = nlohmann::json::parse(line);
    const int t = j.at("thread");
    const int seq = j.at("seq");
    ASSERT_EQ(seq, next[t]++) << "lost or reordered line of thread " << t;
    const std::string pad = j.at("pad");
    EXPECT_EQ(pad, std::string(pad.size(), static_cast<char>('a' + t)));
  }
  for (int t = 0; t < threads; ++t) EXPECT_EQ(next[t], per_thread);
}

TEST(logging, failed_writes_are_counted_and_errno_kept) {
  logger log(log_format::json, log_level::info, -1);
  errno = ENOENT;
  log.info("nowhere");
  EXPECT_EQ(errno, ENOENT);
  EXPECT_EQ(log.dropped_lines(), 1u);
  log.debug("filtered, not dropped");
  EXPECT_EQ(log.dropped_lines(), 1u);
}

TEST(logging, parses_level_and_format_names) {
  using meshinject::core::parse_log_format;
  using meshinject::core::parse_log_level;
  using meshinject::core::to_string;
  EXPECT_EQ(parse_log_level("error"), log_level::error);
  EXPECT_EQ(parse_log_level("warn"), log_level::warn);
  EXPECT_EQ(parse_log_level("warning"), log_level::warn);
  EXPECT_EQ(parse_log_level("info"), log_level::info);
  EXPECT_EQ(parse_log_level("debug"), log_level::debug);
  EXPECT_EQ(parse_log_level("INFO"), std::nullopt);
  EXPECT_EQ(parse_log_level(""), std::nullopt);
  EXPECT_EQ(parse_log_format("json"), log_format::json);
  EXPECT_EQ(parse_log_format("text"), log_format::text);
  EXPECT_EQ(parse_log_format("yaml"), std::nullopt);
  for (auto l : {log_level::error, log_level::warn, log_level::info, log_level::debug})
    EXPECT_EQ(parse_log_level(to_string(l)), l);
}

TEST(logging, global_logger_defaults_to_json_info_on_stderr) {
  auto& g = meshinject::core::global_logger();
  EXPECT_EQ(g.format(), log_format::json);
  EXPECT_EQ(g.level(), log_level::info);
  EXPECT_EQ(g.fd(), 2);
  EXPECT_FALSE(meshinject::core::log_enabled(log_level::debug));
}

}  // namespace
