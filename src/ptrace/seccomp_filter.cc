#include "ptrace/seccomp_filter.h"

#include <seccomp.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

#include <fmt/format.h>

namespace ftsc::ptrace {

class Filter {
 public:
  explicit Filter(scmp_filter_ctx ctx) : ctx_(ctx) {}
  ~Filter() { seccomp_release(ctx_); }
  scmp_filter_ctx ctx() const { return ctx_; }

 private:
  scmp_filter_ctx ctx_;
};

void FilterDeleter::operator()(Filter* f) const {
  delete f;
}

core::Result<FilterPtr> build_filter(const ftsc_policy& policy) {
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  if (ctx == nullptr)
    return core::Error{"cannot create a seccomp filter (libseccomp)", {}, {}};
  FilterPtr filter(new Filter(ctx));
  // Calls through other architectures' entry points are not ours to judge:
  // allow them instead of libseccomp's default (kill).
  int rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_ALLOW);
  // As root, do not set no_new_privs, so that setuid programs behave as they
  // would under any tracer; load_filter() falls back to it without CAP_SYS_ADMIN.
  if (rc == 0 && geteuid() == 0)
    rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
  for (unsigned nr = 0; rc == 0 && nr < FTSC_NR_LIMIT; ++nr) {
    bool watch = policy.syscalls[nr].flags & (FTSC_SC_IN_POLICY | FTSC_SC_INJECT);
    // ptrace is watched to explain why a program that uses it fails here.
    if (watch || nr == SYS_ptrace)
      rc = seccomp_rule_add(ctx, SCMP_ACT_TRACE(kFilterMarker), static_cast<int>(nr), 0);
  }
  if (rc != 0)
    return core::Error{
        fmt::format("cannot build the seccomp filter: {}", std::strerror(-rc)), {}, {}};
  return filter;
}

int load_filter(Filter& filter) {
  int rc = seccomp_load(filter.ctx());
  if (rc == -EACCES || rc == -EPERM) {
    // Without CAP_SYS_ADMIN the kernel wants no_new_privs.
    if (seccomp_attr_set(filter.ctx(), SCMP_FLTATR_CTL_NNP, 1) == 0)
      rc = seccomp_load(filter.ctx());
  }
  return rc < 0 ? -rc : 0;
}

}  // namespace ftsc::ptrace
