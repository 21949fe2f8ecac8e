// SqliteIndex, job queue role. A claim is fenced by (id, lease_owner, attempts): a worker whose
// lease expired and was taken over cannot record a result over its successor's.
#include "index/sqlite/impl.h"

namespace recorder::server {

using sqlite::Stmt;

namespace sqlite {
namespace {

constexpr const char* kFence = " WHERE id = ? AND state = 'running' AND lease_owner = ? AND attempts = ?";

// The new job's id, or the id of the job that already holds its dedupe key.
Result<int64_t> InsertJob(Connection& db, const NewJob& job, int64_t now) {
  Stmt insert(db,
              "INSERT INTO jobs(kind, subject_type, subject_id, payload, dedupe_key, state, next_run_at, created_at, "
              "updated_at) VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?) ON CONFLICT(dedupe_key) DO NOTHING RETURNING id");
  auto row = insert.Bind(1, job.kind)
                 .Bind(2, job.subject.type)
                 .Bind(3, job.subject.id)
                 .Bind(4, job.payload_json)
                 .BindTextOrNull(5, job.dedupe_key)
                 .Bind(6, std::max(job.run_at, now))
                 .Bind(7, now)
                 .Bind(8, now)
                 .Step();
  if (!row.ok()) return row.status();
  if (*row) {
    int64_t id = insert.Int(0);
    RETURN_IF_ERROR(insert.Run());  // finish the RETURNING statement
    return id;
  }
  Stmt existing(db, "SELECT id FROM jobs WHERE dedupe_key = ?");
  auto found = existing.Bind(1, job.dedupe_key).Step();
  if (!found.ok()) return found.status();
  if (!*found) return Internal("job " + job.dedupe_key + " neither inserted nor found");
  return existing.Int(0);
}

}  // namespace

Status InsertJobs(Connection& db, const std::vector<NewJob>& jobs, int64_t now) {
  for (const NewJob& job : jobs) {
    auto id = InsertJob(db, job, now);
    if (!id.ok()) return id.status();
  }
  return Status::Ok();
}

Status ReviveFailedJob(Connection& db, int64_t job_id, const std::string& kind, int64_t now) {
  Stmt state(db, "SELECT state FROM jobs WHERE id = ? AND kind = ?");
  auto row = state.Bind(1, job_id).Bind(2, kind).Step();
  if (!row.ok()) return row.status();
  const std::string job = "job " + std::to_string(job_id);
  if (!*row) return NotFound("no " + job);
  if (state.Enum(0, JobState::kPending) != JobState::kFailed) {
    return FailedPrecondition(job + " is " + state.Text(0) + ", not failed");
  }
  return Stmt(db,
              "UPDATE jobs SET state = 'pending', attempts = 0, next_run_at = ?, updated_at = ?, lease_owner = NULL, "
              "lease_expires_at = NULL WHERE id = ?")
      .Bind(1, now)
      .Bind(2, now)
      .Bind(3, job_id)
      .Run();
}

}  // namespace sqlite

namespace {

// Conflict when the fenced update changed nothing: the lease is gone.
Status LeaseHeld(int changes, const Job& job) {
  if (changes > 0) return Status::Ok();
  return Conflict("job " + std::to_string(job.id) + " (" + job.kind + ") is no longer leased by " + job.lease_owner);
}

}  // namespace

Result<int64_t> SqliteIndex::EnqueueJob(const NewJob& job, int64_t now) {
  std::lock_guard lock(impl_->mu);
  int64_t id = 0;
  Status s = impl_->Transaction([&]() -> Status {
    auto inserted = sqlite::InsertJob(impl_->db, job, now);
    if (!inserted.ok()) return inserted.status();
    id = *inserted;
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return id;
}

Result<std::optional<Job>> SqliteIndex::ClaimJob(const std::string& kind, const std::string& owner, int64_t now,
                                                 int64_t lease_seconds) {
  std::lock_guard lock(impl_->mu);
  Stmt s(impl_->db,
         "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_owner = ?2, "
         "lease_expires_at = ?3 + ?4, updated_at = ?3 WHERE id = ("
         "SELECT id FROM jobs WHERE kind = ?1 AND ((state = 'pending' AND next_run_at <= ?3) OR "
         "(state = 'running' AND lease_expires_at <= ?3)) ORDER BY next_run_at, id LIMIT 1) "
         "RETURNING id, kind, subject_type, subject_id, payload, attempts");
  auto row = s.Bind(1, kind).Bind(2, owner).Bind(3, now).Bind(4, lease_seconds).Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<Job>();
  Job job{s.Int(0), s.Text(1), {s.Enum(2, SubjectType::kNone), s.Text(3)}, s.Text(4), static_cast<int>(s.Int(5)),
          owner};
  RETURN_IF_ERROR(s.Run());
  return std::optional<Job>(job);
}

Status SqliteIndex::ExtendLease(const Job& job, int64_t lease_expires_at) {
  std::lock_guard lock(impl_->mu);
  RETURN_IF_ERROR(Stmt(impl_->db, std::string("UPDATE jobs SET lease_expires_at = ?") + sqlite::kFence)
                      .Bind(1, lease_expires_at)
                      .Bind(2, job.id)
                      .Bind(3, job.lease_owner)
                      .Bind(4, job.attempts)
                      .Run());
  return LeaseHeld(impl_->Changes(), job);
}

Status SqliteIndex::CompleteJob(const Job& job, const std::vector<NewJob>& follow_ups, int64_t now) {
  std::lock_guard lock(impl_->mu);
  auto& db = impl_->db;
  return impl_->Transaction([&]() -> Status {
    RETURN_IF_ERROR(Stmt(db, std::string("UPDATE jobs SET state = 'done', lease_owner = NULL, lease_expires_at = NULL, "
                                         "last_error = NULL, updated_at = ?") +
                                 sqlite::kFence)
                        .Bind(1, now)
                        .Bind(2, job.id)
                        .Bind(3, job.lease_owner)
                        .Bind(4, job.attempts)
                        .Run());
    RETURN_IF_ERROR(LeaseHeld(impl_->Changes(), job));
    return sqlite::InsertJobs(db, follow_ups, now);
  });
}

Status SqliteIndex::RetryJob(const Job& job, int64_t next_run_at, const std::string& error, int64_t now) {
  std::lock_guard lock(impl_->mu);
  RETURN_IF_ERROR(Stmt(impl_->db, std::string("UPDATE jobs SET state = 'pending', next_run_at = ?, last_error = ?, "
                                              "lease_owner = NULL, lease_expires_at = NULL, updated_at = ?") +
                                      sqlite::kFence)
                      .Bind(1, next_run_at)
                      .Bind(2, error)
                      .Bind(3, now)
                      .Bind(4, job.id)
                      .Bind(5, job.lease_owner)
                      .Bind(6, job.attempts)
                      .Run());
  return LeaseHeld(impl_->Changes(), job);
}

Status SqliteIndex::FailJob(const Job& job, const std::string& error, const std::vector<NewJob>& follow_ups,
                            int64_t now) {
  std::lock_guard lock(impl_->mu);
  return impl_->Transaction([&]() -> Status {
    RETURN_IF_ERROR(Stmt(impl_->db, std::string("UPDATE jobs SET state = 'failed', last_error = ?, lease_owner = NULL, "
                                                "lease_expires_at = NULL, updated_at = ?") +
                                        sqlite::kFence)
                        .Bind(1, error)
                        .Bind(2, now)
                        .Bind(3, job.id)
                        .Bind(4, job.lease_owner)
                        .Bind(5, job.attempts)
                        .Run());
    RETURN_IF_ERROR(LeaseHeld(impl_->Changes(), job));
    return sqlite::InsertJobs(impl_->db, follow_ups, now);
  });
}

Result<int> SqliteIndex::ReleaseLeases(const std::string& owner_prefix, int64_t now) {
  std::lock_guard lock(impl_->mu);
  RETURN_IF_ERROR(Stmt(impl_->db,
                       "UPDATE jobs SET state = 'pending', next_run_at = ?2, lease_owner = NULL, "
                       "lease_expires_at = NULL, updated_at = ?2 "
                       "WHERE state = 'running' AND substr(lease_owner, 1, length(?1)) = ?1")
                      .Bind(1, owner_prefix)
                      .Bind(2, now)
                      .Run());
  return impl_->Changes();
}

Result<std::vector<JobKindStats>> SqliteIndex::JobStats(int64_t now) {
  std::lock_guard lock(impl_->mu);
  Stmt s(impl_->db,
         "SELECT kind, sum(state = 'pending'), sum(state = 'pending' AND next_run_at <= ?1), sum(state = 'running'), "
         "sum(state = 'failed'), COALESCE(?1 - min(CASE WHEN state = 'pending' AND next_run_at <= ?1 "
         "THEN next_run_at END), 0) FROM jobs GROUP BY kind ORDER BY kind");
  s.Bind(1, now);
  return sqlite::ReadAll<JobKindStats>(
      s, [](Stmt& r) { return JobKindStats{r.Text(0), r.Int(1), r.Int(2), r.Int(3), r.Int(4), r.Int(5)}; });
}

namespace {

constexpr const char* kSelectJobRecord =
    "SELECT id, kind, subject_type, subject_id, state, attempts, COALESCE(last_error, ''), created_at, updated_at, "
    "next_run_at, payload FROM jobs ";

JobRecord ReadJobRecord(Stmt& r) {
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

Result<std::vector<JobRecord>> SqliteIndex::JobsOf(const JobSubject& subject) {
  std::lock_guard lock(impl_->mu);
  Stmt s(impl_->db, std::string(kSelectJobRecord) + "WHERE subject_type = ? AND subject_id = ? ORDER BY id");
  s.Bind(1, subject.type).Bind(2, subject.id);
  return sqlite::ReadAll<JobRecord>(s, ReadJobRecord);
}

Result<std::vector<JobRecord>> SqliteIndex::JobsOfKind(const std::string& kind, int limit) {
  std::lock_guard lock(impl_->mu);
  Stmt s(impl_->db, std::string(kSelectJobRecord) + "WHERE kind = ? ORDER BY id DESC LIMIT ?");
  s.Bind(1, kind).Bind(2, static_cast<int64_t>(limit));
  return sqlite::ReadAll<JobRecord>(s, ReadJobRecord);
}

Status SqliteIndex::RetryFailedJob(int64_t job_id, const std::string& kind, int64_t now) {
  std::lock_guard lock(impl_->mu);
  return impl_->Transaction([&] { return sqlite::ReviveFailedJob(impl_->db, job_id, kind, now); });
}

}  // namespace recorder::server
