// SPDX-License-Identifier: Apache-2.0
// ftsc-kbgen: generates data/man_errnos.tsv, the errnos that each x86_64
// syscall's man page documents in its ERRORS section.
//
// Why one file of this length: a build-time tool that runs as one pass (find
// each page, read its groff source, cut the ERRORS section, write the table),
// read top to bottom; no other code links any of it.
//
// How it works. The syscall list is libseccomp's (kb::all_syscalls()), never a
// hand-typed one. For each syscall the generator looks for its page in a man2
// directory (default /usr/share/man/man2, the groff sources of Debian's
// manpages-dev), in this order:
//   1. NAME.2.gz or NAME.2 exists. Debian turns the upstream `.so man2/x.2`
//      stubs into symbolic links (accept4.2.gz -> accept.2.gz, newfstatat.2.gz ->
//      fstatat.2.gz -> stat.2.gz); both forms are followed, symlinks by the file
//      system and `.so` requests by reading the stub (at most 8 hops). The page
//      reported is the file the chain ends at ("accept.2" for accept4).
//   2. Otherwise a page whose NAME section lists the syscall ("accept, accept4 \-
//      ...") is used. Only real pages (not symlinks or .so stubs) are indexed;
//      when several list the name, the first in file-name order wins.
//   3. Otherwise the syscall has no page ("-").
// A link may leave man2 (mq_timedsend.2.gz -> ../man3/mq_timedsend.3.gz ->
// mq_send.3.gz); the page is then "mq_send.3". Pages are read with zlib's gz* functions, which also
// read uncompressed files.
//
// Parsing ERRORS. The section runs from `.SH ERRORS` to the next `.SH`, so its
// `.SS` sub-sections belong to it. Comments (`.\"` lines and `\"` tails) are
// dropped; requests keep their arguments as text (`.B EAGAIN`, `.BR EAGAIN " or "
// EWOULDBLOCK`, the tag of `.IP`, the line after `.TP`); groff escapes (`\fB`,
// `\-`, `\[bu]`, `\*(..` ...) are removed. Every word of the remaining text that
// looks like an errno (E followed by capitals and digits) and that glibc knows
// (kb::errno_value, aliases included) counts as documented, under glibc's
// canonical name (EWOULDBLOCK -> EAGAIN). So tagged entries, entries naming two
// errnos, an untagged first entry (mincore.2) and prose such as accept.2's
// "Various Linux kernels can return other errors such as ENOSR ..." are all
// collected, while words that are not glibc errnos (ERESTARTSYS, ELF,
// EPOLLEXCLUSIVE, SIGSEGV) are dropped and nothing is invented. Errnos that a
// page names only outside ERRORS (brk.2's RETURN VALUE) are not collected.
//
// References. Some pages document their errors by pointing at another page:
// "pread() can fail and set errno to any error specified for read(2) or
// lseek(2)", "Errors are as for sendmsg(2)", "As for waitpid(2)", and vfork.2,
// which has no ERRORS section, "For details and return value and errors, see
// fork(2)". A sentence of the ERRORS section (of the whole page when it has
// none) that says its errors are another page's ("same errors", "any error",
// "errors are as", "errors documented/described/specified/returned", "error
// codes returned", "As for", "errors, see") adds the errnos of every `x(2)` it
// names, found by the same rules as a syscall's page, transitively. Passing
// mentions ("See open(2) for further details on the O_NONBLOCK flag", "see the
// description of EAGAIN in execve(2)") do not. The result is per page: every
// syscall sharing a page shares its errnos (munmap gets mmap.2's, pwrite64 the
// write(2) errors pread.2 names for pwrite()).
//
// The man-pages version comes from the pages' `.TH` lines ("Linux man-pages
// 6.03"); the most common one among the pages used wins.
#include <fmt/core.h>
#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "base/result.h"
#include "base/text.h"
#include "kb/errno_table.h"
#include "kb/syscall_table.h"

namespace fs = std::filesystem;

