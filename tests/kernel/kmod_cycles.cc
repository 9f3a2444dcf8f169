// SPDX-License-Identifier: Apache-2.0
// kmod_cycles: the unload stress's driver (vm/kmod_unload_stress.sh). While
// kmod_stress's threads make hooked calls in the cgroup CGROUP, it inserts
// the module, loads, replaces and detaches policies, and removes the module,
// CYCLES times, through the library behind `ftsc kmod` (src/kmod/control.h)
// rather than the CLI, so that a cycle costs what the kernel does and not
// five process start-ups in an emulated CPU.
//
//   kmod_cycles CYCLES KO CGROUP STRESS_PID
//
// A cycle: insert; load A (openat ENOENT retried after milliseconds, openat
// ENOTDIR after 10 s, read EIO, mmap and munmap ENOMEM); let the stress's
// readers go (SIGUSR2), so that they block in read again, hooked; load B (no
// mmap, munmap: their hooks go while the mapper is in them); load A again;
// every other cycle, detach and load B. By then the sleepy openers sleep in a
// 10 s backoff, under the current policy or under one that was replaced since.
// Then remove: the detach must wake every sleeper, so within 3 s the only
// calls that still hold the module are reads inside the syscall; the readers
// are let go and the module must then go at once. Anything else (a sleeper
// that stays, an unload that fails for another reason, the module still
// there) fails the run. Prints what the unloads met and how long each step
// took; exits 0 when every cycle went right.
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>

#include <fmt/format.h>

#include "kb/knowledge_base.h"
#include "kmod/control.h"
#include "policy/compiler.h"
#include "policy/effective_policy.h"
#include "policy/source.h"

namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void fail(const std::string& what) {
  fmt::print("FAIL: {}\n", what);
  std::fflush(stdout);
  std::exit(1);
}

constexpr const char* kPolicyA = R"(version = 1
[budget]
window = "24h"
max_wait = "24h"
[[rule]]
syscalls = ["openat"]
retry = ["ENOENT"]
backoff = ["1ms", "2ms", "5ms"]
[[rule]]
syscalls = ["openat"]
retry = ["ENOTDIR"]
backoff = ["10s", "10s", "10s", "10s", "10s", "10s", "10s", "10s"]
[[rule]]
syscalls = ["read"]
retry = ["EIO"]
[[rule]]
syscalls = ["mmap", "munmap"]
retry = ["ENOMEM"]
[target]
cgroup = "{}"
)";

constexpr const char* kPolicyB = R"(version = 1
[budget]
window = "24h"
max_wait = "24h"
[[rule]]
syscalls = ["openat"]
retry = ["ENOENT"]
backoff = ["2ms", "5ms"]
[[rule]]
syscalls = ["openat"]
retry = ["ENOTDIR"]
backoff = ["10s", "10s", "10s", "10s", "10s", "10s", "10s", "10s"]
[[rule]]
syscalls = ["read"]
retry = ["EIO"]
[target]
cgroup = "{}"
)";

ftsc::policy::CompiledPolicy compile(const char* text, const std::string& cgroup) {
  using namespace ftsc::policy;
  using ftsc::base::Diagnostic;
  using ftsc::base::format_diagnostic;
  using ftsc::base::has_errors;
  using ftsc::kb::KnowledgeBase;
  const std::string toml = fmt::format(fmt::runtime(text), cgroup);
  LoadedPolicy loaded = parse_policy_text(toml, "stress.toml");
  Resolved r = resolve(loaded.spec, KnowledgeBase::builtin());
  auto compiled = ftsc::policy::compile(r.policy, KnowledgeBase::builtin());
  if (has_errors(loaded.diags) || has_errors(r.diags) || !compiled)
    fail("a stress policy does not compile");
  return std::move(*compiled);
}

void sleep_ms(int ms) {
  const struct timespec ts = {ms / 1000, static_cast<long>(ms % 1000) * 1000000L};
  nanosleep(&ts, nullptr);
}

