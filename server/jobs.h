// The durable job queue's runner: one thread that claims due jobs from the index and runs them.
// Jobs survive restarts: a job that was running when the process died is pending again at start.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "clock.h"
#include "finalizer.h"
#include "index.h"
#include "metrics.h"
#include "upload_store.h"

namespace recorder::server {

// What a job handler reports. kRetry: a transient fault (I/O), the job runs again later.
// kFailed: retrying cannot help; the handler has recorded why on the recording.
enum class JobOutcome { kDone, kRetry, kFailed };
struct JobResult {
  JobOutcome outcome = JobOutcome::kDone;
  std::string error;
};

// The "finalize" job: live .part -> seekable temp file -> verified -> fsync -> rename to the
// final .webm -> index says ready -> .part deleted. A broken upload is marked failed with the
// reason and its .part kept. Idempotent: safe to run again after a crash at any step.
class FinalizeJob {
 public:
  FinalizeJob(Index* index, UploadStore* store, Finalizer* finalizer, const Clock* clock, Metrics* metrics)
      : index_(index), store_(store), finalizer_(finalizer), clock_(clock), metrics_(metrics) {}
  JobResult Run(int64_t recording_id);

 private:
  Index* index_;
  UploadStore* store_;
  Finalizer* finalizer_;
  const Clock* clock_;
  Metrics* metrics_;
};

class JobRunner {
 public:
  using Handler = std::function<JobResult(const Job& job)>;
  struct Options {
    int poll_ms = 1000;     // also how often `periodic` runs
    int max_attempts = 5;   // then the job is failed
    int retry_base_seconds = 2;
  };
  // `periodic` runs on the runner thread every poll (used to finalize expired uploads).
  JobRunner(Options options, Index* index, const Clock* clock, std::function<void()> periodic);
  ~JobRunner();

  void Register(const std::string& kind, Handler handler);
  // Requeues jobs left running by a previous process, then starts the thread.
  Status Start();
  void Wake();
  void Stop();

 private:
  void Loop();
  // Runs one due job; false when none was due.
  bool RunOne();

  Options options_;
  Index* index_;
  const Clock* clock_;
  std::function<void()> periodic_;
  std::map<std::string, Handler> handlers_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool woken_ = false;
  std::thread thread_;
};

}  // namespace recorder::server
