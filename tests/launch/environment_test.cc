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

}  // namespace
}  // namespace ftsc::launch
