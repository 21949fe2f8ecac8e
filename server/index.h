// The server's index of candidates, sessions, recordings, uploads and jobs. Knows nothing of HTTP
// or files. Every method is thread-safe and is one transaction.
#pragma once

#include <cstdint>
#include <climits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace recorder::server {

struct Candidate {
  int64_t id = 0;
  std::string folder;  // sanitized, unique among candidates, relative to DATA
};

struct Session {
  std::string id;
  int64_t candidate_id = 0;
  std::string candidate_folder;
  int64_t token_expires_at = 0;
};

// Upload states: receiving -> complete (offset == length) | expired (abandoned) | terminated.
struct Upload {
  std::string id;
  std::string session_id;
  int64_t recording_id = 0;
  std::string path;  // the recording's final path; bytes arrive in path + ".part"
  uint64_t offset = 0;
  std::optional<uint64_t> length;  // nullopt: Upload-Defer-Length
  int64_t expires_at = 0;
  std::string state = "receiving";
  std::string metadata;  // the Upload-Metadata header as received, echoed on HEAD
  bool checksum_verified = false;  // some PATCH carried an Upload-Checksum that matched
};

// Recording status: receiving -> finalizing -> ready | failed.
struct Recording {
  int64_t id = 0;
  std::string session_id;
  std::string kind;
  std::string path;
  std::string status;
  std::string failure_reason;
  uint64_t bytes = 0;
  int64_t duration_ms = 0;
  bool incomplete = false;
  int64_t created_at = 0;
  int64_t finalized_at = 0;  // 0: not yet
  std::string upload_metadata;  // the Upload-Metadata header its upload was created with
};

// A marker (question start/end) or client event (e.g. face not detected) the page sent during a
// session, on the session's recording clock.
struct SessionEvent {
  std::string client_id;  // the client's id, unique within the session; makes retries idempotent
  std::string type;       // marker | client_event
  std::string label;
  std::string data_json;  // a JSON object as sent ("{}" when none)
  int64_t recording_time_ms = 0;
  std::string upload_id;  // the recording it belongs to; empty when not said
  std::string wall_time;  // the client's clock, as sent; empty when not said
  int64_t recording_id = 0;  // read back only: the upload's recording; 0 when none
};

// An HR account. Roles: admin (everything) | reviewer (find, watch, download).
struct Account {
  int64_t id = 0;
  std::string username;
  std::string password_hash;  // argon2id, encoded ("$argon2id$v=19$...")
  std::string role;
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

// A session as the results page and the host API show it. status is derived from its recordings:
// empty (none) | recording (one receiving) | processing (one finalizing) | ready (one ready) | failed.
struct SessionSummary {
  std::string session_id;
  int64_t candidate_id = 0;
  std::string candidate_name;
  std::string candidate_email;
  std::string job;
  int64_t created_at = 0;
  std::string status;
  std::vector<Recording> recordings;
};

struct SessionFilter {
  std::string text;    // substring of the candidate's name or email (ASCII case-insensitive)
  std::string job;     // substring of the job
  std::string status;  // empty: any
  int64_t created_from = 0;
  int64_t created_to = INT64_MAX;
  int limit = 50;
  int offset = 0;
};

struct SessionPage {
  int64_t total = 0;  // sessions matching the filter, before limit/offset
  std::vector<SessionSummary> sessions;
};

// What a deletion must remove from disk: the recordings' final paths (their ".part" and
// ".finalizing" siblings go too).
struct StoredFiles {
  std::vector<std::string> paths;
  uint64_t bytes = 0;
};

struct Job {
  int64_t id = 0;
  std::string kind;
  int64_t recording_id = 0;
  int attempts = 0;  // including the current one
};

class Index {
 public:
  virtual ~Index() = default;

  // Ok when the database answers a query.
  virtual Status Ping() = 0;

  // Candidates are the same person when the (lower-cased) email matches, or, without an email,
  // when the name matches exactly. A new candidate gets `folder_base` or, if another candidate
  // holds it, the first free "<folder_base>_<n>".
  virtual Result<Candidate> FindOrCreateCandidate(const std::string& name, const std::string& email,
                                                  const std::string& folder_base, int64_t now) = 0;
  virtual Status CreateSession(const std::string& session_id, int64_t candidate_id, const std::string& job,
                               const std::string& token_sha256, int64_t token_expires_at, int64_t now) = 0;
  // NotFound when no session has this token hash.
  virtual Result<Session> SessionByTokenHash(const std::string& token_sha256) = 0;

