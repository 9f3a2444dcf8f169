// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for every parser of the policy language: the TOML policy,
// the retry matrix, and the command-line grammars (--retry, --backoff,
// --inject), all fed the same bytes. Besides "no crash, no hang, no sanitizer
// finding" it checks the properties the rest of ftsc relies on:
//   - every finding names the file, a line, and says what to do (a hint);
//   - a policy that parses without errors is written back by
//     write_policy_toml() into a text that parses, without errors, into an
//     equivalent policy;
//   - a matrix is formatted back by format_matrix() into the same table, and an
//     imported matrix survives the trip through TOML as well;
//   - a policy (from any of the parsers) that the checker passes compiles into a
//     block the engines accept, renders as `show` and `explain` print it, and
//     exports as a matrix that imports again.
// A broken property aborts, so libFuzzer saves the input as a crash.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "abi/compiled_policy.h"
#include "kb/knowledge_base.h"
#include "policy/checker.h"
#include "policy/cli_rules.h"
#include "policy/compiler.h"
#include "policy/inject_grammar.h"
#include "policy/matrix.h"
#include "policy/report.h"
#include "policy/toml.h"

namespace {

using namespace ftsc::policy;
using ftsc::base::Diagnostic;
using ftsc::base::format_diagnostic;
using ftsc::base::has_errors;
using ftsc::base::SourceLoc;
using ftsc::kb::KnowledgeBase;

[[noreturn]] void fail(const char* what, std::string_view detail) {
  std::fprintf(stderr, "property broken: %s\n%.*s\n", what, static_cast<int>(detail.size()),
               detail.data());
  std::abort();
}

void check(bool ok, const char* what, std::string_view detail = {}) {
  if (!ok)
    fail(what, detail);
}

// TOML texts are UTF-8; names imported from a matrix in another encoding cannot
// be written into one, so that round trip is only checked for UTF-8 input.
bool valid_utf8(std::string_view s) {
  constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};  // shortest form per length
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t extra = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      extra = 1;
      cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      extra = 2;
      cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      extra = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (s.size() - i <= extra)
      return false;
    for (size_t k = 1; k <= extra; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80)
        return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if (cp < kMin[extra] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
      return false;
    i += extra + 1;
  }
  return true;
}

void check_diagnostics(const ParsedPolicy& p, std::string_view file, std::string_view text) {
  for (const Diagnostic& d : p.diags) {
    check(d.where.file == file, "a finding names the file", text);
    check(d.where.line >= 1, "a finding names a line", text);
    check(!d.message.empty(), "a finding has a message", text);
    check(!d.hint.empty(), "a finding has a hint", text);
  }
}

void check_policy_round_trip(const PolicySpec& spec, std::string_view origin) {
  std::string written = write_policy_toml(spec);
  ParsedPolicy back = parse_policy_toml(written, "written.toml");
  check_diagnostics(back, "written.toml", written);
  check(!has_errors(back.diags), "a written policy parses without errors",
        std::string(origin) + "\n---\n" + written);
  check(equivalent_policies(spec, back.spec), "a written policy parses into the same policy",
        std::string(origin) + "\n---\n" + written);
}

void check_model(const PolicySpec& spec, std::string_view origin) {
  const KnowledgeBase& kb = KnowledgeBase::builtin();
  CheckResult c = check_policy(spec, kb);
  for (const Diagnostic& d : c.diags)
    check(!d.message.empty(), "a finding has a message", origin);
  if (!c.ok())
    return;
  auto compiled = compile(c.policy, kb, CompileOptions{});
  check(compiled.ok(), "a policy the checker passes compiles",
        std::string(origin) + "\n---\n" + (compiled ? "" : compiled.error().message));
  check(ftsc_policy_validate(compiled->get(), sizeof(ftsc_policy)) == FTSC_POLICY_OK,
        "a compiled policy passes the engines' validation", origin);
  check(!render_policy_table(c.policy, kb).empty(), "show prints something", origin);
  int explained = 0;
  for (const auto& [key, cell] : c.policy.cells) {
    if (++explained > 8)
      break;
    check(!explain_cell(c.policy, kb, key.first, key.second).empty(), "explain says something",
          origin);
  }
  if (c.policy.cells.empty())
    return;
  std::string exported = format_matrix(to_matrix(c.policy));
  auto back = import_matrix(exported, "exported.txt", 0);
  check(back.ok(), "an exported matrix imports again",
        std::string(origin) + "\n---\n" + exported + (back ? "" : back.error().message));
}

