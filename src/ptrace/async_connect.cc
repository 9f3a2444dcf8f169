// SPDX-License-Identifier: Apache-2.0
//
// Non-blocking connects under the supervisor.
//
// A program that connects a non-blocking socket (Go's net package, curl,
// every event loop) gets EINPROGRESS from connect, waits until the socket is
// writable, and learns the outcome from getsockopt(fd, SOL_SOCKET, SO_ERROR),
// which succeeds with the errno (ECONNREFUSED from a server that does not
// listen yet) as its value; or, as Perl's and Ruby's socket libraries do, by
// calling connect again on the fd, which answers that errno. No traced call
// fails the way traced_call.cc retries, so this file handles both forms for a
// policy that retries connect with some errno E other than connect's own
// protocol (ftsc_policy_retries_async_connect()):
//
//   connect exit    connect answered EINPROGRESS for an AF_INET or AF_INET6
//                   address: the supervisor remembers, per process and fd,
//                   the socket's identity (st_dev and st_ino of
//                   /proc/TID/fd/FD: a closed fd whose number came back for
//                   another socket does not match) and the address, read
//                   from the tracee (process_vm_readv(2)).
//   SO_ERROR exit   the filter stops getsockopt when its level and optname
//                   are SOL_SOCKET and SO_ERROR (BPF compares the arguments;
//                   it cannot read optval); the seccomp stop lets a read of
//                   an fd with no remembered connect go on without an exit
//                   stop. At the exit stop of a successful
//                   read of a remembered fd (the entry is forgotten then,
//                   whatever the value), the supervisor reads the value from
//                   the tracee; an errno E of the same socket, whose
//                   handshake never completed, is the outcome of the connect.
//   connect again   a traced connect of a remembered fd that fails with
//                   anything but EINPROGRESS, EALREADY and EISCONN is the
//                   outcome too.
//
// The outcome goes through the retry decision as a call of connect with
// errno E (guards, never cells, budget, deadline, observe mode, statistics
// in the row "connect (async)"). A retry waits the rule's delay as every
// backoff does (traced_call.cc: a poll the thread runs, which a signal
// ends), then the thread is made to run, one syscall at a time at the
// instruction of the program's call, each step checked at its exit stop:
//
//   mmap            once per thread: an anonymous page for the address and
//                   the small buffers below. Not the stack below the red
//                   zone: a goroutine's stack may end a few hundred bytes
//                   below the stack pointer (the next bytes are another
//                   goroutine's), and the kernel no longer grows a stack for
//                   a tracer's write; and not a buffer of the program's, whose
//                   lifetime ftsc does not know. The page stays mapped for the
//                   thread's next reconnects (one page per thread that ever
//                   reconnected; an exec drops it with the rest).
//   connect         (fd, AF_UNSPEC): a TCP socket whose connect failed stays
//                   "connecting" on Linux, so connecting it again answers
//                   ECONNABORTED first; an AF_UNSPEC connect disconnects it
//                   and answers 0, also while an attempt is in progress.
//   connect         (fd, the remembered address): 0, EINPROGRESS or an errno.
//   poll            (POLLOUT) bounded by the time left until the rule's
//                   deadline, else by kAttemptWaitNs (5 s, what `policy
//                   explain` shows): an attempt that has not ended by then is
//                   aborted with an AF_UNSPEC connect and counts as ETIMEDOUT.
//   getsockopt      (SO_ERROR): the attempt's outcome, decided on again.
//
// The program's call then returns the final outcome: SO_ERROR's value (0 and
// a connected socket, or the last errno) written into its buffer, or the
// second connect's result. Other threads go on meanwhile, and each thread
// handles its own sockets. A signal that ends a wait (one that runs a handler
// or ends the process) ends the call with the last errno; an attempt in
// flight is then aborted from the supervisor through a duplicate of the fd
// (pidfd_getfd(2)), best effort.
//
// Fail closed, as the preload library does: an identity that does not match
// (the fd was closed, or is another socket now), a handshake that had
// completed (an established connection reset later reads ECONNRESET too:
// tcp_info's tcpi_bytes_acked is 1 once the SYN was acknowledged, read
// through a duplicate of the fd), a duplicate that cannot be taken, a process
// with a seccomp filter of its own (which may refuse the steps): no retry,
// the program sees what the kernel said. The identity is checked again before
// every reconnect, so a socket the program closed meanwhile is never
// connected again. Not covered: a program that never reads SO_ERROR and
// learns of the failure from its first send or recv.
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <string>

#include <fmt/format.h>

