// SPDX-License-Identifier: Apache-2.0
// The two pieces of the C++ runtime that the library's code refers to,
// defined here so that it needs no libstdc++ (CMakeLists.txt links it with
// the C driver and -z defs, which would name anything else).
//
// decide::GuardProbe has a virtual destructor, so the vtables of its classes
// hold a deleting destructor that calls operator delete, and pure virtual
// slots that name __cxa_pure_virtual. The library never allocates a probe
// (they live on the stack) nor calls a pure function: both only end the
// process. The version script (cxx_runtime.map) keeps them local, so they
// replace nothing in the program.
#include <sys/syscall.h>

#include <cstddef>

#include "preload/syscall_site.h"

namespace {

[[noreturn]] void unreachable_in_preload() {
  using ftsc::preload::raw_syscall;
  static const char kMessage[] = "ftsc-preload: internal error: C++ runtime function called\n";
  raw_syscall(SYS_write, 2, reinterpret_cast<long>(kMessage), sizeof kMessage - 1);
  raw_syscall(SYS_exit_group, 127);
  __builtin_unreachable();
}

}  // namespace

void operator delete(void*) noexcept {
  unreachable_in_preload();
}

void operator delete(void*, std::size_t) noexcept {
  unreachable_in_preload();
}

extern "C" void __cxa_pure_virtual() {
  unreachable_in_preload();
}
