// SPDX-License-Identifier: Apache-2.0
// ftsc_policy_validate(), the one check every engine runs on a compiled policy
// (the kernel module on what root writes to its control file, the preload
// library on the file it maps): it refuses what the policy language refuses,
// so that a hand-made block cannot ask an engine for more than a policy file
// could. Each refusal has a code and a message of its own.
#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <set>
#include <string>

#include "abi/compiled_policy.h"
#include "kb/knowledge_base.h"
#include "policy/compiler.h"
#include "policy/effective_policy.h"
#include "policy/source.h"

namespace ftsc::policy {
namespace {

constexpr uint64_t kDay = 86'400'000'000'000ull;

// A policy with the longest durations the language takes: a day each.
constexpr const char* kLongest = R"(version = 1
[defaults]
backoff = ["24h", "10ms"]
deadline = "24h"
[budget]
window = "24h"
max_wait = "24h"
[[rule]]
syscalls = ["openat"]
retry = ["ENOENT"]
[target]
comm = "app"
)";

CompiledPolicy compile_text(const char* text) {
  LoadedPolicy loaded = parse_policy_text(text, "validate-test.toml");
  EXPECT_FALSE(base::has_errors(loaded.diags));
  Resolved r = resolve(loaded.spec, kb::KnowledgeBase::builtin());
  EXPECT_FALSE(base::has_errors(r.diags));
  auto compiled = compile(r.policy, kb::KnowledgeBase::builtin());
  EXPECT_TRUE(compiled.ok()) << compiled.error().message;
  return std::move(*compiled);
}

int validate_changed(const std::function<void(ftsc_policy&)>& change) {
  CompiledPolicy p = compile_text(kLongest);
  change(*p);
  return ftsc_policy_validate(p.get(), sizeof *p);
}

TEST(PolicyValidate, TheLongestDurationsTheLanguageTakesAreValid) {
  CompiledPolicy p = compile_text(kLongest);
  EXPECT_EQ(ftsc_policy_validate(p.get(), sizeof *p), FTSC_POLICY_OK);
  EXPECT_EQ(p->budget_window_ns, kDay);
  EXPECT_EQ(FTSC_MAX_DURATION_NS, kDay);
}

TEST(PolicyValidate, DurationsAboveADayAreRefused) {
  const uint8_t cell = FTSC_CELL_SCHEDULE(ftsc_policy_cell(compile_text(kLongest).get(), 257, 2));
  EXPECT_EQ(validate_changed([&](ftsc_policy& p) { p.schedules[cell].delay_ns[0] = kDay + 1; }),
            FTSC_POLICY_BAD_DURATION);
  EXPECT_EQ(validate_changed([&](ftsc_policy& p) { p.schedules[cell].delay_ns[1] = ~0ull; }),
            FTSC_POLICY_BAD_DURATION);
  EXPECT_EQ(validate_changed([&](ftsc_policy& p) { p.schedules[cell].deadline_ns = kDay + 1; }),
            FTSC_POLICY_BAD_DURATION);
  EXPECT_EQ(validate_changed([](ftsc_policy& p) { p.budget_window_ns = kDay + 1; }),
            FTSC_POLICY_BAD_DURATION);
  EXPECT_EQ(validate_changed([](ftsc_policy& p) { p.budget_max_wait_ns = kDay * 365; }),
            FTSC_POLICY_BAD_DURATION);
  // Delays past n_delays are never used: what they hold does not matter.
  EXPECT_EQ(validate_changed(
                [&](ftsc_policy& p) { p.schedules[cell].delay_ns[FTSC_DELAYS_MAX - 1] = ~0ull; }),
            FTSC_POLICY_OK);
}

TEST(PolicyValidate, InjectedErrnosAreOneTo511) {
  auto with_error = [](uint16_t error) {
    return validate_changed([error](ftsc_policy& p) {
      p.n_injects = 1;
      p.injects[0] = ftsc_inject{257, error, 0, 1, 1, 1, 0, 0};
      p.syscalls[257].flags |= FTSC_SC_INJECT;
    });
  };
  EXPECT_EQ(with_error(1), FTSC_POLICY_OK);
  EXPECT_EQ(with_error(511), FTSC_POLICY_OK);
  EXPECT_EQ(with_error(0), FTSC_POLICY_BAD_INJECT_ERRNO);
  // ERESTARTSYS, ERESTARTNOINTR, ERESTART_RESTARTBLOCK, and beyond.
  for (uint16_t code :
       {uint16_t{512}, uint16_t{513}, uint16_t{516}, uint16_t{4095}, uint16_t{65535}})
    EXPECT_EQ(with_error(code), FTSC_POLICY_BAD_INJECT_ERRNO) << code;
}

TEST(PolicyValidate, AllCombinedWithOtherCriteriaIsRefused) {
  EXPECT_EQ(validate_changed([](ftsc_policy& p) { p.target.flags = FTSC_TARGET_ALL; }),
            FTSC_POLICY_OK);
  for (uint32_t other : {FTSC_TARGET_UID, FTSC_TARGET_PID, FTSC_TARGET_COMM, FTSC_TARGET_CGROUP})
    EXPECT_EQ(
        validate_changed([other](ftsc_policy& p) { p.target.flags = FTSC_TARGET_ALL | other; }),
        FTSC_POLICY_BAD_TARGET_ALL)
        << other;
}

TEST(PolicyValidate, EveryCodeHasAMessageOfItsOwn) {
  std::set<std::string> seen;
  for (int code = FTSC_POLICY_OK; code <= FTSC_POLICY_BAD_TARGET_ALL; ++code) {
    const std::string m = ftsc_policy_validate_message(code);
    EXPECT_NE(m, "unknown validation error") << code;
    EXPECT_TRUE(seen.insert(m).second) << "code " << code << " shares its message: " << m;
  }
  EXPECT_NE(std::string(ftsc_policy_validate_message(FTSC_POLICY_BAD_DURATION)).find("one day"),
            std::string::npos);
  EXPECT_NE(std::string(ftsc_policy_validate_message(FTSC_POLICY_BAD_INJECT_ERRNO)).find("1..511"),
            std::string::npos);
}

}  // namespace
}  // namespace ftsc::policy