  // Creates the recording and its upload in one transaction; AlreadyExists when `path` is taken,
  // FailedPrecondition when the session is gone or its token expired or was revoked by then (a
  // request authenticated before a deletion began cannot add a recording to it).
  virtual Result<Upload> CreateUpload(const Upload& upload, const std::string& kind, int64_t now) = 0;
  // NotFound when unknown.
  virtual Result<Upload> GetUpload(const std::string& upload_id) = 0;
  // Records a durable offset (and a length given late, and the new expiry) of a receiving upload;
  // `checksum_verified`: the bytes just appended matched their Upload-Checksum.
  virtual Status SetUploadProgress(const std::string& upload_id, uint64_t offset, std::optional<uint64_t> length,
                                   int64_t expires_at, bool checksum_verified) = 0;
  // Moves a receiving upload to `state` (complete | expired) with its recording to "finalizing",
  // and enqueues the finalize job, in one transaction. `incomplete` marks a recording whose upload
  // never reached its end.
  virtual Status FinishUpload(const std::string& upload_id, const std::string& state, bool incomplete, int64_t now) = 0;
  // The upload becomes terminated, its recording failed with `reason`. NotFound when unknown.
  virtual Status TerminateUpload(const std::string& upload_id, const std::string& reason, int64_t now) = 0;
  virtual Result<std::vector<Upload>> UploadsInState(const std::string& state) = 0;
  virtual Result<std::vector<Upload>> ExpiredUploads(int64_t now) = 0;

  virtual Result<Recording> GetRecording(int64_t recording_id) = 0;
  virtual Result<std::vector<Recording>> RecordingsOfSession(const std::string& session_id) = 0;
  virtual Status MarkRecordingReady(int64_t recording_id, uint64_t bytes, int64_t duration_ms, bool incomplete,
                                    int64_t now) = 0;
  virtual Status MarkRecordingFailed(int64_t recording_id, const std::string& reason, int64_t now) = 0;

  // Stores the events of a session in one transaction, skipping any whose client_id the session
  // already has. Returns how many were new.
  virtual Result<int> AddSessionEvents(const std::string& session_id, const std::vector<SessionEvent>& events,
                                       int64_t now) = 0;
  // In recording-time order.
  virtual Result<std::vector<SessionEvent>> SessionEvents(const std::string& session_id) = 0;

  // Jobs: pending -> running -> done | failed; a running job found at start is pending again.
  virtual Status EnqueueJob(const std::string& kind, int64_t recording_id, int64_t now) = 0;
  // Takes the oldest due pending job and marks it running; nullopt when none is due.
  virtual Result<std::optional<Job>> ClaimJob(int64_t now) = 0;
  virtual Status CompleteJob(int64_t job_id, int64_t now) = 0;
  virtual Status RetryJob(int64_t job_id, int64_t next_run_at, const std::string& error) = 0;
  virtual Status FailJob(int64_t job_id, const std::string& error, int64_t now) = 0;
  virtual Result<int> RequeueRunningJobs() = 0;

  // Accounts. CreateAccount: AlreadyExists when the username (case-insensitive) is taken.
  virtual Status CreateAccount(const Account& account, int64_t now) = 0;
  virtual Result<Account> AccountByName(const std::string& username) = 0;  // NotFound
  virtual Result<int> CountAccounts() = 0;
  virtual Status CreateLoginSession(const LoginSession& login, int64_t now) = 0;
  // NotFound when unknown or expired at `now`.
  virtual Result<LoginSession> LoginSessionByTokenHash(const std::string& token_sha256, int64_t now) = 0;
  // Also removes every expired login session.
  virtual Status DeleteLoginSession(const std::string& token_sha256, int64_t now) = 0;

  virtual Status AppendAudit(const AuditEntry& entry) = 0;
  // Newest first.
  virtual Result<std::vector<AuditEntry>> AuditEntries(int limit) = 0;

  // Newest first.
  virtual Result<SessionPage> ListSessions(const SessionFilter& filter) = 0;
  virtual Result<SessionSummary> GetSessionSummary(const std::string& session_id) = 0;  // NotFound
  virtual Result<std::vector<std::string>> SessionIdsOfCandidate(int64_t candidate_id) = 0;  // NotFound

