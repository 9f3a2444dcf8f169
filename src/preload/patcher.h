// SPDX-License-Identifier: Apache-2.0
// Hot-patching the `syscall` instructions of libc and of libraries loaded
// later with dlopen, so that the calls libc makes internally (fopen's openat,
// stdio's read and write, malloc's mmap, getaddrinfo's connect) reach the
// library's dispatcher as the wrappers' calls do. patcher.cc explains how.
#pragma once

namespace ftsc::preload {

// Patches libc's syscall sites and installs the hook that patches libraries
// loaded later. Called once by the library's constructor, after the library
// initialised and before the program's main(); does nothing when the library
// is inactive, when FTSC_PRELOAD_PATCH=0, or when libc is not one the
// analysis recognises. With `ftsc run -v` it says what it patched, per library.
void patch_syscall_sites() __attribute__((visibility("hidden")));

// The library stepped aside (the program confined itself): every patched
// site makes its call at its trampoline's own syscall from now on.
void forget_handled_syscalls() __attribute__((visibility("hidden")));

// Whether a patched site of libc makes mmap (and none that makes mmap was
// left alone): then malloc's own mmap is retried at that site, and the
// allocator wrappers retry nothing more (one layer per call).
bool allocator_calls_patched() __attribute__((visibility("hidden")));

}  // namespace ftsc::preload

extern "C" {
// The stub a patched site's trampoline jumps to (patch_stub_x86_64.cc).
void ftsc_preload_patched_stub() __attribute__((visibility("hidden")));
// Makes the call of a patched site: frame holds the number and the six
// arguments; returns the kernel's result as the site expects it (runtime.cc).
long ftsc_preload_patched_dispatch(const long* frame) __attribute__((visibility("hidden")));
}
