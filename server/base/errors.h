// Every error the ingest server can answer with, declared once as (code, HTTP status, message).
// Handlers return an ApiError; http_api.cc is the only place that turns one into a response.
#pragma once

#include <string>
#include <utility>
#include <variant>

#include "common/status.h"

namespace recorder::server {

enum class Err {
  // Authentication and authorization.
  kMissingApiKey,
  kInvalidApiKey,
  kMissingUploadToken,
  kInvalidUploadToken,
  kForeignUpload,
  kForeignSession,
  // Session API input.
  kInvalidJson,
  kMissingCandidateName,
  kInvalidQuestions,
  kInvalidEvents,
  // HR accounts and the results API.
  kLoginRequired,
  kInvalidCredentials,
  kTooManyLoginAttempts,
  kCsrfRejected,
  kAdminOnly,
  kInvalidAccount,
  kAccountExists,
  kInvalidFilter,
  kSessionNotFound,
  kCandidateNotFound,
  kRecordingNotFound,
  kRecordingNotReady,
  kRecordingNotLive,
  kTooManyLiveViewers,
  kSessionBusy,
  kRangeNotSatisfiable,
  kTranscriptNotFound,
  kStageNotFound,
  kStageNotFailed,
  kDeliveryNotFound,
  kAnswerNotFound,
  kDeliveryNotFailed,
  kInvalidWebhook,
  kWebhookNotFound,
  kTooManyWebhooks,
  // tus protocol headers.
  kMissingTusResumable,
  kUnsupportedTusVersion,
  kInvalidUploadLength,
  kAmbiguousUploadLength,
  kUploadLengthMismatch,
  kInvalidMetadata,
  kInvalidKind,
  kInvalidUploadOffset,
  kWrongContentType,
  kInvalidChecksumHeader,
  kUnsupportedChecksumAlgorithm,
  // tus protocol state.
  kOffsetMismatch,
  kUploadLocked,
  kUploadTooLarge,
  kBodyExceedsLength,
  kRequestTooLarge,
  kChecksumMismatch,
  kUploadNotFound,
  kUploadExpired,
  kUploadFinished,
  // Per-session quotas (Ingest).
  kTooManyUploads,
  kSessionQuotaExceeded,
  kSessionEnded,
  // Routing and server faults.
  kRouteNotFound,
  kMethodNotAllowed,
  kBadRequest,
  kHeadersTooLarge,
  kUriTooLong,
  kUnavailable,
  kInternal,
};

struct ErrorSpec {
  const char* code;  // stable machine-readable name, mirrored by the JS client
  int http_status;
  const char* message;  // what is wrong, for a human
};

// REQUIRES: err is a declared enumerator.
const ErrorSpec& Spec(Err err);

// The table entry used for a response whose status was set outside our handlers
// (e.g. cpp-httplib's own 413 when a body exceeds the payload limit).
Err ErrForHttpStatus(int http_status);

// One error with optional detail ("Upload-Offset is 10, the upload is at 4").
struct ApiError {
  Err err;
  std::string detail;
  int retry_after_seconds = 0;  // > 0: sent as Retry-After
};

// A value or the ApiError that says why there is none.
template <typename T>
class [[nodiscard]] Expected {
 public:
  Expected(T value) : v_(std::move(value)) {}
  Expected(ApiError error) : v_(std::move(error)) {}
  Expected(Err err) : v_(ApiError{err, {}}) {}

  bool ok() const { return std::holds_alternative<T>(v_); }
  // REQUIRES: !ok()
  const ApiError& error() const { return std::get<ApiError>(v_); }
  // REQUIRES: ok()
  T& value() { return std::get<T>(v_); }
  T& operator*() { return value(); }
  T* operator->() { return &value(); }

 private:
  std::variant<T, ApiError> v_;
};

// Server faults from lower layers; the detail goes to the log, not to the client.
inline ApiError InternalError(const Status& status) { return {Err::kInternal, status.ToString()}; }

}  // namespace recorder::server
