#pragma once
// Runs the real `meshinject serve` ($MESHINJECT_BINARY) as a child process for the
// integration tests: ports 0, a --ready-file to learn them, stderr to a log file,
// SIGKILL in the destructor if it is still running. Plus what those tests share:
// kubelet-style volume updates, Prometheus text parsing, small waits.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace meshinject::test {

// $MESHINJECT_BINARY, or empty.
std::filesystem::path meshinject_binary();

class server_process {
 public:
  // Starts `meshinject serve <args>` in `dir` (log: dir/server.log). Adds
  // --listen 127.0.0.1:0, --admin-listen 127.0.0.1:0 and --ready-file unless `args`
  // has them.
  server_process(std::vector<std::string> args, std::filesystem::path dir);
  ~server_process();
  server_process(const server_process&) = delete;
  server_process& operator=(const server_process&) = delete;

  // Waits for the ready file; false when the process exits or time runs out.
  bool wait_ready(std::chrono::milliseconds timeout = std::chrono::seconds(20));

  std::uint16_t port() const noexcept { return port_; }
  std::uint16_t admin_port() const noexcept { return admin_port_; }
  pid_t pid() const noexcept { return pid_; }

  void signal(int sig) const;
  // Exit status (or 128 + signal) once it exits within `timeout`.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);
  std::string log() const;
  const std::filesystem::path& dir() const noexcept { return dir_; }

 private:
  std::filesystem::path dir_;
  std::filesystem::path ready_file_;
  pid_t pid_ = -1;
  bool exited_ = false;
  std::uint16_t port_ = 0, admin_port_ = 0;
};

// Runs a command line to completion; returns the exit status and what it printed.
struct command_result {
  int status = -1;
  std::string output;  // stdout and stderr
};
command_result run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout = std::chrono::seconds(30));

// Lays out `files` in `dir` as the kubelet's atomic writer does for a ConfigMap or
// Secret volume: dir/..<stamp>/<key>, dir/..data -> ..<stamp>, dir/<key> ->
// ..data/<key>. Called again, it writes a new ..<stamp> directory, renames a
// ..data_tmp symlink over ..data, and removes the old directory.
void kubelet_write(const std::filesystem::path& dir, const std::map<std::string, std::string>& files);

// The value of a Prometheus sample: `name` with exactly these labels
// (`{a="b",c="d"}` as written by the server, or "" for none). nullopt if absent.
std::optional<double> metric(const std::string& exposition, const std::string& name, const std::string& labels = "");

// Polls `ok` every 20 ms until it holds or `timeout` passes; returns its last value.
bool eventually(const std::function<bool()>& ok, std::chrono::milliseconds timeout);

}  // namespace meshinject::test
