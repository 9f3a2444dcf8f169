#include "core/policy.h"

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
  const long double limit =
      cap.count() > 0 ? static_cast<long double>(cap.count()) : static_cast<long double>(INT64_MAX);
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