void fuzz_policy(std::string_view text) {
  ParsedPolicy p = parse_policy_toml(text, "fuzz.toml");
  check_diagnostics(p, "fuzz.toml", text);
  if (!has_errors(p.diags)) {
    check_policy_round_trip(p.spec, text);
    check_model(p.spec, text);
  }
}

void fuzz_matrix(std::string_view text) {
  auto tables = parse_matrix_tables(text, "fuzz.txt");
  if (!tables) {
    check(tables.error().where.file == "fuzz.txt" && tables.error().where.line >= 1,
          "a matrix error names file:line", text);
    check(!tables.error().hint.empty(), "a matrix error has a hint", text);
    return;
  }
  for (const MatrixTable& t : *tables) {
    std::string formatted = format_matrix(t);
    auto again = parse_matrix_tables(formatted, "formatted.txt");
    check(again.ok() && again->size() == 1, "a formatted matrix parses as one table", formatted);
    const MatrixTable& u = (*again)[0];
    check(u.errnos.size() == t.errnos.size() && u.rows.size() == t.rows.size(),
          "a formatted matrix keeps its shape", formatted);
    for (size_t i = 0; i < t.errnos.size(); ++i)
      check(u.errnos[i].text == t.errnos[i].text, "a formatted matrix keeps its columns",
            formatted);
    for (size_t i = 0; i < t.rows.size(); ++i)
      check(u.rows[i].syscall.text == t.rows[i].syscall.text && u.rows[i].cells == t.rows[i].cells,
            "a formatted matrix keeps its rows", formatted);
  }
  for (int table = 0; table <= static_cast<int>(tables->size()) && table <= 3; ++table) {
    auto spec = import_matrix(text, "fuzz.txt", table);
    if (!spec) {
      check(!spec.error().message.empty() && !spec.error().hint.empty(),
            "an import error says what to do", text);
      continue;
    }
    if (valid_utf8(text))
      check_policy_round_trip(*spec, text);
    check_model(*spec, text);
  }
}

void fuzz_flags(std::string_view text) {
  auto rule = parse_retry_flag(text);
  if (rule) {
    check(!rule->syscalls.empty() && !rule->retry.empty(), "--retry names syscalls and errnos",
          text);
    for (const Named& n : rule->syscalls)
      check(!n.text.empty() && n.text.find_first_of(",= ") == std::string::npos,
            "--retry splits syscall names", text);
    for (const Named& n : rule->retry)
      check(!n.text.empty() && n.text.find_first_of(",= ") == std::string::npos,
            "--retry splits errno names", text);
    PolicySpec spec;
    spec.rules.push_back(*rule);
    check_model(spec, text);
  } else {
    check(rule.error().where.file == "--retry" && !rule.error().hint.empty(),
          "a --retry error names the flag and has a hint", text);
  }
  auto backoff = parse_backoff_flag(text);
  if (backoff) {
    check(!backoff->delays.empty() && backoff->delays.size() <= 32, "--backoff delay count", text);
    PolicySpec spec;
    spec.default_backoff = *backoff;
    spec.rules.push_back(RuleSpec{});
    spec.rules.back().syscalls.push_back(Named{"read", SourceLoc{"--retry", 0, 1}});
    spec.rules.back().retry.push_back(Named{"EIO", SourceLoc{"--retry", 0, 1}});
    check_model(spec, text);
  } else {
    check(backoff.error().where.file == "--backoff" && !backoff.error().hint.empty(),
          "a --backoff error names the flag and has a hint", text);
  }
  auto inject = parse_inject_spec(text, SourceLoc{"--inject", 0, 0});
  if (inject) {
    PolicySpec spec;
    spec.injects.push_back(*inject);
    check_model(spec, text);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  fuzz_policy(text);
  fuzz_matrix(text);
  fuzz_flags(text);
  return 0;
}
