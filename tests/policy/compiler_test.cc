// SPDX-License-Identifier: Apache-2.0
#include "policy/compiler.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <cerrno>
#include <cstring>

#include <gtest/gtest.h>

#include "kb/knowledge_base.h"
#include "test_policy.h"

namespace ftsc::policy {
namespace {

using test::names;
using test::rule;

CompiledPolicy compile_spec(const PolicySpec& spec, CompileOptions opts = {}) {
  Resolved r = resolve(spec, kb::KnowledgeBase::builtin());
  EXPECT_TRUE(r.diags.empty()) << base::format_diagnostic(r.diags.front());
  auto c = compile(r.policy, kb::KnowledgeBase::builtin(), opts);
  EXPECT_TRUE(c.ok()) << c.error().message;
  return std::move(c.value());
}

TEST(Compiler, HeaderAndValidation) {
  PolicySpec spec;
  spec.rules.push_back(rule({"openat"}, {"ENOENT"}));
  CompiledPolicy p = compile_spec(spec);
  EXPECT_EQ(p->magic, FTSC_POLICY_MAGIC);
  EXPECT_EQ(p->version, FTSC_POLICY_VERSION);
  EXPECT_EQ(p->size, sizeof(ftsc_policy));
  EXPECT_EQ(ftsc_policy_validate(p.get(), sizeof *p), FTSC_POLICY_OK);
  EXPECT_EQ(p->budget_window_ns, 10'000'000'000u);
  EXPECT_EQ(p->budget_max_wait_ns, 2'000'000'000u);
  EXPECT_EQ(p->flags & FTSC_POLICY_OBSERVE, 0u);
}

TEST(Compiler, CellsMatchTheEffectivePolicyAndLookUpInConstantTime) {
  PolicySpec spec;
  spec.rules.push_back(rule({"openat"}, {"ENOENT"}, {"EACCES"}));
  RuleSpec slow = rule({"connect"}, {"ECONNREFUSED"}, {}, 5);
  slow.backoff = BackoffSpec{};
  slow.backoff->form = BackoffSpec::Form::kExponential;
  slow.backoff->base = std::chrono::milliseconds(20);
  slow.backoff->factor = 2;
  slow.backoff->cap = std::chrono::milliseconds(50);
  slow.backoff->attempts = 4;
  slow.jitter = 0.2;
  slow.deadline = std::chrono::seconds(1);
  spec.rules.push_back(slow);
  CompiledPolicy p = compile_spec(spec);

  uint8_t c = ftsc_policy_cell(p.get(), SYS_openat, ENOENT);
  EXPECT_EQ(FTSC_CELL_DECISION(c), FTSC_RETRY);
  const ftsc_schedule& def = p->schedules[FTSC_CELL_SCHEDULE(c)];
  ASSERT_EQ(def.n_delays, 3u);
  EXPECT_EQ(def.delay_ns[0], 10'000'000u);
  EXPECT_EQ(def.delay_ns[1], 50'000'000u);
  EXPECT_EQ(def.delay_ns[2], 100'000'000u);
  EXPECT_EQ(FTSC_CELL_DECISION(ftsc_policy_cell(p.get(), SYS_openat, EACCES)), FTSC_NEVER);
  EXPECT_EQ(ftsc_policy_cell(p.get(), SYS_openat, EIO), FTSC_UNSET);
  EXPECT_EQ(ftsc_policy_cell(p.get(), SYS_read, ENOENT), FTSC_UNSET);
  // Out of range asks are unset, not out-of-bounds reads.
  EXPECT_EQ(ftsc_policy_cell(p.get(), -1, ENOENT), FTSC_UNSET);
  EXPECT_EQ(ftsc_policy_cell(p.get(), 100000, ENOENT), FTSC_UNSET);
  EXPECT_EQ(ftsc_policy_cell(p.get(), SYS_openat, 512), FTSC_UNSET);
  EXPECT_EQ(ftsc_policy_cell(p.get(), SYS_openat, -2), FTSC_UNSET);

  uint8_t cc = ftsc_policy_cell(p.get(), SYS_connect, ECONNREFUSED);
  ASSERT_EQ(FTSC_CELL_DECISION(cc), FTSC_RETRY);
  const ftsc_schedule& exp = p->schedules[FTSC_CELL_SCHEDULE(cc)];
  ASSERT_EQ(exp.n_delays, 4u);
  EXPECT_EQ(exp.delay_ns[0], 20'000'000u);
  EXPECT_EQ(exp.delay_ns[1], 40'000'000u);
  EXPECT_EQ(exp.delay_ns[2], 50'000'000u);  // capped
  EXPECT_EQ(exp.delay_ns[3], 50'000'000u);
  EXPECT_EQ(exp.jitter_ppm, 200'000u);
  EXPECT_EQ(exp.deadline_ns, 1'000'000'000u);

  EXPECT_TRUE(p->syscalls[SYS_openat].flags & FTSC_SC_IN_POLICY);
  EXPECT_TRUE(p->syscalls[SYS_connect].flags & FTSC_SC_IN_POLICY);
  EXPECT_FALSE(p->syscalls[SYS_read].flags & FTSC_SC_IN_POLICY);
}

TEST(Compiler, RoundTripsThroughBytes) {
  PolicySpec spec;
  spec.rules.push_back(rule({"openat", "mmap"}, {"ENOENT", "ENOMEM"}, {"EINVAL"}));
  spec.rules.back().undecided = names({"EINTR"});
  CompiledPolicy p = compile_spec(spec);
  std::string bytes(policy_bytes(*p));
  auto back = load_compiled(bytes);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(std::memcmp(back->get(), p.get(), sizeof(ftsc_policy)), 0);

  Resolved r = resolve(spec, kb::KnowledgeBase::builtin());
  std::vector<CompiledCell> expected;
  for (const auto& [key, c] : r.policy.cells)
    expected.push_back(
        {key.first, key.second, static_cast<unsigned>(c.decision),
         c.decision == CellDecision::kRetry ? static_cast<unsigned>(c.schedule) : 0});
  std::sort(expected.begin(), expected.end(), [](const CompiledCell& a, const CompiledCell& b) {
    return std::pair(a.nr, a.err) < std::pair(b.nr, b.err);
  });
  EXPECT_EQ(compiled_cells(**back), expected);
  EXPECT_EQ(FTSC_CELL_DECISION(ftsc_policy_cell(back->get(), SYS_mmap, EINTR)), FTSC_UNDECIDED);
}

TEST(Compiler, RejectsDamagedBlocks) {
  PolicySpec spec;
  spec.rules.push_back(rule({"openat"}, {"ENOENT"}));
  CompiledPolicy p = compile_spec(spec);
  std::string good(policy_bytes(*p));

  auto expect_rejected = [&](std::string bytes, const char* needle) {
    auto r = load_compiled(bytes);
    ASSERT_FALSE(r.ok()) << needle;
    EXPECT_NE(r.error().message.find(needle), std::string::npos) << r.error().message;
  };
  expect_rejected(good.substr(0, good.size() - 1), "bytes, expected");
  auto patched = [&](auto mutate) {
    ftsc_policy copy;
    std::memcpy(&copy, good.data(), sizeof copy);
    mutate(copy);
    return std::string(reinterpret_cast<const char*>(&copy), sizeof copy);
  };
  expect_rejected(patched([](ftsc_policy& c) { c.magic ^= 1; }), "bad magic");
  expect_rejected(patched([](ftsc_policy& c) { c.version = 99; }), "another ABI version");
  expect_rejected(patched([](ftsc_policy& c) { c.size = 12; }), "size field");
  expect_rejected(patched([](ftsc_policy& c) { c.n_schedules = FTSC_SCHEDULES_MAX + 1; }),
                  "count out of range");
  expect_rejected(patched([](ftsc_policy& c) { c.schedules[0].n_delays = 99; }), "schedule");
  expect_rejected(patched([](ftsc_policy& c) { c.cells[SYS_read][EIO] = FTSC_CELL_MAKE(1, 63); }),
                  "schedule that does not exist");
  expect_rejected(patched([](ftsc_policy& c) { c.syscalls[SYS_read].fd_arg = 7; }),
                  "syscall entry");
  expect_rejected(patched([](ftsc_policy& c) {
                    c.n_injects = 1;
                    c.injects[0] = ftsc_inject{};
                  }),
                  "injection");
  expect_rejected(patched([](ftsc_policy& c) { std::memset(c.target.comm, 'x', FTSC_COMM_LEN); }),
                  "target");
}

TEST(Compiler, GuardTraitsComeFromTheKnowledgeBase) {
  PolicySpec spec;
  CompiledPolicy p = compile_spec(spec);
  const ftsc_syscall& close_sc = p->syscalls[SYS_close];
  EXPECT_TRUE(close_sc.flags & FTSC_SC_NEVER_RETRY);
  const ftsc_syscall& recv = p->syscalls[SYS_recvfrom];
  EXPECT_EQ(recv.fd_arg, 0);
  EXPECT_TRUE(recv.flags & FTSC_SC_GUARD_NONBLOCK_FD);
  EXPECT_TRUE(recv.nonblock_mask & MSG_DONTWAIT);
  EXPECT_TRUE(ftsc_is_protocol_errno(&recv, EAGAIN));
  const ftsc_syscall& fcntl_sc = p->syscalls[SYS_fcntl];
  EXPECT_TRUE(fcntl_sc.flags & FTSC_SC_GUARD_NONBLOCK_CMD);
  EXPECT_TRUE(fcntl_sc.nonblock_cmds[0] == F_SETLK || fcntl_sc.nonblock_cmds[1] == F_SETLK);
  EXPECT_TRUE(p->syscalls[SYS_futex].flags & FTSC_SC_GUARD_ALWAYS);
  // A number without a syscall has no arguments to look at.
  EXPECT_EQ(p->syscalls[400].fd_arg, FTSC_ARG_NONE);
}

TEST(Compiler, NeverRetriedSyscallsAreNotWatched) {
  PolicySpec spec;
  spec.rules.push_back(rule({"close"}, {"EIO"}));
  CompiledPolicy p = compile_spec(spec);
  EXPECT_FALSE(p->syscalls[SYS_close].flags & FTSC_SC_IN_POLICY);
}

TEST(Compiler, ObserveModeAndDryRunSetTheFlag) {
  PolicySpec spec;
  spec.mode = Mode::kObserve;
  EXPECT_TRUE(compile_spec(spec)->flags & FTSC_POLICY_OBSERVE);
  PolicySpec enforce;
  EXPECT_TRUE(compile_spec(enforce, CompileOptions{true})->flags & FTSC_POLICY_OBSERVE);
}

TEST(Compiler, TargetAndInjections) {
  PolicySpec spec;
  spec.target.uid = 1000;
  spec.target.comm = "backup-agent";
  spec.target.cgroup = "/system.slice/app.service";
  InjectSpec in;
  in.syscalls = names({"openat"});
  in.error = {"ENOENT", {}};
  in.first = 2;
  in.last = 6;
  in.step = 2;
  in.probability = 0.5;
  in.seed = 7;
  spec.injects.push_back(in);
  CompiledPolicy p = compile_spec(spec);
  EXPECT_EQ(p->target.flags, FTSC_TARGET_UID | FTSC_TARGET_COMM | FTSC_TARGET_CGROUP);
  EXPECT_EQ(p->target.uid, 1000u);
  EXPECT_STREQ(p->target.comm, "backup-agent");
  EXPECT_STREQ(p->target.cgroup, "/system.slice/app.service");
  ASSERT_EQ(p->n_injects, 1u);
  EXPECT_EQ(p->injects[0].nr, SYS_openat);
  EXPECT_EQ(p->injects[0].first, 2u);
  EXPECT_EQ(p->injects[0].step, 2u);
  EXPECT_EQ(p->injects[0].p_scaled, 0x80000000u);
  EXPECT_TRUE(p->syscalls[SYS_openat].flags & FTSC_SC_INJECT);

  spec.target = {};
  spec.target.comm = "a-name-longer-than-fifteen";
  Resolved r = resolve(spec, kb::KnowledgeBase::builtin());
  auto bad = compile(r.policy, kb::KnowledgeBase::builtin());
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("longer than 15 bytes"), std::string::npos);
}

TEST(Compiler, InjectionMatchesWhenExpressions) {
  ftsc_policy p{};
  p.n_injects = 1;
  p.injects[0] = ftsc_inject{static_cast<uint16_t>(SYS_openat), ENOENT, 0, 1, 2, 1, 0, 0};
  p.syscalls[SYS_openat].flags = FTSC_SC_INJECT;
  EXPECT_EQ(ftsc_policy_inject(&p, SYS_openat, 1), ENOENT);
  EXPECT_EQ(ftsc_policy_inject(&p, SYS_openat, 2), ENOENT);
  EXPECT_EQ(ftsc_policy_inject(&p, SYS_openat, 3), 0);  // 1..2: the third attempt runs
  EXPECT_EQ(ftsc_policy_inject(&p, SYS_read, 1), 0);
  p.injects[0] = ftsc_inject{static_cast<uint16_t>(SYS_openat), EIO, 0, 3, UINT32_MAX, 4, 0, 0};
  EXPECT_EQ(ftsc_policy_inject(&p, SYS_openat, 3), EIO);
  EXPECT_EQ(ftsc_policy_inject(&p, SYS_openat, 5), 0);
  EXPECT_EQ(ftsc_policy_inject(&p, SYS_openat, 7), EIO);
  EXPECT_EQ(ftsc_policy_inject(&p, SYS_openat, 4003), EIO);
}

}  // namespace
}  // namespace ftsc::policy
