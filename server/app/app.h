// The composition root: the data folder, index, spool, media store, ingest, results, job runner,
// periodic sweeps and HTTP, assembled from a Config. main.cc and the in-process tests drive it the
// same way: Open, Bind, Listen (blocking), Stop from another thread.
#pragma once

#include <httplib.h>

#include <atomic>
#include <memory>
#include <string>

#include "app/config.h"
#include "base/metrics.h"
#include "index/index.h"
#include "ingest/ingest.h"
#include "jobs/finalize_job.h"
#include "jobs/finalizer.h"
#include "jobs/job_runner.h"
#include "jobs/periodic.h"
#include "jobs/session_settler.h"
#include "jobs/transcribe_job.h"
#include "results/accounts.h"
#include "results/results.h"
#include "storage/file_system.h"
#include "storage/media_store.h"
#include "storage/upload_store.h"

namespace recorder::server {

class App {
 public:
  // Refuses (FailedPrecondition / IoError, one-line message) when the data folder is not
  // writable or the database cannot be opened or migrated. Reconciles uploads with their files and
  // starts the job runner. `finalizer` null: the real WebM finalizer. `file_system` null: the
  // operating system's (tests pass a FaultInjectionFileSystem).
  static Result<std::unique_ptr<App>> Open(Config config, std::unique_ptr<Finalizer> finalizer = nullptr,
                                           FileSystem* file_system = nullptr);
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

  // Opens the index: PostgreSQL when `index_url` names it ("postgres://..." or "postgresql://..."),
  // else the data folder's SQLite file (DATA/.recorder/index.sqlite3), creating the folders when
  // they do not exist yet. Alone (no HTTP, no jobs) for the `admin` sub-commands, which may run
  // beside a serving process or before the first start.
  static Result<std::unique_ptr<Index>> OpenIndex(const std::string& data_dir, const std::string& index_url = "");

 private:
  explicit App(Config config) : config_(std::move(config)) {}
  Status Health();
  std::string MetricsText();
  void SweepRetention();
  void SettleSessions();

  Config config_;
  std::atomic<int> listen_fd_{-1};
  std::string api_key_;
  std::shared_ptr<const Clock> clock_;
  std::unique_ptr<Index> index_;
  PosixFileSystem posix_;
  FileSystem* fs_ = &posix_;
  std::unique_ptr<UploadStore> spool_;
  std::unique_ptr<MediaStore> media_;
  std::unique_ptr<Finalizer> finalizer_;
  Metrics metrics_;
  std::unique_ptr<Ingest> ingest_;
  std::unique_ptr<FinalizeJob> finalize_job_;
  std::unique_ptr<Transcriber> transcriber_;  // null: recordings are not transcribed
  std::unique_ptr<TranscribeJob> transcribe_job_;
  std::unique_ptr<Webhooks> webhooks_;
  std::unique_ptr<SessionSettler> settler_;
  std::unique_ptr<JobRunner> jobs_;
  std::unique_ptr<Accounts> accounts_;
  std::unique_ptr<Results> results_;
  int64_t last_retention_sweep_ = 0;
  // Declared after what they use: destroyed (stopped) first.
  std::unique_ptr<PeriodicTask> expiry_sweep_;
  std::unique_ptr<PeriodicTask> retention_sweep_;
  std::unique_ptr<PeriodicTask> settle_sweep_;
  httplib::Server http_;
};

}  // namespace recorder::server
