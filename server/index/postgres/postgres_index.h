// The shared index for several servers: PostgreSQL through libpq, a small pool of connections
// per process. Every method is one transaction at READ COMMITTED; where two servers could race
// (a deletion against a new upload, two claims of one job) the SQL takes row locks, and jobs are
// claimed with FOR UPDATE SKIP LOCKED so claimers never wait on each other.
#pragma once

#include <memory>
#include <string>

#include "index/index.h"

namespace recorder::server {

class PostgresIndex : public Index {
 public:
  static constexpr int kLatestSchemaVersion = 4;
  // Connects with `conninfo` (a libpq URI "postgresql://user@host/db" or "key=value" string) and
  // migrates the schema; several servers may start at once (the migration holds an advisory lock).
  static Result<std::unique_ptr<PostgresIndex>> Open(const std::string& conninfo, int max_connections = 32);
  ~PostgresIndex() override;
  Result<int> SchemaVersion();

  Status Ping() override;

  // WebhookIndex (postgres_webhooks.cc)
  Status AddWebhook(const RegisteredWebhook& webhook) override;
  Result<std::vector<RegisteredWebhook>> ListWebhooks() override;
  Status DeleteWebhook(const std::string& id) override;

  // IngestIndex (postgres_ingest.cc)
  Result<Candidate> FindOrCreateCandidate(const std::string& name, const std::string& email,
                                          const std::string& folder_base, int64_t now) override;
  Status CreateSession(const std::string& session_id, int64_t candidate_id, const std::string& job,
                       const std::vector<Question>& questions, const std::string& token_sha256,
                       int64_t token_expires_at, int64_t now) override;
  Result<Session> SessionByTokenHash(const std::string& token_sha256) override;
  Status EndSession(const std::string& session_id, int64_t now) override;
  Result<std::vector<Session>> SettledSessions(int64_t now, const std::string& except_kind, int limit) override;
  Status CompleteSession(const std::string& session_id, const std::vector<NewJob>& follow_ups, int64_t now) override;
  Result<std::vector<Question>> QuestionsOfSession(const std::string& session_id) override;
  Result<Upload> CreateUpload(const Upload& upload, RecordingKind kind, int64_t now) override;
  Result<Upload> GetUpload(const std::string& upload_id) override;
  Status SetUploadProgress(const std::string& upload_id, uint64_t offset, std::optional<uint64_t> length,
                           int64_t expires_at, bool checksum_verified, std::optional<uint64_t> if_at) override;
  Status AddUploadChunk(const std::string& upload_id, const UploadChunk& chunk, std::optional<uint64_t> length,
                        int64_t expires_at, bool checksum_verified) override;
  Result<std::vector<UploadChunk>> UploadChunks(const std::string& media_key) override;
  Status FinishUpload(const std::string& upload_id, UploadState state, bool incomplete, const NewJob& finalize,
                      int64_t now) override;
  Status TerminateUpload(const std::string& upload_id, const std::string& reason, int64_t now) override;
  Result<std::vector<Upload>> UploadsInState(UploadState state) override;
  Result<std::vector<Upload>> ExpiredUploads(int64_t now) override;
  Result<SessionUsage> UsageOfSession(const std::string& session_id) override;
  Result<Recording> GetRecording(int64_t recording_id) override;
  Result<std::vector<Recording>> RecordingsOfSession(const std::string& session_id) override;
  Status MarkRecordingReady(int64_t recording_id, uint64_t bytes, int64_t duration_ms, bool incomplete,
                            const std::vector<NewJob>& follow_ups, int64_t now) override;
  Status MarkRecordingFailed(int64_t recording_id, const std::string& reason, const std::vector<NewJob>& follow_ups,
                             int64_t now) override;
  Status RefinalizeRecording(int64_t recording_id, int64_t finalize_job_id, int64_t now) override;
  Result<int> AddSessionEvents(const std::string& session_id, const std::vector<SessionEvent>& events,
                               int64_t now) override;
  Result<std::vector<SessionEvent>> SessionEvents(const std::string& session_id) override;

  // JobQueue (postgres_jobs.cc)
  Result<int64_t> EnqueueJob(const NewJob& job, int64_t now) override;
  Result<std::optional<Job>> ClaimJob(const std::string& kind, const std::string& owner, int64_t now,
                                      int64_t lease_seconds) override;
  Status ExtendLease(const Job& job, int64_t lease_expires_at) override;
  Status CompleteJob(const Job& job, const std::vector<NewJob>& follow_ups, int64_t now) override;
  Status RetryJob(const Job& job, int64_t next_run_at, const std::string& error, int64_t now) override;
  Status FailJob(const Job& job, const std::string& error, const std::vector<NewJob>& follow_ups, int64_t now) override;
  Result<int> ReleaseLeases(const std::string& owner_prefix, int64_t now) override;
  Result<std::vector<JobKindStats>> JobStats(int64_t now) override;
  Result<std::vector<JobRecord>> JobsOf(const JobSubject& subject) override;
  Result<std::vector<JobRecord>> JobsOfKind(const std::string& kind, int limit) override;
  Status RetryFailedJob(int64_t job_id, const std::string& kind, int64_t now) override;

  // AccountIndex and AuditLog (postgres_accounts.cc)
  Status CreateAccount(const Account& account, int64_t now) override;
  Result<Account> AccountByName(const std::string& username) override;
  Result<int> CountAccounts() override;
  Status CreateLoginSession(const LoginSession& login, int64_t now) override;
  Result<LoginSession> LoginSessionByTokenHash(const std::string& token_sha256, int64_t now) override;
  Status DeleteLoginSession(const std::string& token_sha256, int64_t now) override;
  Status AppendAudit(const AuditEntry& entry) override;
  Result<std::vector<AuditEntry>> AuditEntries(int limit) override;

  // TranscriptIndex (postgres_transcripts.cc)
  Status PutTranscript(int64_t recording_id, const Transcript& transcript, const std::vector<NewJob>& follow_ups,
                       int64_t now) override;
  Result<Transcript> GetTranscript(int64_t recording_id) override;
  Result<std::vector<SegmentHit>> SearchTranscripts(const std::vector<std::string>& words, int limit) override;

  // ResultsIndex (postgres_results.cc)
  Result<SessionPage> ListSessions(const SessionFilter& filter) override;
  Result<SessionSummary> GetSessionSummary(const std::string& session_id) override;
  Result<std::vector<std::string>> SessionIdsOfCandidate(int64_t candidate_id) override;
  Status RevokeSessionToken(const std::string& session_id) override;
  Result<StoredMedia> PrepareSessionDeletion(const std::string& session_id) override;
  Status DeleteSession(const std::string& session_id, const AuditEntry& audit) override;
  Result<std::vector<Recording>> RecordingsCreatedBefore(int64_t cutoff) override;
  Result<std::vector<std::string>> EmptySessionsCreatedBefore(int64_t cutoff) override;
  Status DeleteRecording(int64_t recording_id, const AuditEntry& audit) override;

  struct Impl;

 private:
  explicit PostgresIndex(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace recorder::server
