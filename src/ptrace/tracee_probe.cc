#include "ptrace/tracee_probe.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>

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

pid_t tgid_of(pid_t tid) {
  std::ifstream status("/proc/" + std::to_string(tid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("Tgid:", 0) == 0)
      return static_cast<pid_t>(std::atoi(line.c_str() + 5));
  }
  return -1;
}

}  // namespace ftsc::ptrace
