// SPDX-License-Identifier: Apache-2.0
#include "launch/signal_forwarding.h"

namespace ftsc::launch {
namespace {

volatile sig_atomic_t g_target = 0;
volatile sig_atomic_t g_record_stop = 0;
volatile sig_atomic_t g_stop_signal = 0;
volatile sig_atomic_t g_sender[std::size(SignalForwarding::kSignals)] = {};

int index_of(int sig) {
  for (size_t i = 0; i < std::size(SignalForwarding::kSignals); ++i)
    if (SignalForwarding::kSignals[i] == sig)
      return static_cast<int>(i);
  return -1;
}

void forward(int sig, siginfo_t* info, void*) {
  if (g_record_stop && (sig == SIGINT || sig == SIGTERM))
    g_stop_signal = sig;
  pid_t pid = g_target;
  if (pid > 0 && info != nullptr && info->si_code != SI_KERNEL) {
    if (int i = index_of(sig); i >= 0)
      g_sender[i] = info->si_pid;
    kill(pid, sig);
  }
}

}  // namespace

SignalForwarding::SignalForwarding(bool stop_requests) {
  g_record_stop = stop_requests ? 1 : 0;
  g_stop_signal = 0;
  struct sigaction fwd {};
  fwd.sa_sigaction = forward;
  fwd.sa_flags = SA_SIGINFO | (stop_requests ? 0 : SA_RESTART);
  sigemptyset(&fwd.sa_mask);
  for (size_t i = 0; i < std::size(kSignals); ++i) {
    sigaction(kSignals[i], &fwd, &old_[i]);
    // A signal ftsc was started ignoring (nohup, a shell's trap '') stays
    // ignored, for ftsc and, inherited through fork and exec, for the command.
    if (old_[i].sa_handler == SIG_IGN && !(old_[i].sa_flags & SA_SIGINFO))
      sigaction(kSignals[i], &old_[i], nullptr);
  }
}

SignalForwarding::~SignalForwarding() {
  g_target = 0;
  g_record_stop = 0;
  for (size_t i = 0; i < std::size(kSignals); ++i)
    sigaction(kSignals[i], &old_[i], nullptr);
}

int SignalForwarding::stop_signal() {
  return g_stop_signal;
}

pid_t SignalForwarding::last_sender(int sig) {
  int i = index_of(sig);
  return i < 0 ? 0 : static_cast<pid_t>(g_sender[i]);
}

void SignalForwarding::to(pid_t pid) {
  g_target = pid;
}

void SignalForwarding::reset_in_child() {
  for (int sig : kSignals) {
    struct sigaction now {};
    if (sigaction(sig, nullptr, &now) == 0 && (now.sa_flags & SA_SIGINFO) &&
        now.sa_sigaction == forward)
      signal(sig, SIG_DFL);
  }
}

}  // namespace ftsc::launch
