#include "core/policy.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace ftsc::core {

BackoffSpec BackoffSpec::paper_default() {
  using std::chrono::milliseconds;
  BackoffSpec b;
  b.form = Form::kList;
  b.delays = {milliseconds(10), milliseconds(50), milliseconds(100)};
  return b;
}

std::vector<Nanos> BackoffSpec::expand() const {
  if (form == Form::kList)
    return delays;
  std::vector<Nanos> out;
  long double d = static_cast<long double>(base.count());
  // Without a cap the delays stop growing at the longest duration a policy takes.
  const Nanos bound = cap.count() > 0 ? std::min(cap, kMaxPolicyDuration) : kMaxPolicyDuration;
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

}  // namespace ftsc::core