#include "ptrace/supervisor_impl.h"
#include "ptrace/tracee_probe.h"
#include "trace/proc_status.h"

namespace ftsc::ptrace {
namespace {

constexpr int64_t kAttemptWaitNs = FTSC_CONNECT_ATTEMPT_WAIT_NS;
constexpr size_t kMaxRemembered = 256;  // per process

// The scratch page's layout.
constexpr uint64_t kScratchSize = 4096;
constexpr uint64_t kAddrAt = 0;      // the remembered address (128 bytes)
constexpr uint64_t kUnspecAt = 128;  // struct sockaddr with AF_UNSPEC
constexpr uint64_t kPollAt = 144;    // struct pollfd
constexpr uint64_t kErrorAt = 152;   // int: SO_ERROR's value
constexpr uint64_t kLenAt = 156;     // socklen_t: its length

bool read_tracee(pid_t tid, uint64_t at, void* buf, size_t len) {
  struct iovec local {
    buf, len
  };
  struct iovec remote {
    reinterpret_cast<void*>(at), len
  };
  return process_vm_readv(tid, &local, 1, &remote, 1, 0) == static_cast<ssize_t>(len);
}

bool write_tracee(pid_t tid, uint64_t at, const void* buf, size_t len) {
  struct iovec local {
    const_cast<void*>(buf), len
  };
  struct iovec remote {
    reinterpret_cast<void*>(at), len
  };
  return process_vm_writev(tid, &local, 1, &remote, 1, 0) == static_cast<ssize_t>(len);
}

// The socket fd of thread tid is, as /proc shows it; false for anything else.
bool socket_identity(pid_t tid, int fd, uint64_t* dev, uint64_t* ino) {
  struct stat st {};
  std::string path = fmt::format("/proc/{}/fd/{}", tid, fd);
  if (fd < 0 || stat(path.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode))
    return false;
  *dev = st.st_dev;
  *ino = st.st_ino;
  return true;
}

bool same_socket(pid_t tid, int fd, const PendingConnect& c) {
  uint64_t dev = 0, ino = 0;
  return socket_identity(tid, fd, &dev, &ino) && dev == c.dev && ino == c.ino;
}

// A duplicate of the tracee's fd in the supervisor (pidfd_getfd(2)), when it
// is still the remembered socket; -1 otherwise.
int duplicate(pid_t tgid, int fd, const PendingConnect& c) {
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, tgid, 0));
  if (pidfd < 0)
    return -1;
  int local = static_cast<int>(syscall(SYS_pidfd_getfd, pidfd, fd, 0));
  close(pidfd);
  struct stat st {};
  if (local >= 0 && (fstat(local, &st) != 0 || st.st_dev != c.dev || st.st_ino != c.ino)) {
    close(local);
    local = -1;
  }
  return local;
}

// Whether the socket's handshake never completed: the peer never
// acknowledged its SYN (tcp_info's tcpi_bytes_acked counts the SYN once it
// is). Unknown (no duplicate, not TCP): false, no retry.
bool never_established(pid_t tgid, int fd, const PendingConnect& c) {
  int local = duplicate(tgid, fd, c);
  if (local < 0)
    return false;
  struct tcp_info info {};
  socklen_t len = sizeof info;
  bool never = getsockopt(local, IPPROTO_TCP, TCP_INFO, &info, &len) == 0 &&
               len >= offsetof(struct tcp_info, tcpi_bytes_acked) + sizeof info.tcpi_bytes_acked &&
               info.tcpi_bytes_acked == 0;
  close(local);
  return never;
}

bool is_error(long r) {
  return r < 0 && r >= -4095;
}

}  // namespace

// connect answered EINPROGRESS at this exit stop: remember it if a later
// SO_ERROR may be retried.
void Supervisor::Impl::remember_connect(Thread& t) {
  if (!async_connects_)
    return;
  const int fd = static_cast<int>(t.args.args[0]);
  const uint64_t addr = t.args.args[1];
  const auto len = static_cast<uint32_t>(t.args.args[2]);
  PendingConnect c;
  if (addr == 0 || len < sizeof(sa_family_t) || len > sizeof c.addr ||
      !read_tracee(t.tid, addr, c.addr, len))
    return;
  sa_family_t family = AF_UNSPEC;
  std::memcpy(&family, c.addr, sizeof family);
  if ((family != AF_INET && family != AF_INET6) || !socket_identity(t.tid, fd, &c.dev, &c.ino))
    return;
  c.len = len;
  auto& remembered = connects_[t.tgid];
  if (remembered.size() >= kMaxRemembered && remembered.count(fd) == 0) {
    for (auto it = remembered.begin(); it != remembered.end();)
      it = same_socket(t.tid, it->first, it->second) ? std::next(it) : remembered.erase(it);
    if (remembered.size() >= kMaxRemembered)
      return;  // a full table: this connect is not retried
  }
  remembered[fd] = c;
}

