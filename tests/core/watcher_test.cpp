#include "core/watcher.hpp"

#include "core/clock.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using meshinject::core::file_watcher;
using meshinject::core::manual_clock;
using meshinject::core::watcher_options;
using steady = std::chrono::steady_clock;

// Generous: a change is normally reported ~debounce after it happens; the bound
// only keeps a loaded CI machine from failing the test.
constexpr auto report_timeout = 5s;
// How long to keep listening to make sure nothing more arrives.
constexpr auto settle = 400ms;

class temp_dir {
 public:
  temp_dir() {
    std::random_device rd;
    path_ = fs::temp_directory_path() /
            ("meshinject-watcher-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
    fs::create_directories(path_);
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

void write_file(const fs::path& p, const std::string& content) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << content;
  out.close();
  ASSERT_TRUE(out) << "cannot write " << p;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A ConfigMap/Secret volume laid out and updated exactly as the kubelet's atomic
// writer does it.
class kubelet_volume {
 public:
  kubelet_volume(fs::path dir, const std::map<std::string, std::string>& keys) : dir_(std::move(dir)) {
    fs::create_directories(dir_);
    current_ = write_payload(keys);
    fs::create_directory_symlink(current_, dir_ / "..data");
    for (const auto& [key, value] : keys) fs::create_symlink(fs::path("..data") / key, dir_ / key);
  }

  void update(const std::map<std::string, std::string>& keys) {
    const fs::path old = current_;
    current_ = write_payload(keys);                                  // 1. new timestamped directory
    fs::create_directory_symlink(current_, dir_ / "..data_tmp");     // 2. ..data_tmp -> new
    ASSERT_EQ(std::rename((dir_ / "..data_tmp").c_str(), (dir_ / "..data").c_str()), 0);  // 3. atomic swap
    fs::remove_all(dir_ / old);                                      // 4. old payload gone
  }

  std::size_t payload_dirs() const {
    std::size_t n = 0;
    for (const auto& e : fs::directory_iterator(dir_))
      if (e.path().filename().string().starts_with("..2026")) ++n;
    return n;
  }

 private:
  fs::path write_payload(const std::map<std::string, std::string>& keys) {
    char name[64];
    std::snprintf(name, sizeof name, "..2026_11_27_10_%02d_00.%09d", generation_ % 60, 123456789 + generation_);
    ++generation_;
    fs::create_directory(dir_ / name);
    for (const auto& [key, value] : keys) write_file(dir_ / name / key, value);
    return name;
  }

  fs::path dir_;
  fs::path current_;  // relative: the kubelet's symlinks are relative
  int generation_ = 0;
};

// Runs a watcher on its own io_context thread and records every callback.
class harness {
 public:
  struct call {
    std::vector<fs::path> files;
    steady::time_point at;
    std::thread::id thread;
  };

  explicit harness(std::vector<fs::path> files, watcher_options options = {},
                   std::function<void()> also = {})
      : watcher_(io_, std::move(files),
                 [this, also](const std::vector<fs::path>& changed) {
                   {
                     std::lock_guard lock(mutex_);
                     calls_.push_back({changed, steady::now(), std::this_thread::get_id()});
                   }
                   cv_.notify_all();
                   if (also) also();
                 },
                 options) {}

  ~harness() { stop(); }

  void start() {
    watcher_.start();
    thread_ = std::thread([this] { io_.run(); });
  }

  void stop() {
    if (!thread_.joinable()) return;
    boost::asio::post(io_, [this] {
      watcher_.stop();
      guard_.reset();
    });
    thread_.join();
  }

  // Returns once every handler queued on the io_context so far has run.
  void drain() {
    std::promise<void> done;
    boost::asio::post(io_, [&] { done.set_value(); });
    done.get_future().wait();
  }

  // Waits until at least n callbacks happened.
  bool wait_for(std::size_t n, std::chrono::milliseconds timeout = report_timeout) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, timeout, [&] { return calls_.size() >= n; });
  }

  std::size_t count() {
    std::lock_guard lock(mutex_);
    return calls_.size();
  }

  call at(std::size_t i) {
    std::lock_guard lock(mutex_);
    return calls_.at(i);
  }

  std::thread::id io_thread() const { return thread_.get_id(); }
  file_watcher& watcher() { return watcher_; }
  boost::asio::io_context& io() { return io_; }

 private:
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_ =
      boost::asio::make_work_guard(io_);
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<call> calls_;
  file_watcher watcher_;
  std::thread thread_;
};

using paths = std::vector<fs::path>;

// Waits until `time` has an alarm armed exactly `delay` ahead (to the clock's
// tick): the code under test has just (re)started that wait, so the event that
// made it do so has been handled.
bool wait_freshly_armed(const manual_clock& time, manual_clock::duration delay) {
  const auto give_up = steady::now() + report_timeout;
  while (steady::now() < give_up) {
    if (time.pending_within(delay) > 0 && time.pending_within(delay - manual_clock::duration(1)) == 0) return true;
    std::this_thread::sleep_for(1ms);
  }
  return false;
}

TEST(watcher, kubelet_configmap_update_swaps_the_data_symlink) {
  temp_dir tmp;
  const fs::path dir = tmp.path() / "inject";
  kubelet_volume volume(dir, {{"config", "policy: enabled\n"}, {"values", "{}\n"}});
  ASSERT_EQ(read_file(dir / "config"), "policy: enabled\n");

  harness h({dir / "config"});
  h.start();

  volume.update({{"config", "policy: disabled\n"}, {"values", "{}\n"}});
  ASSERT_EQ(volume.payload_dirs(), 1u);  // the old timestamped directory is gone
  ASSERT_TRUE(h.wait_for(1)) << "no callback after the ..data swap";
  EXPECT_EQ(h.at(0).files, paths{dir / "config"});
  EXPECT_EQ(h.at(0).thread, h.io_thread());
  EXPECT_EQ(read_file(dir / "config"), "policy: disabled\n");
  std::this_thread::sleep_for(settle);
  EXPECT_EQ(h.count(), 1u) << "one update, one callback";

  volume.update({{"config", "policy: enabled\n"}, {"values", "{}\n"}});
  ASSERT_TRUE(h.wait_for(2)) << "no callback after the second swap";
  EXPECT_EQ(h.at(1).files, paths{dir / "config"});
  std::this_thread::sleep_for(settle);
  EXPECT_EQ(h.count(), 2u);
  EXPECT_EQ(h.watcher().errors(), 0u);
}

TEST(watcher, kubelet_update_reports_every_watched_key_in_one_call) {
  temp_dir tmp;
  const fs::path dir = tmp.path() / "certs";
  kubelet_volume volume(dir, {{"tls.crt", "cert 1"}, {"tls.key", "key 1"}, {"ca.crt", "ca"}});
  harness h({dir / "tls.crt", dir / "tls.key"});
  h.start();
  volume.update({{"tls.crt", "cert 2"}, {"tls.key", "key 2"}, {"ca.crt", "ca"}});
  ASSERT_TRUE(h.wait_for(1));
  EXPECT_EQ(h.at(0).files, (paths{dir / "tls.crt", dir / "tls.key"}));
  std::this_thread::sleep_for(settle);
  EXPECT_EQ(h.count(), 1u);
}

TEST(watcher, plain_file_written_in_place) {
  temp_dir tmp;
  const fs::path file = tmp.path() / "mesh.yaml";
  write_file(file, "a: 1\n");
  harness h({file});
  h.start();
  write_file(file, "a: 2\n");
  ASSERT_TRUE(h.wait_for(1));
  EXPECT_EQ(h.at(0).files, paths{file});
  std::this_thread::sleep_for(settle);
  EXPECT_EQ(h.count(), 1u);
}

TEST(watcher, plain_file_replaced_by_rename) {
  temp_dir tmp;
  const fs::path file = tmp.path() / "values.yaml";
  write_file(file, "old");
  harness h({file});
  h.start();
  // What editors and `kubectl cp`-style tools do: write aside, rename over.
  write_file(tmp.path() / ".values.yaml.swp", "new");
  ASSERT_EQ(std::rename((tmp.path() / ".values.yaml.swp").c_str(), file.c_str()), 0);
  ASSERT_TRUE(h.wait_for(1));
  EXPECT_EQ(h.at(0).files, paths{file});
  EXPECT_EQ(read_file(file), "new");
  std::this_thread::sleep_for(settle);
  EXPECT_EQ(h.count(), 1u);
}

TEST(watcher, file_deleted_then_recreated) {
  temp_dir tmp;
  const fs::path file = tmp.path() / "config";
  write_file(file, "one");
  harness h({file});
  h.start();

  fs::remove(file);
  ASSERT_TRUE(h.wait_for(1)) << "deletion not reported";
  EXPECT_EQ(h.at(0).files, paths{file});
  std::this_thread::sleep_for(settle);
  EXPECT_EQ(h.count(), 1u);

  write_file(file, "two");
  ASSERT_TRUE(h.wait_for(2)) << "re-creation not reported";
  EXPECT_EQ(h.at(1).files, paths{file});
  std::this_thread::sleep_for(settle);
  EXPECT_EQ(h.count(), 2u);
}

TEST(watcher, directory_removed_and_recreated) {
  temp_dir tmp;
  const fs::path dir = tmp.path() / "volume";
  fs::create_directories(dir);
  const fs::path file = dir / "config";
  write_file(file, "one");
  manual_clock time;
  watcher_options options;
  options.recheck_interval = 2s;
  options.time = &time;
  harness h({file}, options);
  h.start();

  fs::remove_all(dir);  // inotify drops the watch (IN_DELETE_SELF, IN_IGNORED)
  ASSERT_TRUE(wait_freshly_armed(time, options.debounce)) << "removal not seen";
  std::this_thread::sleep_for(settle);  // the removal is several events; let them all in
  time.advance(options.debounce);
  ASSERT_TRUE(h.wait_for(1)) << "removal not reported";
  EXPECT_EQ(h.at(0).files, paths{file});

  // No watch on the directory now: only the re-check can find it again.
  fs::create_directories(dir);
  write_file(file, "two");
  time.advance(options.recheck_interval);
  ASSERT_TRUE(wait_freshly_armed(time, options.debounce)) << "re-created directory not noticed by the re-check";
  time.advance(options.debounce);
  ASSERT_TRUE(h.wait_for(2));
  EXPECT_EQ(h.at(1).files, paths{file});

  // The watch is armed again: an edit is an event now, seen with the re-check
  // never stepped.
  write_file(file, "three");
  ASSERT_TRUE(wait_freshly_armed(time, options.debounce)) << "edit not seen by inotify";
  time.advance(options.debounce);
  ASSERT_TRUE(h.wait_for(3));
  EXPECT_EQ(h.at(2).files, paths{file});
  time.advance(options.recheck_interval);  // a re-check finds nothing more
  h.drain();
  EXPECT_EQ(time.pending_within(options.debounce), 0u);
  EXPECT_EQ(h.count(), 3u);
  EXPECT_EQ(h.watcher().errors(), 0u);
}

TEST(watcher, kubelet_volume_removed_and_mounted_again) {
  temp_dir tmp;
  const fs::path dir = tmp.path() / "inject";
  std::optional<kubelet_volume> volume(std::in_place, dir, std::map<std::string, std::string>{{"config", "v1"}});
  harness h({dir / "config"});
  h.start();
  fs::remove_all(dir);
  ASSERT_TRUE(h.wait_for(1));
  volume.emplace(dir, std::map<std::string, std::string>{{"config", "v2"}});
  ASSERT_TRUE(h.wait_for(2));
  EXPECT_EQ(h.at(1).files, paths{dir / "config"});
  volume->update({{"config", "v3"}});
  ASSERT_TRUE(h.wait_for(3));
  EXPECT_EQ(read_file(dir / "config"), "v3");
}

TEST(watcher, debounce_coalesces_a_burst_of_writes) {
  temp_dir tmp;
  const fs::path file = tmp.path() / "config";
  write_file(file, "0");
  manual_clock time;
  watcher_options options;
  options.debounce = 150ms;
  options.recheck_interval = 1h;  // out of the way
  options.time = &time;
  harness h({file}, options);
  h.start();

  // 10 writes 100 ms apart, closer together than the debounce: each event
  // restarts the full quiet period, so 1 s passes without a callback.
  for (int i = 1; i <= 10; ++i) {
    write_file(file, std::to_string(i));
    ASSERT_TRUE(wait_freshly_armed(time, options.debounce)) << "write " << i << " did not restart the debounce";
    time.advance(100ms);
  }
  h.drain();
  EXPECT_EQ(h.count(), 0u) << "called back in the middle of a burst";
  time.advance(options.debounce);
  ASSERT_TRUE(h.wait_for(1));
  time.advance(options.debounce);
  h.drain();
  EXPECT_EQ(h.count(), 1u) << "a burst of writes must give one callback";
  EXPECT_EQ(h.at(0).files, paths{file});
}

TEST(watcher, unrelated_entries_in_the_directory_are_ignored) {
  temp_dir tmp;
  const fs::path dir = tmp.path() / "inject";
  kubelet_volume volume(dir, {{"config", "c"}});
  harness h({dir / "config"});
  h.start();

  write_file(dir / "other", "x");
  write_file(dir / "config.bak", "x");
  fs::create_directory(dir / "..2099_01_01_00_00_00.000000001");
  fs::create_directory_symlink("..2099_01_01_00_00_00.000000001", dir / "..data_tmp");
  fs::remove(dir / "..data_tmp");
  fs::remove(dir / "other");
  std::this_thread::sleep_for(settle + 200ms);
  EXPECT_EQ(h.count(), 0u);

  volume.update({{"config", "d"}});
  ASSERT_TRUE(h.wait_for(1));
  EXPECT_EQ(h.at(0).files, paths{dir / "config"});
}

TEST(watcher, symlink_target_elsewhere_is_caught_by_the_recheck) {
  temp_dir tmp;
  fs::create_directories(tmp.path() / "watched");
  fs::create_directories(tmp.path() / "elsewhere");
  write_file(tmp.path() / "elsewhere" / "real", "one");
  const fs::path link = tmp.path() / "watched" / "config";
  fs::create_symlink("../elsewhere/real", link);
  harness h({link});
  h.start();

  // No event in the watched directory: only the fingerprint of the resolved
  // target changes.
  write_file(tmp.path() / "elsewhere" / "real.new", "two");
  fs::rename(tmp.path() / "elsewhere" / "real.new", tmp.path() / "elsewhere" / "real");
  ASSERT_TRUE(h.wait_for(1)) << "the periodic re-check did not notice the new target";
  EXPECT_EQ(h.at(0).files, paths{link});
  std::this_thread::sleep_for(1200ms);  // past the next re-check: no repeat
  EXPECT_EQ(h.count(), 1u);
}

TEST(watcher, polls_without_inotify_and_picks_it_up_later) {
  temp_dir tmp;
  const fs::path file = tmp.path() / "config";
  write_file(file, "1");
  manual_clock time;
  watcher_options options;
  options.recheck_interval = 1500ms;
  options.time = &time;
  harness h({file}, options);  // the io_context's own descriptors exist from here

  // No descriptor left: inotify_init1 fails with EMFILE, as on a node out of
  // inotify instances.
  rlimit saved{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
  const int lowest_free = ::dup(0);
  ASSERT_GE(lowest_free, 0);
  ::close(lowest_free);
  rlimit tight = saved;
  tight.rlim_cur = static_cast<rlim_t>(lowest_free);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &tight), 0);
  h.start();
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &saved), 0);
  EXPECT_EQ(h.watcher().errors(), 1u);

  // Seen by polling, then the next re-check opens inotify. Write at once: the
  // change is found at the first re-check, which also opens inotify.
  write_file(file, "2");
  time.advance(options.recheck_interval);
  ASSERT_TRUE(wait_freshly_armed(time, options.debounce)) << "the re-check did not find the change";
  time.advance(options.debounce);
  ASSERT_TRUE(h.wait_for(1));
  EXPECT_EQ(h.at(0).files, paths{file});

  // Seen by inotify: the re-check is not stepped again.
  write_file(file, "3");
  ASSERT_TRUE(wait_freshly_armed(time, options.debounce)) << "still polling";
  time.advance(options.debounce);
  ASSERT_TRUE(h.wait_for(2));
  EXPECT_EQ(h.watcher().errors(), 1u);
}

