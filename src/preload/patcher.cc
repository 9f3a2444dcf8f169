// SPDX-License-Identifier: Apache-2.0
// Hot-patching the `syscall` instructions of libc (at start-up) and of the
// libraries a program loads later with dlopen.
//
// How it works. The wrappers see the calls a program makes through libc's
// exported functions; the calls libc makes internally (fopen's openat,
// stdio's read and write, opendir, malloc's mmap, getaddrinfo's connect) bind
// inside libc and never reach them. So the library rewrites libc's code, as
// pmem's syscall_intercept does: the constructor finds libc's executable
// segment (dl_iterate_phdr), looks for the bytes of `syscall` (0f 05), and for
// each finds the function that holds it in .eh_frame_hdr's table of function
// starts and decodes that function from its start with capstone (Debian's
// libcapstone, loaded with dlopen, RTLD_LOCAL | RTLD_DEEPBIND, only when an
// object needs analysing: a program's own capstone of another version stays
// its own, and a process with patching off maps none of it). The result is
// shared by the processes of a run ("The run's shared analyses" below): only
// the first one that meets an object decodes it. A match that is
// not an instruction is no site. A site's window is the `syscall` and the
// whole instructions right before it, at least 5 bytes (`mov $nr, %eax;
// syscall` is 7). The window is replaced by a `jmp rel32` to the site's
// trampoline, mapped within reach (±2 GiB) of the text, which runs the
// displaced instructions (a RIP-relative operand's displacement fixed for
// its new address), hands a number that must run where libc runs it
// (rt_sigreturn, clone, fork, vfork, clone3: a new stack or none returns from
// them), and one the library does not handle (a byte table), to a `syscall`
// of its own, and for any other steps over the red
// zone, pushes the address after the original `syscall` and jumps to the
// library's stub (patch_stub_x86_64.cc), which calls
// ftsc_preload_patched_dispatch (runtime.cc): the call is handled as the
// wrappers handle theirs and made from the library's one syscall site, so
// `auto`'s filter lets it through, and the result returns to libc after its
// `syscall`.
//
// A site is left alone (and so stays the supervisor's under `auto`) when it
// is not on the decoded path of its function; when its window would hold a
// branch (a jump, call, return or another syscall) or reach the start of the
// function; when a jump lands inside the window (the function's own jumps
// are found by decoding it; jumps with a 32-bit displacement from anywhere,
// a function's cold part among them, by a scan of the segment's bytes, which
// may see jumps that are none: that only leaves more sites alone; a function
// with an indirect jump that is not a tail call through memory, a jump
// table, keeps all its sites); when the window loads a number that cannot
// return through a trampoline, or its function is a signal trampoline (an
// FDE of a CIE with the 'S' augmentation: glibc's __restore_rt, whose FDE
// starts a byte early, so that decoding from there goes astray); when no
// trampoline can be mapped within reach; or when mprotect(2) refuses to make
// the text writable (a W^X policy, said with -v; the original bytes are
// written back if anything fails midway). Only glibc 2.26 to 2.40, whose
// cancellation does not look at the address of the syscall instruction, and
// objects whose .eh_frame_hdr table has the usual encoding are analysed; any
// other is left unpatched, never corrupted.
//
// When. libc is patched by the constructor, before main() and before other
// threads run (unless an earlier constructor started one). Later libraries
// are patched when the dynamic loader announces them to debuggers: ld.so
// calls _dl_debug_state() (r_debug.r_brk, <link.h>) with r_state
// RT_CONSISTENT once a dlopen mapped its objects and before it relocates
// them or runs their constructors, so no thread runs their code yet; the
// library patches that function (an empty one: `ret` and padding) to call its
// hook. A debugger's breakpoint on it keeps working. A lock serialises the
// patching; the loader's own lock serialises dlopens. Objects with text
// relocations and Go's runtime (whose goroutine stacks are too small for
// the dispatcher) are left alone, as are the loader, the vDSO, this library
// and capstone. A fork child inherits the patched text; an exec'd program
// patches its own.
#include "preload/patcher.h"

#include <capstone/capstone.h>
#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <gnu/libc-version.h>
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <cstdint>
#include <initializer_list>

#include "abi/compiled_policy.h"
#include "preload/preload_interface.h"
#include "preload/runtime.h"
#include "preload/syscall_site.h"

