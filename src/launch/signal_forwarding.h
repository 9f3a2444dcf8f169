// SPDX-License-Identifier: Apache-2.0
// What every engine that starts a command does with the signals sent to ftsc:
// SIGINT, SIGTERM, SIGHUP and SIGQUIT go on to the command. A terminal's
// Ctrl-C or Ctrl-\ (si_code SI_KERNEL) already reached the command's process
// group, ftsc's included, and is not sent a second time. A signal ftsc was
// started ignoring (nohup) stays ignored, by ftsc and by the command.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <iterator>

namespace ftsc::launch {

class SignalForwarding {
 public:
  static constexpr int kSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

  // Installs the handlers (one SignalForwarding at a time); until to() names
  // the command, the signals are dropped. The destructor restores the
  // previous handlers. With stop_requests (`ftsc profile`), SIGINT and
  // SIGTERM are also recorded as a request to stop (stop_signal()), and the
  // handlers interrupt the process's blocking calls (no SA_RESTART) so that a
  // wait notices the request.
  explicit SignalForwarding(bool stop_requests = false);
  ~SignalForwarding();
  SignalForwarding(const SignalForwarding&) = delete;
  SignalForwarding& operator=(const SignalForwarding&) = delete;

  // Where the signals go from now on; 0: nowhere (the command ended).
  void to(pid_t pid);

  // SIGINT or SIGTERM, when one arrived since the handlers were installed
  // with stop_requests; else 0.
  static int stop_signal();

  // Who sent the last sig that was forwarded (si_pid), 0 if none was. A
  // tracer that sees the command get sig from that sender too can tell the
  // forwarded copy for a duplicate (a kill of the whole process group).
  static pid_t last_sender(int sig);

  // In a forked child before exec: the default disposition back where ftsc
  // forwards (ignored signals stay ignored).
  static void reset_in_child();

 private:
  struct sigaction old_[std::size(kSignals)]{};
};

}  // namespace ftsc::launch
