// What the PostgresIndex files share: the pool, and the row readers and writers more than one role
// needs. Internal to index/postgres.
#pragma once

#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "index/postgres/pg.h"
#include "index/postgres/postgres_index.h"

namespace recorder::server {

struct PostgresIndex::Impl {
  Impl(std::string conninfo, int max_connections) : pool(std::move(conninfo), max_connections) {}

  // Runs `body` with a connection from the pool.
  template <typename Body>
  std::invoke_result_t<Body, pg::Conn&> With(Body body) {
    auto lease = pool.Acquire();
    if (!lease.ok()) return lease.status();
    return body(*lease.value());
  }
  // Runs `body` in one transaction.
  Status InTransaction(const std::function<Status(pg::Conn&)>& body) {
    return With([&](pg::Conn& c) { return c.Transaction([&] { return body(c); }); });
  }

  // Migrates to `target` (postgres_schema.cc). FailedPrecondition when the database is newer.
  Status Migrate(pg::Conn& c, int target);
  Result<int> Version(pg::Conn& c);

  pg::Pool pool;
};

namespace pg {

// "SELECT <upload columns> FROM uploads u JOIN recordings r ... " read by ReadUpload.
extern const char* const kSelectUpload;
Upload ReadUpload(const Row& r);
// "SELECT <recording columns> FROM recordings " read by ReadRecording.
extern const char* const kSelectRecording;
Recording ReadRecording(const Row& r);
// A session's questions in order.
Result<std::vector<Question>> ReadQuestions(Conn& c, const std::string& session_id);

// Enqueues each job (a taken dedupe key is skipped). REQUIRES: in a transaction.
Status InsertJobs(Conn& c, const std::vector<NewJob>& jobs, int64_t now);
// The failed job of `kind` is pending, due now, with no attempts. NotFound; FailedPrecondition when
// it is not failed. REQUIRES: in a transaction.
Status ReviveFailedJob(Conn& c, int64_t job_id, const std::string& kind, int64_t now);
Status InsertAudit(Conn& c, const AuditEntry& entry);

}  // namespace pg
}  // namespace recorder::server
