// libpq plumbing for PostgresIndex (pg.h).
#include "index/postgres/pg.h"

#include <charconv>
#include <cstdio>
#include <cstring>
#include <string_view>

#include "base/printable.h"

namespace recorder::server::pg {
namespace {

// libpq's messages span lines ("...failed: No such file\n\tIs the server running...") and may
// quote row values that came from users ("DETAIL: Key (media_key)=(...) already exists"): they
// reach the log only through Printable, like every other untrusted text.
std::string LogSafe(const char* message) {
  std::string_view text = message ? message : "";
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  return Printable(text, 1000);
}

// SQLSTATE classes that callers act on: a taken unique key, a lost race, a gone connection.
Status ErrorOf(PGconn* conn, const PGresult* result, const std::string& sql) {
  const char* state = result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  const std::string message = LogSafe(result ? PQresultErrorMessage(result) : PQerrorMessage(conn));
  const std::string code = state ? state : "";
  if (code == "23505") return AlreadyExists(message);
  if (code == "40001" || code == "40P01") return Conflict(message);
  if (code == "53100") return ResourceExhausted(message);  // disk full
  if (PQstatus(conn) != CONNECTION_OK || code.starts_with("08") || code.starts_with("57P")) {
    return IoError("PostgreSQL connection lost: " + message);
  }
  return Internal(message + " [" + sql.substr(0, 80) + "]");
}

}  // namespace

Param::Param(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  text_ = buf;
}

int64_t Rows::Affected() const {
  const char* n = PQcmdTuples(result_.get());
  int64_t value = 0;
  std::from_chars(n, n + std::strlen(n), value);
  return value;
}

int64_t Rows::Int(int row, int col) const {
  const char* v = PQgetvalue(result_.get(), row, col);
  int64_t value = 0;
  std::from_chars(v, v + PQgetlength(result_.get(), row, col), value);
  return value;
}

double Rows::Real(int row, int col) const {
  return IsNull(row, col) ? 0.0 : std::strtod(PQgetvalue(result_.get(), row, col), nullptr);
}

Result<Rows> Conn::Exec(const std::string& sql, const std::vector<Param>& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const Param& p : params) values.push_back(p.c_str());
  PGresult* raw = PQexecParams(conn_.get(), sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(),
                               nullptr, nullptr, 0);
  Rows rows(raw);
  const ExecStatusType status = raw ? PQresultStatus(raw) : PGRES_FATAL_ERROR;
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) return ErrorOf(conn_.get(), raw, sql);
  return rows;
}

Status Conn::ExecScript(const char* sql) {
  Rows rows(PQexec(conn_.get(), sql));
  PGresult* raw = rows.get();
  if (raw && PQresultStatus(raw) == PGRES_COMMAND_OK) return Status::Ok();
  return ErrorOf(conn_.get(), raw, sql);
}

Status Conn::Transaction(const std::function<Status()>& body) {
  auto begun = Exec("BEGIN");
  if (!begun.ok()) return begun.status();
  Status s = body();
  if (!s.ok()) {
    (void)Exec("ROLLBACK");
    return s;
  }
  auto committed = Exec("COMMIT");
  return committed.ok() ? Status::Ok() : committed.status();
}

Result<std::unique_ptr<Conn>> Connect(const std::string& conninfo) {
  PGconn* raw = PQconnectdb(conninfo.c_str());
  if (PQstatus(raw) != CONNECTION_OK) {
    // libpq's message names the server and the reason ("connection to server on socket ...
    // failed: FATAL: password authentication failed for user ...").
    const std::string message = raw ? LogSafe(PQerrorMessage(raw)) : "out of memory";
    PQfinish(raw);
    return IoError("cannot connect to PostgreSQL: " + message);
  }
  // NOTICEs ("relation ... already exists, skipping") are for people at a psql prompt; libpq
  // would print them to stderr, past the log.
  PQsetNoticeProcessor(
      raw, [](void*, const char*) {}, nullptr);
  return std::make_unique<Conn>(raw);
}

Result<Pool::Lease> Pool::Acquire() {
  std::unique_lock lock(mu_);
  returned_.wait(lock, [&] { return !idle_.empty() || open_ < max_; });
  if (!idle_.empty()) {
    auto conn = std::move(idle_.back());
    idle_.pop_back();
    return Lease(this, std::move(conn));
  }
  ++open_;
  lock.unlock();
  auto conn = Connect(conninfo_);
  if (!conn.ok()) {
    std::lock_guard relock(mu_);
    --open_;
    returned_.notify_one();
    return conn.status();
  }
  return Lease(this, std::move(conn.value()));
}

void Pool::Return(std::unique_ptr<Conn> conn) {
  std::lock_guard lock(mu_);
  if (conn->broken()) {
    --open_;  // the next caller opens a fresh one
  } else {
    idle_.push_back(std::move(conn));
  }
  returned_.notify_one();
}

}  // namespace recorder::server::pg