  // Ends the session's upload token at once (no new request authenticates with it); NotFound.
  virtual Status RevokeSessionToken(const std::string& session_id) = 0;
  // Deletion is two steps so the files go before the rows (a crash in between leaves rows a retry
  // deletes, never unindexed files). Step 1 revokes the session's upload token and lists its files;
  // when it fails (FailedPrecondition: a recording is still receiving or finalizing) nothing changes.
  virtual Result<StoredFiles> PrepareSessionDeletion(const std::string& session_id) = 0;
  // Step 2: deletes the session's rows (events, jobs, uploads, recordings, the session, and the
  // candidate when this was its last session) and appends `audit`, in one transaction.
  virtual Status DeleteSession(const std::string& session_id, const AuditEntry& audit) = 0;
  // Ready or failed recordings created before `cutoff`.
  virtual Result<std::vector<Recording>> RecordingsCreatedBefore(int64_t cutoff) = 0;
  // Ids of sessions created before `cutoff` that have no recording.
  virtual Result<std::vector<std::string>> EmptySessionsCreatedBefore(int64_t cutoff) = 0;
  // Deletes one recording's rows, its session when it was the session's last recording (and
  // the candidate when that was its last session), and appends `audit`, in one transaction.
  virtual Status DeleteRecording(int64_t recording_id, const AuditEntry& audit) = 0;
};

// SQLite in WAL mode with a busy timeout and foreign keys, one serialized connection.
// synchronous=NORMAL: a killed process loses nothing; a power cut may lose the last commits, and the
// offsets among them are recovered from file sizes at start (see Ingest::Reconcile).
class SqliteIndex : public Index {
 public:
  static constexpr int kLatestSchemaVersion = 4;
  // Opens (creating if needed) and migrates to `schema_version`; tests pass an older version.
  static Result<std::unique_ptr<SqliteIndex>> Open(const std::string& path,
                                                   int schema_version = kLatestSchemaVersion);
  ~SqliteIndex() override;
  Result<int> SchemaVersion();

  Status Ping() override;
  Result<Candidate> FindOrCreateCandidate(const std::string& name, const std::string& email,
                                          const std::string& folder_base, int64_t now) override;
  Status CreateSession(const std::string& session_id, int64_t candidate_id, const std::string& job,
                       const std::string& token_sha256, int64_t token_expires_at, int64_t now) override;
  Result<Session> SessionByTokenHash(const std::string& token_sha256) override;
  Result<Upload> CreateUpload(const Upload& upload, const std::string& kind, int64_t now) override;
  Result<Upload> GetUpload(const std::string& upload_id) override;
  Status SetUploadProgress(const std::string& upload_id, uint64_t offset, std::optional<uint64_t> length,
                           int64_t expires_at, bool checksum_verified) override;
  Status FinishUpload(const std::string& upload_id, const std::string& state, bool incomplete, int64_t now) override;
  Status TerminateUpload(const std::string& upload_id, const std::string& reason, int64_t now) override;
  Result<std::vector<Upload>> UploadsInState(const std::string& state) override;
  Result<std::vector<Upload>> ExpiredUploads(int64_t now) override;
  Result<Recording> GetRecording(int64_t recording_id) override;
  Result<std::vector<Recording>> RecordingsOfSession(const std::string& session_id) override;
  Status MarkRecordingReady(int64_t recording_id, uint64_t bytes, int64_t duration_ms, bool incomplete,
                            int64_t now) override;
  Status MarkRecordingFailed(int64_t recording_id, const std::string& reason, int64_t now) override;
  Result<int> AddSessionEvents(const std::string& session_id, const std::vector<SessionEvent>& events,
                               int64_t now) override;
  Result<std::vector<SessionEvent>> SessionEvents(const std::string& session_id) override;
  Status EnqueueJob(const std::string& kind, int64_t recording_id, int64_t now) override;
  Result<std::optional<Job>> ClaimJob(int64_t now) override;
  Status CompleteJob(int64_t job_id, int64_t now) override;
  Status RetryJob(int64_t job_id, int64_t next_run_at, const std::string& error) override;
  Status FailJob(int64_t job_id, const std::string& error, int64_t now) override;
  Result<int> RequeueRunningJobs() override;
  Status CreateAccount(const Account& account, int64_t now) override;
  Result<Account> AccountByName(const std::string& username) override;
  Result<int> CountAccounts() override;
  Status CreateLoginSession(const LoginSession& login, int64_t now) override;
  Result<LoginSession> LoginSessionByTokenHash(const std::string& token_sha256, int64_t now) override;
  Status DeleteLoginSession(const std::string& token_sha256, int64_t now) override;
  Status AppendAudit(const AuditEntry& entry) override;
  Result<std::vector<AuditEntry>> AuditEntries(int limit) override;
  Result<SessionPage> ListSessions(const SessionFilter& filter) override;
  Result<SessionSummary> GetSessionSummary(const std::string& session_id) override;
  Result<std::vector<std::string>> SessionIdsOfCandidate(int64_t candidate_id) override;
  Status RevokeSessionToken(const std::string& session_id) override;
  Result<StoredFiles> PrepareSessionDeletion(const std::string& session_id) override;
  Status DeleteSession(const std::string& session_id, const AuditEntry& audit) override;
  Result<std::vector<Recording>> RecordingsCreatedBefore(int64_t cutoff) override;
  Result<std::vector<std::string>> EmptySessionsCreatedBefore(int64_t cutoff) override;
  Status DeleteRecording(int64_t recording_id, const AuditEntry& audit) override;

  struct Impl;

 private:
  explicit SqliteIndex(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace recorder::server
