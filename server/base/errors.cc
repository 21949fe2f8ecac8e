#include "base/errors.h"

#include <array>

namespace recorder::server {
namespace {

struct Row {
  Err err;
  ErrorSpec spec;
};

// The one table. Order follows the enum; Spec() checks that in debug builds.
constexpr Row kTable[] = {
    {Err::kMissingApiKey, {"missing_api_key", 401, "Authorization: Bearer <API key> is required"}},
    {Err::kInvalidApiKey, {"invalid_api_key", 401, "the API key is not valid"}},
    {Err::kMissingUploadToken, {"missing_upload_token", 401, "Authorization: Bearer <upload token> is required"}},
    {Err::kInvalidUploadToken, {"invalid_upload_token", 401, "the upload token is unknown or expired"}},
    {Err::kForeignUpload, {"foreign_upload", 403, "the upload belongs to another session"}},
    {Err::kForeignSession, {"foreign_session", 403, "the upload token belongs to another session"}},
    {Err::kInvalidJson, {"invalid_json", 400, "the request body is not the expected JSON object"}},
    {Err::kMissingCandidateName, {"missing_candidate_name", 400, "candidate_name must be a non-empty string"}},
    {Err::kInvalidQuestions, {"invalid_questions", 400, "questions must be a list of {id, text, max_seconds?}"}},
    {Err::kInvalidEvents,
     {"invalid_events", 400,
      "events must be a list of {id, type: marker|client_event, label, recording_time_ms, data?, upload_url?, "
      "wall_time?}"}},
    {Err::kLoginRequired, {"login_required", 401, "log in first (the HR session is missing or has expired)"}},
    {Err::kInvalidCredentials, {"invalid_credentials", 401, "the user name or the password is wrong"}},
    {Err::kTooManyLoginAttempts,
     {"too_many_login_attempts", 429, "too many failed logins; wait before trying again (see Retry-After)"}},
    {Err::kCsrfRejected,
     {"csrf_rejected", 403, "X-CSRF-Token is missing or wrong, or the request came from another site"}},
    {Err::kAdminOnly, {"admin_only", 403, "this needs an admin account"}},
    {Err::kInvalidAccount,
     {"invalid_account", 400,
      "username must be 1 to 64 of A-Z a-z 0-9 . _ @ -, password 10 to 1024 bytes, role admin or reviewer"}},
    {Err::kAccountExists, {"account_exists", 409, "an account with this username exists"}},
    {Err::kInvalidFilter,
     {"invalid_filter", 400,
      "filters: q, job (text), status recording|processing|ready|failed|empty, from/to YYYY-MM-DD, limit 1-500, offset "
      ">= 0"}},
    {Err::kSessionNotFound, {"session_not_found", 404, "no such session"}},
    {Err::kCandidateNotFound, {"candidate_not_found", 404, "no such candidate"}},
    {Err::kRecordingNotFound, {"recording_not_found", 404, "no such recording"}},
    {Err::kRecordingNotReady, {"recording_not_ready", 409, "the recording is not finalized (yet); see its status"}},
    {Err::kRecordingNotLive,
     {"recording_not_live", 409, "the recording is no longer being received; play it from /media once it is ready"}},
    {Err::kTooManyLiveViewers,
     {"too_many_live_viewers", 503, "this server serves as many live views as it may; try again later"}},
    {Err::kSessionBusy,
     {"session_busy", 409,
      "a recording of this session is still being received or finalized; end the interview (or, as an admin, delete "
      "with ?force=1 to stop its uploads), or retry once finalized"}},
    {Err::kRangeNotSatisfiable, {"range_not_satisfiable", 416, "no range in the Range header lies inside the file"}},
    {Err::kTranscriptNotFound,
     {"transcript_not_found", 404, "no transcript (yet): recordings are transcribed after they are finalized"}},
    {Err::kStageNotFound, {"stage_not_found", 404, "the recording has no such processing stage (yet)"}},
    {Err::kStageNotFailed, {"stage_not_failed", 409, "only a failed stage can be retried; see the stage's status"}},
    {Err::kDeliveryNotFound, {"delivery_not_found", 404, "no such webhook delivery"}},
    {Err::kAnswerNotFound,
     {"answer_not_found", 404, "no such answer: the question was not asked, or no ready recording holds it"}},
    {Err::kDeliveryNotFailed, {"delivery_not_failed", 409, "only a failed webhook delivery can be sent again"}},
    {Err::kInvalidWebhook,
     {"invalid_webhook", 400,
      "a webhook is {url: http(s)://..., events?: [event types], secret?: whsec_<base64 of 16+ random bytes>}"}},
    {Err::kWebhookNotFound, {"webhook_not_found", 404, "no such webhook"}},
    {Err::kTooManyWebhooks, {"too_many_webhooks", 409, "as many webhooks are registered as may be; delete one first"}},
    {Err::kMissingTusResumable, {"missing_tus_resumable", 400, "Tus-Resumable header is missing"}},
    {Err::kUnsupportedTusVersion,
     {"unsupported_tus_version", 412, "Tus-Resumable version is not supported; see Tus-Version"}},
    {Err::kInvalidUploadLength, {"invalid_upload_length", 400, "Upload-Length must be a non-negative integer"}},
    {Err::kAmbiguousUploadLength,
     {"ambiguous_upload_length", 400, "send exactly one of Upload-Length and Upload-Defer-Length: 1"}},
    {Err::kUploadLengthMismatch,
     {"upload_length_mismatch", 400, "Upload-Length is already set to a different value or is below the offset"}},
    {Err::kInvalidMetadata,
     {"invalid_metadata", 400, "Upload-Metadata must be comma-separated 'key base64value' pairs"}},
    {Err::kInvalidKind, {"invalid_kind", 400, "metadata kind must be camera, screen or audio"}},
    {Err::kInvalidUploadOffset,
     {"invalid_upload_offset", 400, "Upload-Offset header is missing or not a non-negative integer"}},
    {Err::kWrongContentType, {"wrong_content_type", 415, "Content-Type must be application/offset+octet-stream"}},
    {Err::kInvalidChecksumHeader,
     {"invalid_checksum_header", 400, "Upload-Checksum must be '<algorithm> <base64 digest>'"}},
    {Err::kUnsupportedChecksumAlgorithm,
     {"unsupported_checksum_algorithm", 400, "checksum algorithm not supported; see Tus-Checksum-Algorithm"}},
    {Err::kOffsetMismatch, {"offset_mismatch", 409, "Upload-Offset does not match the upload's current offset"}},
    {Err::kUploadLocked, {"upload_locked", 409, "another request is writing to this upload; retry after HEAD"}},
    {Err::kUploadTooLarge, {"upload_too_large", 413, "Upload-Length exceeds Tus-Max-Size"}},
    {Err::kBodyExceedsLength, {"body_exceeds_length", 413, "the body would take the upload past its Upload-Length"}},
    {Err::kRequestTooLarge, {"request_too_large", 413, "the request body exceeds the per-request limit"}},
    {Err::kChecksumMismatch, {"checksum_mismatch", 460, "Upload-Checksum does not match the body; nothing was stored"}},
    {Err::kUploadNotFound, {"upload_not_found", 404, "no such upload"}},
    {Err::kUploadExpired, {"upload_expired", 410, "the upload has expired"}},
    {Err::kUploadFinished, {"upload_finished", 400, "the upload is complete and accepts no more data"}},
    {Err::kTooManyUploads, {"too_many_uploads", 403, "this session has created as many uploads as one session may"}},
    {Err::kSessionQuotaExceeded,
     {"session_quota_exceeded", 413, "the session's uploads would hold more bytes than one session may"}},
    {Err::kSessionEnded, {"session_ended", 409, "the interview has ended: this session takes no new recording"}},
    {Err::kRouteNotFound, {"not_found", 404, "no such resource"}},
    {Err::kMethodNotAllowed, {"method_not_allowed", 405, "method not allowed on this resource"}},
    {Err::kBadRequest, {"bad_request", 400, "the request is malformed (e.g. a POST or PATCH without Content-Length)"}},
    {Err::kHeadersTooLarge,
     {"headers_too_large", 431, "the request has too many header lines or header bytes; the connection is closed"}},
    {Err::kUriTooLong, {"uri_too_long", 414, "the request line is too long; the connection is closed"}},
    {Err::kUnavailable, {"unavailable", 503, "the database or the data folder is not usable"}},
    {Err::kInternal, {"internal", 500, "internal server error; the request may be retried"}},
};
static_assert(std::size(kTable) == static_cast<size_t>(Err::kInternal) + 1, "one row per Err");

}  // namespace

const ErrorSpec& Spec(Err err) {
  const Row& row = kTable[static_cast<size_t>(err)];
  assert(row.err == err);
  return row.spec;
}

Err ErrForHttpStatus(int http_status) {
  switch (http_status) {
    case 404:
      return Err::kRouteNotFound;
    case 405:
      return Err::kMethodNotAllowed;
    case 413:
      return Err::kRequestTooLarge;
    case 400:
      return Err::kBadRequest;
    case 414:
      return Err::kUriTooLong;
    case 431:
      return Err::kHeadersTooLarge;
    default:
      return Err::kInternal;
  }
}

}  // namespace recorder::server