// Is a connect of fd in t's process remembered?
bool Supervisor::Impl::remembers_connect(const Thread& t, int fd) const {
  auto p = connects_.find(t.tgid);
  return p != connects_.end() && p->second.count(fd) != 0;
}

// Takes the remembered connect of fd in t's process into *out.
bool Supervisor::Impl::take_connect(const Thread& t, int fd, PendingConnect* out) {
  auto p = connects_.find(t.tgid);
  if (p == connects_.end())
    return false;
  auto it = p->second.find(fd);
  if (it == p->second.end())
    return false;
  *out = it->second;
  p->second.erase(it);
  return true;
}

// At a connect's exit stop, before the decision: is result the outcome of a
// remembered non-blocking connect of the fd (the program connects again to
// learn it)? Then the call counts as async and its retries reconnect.
bool Supervisor::Impl::connect_again_outcome(Thread& t, long result) {
  const int fd = static_cast<int>(t.args.args[0]);
  PendingConnect c;
  if (connects_.empty() || result == -EINPROGRESS || result == -EALREADY ||
      !take_connect(t, fd, &c))
    return false;
  if (!is_error(result) || result == -EISCONN || t.call.first_errno != 0 ||
      !same_socket(t.tid, fd, c) || !never_established(t.tgid, fd, c))
    return false;
  unit_.mark_async(t.call);
  Reconnect r;
  r.fd = fd;
  r.connect = c;
  t.reconnect = r;
  return true;
}

// At the exit stop of a successful getsockopt(SOL_SOCKET, SO_ERROR): when
// its value is the failure of a remembered connect, that connect is decided
// on and maybe retried (true: the supervisor took the thread over).
bool Supervisor::Impl::so_error_outcome(Thread& t, const arch::Regs& exit_regs) {
  const decide::SyscallArgs call = t.args;  // t.args becomes the connect's below
  const uint64_t* a = call.args;
  const int fd = static_cast<int>(a[0]);
  PendingConnect c;
  if (connects_.empty() || static_cast<int>(a[1]) != SOL_SOCKET ||
      static_cast<int>(a[2]) != SO_ERROR || !take_connect(t, fd, &c))
    return false;
  int err = 0;
  uint32_t len = 0;
  if (a[3] == 0 || a[4] == 0 || !read_tracee(t.tid, a[4], &len, sizeof len) || len < sizeof err ||
      !read_tracee(t.tid, a[3], &err, sizeof err))
    return false;
  if (err <= 0 || err >= decide::kFirstKernelInternalErrno || !same_socket(t.tid, fd, c) ||
      !never_established(t.tgid, fd, c))
    return false;
  // A call of connect, begun now, whose first attempt failed with err.
  uint64_t seed = static_cast<uint64_t>(now_ns()) ^ (static_cast<uint64_t>(t.tid) << 32);
  unit_.begin_call(t.call, SYS_connect, process(t.tgid).budget, seed);
  unit_.mark_async(t.call);
  t.args = decide::SyscallArgs{};
  t.args.nr = SYS_connect;
  t.args.args[0] = static_cast<uint64_t>(fd);
  t.args.args[2] = c.len;
  t.injected = 0;
  Reconnect r;
  r.fd = fd;
  r.connect = c;
  r.optval = a[3];
  t.reconnect = r;
  t.last_exit = exit_regs;
  reconnect_outcome(t, -err);
  return true;
}

// An outcome of the remembered connect (the first one, or an attempt's):
// decided on; the program gets it, or the thread waits and reconnects.
void Supervisor::Impl::reconnect_outcome(Thread& t, long result) {
  TraceeProbe probe(t.tid, t.tgid);
  decide::Decision d = unit_.on_result(t.call, t.args, result, probe, now_ns());
  if (options_.verbosity > 0)
    log_decision(t, result, d);
  if (d.action == decide::Action::kReturn) {
    finish_async(t, result);
    return;
  }
  if (!can_sleep_in(t)) {
    // The program's own seccomp filter may refuse the steps: no retry.
    decide::Decision end = unit_.on_cannot_wait(t.call, 0);
    if (options_.verbosity > 0)
      log_decision(t, result, end);
    finish_async(t, result);
    return;
  }
  wait_then_reexecute(t, t.last_exit, d.delay_ns);
}

