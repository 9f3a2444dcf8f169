// SPDX-License-Identifier: Apache-2.0
#include "trace/proc_status.h"

#include <elf.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

namespace ftsc::trace {

namespace {

// The fields of /proc/TID/status that the supervisor reads (proc(5)); -1 and
// empty masks when the thread is gone.
struct Status {
  long tgid = -1;
  long tracer = -1;
  long seccomp_filters = -1;
  uint64_t pending = 0;  // SigPnd | ShdPnd: for the thread or its process
  uint64_t blocked = 0;
  uint64_t ignored = 0;
  uint64_t caught = 0;
};

Status read_status(pid_t tid) {
  Status st;
  std::ifstream in("/proc/" + std::to_string(tid) + "/status");
  std::string line;
  auto mask = [&line](size_t at) { return std::strtoull(line.c_str() + at, nullptr, 16); };
  while (std::getline(in, line)) {
    if (line.starts_with("Tgid:"))
      st.tgid = std::atol(line.c_str() + 5);
    else if (line.starts_with("TracerPid:"))
      st.tracer = std::atol(line.c_str() + 10);
    else if (line.starts_with("Seccomp_filters:"))
      st.seccomp_filters = std::atol(line.c_str() + 16);
    else if (line.starts_with("SigPnd:") || line.starts_with("ShdPnd:"))
      st.pending |= mask(7);
    else if (line.starts_with("SigBlk:"))
      st.blocked = mask(7);
    else if (line.starts_with("SigIgn:"))
      st.ignored = mask(7);
    else if (line.starts_with("SigCgt:"))
      st.caught = mask(7);
  }
  return st;
}

bool ends_wait(const Status& st, int sig) {
  if (sig <= 0 || sig > 64)
    return false;
  if (sig == SIGKILL)
    return true;
  uint64_t bit = 1ull << (sig - 1);
  if (st.caught & bit)
    return true;
  if (st.ignored & bit)
    return false;
  switch (sig) {
    case SIGCHLD:
    case SIGURG:
    case SIGWINCH:
    case SIGCONT:
    case SIGSTOP:
    case SIGTSTP:
    case SIGTTIN:
    case SIGTTOU:
      return false;
    default:
      return true;
  }
}

}  // namespace

bool signal_ends_wait(pid_t tid, int sig) {
  return ends_wait(read_status(tid), sig);
}

bool signal_runs_handler(pid_t tid, int sig) {
  if (sig <= 0 || sig > 64 || sig == SIGKILL || sig == SIGSTOP)
    return false;
  return (read_status(tid).caught & (1ull << (sig - 1))) != 0;
}

bool pending_signal_ends_wait(pid_t tid) {
  Status st = read_status(tid);
  uint64_t pending = st.pending & ~st.blocked;
  for (int sig = 1; sig <= 64; ++sig)
    if ((pending & (1ull << (sig - 1))) && ends_wait(st, sig))
      return true;
  return false;
}

pid_t tgid_of(pid_t tid) {
  return static_cast<pid_t>(read_status(tid).tgid);
}

pid_t tracer_of(pid_t tid) {
  return static_cast<pid_t>(read_status(tid).tracer);
}

bool is_32bit_program(pid_t pid) {
  unsigned char ident[EI_NIDENT] = {};
  int fd = open(("/proc/" + std::to_string(pid) + "/exe").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return false;
  bool elf32 = read(fd, ident, sizeof ident) == static_cast<ssize_t>(sizeof ident) &&
               std::memcmp(ident, ELFMAG, SELFMAG) == 0 && ident[EI_CLASS] == ELFCLASS32;
  close(fd);
  return elf32;
}

int seccomp_filters_of(pid_t tid) {
  return static_cast<int>(read_status(tid).seccomp_filters);
}

}  // namespace ftsc::trace
