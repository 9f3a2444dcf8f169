// SPDX-License-Identifier: Apache-2.0
#include "campaign/campaign.h"

#include <fmt/format.h>

#include "campaign/classify.h"
#include "profile/profile.h"

namespace ftsc::campaign {

std::string_view outcome_name(Outcome o) {
  switch (o) {
    case Outcome::kTolerated:
      return "tolerated";
    case Outcome::kHandled:
      return "handled";
    case Outcome::kHung:
      return "hung";
    case Outcome::kCrashed:
      return "crashed";
    case Outcome::kCorrupted:
      return "corrupted";
  }
  return "?";
}

std::optional<Outcome> outcome_from_name(std::string_view name) {
  for (Outcome o : kWorstFirst)
    if (outcome_name(o) == name)
      return o;
  return std::nullopt;
}

int severity(Outcome o) {
  return static_cast<int>(o);
}

std::string fault_label(const Fault& f) {
  return fmt::format("{} {} #{}", profile::profile_syscall_label(f.nr),
                     profile::profile_errno_label(f.err), f.occurrence);
}

uint64_t Tally::total() const {
  uint64_t t = 0;
  for (uint64_t x : n)
    t += x;
  return t;
}

Tally Campaign::tally(int pass) const {
  Tally t;
  for (const Run& r : runs)
    if (r.pass == pass && r.error.empty())
      t.add(r.outcome);
  return t;
}

namespace {

std::string tally_words(const Tally& t) {
  return fmt::format("{} tolerated, {} handled, {} crashed, {} hung, {} corrupted",
                     t[Outcome::kTolerated], t[Outcome::kHandled], t[Outcome::kCrashed],
                     t[Outcome::kHung], t[Outcome::kCorrupted]);
}

}  // namespace

std::string format_summary(const Campaign& c) {
  Tally first = c.tally(1);
  std::string out = fmt::format("{} fault{}: {}", first.total(), first.total() == 1 ? "" : "s",
                                tally_words(first));
  if (!c.policy_source.empty()) {
    Tally second = c.tally(2);
    out += fmt::format("; with the policy: {}", tally_words(second));
    if (c.with_policy && classify(c.golden.observed, *c.with_policy) != Outcome::kTolerated)
      out += fmt::format(
          " (the policy changes the fault-free run too: exit status {} without it, {} with it; "
          "the second pass is compared with the run under the policy)",
          c.golden.observed.exit_status, c.with_policy->exit_status);
  }
  if (c.interrupted)
    out += fmt::format(" (interrupted: {} of {} runs done)", c.runs.size(),
                       c.plan.size() * (c.policy_source.empty() ? 1 : 2));
  return out;
}

}  // namespace ftsc::campaign
