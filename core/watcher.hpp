#pragma once
// Hot reload of mounted ConfigMaps and Secrets: tells the control thread which of a
// set of files may have changed, so it can reload them.
//
// How it watches. inotify watches the *directories* of the files, never the files:
// the kubelet updates a mounted ConfigMap by swapping symlinks, and a watch on the
// file itself would stay on the old, deleted inode. A mounted volume looks like
//
//   config -> ..data/config
//   ..data -> ..2026_11_27_10_00_00.123        (a timestamped directory)
//
// and an update writes a new `..<timestamp>` directory, points `..data_tmp` at it,
// renames `..data_tmp` over `..data` (IN_MOVED_TO "..data") and removes the old
// directory. An event in a watched directory is relevant to a watched file when it
// names the file itself (edited in place, replaced by rename, deleted, created) or
// `..data` (the kubelet's swap, which changes every file of the volume at once).
//
// A periodic re-check (every `recheck_interval`) re-adds watches that are missing
// (the directory did not exist yet, or was removed: inotify drops the watch with
// IN_DELETE_SELF / IN_IGNORED) and compares each file's fingerprint (device, inode,
// size, mtime of the symlink-resolved target) with the last one seen. That covers
// what events cannot: a directory coming back, a symlink whose target lives
// elsewhere, an overflowed event queue, a host out of inotify instances (then the
// watcher just polls).
//
// Debounce. Changes are collected until `debounce` has passed without a new one
// (each event restarts the timer), then the callback runs once with every watched
// file that changed, in the order they were given. A file is reported even when it
// was deleted: the callback decides what to reload and what to do about a missing
// file; the watcher only reports.
//
// Threads and lifetime. Everything runs on the given io_context (the control
// thread's); no thread of its own. The callback runs on that thread. Call start(),
// stop() and the destructor on that thread, or while it is not running. The
// io_context must outlive the watcher's use of it; pending handlers keep the
// watcher's internal state alive, so destroying the watcher with handlers still
// queued is safe. Errors in event handling (inotify failures, exceptions from the
// callback) are logged and counted, never thrown.

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <vector>

namespace meshinject::core {

class clock;

struct watcher_options {
  // Quiet time after the last event before the callback runs.
  std::chrono::milliseconds debounce{100};
  // Period of the re-arm / fingerprint safety net.
  std::chrono::milliseconds recheck_interval{1000};
  // What the two periods are measured on; null is the steady clock. Tests pass a
  // manual_clock and step it. It must outlive the watcher.
  const clock* time = nullptr;
};

class file_watcher {
 public:
  // `changed` lists watched files (as given to the constructor) that changed.
  using callback = std::function<void(const std::vector<std::filesystem::path>& changed)>;

  // Watches `files` (relative paths are taken against the current directory at
  // construction). Nothing happens until start().
  file_watcher(boost::asio::io_context& io, std::vector<std::filesystem::path> files, callback on_change,
               watcher_options options = {});
  ~file_watcher();

  file_watcher(const file_watcher&) = delete;
  file_watcher& operator=(const file_watcher&) = delete;

  // Takes the current state of every file as the baseline and starts watching.
  // Missing directories are not an error: they are watched once they appear.
  void start();

  // Stops watching; the callback is not called after this returns. Idempotent.
  void stop() noexcept;

  // Errors logged so far (inotify failures, callback exceptions). Safe from any thread.
  std::uint64_t errors() const noexcept;

 private:
  struct state;
  std::shared_ptr<state> state_;
};

}  // namespace meshinject::core
