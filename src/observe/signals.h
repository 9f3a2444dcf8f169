// SPDX-License-Identifier: Apache-2.0
//
// Signals while a profile runs. SIGINT and SIGTERM ask the profile to end
// (Ctrl-C ends a system profile and still writes every output); with a
// command, the signals sent to ftsc go on to it as under `ftsc run`
// (launch::SignalForwarding: a terminal's Ctrl-C already reached it, a
// signal ftsc was started ignoring stays ignored). A periodic SIGALRM
// interrupts blocking waits so that live counts can be shown.
#pragma once

#include <sys/types.h>

#include <chrono>

#include "launch/signal_forwarding.h"

namespace ftsc::observe {

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

 private:
  launch::SignalForwarding forwarding_;
};

}  // namespace ftsc::observe