TEST(watcher, directory_missing_at_start) {
  temp_dir tmp;
  const fs::path file = tmp.path() / "not-yet" / "config";
  harness h({file});
  h.start();
  std::this_thread::sleep_for(100ms);
  fs::create_directories(file.parent_path());
  write_file(file, "hello");
  ASSERT_TRUE(h.wait_for(1));
  EXPECT_EQ(h.at(0).files, paths{file});
  EXPECT_EQ(h.watcher().errors(), 0u);  // a missing directory is expected, not an error
}

TEST(watcher, files_in_several_directories) {
  temp_dir tmp;
  fs::create_directories(tmp.path() / "a");
  fs::create_directories(tmp.path() / "b");
  const fs::path a = tmp.path() / "a" / "config";
  const fs::path b = tmp.path() / "b" / "values";
  const fs::path b2 = tmp.path() / "b" / "mesh";
  write_file(a, "a");
  write_file(b, "b");
  write_file(b2, "m");
  harness h({a, b, b2, a});  // a duplicate is watched once
  h.start();

  write_file(b, "b2");
  ASSERT_TRUE(h.wait_for(1));
  EXPECT_EQ(h.at(0).files, paths{b});

  write_file(a, "a2");
  write_file(b2, "m2");
  ASSERT_TRUE(h.wait_for(2));
  EXPECT_EQ(h.at(1).files, (paths{a, b2}));
  std::this_thread::sleep_for(settle);
  EXPECT_EQ(h.count(), 2u);
}

