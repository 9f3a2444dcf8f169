// SPDX-License-Identifier: Apache-2.0
// What the machine can do, asked the way a user would find out: by trying.
//
// A test that needs a capability the machine may lack (a 32-bit program, the
// int 0x80 entry, eBPF with BTF, a cgroup v2 group, pidfd_getfd, a loopback
// port, a pseudo-terminal, another user, Chromium, strace, valgrind,
// systemd's socket activation and unit checker) asks one
// of these probes first and skips with its answer:
//
//   if (std::string why = ftsc::test::pidfd_getfd_missing(); !why.empty())
//     GTEST_SKIP() << why;
//
// Each probe really does the thing (execs the program, loads and attaches the
// BPF program, moves a process into a new cgroup, takes an fd from a child,
// binds and connects on 127.0.0.1, runs the tool) and returns "" when it
// worked, otherwise one line that says what failed and with which error. No
// probe reads a kernel configuration or guesses from a file's presence: a
// capability compiled in but refused at run time (IA32 emulation switched off,
// a container's seccomp profile, a network namespace whose loopback is down)
// is missing, and the answer says so.
//
// A probe must not hide a fault of ftsc: none runs ftsc, so a test skips only
// for what the machine refuses, never for what ftsc gets wrong.
//
// Shell-driven tests ask the same probes through `ftsc_test_probe NAME`
// (exit 0 when present, 77 with the reason when missing).
#pragma once

#include <string>

namespace ftsc::test {

// The full path of `name` as execvp(3) would find it in PATH, or "".
std::string find_program(const std::string& name);

// Execs `program`, an i386 ELF program: missing when the kernel refuses it.
// How the program then ends is the test's business, not the probe's.
std::string exec_32bit_missing(const std::string& program);

// Makes a syscall through int 0x80 (i386 getpid) from this 64-bit process, in
// a child.
std::string int80_missing();

// Loads a tp_btf/sys_enter program against the kernel's BTF and attaches it,
// as `ftsc profile --tracer ebpf` does.
std::string ebpf_missing();

// Finds the cgroup v2 hierarchy, creates a group under it and moves a child
// process into it. On success `root` is the hierarchy's mount point.
std::string cgroup2_missing(std::string* root);

// Takes an fd of a child process with pidfd_open(2) and pidfd_getfd(2), as
// the ptrace engine's socket-timeout guard does.
std::string pidfd_getfd_missing();

// Binds a port on 127.0.0.1, listens, connects to it and accepts.
std::string loopback_port_missing();

// Runs `true` on a pseudo-terminal with script(1).
std::string terminal_missing();

// Runs `program --version` as user and group 65534 (nobody) with setpriv(1).
std::string unprivileged_user_missing(const std::string& program);

// Loads a small page in headless Chromium and reads back its DOM.
std::string chromium_missing();

// Starts `true` with systemd-socket-activate(1) listening on a Unix socket,
// connects to it and sees `true` run and the tool exit 0.
std::string socket_activate_missing();

// Checks a minimal service unit with `systemd-analyze verify` (it needs no
// systemd running as PID 1).
std::string systemd_analyze_missing();

// Runs `true` under strace(1), under valgrind(1).
std::string strace_missing();
std::string valgrind_missing();

}  // namespace ftsc::test
