// SPDX-License-Identifier: Apache-2.0
#include "observe/bpf_collector.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstring>
#include <mutex>
#include <vector>

#include <fmt/format.h>

#include "profile.skel.h"
#include "profile_abi.h"

namespace ftsc::observe {
namespace {

// libbpf's messages are kept for error hints, never printed.
std::mutex g_log_mutex;
std::string g_log;

int capture_libbpf_log(enum libbpf_print_level level, const char* format, va_list args) {
  if (level == LIBBPF_DEBUG)
    return 0;
  char line[512];
  int n = vsnprintf(line, sizeof line, format, args);
  std::lock_guard lock(g_log_mutex);
  g_log += line;
  if (g_log.size() > 4096)
    g_log.erase(0, g_log.size() - 4096);
  return n;
}

// The last non-empty line libbpf logged, for a hint.
std::string last_libbpf_line() {
  std::lock_guard lock(g_log_mutex);
  std::string log = g_log;
  while (!log.empty() && (log.back() == '\n' || log.back() == ' '))
    log.pop_back();
  size_t nl = log.rfind('\n');
  return nl == std::string::npos ? log : log.substr(nl + 1);
}

base::Error bpf_error(const std::string& what, int err) {
  std::string hint = err == EPERM || err == EACCES ? "eBPF needs root (CAP_BPF and CAP_PERFMON)"
                                                   : last_libbpf_line();
  return base::system_error(what, err, std::move(hint));
}

struct SkeletonDeleter {
  void operator()(ftsc_profile_bpf* s) const { ftsc_profile_bpf__destroy(s); }
};

}  // namespace

struct BpfCollector::Impl {
  std::unique_ptr<ftsc_profile_bpf, SkeletonDeleter> skel;
  int ncpus = 1;
  int cgroup_fd = -1;
  ~Impl() {
    if (cgroup_fd >= 0)
      close(cgroup_fd);
  }
};

BpfCollector::BpfCollector() : impl_(std::make_unique<Impl>()) {}
BpfCollector::~BpfCollector() = default;

std::string ebpf_unavailable_reason() {
  if (geteuid() != 0)
    return "not running as root (eBPF needs CAP_BPF and CAP_PERFMON)";
  if (access("/sys/kernel/btf/vmlinux", R_OK) != 0)
    return "the kernel has no BTF (/sys/kernel/btf/vmlinux), which CO-RE needs";
  return {};
}

base::Result<std::unique_ptr<BpfCollector>> BpfCollector::open(const BpfTarget& target) {
  libbpf_set_print(capture_libbpf_log);
  if (std::string why = ebpf_unavailable_reason(); !why.empty())
    return base::Error{fmt::format("eBPF is unavailable: {}", why), {}, {}};
  std::unique_ptr<BpfCollector> c(new BpfCollector());
  Impl& impl = *c->impl_;
  impl.ncpus = libbpf_num_possible_cpus();
  if (impl.ncpus <= 0)
    return bpf_error("cannot count the possible CPUs", -impl.ncpus);

  impl.skel.reset(ftsc_profile_bpf__open());
  if (!impl.skel)
    return bpf_error("cannot open the BPF program", errno);
  ftsc_profile_bpf* s = impl.skel.get();
  bool processes = target.kind == BpfTarget::Kind::kProcesses;
  switch (target.kind) {
    case BpfTarget::Kind::kAll:
      s->rodata->filter_mode = FTSC_PROFILE_FILTER_ALL;
      break;
    case BpfTarget::Kind::kProcesses:
      s->rodata->filter_mode = FTSC_PROFILE_FILTER_PIDS;
      break;
    case BpfTarget::Kind::kComm:
      s->rodata->filter_mode = FTSC_PROFILE_FILTER_COMM;
      if (target.comm.empty() || target.comm.size() >= FTSC_PROFILE_COMM_LEN)
        return base::Error{fmt::format("'{}' cannot be a process name", target.comm),
                           {},
                           "the kernel keeps the first 15 characters of a name"};
      memcpy(const_cast<char*>(s->rodata->filter_comm), target.comm.data(), target.comm.size());
      break;
    case BpfTarget::Kind::kCgroup:
      s->rodata->filter_mode = FTSC_PROFILE_FILTER_CGROUP;
      impl.cgroup_fd = ::open(target.cgroup.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (impl.cgroup_fd < 0)
        return base::system_error(
            fmt::format("cannot open cgroup '{}'", target.cgroup), errno,
            "give a cgroup v2 directory, e.g. /sys/fs/cgroup/system.slice/app.service");
      break;
  }
  struct stat ns {};
  if (stat("/proc/self/ns/pid", &ns) != 0)
    return bpf_error("cannot read this process's pid namespace (/proc/self/ns/pid)", errno);
  s->rodata->pidns_dev = ns.st_dev;
  s->rodata->pidns_ino = ns.st_ino;
  // In the initial pid namespace (include/linux/proc_ns.h: PROC_PID_INIT_INO)
  // ftsc's pid is the kernel-wide one, and ftsc leaves itself out.
  if (ns.st_ino == 0xEFFFFFFCU)
    s->rodata->self_tgid = static_cast<uint32_t>(getpid());
  // Process tracking costs nothing when it is not used: its programs stay out.
  bpf_program__set_autoload(s->progs.ftsc_fork, processes);
  bpf_program__set_autoload(s->progs.ftsc_exit, processes);
  bpf_map__set_max_entries(s->maps.traced, processes ? 32768 : 1);
  bpf_map__set_max_entries(s->maps.failures, 32768);

  if (int err = ftsc_profile_bpf__load(s); err != 0)
    return bpf_error("cannot load the BPF program", -err);
  if (impl.cgroup_fd >= 0) {
    uint32_t zero = 0;
    if (bpf_map_update_elem(bpf_map__fd(s->maps.filter_cgroup), &zero, &impl.cgroup_fd, BPF_ANY) !=
        0)
      return base::system_error(
          fmt::format("'{}' is not a cgroup v2 directory", target.cgroup), errno,
          "name a directory under the cgroup2 mount (see /proc/self/mountinfo)");
  }
  if (int err = ftsc_profile_bpf__attach(s); err != 0)
    return bpf_error("cannot attach to the raw_syscalls tracepoints", -err);
  return c;
}

void BpfCollector::add_process(pid_t pid, bool until_exec) {
  ftsc_profile_bpf* s = impl_->skel.get();
  __atomic_store_n(&s->bss->pending_state,
                   until_exec ? FTSC_PROFILE_UNTIL_EXEC : FTSC_PROFILE_ACTIVE, __ATOMIC_SEQ_CST);
  __atomic_store_n(&s->bss->pending_nspid, static_cast<uint32_t>(pid), __ATOMIC_SEQ_CST);
}

bool BpfCollector::registered() const {
  return __atomic_load_n(&impl_->skel->bss->pending_nspid, __ATOMIC_SEQ_CST) == 0;
}

profile::ProfileCounts BpfCollector::read() const {
  ftsc_profile_bpf* s = impl_->skel.get();
  profile::ProfileCounts counts;
  std::vector<uint64_t> values(impl_->ncpus);
  int calls_fd = bpf_map__fd(s->maps.calls);
  for (uint32_t nr = 0; nr < FTSC_PROFILE_MAX_NR; ++nr) {
    if (bpf_map_lookup_elem(calls_fd, &nr, values.data()) != 0)
      continue;
    uint64_t sum = 0;
    for (uint64_t v : values)
      sum += v;
    if (sum)
      counts.calls[static_cast<int>(nr)] = sum;
  }
  int failures_fd = bpf_map__fd(s->maps.failures);
  ftsc_profile_failure_key key{}, next{};
  const void* prev = nullptr;
  while (bpf_map_get_next_key(failures_fd, prev, &next) == 0) {
    key = next;
    prev = &key;
    if (bpf_map_lookup_elem(failures_fd, &key, values.data()) != 0)
      continue;
    uint64_t sum = 0;
    for (uint64_t v : values)
      sum += v;
    counts.failures.push_back({std::string(key.comm, strnlen(key.comm, sizeof key.comm)),
                               static_cast<int>(key.nr), static_cast<int>(key.err), sum});
  }
  counts.dropped = __atomic_load_n(&s->bss->dropped, __ATOMIC_RELAXED);
  counts.uncounted = __atomic_load_n(&s->bss->uncounted, __ATOMIC_RELAXED);
  counts.normalize();
  return counts;
}

}  // namespace ftsc::observe
