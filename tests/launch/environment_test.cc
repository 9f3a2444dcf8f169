// SPDX-License-Identifier: Apache-2.0
#include "launch/environment.h"

#include <gtest/gtest.h>

namespace ftsc::launch {
namespace {

TEST(Environment, AdditionsReplaceVariablesOfTheSameName) {
  char a[] = "PATH=/bin", b[] = "LD_PRELOAD=/user.so", c[] = "EMPTY=", d[] = "NOEQUALS";
  char* base[] = {a, b, c, d, nullptr};
  std::vector<std::string> env =
      environment_with(base, {"LD_PRELOAD=/ftsc.so:/user.so", "FTSC_SUPERVISOR_PID=7"});
  EXPECT_EQ(env, (std::vector<std::string>{"LD_PRELOAD=/ftsc.so:/user.so", "FTSC_SUPERVISOR_PID=7",
                                           "PATH=/bin", "EMPTY=", "NOEQUALS"}));
  std::vector<char*> envp = envp_of(env);
  ASSERT_EQ(envp.size(), 6u);
  EXPECT_STREQ(envp[2], "PATH=/bin");
  EXPECT_EQ(envp[5], nullptr);
}

TEST(Environment, NullBaseGivesTheAdditions) {
  EXPECT_EQ(environment_with(nullptr, {"A=1"}), (std::vector<std::string>{"A=1"}));
}

TEST(Environment, APrefixIsNotTheSameName) {
  char a[] = "LD_PRELOAD_EXTRA=1";
  char* base[] = {a, nullptr};
  EXPECT_EQ(environment_with(base, {"LD_PRELOAD=x"}),
            (std::vector<std::string>{"LD_PRELOAD=x", "LD_PRELOAD_EXTRA=1"}));
}

TEST(Environment, PidSlotsTakeTheVariablesThatNameThisPid) {
  std::vector<std::string> env = {"LISTEN_PID=42", "LISTEN_FDS=2", "WATCHDOG_PID=42",
                                  "OTHER_PID=42", "LISTEN_PID2=42"};
  std::vector<char*> slots = pid_slots(env, 42);
  ASSERT_EQ(slots.size(), 2u);
  std::vector<char*> envp = envp_of(env);
  EXPECT_STREQ(envp[0], "LISTEN_PID=42");  // unchanged until filled
  fill_pid_slots(slots, 2147483647);
  EXPECT_STREQ(envp[0], "LISTEN_PID=2147483647");
  EXPECT_STREQ(envp[2], "WATCHDOG_PID=2147483647");
  fill_pid_slots(slots, 7);
  EXPECT_STREQ(envp[0], "LISTEN_PID=7");
  EXPECT_STREQ(envp[1], "LISTEN_FDS=2");
  EXPECT_STREQ(envp[2], "WATCHDOG_PID=7");
  EXPECT_STREQ(envp[3], "OTHER_PID=42");
  EXPECT_STREQ(envp[4], "LISTEN_PID2=42");
}

TEST(Environment, AVariableNamingAnotherPidGetsNoSlot) {
  // Meant for another process (systemd's own pid 1, a parent): left alone,
  // and so is a value that only starts with this pid.
  std::vector<std::string> env = {"LISTEN_PID=1", "WATCHDOG_PID=420",
                                  "LISTEN_PID=", "WATCHDOG_PID=42 "};
  EXPECT_TRUE(pid_slots(env, 42).empty());
  EXPECT_EQ(env, (std::vector<std::string>{"LISTEN_PID=1", "WATCHDOG_PID=420",
                                           "LISTEN_PID=", "WATCHDOG_PID=42 "}));
}

}  // namespace
}  // namespace ftsc::launch
