// SPDX-License-Identifier: Apache-2.0
#include "policy/inject_grammar.h"
#include "base/text.h"

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "abi/compiled_policy.h"

#include "base/did_you_mean.h"
#include "kb/errno_table.h"

namespace ftsc::policy {
namespace {

constexpr std::string_view kSyntax =
    "SYSCALL[,SYSCALL...]:error=ERRNO[:when=FIRST[..LAST][+[STEP]]][:p=PROBABILITY][:seed=N]";
constexpr uint32_t kMaxCount = UINT32_MAX - 1;  // UINT32_MAX means "no end"
// An injected errno is 1..511: 512 and above are the kernel's internal restart
// codes (ERESTARTSYS ...), which a program never sees and every engine refuses.
constexpr uint32_t kMaxInjectErrno = FTSC_INJECT_ERRNO_MAX;

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_name_char(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool all_name_chars(std::string_view s) {
  for (char c : s)
    if (!is_name_char(c))
      return false;
  return !s.empty();
}

// Splits on sep, keeping empty pieces; each piece with its offset in s.
struct Piece {
  std::string_view text;
  size_t offset;
};
std::vector<Piece> split(std::string_view s, char sep) {
  std::vector<Piece> out;
  size_t start = 0;
  for (;;) {
    size_t end = s.find(sep, start);
    if (end == std::string_view::npos) {
      out.push_back({s.substr(start), start});
      return out;
    }
    out.push_back({s.substr(start, end - start), start});
    start = end + 1;
  }
}

class Parser {
 public:
  // base: where text starts in what the user wrote (leading blanks trimmed).
  Parser(std::string_view text, size_t base, const base::SourceLoc& where)
      : text_(text), base_(base), where_(where) {}

  base::Result<InjectSpec> parse();

 private:
  base::Error fail(std::string what, std::string hint) const {
    return base::Error{fmt::format("invalid injection '{}': {}", text_, what), where_,
                       std::move(hint)};
  }
  // The position of a part of text_, when the caller knows the column of the text.
  base::SourceLoc at(size_t offset) const {
    base::SourceLoc loc = where_;
    if (loc.column > 0)
      loc.column += static_cast<int>(base_ + offset);
    return loc;
  }

  base::Result<void> parse_syscalls(Piece list, InjectSpec& spec) const;
  base::Result<void> parse_error(Piece value, InjectSpec& spec) const;
  base::Result<void> parse_when(std::string_view value, InjectSpec& spec) const;
  base::Result<void> parse_probability(std::string_view value, InjectSpec& spec) const;
  base::Result<void> parse_seed(std::string_view value, InjectSpec& spec) const;

  std::string_view text_;
  size_t base_;
  const base::SourceLoc& where_;
};

base::Result<void> Parser::parse_syscalls(Piece list, InjectSpec& spec) const {
  if (base::trim(list.text).empty())
    return fail(
        "the syscall list is empty",
        fmt::format("name the syscalls to fail first, e.g. 'openat:error=EIO' ({})", kSyntax));
  if (list.text.find('=') != std::string_view::npos)
    return fail(
        fmt::format("'{}' is an option, but the injection must start with the syscalls", list.text),
        fmt::format("write e.g. 'openat:{}' ({})", list.text, kSyntax));
  for (const Piece& p : split(list.text, ',')) {
    std::string_view name = p.text;
    if (name.empty())
      return fail(fmt::format("empty syscall name in '{}'", list.text),
                  "separate syscall names with single commas, e.g. 'openat,read'");
    if (name[0] == '!' || name[0] == '/' || name[0] == '?')
      return fail(fmt::format("'{}' uses strace's '{}' qualifier, which ftsc does not support",
                              name, name[0]),
                  "list the syscalls by name, or use a %group");
    std::string_view bare = name[0] == '%' ? name.substr(1) : name;
    if (!all_name_chars(bare))
      return fail(fmt::format("malformed syscall name '{}'", name),
                  name[0] == '%' ? "a group is % and a name, e.g. %file"
                                 : "syscall names are letters, digits and '_', e.g. openat; "
                                   "a group starts with %, e.g. %file");
    spec.syscalls.push_back(Named{std::string(name), at(list.offset + p.offset)});
  }
  return {};
}

base::Result<void> Parser::parse_error(Piece value, InjectSpec& spec) const {
  std::string_view v = value.text;
  std::string text;
  if (v[0] == '-' || v[0] == '+')
    return fail(fmt::format("error={} has a sign", v),
                "write the errno without a sign, e.g. error=5 or error=EIO; ftsc makes the "
                "call return -1 with errno set to it");
  if (is_digit(v[0])) {
    uint32_t n = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec == std::errc() && end != v.data() + v.size())
      return fail(
          fmt::format("error={}: unexpected '{}' after the number {}", v,
                      std::string_view(end, v.data() + v.size() - end), n),
          fmt::format("write an errno name such as EIO, or a number 1..{}", kMaxInjectErrno));
    if (ec != std::errc() || n < 1 || n > kMaxInjectErrno)
      return fail(fmt::format("errno number {} is out of range", v),
                  fmt::format("injected errno numbers are 1..{} (512 and above are the kernel's "
                              "internal restart codes); a name such as EIO is clearer",
                              kMaxInjectErrno));
    std::string_view name = kb::errno_name(static_cast<int>(n));
    text = name.empty() ? std::to_string(n) : std::string(name);
  } else {
    if (!all_name_chars(v))
      return fail(fmt::format("malformed errno '{}'", v),
                  fmt::format("write an errno name such as EIO or ENOSPC, or a number 1..{}",
                              kMaxInjectErrno));
    text = std::string(v);
  }
  spec.error = Named{std::move(text), at(value.offset)};
  return {};
}

// Reads a count 1..kMaxCount at v[pos...]; `what` names it in messages.
std::optional<std::string> read_count(std::string_view v, size_t& pos, uint32_t& out,
                                      std::string_view what) {
  size_t start = pos;
  while (pos < v.size() && is_digit(v[pos]))
    ++pos;
  if (pos == start) {
    if (start == v.size())
      return fmt::format("{} is missing at the end", what);
    return fmt::format("expected {} at '{}'", what, v.substr(start));
  }
  uint64_t n = 0;
  for (size_t i = start; i < pos; ++i) {
    n = n * 10 + static_cast<uint64_t>(v[i] - '0');
    if (n > kMaxCount)
      return fmt::format("{} {} is too large (at most {})", what, v.substr(start, pos - start),
                         kMaxCount);
  }
  out = static_cast<uint32_t>(n);
  return {};
}

base::Result<void> Parser::parse_when(std::string_view v, InjectSpec& spec) const {
  const std::string hint(
      "write when=FIRST (one attempt), FIRST..LAST, FIRST+ (every attempt from FIRST), "
      "FIRST+STEP or FIRST..LAST+STEP; attempts count from 1, e.g. when=1..2");
  size_t pos = 0;
  uint32_t first = 0;
  uint32_t last = 0;
  uint32_t step = 1;
  if (auto e = read_count(v, pos, first, "FIRST"))
    return fail(fmt::format("when={}: {}", v, *e), hint);
  if (first == 0)
    return fail(fmt::format("when={}: attempts are counted from 1", v),
                "the first attempt of a syscall is when=1");
  last = first;
  bool range = false;
  if (v.substr(pos, 2) == "..") {
    pos += 2;
    range = true;
    if (auto e = read_count(v, pos, last, "LAST"))
      return fail(fmt::format("when={}: {}", v, *e), hint);
    if (last < first)
      return fail(
          fmt::format("when={}: the range ends before it starts", v),
          fmt::format("write FIRST..LAST with LAST >= FIRST, e.g. when={}..{}", last, first));
  }
  if (pos < v.size() && v[pos] == '+') {
    ++pos;
    if (pos == v.size()) {
      if (range)
        return fail(fmt::format("when={}: '+' after a range needs a STEP", v),
                    fmt::format("write e.g. when={}+2, or drop the '+'", v.substr(0, pos - 1)));
      last = UINT32_MAX;
    } else {
      if (auto e = read_count(v, pos, step, "STEP"))
        return fail(fmt::format("when={}: {}", v, *e), hint);
      if (step == 0)
        return fail(fmt::format("when={}: the step must be at least 1", v),
                    "FIRST+1 fails every attempt from FIRST, FIRST+2 every other one");
      if (!range)
        last = UINT32_MAX;
    }
  }
  if (pos != v.size())
    return fail(
        fmt::format("when={}: unexpected '{}' after '{}'", v, v.substr(pos), v.substr(0, pos)),
        hint);
  spec.first = first;
  spec.last = last;
  spec.step = step;
  return {};
}

base::Result<void> Parser::parse_probability(std::string_view v, InjectSpec& spec) const {
  const char* hint =
      "write a probability above 0 and at most 1, e.g. p=0.1, or a percentage, "
      "e.g. p=10%";
  const bool percent = v.back() == '%';
  std::string_view number = percent ? v.substr(0, v.size() - 1) : v;
  int digits = 0;
  int dots = 0;
  for (char c : number) {
    if (is_digit(c))
      ++digits;
    else if (c == '.')
      ++dots;
    else
      return fail(fmt::format("p={} is not a decimal number", v), hint);
  }
  if (digits == 0 || dots > 1)
    return fail(fmt::format("p={} is not a decimal number", v), hint);
  double p = 0;
  auto [end, ec] =
      std::from_chars(number.data(), number.data() + number.size(), p, std::chars_format::fixed);
  if (ec != std::errc() || end != number.data() + number.size())
    return fail(fmt::format("p={} is not a decimal number", v), hint);
  if (percent)
    p /= 100.0;
  if (p <= 0)
    return fail(fmt::format("p={} never injects anything", v),
                "write a probability above 0, e.g. p=0.01; to disable the injection, drop it");
  if (p > 1)
    return fail(fmt::format("p={} is more than {}", v, percent ? "100%" : "1"), hint);
  spec.probability = p;
  return {};
}

base::Result<void> Parser::parse_seed(std::string_view v, InjectSpec& spec) const {
  uint64_t seed = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), seed);
  if (!is_digit(v[0]) || ec != std::errc() || end != v.data() + v.size())
    return fail(fmt::format("seed={} is not a number 0..18446744073709551615", v),
                "write a decimal seed, e.g. seed=42; the same seed fails the same attempts");
  spec.seed = seed;
  return {};
}