namespace ftsc::preload {
namespace {

// ---- output and memory -------------------------------------------------------

// One line on stderr, prefixed as the run time's (`-v` only).
void say(const char* text) {
  char line[600];
  int n =
      snprintf(line, sizeof line, "ftsc-preload: [pid %ld] %s\n", raw_syscall(SYS_getpid), text);
  if (n > 0)
    raw_syscall(SYS_write, 2, reinterpret_cast<long>(line),
                n < static_cast<int>(sizeof line) ? n : static_cast<int>(sizeof line) - 1);
}

const char* error_name(long r) {
  const char* name = strerrorname_np(static_cast<int>(-r));
  return name != nullptr ? name : "an unknown errno";
}

constexpr uintptr_t kPage = 4096;

uintptr_t page_down(uintptr_t a) {
  return a & ~(kPage - 1);
}
uintptr_t page_up(uintptr_t a) {
  return (a + kPage - 1) & ~(kPage - 1);
}

void* map_anonymous(size_t bytes) {
  long m = raw_syscall(SYS_mmap, 0, static_cast<long>(page_up(bytes)), PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return is_error(m) ? nullptr : reinterpret_cast<void*>(m);
}

void unmap(void* p, size_t bytes) {
  if (p != nullptr)
    raw_syscall(SYS_munmap, reinterpret_cast<long>(p), static_cast<long>(page_up(bytes)));
}

bool within_rel32(uintptr_t from, uintptr_t to) {
  const int64_t d = static_cast<int64_t>(to) - static_cast<int64_t>(from);
  return d > INT32_MIN + 4096 && d < INT32_MAX - 4096;
}

// Maps `bytes` read-write within rel32 reach of [low, high): below it first
// (the loader maps libraries top-down, so the space below the lowest is
// free), then above. Null when nothing is free within reach.
uintptr_t map_near(uintptr_t low, uintptr_t high, size_t bytes) {
  bytes = page_up(bytes);
  constexpr uintptr_t kStep = uintptr_t{1} << 20;
  for (uintptr_t k = 1; k < 1024; ++k) {
    for (int above = 0; above < 2; ++above) {
      uintptr_t hint;
      if (above != 0)
        hint = page_up(high) + k * kStep;
      else if (page_down(low) > k * kStep + bytes)
        hint = page_down(low) - k * kStep - bytes;
      else
        continue;
      long m = raw_syscall(SYS_mmap, static_cast<long>(hint), static_cast<long>(bytes),
                           PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
      if (is_error(m))
        continue;
      const auto got = static_cast<uintptr_t>(m);
      if (got == hint && within_rel32(got, low) && within_rel32(got + bytes, high))
        return got;
      raw_syscall(SYS_munmap, m, static_cast<long>(bytes));  // an old kernel's hint
    }
  }
  return 0;
}

// ---- capstone ------------------------------------------------------------------

// Two decoders: `handle` without details for the sweep of a function (most
// of the time goes to details), `detailed` for the few instructions a
// window displaces.
struct Capstone {
  csh handle = 0;
  csh detailed = 0;
  cs_insn* insn = nullptr;
  cs_insn* detailed_insn = nullptr;
  decltype(&cs_disasm_iter) disasm_iter = nullptr;
  decltype(&cs_insn_group) insn_group = nullptr;
  void* library = nullptr;
};

Capstone g_cs;
bool g_cs_tried = false;

// Loads capstone (once) and opens an x86-64 decoder with details. False, and
// why, when it cannot.
bool open_capstone(const char** why) {
  if (g_cs.insn != nullptr)
    return true;
  if (g_cs_tried) {
    *why = "capstone (libcapstone.so.4) could not be loaded";
    return false;
  }
  g_cs_tried = true;
  void* lib = dlopen("libcapstone.so.4", RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
  if (lib == nullptr) {
    *why = "capstone (libcapstone.so.4) could not be loaded";
    return false;
  }
  auto cs_open_fn = reinterpret_cast<decltype(&cs_open)>(dlsym(lib, "cs_open"));
  auto cs_option_fn = reinterpret_cast<decltype(&cs_option)>(dlsym(lib, "cs_option"));
  auto cs_malloc_fn = reinterpret_cast<decltype(&cs_malloc)>(dlsym(lib, "cs_malloc"));
  g_cs.disasm_iter = reinterpret_cast<decltype(&cs_disasm_iter)>(dlsym(lib, "cs_disasm_iter"));
  g_cs.insn_group = reinterpret_cast<decltype(&cs_insn_group)>(dlsym(lib, "cs_insn_group"));
  if (cs_open_fn == nullptr || cs_option_fn == nullptr || cs_malloc_fn == nullptr ||
      g_cs.disasm_iter == nullptr || g_cs.insn_group == nullptr ||
      cs_open_fn(CS_ARCH_X86, CS_MODE_64, &g_cs.handle) != CS_ERR_OK ||
      cs_open_fn(CS_ARCH_X86, CS_MODE_64, &g_cs.detailed) != CS_ERR_OK ||
      cs_option_fn(g_cs.detailed, CS_OPT_DETAIL, CS_OPT_ON) != CS_ERR_OK) {
    *why = "capstone (libcapstone.so.4) has not the functions or the x86-64 decoder expected";
    return false;
  }
  g_cs.insn = cs_malloc_fn(g_cs.handle);
  g_cs.detailed_insn = cs_malloc_fn(g_cs.detailed);
  g_cs.library = lib;
  if (g_cs.insn == nullptr || g_cs.detailed_insn == nullptr) {
    *why = "capstone could not allocate an instruction";
    return false;
  }
  return true;
}

// ---- objects -------------------------------------------------------------------

// A loaded object's executable segment and what the analysis reads.
struct Object {
  const char* name = "";
  uintptr_t base = 0;
  uintptr_t text = 0, text_end = 0;  // the PF_X PT_LOAD
  int text_prot = PROT_READ | PROT_EXEC;
  const uint8_t* eh_frame_hdr = nullptr;
  bool text_relocations = false;
  bool go = false;  // a Go build ID note: Go's runtime
  uint8_t build_id[32] = {};
  uint32_t build_id_size = 0;  // its NT_GNU_BUILD_ID note's, 0 if none
};

Object describe(const dl_phdr_info& info) {
  Object o;
  o.name = info.dlpi_name != nullptr ? info.dlpi_name : "";
  o.base = info.dlpi_addr;
  for (int i = 0; i < info.dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info.dlpi_phdr[i];
    const uintptr_t at = info.dlpi_addr + ph.p_vaddr;
    if (ph.p_type == PT_LOAD && (ph.p_flags & PF_X) != 0 && o.text == 0) {
      o.text = at;
      o.text_end = at + ph.p_memsz;
      o.text_prot = PROT_EXEC | ((ph.p_flags & PF_R) != 0 ? PROT_READ : 0);
    } else if (ph.p_type == PT_GNU_EH_FRAME) {
      o.eh_frame_hdr = reinterpret_cast<const uint8_t*>(at);
    } else if (ph.p_type == PT_DYNAMIC) {
      for (const auto* d = reinterpret_cast<const ElfW(Dyn)*>(at); d->d_tag != DT_NULL; ++d)
        if (d->d_tag == DT_TEXTREL || (d->d_tag == DT_FLAGS && (d->d_un.d_val & DF_TEXTREL) != 0))
          o.text_relocations = true;
    } else if (ph.p_type == PT_NOTE) {
      const auto* p = reinterpret_cast<const uint8_t*>(at);
      const uint8_t* end = p + ph.p_memsz;
      while (p + sizeof(ElfW(Nhdr)) <= end) {
        const auto* n = reinterpret_cast<const ElfW(Nhdr)*>(p);
        const auto* owner = reinterpret_cast<const char*>(p + sizeof *n);
        if (n->n_namesz == 3 && memcmp(owner, "Go", 3) == 0)
          o.go = true;
        if (n->n_namesz == 4 && memcmp(owner, "GNU", 4) == 0 && n->n_type == NT_GNU_BUILD_ID &&
            n->n_descsz <= sizeof o.build_id && p + sizeof *n + 4 + n->n_descsz <= end) {
          memcpy(o.build_id, p + sizeof *n + 4, n->n_descsz);
          o.build_id_size = n->n_descsz;
        }
        p += sizeof *n + ((n->n_namesz + 3) & ~3u) + ((n->n_descsz + 3) & ~3u);
      }
    }
  }
  return o;
}

bool contains(const Object& o, const void* p) {
  const auto a = reinterpret_cast<uintptr_t>(p);
  return a >= o.text && a < o.text_end;
}

// The function starts of .eh_frame_hdr's binary search table (version 1,
// datarel sdata4 entries, as GNU ld writes it), or none.
struct FunctionTable {
  const int32_t* entries = nullptr;  // pairs: start, FDE, relative to the header
  uint32_t count = 0;
  uintptr_t base = 0;
  uintptr_t start(uint32_t i) const { return base + static_cast<intptr_t>(entries[2 * i]); }
};

// DWARF pointer encodings (the LSB's .eh_frame_hdr).
constexpr uint8_t kEhPeUdata4 = 0x03, kEhPeSdata4 = 0x0b, kEhPeDatarel = 0x30;

bool read_function_table(const Object& o, FunctionTable* t) {
  const uint8_t* h = o.eh_frame_hdr;
  if (h == nullptr || h[0] != 1 || h[2] != kEhPeUdata4 || h[3] != (kEhPeDatarel | kEhPeSdata4))
    return false;
  const uint8_t ptr_enc = h[1] & 0x0f;
  if (ptr_enc != kEhPeSdata4 && ptr_enc != kEhPeUdata4)
    return false;
  uint32_t count;
  memcpy(&count, h + 8, sizeof count);
  t->entries = reinterpret_cast<const int32_t*>(h + 12);
  t->count = count;
  t->base = reinterpret_cast<uintptr_t>(h);
  return count > 0;
}

// Whether entry i's FDE belongs to a CIE with the 'S' augmentation: a signal
// trampoline (glibc's __restore_rt), whose FDE starts one byte before its
// first instruction so that unwinders find it: decoded from there, its
// instructions come out wrong. Unknown forms count as one too.
bool signal_frame(const FunctionTable& t, uint32_t i) {
  const auto* fde =
      reinterpret_cast<const uint8_t*>(t.base + static_cast<intptr_t>(t.entries[2 * i + 1]));
  uint32_t length;
  int32_t cie_delta;
  memcpy(&length, fde, 4);
  memcpy(&cie_delta, fde + 4, 4);
  if (length == 0xffffffffu || cie_delta <= 0)
    return true;
  const uint8_t* cie = fde + 4 - cie_delta;
  uint32_t cie_id;
  memcpy(&cie_id, cie + 4, 4);
  if (cie_id != 0)
    return true;
  const auto* augmentation = reinterpret_cast<const char*>(cie + 9);
  return strchr(augmentation, 'S') != nullptr;
}

// [start, end) of the function that holds address a, from the table: the
// last start at or before a, up to the next start or the segment's end.
// *signal: it is a signal trampoline (signal_frame()).
bool function_of(const FunctionTable& t, const Object& o, uintptr_t a, uintptr_t* start,
                 uintptr_t* end, bool* signal) {
  uint32_t lo = 0, hi = t.count;
  while (hi - lo > 1) {
    const uint32_t mid = lo + (hi - lo) / 2;
    if (t.start(mid) <= a)
      lo = mid;
    else
      hi = mid;
  }
  if (t.start(lo) > a)
    return false;
  *start = t.start(lo);
  *signal = signal_frame(t, lo);
  *end = lo + 1 < t.count ? t.start(lo + 1) : o.text_end;
  if (*end > o.text_end || *end <= *start)
    *end = o.text_end;
  return *start >= o.text && *start < o.text_end;
}

// ---- the analysis ----------------------------------------------------------------

enum Verdict : uint8_t {
  kCandidate,  // bytes 0f 05, not yet decoded
  kPatchable,  // a window was found
  kPatched,
  kNoInstruction,  // not a syscall instruction on the decoded path
  kNoWindow,       // fewer than 5 bytes of plain instructions before it
  kBranchTarget,   // a jump lands inside its window, or the function jumps through a table
  kProcessCall,    // rt_sigreturn, clone, fork, vfork, clone3
  kOutOfReach,     // no trampoline within ±2 GiB, or a displacement out of range
  kNoFunction,     // no function of .eh_frame_hdr holds it
  kVerdicts
};

constexpr int kMaxDisplaced = 3;

struct Site {
  uintptr_t syscall_at = 0;
  uintptr_t start = 0;  // the window: [start, syscall_at + 2)
  uint8_t n_displaced = 0;
  uint8_t length[kMaxDisplaced] = {};       // the displaced instructions, in order
  uint8_t disp_offset[kMaxDisplaced] = {};  // of a RIP-relative displacement, 0 if none
  int16_t nr = -1;                          // the number loaded right before, -1 if unknown
  uint8_t verdict = kCandidate;
  uint8_t original[24] = {};
  size_t window() const { return syscall_at + 2 - start; }
};

bool stays_with_libc(long nr) {
  return nr == SYS_rt_sigreturn || nr == SYS_clone || nr == SYS_fork || nr == SYS_vfork ||
         nr == SYS_clone3;
}

// What the window needs to know of one decoded instruction.
struct Decoded {
  uintptr_t at = 0;
  uint8_t length = 0;
  uint8_t disp_offset = 0;
  bool branch = false;  // cannot run elsewhere: jumps, calls, returns, syscalls
  int32_t loads_eax = -1;
};

Decoded decode_facts(const cs_insn& insn) {
  Decoded d;
  d.at = insn.address;
  d.length = static_cast<uint8_t>(insn.size);
  const cs_x86& x = insn.detail->x86;
  for (unsigned g :
       {CS_GRP_JUMP, CS_GRP_CALL, CS_GRP_RET, CS_GRP_INT, CS_GRP_IRET, CS_GRP_BRANCH_RELATIVE})
    if (g_cs.insn_group(g_cs.detailed, &insn, g))
      d.branch = true;
  if (insn.id == X86_INS_SYSCALL || insn.id == X86_INS_SYSENTER || insn.id == X86_INS_INVALID)
    d.branch = true;
  for (int i = 0; i < x.op_count; ++i) {
    const cs_x86_op& op = x.operands[i];
    if (op.type == X86_OP_MEM && (op.mem.base == X86_REG_RIP || op.mem.index == X86_REG_RIP)) {
      if (op.mem.index == X86_REG_RIP || x.encoding.disp_offset == 0 || x.encoding.disp_size != 4)
        d.branch = true;  // not a form the trampoline can move
      else
        d.disp_offset = x.encoding.disp_offset;
    }
    if (op.type == X86_OP_REG && op.reg == X86_REG_RIP)
      d.branch = true;
  }
  if (insn.id == X86_INS_MOV && x.op_count == 2 && x.operands[0].type == X86_OP_REG &&
      (x.operands[0].reg == X86_REG_EAX || x.operands[0].reg == X86_REG_RAX) &&
      x.operands[1].type == X86_OP_IMM && x.operands[1].imm >= 0 && x.operands[1].imm < 4096)
    d.loads_eax = static_cast<int32_t>(x.operands[1].imm);
  return d;
}

// The displaced instruction at `at`, decoded with details.
bool decode_displaced(uintptr_t at, size_t length, Decoded* d) {
  const auto* code = reinterpret_cast<const uint8_t*>(at);
  uint64_t address = at;
  if (!g_cs.disasm_iter(g_cs.detailed, &code, &length, &address, g_cs.detailed_insn))
    return false;
  *d = decode_facts(*g_cs.detailed_insn);
  return true;
}

// The window of site s: the instructions right before it (prior[0] the
// newest, as the sweep found them) until it holds at least 5 bytes.
void choose_window(Site& s, const Decoded* prior, int n_prior) {
  size_t bytes = 2;
  int taken = 0;
  Decoded displaced[kMaxDisplaced];
  while (bytes < 5) {
    if (taken == n_prior || taken == kMaxDisplaced ||
        !decode_displaced(prior[taken].at, prior[taken].length, &displaced[taken]) ||
        displaced[taken].branch) {
      s.verdict = kNoWindow;
      return;
    }
    bytes += prior[taken].length;
    ++taken;
  }
  Decoded newest;
  if (n_prior > 0 && decode_displaced(prior[0].at, prior[0].length, &newest) &&
      newest.loads_eax >= 0)
    s.nr = static_cast<int16_t>(newest.loads_eax);
  if (s.nr >= 0 && stays_with_libc(s.nr)) {
    s.verdict = kProcessCall;
    return;
  }
  s.n_displaced = static_cast<uint8_t>(taken);
  for (int i = 0; i < taken; ++i) {
    s.length[i] = displaced[taken - 1 - i].length;
    s.disp_offset[i] = displaced[taken - 1 - i].disp_offset;
  }
  s.start = prior[taken - 1].at;
  s.verdict = bytes <= sizeof s.original ? kPatchable : kNoWindow;
}

// What an instruction's bytes say of its control flow, past its prefixes:
// a direct jump or call (its target), or an indirect jump that is not a
// tail call through a RIP-relative slot (a jump table).
struct Flow {
  bool direct = false;
  uintptr_t target = 0;
  bool table = false;
};

Flow flow_of(const uint8_t* b, size_t size, uintptr_t at) {
  Flow f;
  size_t i = 0;
  while (i < size && (b[i] == 0x26 || b[i] == 0x2e || b[i] == 0x36 || b[i] == 0x3e ||
                      b[i] == 0x64 || b[i] == 0x65 || b[i] == 0x66 || b[i] == 0x67 ||
                      b[i] == 0xf2 || b[i] == 0xf3 || (b[i] >= 0x40 && b[i] <= 0x4f)))
    ++i;
  if (i >= size)
    return f;
  const uint8_t op = b[i];
  const uintptr_t next = at + size;
  if ((op == 0xeb || (op >= 0x70 && op <= 0x7f) || (op >= 0xe0 && op <= 0xe3)) && i + 2 == size) {
    f.direct = true;
    f.target = next + static_cast<uintptr_t>(static_cast<intptr_t>(static_cast<int8_t>(b[i + 1])));
  } else if (((op == 0xe9 || op == 0xe8) && i + 5 == size) ||
             (op == 0x0f && i + 6 == size && b[i + 1] >= 0x80 && b[i + 1] <= 0x8f)) {
    int32_t rel;
    __builtin_memcpy(&rel, b + size - 4, 4);
    f.direct = true;
    f.target = next + static_cast<uintptr_t>(static_cast<intptr_t>(rel));
  } else if (op == 0xff && i + 1 < size) {
    const uint8_t modrm = b[i + 1];
    const int reg = (modrm >> 3) & 7;
    f.table = (reg == 4 || reg == 5) && (modrm & 0xc7) != 0x05;
  }
  return f;
}

// Decodes the function [start, end) that holds sites[first, last) (sorted)
// and gives each a window or a verdict; then no window may hold the target
// of one of the function's own jumps.
void analyse_function(uintptr_t start, uintptr_t end, Site* sites, size_t first, size_t last,
                      uintptr_t* targets, size_t target_capacity) {
  const auto* code = reinterpret_cast<const uint8_t*>(start);
  size_t size = end - start;
  uint64_t address = start;
  Decoded prior[kMaxDisplaced + 1];
  int n_prior = 0;
  size_t next = first;
  size_t n_targets = 0;
  bool unknown_targets = false;
  while (g_cs.disasm_iter(g_cs.handle, &code, &size, &address, g_cs.insn)) {
    const cs_insn& insn = *g_cs.insn;
    while (next < last && sites[next].syscall_at < insn.address)
      sites[next++].verdict = kNoInstruction;  // inside another instruction
    if (next < last && sites[next].syscall_at == insn.address) {
      if (insn.id == X86_INS_SYSCALL)
        choose_window(sites[next], prior, n_prior);
      else
        sites[next].verdict = kNoInstruction;
      ++next;
    }
    const Flow f = flow_of(insn.bytes, insn.size, insn.address);
    if (f.table)
      unknown_targets = true;
    if (f.direct && f.target > start && f.target < end) {
      if (n_targets < target_capacity)
        targets[n_targets++] = f.target;
      else
        unknown_targets = true;
    }
    for (int i = kMaxDisplaced; i > 0; --i)
      prior[i] = prior[i - 1];
    prior[0].at = insn.address;
    prior[0].length = static_cast<uint8_t>(insn.size);
    if (n_prior <= kMaxDisplaced)
      ++n_prior;
  }
  for (; next < last; ++next)
    sites[next].verdict = kNoInstruction;  // past what decodes
  for (size_t i = first; i < last; ++i) {
    Site& s = sites[i];
    if (s.verdict != kPatchable)
      continue;
    if (unknown_targets)
      s.verdict = kBranchTarget;
    for (size_t t = 0; t < n_targets && s.verdict == kPatchable; ++t)
      if (targets[t] > s.start && targets[t] < s.syscall_at + 2)
        s.verdict = kBranchTarget;
  }
}

// The site whose window's inside (past its first byte) holds address a.
Site* window_holding(Site* sites, size_t n, uintptr_t a) {
  size_t lo = 0, hi = n;
  while (lo < hi) {  // the first site whose syscall ends after a
    const size_t mid = lo + (hi - lo) / 2;
    if (sites[mid].syscall_at + 2 <= a)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo < n && sites[lo].verdict == kPatchable && a > sites[lo].start &&
      a < sites[lo].syscall_at + 2)
    return &sites[lo];
  return nullptr;
}

// Every direct jump and call of the segment with a 32-bit displacement, found
// by its bytes wherever they occur (a superset of the real ones): a window one
// lands inside is no site. Jumps from other functions (a function's cold
// part, placed far away) take this form; short jumps, which reach 127 bytes,
// are found exactly by decoding the function (mark_decoded_targets).
void exclude_branch_targets(const Object& o, Site* sites, size_t n) {
  const auto* b = reinterpret_cast<const uint8_t*>(o.text);
  const size_t size = o.text_end - o.text;
  // Windows span at most [first, last): a target outside needs no search.
  uintptr_t first = UINTPTR_MAX, last = 0;
  for (size_t i = 0; i < n; ++i)
    if (sites[i].verdict == kPatchable) {
      first = first < sites[i].start ? first : sites[i].start;
      last = sites[i].syscall_at + 2;
    }
  if (last == 0)
    return;
  const intptr_t low = static_cast<intptr_t>(first - o.text);
  const intptr_t high = static_cast<intptr_t>(last - o.text);
  for (size_t i = 0; i + 6 <= size; ++i) {
    const uint8_t op = b[i];
    if (op != 0xe9 && op != 0xe8 && op != 0x0f)
      continue;
    intptr_t target;
    int32_t rel;
    if (op != 0x0f) {
      __builtin_memcpy(&rel, b + i + 1, 4);
      target = static_cast<intptr_t>(i) + 5 + rel;
    } else if (b[i + 1] >= 0x80 && b[i + 1] <= 0x8f) {
      __builtin_memcpy(&rel, b + i + 2, 4);
      target = static_cast<intptr_t>(i) + 6 + rel;
    } else {
      continue;
    }
    if (target <= low || target >= high)
      continue;
    Site* s = window_holding(sites, n, o.text + static_cast<uintptr_t>(target));
    if (s != nullptr)
      s->verdict = kBranchTarget;
  }
}

// ---- trampolines ------------------------------------------------------------------

// The longest trampoline: 22 displaced bytes, 5 compares and jumps to the
// raw path (40), the table's look-up (22), the jump to the stub (17), the raw
// syscall and the jump back (7), alignment (7) and two slots (16): 131.
// Fewer pages for the trampolines are fewer page faults at every start.
constexpr size_t kTrampolineSize = 144;

// Which syscalls the library handles (handles_syscall()), one byte per number
// below FTSC_NR_LIMIT, on a read-write page after each object's trampolines:
// a trampoline makes a call the library does not handle itself, at its own
// `syscall`, without the stub's saves (under `auto` the filter then judges
// it as it judged libc's). Cleared when the library steps aside.
constexpr size_t kHandledBytes = 512;
static_assert(kHandledBytes == FTSC_NR_LIMIT, "one byte per syscall number");
constexpr int kMaxTables = 256;
uint8_t* g_tables[kMaxTables];
int g_n_tables = 0;

class Emitter {
 public:
  explicit Emitter(uint8_t* at) : p_(at) {}
  void bytes(std::initializer_list<uint8_t> bs) {
    for (uint8_t b : bs)
      *p_++ = b;
  }
  void copy(const void* from, size_t n) {
    memcpy(p_, from, n);
    p_ += n;
  }
  void u32(uint32_t v) {
    memcpy(p_, &v, 4);
    p_ += 4;
  }
  void u64(uint64_t v) {
    memcpy(p_, &v, 8);
    p_ += 8;
  }
  uint8_t* here() const { return p_; }
  void align(size_t a) {
    while (reinterpret_cast<uintptr_t>(p_) % a != 0)
      *p_++ = 0xcc;
  }

 private:
  uint8_t* p_;
};

int32_t rel32(const uint8_t* next_instruction, uintptr_t target) {
  return static_cast<int32_t>(static_cast<int64_t>(target) -
                              reinterpret_cast<int64_t>(next_instruction));
}

// Writes site s's trampoline at t (kTrampolineSize bytes), which looks up
// the number in `handled`. False when a displacement does not reach from there.
bool emit_trampoline(const Site& s, uint8_t* t, const uint8_t* handled) {
  Emitter e(t);
  uintptr_t from = s.start;
  for (int i = 0; i < s.n_displaced; ++i) {
    uint8_t* moved = e.here();
    e.copy(reinterpret_cast<const void*>(from), s.length[i]);
    if (s.disp_offset[i] != 0) {
      int32_t disp;
      memcpy(&disp, moved + s.disp_offset[i], 4);
      const int64_t fixed = static_cast<int64_t>(disp) + static_cast<int64_t>(from) -
                            reinterpret_cast<int64_t>(moved);
      if (fixed < INT32_MIN || fixed > INT32_MAX)
        return false;
      const auto d = static_cast<int32_t>(fixed);
      memcpy(moved + s.disp_offset[i], &d, 4);
    }
    from += s.length[i];
  }
  // Numbers that must run where libc runs them: to the trampoline's own syscall.
  uint8_t* to_raw[6];
  int n_raw = 0;
  for (uint32_t nr : {uint32_t{SYS_rt_sigreturn}, uint32_t{SYS_clone}, uint32_t{SYS_fork},
                      uint32_t{SYS_vfork}, uint32_t{SYS_clone3}}) {
    e.bytes({0x48, 0x3d});  // cmp $nr, %rax
    e.u32(nr);
    e.bytes({0x74, 0x00});  // je raw
    to_raw[n_raw++] = e.here();
  }
  // Numbers the library does not handle: to the trampoline's own syscall
  // too. rcx and r11 are free: the kernel clobbers them.
  e.bytes({0x48, 0x3d});  // cmp $kHandledBytes, %rax
  e.u32(static_cast<uint32_t>(kHandledBytes));
  e.bytes({0x73, 0x00});  // jae dispatch
  uint8_t* to_dispatch = e.here();
  e.bytes({0x4c, 0x8d, 0x1d});  // lea handled(%rip), %r11
  e.u32(static_cast<uint32_t>(rel32(e.here() + 4, reinterpret_cast<uintptr_t>(handled))));
  e.bytes({0x41, 0x80, 0x3c, 0x03, 0x00});  // cmpb $0, (%r11,%rax)
  e.bytes({0x74, 0x00});                    // je raw
  to_raw[n_raw++] = e.here();
  to_dispatch[-1] = static_cast<uint8_t>(e.here() - to_dispatch);
  e.bytes({0x48, 0x8d, 0x64, 0x24, 0x80});  // lea -128(%rsp), %rsp: over the red zone
  e.bytes({0xff, 0x35});                    // push resume(%rip)
  uint8_t* push_disp = e.here();
  e.u32(0);
  e.bytes({0xff, 0x25});  // jmp *stub(%rip)
  uint8_t* jmp_disp = e.here();
  e.u32(0);
  uint8_t* raw = e.here();
  for (int i = 0; i < n_raw; ++i)
    to_raw[i][-1] = static_cast<uint8_t>(raw - to_raw[i]);
  e.bytes({0x0f, 0x05});  // syscall
  e.bytes({0xe9});        // jmp resume
  const uintptr_t resume = s.syscall_at + 2;
  e.u32(static_cast<uint32_t>(rel32(e.here() + 4, resume)));
  e.align(8);
  uint8_t* resume_slot = e.here();
  e.u64(resume);
  uint8_t* stub_slot = e.here();
  e.u64(reinterpret_cast<uintptr_t>(&ftsc_preload_patched_stub));
  const auto push_rel =
      static_cast<uint32_t>(rel32(push_disp + 4, reinterpret_cast<uintptr_t>(resume_slot)));
  memcpy(push_disp, &push_rel, 4);
  const auto jmp_rel =
      static_cast<uint32_t>(rel32(jmp_disp + 4, reinterpret_cast<uintptr_t>(stub_slot)));
  memcpy(jmp_disp, &jmp_rel, 4);
  return static_cast<size_t>(e.here() - t) <= kTrampolineSize;
}

// ---- patching ---------------------------------------------------------------------

// Writes each patchable site's jump (the rest of its window int3) with the
// text made writable for the time. False, and why, when mprotect refuses;
// a failure midway writes the original bytes back.
bool write_jumps(const Object& o, Site* sites, size_t n, const uint8_t* trampolines, char* why,
                 size_t why_size) {
  uintptr_t low = UINTPTR_MAX, high = 0;
  for (size_t i = 0; i < n; ++i)
    if (sites[i].verdict == kPatchable) {
      low = low < sites[i].start ? low : sites[i].start;
      high = high > sites[i].syscall_at + 2 ? high : sites[i].syscall_at + 2;
    }
  if (high == 0)
    return true;
  const long from = static_cast<long>(page_down(low));
  const long length = static_cast<long>(page_up(high)) - from;
  // Executable while writable: another thread may run libc's other code on these pages.
  long r = raw_syscall(SYS_mprotect, from, length, PROT_READ | PROT_WRITE | PROT_EXEC);
  if (is_error(r)) {
    snprintf(why, why_size, "mprotect(PROT_READ|PROT_WRITE|PROT_EXEC) of its text failed: %s",
             error_name(r));
    return false;
  }
  for (size_t i = 0; i < n; ++i) {
    Site& s = sites[i];
    if (s.verdict != kPatchable)
      continue;
    auto* w = reinterpret_cast<uint8_t*>(s.start);
    memcpy(s.original, w, s.window());
    const uint8_t* t = trampolines + i * kTrampolineSize;
    uint8_t jump[sizeof s.original];
    memset(jump, 0xcc, sizeof jump);
    jump[0] = 0xe9;
    const auto rel = static_cast<uint32_t>(rel32(w + 5, reinterpret_cast<uintptr_t>(t)));
    memcpy(jump + 1, &rel, 4);
    // The rel32 first, then the opcode: a thread that runs the window's
    // first instruction meanwhile sees it whole or the jump whole.
    memcpy(w + 1, jump + 1, s.window() - 1);
    __atomic_store_n(w, jump[0], __ATOMIC_RELEASE);
    s.verdict = kPatched;
  }
  r = raw_syscall(SYS_mprotect, from, length, o.text_prot);
  if (is_error(r)) {
    for (size_t i = 0; i < n; ++i)
      if (sites[i].verdict == kPatched) {
        memcpy(reinterpret_cast<void*>(sites[i].start), sites[i].original, sites[i].window());
        sites[i].verdict = kPatchable;
      }
    raw_syscall(SYS_mprotect, from, length, o.text_prot);
    snprintf(why, why_size, "mprotect could not make its text read-only again: %s", error_name(r));
    return false;
  }
  return true;
}

// What one object's patching did.
struct Report {
  size_t sites = 0;
  size_t counts[kVerdicts] = {};
  bool mmap_patched = false, mmap_left = false;
  char why[200] = {};             // the object as a whole was left alone
  bool shared = false;            // patched from the run's shared analysis
  const char* refused = nullptr;  // why a shared analysis of it was refused
  bool need_capstone = false;     // analysing it takes capstone, which is not loaded
};

const char* verdict_text(int v) {
  switch (v) {
    case kNoInstruction:
      return "not an instruction";
    case kNoWindow:
      return "no room before it";
    case kBranchTarget:
      return "a jump lands in its window";
    case kProcessCall:
      return "process or signal-return calls";
    case kOutOfReach:
      return "out of reach";
    case kNoFunction:
      return "outside every function";
    default:
      return nullptr;
  }
}

// The next bytes 0f 05 in [p, end), or null.
const uint8_t* next_syscall_bytes(const uint8_t* p, const uint8_t* end) {
  while (p + 1 < end) {
    p = static_cast<const uint8_t*>(memchr(p, 0x0f, static_cast<size_t>(end - 1 - p)));
    if (p == nullptr)
      return nullptr;
    if (p[1] == 0x05)
      return p;
    ++p;
  }
  return nullptr;
}

// ---- the run's shared analyses ----------------------------------------------------

// The first process of a run that analyses an object publishes the result in
// the run's file (FTSC_PRELOAD_ANALYSES, preload_interface.h); later ones
// patch from it without capstone, after checking the object's identity (its
// file's device, inode, size and modification time, its build ID, where its
// text lies and how long it is), a checksum over a private copy of the
// record, and the bytes of every site. A record that fails any check is
// refused and the object analysed again: nothing is patched from a stale or
// corrupt record.

static_assert(kVerdicts <= FTSC_ANALYSIS_VERDICTS, "a count per verdict");
static_assert(sizeof(Site::original) == sizeof(ftsc_patch_site::original), "one window size");

constexpr size_t kMaxRecords =
    (FTSC_ANALYSIS_SLOT_BYTES - sizeof(ftsc_patch_analysis)) / sizeof(ftsc_patch_site);

uint8_t* g_analyses = nullptr;  // mapped shared once; a fork child inherits it
bool g_analyses_tried = false;

// The run's file of analyses, mapped, or null (no run file, or it cannot be used).
uint8_t* shared_analyses() {
  if (g_analyses != nullptr || g_analyses_tried)
    return g_analyses;
  g_analyses_tried = true;
  const char* path = getenv(FTSC_PRELOAD_ANALYSES_ENV);
  if (path == nullptr || *path == '\0')
    return nullptr;
  long fd = raw_syscall(SYS_openat, AT_FDCWD, reinterpret_cast<long>(path), O_RDWR | O_CLOEXEC);
  if (is_error(fd))
    return nullptr;
  struct stat st {};
  long m = -1;
  if (!is_error(raw_syscall(SYS_fstat, fd, reinterpret_cast<long>(&st))) &&
      static_cast<uint64_t>(st.st_size) >= FTSC_ANALYSES_BYTES)
    m = raw_syscall(SYS_mmap, 0, static_cast<long>(FTSC_ANALYSES_BYTES), PROT_READ | PROT_WRITE,
                    MAP_SHARED, fd, 0);
  raw_syscall(SYS_close, fd);
  if (!is_error(m))
    g_analyses = reinterpret_cast<uint8_t*>(m);
  return g_analyses;
}

// The identity fields of o in *id (the rest zero). False when o's file
// cannot be named or looked at, or o has no build ID: its analysis is then
// neither read nor shared. The build ID is read from the mapping, stat from
// the file now at its path: the two tell an object apart from a newer file
// that replaced it (a package upgrade while the run goes on).
bool identify(const Object& o, ftsc_patch_analysis* id) {
  if (o.name[0] != '/' || o.build_id_size == 0)
    return false;
  struct stat st {};
  if (is_error(raw_syscall(SYS_newfstatat, AT_FDCWD, reinterpret_cast<long>(o.name),
                           reinterpret_cast<long>(&st), 0)))
    return false;
  memset(id, 0, sizeof *id);
  id->version = FTSC_ANALYSIS_VERSION;
  id->dev = st.st_dev;
  id->ino = st.st_ino;
  id->size = static_cast<uint64_t>(st.st_size);
  id->mtime_sec = st.st_mtim.tv_sec;
  id->mtime_nsec = st.st_mtim.tv_nsec;
  id->text_offset = o.text - o.base;
  id->text_size = o.text_end - o.text;
  id->build_id_size = o.build_id_size;
  memcpy(id->build_id, o.build_id, sizeof id->build_id);
  return true;
}

bool same_object(const ftsc_patch_analysis& a, const ftsc_patch_analysis& b) {
  constexpr size_t from = offsetof(ftsc_patch_analysis, dev);
  constexpr size_t to = offsetof(ftsc_patch_analysis, n_sites);
  return memcmp(reinterpret_cast<const uint8_t*>(&a) + from,
                reinterpret_cast<const uint8_t*>(&b) + from, to - from) == 0;
}

uint64_t fnv1a(uint64_t h, const void* p, size_t n) {
  const auto* b = static_cast<const uint8_t*>(p);
  for (size_t i = 0; i < n; ++i) {
    h ^= b[i];
    h *= 0x100000001b3ull;
  }
  return h;
}

uint64_t checksum_of(const ftsc_patch_analysis& header, const ftsc_patch_site* records, size_t n) {
  ftsc_patch_analysis h = header;
  h.state = 0;
  h.checksum = 0;
  return fnv1a(fnv1a(0xcbf29ce484222325ull, &h, sizeof h), records, n * sizeof *records);
}

// Site r of a record as the patcher's Site, if it is one that the text of o
// holds now: its window within the text, after the previous one, its
// instructions adding up to it, ending in 0f 05, its bytes those of the text.
bool site_from_record(const Object& o, const ftsc_patch_site& r, uintptr_t after, Site* s) {
  const size_t text_size = o.text_end - o.text;
  if (r.window < 5 || r.window > sizeof r.original || r.syscall_offset + 2u > text_size ||
      r.syscall_offset + 2u < r.window || r.n_displaced < 1 || r.n_displaced > kMaxDisplaced ||
      r.original[r.window - 2] != 0x0f || r.original[r.window - 1] != 0x05)
    return false;
  *s = Site{};
  s->syscall_at = o.text + r.syscall_offset;
  s->start = s->syscall_at + 2 - r.window;
  if (s->start < after)
    return false;
  size_t displaced = 0;
  for (int i = 0; i < r.n_displaced; ++i) {
    if (r.length[i] == 0 || (r.disp_offset[i] != 0 && r.disp_offset[i] + 4u > r.length[i]))
      return false;
    displaced += r.length[i];
    s->length[i] = r.length[i];
    s->disp_offset[i] = r.disp_offset[i];
  }
  if (displaced + 2 != r.window ||
      memcmp(reinterpret_cast<const void*>(s->start), r.original, r.window) != 0)
    return false;
  s->n_displaced = r.n_displaced;
  s->nr = r.nr;
  s->verdict = kPatchable;
  return true;
}

// The patchable sites of o from the run's shared analysis (mapped, *n of
// them, *bytes long), with the other sites' counts in *report; null when
// there is none that holds. *refused says why a record of o was refused.
Site* load_shared(const Object& o, const ftsc_patch_analysis& id, size_t* n, size_t* bytes,
                  Report* report, const char** refused) {
  uint8_t* file = shared_analyses();
  if (file == nullptr)
    return nullptr;
  const uint64_t claimed = __atomic_load_n(reinterpret_cast<uint64_t*>(file), __ATOMIC_ACQUIRE);
  for (uint64_t slot = 0; slot < claimed && slot < FTSC_ANALYSIS_SLOTS; ++slot) {
    const uint8_t* at = file + FTSC_ANALYSES_HEADER + slot * FTSC_ANALYSIS_SLOT_BYTES;
    if (__atomic_load_n(reinterpret_cast<const uint32_t*>(at), __ATOMIC_ACQUIRE) !=
        FTSC_ANALYSIS_READY)
      continue;
    ftsc_patch_analysis h;
    memcpy(&h, at, sizeof h);
    if (!same_object(h, id))
      continue;
    if (h.version != FTSC_ANALYSIS_VERSION || h.n_records > kMaxRecords ||
        h.n_records > h.n_sites) {
      *refused = "its header is not one this library writes";
      continue;
    }
    // A private copy: what is checked is what is used.
    const size_t record_bytes = h.n_records * sizeof(ftsc_patch_site);
    auto* records = static_cast<ftsc_patch_site*>(map_anonymous(record_bytes + 1));
    const size_t site_bytes = h.n_records * sizeof(Site);
    auto* sites = static_cast<Site*>(map_anonymous(site_bytes + 1));
    bool ok = records != nullptr && sites != nullptr;
    if (ok) {
      memcpy(records, at + sizeof h, record_bytes);
      ok = checksum_of(h, records, h.n_records) == h.checksum;
      if (!ok)
        *refused = "its checksum does not match";
    }
    uintptr_t after = o.text;
    for (size_t i = 0; ok && i < h.n_records; ++i) {
      ok = site_from_record(o, records[i], after, &sites[i]);
      after = sites[i].syscall_at + 2;
      if (!ok)
        *refused = "a site's bytes or form do not match the text";
    }
    unmap(records, record_bytes + 1);
    if (!ok) {
      unmap(sites, site_bytes + 1);
      continue;
    }
    report->sites = h.n_sites;
    for (int v = 0; v < kVerdicts; ++v)
      if (v != kPatchable && v != kPatched && v != kCandidate)
        report->counts[v] = h.counts[v];
    report->mmap_left = (h.flags & FTSC_ANALYSIS_MMAP_LEFT) != 0;
    *n = h.n_records;
    *bytes = site_bytes + 1;
    return sites;
  }
  return nullptr;
}

// Publishes the analysis of o (sites[0, n), each with its verdict, the text
// still unpatched) in the run's file, if there is one and room.
void store_shared(const Object& o, const ftsc_patch_analysis& id, const Site* sites, size_t n) {
  uint8_t* file = shared_analyses();
  if (file == nullptr)
    return;
  ftsc_patch_analysis h = id;
  h.n_sites = static_cast<uint32_t>(n);
  for (size_t i = 0; i < n; ++i) {
    if (sites[i].verdict == kPatchable)
      ++h.n_records;
    else
      ++h.counts[sites[i].verdict];
    if (sites[i].verdict != kPatchable && sites[i].nr == SYS_mmap)
      h.flags |= FTSC_ANALYSIS_MMAP_LEFT;
  }
  if (h.n_records == 0 || h.n_records > kMaxRecords)
    return;
  const uint64_t slot =
      __atomic_fetch_add(reinterpret_cast<uint64_t*>(file), uint64_t{1}, __ATOMIC_ACQ_REL);
  if (slot >= FTSC_ANALYSIS_SLOTS)
    return;
  uint8_t* at = file + FTSC_ANALYSES_HEADER + slot * FTSC_ANALYSIS_SLOT_BYTES;
  auto* records = reinterpret_cast<ftsc_patch_site*>(at + sizeof h);
  size_t k = 0;
  for (size_t i = 0; i < n; ++i) {
    const Site& s = sites[i];
    if (s.verdict != kPatchable)
      continue;
    ftsc_patch_site r{};
    r.syscall_offset = static_cast<uint32_t>(s.syscall_at - o.text);
    r.window = static_cast<uint8_t>(s.window());
    r.n_displaced = s.n_displaced;
    r.nr = s.nr;
    memcpy(r.length, s.length, sizeof r.length);
    memcpy(r.disp_offset, s.disp_offset, sizeof r.disp_offset);
    memcpy(r.original, reinterpret_cast<const void*>(s.start), s.window());
    records[k++] = r;
  }
  h.state = 0;
  h.checksum = checksum_of(h, records, k);
  memcpy(at, &h, sizeof h);
  __atomic_store_n(reinterpret_cast<uint32_t*>(at), FTSC_ANALYSIS_READY, __ATOMIC_RELEASE);
}

// The full analysis of o's n sites (*bytes of them, mapped), or null with
// the reason in report->why.
Site* analyse_object(const Object& o, size_t n, size_t* sites_bytes_out, Report* report) {
  const auto* b = reinterpret_cast<const uint8_t*>(o.text);
  const size_t size = o.text_end - o.text;
  FunctionTable table;
  if (!read_function_table(o, &table)) {
    snprintf(report->why, sizeof report->why,
             "its .eh_frame_hdr has no function table the analysis reads");
    return nullptr;
  }
  if (g_cs.insn == nullptr) {
    // Not loaded: loading it under dl_iterate_phdr's lock, or in the middle of
    // a dlopen, could deadlock. The caller loads it and looks again.
    report->need_capstone = true;
    return nullptr;
  }
  const size_t sites_bytes = n * sizeof(Site);
  auto* sites = static_cast<Site*>(map_anonymous(sites_bytes));
  if (sites == nullptr) {
    snprintf(report->why, sizeof report->why, "no memory for the analysis");
    return nullptr;
  }
  size_t k = 0;
  for (const uint8_t* p = b; k < n && (p = next_syscall_bytes(p, b + size)) != nullptr; ++p) {
    sites[k] = Site{};
    sites[k++].syscall_at = reinterpret_cast<uintptr_t>(p);
  }
  constexpr size_t kTargets = 16384;
  auto* targets = static_cast<uintptr_t*>(map_anonymous(kTargets * sizeof(uintptr_t)));
  for (size_t i = 0; i < n;) {
    uintptr_t start = 0, end = 0;
    bool signal = false;
    if (!function_of(table, o, sites[i].syscall_at, &start, &end, &signal)) {
      sites[i++].verdict = kNoFunction;
      continue;
    }
    size_t last = i;
    while (last < n && sites[last].syscall_at < end)
      ++last;
    if (signal) {
      for (; i < last; ++i)
        sites[i].verdict = kProcessCall;
      continue;
    }
    analyse_function(start, end, sites, i, last, targets, targets != nullptr ? kTargets : 0);
    i = last;
  }
  unmap(targets, kTargets * sizeof(uintptr_t));
  exclude_branch_targets(o, sites, n);

  *sites_bytes_out = sites_bytes;
  return sites;
}

// Maps the trampolines of sites[0, n), writes the jumps, and counts each
// site's verdict in *report.
void install(const Object& o, Site* sites, size_t n, Report* report) {
  size_t patchable = 0;
  for (size_t i = 0; i < n; ++i)
    patchable += sites[i].verdict == kPatchable;
  uintptr_t area = 0;
  const size_t code_bytes = page_up(n * kTrampolineSize);
  const size_t area_bytes = code_bytes + kPage;  // the trampolines, then the table
  if (patchable > 0 && g_n_tables < kMaxTables) {
    area = map_near(o.text, o.text_end, area_bytes);
    if (area == 0)
      for (size_t i = 0; i < n; ++i)
        if (sites[i].verdict == kPatchable)
          sites[i].verdict = kOutOfReach;
  }
  if (area != 0) {
    auto* trampolines = reinterpret_cast<uint8_t*>(area);
    uint8_t* handled = trampolines + code_bytes;
    for (size_t nr = 0; nr < kHandledBytes; ++nr)
      handled[nr] = handles_syscall(static_cast<long>(nr)) ? 1 : 0;
    for (size_t i = 0; i < n; ++i)
      if (sites[i].verdict == kPatchable &&
          (!within_rel32(sites[i].start, area) ||
           !emit_trampoline(sites[i], trampolines + i * kTrampolineSize, handled)))
        sites[i].verdict = kOutOfReach;
    long r = raw_syscall(SYS_mprotect, static_cast<long>(area), static_cast<long>(code_bytes),
                         PROT_READ | PROT_EXEC);
    if (is_error(r)) {
      snprintf(report->why, sizeof report->why,
               "mprotect could not make its trampolines executable: %s", error_name(r));
    } else if (!write_jumps(o, sites, n, trampolines, report->why, sizeof report->why)) {
      // report->why says it
    }
    bool used = false;
    for (size_t i = 0; i < n; ++i)
      used = used || sites[i].verdict == kPatched;
    if (!used) {
      unmap(reinterpret_cast<void*>(area), area_bytes);
    } else {
      g_tables[g_n_tables] = handled;
      __atomic_store_n(&g_n_tables, g_n_tables + 1, __ATOMIC_RELEASE);
      if (!library_active())  // the library stepped aside meanwhile
        forget_handled_syscalls();
    }
  }
  for (size_t i = 0; i < n; ++i) {
    ++report->counts[sites[i].verdict];
    if (sites[i].nr == SYS_mmap) {
      if (sites[i].verdict == kPatched)
        report->mmap_patched = true;
      else
        report->mmap_left = true;
    }
  }
}

void patch_object(const Object& o, Report* report) {
  if (o.text == 0 || o.text_end <= o.text + 2)
    return;
  ftsc_patch_analysis id;
  const bool known = identify(o, &id);
  size_t n = 0, sites_bytes = 0;
  Site* sites = nullptr;
  if (known)
    sites = load_shared(o, id, &n, &sites_bytes, report, &report->refused);
  if (sites != nullptr) {
    report->shared = true;
  } else {
    report->sites = 0;
    for (size_t& c : report->counts)
      c = 0;
    report->mmap_left = false;
    const auto* b = reinterpret_cast<const uint8_t*>(o.text);
    const size_t size = o.text_end - o.text;
    for (const uint8_t* p = b; (p = next_syscall_bytes(p, b + size)) != nullptr; ++p)
      ++n;
    report->sites = n;
    if (n == 0)
      return;
    sites = analyse_object(o, n, &sites_bytes, report);
    if (sites == nullptr)
      return;
    if (known)
      store_shared(o, id, sites, n);
  }
  install(o, sites, n, report);
  unmap(sites, sites_bytes);
}

void say_report(const Object& o, const Report& r) {
  char text[520];
  if (r.why[0] != '\0') {
    snprintf(text, sizeof text, "%s: left unpatched (%zu syscall sites): %s", o.name, r.sites,
             r.why);
    say(text);
    return;
  }
  if (r.refused != nullptr) {
    snprintf(text, sizeof text, "%s: the run's shared analysis was refused (%s): analysed again",
             o.name, r.refused);
    say(text);
  }
  int n = snprintf(text, sizeof text, "%s: patched %zu of %zu syscall sites%s", o.name,
                   r.counts[kPatched], r.sites, r.shared ? " (shared analysis)" : "");
  const char* sep = "; left alone: ";
  for (int v = 0; v < kVerdicts && n > 0 && static_cast<size_t>(n) < sizeof text; ++v) {
    const char* what = verdict_text(v);
    if (what == nullptr || r.counts[v] == 0)
      continue;
    n += snprintf(text + n, sizeof text - static_cast<size_t>(n), "%s%zu %s", sep, r.counts[v],
                  what);
    sep = ", ";
  }
  say(text);
}

// ---- which objects, and when ----------------------------------------------------

pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
bool g_allocator_patched = false;
bool g_verbose = false;

// The objects already seen (patched or not): the next look patches only new ones.
constexpr int kSeen = 512;
uintptr_t g_seen[kSeen];  // each object's text start
int g_n_seen = 0;

bool seen(uintptr_t text) {
  for (int i = 0; i < g_n_seen; ++i)
    if (g_seen[i] == text)
      return true;
  return false;
}

// Objects the library never patches.
bool never_patched(const Object& o) {
  const char* slash = strrchr(o.name, '/');
  const char* base = slash != nullptr ? slash + 1 : o.name;
  return o.text == 0 || o.name[0] == '\0' || strncmp(base, "ld-linux", 8) == 0 ||
         strncmp(base, "linux-vdso", 10) == 0 || strncmp(base, "libcapstone", 11) == 0 ||
         contains(o, reinterpret_cast<const void*>(&patch_syscall_sites)) || o.go;
}

struct Look {
  bool startup;
  bool need_capstone;  // an object was left for a look with capstone loaded
  uintptr_t present[kSeen];
  int n_present;
};

int look_at(dl_phdr_info* info, size_t, void* data) {
  auto* look = static_cast<Look*>(data);
  const Object o = describe(*info);
  if (look->n_present < kSeen)
    look->present[look->n_present++] = o.text;
  if (seen(o.text) || o.text == 0)
    return 0;
  if (g_n_seen < kSeen)
    g_seen[g_n_seen++] = o.text;
  const char* slash = strrchr(o.name, '/');
  const char* base = slash != nullptr ? slash + 1 : o.name;
  const bool libc = strcmp(base, "libc.so.6") == 0;
  // At start-up only libc; later every library that dlopen brought.
  if ((look->startup && !libc) || never_patched(o))
    return 0;
  Report report;
  if (o.text_relocations)
    snprintf(report.why, sizeof report.why, "it has text relocations");
  else
    patch_object(o, &report);
  if (report.need_capstone && look->startup) {
    look->need_capstone = true;  // patch_syscall_sites loads it and looks again
    if (g_n_seen > 0 && g_seen[g_n_seen - 1] == o.text)
      --g_n_seen;
    return 0;
  }
  if (report.need_capstone) {
    // Inside a dlopen, which capstone's own dlopen must not nest in. The
    // run's next processes load it at start-up.
    uint8_t* file = shared_analyses();
    if (file != nullptr)
      __atomic_fetch_or(reinterpret_cast<uint64_t*>(file) + 1, FTSC_ANALYSES_LOAD_CAPSTONE,
                        __ATOMIC_RELAXED);
    snprintf(report.why, sizeof report.why,
             "capstone is not loaded in this process (it patched libc from the run's shared "
             "analysis) and cannot be while a library loads; the run's next processes load it");
  }
  if (libc) {
    g_allocator_patched = report.mmap_patched && !report.mmap_left;
  }
  if (g_verbose && (report.sites > 0 || report.why[0] != '\0' || report.refused != nullptr))
    say_report(o, report);
  return 0;
}

// Patches the objects not seen yet. True when one waits for capstone (start-up only).
bool look(bool startup) {
  bool need_capstone = false;
  pthread_mutex_lock(&g_lock);
  auto* l = static_cast<Look*>(map_anonymous(sizeof(Look)));
  if (l != nullptr) {
    l->startup = startup;
    l->need_capstone = false;
    l->n_present = 0;
    dl_iterate_phdr(&look_at, l);
    // Forget objects that were unloaded: a new one may come at their address.
    int kept = 0;
    for (int i = 0; i < g_n_seen; ++i) {
      bool present = false;
      for (int j = 0; j < l->n_present && !present; ++j)
        present = l->present[j] == g_seen[i];
      if (present)
        g_seen[kept++] = g_seen[i];
    }
    g_n_seen = kept;
    need_capstone = l->need_capstone;
    unmap(l, sizeof(Look));
  }
  pthread_mutex_unlock(&g_lock);
  return need_capstone;
}

// ld.so's r_brk: called with r_state RT_CONSISTENT when a dlopen has mapped
// its objects and before they are relocated and initialised (or a dlclose
// has unmapped them).
extern "C" void ftsc_preload_link_map_changed() {
  if (_r_debug.r_state == r_debug::RT_CONSISTENT && library_active())
    look(false);
}

// The length of the nop at p (0x90, or 0f 1f with its ModRM operand, after
// 66 and 2e prefixes, as assemblers pad with), or 0 for anything else.
size_t nop_length(const uint8_t* p) {
  size_t n = 0;
  while (n < 6 && (p[n] == 0x66 || p[n] == 0x2e))
    ++n;
  if (p[n] == 0x90)
    return n + 1;
  if (p[n] != 0x0f || p[n + 1] != 0x1f)
    return 0;
  const uint8_t modrm = p[n + 2];
  const int mod = modrm >> 6, rm = modrm & 7;
  if (((modrm >> 3) & 7) != 0)
    return 0;
  if (mod == 3)
    return n + 3;
  const bool sib = rm == 4;
  size_t disp = mod == 1 ? 1 : mod == 2 ? 4 : 0;
  if (mod == 0 && (rm == 5 || (sib && (p[n + 3] & 7) == 5)))
    disp = 4;
  return n + 3 + (sib ? 1 : 0) + disp;
}

// Points ld.so's r_brk at the hook. It must be an empty function (`ret`, or
// endbr64 and `ret`, then padding that decodes as nops) of at least 5 bytes.
bool hook_link_map_changes(const char** why) {
  const auto brk = static_cast<uintptr_t>(_r_debug.r_brk);
  if (brk == 0) {
    *why = "ld.so announces no link map changes (r_debug.r_brk is 0)";
    return false;
  }
  const auto* code = reinterpret_cast<const uint8_t*>(brk);
  size_t bytes = 0;
  bool returned = false;
  while (bytes < 5) {
    size_t length = 0;
    if (!returned && memcmp(code + bytes, "\xf3\x0f\x1e\xfa", 4) == 0) {
      length = bytes == 0 ? 4 : 0;  // endbr64, first only
    } else if (!returned && code[bytes] == 0xc3) {
      length = 1;
      returned = true;
    } else if (returned) {
      length = nop_length(code + bytes);
    }
    if (length == 0)
      break;
    bytes += length;
  }
  if (!returned || bytes < 5) {
    *why = "ld.so's _dl_debug_state is not the empty function expected (a debugger's breakpoint?)";
    return false;
  }
  const uintptr_t t = map_near(brk, brk + bytes, kPage);
  if (t == 0) {
    *why = "no memory within reach of ld.so";
    return false;
  }
  Emitter e(reinterpret_cast<uint8_t*>(t));
  e.bytes({0xff, 0x25, 0, 0, 0, 0});  // jmp *0(%rip)
  e.u64(reinterpret_cast<uintptr_t>(&ftsc_preload_link_map_changed));
  long r = raw_syscall(SYS_mprotect, static_cast<long>(t), kPage, PROT_READ | PROT_EXEC);
  const long page = static_cast<long>(page_down(brk));
  const long length = static_cast<long>(page_up(brk + bytes)) - page;
  if (!is_error(r))
    r = raw_syscall(SYS_mprotect, page, length, PROT_READ | PROT_WRITE | PROT_EXEC);
  if (is_error(r)) {
    raw_syscall(SYS_munmap, static_cast<long>(t), kPage);
    *why = "mprotect refused to make ld.so's text writable";
    return false;
  }
  auto* w = reinterpret_cast<uint8_t*>(brk);
  const auto rel = static_cast<uint32_t>(rel32(w + 5, t));
  memcpy(w + 1, &rel, 4);
  __atomic_store_n(w, uint8_t{0xe9}, __ATOMIC_RELEASE);
  raw_syscall(SYS_mprotect, page, length, PROT_READ | PROT_EXEC);
  return true;
}

// glibc 2.26 to 2.40: a version whose cancellation the patching keeps intact.
bool libc_recognised() {
  const char* v = gnu_get_libc_version();
  int major = 0, minor = 0;
  if (v == nullptr || sscanf(v, "%d.%d", &major, &minor) != 2)
    return false;
  return major == 2 && minor >= 26 && minor <= 40;
}

}  // namespace

void patch_syscall_sites() {
  if (!library_active())
    return;
  g_verbose = verbose();
  const char* wanted = getenv("FTSC_PRELOAD_PATCH");
  if (wanted != nullptr && strcmp(wanted, "0") == 0) {
    if (g_verbose)
      say("FTSC_PRELOAD_PATCH=0: libc's syscall sites stay unpatched");
    return;
  }
  if (!libc_recognised()) {
    if (g_verbose)
      say("libc is not a glibc from 2.26 to 2.40: its syscall sites stay unpatched");
    return;
  }
  // Capstone (some 7 ms of relocations to load) only when an object needs
  // analysing, loaded between dl_iterate_phdr's walks, never during one; and
  // when the run's processes found that libraries loaded later need it.
  const char* why = nullptr;
  uint8_t* file = shared_analyses();
  const bool later_need_capstone =
      file != nullptr && (__atomic_load_n(reinterpret_cast<uint64_t*>(file) + 1, __ATOMIC_RELAXED) &
                          FTSC_ANALYSES_LOAD_CAPSTONE) != 0;
  const bool libc_waits = look(true);
  if (libc_waits || later_need_capstone || file == nullptr) {
    if (open_capstone(&why)) {
      look(true);
    } else {
      if (g_verbose) {
        char text[300];
        snprintf(text, sizeof text, "%s: %s",
                 libc_waits ? "libc's syscall sites stay unpatched"
                            : "libraries loaded later are analysed by no process",
                 why);
        say(text);
      }
      if (libc_waits)
        return;
    }
  }
  if (!hook_link_map_changes(&why) && g_verbose) {
    char text[300];
    snprintf(text, sizeof text, "libraries loaded later are not patched: %s", why);
    say(text);
  }
}

void forget_handled_syscalls() {
  for (int i = 0; i < __atomic_load_n(&g_n_tables, __ATOMIC_ACQUIRE) && i < kMaxTables; ++i)
    for (size_t nr = 0; nr < kHandledBytes; ++nr)
      __atomic_store_n(&g_tables[i][nr], uint8_t{0}, __ATOMIC_RELAXED);
}

bool allocator_calls_patched() {
  return __atomic_load_n(&g_allocator_patched, __ATOMIC_RELAXED);
}

}  // namespace ftsc::preload
