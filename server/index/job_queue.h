// The durable job queue's contract. A job has a kind, a subject (a recording, a session or
// nothing) and a JSON payload. Workers claim a job with a lease that they extend while they run
// it; a job whose holder died comes back when its lease expires, so several server processes can
// share one queue and none ever takes a job another one still runs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/enum_names.h"
#include "base/metrics.h"  // JobKindStats
#include "common/status.h"

namespace recorder::server {

enum class JobState { kPending, kRunning, kDone, kFailed };
template <>
inline constexpr std::array<std::string_view, 4> kEnumNames<JobState> = {"pending", "running", "done", "failed"};

enum class SubjectType { kNone, kRecording, kSession };
template <>
inline constexpr std::array<std::string_view, 3> kEnumNames<SubjectType> = {"none", "recording", "session"};

// What a job is about. Deleting a recording or a session deletes its jobs.
struct JobSubject {
  SubjectType type = SubjectType::kNone;
  std::string id;  // the recording's id as decimal text, or the session's id; empty for none

  static JobSubject None() { return {}; }
  static JobSubject Recording(int64_t recording_id) { return {SubjectType::kRecording, std::to_string(recording_id)}; }
  static JobSubject Session(std::string session_id) { return {SubjectType::kSession, std::move(session_id)}; }
  // The recording id of a recording subject; 0 otherwise.
  int64_t recording_id() const { return type == SubjectType::kRecording ? std::stoll(id) : 0; }
  bool operator==(const JobSubject&) const = default;
};

struct NewJob {
  std::string kind;
  JobSubject subject;
  std::string payload_json = "{}";
  // Non-empty: at most one job ever has this key; enqueuing it again is a no-op (a handler that
  // runs twice after a crash does not queue its follow-ups twice).
  std::string dedupe_key;
  int64_t run_at = 0;  // not before this time; 0: at once
};

// The job of `kind` for one recording; its dedupe key makes a second enqueue a no-op.
inline NewJob RecordingJob(const std::string& kind, int64_t recording_id) {
  NewJob job;
  job.kind = kind;
  job.subject = JobSubject::Recording(recording_id);
  job.dedupe_key = kind + ":recording:" + std::to_string(recording_id);
  return job;
}

// A claimed job, as its worker sees it.
struct Job {
  int64_t id = 0;
  std::string kind;
  JobSubject subject;
  std::string payload_json;
  int attempts = 0;  // starts so far, this one included
  std::string lease_owner;
};

// A job as status pages show it.
struct JobRecord {
  int64_t id = 0;
  std::string kind;
  JobSubject subject;
  JobState state = JobState::kPending;
  int attempts = 0;
  std::string last_error;
  int64_t created_at = 0;
  int64_t updated_at = 0;
  int64_t next_run_at = 0;
  std::string payload_json;
};

// Thread-safe; every method is one transaction.
class JobQueue {
 public:
  virtual ~JobQueue() = default;

  // The new job's id; with a dedupe key already taken, the existing job's id and nothing new.
  virtual Result<int64_t> EnqueueJob(const NewJob& job, int64_t now) = 0;
  // Takes the oldest due job of `kind` for `owner` until now + lease_seconds: a pending job whose
  // time has come, or a running one whose lease expired (its worker died; the crashed start
  // counts as an attempt). nullopt when none is due.
  virtual Result<std::optional<Job>> ClaimJob(const std::string& kind, const std::string& owner, int64_t now,
                                              int64_t lease_seconds) = 0;
  // Conflict when `job` is no longer leased by its owner (its lease expired and another worker
  // took it): the caller must drop its result.
  virtual Status ExtendLease(const Job& job, int64_t lease_expires_at) = 0;
  // Done, and `follow_ups` enqueued, in one transaction. Conflict as for ExtendLease.
  virtual Status CompleteJob(const Job& job, const std::vector<NewJob>& follow_ups, int64_t now) = 0;
  // Pending again from `next_run_at`, with the error kept. Conflict as for ExtendLease.
  virtual Status RetryJob(const Job& job, int64_t next_run_at, const std::string& error, int64_t now) = 0;
  // Failed for good, and `follow_ups` enqueued, in one transaction. Conflict as for ExtendLease.
  virtual Status FailJob(const Job& job, const std::string& error, const std::vector<NewJob>& follow_ups,
                         int64_t now) = 0;
  // Jobs leased by an owner whose name starts with `owner_prefix` (an earlier run of this process
  // that died) are due again at once. Returns how many.
  virtual Result<int> ReleaseLeases(const std::string& owner_prefix, int64_t now) = 0;
  // Per kind, for /metrics.
  virtual Result<std::vector<JobKindStats>> JobStats(int64_t now) = 0;
  // The jobs about `subject`, oldest first.
  virtual Result<std::vector<JobRecord>> JobsOf(const JobSubject& subject) = 0;
  // The latest `limit` jobs of `kind`, newest first.
  virtual Result<std::vector<JobRecord>> JobsOfKind(const std::string& kind, int limit) = 0;
  // An admin's retry: the failed job of `kind` is due at once with fresh attempts (its last error is
  // kept until it runs). NotFound (also for a job of another kind); FailedPrecondition when the job
  // is not failed.
  virtual Status RetryFailedJob(int64_t job_id, const std::string& kind, int64_t now) = 0;
};

}  // namespace recorder::server
