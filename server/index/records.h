// What the index stores: candidates, sessions, uploads, recordings, markers, accounts, audit
// entries and jobs, as plain values. States are enums here; their names (base/enum_names.h) are
// what the SQL and the JSON carry.
#pragma once

#include <climits>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/enum_names.h"

namespace recorder::server {

enum class RecordingKind { kCamera, kScreen, kAudio };
template <>
inline constexpr std::array<std::string_view, 3> kEnumNames<RecordingKind> = {"camera", "screen", "audio"};

// receiving -> complete (offset == length) | expired (abandoned) | terminated.
enum class UploadState { kReceiving, kComplete, kExpired, kTerminated };
template <>
inline constexpr std::array<std::string_view, 4> kEnumNames<UploadState> = {"receiving", "complete", "expired",
                                                                            "terminated"};

// receiving -> finalizing -> ready | failed.
enum class RecordingStatus { kReceiving, kFinalizing, kReady, kFailed };
template <>
inline constexpr std::array<std::string_view, 4> kEnumNames<RecordingStatus> = {"receiving", "finalizing", "ready",
                                                                                "failed"};

// A session's status, derived from its recordings: empty (none) | recording (one receiving) |
// processing (one finalizing) | ready (one ready) | failed.
enum class SessionStatus { kEmpty, kRecording, kProcessing, kReady, kFailed };
template <>
inline constexpr std::array<std::string_view, 5> kEnumNames<SessionStatus> = {"empty", "recording", "processing",
                                                                              "ready", "failed"};

enum class EventType { kMarker, kClientEvent };
template <>
inline constexpr std::array<std::string_view, 2> kEnumNames<EventType> = {"marker", "client_event"};

// admin: everything; reviewer: find, watch, download.
enum class Role { kAdmin, kReviewer };
template <>
inline constexpr std::array<std::string_view, 2> kEnumNames<Role> = {"admin", "reviewer"};

// "<base>" for n == 1, "<base>_<n>" otherwise: how candidate folders and recording files that
// would take a name already taken are told apart.
inline std::string WithCollisionSuffix(std::string_view base, int n) {
  std::string out(base);
  if (n > 1) out += "_" + std::to_string(n);
  return out;
}

struct Candidate {
  int64_t id = 0;
  std::string folder;  // sanitized, unique among candidates
};

// A question the host asks, in the order given at the session's creation. `id` is the host's
// own (unique within the session); the interview page shows `text` and, with max_seconds, the
// time left.
struct Question {
  std::string id;
  std::string text;
  int max_seconds = 0;  // 0: no limit

  bool operator==(const Question&) const = default;
};

struct Session {
  std::string id;
  int64_t candidate_id = 0;
  std::string candidate_folder;
  int64_t token_expires_at = 0;
  int64_t ended_at = 0;  // when the candidate ended the interview; 0: not (yet)
};

// What a session's uploads hold, for its quota.
struct SessionUsage {
  int64_t uploads = 0;  // every upload it created, terminated ones included
  uint64_t bytes = 0;   // the declared length of each upload not terminated, or its offset when deferred
};

struct Upload {
  std::string id;
  std::string session_id;
  int64_t recording_id = 0;
  // The recording's media key ("Jane_Doe/interview_video_20260101_120000.webm"); the storage
  // decides where it lives. Bytes arrive in the spool under SpoolKey(media_key).
  std::string media_key;
  uint64_t offset = 0;
  std::optional<uint64_t> length;  // nullopt: Upload-Defer-Length
  int64_t expires_at = 0;
  UploadState state = UploadState::kReceiving;
  std::string metadata;            // the Upload-Metadata header as received, echoed on HEAD
  bool checksum_verified = false;  // some PATCH carried an Upload-Checksum that matched
};

// Bytes [offset, end) of an upload, stored as one object of the shared spool (several servers:
// any of them may take the next PATCH, so each acknowledged PATCH is an object, listed here).
struct UploadChunk {
  uint64_t offset = 0;
  uint64_t end = 0;
  std::string object;  // the spool's name for it

  bool operator==(const UploadChunk&) const = default;
};

struct Recording {
  int64_t id = 0;
  std::string session_id;
  RecordingKind kind = RecordingKind::kCamera;
  std::string media_key;
  RecordingStatus status = RecordingStatus::kReceiving;
  std::string failure_reason;
  uint64_t bytes = 0;
  int64_t duration_ms = 0;
  bool incomplete = false;
  int64_t created_at = 0;
  int64_t finalized_at = 0;     // 0: not yet
  std::string upload_metadata;  // the Upload-Metadata header its upload was created with
};

// A marker (question start/end) or client event (e.g. face not detected) the page sent during a
// session, on the session's recording clock.
struct SessionEvent {
  std::string client_id;  // the client's id, unique within the session; makes retries idempotent
  EventType type = EventType::kMarker;
  std::string label;
  std::string data_json;  // a JSON object as sent ("{}" when none)
  int64_t recording_time_ms = 0;
  std::string upload_id;     // the recording it belongs to; empty when not said
  std::string wall_time;     // the client's clock, as sent; empty when not said
  int64_t recording_id = 0;  // read back only: the upload's recording; 0 when none
};

struct Account {
  int64_t id = 0;
  std::string username;
  std::string password_hash;  // argon2id, encoded ("$argon2id$v=19$...")
  Role role = Role::kReviewer;
};

// A logged-in HR browser: the cookie's SHA-256 names it; the CSRF token is sent back in a header.
struct LoginSession {
  std::string token_sha256;
  Account account;
  std::string csrf_token;
  int64_t expires_at = 0;
};

// Who did what to which session or recording. Keeps ids and counts, never names or media.
struct AuditEntry {
  int64_t id = 0;
  int64_t at = 0;
  std::string actor;   // "hr:<username>", "api-key", "system:retention"
  std::string action;  // login, login_failed, view, download, delete_session, retention_delete, ...
  std::string target;  // "session:<id>", "recording:<id>", "candidate:<id>", "account:<username>"
  std::string detail_json = "{}";
};

// A session as the results page and the host API show it.
struct SessionSummary {
  std::string session_id;
  int64_t candidate_id = 0;
  std::string candidate_name;
  std::string candidate_email;
  std::string job;
  int64_t created_at = 0;
  SessionStatus status = SessionStatus::kEmpty;
  std::vector<Recording> recordings;
  std::vector<Question> questions;
  int64_t ended_at = 0;  // the candidate ended the interview; 0: not (yet)
  // Every recording settled (finalized or failed, transcribed or not) after the session was over
  // (ended, or its link expired): session.completed went out. 0: not (yet).
  int64_t completed_at = 0;
};

struct SessionFilter {
  std::string text;                     // substring of the candidate's name or email (ASCII case-insensitive)
  std::string job;                      // substring of the job
  std::optional<SessionStatus> status;  // nullopt: any
  int64_t created_from = 0;
  int64_t created_to = INT64_MAX;
  int limit = 50;
  int offset = 0;
};

struct SessionPage {
  int64_t total = 0;  // sessions matching the filter, before limit/offset
  std::vector<SessionSummary> sessions;
};

// What a deletion must remove from storage: the recordings' media keys (their spool siblings go
// too).
struct StoredMedia {
  std::vector<std::string> media_keys;
  uint64_t bytes = 0;
};

}  // namespace recorder::server
