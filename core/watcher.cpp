#include "core/watcher.hpp"

#include <limits.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>
#include <system_error>

#include "core/clock.hpp"
#include "core/logging.hpp"

namespace meshinject::core {

namespace {

namespace fs = std::filesystem;

// IN_MODIFY is left out: a writer produces one per write(2) and finishes with
// IN_CLOSE_WRITE, which is the moment the file is whole. A writer that never
// closes is still seen by the periodic fingerprint check.
constexpr std::uint32_t watched_events = IN_CLOSE_WRITE | IN_ATTRIB | IN_CREATE | IN_DELETE | IN_MOVED_FROM |
                                         IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;

// The symlink the kubelet's atomic writer swaps on every update of a volume.
constexpr std::string_view kubelet_data_link = "..data";

struct fingerprint {
  bool exists = false;
  dev_t device = 0;
  ino_t inode = 0;
  off_t size = 0;
  std::int64_t mtime_sec = 0;
  std::int64_t mtime_nsec = 0;

  bool operator==(const fingerprint&) const = default;
};

// Of the symlink-resolved target: a swapped `..data` gives a new inode.
fingerprint fingerprint_of(const fs::path& p) noexcept {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return {};
  return {true, st.st_dev, st.st_ino, st.st_size, st.st_mtim.tv_sec, st.st_mtim.tv_nsec};
}

// strerror_r, not std::system_category(): this runs when descriptors are
// exhausted (EMFILE), where UBSan's dynamic-type check of the category cannot
// open what it needs and reports a false "invalid vptr".
std::string errno_text(int err) {
  char buf[256];
  return ::strerror_r(err, buf, sizeof buf);  // GNU: returns the message, maybe not in buf
}

}  // namespace

struct file_watcher::state : std::enable_shared_from_this<state> {
  struct directory {
    fs::path path;
    int wd = -1;             // -1: not watched (missing, dropped, or no inotify)
    int last_error = 0;      // so a failure repeating every re-check is logged once
  };
  struct file {
    fs::path path;           // as given, for the callback
    fs::path absolute;       // what is looked at: the working directory may change
    std::string name;        // file name within its directory
    std::size_t dir = 0;     // index into dirs
    fingerprint last;
    bool named = false;      // an event named it (or ..data): report it
    bool check = false;      // may have changed: report it if its fingerprint did
  };

  state(boost::asio::io_context& io, std::vector<fs::path> paths, callback cb, watcher_options opts)
      : options(opts),
        on_change(std::move(cb)),
        inotify(io),
        debounce((opts.time != nullptr ? *opts.time : steady_clock_source()).make_alarm(io)),
        recheck((opts.time != nullptr ? *opts.time : steady_clock_source()).make_alarm(io)) {
    for (fs::path& given : paths) {
      std::error_code ec;
      fs::path absolute = fs::absolute(given, ec);
      if (ec) absolute = given;
      bool duplicate = false;
      for (const file& f : files) duplicate |= f.absolute == absolute;
      if (duplicate) continue;
      fs::path dir_path = absolute.parent_path();
      if (dir_path.empty()) dir_path = ".";
      std::size_t d = 0;
      while (d < dirs.size() && dirs[d].path != dir_path) ++d;
      if (d == dirs.size()) dirs.push_back({dir_path});
      std::string name = absolute.filename().string();
      files.push_back({std::move(given), std::move(absolute), std::move(name), d});
    }
  }

  void start() {
    if (running) return;
    running = true;
    if (open_inotify()) {
      arm_missing();
      read();
    }
    // Baseline after arming: anything that changes from here on raises an event.
    for (file& f : files) f.last = fingerprint_of(f.absolute);
    schedule_recheck();
  }

  void stop() noexcept {
    if (!running) return;
    running = false;
    debounce->cancel();
    recheck->cancel();
    close_inotify();
  }

  void fail(std::string_view msg, log_fields fields) noexcept {
    errors.fetch_add(1, std::memory_order_relaxed);
    log_error(msg, fields);
  }

  bool open_inotify() {
    const int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd < 0) {
      const int err = errno;
      if (!inotify_failure_logged) {
        inotify_failure_logged = true;
        fail("file watcher: cannot create an inotify instance; falling back to polling",
             {{"error", errno_text(err)},
              {"interval_ms", static_cast<std::int64_t>(options.recheck_interval.count())}});
      }
      return false;
    }
    boost::system::error_code ec;
    inotify.assign(fd, ec);
    if (ec) {
      ::close(fd);
      fail("file watcher: cannot register the inotify descriptor", {{"error", ec.message()}});
      return false;
    }
    if (inotify_failure_logged) log_info("file watcher: inotify available again");
    inotify_failure_logged = false;
    return true;
  }

  void close_inotify() noexcept {
    boost::system::error_code ignored;
    inotify.close(ignored);
    for (directory& d : dirs) d.wd = -1;
  }

  bool arm(directory& d) {
    const int wd = ::inotify_add_watch(inotify.native_handle(), d.path.c_str(), watched_events);
    if (wd >= 0) {
      if (d.last_error != 0) log_info("file watcher: watching directory", {{"path", d.path.native()}});
      d.wd = wd;
      d.last_error = 0;
      return true;
    }
    const int err = errno;
    if (err != d.last_error) {
      d.last_error = err;
      if (err == ENOENT || err == ENOTDIR) {
        // Expected while a volume is being (re)mounted; the re-check retries.
        log_warn("file watcher: directory missing; watching for it to appear", {{"path", d.path.native()}});
      } else {
        fail("file watcher: cannot watch directory", {{"path", d.path.native()}, {"error", errno_text(err)}});
      }
    }
    return false;
  }

