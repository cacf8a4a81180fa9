#include "core/cpu.hpp"

#include <sched.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

namespace meshinject::core {

namespace {

namespace fs = std::filesystem;

std::optional<std::string> read_small_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return std::nullopt;
  std::string s{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (in.bad()) return std::nullopt;
  return s;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  for (std::size_t start = 0;;) {
    const std::size_t at = s.find(sep, start);
    out.push_back(s.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
    if (at == std::string_view::npos) return out;
    start = at + 1;
  }
}

std::vector<std::string_view> tokens(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) ++i;
    const std::size_t start = i;
    while (i < s.size() && !(s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

template <typename Int>
std::optional<Int> parse_int(std::string_view s) {
  Int v{};
  const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape_octal(std::string_view s) {
  const auto octal = [&](std::size_t k) { return s[k] >= '0' && s[k] <= '7'; };
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && octal(i + 1) && octal(i + 2) && octal(i + 3)) {
      out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

struct cgroup_mount {
  std::string root;         // the part of the hierarchy mounted there ("/" in a cgroup namespace)
  std::string mount_point;  // absolute, as the real root sees it
};

struct cgroup_mounts {
  std::optional<cgroup_mount> v2;
  std::optional<cgroup_mount> v1_cpu;
};

bool has_token(std::string_view list, std::string_view token) {
  for (const auto t : split(list, ','))
    if (t == token) return true;
  return false;
}

cgroup_mounts find_mounts(const fs::path& root) {
  cgroup_mounts m;
  if (const auto text = read_small_file(root / "proc/self/mountinfo")) {
    for (const auto line : split(*text, '\n')) {
      const auto f = tokens(line);
      // id parent major:minor root mount-point options [optional...] - fstype source super-options
      const auto dash = std::find(f.begin(), f.end(), std::string_view("-"));
      if (f.size() < 6 || dash == f.end() || dash - f.begin() < 6 || f.end() - dash < 4) continue;
      const std::string_view fstype = dash[1];
      const std::string_view super_options = dash[3];
      cgroup_mount mount{unescape_octal(f[3]), unescape_octal(f[4])};
      if (fstype == "cgroup2" && !m.v2) m.v2 = std::move(mount);
      else if (fstype == "cgroup" && has_token(super_options, "cpu") && !m.v1_cpu) m.v1_cpu = std::move(mount);
    }
  }
  // Without mountinfo, assume the usual places.
  if (!m.v2) m.v2 = cgroup_mount{"/", "/sys/fs/cgroup"};
  if (!m.v1_cpu) {
    std::error_code ec;
    const bool joint = fs::exists(root / "sys/fs/cgroup/cpu,cpuacct", ec);
    m.v1_cpu = cgroup_mount{"/", joint ? "/sys/fs/cgroup/cpu,cpuacct" : "/sys/fs/cgroup/cpu"};
  }
  return m;
}

struct proc_cgroup {
  std::optional<std::string> v2;
  std::optional<std::string> v1_cpu;
};

proc_cgroup read_proc_cgroup(const fs::path& root) {
  proc_cgroup c;
  const auto text = read_small_file(root / "proc/self/cgroup");
  if (!text) return c;
  for (const auto line : split(*text, '\n')) {
    // hierarchy-id:controller-list:path (the path itself may contain ':')
    const std::size_t a = line.find(':');
    if (a == std::string_view::npos) continue;
    const std::size_t b = line.find(':', a + 1);
    if (b == std::string_view::npos) continue;
    const auto id = line.substr(0, a);
    const auto controllers = line.substr(a + 1, b - a - 1);
    const auto path = line.substr(b + 1);
    if (path.empty() || path.front() != '/') continue;
    if (id == "0" && controllers.empty()) {
      if (!c.v2) c.v2 = std::string(path);
    } else if (has_token(controllers, "cpu")) {
      if (!c.v1_cpu) c.v1_cpu = std::string(path);
    }
  }
  return c;
}

// A quota per period, as a whole number of CPUs (rounded up: 1.5 CPUs of quota
// keeps two threads busy part of the time, and one thread could not use it all).
std::optional<unsigned> quota_cpus(std::uint64_t quota, std::uint64_t period) {
  if (quota == 0 || period == 0) return std::nullopt;
  const std::uint64_t cpus = quota / period + (quota % period != 0 ? 1 : 0);
  return static_cast<unsigned>(std::min<std::uint64_t>(cpus, 1u << 20));
}

std::optional<unsigned> v2_limit(const fs::path& dir) {
  const auto text = read_small_file(dir / "cpu.max");
  if (!text) return std::nullopt;
  const auto t = tokens(*text);
  if (t.size() != 2) return std::nullopt;
  const auto period = parse_int<std::uint64_t>(t[1]);
  if (!period || t[0] == "max") return std::nullopt;
  const auto quota = parse_int<std::uint64_t>(t[0]);
  if (!quota) return std::nullopt;
  return quota_cpus(*quota, *period);
}

std::optional<unsigned> v1_limit(const fs::path& dir) {
  const auto q = read_small_file(dir / "cpu.cfs_quota_us");
  const auto p = read_small_file(dir / "cpu.cfs_period_us");
  if (!q || !p) return std::nullopt;
  const auto qt = tokens(*q);
  const auto pt = tokens(*p);
  if (qt.size() != 1 || pt.size() != 1) return std::nullopt;
  const auto quota = parse_int<std::int64_t>(qt[0]);
  const auto period = parse_int<std::int64_t>(pt[0]);
  if (!quota || !period || *quota <= 0 || *period <= 0) return std::nullopt;  // -1: unlimited
  return quota_cpus(static_cast<std::uint64_t>(*quota), static_cast<std::uint64_t>(*period));
}

// The tightest limit on the way from the process's cgroup up to the mount.
template <typename Read>
std::optional<unsigned> walk_up(const fs::path& root, const cgroup_mount& mount, std::string_view cgroup_path,
                                Read read_limit) {
  // Place the process's cgroup below the mount: in a cgroup namespace the mount
  // root is "/" and the path is relative to it; without one the mount root is
  // the container's own cgroup and the path repeats it.
  std::string_view rel = cgroup_path;
  const std::string_view mroot = mount.root;
  if (mroot != "/") {
    if (rel.starts_with(mroot) && (rel.size() == mroot.size() || rel[mroot.size()] == '/'))
      rel.remove_prefix(mroot.size());
    else
      rel = {};  // outside what is mounted: the mount's top is the closest we can see
  }
  while (!rel.empty() && rel.front() == '/') rel.remove_prefix(1);
  while (!rel.empty() && rel.back() == '/') rel.remove_suffix(1);
  for (const auto part : split(rel, '/'))
    if (part == "..") rel = {};

  const fs::path top = root / fs::path(mount.mount_point).relative_path();
  fs::path dir = rel.empty() ? top : top / fs::path(rel);
  std::optional<unsigned> tightest;
  for (int depth = 0; depth < 256; ++depth) {
    if (const auto cpus = read_limit(dir)) tightest = tightest ? std::min(*tightest, *cpus) : *cpus;
    if (dir == top) break;
    fs::path parent = dir.parent_path();
    if (parent == dir) break;
    dir = std::move(parent);
  }
  return tightest;
}

std::optional<unsigned> min_opt(std::optional<unsigned> a, std::optional<unsigned> b) {
  if (a && b) return std::min(*a, *b);
  return a ? a : b;
}

}  // namespace

std::optional<unsigned> cgroup_cpu_limit(const std::filesystem::path& root) noexcept {
  try {
    const proc_cgroup cg = read_proc_cgroup(root);
    if (!cg.v2 && !cg.v1_cpu) return std::nullopt;
    const cgroup_mounts mounts = find_mounts(root);
    std::optional<unsigned> limit;
    // On a hybrid host both lines exist; the cpu controller is on one of them and
    // the other simply has no limit files.
    if (cg.v2) limit = min_opt(limit, walk_up(root, *mounts.v2, *cg.v2, v2_limit));
    if (cg.v1_cpu) limit = min_opt(limit, walk_up(root, *mounts.v1_cpu, *cg.v1_cpu, v1_limit));
    return limit;
  } catch (...) {
    return std::nullopt;
  }
}

std::optional<unsigned> online_cpus(const std::filesystem::path& root) noexcept {
  try {
    const auto text = read_small_file(root / "sys/devices/system/cpu/online");
    if (!text) return std::nullopt;
    const auto t = tokens(*text);
    if (t.size() != 1) return std::nullopt;
    unsigned count = 0;
    for (const auto range : split(t[0], ',')) {
      const std::size_t dash = range.find('-');
      const auto lo = parse_int<unsigned>(range.substr(0, dash));
      const auto hi = dash == std::string_view::npos ? lo : parse_int<unsigned>(range.substr(dash + 1));
      if (!lo || !hi || *hi < *lo) return std::nullopt;
      count += *hi - *lo + 1;
    }
    return count > 0 ? std::optional<unsigned>(count) : std::nullopt;
  } catch (...) {
    return std::nullopt;
  }
}

unsigned affinity_cpus() noexcept {
  // The mask may be larger than cpu_set_t on hosts with more than 1024 CPUs.
  for (int n = 1024; n <= (1 << 18); n *= 2) {
    cpu_set_t* set = CPU_ALLOC(n);
    if (set == nullptr) return 0;
    const std::size_t size = CPU_ALLOC_SIZE(n);
    if (::sched_getaffinity(0, size, set) == 0) {
      const int count = CPU_COUNT_S(size, set);
      CPU_FREE(set);
      return count > 0 ? static_cast<unsigned>(count) : 0;
    }
    const int err = errno;
    CPU_FREE(set);
    if (err != EINVAL) return 0;
  }
  return 0;
}

unsigned usable_cpus(const std::filesystem::path& root, unsigned affinity) noexcept {
  std::optional<unsigned> n = affinity > 0 ? std::optional<unsigned>(affinity) : std::nullopt;
  n = min_opt(n, cgroup_cpu_limit(root));
  n = min_opt(n, online_cpus(root));
  return std::max(n.value_or(1), 1u);
}

unsigned usable_cpus() noexcept { return usable_cpus("/", affinity_cpus()); }

}  // namespace meshinject::core