// The wait is over: the next attempt, if the fd is still the socket.
void Supervisor::Impl::start_reconnect(Thread& t) {
  Reconnect& r = *t.reconnect;
  if (!same_socket(t.tid, r.fd, r.connect)) {
    // The program closed the socket (or put another one in its place) while
    // ftsc waited: nothing more is connected; it gets the last errno.
    decide::Decision end = unit_.on_cannot_wait(t.call, 0);
    if (options_.verbosity > 0) {
      say(fmt::format("ftsc: [pid {}] fd {} is no longer the socket that connected: no retry\n",
                      t.tid, r.fd));
      log_decision(t, -t.call.last_errno, end);
    }
    finish_async(t, -t.call.last_errno);
    return;
  }
  if (t.scratch == 0) {
    run_step(t, Reconnect::Step::kMap, SYS_mmap,
             {0, kScratchSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
              static_cast<uint64_t>(-1), 0});
    return;
  }
  // The buffers of the steps, written afresh for each attempt.
  uint8_t block[kLenAt + sizeof(uint32_t)] = {};
  std::memcpy(block + kAddrAt, r.connect.addr, r.connect.len);
  struct sockaddr unspec {};
  unspec.sa_family = AF_UNSPEC;
  std::memcpy(block + kUnspecAt, &unspec, sizeof unspec);
  struct pollfd p {
    r.fd, POLLOUT, 0
  };
  std::memcpy(block + kPollAt, &p, sizeof p);
  const uint32_t len = sizeof(int);
  std::memcpy(block + kLenAt, &len, sizeof len);
  if (!write_tracee(t.tid, t.scratch, block, sizeof block)) {
    decide::Decision end = unit_.on_cannot_wait(t.call, 0);
    if (options_.verbosity > 0)
      log_decision(t, -t.call.last_errno, end);
    finish_async(t, -t.call.last_errno);
    return;
  }
  run_step(t, Reconnect::Step::kDisconnect, SYS_connect,
           {static_cast<uint64_t>(r.fd), t.scratch + kUnspecAt, sizeof(struct sockaddr)});
}

// Makes the thread run syscall nr with args at the instruction of the
// program's call; its exit stop comes to on_reconnect_exit().
void Supervisor::Impl::run_step(Thread& t, Reconnect::Step step, long nr,
                                std::initializer_list<uint64_t> args) {
  arch::Regs regs = t.last_exit;
  arch::rewind_to_syscall(regs, nr);
  int i = 0;
  for (uint64_t a : args)
    arch::set_arg(regs, i++, a);
  t.reconnect->step = step;
  t.phase = Thread::Phase::kReconnecting;
  tracer_->set_regs(t.tid, regs);
  resume(t);
}

