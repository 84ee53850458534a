#pragma once

#include <optional>
#include <type_traits>
#include <utility>
#include <variant>

#include "core/error.h"

namespace pvekit::core {

// The value of a fallible call: a T or an Error (C++20 has no std::expected).
// Accessing value() on an error, or error() on a value, is a bug and aborts.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : state_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(state_); }
  const T& value() const& { return std::get<0>(state_); }
  T&& value() && { return std::get<0>(std::move(state_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const& { return std::get<1>(state_); }
  Error&& error() && { return std::get<1>(std::move(state_)); }

  template <typename U>
  T value_or(U&& fallback) const& {
    return ok() ? value() : static_cast<T>(std::forward<U>(fallback));
  }

  // Adds context to the error, if any; a value passes through.
  Result&& wrap(std::string context) && {
    if (!ok()) std::get<1>(state_).wrap(std::move(context));
    return std::move(*this);
  }

 private:
  std::variant<T, Error> state_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)) {}  // NOLINT: implicit by design

  bool ok() const { return !error_.has_value(); }
  explicit operator bool() const { return ok(); }
  const Error& error() const& { return *error_; }
  Error&& error() && { return std::move(*error_); }

  Result&& wrap(std::string context) && {
    if (error_) error_->wrap(std::move(context));
    return std::move(*this);
  }

 private:
  std::optional<Error> error_;
};

using Status = Result<void>;

inline Status ok() { return {}; }

}  // namespace pvekit::core

#define PVEKIT_CONCAT_INNER(a, b) a##b
#define PVEKIT_CONCAT(a, b) PVEKIT_CONCAT_INNER(a, b)

// Returns the error of `expr` (a Result) from the enclosing function.
// The result is held by value: `expr` may be `call().wrap("...")`, whose
// reference into a temporary would dangle if bound to auto&&.
#define PVEKIT_TRY(expr)                                   \
  do {                                                     \
    auto pvekit_try_result_ = (expr);                      \
    if (!pvekit_try_result_.ok())                          \
      return std::move(pvekit_try_result_).error();        \
  } while (0)

// `PVEKIT_ASSIGN(auto x, call());` declares x from the value or returns the error.
#define PVEKIT_ASSIGN(lhs, expr) PVEKIT_ASSIGN_IMPL(PVEKIT_CONCAT(pvekit_assign_, __LINE__), lhs, expr)
#define PVEKIT_ASSIGN_IMPL(tmp, lhs, expr)  \
  auto tmp = (expr);                        \
  if (!tmp.ok()) return std::move(tmp).error(); \
  lhs = std::move(tmp).value()
