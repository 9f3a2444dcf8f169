// SPDX-License-Identifier: Apache-2.0
// The eBPF collector of a build configured with -DFTSC_BPF=OFF (no libbpf,
// clang or bpftool needed): it never opens, and says why, so `ftsc profile`
// of a command falls back to ptrace and the system-wide profile, which needs
// eBPF, reports the reason.
#include "observe/bpf_collector.h"

namespace ftsc::observe {

struct BpfCollector::Impl {};

BpfCollector::BpfCollector() = default;
BpfCollector::~BpfCollector() = default;

std::string ebpf_unavailable_reason() {
  return "this ftsc was built without its eBPF collector (-DFTSC_BPF=OFF)";
}

base::Result<std::unique_ptr<BpfCollector>> BpfCollector::open(const BpfTarget&) {
  return base::Error{"eBPF is unavailable: " + ebpf_unavailable_reason(),
                     {},
                     "rebuild ftsc with -DFTSC_BPF=ON (libbpf-dev, clang, bpftool)"};
}

void BpfCollector::add_process(pid_t, bool) {}

bool BpfCollector::registered() const {
  return false;
}

profile::ProfileCounts BpfCollector::read() const {
  return {};
}

}  // namespace ftsc::observe
