// SPDX-License-Identifier: Apache-2.0
// Writes the knowledge base as C++ constant tables (the types are in
// data/kb_tables.h), the source file ftsc compiles instead of parsing the
// data files at run time.
#pragma once

#include <string>
#include <string_view>

#include "kbtables/kb_reader.h"

namespace ftsc::kbtables {

// The text of kb_tables.cc for data that read_knowledge() accepted. `sources`
// names the files it came from, for the header comment.
std::string write_tables_source(const KnowledgeData& data, std::string_view sources);

}  // namespace ftsc::kbtables
