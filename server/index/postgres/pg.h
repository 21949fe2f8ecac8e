// libpq plumbing for PostgresIndex: parameters sent as text, results read by row and column, a
// connection per caller from a small pool, transactions. Internal to index/postgres.
#pragma once

#include <libpq-fe.h>

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "base/enum_names.h"
#include "common/status.h"

namespace recorder::server::pg {

// One query parameter, in PostgreSQL's text format (the server casts it to the column's type).
// Implicit constructors, so call sites list plain values: Exec(sql, {id, name, now}).
class Param {
 public:
  Param(int64_t v) : text_(std::to_string(v)) {}
  Param(int v) : text_(std::to_string(v)) {}
  Param(bool v) : text_(v ? "true" : "false") {}
  Param(double v);
  Param(std::string v) : text_(std::move(v)) {}
  Param(const char* v) : text_(v) {}
  Param(std::optional<uint64_t> v) {
    if (v) text_ = std::to_string(*v);
  }
  template <typename E>
  requires std::is_enum_v<E> Param(E v) : text_(std::string(Name(v))) {}
  static Param Null() { return Param(std::optional<uint64_t>()); }
  // NULL for an empty string.
  static Param TextOrNull(const std::string& v) { return v.empty() ? Null() : Param(v); }

  const char* c_str() const { return text_ ? text_->c_str() : nullptr; }

 private:
  std::optional<std::string> text_;
};

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};

// The rows of one statement.
class Rows {
 public:
  explicit Rows(PGresult* r) : result_(r) {}
  PGresult* get() const { return result_.get(); }
  int size() const { return PQntuples(result_.get()); }
  bool empty() const { return size() == 0; }
  // Rows an INSERT, UPDATE or DELETE changed.
  int64_t Affected() const;
  bool IsNull(int row, int col) const { return PQgetisnull(result_.get(), row, col) != 0; }
  std::string Text(int row, int col) const {
    return std::string(PQgetvalue(result_.get(), row, col), PQgetlength(result_.get(), row, col));
  }
  int64_t Int(int row, int col) const;  // 0 for NULL
  double Real(int row, int col) const;  // 0 for NULL
  bool Bool(int row, int col) const { return Text(row, col) == "t"; }
  // An enum stored by its name; `fallback` when the text names none (a CHECK constraint keeps
  // that from happening).
  template <typename E>
  E Enum(int row, int col, E fallback) const {
    E value = fallback;
    ParseName(Text(row, col), &value);
    return value;
  }

 private:
  std::unique_ptr<PGresult, ResultDeleter> result_;
};

// One row of `rows` at a time, so readers of a row type are written once.
struct Row {
  const Rows& rows;
  int row;
  std::string Text(int col) const { return rows.Text(row, col); }
  int64_t Int(int col) const { return rows.Int(row, col); }
  double Real(int col) const { return rows.Real(row, col); }
  bool Bool(int col) const { return rows.Bool(row, col); }
  bool IsNull(int col) const { return rows.IsNull(row, col); }
  template <typename E>
  E Enum(int col, E fallback) const {
    return rows.Enum(row, col, fallback);
  }
};

template <typename T, typename ReadRow>
std::vector<T> ReadAll(const Rows& rows, ReadRow read) {
  std::vector<T> out;
  out.reserve(static_cast<size_t>(rows.size()));
  for (int i = 0; i < rows.size(); ++i) out.push_back(read(Row{rows, i}));
  return out;
}

struct ConnCloser {
  void operator()(PGconn* c) const { PQfinish(c); }
};

// One connection; used by one thread at a time (the pool lends it).
class Conn {
 public:
  explicit Conn(PGconn* raw) : conn_(raw) {}
  // The statement's rows. Errors: AlreadyExists for a unique violation, Conflict for a
  // serialization failure or deadlock, IoError when the connection is lost, Internal otherwise.
  Result<Rows> Exec(const std::string& sql, const std::vector<Param>& params = {});
  // Several statements without parameters (a migration).
  Status ExecScript(const char* sql);
  // Runs `body` between BEGIN and COMMIT; rolls back when it fails.
  Status Transaction(const std::function<Status()>& body);
  bool broken() const { return PQstatus(conn_.get()) != CONNECTION_OK; }

 private:
  std::unique_ptr<PGconn, ConnCloser> conn_;
};

// Opens a connection; a clear error (which server, why) when it cannot.
Result<std::unique_ptr<Conn>> Connect(const std::string& conninfo);

// Up to `max` connections, opened when needed; a lost connection is dropped and replaced by the
// next caller, so a database restart costs the requests in flight, not the server.
class Pool {
 public:
  Pool(std::string conninfo, int max) : conninfo_(std::move(conninfo)), max_(max) {}

  class Lease {
   public:
    Lease(Pool* pool, std::unique_ptr<Conn> conn) : pool_(pool), conn_(std::move(conn)) {}
    Lease(Lease&&) = default;
    ~Lease() {
      if (conn_) pool_->Return(std::move(conn_));
    }
    Conn* operator->() { return conn_.get(); }
    Conn& operator*() { return *conn_; }

   private:
    Pool* pool_;
    std::unique_ptr<Conn> conn_;
  };

  Result<Lease> Acquire();

 private:
  void Return(std::unique_ptr<Conn> conn);

  const std::string conninfo_;
  const int max_;
  std::mutex mu_;
  std::condition_variable returned_;
  std::vector<std::unique_ptr<Conn>> idle_;
  int open_ = 0;  // idle and lent
};

}  // namespace recorder::server::pg
