// SPDX-License-Identifier: Apache-2.0
#include "ptrace/tracee_probe.h"

#include <elf.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

namespace ftsc::ptrace {

int TraceeProbe::fd_nonblocking(int fd) {
  if (fd < 0)
    return -EBADF;
  std::string path = "/proc/" + std::to_string(tid_) + "/fdinfo/" + std::to_string(fd);
  int info = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (info < 0)
    return -errno;  // ENOENT: the fd (or the thread) is gone; EACCES: not ours to read
  char text[512];
  ssize_t n = read(info, text, sizeof text - 1);
  int err = errno;
  close(info);
  if (n < 0)
    return -err;
  text[n] = '\0';
  const char* flags =
      n >= 6 && std::strncmp(text, "flags:", 6) == 0 ? text : std::strstr(text, "\nflags:");
  if (flags == nullptr)
    return -EIO;  // a format this code does not know
  flags += flags == text ? 6 : 7;
  return (std::strtol(flags, nullptr, 8) & O_NONBLOCK) != 0 ? kHolds : kClear;
}

int TraceeProbe::socket_timeout(int fd, bool send) {
  if (fd < 0)
    return -EBADF;
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, tgid_, 0));
  if (pidfd < 0)
    return -errno;
  int local = static_cast<int>(syscall(SYS_pidfd_getfd, pidfd, fd, 0));
  int err = errno;
  close(pidfd);
  if (local < 0)
    return -err;
  struct timeval tv {};
  socklen_t len = sizeof tv;
  int answer;
  if (getsockopt(local, SOL_SOCKET, send ? SO_SNDTIMEO : SO_RCVTIMEO, &tv, &len) == 0)
    answer = tv.tv_sec != 0 || tv.tv_usec != 0 ? kHolds : kClear;
  else
    answer = errno == ENOTSOCK ? kClear : -errno;  // not a socket: no socket timeout
  close(local);
  return answer;
}

}  // namespace ftsc::ptrace
