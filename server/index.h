// The server's index of candidates, sessions, recordings, uploads and jobs. Knows nothing of HTTP
// or files. Every method is thread-safe and is one transaction.
#pragma once

#include <cstdint>
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

  // Creates the recording and its upload in one transaction; AlreadyExists when `path` is taken.
  virtual Result<Upload> CreateUpload(const Upload& upload, const std::string& kind, int64_t now) = 0;
  // NotFound when unknown.
  virtual Result<Upload> GetUpload(const std::string& upload_id) = 0;
  // Records a durable offset (and a length given late, and the new expiry) of a receiving upload.
  virtual Status SetUploadProgress(const std::string& upload_id, uint64_t offset, std::optional<uint64_t> length,
                                   int64_t expires_at) = 0;
  // Moves a receiving upload to `state` (complete | expired) with its recording to "finalizing",
  // and enqueues the finalize job, in one transaction. `incomplete` marks a recording whose upload
  // never reached its end.
  virtual Status FinishUpload(const std::string& upload_id, const std::string& state, bool incomplete, int64_t now) = 0;
  virtual Status TerminateUpload(const std::string& upload_id, int64_t now) = 0;
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
};

// SQLite in WAL mode with a busy timeout and foreign keys, one serialized connection.
// synchronous=NORMAL: a killed process loses nothing; a power cut may lose the last commits, and the
// offsets among them are recovered from file sizes at start (see Ingest::Reconcile).
class SqliteIndex : public Index {
 public:
  static constexpr int kLatestSchemaVersion = 3;
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
                           int64_t expires_at) override;
  Status FinishUpload(const std::string& upload_id, const std::string& state, bool incomplete, int64_t now) override;
  Status TerminateUpload(const std::string& upload_id, int64_t now) override;
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

  struct Impl;

 private:
  explicit SqliteIndex(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace recorder::server
