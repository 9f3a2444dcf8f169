// SPDX-License-Identifier: Apache-2.0
// ftsc_test_probe: the capability probes (capabilities.h) for shell scripts
// and for people who want to know which tests will skip on their machine.
//
//   ftsc_test_probe NAME     exit 0 when the machine has it, else print the
//                            reason and exit 77 (ctest's SKIP_RETURN_CODE)
//   ftsc_test_probe          every probe, one line each
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "support/capabilities.h"

namespace {

struct Probe {
  const char* name;
  const char* needed_by;
  std::function<std::string()> run;
};

std::vector<Probe> probes() {
  const std::string i386 = std::string(FTSC_ENGINE_PROGS) + "/i386_exit";
  return {
      {"exec_32bit", "Supervisor.ThirtyTwoBitProgramRunsAndIsSaidToGoWithoutRetries",
       [i386] { return ftsc::test::exec_32bit_missing(i386); }},
      {"int80", "Robustness.OtherArchitecturesEntryPointsAreAllowed (X32EntryPointIsAllowed runs)",
       ftsc::test::int80_missing},
      {"ebpf", "the eBPF tests of ProfileCommand, ProfileSystem, ProfileLive, ProfileInterrupt",
       ftsc::test::ebpf_missing},
      {"cgroup2", "ProfileSystem.CgroupFilterCountsTheCgroupsTasks",
       [] {
         std::string root;
         return ftsc::test::cgroup2_missing(&root);
       }},
      {"pidfd_getfd", "Guards.NonBlockingFlagAndSocketTimeoutAreTheProgramsProtocol/ptrace",
       ftsc::test::pidfd_getfd_missing},
      {"loopback", "scenario late_server (it checks for itself), scripts that serve on 127.0.0.1",
       ftsc::test::loopback_port_missing},
      {"terminal", "Robustness.TerminalCtrlCReachesTheProgramOnce, ProfileLive",
       ftsc::test::terminal_missing},
      {"unprivileged", "ProfileCommand.FallsBackToPtraceAndSaysSoWithoutRoot",
       [] { return ftsc::test::unprivileged_user_missing(FTSC_BINARY); }},
      {"chromium", "ProfileReport.HeadlessChromiumShowsTheChartsOfARealProfile",
       ftsc::test::chromium_missing},
      {"socket_activate", "SystemdService.SocketActivationReachesTheCommand",
       ftsc::test::socket_activate_missing},
      {"systemd_analyze", "SystemdUnit.KmodServiceVerifies", ftsc::test::systemd_analyze_missing},
      {"strace", "scripts and benchmarks that compare with strace", ftsc::test::strace_missing},
      {"valgrind", "scripts that run a program under valgrind", ftsc::test::valgrind_missing},
  };
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<Probe> all = probes();
  if (argc == 2) {
    for (const Probe& p : all) {
      if (argv[1] != std::string(p.name))
        continue;
      std::string why = p.run();
      if (why.empty())
        return 0;
      std::printf("%s\n", why.c_str());
      return 77;
    }
  }
  if (argc != 1) {
    std::fprintf(stderr, "usage: ftsc_test_probe [NAME]; names:");
    for (const Probe& p : all)
      std::fprintf(stderr, " %s", p.name);
    std::fprintf(stderr, "\n");
    return 2;
  }
  for (const Probe& p : all) {
    std::string why = p.run();
    std::printf("%-13s %s\n", p.name, why.empty() ? "yes" : ("no: " + why).c_str());
    if (!why.empty())
      std::printf("%-13s   skips: %s\n", "", p.needed_by);
  }
  return 0;
}
