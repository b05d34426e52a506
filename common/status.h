// Status and Result<T>: the error values used across Pillarbox.
//
// A Status is cheap to copy: a code and, on failure, a message meant for the
// server log (never sent to clients verbatim; each protocol maps the code to
// its own reply). Result<T> holds either a value or a failed Status, shaped
// like std::expected.
//
// Thread-safety: values; no shared state.
#pragma once

#include <cassert>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace pillarbox {

enum class Code {
  kOk = 0,
  kNotFound,         // no such user, mailbox, message
  kExists,           // already exists
  kNoPermission,     // not allowed (policy, wrong state, bad credentials)
  kOverQuota,        // quota would be exceeded
  kExpunged,         // the message was expunged meanwhile
  kInUse,            // locked by another session
  kLimit,            // a configured limit was hit (size, count, nesting)
  kInvalidArgument,  // malformed input from a client or caller
  kCorruption,       // stored data is not what it should be
  kIOError,          // disk, socket, or LMDB environment failure
  kInternal,         // a bug or an unexpected condition
  kUnsupported,      // well-formed, but a form we do not handle (an unknown encoding)
};

std::string_view CodeName(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  static Status NotFound(std::string m) { return {Code::kNotFound, std::move(m)}; }
  static Status Exists(std::string m) { return {Code::kExists, std::move(m)}; }
  static Status NoPermission(std::string m) { return {Code::kNoPermission, std::move(m)}; }
  static Status OverQuota(std::string m) { return {Code::kOverQuota, std::move(m)}; }
  static Status Expunged(std::string m) { return {Code::kExpunged, std::move(m)}; }
  static Status InUse(std::string m) { return {Code::kInUse, std::move(m)}; }
  static Status Limit(std::string m) { return {Code::kLimit, std::move(m)}; }
  static Status InvalidArgument(std::string m) { return {Code::kInvalidArgument, std::move(m)}; }
  static Status Corruption(std::string m) { return {Code::kCorruption, std::move(m)}; }
  static Status IOError(std::string m) { return {Code::kIOError, std::move(m)}; }
  static Status Internal(std::string m) { return {Code::kInternal, std::move(m)}; }
  static Status Unsupported(std::string m) { return {Code::kUnsupported, std::move(m)}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // "NotFound: no such mailbox" — for logs.
  std::string ToString() const;

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

// Result<T>: a T or a failed Status.
// REQUIRES: a Status given to Result is not ok().
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {  // NOLINT
    assert(!std::get<Status>(v_).ok());
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  // The failure; Status::Ok() when a value is held.
  Status status() const { return ok() ? Status::Ok() : std::get<Status>(v_); }

 private:
  std::variant<T, Status> v_;
};

#define PB_RETURN_IF_ERROR(expr)     \
  do {                               \
    ::pillarbox::Status _s = (expr); \
    if (!_s.ok()) return _s;         \
  } while (0)

}  // namespace pillarbox
