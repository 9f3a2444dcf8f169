// SPDX-License-Identifier: Apache-2.0
#include "stats/attempt_log.h"

#include <sys/syscall.h>
#include <sys/wait.h>

#include <cerrno>
#include <csignal>

#include <gtest/gtest.h>

namespace ftsc::stats {
namespace {

using decide::Action;
using decide::Decision;
using decide::Reason;

TEST(AttemptLog, OneLinePerAttempt) {
  AttemptLog a;
  a.tid = 123;
  a.nr = SYS_mmap;
  a.arg0 = 0;
  a.arg1 = 134217728;
  a.result = -ENOMEM;
  a.decision = Decision{Action::kRetry, Reason::kRetry, 10'000'000, 0};
  a.retries = 1;
  a.n_delays = 3;
  EXPECT_EQ(format_attempt_log(a),
            "ftsc: [pid 123] mmap(0, 134217728, ...) = -ENOMEM, retry 1/3 in 10ms\n");

  a.nr = SYS_openat;
  a.arg0 = static_cast<uint32_t>(-100);  // AT_FDCWD in a 32-bit register half
  a.arg1 = 0x7ffd12345678;
  a.result = -ENOENT;
  a.decision = Decision{Action::kReturn, Reason::kScheduleExhausted, 0, 0};
  a.injected = true;
  EXPECT_EQ(format_attempt_log(a),
            "ftsc: [pid 123] openat(-100, 0x7ffd12345678, ...) = -ENOENT, injected, "
            "schedule_exhausted\n");

  a.result = 3;
  a.injected = false;
  a.decision = Decision{Action::kReturn, Reason::kSuccess, 0, 0};
  a.retries = 2;
  EXPECT_EQ(format_attempt_log(a),
            "ftsc: [pid 123] openat(-100, 0x7ffd12345678, ...) = 3, recovered after 2 retries\n");

  a.layer = "preload";  // under auto, the layer that handled the call
  EXPECT_EQ(format_attempt_log(a),
            "ftsc: [pid 123] openat(-100, 0x7ffd12345678, ...) = 3, recovered after 2 retries "
            "(preload)\n");

  // A first attempt that succeeded is not logged: -v shows failures and retries.
  a.retries = 0;
  EXPECT_EQ(format_attempt_log(a), "");
  // A failure is, even one that passes through at once.
  a.result = -ENOENT;
  a.decision = Decision{Action::kReturn, Reason::kNoRule, 0, 0};
  a.injected = true;
  EXPECT_EQ(format_attempt_log(a),
            "ftsc: [pid 123] openat(-100, 0x7ffd12345678, ...) = -ENOENT, injected, no_rule "
            "(preload)\n");

  // A guard that could not be checked: which one, and why.
  a.nr = SYS_recvfrom;
  a.arg0 = 3;
  a.arg1 = 0x7ffd12345678;
  a.result = -EAGAIN;
  a.injected = false;
  a.layer.clear();
  a.decision =
      Decision{Action::kReturn, Reason::kGuardUnknown, 0, FTSC_SC_GUARD_SOCK_RCVTIMEO, -EPERM};
  EXPECT_EQ(format_attempt_log(a),
            "ftsc: [pid 123] recvfrom(3, 0x7ffd12345678, ...) = -EAGAIN, guard_unknown: whether "
            "the socket has a receive timeout (SO_RCVTIMEO) could not be checked (EPERM), so the "
            "call is not retried\n");
}

}  // namespace
}  // namespace ftsc::stats