TEST(watcher, relative_paths_are_reported_as_given) {
  temp_dir tmp;
  const fs::path old_cwd = fs::current_path();
  fs::current_path(tmp.path());
  write_file("config", "1");
  {
    harness h({"config"});
    h.start();
    fs::current_path(old_cwd);  // resolved at construction, not at event time
    write_file(tmp.path() / "config", "2");
    ASSERT_TRUE(h.wait_for(1));
    EXPECT_EQ(h.at(0).files, paths{"config"});
  }
  fs::current_path(old_cwd);
}

TEST(watcher, callback_exception_is_counted_and_watching_goes_on) {
  temp_dir tmp;
  const fs::path file = tmp.path() / "config";
  write_file(file, "1");
  int calls = 0;
  harness h({file}, {}, [&calls] {
    if (++calls == 1) throw std::runtime_error("reload failed");
  });
  h.start();
  write_file(file, "2");
  ASSERT_TRUE(h.wait_for(1));
  write_file(file, "3");
  ASSERT_TRUE(h.wait_for(2));
  h.stop();
  EXPECT_EQ(h.watcher().errors(), 1u);
}

TEST(watcher, no_callback_after_stop) {
  temp_dir tmp;
  const fs::path file = tmp.path() / "config";
  write_file(file, "1");
  watcher_options options;
  options.debounce = 300ms;
  harness h({file}, options);
  h.start();
  write_file(file, "2");
  std::this_thread::sleep_for(50ms);  // the event is in, the debounce not over
  std::promise<void> stopped;
  boost::asio::post(h.io(), [&] {
    h.watcher().stop();
    h.watcher().stop();  // idempotent
    stopped.set_value();
  });
  stopped.get_future().wait();
  std::this_thread::sleep_for(options.debounce + settle);
  EXPECT_EQ(h.count(), 0u);
}

TEST(watcher, destroyed_with_handlers_still_queued) {
  temp_dir tmp;
  const fs::path file = tmp.path() / "config";
  write_file(file, "1");
  boost::asio::io_context io;
  int calls = 0;
  {
    file_watcher w(io, {file}, [&](const auto&) { ++calls; }, {10ms, 20ms});
    w.start();
    write_file(file, "2");
    io.run_for(30ms);  // events read, debounce armed
  }
  io.run_for(200ms);  // the aborted handlers run after the watcher is gone
  EXPECT_LE(calls, 1);

  // And an io_context destroyed with the watcher's handlers still queued.
  auto io2 = std::make_unique<boost::asio::io_context>();
  auto w2 = std::make_unique<file_watcher>(*io2, paths{file}, [](const auto&) {});
  w2->start();
  w2.reset();
  io2.reset();
}

}  // namespace
