#include "ptrace/tracee_probe.h"

#include <elf.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <string_view>

namespace ftsc::ptrace {

bool TraceeProbe::fd_nonblocking(int fd) {
  if (fd < 0)
    return false;
  std::ifstream info("/proc/" + std::to_string(tid_) + "/fdinfo/" + std::to_string(fd));
  std::string line;
  while (std::getline(info, line)) {
    if (line.rfind("flags:", 0) == 0) {
      long flags = std::strtol(line.c_str() + 6, nullptr, 8);
      return (flags & O_NONBLOCK) != 0;
    }
  }
  return false;
}

bool TraceeProbe::socket_timeout(int fd, bool send) {
  if (fd < 0)
    return false;
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, tgid_, 0));
  if (pidfd < 0)
    return false;
  int local = static_cast<int>(syscall(SYS_pidfd_getfd, pidfd, fd, 0));
  close(pidfd);
  if (local < 0)
    return false;
  struct timeval tv {};
  socklen_t len = sizeof tv;
  bool has = getsockopt(local, SOL_SOCKET, send ? SO_SNDTIMEO : SO_RCVTIMEO, &tv, &len) == 0 &&
             (tv.tv_sec != 0 || tv.tv_usec != 0);
  close(local);
  return has;
}

bool signal_ends_wait(pid_t tid, int sig) {
  if (sig <= 0 || sig > 64)
    return false;
  if (sig == SIGKILL)
    return true;
  uint64_t bit = 1ull << (sig - 1);
  uint64_t caught = 0, ignored = 0;
  std::ifstream status("/proc/" + std::to_string(tid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("SigIgn:", 0) == 0)
      ignored = std::strtoull(line.c_str() + 7, nullptr, 16);
    if (line.rfind("SigCgt:", 0) == 0)
      caught = std::strtoull(line.c_str() + 7, nullptr, 16);
  }
  if (caught & bit)
    return true;
  if (ignored & bit)
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

namespace {

// A decimal field of /proc/TID/status ("Tgid:"), or -1.
long status_number(pid_t tid, std::string_view field) {
  std::ifstream status("/proc/" + std::to_string(tid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with(field))
      return std::atol(line.c_str() + field.size());
  }
  return -1;
}

}  // namespace

pid_t tgid_of(pid_t tid) {
  return static_cast<pid_t>(status_number(tid, "Tgid:"));
}

bool pending_signal_ends_wait(pid_t tid) {
  uint64_t pending = 0, blocked = 0;
  std::ifstream status("/proc/" + std::to_string(tid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with("SigPnd:") || line.starts_with("ShdPnd:"))
      pending |= std::strtoull(line.c_str() + 7, nullptr, 16);
    else if (line.starts_with("SigBlk:"))
      blocked = std::strtoull(line.c_str() + 7, nullptr, 16);
  }
  pending &= ~blocked;
  for (int sig = 1; sig <= 64; ++sig)
    if ((pending & (1ull << (sig - 1))) && signal_ends_wait(tid, sig))
      return true;
  return false;
}

pid_t tracer_of(pid_t tid) {
  return static_cast<pid_t>(status_number(tid, "TracerPid:"));
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
  return static_cast<int>(status_number(tid, "Seccomp_filters:"));
}

}  // namespace ftsc::ptrace