void Supervisor::Impl::on_reconnect_exit(Thread& t) {
  arch::Regs regs;
  if (!tracer_->get_regs(t.tid, regs))
    return;
  Reconnect& r = *t.reconnect;
  using Step = Reconnect::Step;
  long expected = SYS_connect;
  if (r.step == Step::kMap)
    expected = SYS_mmap;
  else if (r.step == Step::kPoll)
    expected = SYS_poll;
  else if (r.step == Step::kRead)
    expected = SYS_getsockopt;
  const long nr = arch::syscall_nr(regs);
  if (arch::ip(regs) != arch::ip(t.last_exit) ||
      (nr != expected && !(r.step == Step::kPoll && nr == SYS_restart_syscall))) {
    lose_track(t, "a reconnect's step ended somewhere else than where it started");
    return;
  }
  const long result = arch::result(regs);
  const uint64_t fd = static_cast<uint64_t>(r.fd);
  switch (r.step) {
    case Step::kMap:
      if (is_error(result)) {
        decide::Decision end = unit_.on_cannot_wait(t.call, 0);
        if (options_.verbosity > 0)
          log_decision(t, -t.call.last_errno, end);
        finish_async(t, -t.call.last_errno);
        return;
      }
      t.scratch = static_cast<uint64_t>(result);
      start_reconnect(t);
      return;
    case Step::kDisconnect:
      if (is_error(result)) {
        reconnect_outcome(t, result);
        return;
      }
      r.attempt_start = now_ns();
      run_step(t, Step::kConnect, SYS_connect, {fd, t.scratch + kAddrAt, r.connect.len});
      return;
    case Step::kConnect: {
      if (result != -EINPROGRESS) {
        reconnect_outcome(t, result);  // done at once: connected, or refused
        return;
      }
      // Until the rule's deadline, else kAttemptWaitNs.
      int64_t limit = kAttemptWaitNs;
      const uint8_t cell = ftsc_policy_cell(&policy_, SYS_connect, t.call.last_errno);
      const unsigned schedule = FTSC_CELL_SCHEDULE(cell);
      if (schedule < policy_.n_schedules && policy_.schedules[schedule].deadline_ns != 0) {
        limit = static_cast<int64_t>(policy_.schedules[schedule].deadline_ns) -
                (now_ns() - t.call.first_failure_ns);
        limit = std::max<int64_t>(limit, 1'000'000);
      }
      const int64_t ms = (limit + 999'999) / 1'000'000;
      run_step(t, Step::kPoll, SYS_poll,
               {t.scratch + kPollAt, 1, static_cast<uint64_t>(std::min<int64_t>(ms, INT32_MAX))});
      return;
    }
    case Step::kPoll:
      if (result == -EINTR || is_restart_code(result)) {
        // A signal: whether it ends the call is decided at its delivery stop
        // (signal_ends_reconnect); if it does not, the kernel restarts the
        // poll through restart_syscall, whose exit stop lands here again.
        resume(t);
        return;
      }
      if (result == 0) {  // the attempt did not end in time: abort it
        run_step(t, Step::kAbort, SYS_connect,
                 {fd, t.scratch + kUnspecAt, sizeof(struct sockaddr)});
        return;
      }
      if (is_error(result)) {
        reconnect_outcome(t, result);
        return;
      }
      run_step(t, Step::kRead, SYS_getsockopt,
               {fd, SOL_SOCKET, SO_ERROR, t.scratch + kErrorAt, t.scratch + kLenAt});
      return;
    case Step::kRead: {
      if (is_error(result)) {
        reconnect_outcome(t, result);
        return;
      }
      int err = 0;
      if (!read_tracee(t.tid, t.scratch + kErrorAt, &err, sizeof err))
        err = EIO;
      reconnect_outcome(t, err == 0 ? 0 : -static_cast<long>(err));
      return;
    }
    case Step::kAbort:
      reconnect_outcome(t, -ETIMEDOUT);
      return;
  }
}

// What the program's call returns: SO_ERROR's value in its buffer (the call
// itself succeeded), or the second connect's result. t.last_exit is updated;
// the caller sets the registers.
void Supervisor::Impl::give_async_result(Thread& t, long result) {
  if (!t.reconnect)
    return;
  if (t.reconnect->optval != 0) {
    const int value = is_error(result) ? static_cast<int>(-result) : 0;
    write_tracee(t.tid, t.reconnect->optval, &value, sizeof value);
  } else {
    arch::set_result(t.last_exit, result);
  }
  t.reconnect.reset();
}

// The call ends with result: the program's call returns it.
void Supervisor::Impl::finish_async(Thread& t, long result) {
  give_async_result(t, result);
  tracer_->set_regs(t.tid, t.last_exit);
  t.phase = Thread::Phase::kRunning;
  resume(t);
}

// An attempt in flight that the program will not hear of is aborted, so that
// the socket does not connect behind its back: through a duplicate of the
// fd, since the thread is about to run a signal handler.
void Supervisor::Impl::abort_attempt(const Thread& t) {
  const Reconnect& r = *t.reconnect;
  int local = duplicate(t.tgid, r.fd, r.connect);
  if (local < 0)
    return;
  struct sockaddr unspec {};
  unspec.sa_family = AF_UNSPEC;
  (void)connect(local, &unspec, sizeof unspec);
  close(local);
}

// A signal is about to be delivered to a thread in its reconnect steps. When
// it ends the wait, the call ends with the last errno (an attempt in flight
// aborted) and the program's call returns before the handler runs.
bool Supervisor::Impl::signal_ends_reconnect(Thread& t, int sig) {
  if (t.phase != Thread::Phase::kReconnecting || !trace::signal_ends_wait(t.tid, sig))
    return false;
  using Step = Reconnect::Step;
  const Step step = t.reconnect->step;
  if (step == Step::kConnect || step == Step::kPoll || step == Step::kRead)
    abort_attempt(t);
  decide::Decision d = unit_.on_interrupted(t.call, 0);
  if (options_.verbosity > 0)
    log_decision(t, -t.call.last_errno, d);
  give_async_result(t, -t.call.last_errno);
  tracer_->set_regs(t.tid, t.last_exit);
  t.phase = Thread::Phase::kRunning;
  return true;
}

}  // namespace ftsc::ptrace
