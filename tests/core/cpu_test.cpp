#include "core/cpu.hpp"

#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>

namespace {

namespace fs = std::filesystem;
using meshinject::core::cgroup_cpu_limit;
using meshinject::core::online_cpus;
using meshinject::core::usable_cpus;

// A fake "/" with just the files usable_cpus reads.
class fake_root {
 public:
  fake_root() {
    std::random_device rd;
    path_ = fs::temp_directory_path() / ("meshinject-cpu-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
    fs::create_directories(path_);
  }
  ~fake_root() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

  void write(const std::string& rel, const std::string& content) const {
    const fs::path p = path_ / rel;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << content;
  }

  // A pure cgroup v2 host (or a container with a cgroup namespace).
  void v2(const std::string& cgroup_path) const {
    write("proc/self/cgroup", "0::" + cgroup_path + "\n");
    write("proc/self/mountinfo",
          "22 1 0:21 / / rw,relatime - overlay overlay rw\n"
          "30 22 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate\n");
  }

  // A cgroup v1 host with cpu and cpuacct co-mounted.
  void v1(const std::string& cgroup_path) const {
    write("proc/self/cgroup", "12:pids:" + cgroup_path + "\n4:cpuacct,cpu:" + cgroup_path +
                                  "\n3:cpuset:" + cgroup_path + "\n1:name=systemd:" + cgroup_path + "\n");
    write("proc/self/mountinfo",
          "22 1 0:21 / / rw,relatime - overlay overlay rw\n"
          "31 22 0:28 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755\n"
          "33 31 0:30 / /sys/fs/cgroup/cpuset rw,nosuid - cgroup cgroup rw,cpuset\n"
          "34 31 0:31 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid - cgroup cgroup rw,cpu,cpuacct\n");
  }

 private:
  fs::path path_;
};

constexpr const char* pod = "/kubepods.slice/kubepods-burstable.slice/pod1234.slice/cri-containerd-abc.scope";

TEST(cpu, v2_quota_caps_a_large_affinity_mask) {
  fake_root r;
  r.v2(pod);
  r.write(std::string("sys/fs/cgroup") + pod + "/cpu.max", "200000 100000\n");
  EXPECT_EQ(usable_cpus(r.path(), 64), 2u);
  EXPECT_EQ(cgroup_cpu_limit(r.path()), 2u);
}

TEST(cpu, v2_fractional_quota_rounds_up) {
  fake_root r;
  r.v2(pod);
  r.write(std::string("sys/fs/cgroup") + pod + "/cpu.max", "150000 100000\n");
  EXPECT_EQ(usable_cpus(r.path(), 64), 2u);
  r.write(std::string("sys/fs/cgroup") + pod + "/cpu.max", "50000 100000\n");
  EXPECT_EQ(usable_cpus(r.path(), 64), 1u);
  r.write(std::string("sys/fs/cgroup") + pod + "/cpu.max", "100001 100000\n");
  EXPECT_EQ(usable_cpus(r.path(), 64), 2u);
}

TEST(cpu, v2_unlimited_uses_the_affinity_mask) {
  fake_root r;
  r.v2(pod);
  r.write(std::string("sys/fs/cgroup") + pod + "/cpu.max", "max 100000\n");
  EXPECT_EQ(usable_cpus(r.path(), 64), 64u);
  EXPECT_EQ(cgroup_cpu_limit(r.path()), std::nullopt);
}

TEST(cpu, affinity_mask_tighter_than_quota_wins) {
  fake_root r;
  r.v2(pod);
  r.write(std::string("sys/fs/cgroup") + pod + "/cpu.max", "800000 100000\n");
  EXPECT_EQ(usable_cpus(r.path(), 3), 3u);
}

TEST(cpu, v2_tighter_parent_binds_the_child) {
  fake_root r;
  r.v2(pod);
  r.write(std::string("sys/fs/cgroup") + pod + "/cpu.max", "400000 100000\n");
  r.write("sys/fs/cgroup/kubepods.slice/kubepods-burstable.slice/pod1234.slice/cpu.max", "100000 100000\n");
  r.write("sys/fs/cgroup/kubepods.slice/cpu.max", "max 100000\n");
  EXPECT_EQ(usable_cpus(r.path(), 64), 1u);

  // And a looser parent does not loosen the child.
  r.write("sys/fs/cgroup/kubepods.slice/kubepods-burstable.slice/pod1234.slice/cpu.max", "1600000 100000\n");
  EXPECT_EQ(usable_cpus(r.path(), 64), 4u);
}

TEST(cpu, v2_limit_only_on_an_ancestor) {
  fake_root r;
  r.v2(pod);
  r.write("sys/fs/cgroup/kubepods.slice/kubepods-burstable.slice/pod1234.slice/cpu.max", "300000 100000\n");
  EXPECT_EQ(usable_cpus(r.path(), 64), 3u);
}

TEST(cpu, v2_in_a_cgroup_namespace_reads_the_mount_top) {
  fake_root r;
  r.v2("/");
  r.write("sys/fs/cgroup/cpu.max", "250000 100000\n");
  EXPECT_EQ(usable_cpus(r.path(), 64), 3u);
}

TEST(cpu, v2_mount_of_a_subtree_without_namespace) {
  // No cgroup namespace: /proc/self/cgroup shows the full path, and the
  // container's /sys/fs/cgroup is a bind mount of that very cgroup.
  fake_root r;
  r.write("proc/self/cgroup", std::string("0::") + pod + "\n");
  r.write("proc/self/mountinfo", std::string("30 22 0:26 ") + pod +
                                     " /sys/fs/cgroup ro,nosuid - cgroup2 cgroup2 rw\n");
  r.write("sys/fs/cgroup/cpu.max", "200000 100000\n");
  EXPECT_EQ(usable_cpus(r.path(), 64), 2u);
}

TEST(cpu, v2_without_mountinfo_assumes_sys_fs_cgroup) {
  fake_root r;
  r.write("proc/self/cgroup", "0::/app\n");
  r.write("sys/fs/cgroup/app/cpu.max", "200000 100000\n");
  EXPECT_EQ(usable_cpus(r.path(), 64), 2u);
}

TEST(cpu, v2_mount_point_with_escaped_space) {
  fake_root r;
  r.write("proc/self/cgroup", "0::/app\n");
  r.write("proc/self/mountinfo", "30 22 0:26 / /cg\\040root rw - cgroup2 cgroup2 rw\n");
  r.write("cg root/app/cpu.max", "500000 100000\n");
  EXPECT_EQ(usable_cpus(r.path(), 64), 5u);
}

TEST(cpu, v1_quota_and_period) {
  fake_root r;
  r.v1(pod);
  const std::string dir = std::string("sys/fs/cgroup/cpu,cpuacct") + pod;
  r.write(dir + "/cpu.cfs_quota_us", "300000\n");
  r.write(dir + "/cpu.cfs_period_us", "100000\n");
  EXPECT_EQ(usable_cpus(r.path(), 64), 3u);

  r.write(dir + "/cpu.cfs_quota_us", "-1\n");
  EXPECT_EQ(usable_cpus(r.path(), 64), 64u);

  r.write(dir + "/cpu.cfs_quota_us", "50000\n");
  r.write(dir + "/cpu.cfs_period_us", "20000\n");
  EXPECT_EQ(usable_cpus(r.path(), 64), 3u);  // 2.5 rounds up
}

TEST(cpu, v1_tighter_parent_binds_the_child) {
  fake_root r;
  r.v1(pod);
  const std::string dir = std::string("sys/fs/cgroup/cpu,cpuacct") + pod;
  r.write(dir + "/cpu.cfs_quota_us", "-1\n");
  r.write(dir + "/cpu.cfs_period_us", "100000\n");
  const std::string parent = "sys/fs/cgroup/cpu,cpuacct/kubepods.slice";
  r.write(parent + "/cpu.cfs_quota_us", "200000\n");
  r.write(parent + "/cpu.cfs_period_us", "100000\n");
  EXPECT_EQ(usable_cpus(r.path(), 64), 2u);
}

TEST(cpu, v1_does_not_mistake_cpuacct_or_cpuset_for_cpu) {
  fake_root r;
  r.write("proc/self/cgroup", "3:cpuset:/a\n2:cpuacct:/b\n1:cpu:/c\n");
  r.write("proc/self/mountinfo",
          "33 31 0:30 / /sys/fs/cgroup/cpuset rw - cgroup cgroup rw,cpuset\n"
          "34 31 0:31 / /sys/fs/cgroup/cpuacct rw - cgroup cgroup rw,cpuacct\n"
          "35 31 0:32 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n");
  for (const std::string d : {"sys/fs/cgroup/cpuset/a", "sys/fs/cgroup/cpuacct/b"}) {
    r.write(d + "/cpu.cfs_quota_us", "100000\n");
    r.write(d + "/cpu.cfs_period_us", "100000\n");
  }
  r.write("sys/fs/cgroup/cpu/c/cpu.cfs_quota_us", "700000\n");
  r.write("sys/fs/cgroup/cpu/c/cpu.cfs_period_us", "100000\n");
  EXPECT_EQ(usable_cpus(r.path(), 64), 7u);
}

TEST(cpu, hybrid_host_takes_the_v1_cpu_limit) {
  // Controllers on v1, an empty v2 hierarchy at /sys/fs/cgroup/unified.
  fake_root r;
  r.write("proc/self/cgroup", "4:cpu:/\n0::/\n");
  r.write("proc/self/mountinfo",
          "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
          "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n");
  r.write("sys/fs/cgroup/unified/cgroup.procs", "1\n");
  r.write("sys/fs/cgroup/cpu/cpu.cfs_quota_us", "200000\n");
  r.write("sys/fs/cgroup/cpu/cpu.cfs_period_us", "100000\n");
  EXPECT_EQ(usable_cpus(r.path(), 64), 2u);
}

TEST(cpu, malformed_files_are_ignored) {
  const std::string dir = std::string("sys/fs/cgroup") + pod;
  for (const std::string bad : {"", "garbage", "abc 100000", "200000", "200000 100000 7", "0 100000",
                                "200000 0", "-5 100000", "2e5 100000", "max", "200000 abc"}) {
    fake_root r;
    r.v2(pod);
    r.write(dir + "/cpu.max", bad);
    EXPECT_EQ(usable_cpus(r.path(), 64), 64u) << "cpu.max = '" << bad << "'";
  }
  for (const std::string bad : {"", "x", "0", "1 2"}) {
    fake_root r;
    r.v1(pod);
    const std::string v1dir = std::string("sys/fs/cgroup/cpu,cpuacct") + pod;
    r.write(v1dir + "/cpu.cfs_quota_us", "200000");
    r.write(v1dir + "/cpu.cfs_period_us", bad);
    EXPECT_EQ(usable_cpus(r.path(), 64), 64u) << "cpu.cfs_period_us = '" << bad << "'";
  }
  {
    fake_root r;  // garbage everywhere
    r.write("proc/self/cgroup", "no colons here\n::\n0::relative\n");
    r.write("proc/self/mountinfo", "- - -\n1 2 3\n");
    EXPECT_EQ(usable_cpus(r.path(), 64), 64u);
  }
  {
    fake_root r;  // a path that climbs out of the mount is not followed
    r.write("proc/self/cgroup", "0::/../../etc\n");
    r.write("sys/fs/cgroup/cpu.max", "100000 100000\n");
    EXPECT_EQ(usable_cpus(r.path(), 64), 1u);
  }
}

TEST(cpu, nothing_readable_uses_the_affinity_count) {
  fake_root r;
  EXPECT_EQ(usable_cpus(r.path(), 12), 12u);
  EXPECT_EQ(usable_cpus(r.path() / "does-not-exist", 12), 12u);
}

TEST(cpu, never_more_than_online_cpus) {
  fake_root r;
  r.write("sys/devices/system/cpu/online", "0-3\n");
  EXPECT_EQ(usable_cpus(r.path(), 64), 4u);
  r.write("sys/devices/system/cpu/online", "0-3,8-11,16\n");
  EXPECT_EQ(online_cpus(r.path()), 9u);
  EXPECT_EQ(usable_cpus(r.path(), 64), 9u);
  r.write("sys/devices/system/cpu/online", "0\n");
  EXPECT_EQ(usable_cpus(r.path(), 64), 1u);
  r.write("sys/devices/system/cpu/online", "3-1\n");
  EXPECT_EQ(online_cpus(r.path()), std::nullopt);
  EXPECT_EQ(usable_cpus(r.path(), 64), 64u);
}

TEST(cpu, at_least_one) {
  fake_root r;
  EXPECT_EQ(usable_cpus(r.path(), 0), 1u);
  r.v2("/");
  r.write("sys/fs/cgroup/cpu.max", "1000 100000\n");
  EXPECT_EQ(usable_cpus(r.path(), 64), 1u);
}

TEST(cpu, this_process) {
  const unsigned n = usable_cpus();
  EXPECT_GE(n, 1u);
  EXPECT_LE(n, meshinject::core::affinity_cpus());
  EXPECT_LE(n, std::max(1u, std::thread::hardware_concurrency()));
}

}  // namespace
