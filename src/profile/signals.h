// Signals while a profile runs. SIGINT and SIGTERM ask the profile to end
// (Ctrl-C ends a system profile and still writes every output); with a
// command, SIGINT, SIGTERM, SIGHUP and SIGQUIT sent to ftsc alone are passed
// on to the command, while a terminal's Ctrl-C (si_code SI_KERNEL) has already
// reached the command's process group. A periodic SIGALRM interrupts blocking
// waits so that live counts can be shown.
#pragma once

#include <sys/types.h>

#include <chrono>

namespace ftsc::profile {

class SignalScope {
 public:
  // Installs the handlers; `tick` > 0 starts the periodic timer.
  explicit SignalScope(std::chrono::milliseconds tick);
  ~SignalScope();
  SignalScope(const SignalScope&) = delete;
  SignalScope& operator=(const SignalScope&) = delete;

  // The process that signals sent to ftsc go on to (0: none).
  void forward_to(pid_t pid);
  // Whether SIGINT or SIGTERM arrived (and which one, or 0).
  bool stop_requested() const;
  int stop_signal() const;
  // Whether a timer period passed since the last call.
  bool take_tick();
};

}  // namespace ftsc::profile
