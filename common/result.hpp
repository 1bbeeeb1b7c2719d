// A value or a human-readable error: how fallible constructors report (no exceptions on
// the data path, and config loading wants the message, not a stack).
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace gatehouse {

template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit on purpose
  static Result failure(std::string message) { return Result(Error{std::move(message)}); }

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  T& operator*() { return value(); }
  T* operator->() { return &value(); }
  const std::string& error() const { return std::get<1>(v_).message; }

 private:
  struct Error {
    std::string message;
  };
  explicit Result(Error e) : v_(std::in_place_index<1>, std::move(e)) {}
  std::variant<T, Error> v_;
};

}  // namespace gatehouse
