#include "tests/support/server_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

namespace meshinject::test {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

bool has_flag(const std::vector<std::string>& args, const std::string& flag) {
  for (const auto& a : args)
    if (a == flag || a.rfind(flag + "=", 0) == 0) return true;
  return false;
}

// fork + exec rather than posix_spawn: the child asks for SIGKILL when this
// process dies, so a crashed test never leaves a server running.
pid_t spawn(const std::vector<std::string>& argv, const fs::path& output) {
  std::vector<std::string> copy = argv;
  std::vector<char*> raw;
  for (auto& a : copy) raw.push_back(a.data());
  raw.push_back(nullptr);
  const int out = ::open(output.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
  const int in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (out < 0 || in < 0) return -1;
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(out, 2);
    ::execvp(raw[0], raw.data());
    ::_exit(127);
  }
  ::close(out);
  ::close(in);
  return pid;
}

}  // namespace

fs::path meshinject_binary() {
  const char* env = std::getenv("MESHINJECT_BINARY");
  return env && *env ? fs::path(env) : fs::path();
}

server_process::server_process(std::vector<std::string> args, fs::path dir) : dir_(std::move(dir)) {
  fs::create_directories(dir_);
  ready_file_ = dir_ / "ready.json";
  fs::remove(ready_file_);
  std::vector<std::string> argv{meshinject_binary().string(), "serve"};
  if (!has_flag(args, "--listen")) argv.insert(argv.end(), {"--listen", "127.0.0.1:0"});
  if (!has_flag(args, "--admin-listen")) argv.insert(argv.end(), {"--admin-listen", "127.0.0.1:0"});
  if (!has_flag(args, "--ready-file")) argv.insert(argv.end(), {"--ready-file", ready_file_.string()});
  argv.insert(argv.end(), args.begin(), args.end());
  pid_ = spawn(argv, dir_ / "server.log");
}

server_process::~server_process() {
  if (pid_ > 0 && !exited_) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

bool server_process::wait_ready(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pid_ <= 0 || exited_) return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      exited_ = true;
      return false;
    }
    std::error_code ec;
    if (fs::exists(ready_file_, ec)) {
      try {
        const auto j = nlohmann::json::parse(slurp(ready_file_));
        port_ = j.at("webhook_port").get<std::uint16_t>();
        admin_port_ = j.at("admin_port").get<std::uint16_t>();
        return true;
      } catch (...) {
      }
    }
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

void server_process::signal(int sig) const {
  if (pid_ > 0 && !exited_) ::kill(pid_, sig);
}

std::optional<int> server_process::wait_exit(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    if (!exited_ && ::waitpid(pid_, &status, WNOHANG) == pid_) {
      exited_ = true;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(10ms);
  }
}

std::string server_process::log() const { return slurp(dir_ / "server.log"); }

command_result run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  static std::atomic<int> counter{0};
  const fs::path out = fs::temp_directory_path() /
                       ("meshinject-cmd-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + ".out");
  command_result r;
  const pid_t pid = spawn(argv, out);
  if (pid <= 0) return r;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  for (;;) {
    if (::waitpid(pid, &status, WNOHANG) == pid) break;
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(5ms);
  }
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.output = slurp(out);
  fs::remove(out);
  return r;
}

void kubelet_write(const fs::path& dir, const std::map<std::string, std::string>& files) {
  static std::atomic<int> generation{0};
  fs::create_directories(dir);
  const std::string stamp = "..2026_01_01_00_00_00." + std::to_string(::getpid()) + "_" + std::to_string(++generation);
  fs::create_directories(dir / stamp);
  for (const auto& [key, text] : files) {
    std::ofstream f(dir / stamp / key, std::ios::binary | std::ios::trunc);
    f << text;
  }
  std::string old_target;
  if (fs::is_symlink(dir / "..data")) old_target = fs::read_symlink(dir / "..data").string();
  fs::remove(dir / "..data_tmp");
  fs::create_symlink(stamp, dir / "..data_tmp");
  fs::rename(dir / "..data_tmp", dir / "..data");
  for (const auto& [key, text] : files)
    if (!fs::is_symlink(dir / key)) fs::create_symlink(fs::path("..data") / key, dir / key);
  if (!old_target.empty()) fs::remove_all(dir / old_target);
}

std::optional<double> metric(const std::string& exposition, const std::string& name, const std::string& labels) {
  const std::string prefix = name + labels + " ";
  std::istringstream in(exposition);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) != 0) continue;
    return std::stod(line.substr(prefix.size()));
  }
  return std::nullopt;
}

bool eventually(const std::function<bool()>& ok, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (ok()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return ok();
}

}  // namespace meshinject::test
