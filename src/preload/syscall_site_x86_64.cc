// SPDX-License-Identifier: Apache-2.0
// The preload library's one `syscall` instruction, for x86_64 (see
// syscall_site.h). The function takes the number and six arguments in the C
// calling convention (rdi, rsi, rdx, rcx, r8, r9, then the stack) and moves
// them to the kernel's (rax; rdi, rsi, rdx, r10, r8, r9), as glibc's
// syscall(3) does. The kernel clobbers rcx and r11 only, both caller-saved.
// The code is position-independent and self-contained, so that the `auto`
// engine can copy it to the syscall page; the assembler checks that the
// `syscall` instruction sits where preload_interface.h says (and the library
// checks it again before it copies the function).
#include "preload/preload_interface.h"
#include "preload/syscall_site.h"

#define FTSC_STRINGIFY_(x) #x
#define FTSC_STRINGIFY(x) FTSC_STRINGIFY_(x)

namespace ftsc::preload {
SiteFn g_site = &ftsc_preload_raw_syscall;
}  // namespace ftsc::preload

asm(R"(
  .text
  .globl ftsc_preload_raw_syscall
  .hidden ftsc_preload_raw_syscall
  .type ftsc_preload_raw_syscall, @function
  .p2align 4
ftsc_preload_raw_syscall:
  .cfi_startproc
  endbr64
  movq %rdi, %rax
  movq %rsi, %rdi
  movq %rdx, %rsi
  movq %rcx, %rdx
  movq %r8, %r10
  movq %r9, %r8
  movq 8(%rsp), %r9
  .globl ftsc_preload_syscall_instruction
  .hidden ftsc_preload_syscall_instruction
ftsc_preload_syscall_instruction:
  syscall
  ret
  .globl ftsc_preload_raw_syscall_end
  .hidden ftsc_preload_raw_syscall_end
ftsc_preload_raw_syscall_end:
  .cfi_endproc
  .size ftsc_preload_raw_syscall, .-ftsc_preload_raw_syscall
)");

// GNU as evaluates the distance of two labels of one section in `.if`;
// clang's assembler wants an absolute expression there, so a clang build
// relies on the library's check at start-up (runtime.cc, map_syscall_page).
#ifndef __clang__
asm(R"(
  .if (ftsc_preload_syscall_instruction - ftsc_preload_raw_syscall) - )" FTSC_STRINGIFY(
    FTSC_SYSCALL_PAGE_SYSCALL_OFFSET) R"(
  .error "the syscall instruction moved: update FTSC_SYSCALL_PAGE_SYSCALL_OFFSET"
  .endif
)");
#endif
