#pragma once
// How many CPUs this process may actually use: the default of `serve --threads`,
// i.e. the number of reactors. Running more reactors than the CPU quota allows
// only makes the kernel throttle them all, so the count takes the smallest of
//   - the CPUs in the scheduler affinity mask (sched_getaffinity; taskset, cpusets),
//   - the cgroup CPU quota rounded up: cgroup v2 `cpu.max` ("max 100000" is
//     unlimited) and cgroup v1 `cpu.cfs_quota_us` / `cpu.cfs_period_us` (-1 is
//     unlimited), read for the process's own cgroup and every ancestor up to the
//     mount, since a parent's limit also binds its children,
//   - the host's online CPUs,
// and is never less than 1. The process's cgroup comes from /proc/self/cgroup and
// the controllers' mounts from /proc/self/mountinfo (with /sys/fs/cgroup as the
// fallback). Unreadable or malformed files are ignored, never fatal.
//
// Cold path (start-up); nothing here throws.

#include <filesystem>
#include <optional>

namespace meshinject::core {

// The answer for this process, read from the real / and sched_getaffinity.
unsigned usable_cpus() noexcept;

// The same computation against a fake tree: `root` stands for "/" (so
// `root/proc/self/cgroup`, `root/sys/fs/cgroup/...`, and the mount points named by
// `root/proc/self/mountinfo` are read under it) and `affinity_cpus` for the size of
// the affinity mask (0: unknown).
unsigned usable_cpus(const std::filesystem::path& root, unsigned affinity_cpus) noexcept;

// The parts, for start-up logging ("threads=2 affinity=64 cgroup_quota=2").
// CPUs in this thread's affinity mask, 0 if it cannot be read.
unsigned affinity_cpus() noexcept;
// ceil(quota / period) of the tightest cgroup limit, nullopt when unlimited or unknown.
std::optional<unsigned> cgroup_cpu_limit(const std::filesystem::path& root) noexcept;
// CPUs listed in `root/sys/devices/system/cpu/online`, nullopt when unreadable.
std::optional<unsigned> online_cpus(const std::filesystem::path& root) noexcept;

}  // namespace meshinject::core
