// The assembled server: data folder, index, store, ingest, job runner and HTTP. main.cc and the
// in-process tests drive it the same way: Open, Bind, Listen (blocking), Stop from another thread.
#pragma once

#include <httplib.h>

#include <atomic>
#include <memory>
#include <string>

#include "accounts.h"
#include "config.h"
#include "finalizer.h"
#include "index.h"
#include "ingest.h"
#include "jobs.h"
#include "metrics.h"
#include "results.h"
#include "upload_store.h"

namespace recorder::server {

class App {
 public:
  // Refuses (FailedPrecondition / IoError, one-line message) when the data folder is not
  // writable or the database cannot be opened or migrated. Reconciles uploads with their files and
  // starts the job runner. `finalizer` null: the real WebM finalizer.
  static Result<std::unique_ptr<App>> Open(Config config, std::unique_ptr<Finalizer> finalizer = nullptr);
  ~App();

  // Binds config.host:config.port; returns the bound port (useful with port 0).
  Result<int> Bind();
  // Serves until Stop(). REQUIRES: Bind() succeeded.
  bool Listen();
  // Thread-safe; idempotent.
  void Stop();
  bool IsRunning() const { return http_.is_running(); }

  const std::string& api_key() const { return api_key_; }
  std::string api_key_path() const;
  Index& index() { return *index_; }
  JobRunner& jobs() { return *jobs_; }
  Accounts& accounts() { return *accounts_; }
  Results& results() { return *results_; }
  Ingest& ingest() { return *ingest_; }

  // Opens the data folder's index (DATA/.recorder/index.sqlite3), creating the folders when they
  // do not exist yet; alone (no HTTP, no jobs) for the `admin` sub-commands, which may run beside a
  // serving process (SQLite WAL) or before the first start.
  static Result<std::unique_ptr<SqliteIndex>> OpenIndex(const std::string& data_dir);

 private:
  explicit App(Config config) : config_(std::move(config)) {}
  // On the job runner's thread every poll: expired uploads, and the retention sweep when due.
  void Periodic();

  Config config_;
  std::atomic<int> listen_fd_{-1};
  std::string api_key_;
  std::shared_ptr<const Clock> clock_;
  std::unique_ptr<SqliteIndex> index_;
  std::unique_ptr<FileUploadStore> store_;
  std::unique_ptr<Finalizer> finalizer_;
  Metrics metrics_;
  std::unique_ptr<Ingest> ingest_;
  std::unique_ptr<FinalizeJob> finalize_job_;
  std::unique_ptr<JobRunner> jobs_;
  std::unique_ptr<Accounts> accounts_;
  std::unique_ptr<Results> results_;
  int64_t last_retention_sweep_ = 0;
  httplib::Server http_;
};

}  // namespace recorder::server
