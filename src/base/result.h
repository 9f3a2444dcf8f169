// SPDX-License-Identifier: Apache-2.0
// Result<T>: a value or an Error (Result<void>: nothing, or an Error). Recoverable failures are
// values in ftsc; exceptions are reserved for fatal user errors caught at the CLI boundary. An
// Error is also the one type for a failed system call: system_error() keeps its errno.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "base/source_loc.h"

namespace ftsc::base {

struct Error {
  std::string message;  // what happened, to what
  SourceLoc where;      // file:line, a flag, or empty
  std::string hint;     // what to do next (may be empty)
  int sys_errno = 0;    // the errno of the system call that failed, 0 when none did
};

// "WHAT: strerror(err)", keeping err.
Error system_error(std::string_view what, int err, std::string hint = {});

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return !error_.has_value(); }
  explicit operator bool() const { return ok(); }
  const Error& error() const { return *error_; }

 private:
  std::optional<Error> error_;
};

}  // namespace ftsc::base
