// The preload library's one `syscall` instruction, for x86_64 (see
// syscall_site.h). The function takes the number and six arguments in the C
// calling convention (rdi, rsi, rdx, rcx, r8, r9, then the stack) and moves
// them to the kernel's (rax; rdi, rsi, rdx, r10, r8, r9), as glibc's
// syscall(3) does. The kernel clobbers rcx and r11 only, both caller-saved.
#include "preload/syscall_site.h"

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
  .cfi_endproc
  .size ftsc_preload_raw_syscall, .-ftsc_preload_raw_syscall
)");
