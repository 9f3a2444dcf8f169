#include "profile/signals.h"

#include <signal.h>
#include <sys/time.h>

#include <array>

namespace ftsc::profile {
namespace {

volatile sig_atomic_t g_forward_pid = 0;
volatile sig_atomic_t g_stop_signal = 0;
volatile sig_atomic_t g_tick = 0;

constexpr std::array<int, 4> kForwarded = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
std::array<struct sigaction, kForwarded.size()> g_saved;
struct sigaction g_saved_alarm;

void on_signal(int sig, siginfo_t* info, void*) {
  if (sig == SIGINT || sig == SIGTERM)
    g_stop_signal = sig;
  pid_t pid = g_forward_pid;
  if (pid > 0 && info != nullptr && info->si_code != SI_KERNEL)
    kill(pid, sig);
}

void on_alarm(int) {
  g_tick = 1;
}

}  // namespace

SignalScope::SignalScope(std::chrono::milliseconds tick) {
  g_forward_pid = 0;
  g_stop_signal = 0;
  g_tick = 0;
  struct sigaction sa {};
  sa.sa_sigaction = on_signal;
  sa.sa_flags = SA_SIGINFO;  // no SA_RESTART: a blocking wait returns EINTR
  sigemptyset(&sa.sa_mask);
  for (size_t i = 0; i < kForwarded.size(); ++i)
    sigaction(kForwarded[i], &sa, &g_saved[i]);
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
  for (size_t i = 0; i < kForwarded.size(); ++i)
    sigaction(kForwarded[i], &g_saved[i], nullptr);
  g_forward_pid = 0;
}

void SignalScope::forward_to(pid_t pid) {
  g_forward_pid = pid;
}

bool SignalScope::stop_requested() const {
  return g_stop_signal != 0;
}

int SignalScope::stop_signal() const {
  return g_stop_signal;
}

bool SignalScope::take_tick() {
  if (!g_tick)
    return false;
  g_tick = 0;
  return true;
}

}  // namespace ftsc::profile
