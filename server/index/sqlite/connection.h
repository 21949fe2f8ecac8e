// SQLite plumbing shared by the SqliteIndex files: the connection with its statement cache, one
// statement at a time, the background checkpointer. Internal to index/sqlite.
#pragma once

#include <sqlite3.h>

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "base/enum_names.h"
#include "common/status.h"

namespace recorder::server::sqlite {

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalizer {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};
using DbPtr = std::unique_ptr<sqlite3, DbCloser>;

// The Status for the connection's last error: AlreadyExists for a UNIQUE or PRIMARY KEY
// violation, ResourceExhausted for a full disk, Internal otherwise.
Status SqlError(sqlite3* db, const std::string& what);

// A connection to the database file at `path`, waiting up to 5 s for another connection's lock.
// Creates the database file if missing and makes it (and any -wal or -shm beside it) mode 0600,
// whatever the umask: it holds candidates' data. SQLite would create it 0644, and it gives the
// -wal and -shm files it creates the database file's mode.
Status CreateOwnerOnly(const std::string& path);
Result<DbPtr> OpenDatabase(const std::string& path, int flags);

// The one connection and its compiled statements. The server runs a fixed set of SQL texts, and
// compiling them was most of SQLite's share of a PATCH, so each text is compiled once and lent
// out. REQUIRES: callers hold the index mutex (one thread at a time).
class Connection {
 public:
  struct Cached {
    std::unique_ptr<sqlite3_stmt, StmtFinalizer> stmt;
    bool lent = false;
  };

  void Open(sqlite3* raw) { db_.reset(raw); }
  sqlite3* get() const { return db_.get(); }

  // The cached statement for `sql`, or nullptr when it is already lent (a nested use of the same
  // text) or the cache is full; the caller then compiles its own.
  Cached* Lend(const std::string& sql) {
    auto it = cache_.find(sql);
    if (it == cache_.end()) {
      if (cache_.size() >= kMaxCached) return nullptr;
      sqlite3_stmt* raw = nullptr;
      if (sqlite3_prepare_v3(db_.get(), sql.c_str(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &raw,
                             nullptr) != SQLITE_OK) {
        return nullptr;  // the caller's own prepare reports the error
      }
      it = cache_.emplace(sql, Cached{std::unique_ptr<sqlite3_stmt, StmtFinalizer>(raw)}).first;
    }
    if (it->second.lent) return nullptr;
    it->second.lent = true;
    return &it->second;
  }

 private:
  static constexpr size_t kMaxCached = 128;  // well above the number of SQL texts in this file
  DbPtr db_;                                 // declared first: closed after the statements are finalized
  std::unordered_map<std::string, Cached> cache_;
};

// One statement, from the connection's cache. Errors are kept and reported by Step(), so call
// sites stay linear.
class Stmt {
 public:
  Stmt(Connection& db, const std::string& sql) : db_(db.get()), cached_(db.Lend(sql)) {
    if (cached_) {
      stmt_ = cached_->stmt.get();
      return;
    }
    if (sqlite3_prepare_v2(db_, sql.c_str(), static_cast<int>(sql.size()), &stmt_, nullptr) != SQLITE_OK) {
      status_ = SqlError(db_, "prepare");
    }
  }
  ~Stmt() {
    if (!cached_) {
      sqlite3_finalize(stmt_);
      return;
    }
    // Reset ends the statement's read of the database (a stepped SELECT would otherwise keep its
    // WAL snapshot) and makes it ready for the next borrower.
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    cached_->lent = false;
  }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Stmt& Bind(int i, int64_t v) { return Check(sqlite3_bind_int64(stmt_, i, v)); }
  Stmt& Bind(int i, std::string_view v) {
    return Check(sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
  }
  Stmt& Bind(int i, const std::string& v) { return Bind(i, std::string_view(v)); }
  Stmt& Bind(int i, const char* v) { return Bind(i, std::string_view(v)); }
  Stmt& Bind(int i, bool v) { return Bind(i, int64_t{v}); }
  Stmt& Bind(int i, int v) { return Bind(i, int64_t{v}); }
  Stmt& Bind(int i, double v) { return Check(sqlite3_bind_double(stmt_, i, v)); }
  // An enum by its name (base/enum_names.h).
  template <typename E>
  requires std::is_enum_v<E> Stmt& Bind(int i, E v) { return Bind(i, Name(v)); }
  Stmt& Bind(int i, std::optional<uint64_t> v) {
    return v ? Bind(i, static_cast<int64_t>(*v)) : Check(sqlite3_bind_null(stmt_, i));
  }
  Stmt& BindTextOrNull(int i, const std::string& v) {
    return v.empty() ? Check(sqlite3_bind_null(stmt_, i)) : Bind(i, v);
  }
  // true: a row is ready; false: done.
  Result<bool> Step() {
    if (!status_.ok()) return status_;
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return SqlError(db_, "step");
  }
  Status Run() {
    auto r = Step();
    return r.ok() ? Status::Ok() : r.status();
  }
  int64_t Int(int col) { return sqlite3_column_int64(stmt_, col); }
  double Real(int col) { return sqlite3_column_double(stmt_, col); }
  bool IsNull(int col) { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  // An enum stored by its name; `fallback` when the text names none (a CHECK constraint keeps
  // that from happening).
  template <typename E>
  E Enum(int col, E fallback) {
    E value = fallback;
    ParseName(Text(col), &value);
    return value;
  }
  std::string Text(int col) {
    const unsigned char* p = sqlite3_column_text(stmt_, col);
    return p ? std::string(reinterpret_cast<const char*>(p), sqlite3_column_bytes(stmt_, col)) : std::string();
  }

 private:
  Stmt& Check(int rc) {
    if (rc != SQLITE_OK && status_.ok()) status_ = SqlError(db_, "bind");
    return *this;
  }
  sqlite3* db_;
  Connection::Cached* cached_;
  sqlite3_stmt* stmt_ = nullptr;
  Status status_;
};

template <typename T, typename ReadRow>
Result<std::vector<T>> ReadAll(Stmt& s, ReadRow read) {
  std::vector<T> rows;
  for (;;) {
    auto row = s.Step();
    if (!row.ok()) return row.status();
    if (!*row) return rows;
    rows.push_back(read(s));
  }
}

// Copies the WAL into the database file from its own connection and thread, so the checkpoint's
// fsyncs happen outside the index mutex. With SQLite's automatic checkpoint, the commit that
// crossed 1000 WAL pages ran the checkpoint, fsyncs included, while every PATCH waited for the
// mutex. PASSIVE never blocks the writer; the writer restarts the WAL once it is all copied.
class Checkpointer {
 public:
  explicit Checkpointer(DbPtr db) : db_(std::move(db)), thread_([this] { Run(); }) {}
  ~Checkpointer() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  void Run();

  DbPtr db_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;  // last: starts once the rest is built
};

}  // namespace recorder::server::sqlite
