// The knowledge base files as compiled into ftsc (see data/CMakeLists.txt).
#pragma once

#include <string_view>

namespace ftsc::data {

std::string_view man_errnos_tsv();  // data/man_errnos.tsv
std::string_view traits_toml();     // data/traits.toml

}  // namespace ftsc::data
