// SPDX-License-Identifier: Apache-2.0
#include "observe/signals.h"

#include <signal.h>
#include <sys/time.h>

namespace ftsc::observe {
namespace {

volatile sig_atomic_t g_tick = 0;
struct sigaction g_saved_alarm;

void on_alarm(int) {
  g_tick = 1;
}

}  // namespace

SignalScope::SignalScope(std::chrono::milliseconds tick) : forwarding_(/*stop_requests=*/true) {
  g_tick = 0;
  struct sigaction alarm {};
  alarm.sa_handler = on_alarm;
  sigemptyset(&alarm.sa_mask);
  sigaction(SIGALRM, &alarm, &g_saved_alarm);
  if (tick.count() > 0) {
    struct itimerval it {};
    it.it_interval.tv_sec = tick.count() / 1000;
    it.it_interval.tv_usec = (tick.count() % 1000) * 1000;
    it.it_value = it.it_interval;
    setitimer(ITIMER_REAL, &it, nullptr);
  }
}

SignalScope::~SignalScope() {
  struct itimerval off {};
  setitimer(ITIMER_REAL, &off, nullptr);
  sigaction(SIGALRM, &g_saved_alarm, nullptr);
}

void SignalScope::forward_to(pid_t pid) {
  forwarding_.to(pid);
}

bool SignalScope::stop_requested() const {
  return launch::SignalForwarding::stop_signal() != 0;
}

int SignalScope::stop_signal() const {
  return launch::SignalForwarding::stop_signal();
}

bool SignalScope::take_tick() {
  if (!g_tick)
    return false;
  g_tick = 0;
  return true;
}

}  // namespace ftsc::observe