namespace {

using ftsc::base::Error;
using ftsc::base::Result;

constexpr int kMaxRedirects = 8;
constexpr std::string_view kDefaultManDir = "/usr/share/man/man2";

Error make_error(std::string message, std::string hint = {}) {
  return Error{std::move(message), {}, std::move(hint)};
}

// ---- Reading pages --------------------------------------------------------

struct GzClose {
  void operator()(gzFile_s* f) const { gzclose(f); }
};
using GzFile = std::unique_ptr<gzFile_s, GzClose>;

Result<std::string> read_gz(const fs::path& path) {
  errno = 0;
  GzFile f(gzopen(path.c_str(), "rb"));
  if (f == nullptr) {
    return make_error(fmt::format("cannot open man page '{}': {}", path.string(),
                                  errno != 0 ? std::strerror(errno) : "out of memory"));
  }
  const char* kHint = "check that the file is a complete gzip'd groff page";
  std::string text;
  char buf[1 << 16];
  for (;;) {
    int n = gzread(f.get(), buf, sizeof(buf));
    if (n < 0) {
      int code = 0;
      std::string why = gzerror(f.get(), &code);
      if (code == Z_ERRNO)
        why = std::strerror(errno);
      return make_error(fmt::format("cannot read man page '{}': {}", path.string(), why), kHint);
    }
    if (n == 0)
      break;
    text.append(buf, static_cast<size_t>(n));
  }
  // gzread() returns what it has at the end of the input; Z_BUF_ERROR then
  // means the file ended in the middle of a gzip stream (zlib.h, gzread).
  int code = Z_OK;
  gzerror(f.get(), &code);
  if (code == Z_BUF_ERROR) {
    return make_error(
        fmt::format("cannot read man page '{}': the gzip stream is truncated", path.string()),
        kHint);
  }
  return text;
}

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos)
      end = text.size();
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

bool is_comment(std::string_view line) {
  return line.starts_with(".\\\"") || line.starts_with("'\\\"") || line == "." ||
         line.starts_with("\\\"");
}

// The argument of a leading `.so` request, or "" when the page is not a stub.
std::string so_target(std::string_view text) {
  for (std::string_view line : split_lines(text)) {
    if (line.empty() || is_comment(line))
      continue;
    if (!line.starts_with(".so"))
      return {};
    std::string_view rest = line.substr(3);
    if (!rest.empty() && rest.front() != ' ' && rest.front() != '\t')
      return {};
    size_t b = rest.find_first_not_of(" \t");
    size_t e = rest.find_last_not_of(" \t\r");
    return b == std::string_view::npos ? std::string() : std::string(rest.substr(b, e - b + 1));
  }
  return {};
}

// "accept.2" for .../accept.2.gz.
std::string page_name(const fs::path& path) {
  std::string n = path.filename().string();
  if (n.ends_with(".gz"))
    n.resize(n.size() - 3);
  return n;
}

struct Page {
  std::string name;  // "accept.2"
  std::string text;  // groff source
};

// Finds NAME.2 or NAME.2.gz in dir: the path, nullopt when neither exists, or an
// error for a dangling symbolic link.
Result<std::optional<fs::path>> find_file(const fs::path& dir, std::string_view file) {
  for (const fs::path& p : {dir / (std::string(file) + ".gz"), dir / std::string(file)}) {
    std::error_code ec;
    fs::file_status st = fs::symlink_status(p, ec);
    if (ec || !fs::exists(st))
      continue;
    if (!fs::exists(p, ec)) {
      return make_error(
          fmt::format("man page '{}' is a symbolic link to a missing file", p.string()),
          "reinstall manpages-dev or remove the broken link");
    }
    return std::optional<fs::path>(p);
  }
  return std::optional<fs::path>();
}

class ManDir {
 public:
  explicit ManDir(fs::path dir) : dir_(std::move(dir)) {}

  // The page file.2 (following symlinks and .so stubs), nullopt when absent.
  Result<std::optional<Page>> load(std::string_view file) {
    auto found = find_file(dir_, file);
    if (!found.ok())
      return found.error();
    if (!found.value())
      return std::optional<Page>();
    auto page = load_path(*found.value());
    if (!page.ok())
      return page.error();
    return std::optional<Page>(std::move(page.value()));
  }

  // syscall name -> page file ("accept.2"), from the NAME sections of every real page.
  Result<const std::map<std::string, std::string>*> name_index();

  const fs::path& dir() const { return dir_; }

 private:
  Result<Page> load_path(const fs::path& start);

  fs::path dir_;
  std::optional<std::map<std::string, std::string>> names_;
};