base::Result<InjectSpec> Parser::parse() {
  if (text_.empty())
    return fail("it is empty", fmt::format("write {}, e.g. 'openat:error=EIO:when=1..2'", kSyntax));
  InjectSpec spec;
  spec.where = where_;
  spec.text = std::string(text_);

  std::vector<Piece> parts = split(text_, ':');
  if (auto r = parse_syscalls(parts[0], spec); !r)
    return r.error();

  constexpr std::string_view kKeys[] = {"error", "when", "p", "seed"};
  bool seen[4] = {};
  for (size_t i = 1; i < parts.size(); ++i) {
    const Piece& part = parts[i];
    if (part.text.empty())
      return fail(i + 1 == parts.size() ? "it ends with ':'" : "it has an empty option ('::')",
                  "separate options with single colons, e.g. 'openat:error=EIO:when=2'");
    size_t eq = part.text.find('=');
    std::string_view key = part.text.substr(0, eq);
    std::string_view value =
        eq == std::string_view::npos ? std::string_view() : part.text.substr(eq + 1);
    size_t k = 0;
    while (k < 4 && kKeys[k] != key)
      ++k;
    if (k == 4) {
      if (eq == std::string_view::npos && all_name_chars(key) && key[0] == 'E')
        return fail(fmt::format("option '{}' has no key", key),
                    fmt::format("did you mean error={}?", key));
      if (key == "retval" || key == "signal" || key == "delay_enter" || key == "delay_exit" ||
          key == "poke_enter" || key == "poke_exit" || key == "syscall")
        return fail(fmt::format("strace's '{}=' is not supported: ftsc injects errors only", key),
                    "use error=ERRNO, optionally with when=, p= and seed=");
      if (eq == std::string_view::npos)
        return fail(fmt::format("option '{}' is not KEY=VALUE", key),
                    "options are error=ERRNO, when=EXPR, p=PROBABILITY and seed=N");
      std::string hint = base::did_you_mean(
          key, std::vector<std::string_view>(std::begin(kKeys), std::end(kKeys)));
      hint += hint.empty() ? "" : " ";
      hint += "the keys are error, when, p and seed";
      return fail(fmt::format("unknown key '{}'", key), hint);
    }
    if (seen[k])
      return fail(fmt::format("'{}=' is given twice", key), "give each option once");
    seen[k] = true;
    if (value.empty())
      return fail(fmt::format("'{}=' has no value", key), k == 0   ? "write e.g. error=EIO"
                                                          : k == 1 ? "write e.g. when=1..2"
                                                          : k == 2 ? "write e.g. p=0.1 or p=10%"
                                                                   : "write e.g. seed=42");
    base::Result<void> e;
    switch (k) {
      case 0:
        e = parse_error(Piece{value, part.offset + eq + 1}, spec);
        break;
      case 1:
        e = parse_when(value, spec);
        break;
      case 2:
        e = parse_probability(value, spec);
        break;
      default:
        e = parse_seed(value, spec);
        break;
    }
    if (!e)
      return e.error();
  }
  if (!seen[0])
    return fail("it has no error=",
                fmt::format("say which errno to fail with, e.g. '{}:error=EIO'", parts[0].text));
  if (seen[3] && !seen[2])
    return fail("seed= only matters with p=", "add p=PROBABILITY (e.g. p=0.1), or drop seed=");
  return spec;
}

}  // namespace

base::Result<InjectSpec> parse_inject_spec(std::string_view text, const base::SourceLoc& where) {
  // Outer blanks are the shell's or the policy file's, not the grammar's.
  std::string_view trimmed = base::trim(text);
  size_t base = trimmed.empty() ? 0 : static_cast<size_t>(trimmed.data() - text.data());
  return Parser(trimmed, base, where).parse();
}

}  // namespace ftsc::policy
