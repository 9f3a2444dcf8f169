// SPDX-License-Identifier: Apache-2.0
// ftsc-kbtables: turns the knowledge base's data files into the C++ tables
// ftsc is built with. Run by the build (data/CMakeLists.txt) whenever
// data/man_errnos.tsv, data/traits.toml or this tool changes:
//
//   ftsc-kbtables --man-errnos data/man_errnos.tsv --traits data/traits.toml -o kb_tables.cc
//
// Every error in the files is printed as FILE:LINE: error: MESSAGE (HINT), the
// way a compiler reports, and then the tool fails without writing (and
// removes an output left by an earlier run), so the build stops there. Exit
// status: 0 written, 1 errors in the data or a file that cannot be read or
// written, 2 wrong usage.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

#include "base/diagnostic.h"
#include "kbtables/kb_reader.h"
#include "kbtables/kb_writer.h"

namespace {

constexpr const char* kUsage =
    "usage: ftsc-kbtables --man-errnos FILE --traits FILE -o OUTPUT\n"
    "Checks the knowledge base's data files and writes them as C++ tables.\n";

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    int err = errno;
    std::fprintf(stderr, "ftsc-kbtables: cannot read '%s': %s\n", path.c_str(), std::strerror(err));
    return std::nullopt;
  }
  std::ostringstream s;
  s << in.rdbuf();
  if (in.bad()) {
    std::fprintf(stderr, "ftsc-kbtables: cannot read '%s'\n", path.c_str());
    return std::nullopt;
  }
  return s.str();
}

// Writes beside the output and renames, so a build never compiles half a file.
bool write_file(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    out.close();
    if (!out) {
      int err = errno;
      std::fprintf(stderr, "ftsc-kbtables: cannot write '%s': %s\n", tmp.c_str(),
                   std::strerror(err));
      return false;
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::fprintf(stderr, "ftsc-kbtables: cannot rename '%s' to '%s': %s\n", tmp.c_str(),
                 path.c_str(), ec.message().c_str());
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::string man_errnos;
  std::string traits;
  std::string output;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    std::string* value = arg == "--man-errnos" ? &man_errnos
                         : arg == "--traits"   ? &traits
                         : arg == "-o"         ? &output
                                               : nullptr;
    if (value == nullptr || i + 1 == argc) {
      std::fprintf(stderr, "ftsc-kbtables: %s '%s'\n%s",
                   value == nullptr ? "unknown argument" : "missing value after", argv[i], kUsage);
      return 2;
    }
    *value = argv[++i];
  }
  if (man_errnos.empty() || traits.empty() || output.empty()) {
    std::fputs(kUsage, stderr);
    return 2;
  }

  auto tsv_text = read_file(man_errnos);
  auto traits_text = read_file(traits);
  if (!tsv_text || !traits_text)
    return 1;
  ftsc::kbtables::ReadResult r =
      ftsc::kbtables::read_knowledge({man_errnos, *tsv_text}, {traits, *traits_text});
  if (!r.errors.empty()) {
    for (const ftsc::base::Diagnostic& d : r.errors)
      std::fprintf(stderr, "%s\n", ftsc::base::format_diagnostic(d).c_str());
    std::fprintf(stderr, "ftsc-kbtables: %zu error%s in the knowledge base; %s not written\n",
                 r.errors.size(), r.errors.size() == 1 ? "" : "s", output.c_str());
    std::error_code ec;
    std::filesystem::remove(output, ec);
    return 1;
  }
  std::string sources = man_errnos + " and " + traits;
  return write_file(output, ftsc::kbtables::write_tables_source(r.data, sources)) ? 0 : 1;
}