Result<Page> ManDir::load_path(const fs::path& start) {
  fs::path path = start;
  for (int hop = 0; hop <= kMaxRedirects; ++hop) {
    std::error_code ec;
    fs::path real = fs::canonical(path, ec);
    if (ec) {
      return make_error(
          fmt::format("cannot resolve man page '{}': {}", path.string(), ec.message()));
    }
    auto text = read_gz(real);
    if (!text.ok())
      return text.error();
    std::string target = so_target(text.value());
    if (target.empty())
      return Page{page_name(real), std::move(text.value())};
    // `.so man2/x.2` is relative to the man root (the parent of man2); a bare
    // `.so x.2` or an unusual prefix is looked up beside the stub.
    fs::path rel(target);
    std::optional<fs::path> next;
    for (const fs::path& d : {dir_.parent_path() / rel.parent_path(), dir_}) {
      auto f = find_file(d, rel.filename().string());
      if (!f.ok())
        return f.error();
      if (f.value()) {
        next = *f.value();
        break;
      }
    }
    if (!next) {
      return make_error(fmt::format("man page '{}' redirects (.so) to '{}', which does not exist",
                                    real.string(), target),
                        "reinstall manpages-dev or fix the redirect");
    }
    path = *next;
  }
  return make_error(fmt::format("man page '{}' redirects (.so) more than {} times", start.string(),
                                kMaxRedirects));
}

// ---- groff text -----------------------------------------------------------

// Removes groff escapes, keeping the text they stand for where it matters.
std::string strip_escapes(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  auto skip_name = [&](size_t& i) {  // after an escape letter: (xx, [name] or x
    if (i >= s.size())
      return;
    if (s[i] == '(') {
      i = std::min(s.size(), i + 3);
    } else if (s[i] == '[') {
      size_t e = s.find(']', i);
      i = e == std::string_view::npos ? s.size() : e + 1;
    } else {
      ++i;
    }
  };
  for (size_t i = 0; i < s.size();) {
    char c = s[i];
    if (c != '\\') {
      out += c;
      ++i;
      continue;
    }
    if (i + 1 >= s.size())
      break;  // a trailing backslash continues the line
    char e = s[i + 1];
    i += 2;
    switch (e) {
      case '"':  // comment to the end of the line
        return out;
      case '-':
        out += '-';
        break;
      case 'e':
      case '\\':
        out += '\\';
        break;
      case '&':
      case 'c':
      case '%':
      case ':':
      case '/':
      case ',':
      case '|':
      case '^':
      case ')':
        break;
      case '~':
      case ' ':
      case '0':
      case 't':
        out += ' ';
        break;
      case 'f':  // font change: \fB \f(CW \f[B]
      case 'F':
      case 'n':  // number register
      case 'g':
      case 'k':
      case 'm':
      case 'M':
      case 'Y':
        skip_name(i);
        break;
      case '*':  // string: \*(xx \*[name] \*x
      case '(':  // special character \(xx
        if (e == '(') {
          i = std::min(s.size(), i + 2);
        } else {
          skip_name(i);
        }
        out += ' ';
        break;
      case '[':  // special character \[name]
      {
        size_t end = s.find(']', i);
        i = end == std::string_view::npos ? s.size() : end + 1;
        out += ' ';
        break;
      }
      case 's':  // size: \s-1 \s+2 \s0 \s[..]
        if (i < s.size() && (s[i] == '+' || s[i] == '-'))
          ++i;
        if (i < s.size() && s[i] == '[') {
          skip_name(i);
        } else {
          while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])))
            ++i;
        }
        break;
      default:
        out += e;
        break;
    }
  }
  return out;
}

