// SPDX-License-Identifier: Apache-2.0
// The code every patched syscall site reaches, for x86_64 (patcher.cc
// explains the patching).
//
// A site's trampoline runs the instructions the patch displaced (the ones
// before the `syscall`), steps over the red zone (rsp -= 128), pushes the
// address right after the original `syscall` and jumps here with the
// kernel's registers: rax the number, rdi, rsi, rdx, r10, r8, r9 the
// arguments. The stub saves every register the kernel would have kept (all
// but rax, rcx and r11; rcx and r11 too, and xmm0-15, which the C++
// dispatcher may use), aligns the stack, calls ftsc_preload_patched_dispatch
// with the saved number and arguments, restores the registers and returns to
// the site with `ret $128`, which gives the red zone back: the program
// continues after its `syscall` with the result in rax, as if the kernel
// had answered.
//
// Its call frame information describes that return: the return address is
// the site in libc and the caller's stack pointer is the one the site had,
// so an unwinder (a pthread_cancel of a thread blocked in a patched read,
// which glibc 2.36 acts on asynchronously from its signal handler) walks
// from the dispatcher through this stub into libc's function and on through
// the program's frames, as it would from the kernel's `syscall`.
#include "preload/patcher.h"

asm(R"(
  .text
  .globl ftsc_preload_patched_stub
  .hidden ftsc_preload_patched_stub
  .type ftsc_preload_patched_stub, @function
  .p2align 4
ftsc_preload_patched_stub:
  .cfi_startproc
  .cfi_def_cfa %rsp, 136
  .cfi_offset 16, -136
  pushq %rbx
  .cfi_adjust_cfa_offset 8
  .cfi_offset %rbx, -144
  movq %rsp, %rbx
  .cfi_def_cfa_register %rbx
  andq $-16, %rsp
  subq $264, %rsp
  movaps %xmm0, 8(%rsp)
  movaps %xmm1, 24(%rsp)
  movaps %xmm2, 40(%rsp)
  movaps %xmm3, 56(%rsp)
  movaps %xmm4, 72(%rsp)
  movaps %xmm5, 88(%rsp)
  movaps %xmm6, 104(%rsp)
  movaps %xmm7, 120(%rsp)
  movaps %xmm8, 136(%rsp)
  movaps %xmm9, 152(%rsp)
  movaps %xmm10, 168(%rsp)
  movaps %xmm11, 184(%rsp)
  movaps %xmm12, 200(%rsp)
  movaps %xmm13, 216(%rsp)
  movaps %xmm14, 232(%rsp)
  movaps %xmm15, 248(%rsp)
  pushq %rcx
  pushq %r11
  pushq %r9
  pushq %r8
  pushq %r10
  pushq %rdx
  pushq %rsi
  pushq %rdi
  pushq %rax
  movq %rsp, %rdi
  call ftsc_preload_patched_dispatch
  addq $8, %rsp
  popq %rdi
  popq %rsi
  popq %rdx
  popq %r10
  popq %r8
  popq %r9
  popq %r11
  popq %rcx
  movaps 8(%rsp), %xmm0
  movaps 24(%rsp), %xmm1
  movaps 40(%rsp), %xmm2
  movaps 56(%rsp), %xmm3
  movaps 72(%rsp), %xmm4
  movaps 88(%rsp), %xmm5
  movaps 104(%rsp), %xmm6
  movaps 120(%rsp), %xmm7
  movaps 136(%rsp), %xmm8
  movaps 152(%rsp), %xmm9
  movaps 168(%rsp), %xmm10
  movaps 184(%rsp), %xmm11
  movaps 200(%rsp), %xmm12
  movaps 216(%rsp), %xmm13
  movaps 232(%rsp), %xmm14
  movaps 248(%rsp), %xmm15
  movq %rbx, %rsp
  .cfi_def_cfa_register %rsp
  popq %rbx
  .cfi_adjust_cfa_offset -8
  .cfi_restore %rbx
  ret $128
  .cfi_endproc
  .size ftsc_preload_patched_stub, .-ftsc_preload_patched_stub
)");