  void arm_missing() {
    if (!inotify.is_open()) return;
    for (directory& d : dirs)
      if (d.wd < 0) arm(d);
  }

  void read() {
    inotify.async_read_some(boost::asio::buffer(buffer),
                            [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
                              self->on_read(ec, n);
                            });
  }

  void on_read(const boost::system::error_code& ec, std::size_t n) {
    if (!running || ec == boost::asio::error::operation_aborted) return;
    if (ec) {
      // The re-check opens a new instance and re-adds every watch.
      fail("file watcher: reading inotify events failed", {{"error", ec.message()}});
      close_inotify();
      return;
    }
    bool relevant = false;
    for (std::size_t at = 0; at + sizeof(inotify_event) <= n;) {
      inotify_event ev;
      std::memcpy(&ev, buffer + at, sizeof ev);
      if (at + sizeof ev + ev.len > n) break;
      std::string_view name;
      if (ev.len > 0) {
        const char* p = buffer + at + sizeof ev;
        name = std::string_view(p, ::strnlen(p, ev.len));
      }
      at += sizeof ev + ev.len;
      relevant |= on_event(ev.wd, ev.mask, name);
    }
    if (relevant) arm_debounce();
    read();
  }

  bool on_event(int wd, std::uint32_t mask, std::string_view name) {
    if (mask & IN_Q_OVERFLOW) {
      log_warn("file watcher: inotify queue overflowed; checking every file");
      for (file& f : files) f.check = true;
      return true;
    }
    bool relevant = false;
    for (std::size_t d = 0; d < dirs.size(); ++d) {
      if (dirs[d].wd != wd || wd < 0) continue;
      if (mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT)) {
        // A directory renamed away keeps its watch, on the wrong place: drop it.
        if (mask & IN_MOVE_SELF) ::inotify_rm_watch(inotify.native_handle(), wd);
        log_warn("file watcher: directory gone; watching for it to come back", {{"path", dirs[d].path.native()}});
        dirs[d].wd = -1;
        dirs[d].last_error = ENOENT;  // so re-arming is logged
        for (file& f : files)
          if (f.dir == d) f.check = true;
        relevant = true;
        continue;
      }
      if (name.empty()) continue;
      for (file& f : files) {
        if (f.dir == d && (name == f.name || name == kubelet_data_link)) {
          f.named = true;
          relevant = true;
        }
      }
    }
    return relevant;
  }

  // Re-arming replaces the pending wake-up, so every new event restarts the
  // quiet period.
  void arm_debounce() {
    debounce->arm(options.debounce, [self = shared_from_this()] {
      if (self->running) self->flush();
    });
  }

  void schedule_recheck() {
    recheck->arm(options.recheck_interval, [self = shared_from_this()] {
      if (!self->running) return;
      self->run_recheck();
      self->schedule_recheck();
    });
  }

  void run_recheck() {
    if (!inotify.is_open() && open_inotify()) read();
    arm_missing();
    bool changed = false;
    for (file& f : files) {
      if (f.named || f.check || fingerprint_of(f.absolute) == f.last) continue;
      f.check = true;
      changed = true;
    }
    if (changed) arm_debounce();
  }

  void flush() {
    std::vector<fs::path> changed;
    for (file& f : files) {
      if (!f.named && !f.check) continue;
      const fingerprint now = fingerprint_of(f.absolute);
      if (f.named || now != f.last) {
        changed.push_back(f.path);
        log_info("file watcher: file changed", {{"path", f.path.native()}, {"exists", now.exists}});
      }
      f.last = now;
      f.named = f.check = false;
    }
    if (changed.empty()) return;
    try {
      on_change(changed);
    } catch (const std::exception& e) {
      fail("file watcher: change callback failed", {{"error", e.what()}});
    } catch (...) {
      fail("file watcher: change callback failed", {{"error", "unknown exception"}});
    }
  }

  const watcher_options options;
  const callback on_change;
  std::vector<directory> dirs;
  std::vector<file> files;
  boost::asio::posix::stream_descriptor inotify;
  const std::unique_ptr<alarm> debounce;
  const std::unique_ptr<alarm> recheck;
  bool running = false;
  bool inotify_failure_logged = false;
  std::atomic<std::uint64_t> errors{0};
  // Room for many events; a read needs at least one event with the longest name.
  alignas(inotify_event) char buffer[32 * (sizeof(inotify_event) + NAME_MAX + 1)];
};

file_watcher::file_watcher(boost::asio::io_context& io, std::vector<std::filesystem::path> files, callback on_change,
                           watcher_options options)
    : state_(std::make_shared<state>(io, std::move(files), std::move(on_change), options)) {}

file_watcher::~file_watcher() { state_->stop(); }

void file_watcher::start() { state_->start(); }

void file_watcher::stop() noexcept { state_->stop(); }

std::uint64_t file_watcher::errors() const noexcept { return state_->errors.load(std::memory_order_relaxed); }

}  // namespace meshinject::core
