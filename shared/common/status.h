// Status and Result<T>: how every module of ours reports failure across its edges.
// No exceptions cross a module edge; third-party exceptions are caught where the library is called.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace recorder {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,     // the caller passed something wrong (bad size, bad timestamp, bad header)
  kFailedPrecondition,  // the call is not allowed in the current state (e.g. after Stop)
  kUnsupported,         // a valid request we do not implement (pixel format, codec)
  kNotFound,
  kAlreadyExists,
  kConflict,           // state disagrees with the request (e.g. upload offset mismatch)
  kCorrupt,            // data failed to parse or verify
  kResourceExhausted,  // disk full, quota, too large
  kIoError,            // the operating system refused a file or socket operation
  kInternal,           // a library call failed in a way the caller cannot fix
};

const char* StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "InvalidArgument: frame is 320x240, expected 640x480"
  std::string ToString() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
inline Status FailedPrecondition(std::string m) { return {StatusCode::kFailedPrecondition, std::move(m)}; }
inline Status Unsupported(std::string m) { return {StatusCode::kUnsupported, std::move(m)}; }
inline Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status AlreadyExists(std::string m) { return {StatusCode::kAlreadyExists, std::move(m)}; }
inline Status Conflict(std::string m) { return {StatusCode::kConflict, std::move(m)}; }
inline Status Corrupt(std::string m) { return {StatusCode::kCorrupt, std::move(m)}; }
inline Status ResourceExhausted(std::string m) { return {StatusCode::kResourceExhausted, std::move(m)}; }
inline Status IoError(std::string m) { return {StatusCode::kIoError, std::move(m)}; }
inline Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

// A value or the Status that says why there is none. REQUIRES: an error Status is not ok().
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}
  Result(Status status) : v_(std::move(status)) { assert(!std::get<Status>(v_).ok()); }

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  // REQUIRES: ok()
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace recorder

// Returns early from the calling function when `expr` yields a non-ok Status.
#define RETURN_IF_ERROR(expr)            \
  do {                                   \
    ::recorder::Status status_ = (expr); \
    if (!status_.ok()) return status_;   \
  } while (0)
