// SPDX-License-Identifier: Apache-2.0
// Small helpers shared by the TOML readers: the policy language's (src/policy/) and
// the knowledge base's traits file's in tools/kbtables (at build time).
#pragma once

#include <toml++/toml.h>

namespace ftsc::base {

// "a string", "an integer", ...: for "expected X, found Y" messages.
inline const char* toml_type_name(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a floating-point number";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    default:
      return "nothing";
  }
}

// The 1-based line where a node starts.
inline int toml_line(const toml::node& n) {
  return static_cast<int>(n.source().begin.line);
}

}  // namespace ftsc::base
