// SPDX-License-Identifier: Apache-2.0
#include "policy/policy.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace ftsc::policy {
namespace {

bool same_names(const std::vector<Named>& a, const std::vector<Named>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](const Named& x, const Named& y) { return x.text == y.text; });
}

bool same_backoff(const BackoffSpec& a, const BackoffSpec& b) {
  if (a.form != b.form)
    return false;
  if (a.form == BackoffSpec::Form::kList)
    return a.delays == b.delays;
  return a.base == b.base && a.factor == b.factor && a.cap == b.cap && a.attempts == b.attempts;
}

bool same_optional_backoff(const std::optional<BackoffSpec>& a,
                           const std::optional<BackoffSpec>& b) {
  if (a.has_value() != b.has_value())
    return false;
  return !a || same_backoff(*a, *b);
}

}  // namespace

BackoffSpec BackoffSpec::paper_default() {
  using std::chrono::milliseconds;
  BackoffSpec b;
  b.form = Form::kList;
  b.delays = {milliseconds(10), milliseconds(50), milliseconds(100)};
  return b;
}

std::vector<base::Nanos> BackoffSpec::expand() const {
  if (form == Form::kList)
    return delays;
  std::vector<base::Nanos> out;
  long double d = static_cast<long double>(base.count());
  // Without a cap the delays stop growing at the longest duration a policy takes.
  const base::Nanos bound =
      cap.count() > 0 ? std::min(cap, base::kMaxPolicyDuration) : base::kMaxPolicyDuration;
  const long double limit = static_cast<long double>(bound.count());
  for (int i = 0; i < attempts; ++i) {
    long double v = std::min(d, limit);
    out.emplace_back(static_cast<int64_t>(std::llround(v)));
    d *= factor;
  }
  return out;
}

const char* mode_name(Mode m) {
  return m == Mode::kObserve ? "observe" : "enforce";
}

bool equivalent_policies(const PolicySpec& a, const PolicySpec& b) {
  if (a.mode != b.mode || !same_backoff(a.default_backoff, b.default_backoff) ||
      a.default_jitter != b.default_jitter || a.default_deadline != b.default_deadline ||
      a.budget.window != b.budget.window || a.budget.max_wait != b.budget.max_wait)
    return false;
  const TargetSpec& ta = a.target;
  const TargetSpec& tb = b.target;
  if (ta.cgroup != tb.cgroup || ta.uid != tb.uid || ta.pid != tb.pid || ta.comm != tb.comm ||
      ta.all != tb.all)
    return false;
  if (a.rules.size() != b.rules.size() || a.injects.size() != b.injects.size())
    return false;
  for (size_t i = 0; i < a.rules.size(); ++i) {
    const RuleSpec& x = a.rules[i];
    const RuleSpec& y = b.rules[i];
    if (!same_names(x.syscalls, y.syscalls) || !same_names(x.retry, y.retry) ||
        !same_names(x.never, y.never) || !same_names(x.undecided, y.undecided) ||
        !same_names(x.not_applicable, y.not_applicable) ||
        !same_optional_backoff(x.backoff, y.backoff) || x.jitter != y.jitter ||
        x.deadline != y.deadline)
      return false;
  }
  for (size_t i = 0; i < a.injects.size(); ++i) {
    const InjectSpec& x = a.injects[i];
    const InjectSpec& y = b.injects[i];
    if (x.text != y.text || !same_names(x.syscalls, y.syscalls) || x.error.text != y.error.text ||
        x.first != y.first || x.last != y.last || x.step != y.step ||
        x.probability != y.probability || x.seed != y.seed)
      return false;
  }
  return true;
}

}  // namespace ftsc::policy
