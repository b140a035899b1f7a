// Status and Result<T>: errors are values.
//
// A Status is either OK or carries a code and a message that says what went wrong and where.
// Result<T> holds a T or a non-OK Status. Both are [[nodiscard]]: dropping one must be written
// out (`(void)status;` or `.IgnoreError()`), so that losing an error is visible in the code.
// Thread-safety: plain values; safe to copy between threads.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace amtsweg {

class [[nodiscard]] Status {
 public:
  enum class Code : unsigned char {
    kOk = 0,
    kInvalidArgument,  // bad input from outside: event, file, argument
    kNotFound,
    kCorruption,  // stored data does not decode or does not verify
    kConflict,    // would contradict what is stored (duplicate, closed case, ...)
    kIOError,
    kUnavailable,  // a dependency is temporarily unreachable; retry may succeed
    kInternal,     // a bug in amtsweg
  };

  Status() = default;

  static Status OK() { return Status(); }
  static Status InvalidArgument(std::string msg) {
    return {Code::kInvalidArgument, std::move(msg)};
  }
  static Status NotFound(std::string msg) { return {Code::kNotFound, std::move(msg)}; }
  static Status Corruption(std::string msg) { return {Code::kCorruption, std::move(msg)}; }
  static Status Conflict(std::string msg) { return {Code::kConflict, std::move(msg)}; }
  static Status IOError(std::string msg) { return {Code::kIOError, std::move(msg)}; }
  static Status Unavailable(std::string msg) { return {Code::kUnavailable, std::move(msg)}; }
  static Status Internal(std::string msg) { return {Code::kInternal, std::move(msg)}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  bool IsNotFound() const { return code_ == Code::kNotFound; }
  bool IsInvalidArgument() const { return code_ == Code::kInvalidArgument; }
  bool IsCorruption() const { return code_ == Code::kCorruption; }
  bool IsConflict() const { return code_ == Code::kConflict; }

  // "InvalidArgument: message", or "OK".
  std::string ToString() const;
  static std::string_view CodeName(Code code);

  // Returns a copy whose message is prefixed with `context: `.
  Status WithContext(std::string_view context) const;

  // Marks an intentionally ignored error.
  void IgnoreError() const {}

 private:
  Status(Code code, std::string msg) : code_(code), message_(std::move(msg)) {}

  Code code_ = Code::kOk;
  std::string message_;
};

namespace internal {
// Prints "Result::value() called on an error at FILE:LINE: STATUS" to stderr and aborts. In every
// build type: reading the value of an error is a bug, and without this it would read an empty
// optional (undefined behaviour) in release builds. `file` may be null (location unknown).
[[noreturn]] void AbortOnValueOfError(const Status& status, const char* file, int line);
}  // namespace internal

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}         // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {  // NOLINT: implicit by design
    assert(!status_.ok() && "Result from an OK status carries no value");
    if (status_.ok()) status_ = Status::Internal("Result constructed from OK status");
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }

  // The value. On an error this is a bug: the status and the caller's file and line go to
  // stderr and the process aborts (AbortOnValueOfError), in release builds too.
  T& value(const char* file = __builtin_FILE(), int line = __builtin_LINE()) & {
    CheckOk(file, line);
    return *value_;
  }
  const T& value(const char* file = __builtin_FILE(), int line = __builtin_LINE()) const& {
    CheckOk(file, line);
    return *value_;
  }
  T&& value(const char* file = __builtin_FILE(), int line = __builtin_LINE()) && {
    CheckOk(file, line);
    return std::move(*value_);
  }
  // Like value(), but an abort cannot name the caller's line (operators take no location).
  T* operator->() { return &value(nullptr, 0); }
  const T* operator->() const { return &value(nullptr, 0); }
  T& operator*() & { return value(nullptr, 0); }
  const T& operator*() const& { return value(nullptr, 0); }

 private:
  void CheckOk(const char* file, int line) const {
    if (!ok()) [[unlikely]]
      internal::AbortOnValueOfError(status_, file, line);
  }

  std::optional<T> value_;
  Status status_;
};

}  // namespace amtsweg

#define AMTSWEG_CONCAT_INNER(a, b) a##b
#define AMTSWEG_CONCAT(a, b) AMTSWEG_CONCAT_INNER(a, b)

// Returns the status from the enclosing function if it is not OK.
#define RETURN_IF_ERROR(expr)                          \
  do {                                                 \
    ::amtsweg::Status _amtsweg_status = (expr);        \
    if (!_amtsweg_status.ok()) return _amtsweg_status; \
  } while (false)

// Declares `lhs` from a Result, or returns its status from the enclosing function.
// `tmp` is a name and `lhs` a declaration ("std::string x"): neither can be parenthesised.
// NOLINTBEGIN(bugprone-macro-parentheses)
#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL(AMTSWEG_CONCAT(_amtsweg_result_, __LINE__), lhs, expr)
#define ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                          \
  if (!tmp.ok()) return tmp.status();         \
  lhs = std::move(tmp).value()
// NOLINTEND(bugprone-macro-parentheses)