// Milliseconds spent per step, summed over the cycles.
struct Timing {
  double insert = 0, load = 0, replace = 0, detach = 0, remove = 0;
  long loads = 0, replaces = 0, detaches = 0;
};

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    fmt::print(stderr, "usage: kmod_cycles CYCLES KO CGROUP STRESS_PID\n");
    return 2;
  }
  const int cycles = std::atoi(argv[1]);
  const std::string ko = argv[2];
  const std::string cgroup = argv[3];
  const pid_t stress = static_cast<pid_t>(std::atol(argv[4]));
  const ftsc::policy::CompiledPolicy a = compile(kPolicyA, cgroup);
  const ftsc::policy::CompiledPolicy b = compile(kPolicyB, cgroup);
  const ftsc::kmod::Control control;
  auto let_readers_go = [&] {
    if (kill(stress, SIGUSR2) != 0)
      fail(fmt::format("kmod_stress (pid {}) is gone", stress));
  };

  Timing t;
  long asleep = 0, asleep_replaced = 0, reading = 0, refused = 0, waits = 0;
  const auto start = Clock::now();
  for (int cycle = 1; cycle <= cycles; ++cycle) {
    auto step = Clock::now();
    if (control.module_loaded())
      fail(fmt::format("cycle {}: the module is loaded before the cycle", cycle));
    if (auto r = control.insert_module(ko); !r)
      fail(fmt::format("cycle {}: insert: {}", cycle, r.error().message));
    t.insert += ms_since(step);

    auto load = [&](const ftsc::policy::CompiledPolicy& p, const char* what, double& sum,
                    long& count) {
      const auto s = Clock::now();
      if (auto r = control.load_policy(*p); !r)
        fail(fmt::format("cycle {}: {}: {}", cycle, what, r.error().message));
      sum += ms_since(s);
      ++count;
    };
    load(a, "load A", t.load, t.loads);
    let_readers_go();  // their reads began unhooked: let them read again, hooked
    sleep_ms(10);
    load(b, "A -> B", t.replace, t.replaces);
    sleep_ms(10);
    load(a, "B -> A", t.replace, t.replaces);
    sleep_ms(10);
    if (cycle % 2 == 1) {
      step = Clock::now();
      if (auto r = control.detach(); !r)
        fail(fmt::format("cycle {}: detach: {}", cycle, r.error().message));
      t.detach += ms_since(step);
      ++t.detaches;
      load(b, "load B after a detach", t.load, t.loads);
      sleep_ms(10);
    }

    // What the unload is about to meet.
    auto before = control.status();
    if (!before)
      fail(fmt::format("cycle {}: status: {}", cycle, before.error().message));
    for (const ftsc::kmod::InFlightCall& c : before->calls) {
      if (c.waiting) {
        ++asleep;
        if (c.policy_id != before->policy_id)
          ++asleep_replaced;
      } else if (c.syscall == "read") {
        ++reading;
      }
    }

    // Remove: every sleeper must be woken; only reads may hold the module.
    step = Clock::now();
    bool removed = false;
    for (;;) {
      auto out = control.remove_module(0);
      if (!out)
        fail(fmt::format("cycle {}: unload: {}", cycle, out.error().message));
      if (out->removed || !out->was_loaded) {
        removed = true;
        break;
      }
      bool only_reads = true;
      for (const ftsc::kmod::InFlightCall& c : out->status.calls)
        only_reads &= !c.waiting && c.syscall == "read";
      if (only_reads && out->status.in_flight == static_cast<long>(out->status.calls.size()))
        break;
      if (ms_since(step) > 3000)
        fail(fmt::format(
            "cycle {}: 3 s after the detach, calls other than reads still hold the module "
            "(policy {}):\n{}",
            cycle, out->status.policy_id, ftsc::kmod::describe_calls(out->status.calls)));
      ++waits;
      sleep_ms(5);
    }
    if (!removed) {
      ++refused;
      let_readers_go();
      const auto fed = Clock::now();
      for (;;) {
        auto out = control.remove_module(0);
        if (!out)
          fail(fmt::format("cycle {}: unload after the reads: {}", cycle, out.error().message));
        if (out->removed || !out->was_loaded)
          break;
        if (ms_since(fed) > 10000)
          fail(fmt::format("cycle {}: the module stayed 10 s after its reads returned:\n{}", cycle,
                           ftsc::kmod::describe_calls(out->status.calls)));
        sleep_ms(5);
      }
    }
    t.remove += ms_since(step);
    struct stat st {};
    if (stat("/sys/module/ftsc", &st) == 0)
      fail(fmt::format("cycle {}: /sys/module/ftsc is still there after the unload", cycle));
    if (cycle <= 3 || cycle % 100 == 0)
      fmt::print("cycle {}: {:.0f} s so far\n", cycle,
                 std::chrono::duration<double>(Clock::now() - start).count());
    std::fflush(stdout);
  }
  const double n = cycles;
  fmt::print(
      "{} cycles in {:.0f} s: the module was inserted and removed {} times, {} policies loaded, "
      "{} replaced, {} detached\n",
      cycles, std::chrono::duration<double>(Clock::now() - start).count(), cycles, t.loads,
      t.replaces, t.detaches);
  fmt::print(
      "at the unloads: {} calls asleep in backoffs ({} of them under a replaced policy), {} reads "
      "blocked in the syscall; {} unloads refused until the reads returned; {} retries of "
      "delete_module while woken calls left\n",
      asleep, asleep_replaced, reading, refused, waits);
  fmt::print(
      "mean ms per step: insert {:.1f}, load {:.1f}, replace {:.1f}, detach {:.1f}, unload "
      "{:.1f}\n",
      t.insert / n, t.load / static_cast<double>(t.loads),
      t.replace / static_cast<double>(t.replaces),
      t.detaches ? t.detach / static_cast<double>(t.detaches) : 0.0, t.remove / n);
  if (asleep_replaced == 0 || reading == 0 || asleep == asleep_replaced)
    fail(
        "the unloads never met sleepers under both a replaced and the current policy and "
        "blocked reads: the stress did not stress");
  return 0;
}