// The arguments of a request line (".BR EAGAIN \" or \" EWOULDBLOCK").
std::vector<std::string> request_args(std::string_view rest) {
  std::vector<std::string> args;
  size_t i = 0;
  while (i < rest.size()) {
    while (i < rest.size() && (rest[i] == ' ' || rest[i] == '\t'))
      ++i;
    if (i >= rest.size())
      break;
    std::string arg;
    if (rest[i] == '"') {
      ++i;
      while (i < rest.size()) {
        if (rest[i] == '"') {
          if (i + 1 < rest.size() && rest[i + 1] == '"') {  // "" is a literal quote
            arg += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        arg += rest[i++];
      }
    } else {
      while (i < rest.size() && rest[i] != ' ' && rest[i] != '\t')
        arg += rest[i++];
    }
    args.push_back(std::move(arg));
  }
  return args;
}

// A page as sections of plain text: heading (upper case) -> text lines.
struct ParsedPage {
  std::vector<std::pair<std::string, std::vector<std::string>>> sections;
  std::string th_source;  // the fourth .TH argument ("Linux man-pages 6.03")

  const std::vector<std::string>* section(std::string_view heading) const {
    for (const auto& [h, lines] : sections) {
      if (h == heading)
        return &lines;
    }
    return nullptr;
  }
};

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

ParsedPage parse_page(std::string_view text) {
  ParsedPage page;
  std::vector<std::string>* current = nullptr;
  bool heading_on_next_line = false;
  std::string pending;  // a text line continued with a trailing backslash
  for (std::string_view raw : split_lines(text)) {
    if (is_comment(raw))
      continue;
    std::string line = pending + std::string(raw);
    pending.clear();
    if (!line.empty() && line.back() == '\\' &&
        (line.size() < 2 || line[line.size() - 2] != '\\')) {
      line.pop_back();
      pending = line;
      continue;
    }
    std::string content;
    if (!line.empty() && (line[0] == '.' || line[0] == '\'')) {
      std::string_view req(line);
      req.remove_prefix(1);
      size_t name_end = req.find_first_of(" \t");
      std::string name(req.substr(0, name_end));
      std::string_view rest = name_end == std::string_view::npos ? "" : req.substr(name_end);
      std::vector<std::string> args = request_args(rest);
      if (name == "SH") {
        std::string heading;
        for (const std::string& a : args)
          heading += (heading.empty() ? "" : " ") + a;
        heading = upper(std::string(ftsc::base::trim(strip_escapes(heading), " \t\r")));
        if (heading.empty()) {
          heading_on_next_line = true;
          continue;
        }
        page.sections.emplace_back(heading, std::vector<std::string>());
        current = &page.sections.back().second;
        continue;
      }
      if (name == "TH") {
        if (args.size() >= 4)
          page.th_source = std::string(ftsc::base::trim(strip_escapes(args[3]), " \t\r"));
        continue;
      }
      for (const std::string& a : args)
        content += a + " ";
    } else {
      content = line;
    }
    content = strip_escapes(content);
    if (heading_on_next_line) {
      heading_on_next_line = false;
      page.sections.emplace_back(upper(std::string(ftsc::base::trim(content, " \t\r"))),
                                 std::vector<std::string>());
      current = &page.sections.back().second;
      continue;
    }
    if (current != nullptr)
      current->push_back(std::move(content));
  }
  return page;
}

// The errnos (canonical glibc names' values) named in the ERRORS section.
std::set<int> documented_errnos(const ParsedPage& page) {
  std::set<int> out;
  const std::vector<std::string>* lines = page.section("ERRORS");
  if (lines == nullptr)
    return out;
  for (const std::string& line : *lines) {
    size_t i = 0;
    while (i < line.size()) {
      auto word_char = [&](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
      };
      if (!word_char(line[i])) {
        ++i;
        continue;
      }
      size_t j = i;
      while (j < line.size() && word_char(line[j]))
        ++j;
      std::string_view word(line.data() + i, j - i);
      i = j;
      if (word.size() < 3 || word[0] != 'E')
        continue;
      bool errno_like = std::all_of(word.begin(), word.end(), [](char c) {
        return std::isupper(static_cast<unsigned char>(c)) ||
               std::isdigit(static_cast<unsigned char>(c));
      });
      if (!errno_like)
        continue;
      if (auto v = ftsc::kb::errno_value(word))
        out.insert(*v);
    }
  }
  return out;
}

// The names a NAME section lists before its "\-" ("accept, accept4 \- ...").
std::vector<std::string> listed_names(const ParsedPage& page) {
  std::vector<std::string> names;
  const std::vector<std::string>* lines = page.section("NAME");
  if (lines == nullptr)
    return names;
  std::string text;
  for (const std::string& l : *lines)
    text += l + " ";
  text = text.substr(0, text.find('-'));
  std::string cur;
  for (char c : text + ",") {
    if (c == ',' || c == ' ' || c == '\t') {
      if (!cur.empty())
        names.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  return names;
}

// "6.03" from "Linux man-pages 6.03", or "".
std::string man_pages_version(std::string_view th_source) {
  constexpr std::string_view kPrefix = "Linux man-pages ";
  size_t at = th_source.find(kPrefix);
  if (at == std::string_view::npos)
    return {};
  return std::string(ftsc::base::trim(th_source.substr(at + kPrefix.size()), " \t\r"));
}

Result<const std::map<std::string, std::string>*> ManDir::name_index() {
  if (names_)
    return &*names_;
  std::error_code ec;
  std::vector<fs::path> files;
  for (const fs::directory_entry& e : fs::directory_iterator(dir_, ec)) {
    std::string n = e.path().filename().string();
    if (!(n.ends_with(".2") || n.ends_with(".2.gz")))
      continue;
    if (e.is_symlink())
      continue;  // an alias of a page that is indexed itself
    files.push_back(e.path());
  }
  if (ec) {
    return make_error(
        fmt::format("cannot list man directory '{}': {}", dir_.string(), ec.message()));
  }
  std::sort(files.begin(), files.end());
  std::map<std::string, std::string> names;
  for (const fs::path& p : files) {
    auto text = read_gz(p);
    if (!text.ok())
      return text.error();
    if (!so_target(text.value()).empty())
      continue;  // a stub: its target is indexed
    for (const std::string& n : listed_names(parse_page(text.value()))) {
      names.emplace(n, page_name(p));  // the first page in file-name order wins
    }
  }
  names_ = std::move(names);
  return &*names_;
}

// The pages a page refers to for (part of) its errors: "pread() can fail and
// set errno to any error specified for read(2) or lseek(2)", "Errors are as for
// sendmsg(2)", "As for waitpid(2)". Sentences of the ERRORS section are searched,
// or of the whole page when it has none ("For details and return value and
// errors, see fork(2)" in vfork.2). A sentence counts only when it says that the
// errors are those of the other page; "see open(2) for further details on the
// O_NONBLOCK flag" and "see the description of EAGAIN in execve(2)" do not.
std::vector<std::string> error_references(const ParsedPage& page) {
  static const std::regex kClaims(
      "(^as for )|same errors|any (of the )?(same )?errors?|errors (are )?as |"
      "errors (documented|described|specified|returned)|error codes returned|errors, see ",
      std::regex::icase | std::regex::optimize);
  static const std::regex kReference("([A-Za-z_][A-Za-z0-9_]*) ?\\(2\\)");
  std::vector<std::string> refs;
  auto scan = [&](const std::vector<std::string>& lines) {
    std::string text;
    for (const std::string& l : lines)
      text += l + " ";
    text = std::regex_replace(text, std::regex("\\s+"), " ");
    // Sentences end at ". " or ".) " ("(See ioctl_iflags(2).) In addition, ...").
    static const std::regex kSentenceEnd("\\.\\)? ");
    for (std::sregex_token_iterator part(text.begin(), text.end(), kSentenceEnd, -1), end;
         part != end; ++part) {
      std::string sentence(ftsc::base::trim(part->str(), " \t\r"));
      if (!std::regex_search(sentence, kClaims))
        continue;
      for (std::sregex_iterator ref(sentence.begin(), sentence.end(), kReference), none;
           ref != none; ++ref) {
        std::string name = (*ref)[1].str();
        if (std::find(refs.begin(), refs.end(), name) == refs.end())
          refs.push_back(name);
      }
    }
  };
  if (const std::vector<std::string>* errors = page.section("ERRORS")) {
    scan(*errors);
  } else {
    for (const auto& [heading, lines] : page.sections)
      scan(lines);
  }
  return refs;
}

// ---- The table ------------------------------------------------------------

struct Row {
  int nr;
  std::string name;
  std::string page;  // "" when none
  std::set<int> errnos;
  bool via_name_section = false;
  std::vector<std::string> included;  // pages whose errors this page refers to
};

struct Table {
  std::vector<Row> rows;
  std::string version;
};

class Generator {
 public:
  explicit Generator(ManDir& man) : man_(man) {}
  Result<Table> run();

 private:
  struct Found {
    std::string page;  // "accept.2"
    bool via_name_section = false;
  };
  struct Errnos {
    std::set<int> errnos;
    std::vector<std::string> included;
  };
  // The page documenting `name` (rules 1 and 2 of the file comment), nullopt when none.
  Result<std::optional<Found>> find(const std::string& name);
  Result<const ParsedPage*> parsed(const std::string& page);
  // The page's own errnos and, transitively, those of the pages it refers to.
  Result<Errnos> errnos_of(const std::string& page, std::set<std::string>& visiting);

  ManDir& man_;
  std::map<std::string, ParsedPage> parsed_;  // by page name ("accept.2")
  std::map<std::string, int> versions_;
};

Result<std::optional<Generator::Found>> Generator::find(const std::string& name) {
  auto page = man_.load(name + ".2");
  if (!page.ok())
    return page.error();
  if (page.value()) {
    const Page& p = *page.value();
    if (parsed_.find(p.name) == parsed_.end())
      parsed_.emplace(p.name, parse_page(p.text));
    return std::optional<Found>(Found{p.name, false});
  }
  auto index = man_.name_index();
  if (!index.ok())
    return index.error();
  auto it = index.value()->find(name);
  if (it == index.value()->end())
    return std::optional<Found>();
  return std::optional<Found>(Found{it->second, true});
}

Result<const ParsedPage*> Generator::parsed(const std::string& page) {
  auto it = parsed_.find(page);
  if (it == parsed_.end()) {
    auto loaded = man_.load(page);
    if (!loaded.ok())
      return loaded.error();
    if (!loaded.value()) {
      return make_error(
          fmt::format("man page '{}' disappeared while reading '{}'", page, man_.dir().string()));
    }
    it = parsed_.emplace(page, parse_page(loaded.value()->text)).first;
  }
  return &it->second;
}

Result<Generator::Errnos> Generator::errnos_of(const std::string& page,
                                               std::set<std::string>& visiting) {
  auto p = parsed(page);
  if (!p.ok())
    return p.error();
  Errnos out;
  out.errnos = documented_errnos(*p.value());
  visiting.insert(page);
  for (const std::string& ref : error_references(*p.value())) {
    auto found = find(ref);
    if (!found.ok())
      return found.error();
    if (!found.value() || visiting.count(found.value()->page) != 0)
      continue;
    auto sub = errnos_of(found.value()->page, visiting);
    if (!sub.ok())
      return sub.error();
    out.errnos.insert(sub.value().errnos.begin(), sub.value().errnos.end());
    out.included.push_back(found.value()->page);
    for (std::string& s : sub.value().included)
      out.included.push_back(std::move(s));
  }
  visiting.erase(page);
  return out;
}

Result<Table> Generator::run() {
  Table table;
  std::set<std::string> counted;  // pages whose version was counted
  for (const ftsc::kb::SyscallName& sc : ftsc::kb::all_syscalls()) {
    Row row{sc.nr, sc.name, {}, {}, false, {}};
    auto found = find(sc.name);
    if (!found.ok())
      return found.error();
    if (found.value()) {
      row.page = found.value()->page;
      row.via_name_section = found.value()->via_name_section;
      std::set<std::string> visiting;
      auto errnos = errnos_of(row.page, visiting);
      if (!errnos.ok())
        return errnos.error();
      row.errnos = std::move(errnos.value().errnos);
      row.included = std::move(errnos.value().included);
      if (counted.insert(row.page).second) {
        std::string v = man_pages_version(parsed_.at(row.page).th_source);
        if (!v.empty())
          ++versions_[v];
      }
    }
    table.rows.push_back(std::move(row));
  }
  // The most common version; ties go to the later one.
  int best = 0;
  for (const auto& [v, n] : versions_) {
    if (n >= best) {
      best = n;
      table.version = v;
    }
  }
  if (table.version.empty())
    table.version = "unknown";
  return table;
}

std::string render(const Table& table) {
  std::string out;
  out +=
      "# ftsc knowledge base: errnos each x86_64 syscall's man page documents (ERRORS section).\n";
  out += fmt::format(
      "# Generated by ftsc-kbgen from man-pages {} (Debian manpages-dev). Do not edit.\n",
      table.version);
  out += "# Regenerate: build/tools/kbgen/ftsc-kbgen -o data/man_errnos.tsv\n";
  out += "# syscall\tnr\tman page\terrnos (canonical glibc names, sorted by value)\n";
  for (const Row& r : table.rows) {
    std::string errnos;
    for (int e : r.errnos) {
      if (!errnos.empty())
        errnos += ' ';
      errnos += ftsc::kb::errno_name(e);
    }
    out += fmt::format("{}\t{}\t{}\t{}\n", r.name, r.nr, r.page.empty() ? "-" : r.page, errnos);
  }
  return out;
}

void print_summary(const Table& table, bool verbose_includes = true) {
  int with_page = 0;
  int via_name = 0;
  int with_errnos = 0;
  std::string without;
  for (const Row& r : table.rows) {
    if (r.page.empty()) {
      without += (without.empty() ? "" : " ") + r.name;
      continue;
    }
    ++with_page;
    if (r.via_name_section)
      ++via_name;
    if (!r.included.empty()) {
      std::string inc;
      for (const std::string& p : r.included)
        inc += " " + p;
      if (verbose_includes)
        fmt::print(stderr, "ftsc-kbgen: {} ({}) includes the errors of{}\n", r.name, r.page, inc);
    }
    if (!r.errnos.empty())
      ++with_errnos;
  }
  fmt::print(stderr,
             "ftsc-kbgen: {} syscalls, {} with a man page ({} found via a NAME section), {} "
             "documenting errnos; man-pages {}\nftsc-kbgen: without a page: {}\n",
             table.rows.size(), with_page, via_name, with_errnos, table.version,
             without.empty() ? "none" : without);
}

// ---- main -----------------------------------------------------------------

constexpr std::string_view kUsage =
    "usage: ftsc-kbgen [--man-dir DIR] [-o FILE] [--verbose]\n"
    "\n"
    "Writes the errnos each x86_64 syscall's man page documents (its ERRORS\n"
    "section) as a tab-separated table, ordered by syscall number.\n"
    "\n"
    "  --man-dir DIR  man2 directory with the groff pages (default /usr/share/man/man2)\n"
    "  -o FILE        write to FILE instead of standard output\n"
    "  --verbose      print a summary to standard error\n";

int fail(const Error& e) {
  fmt::print(stderr, "ftsc-kbgen: error: {}\n", e.message);
  if (!e.hint.empty())
    fmt::print(stderr, "ftsc-kbgen: hint: {}\n", e.hint);
  return 1;
}

Result<int> write_file(const std::string& path, const std::string& text) {
  // Written beside the target and renamed, so a failure never leaves half a table.
  std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) {
      return make_error(fmt::format("cannot write '{}': {}", tmp, std::strerror(errno)));
    }
    f << text;
    f.close();
    if (!f) {
      std::remove(tmp.c_str());
      return make_error(fmt::format("cannot write '{}': {}", tmp, std::strerror(errno)));
    }
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    std::remove(tmp.c_str());
    return make_error(fmt::format("cannot rename '{}' to '{}': {}", tmp, path, ec.message()));
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string man_dir(kDefaultManDir);
  std::string output;
  bool verbose = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--man-dir" || a == "-o") {
      std::optional<std::string> v;
      if (i + 1 < argc)
        v = argv[++i];
      if (!v) {
        fmt::print(stderr, "ftsc-kbgen: error: {} needs an argument\n{}", a, kUsage);
        return 2;
      }
      (a == "-o" ? output : man_dir) = *v;
    } else if (a.starts_with("--man-dir=")) {
      man_dir = std::string(a.substr(10));
    } else if (a == "--verbose" || a == "-v") {
      verbose = true;
    } else if (a == "--help" || a == "-h") {
      fmt::print("{}", kUsage);
      return 0;
    } else {
      fmt::print(stderr, "ftsc-kbgen: error: unknown argument '{}'\n{}", a, kUsage);
      return 2;
    }
  }

  std::error_code ec;
  if (!fs::is_directory(man_dir, ec)) {
    return fail(
        make_error(fmt::format("man directory '{}' does not exist or is not a directory", man_dir),
                   "install the man pages (apt-get install manpages-dev) or pass --man-dir DIR"));
  }
  if (ftsc::kb::all_syscalls().empty()) {
    return fail(
        make_error("libseccomp knows no x86_64 syscalls", "check the libseccomp installation"));
  }
  fs::path dir = fs::absolute(man_dir).lexically_normal();
  if (dir.filename().empty())
    dir = dir.parent_path();  // "man2/" -> "man2"
  ManDir man{dir};
  Generator generator(man);
  auto table = generator.run();
  if (!table.ok())
    return fail(table.error());
  std::string text = render(table.value());
  if (verbose)
    print_summary(table.value());
  if (output.empty() || output == "-") {
    if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() ||
        std::fflush(stdout) != 0) {
      return fail(
          make_error(fmt::format("cannot write to standard output: {}", std::strerror(errno))));
    }
    return 0;
  }
  auto written = write_file(output, text);
  if (!written.ok())
    return fail(written.error());
  return 0;
}
