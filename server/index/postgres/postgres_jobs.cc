// PostgresIndex, job queue role. Several servers claim from one table: the claim locks the due row
// it takes with FOR UPDATE SKIP LOCKED, so concurrent claimers take different jobs without waiting
// on each other. A claim is fenced by (id, lease_owner, attempts), as in SqliteIndex: a worker
// whose lease expired and was taken over cannot record a result over its successor's.
#include "index/postgres/impl.h"

namespace recorder::server {

using pg::Conn;
using pg::Row;

namespace pg {
namespace {

constexpr const char* kFence = " WHERE id = $1 AND state = 'running' AND lease_owner = $2 AND attempts = $3";

// The new job's id, or the id of the job that already holds its dedupe key.
Result<int64_t> InsertJob(Conn& c, const NewJob& job, int64_t now) {
  auto inserted = c.Exec(
      "INSERT INTO jobs(kind, subject_type, subject_id, payload, dedupe_key, state, next_run_at, created_at, "
      "updated_at) VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7, $7) ON CONFLICT (dedupe_key) DO NOTHING "
      "RETURNING id",
      {job.kind, job.subject.type, job.subject.id, job.payload_json, Param::TextOrNull(job.dedupe_key),
       std::max(job.run_at, now), now});
  if (!inserted.ok()) return inserted.status();
  if (!inserted->empty()) return inserted->Int(0, 0);
  auto existing = c.Exec("SELECT id FROM jobs WHERE dedupe_key = $1", {job.dedupe_key});
  if (!existing.ok()) return existing.status();
  if (existing->empty()) return Internal("job " + job.dedupe_key + " neither inserted nor found");
  return existing->Int(0, 0);
}

}  // namespace

Status InsertJobs(Conn& c, const std::vector<NewJob>& jobs, int64_t now) {
  for (const NewJob& job : jobs) {
    auto id = InsertJob(c, job, now);
    if (!id.ok()) return id.status();
  }
  return Status::Ok();
}

Status ReviveFailedJob(Conn& c, int64_t job_id, const std::string& kind, int64_t now) {
  auto state = c.Exec("SELECT state FROM jobs WHERE id = $1 AND kind = $2 FOR UPDATE", {job_id, kind});
  if (!state.ok()) return state.status();
  const std::string job = "job " + std::to_string(job_id);
  if (state->empty()) return NotFound("no " + job);
  if (state->Enum(0, 0, JobState::kPending) != JobState::kFailed) {
    return FailedPrecondition(job + " is " + state->Text(0, 0) + ", not failed");
  }
  return c
      .Exec(
          "UPDATE jobs SET state = 'pending', attempts = 0, next_run_at = $1, updated_at = $1, lease_owner = NULL, "
          "lease_expires_at = NULL WHERE id = $2",
          {now, job_id})
      .status();
}

}  // namespace pg

namespace {

// Conflict when the fenced update changed nothing: the lease is gone.
Status LeaseHeld(const Result<pg::Rows>& updated, const Job& job) {
  if (!updated.ok()) return updated.status();
  if (updated->Affected() > 0) return Status::Ok();
  return Conflict("job " + std::to_string(job.id) + " (" + job.kind + ") is no longer leased by " + job.lease_owner);
}

}  // namespace

Result<int64_t> PostgresIndex::EnqueueJob(const NewJob& job, int64_t now) {
  int64_t id = 0;
  Status s = impl_->InTransaction([&](Conn& c) -> Status {
    auto inserted = pg::InsertJob(c, job, now);
    if (!inserted.ok()) return inserted.status();
    id = *inserted;
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return id;
}

Result<std::optional<Job>> PostgresIndex::ClaimJob(const std::string& kind, const std::string& owner, int64_t now,
                                                   int64_t lease_seconds) {
  return impl_->With([&](Conn& c) -> Result<std::optional<Job>> {
    auto rows = c.Exec(
        "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_owner = $2, "
        "lease_expires_at = $3::bigint + $4::bigint, updated_at = $3 WHERE id = ("
        "SELECT id FROM jobs WHERE kind = $1 AND ((state = 'pending' AND next_run_at <= $3) OR "
        "(state = 'running' AND lease_expires_at <= $3)) ORDER BY next_run_at, id LIMIT 1 FOR UPDATE SKIP LOCKED) "
        "RETURNING id, kind, subject_type, subject_id, payload, attempts",
        {kind, owner, now, lease_seconds});
    if (!rows.ok()) return rows.status();
    if (rows->empty()) return std::optional<Job>();
    const Row r{*rows, 0};
    return std::optional<Job>(Job{
        r.Int(0), r.Text(1), {r.Enum(2, SubjectType::kNone), r.Text(3)}, r.Text(4), static_cast<int>(r.Int(5)), owner});
  });
}

Status PostgresIndex::ExtendLease(const Job& job, int64_t lease_expires_at) {
  return impl_->With([&](Conn& c) {
    return LeaseHeld(c.Exec(std::string("UPDATE jobs SET lease_expires_at = $4") + pg::kFence,
                            {job.id, job.lease_owner, job.attempts, lease_expires_at}),
                     job);
  });
}

Status PostgresIndex::CompleteJob(const Job& job, const std::vector<NewJob>& follow_ups, int64_t now) {
  return impl_->InTransaction([&](Conn& c) -> Status {
    RETURN_IF_ERROR(LeaseHeld(c.Exec(std::string("UPDATE jobs SET state = 'done', lease_owner = NULL, "
                                                 "lease_expires_at = NULL, last_error = NULL, updated_at = $4") +
                                         pg::kFence,
                                     {job.id, job.lease_owner, job.attempts, now}),
                              job));
    return pg::InsertJobs(c, follow_ups, now);
  });
}

Status PostgresIndex::RetryJob(const Job& job, int64_t next_run_at, const std::string& error, int64_t now) {
  return impl_->With([&](Conn& c) {
    return LeaseHeld(c.Exec(std::string("UPDATE jobs SET state = 'pending', next_run_at = $4, last_error = $5, "
                                        "lease_owner = NULL, lease_expires_at = NULL, updated_at = $6") +
                                pg::kFence,
                            {job.id, job.lease_owner, job.attempts, next_run_at, error, now}),
                     job);
  });
}

Status PostgresIndex::FailJob(const Job& job, const std::string& error, const std::vector<NewJob>& follow_ups,
                              int64_t now) {
  return impl_->InTransaction([&](Conn& c) -> Status {
    RETURN_IF_ERROR(LeaseHeld(c.Exec(std::string("UPDATE jobs SET state = 'failed', last_error = $4, "
                                                 "lease_owner = NULL, lease_expires_at = NULL, updated_at = $5") +
                                         pg::kFence,
                                     {job.id, job.lease_owner, job.attempts, error, now}),
                              job));
    return pg::InsertJobs(c, follow_ups, now);
  });
}

Result<int> PostgresIndex::ReleaseLeases(const std::string& owner_prefix, int64_t now) {
  return impl_->With([&](Conn& c) -> Result<int> {
    auto rows = c.Exec(
        "UPDATE jobs SET state = 'pending', next_run_at = $2, lease_owner = NULL, lease_expires_at = NULL, "
        "updated_at = $2 WHERE state = 'running' AND starts_with(lease_owner, $1)",
        {owner_prefix, now});
    if (!rows.ok()) return rows.status();
    return static_cast<int>(rows->Affected());
  });
}

Result<std::vector<JobKindStats>> PostgresIndex::JobStats(int64_t now) {
  return impl_->With([&](Conn& c) -> Result<std::vector<JobKindStats>> {
    auto rows = c.Exec(
        "SELECT kind, count(*) FILTER (WHERE state = 'pending'), "
        "count(*) FILTER (WHERE state = 'pending' AND next_run_at <= $1), count(*) FILTER (WHERE state = 'running'), "
        "count(*) FILTER (WHERE state = 'failed'), COALESCE($1 - min(next_run_at) FILTER (WHERE state = 'pending' "
        "AND next_run_at <= $1), 0) FROM jobs GROUP BY kind ORDER BY kind",
        {now});
    if (!rows.ok()) return rows.status();
    return pg::ReadAll<JobKindStats>(
        *rows, [](const Row& r) { return JobKindStats{r.Text(0), r.Int(1), r.Int(2), r.Int(3), r.Int(4), r.Int(5)}; });
  });
}

namespace {

constexpr const char* kSelectJobRecord =
    "SELECT id, kind, subject_type, subject_id, state, attempts, COALESCE(last_error, ''), created_at, updated_at, "
    "next_run_at, payload FROM jobs ";

JobRecord ReadJobRecord(const Row& r) {
  return JobRecord{r.Int(0),
                   r.Text(1),
                   {r.Enum(2, SubjectType::kNone), r.Text(3)},
                   r.Enum(4, JobState::kFailed),
                   static_cast<int>(r.Int(5)),
                   r.Text(6),
                   r.Int(7),
                   r.Int(8),
                   r.Int(9),
                   r.Text(10)};
}

}  // namespace

Result<std::vector<JobRecord>> PostgresIndex::JobsOf(const JobSubject& subject) {
  return impl_->With([&](Conn& c) -> Result<std::vector<JobRecord>> {
    auto rows = c.Exec(std::string(kSelectJobRecord) + "WHERE subject_type = $1 AND subject_id = $2 ORDER BY id",
                       {subject.type, subject.id});
    if (!rows.ok()) return rows.status();
    return pg::ReadAll<JobRecord>(*rows, ReadJobRecord);
  });
}

Result<std::vector<JobRecord>> PostgresIndex::JobsOfKind(const std::string& kind, int limit) {
  return impl_->With([&](Conn& c) -> Result<std::vector<JobRecord>> {
    auto rows = c.Exec(std::string(kSelectJobRecord) + "WHERE kind = $1 ORDER BY id DESC LIMIT $2", {kind, limit});
    if (!rows.ok()) return rows.status();
    return pg::ReadAll<JobRecord>(*rows, ReadJobRecord);
  });
}

Status PostgresIndex::RetryFailedJob(int64_t job_id, const std::string& kind, int64_t now) {
  return impl_->InTransaction([&](Conn& c) { return pg::ReviveFailedJob(c, job_id, kind, now); });
}

}  // namespace recorder::server
