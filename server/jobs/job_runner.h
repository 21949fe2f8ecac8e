// Runs the durable job queue's jobs: for each kind a pool of worker threads of its own size (a
// transcription never delays a finalize), leases extended by a heartbeat while a handler runs,
// retries with exponential backoff and jitter, and a cap on attempts. A job whose process died is
// taken again once its lease expires (by any process sharing the queue) or, on this node, at the
// next start; one started more times than allowed without finishing is failed ("crashed the
// worker") instead of being retried forever.
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "base/metrics.h"
#include "index/job_queue.h"

namespace recorder::server {

// kRetry: a transient fault (I/O, a peer that did not answer); the job runs again later.
// kFailed: retrying cannot help; the handler has recorded why where it matters.
enum class JobOutcome { kDone, kRetry, kFailed };

struct JobResult {
  JobOutcome outcome = JobOutcome::kDone;
  std::string error;
  // Enqueued with the job's completion or its failure for good, in one transaction.
  std::vector<NewJob> follow_ups;

  static JobResult Done(std::vector<NewJob> follow_ups = {}) { return {JobOutcome::kDone, "", std::move(follow_ups)}; }
  static JobResult Retry(std::string error) { return {JobOutcome::kRetry, std::move(error), {}}; }
  static JobResult Failed(std::string error, std::vector<NewJob> follow_ups = {}) {
    return {JobOutcome::kFailed, std::move(error), std::move(follow_ups)};
  }
};

using JobHandler = std::function<JobResult(const Job& job)>;

struct JobKindOptions {
  int concurrency = 1;             // worker threads for this kind
  int max_attempts = 5;            // starts, the first included
  int64_t retry_base_seconds = 2;  // the n-th retry waits about base * 2^(n-1), at most retry_max_seconds
  int64_t retry_max_seconds = 3600;
  int64_t lease_seconds = 60;  // extended every lease/3 while the handler runs
  // The workers' nice value: a kind that needs minutes of CPU (transcription) runs on what the
  // uploads leave, so that ingest latency does not follow it.
  int nice = 0;
  // Called when a job fails for good without its handler saying so: retries exhausted, or started
  // max_attempts times without finishing. Returns jobs to enqueue with the failure (a webhook that
  // reports it). The finalize job marks its recording failed here.
  std::function<std::vector<NewJob>(const Job& job, const std::string& error)> on_failed;
};

class JobRunner {
 public:
  struct Options {
    // Names this process's leases. Unique among the processes that share the queue and the same
    // across restarts of one node, so that a restart takes its dead predecessor's jobs back at once.
    std::string node_id = "local";
    int poll_ms = 1000;  // how often an idle worker looks for due jobs
  };

  JobRunner(Options options, JobQueue* queue, const Clock* clock, Metrics* metrics);
  ~JobRunner();

  // REQUIRES: before Start().
  void Register(const std::string& kind, JobKindOptions options, JobHandler handler);
  // Takes back the leases an earlier run of this node left, then starts the workers.
  Status Start();
  // A job of `kind` may be due: an idle worker looks now rather than at its next poll.
  void Wake(const std::string& kind);
  // Stops taking jobs and waits for the running ones to finish. Idempotent.
  void Stop();

  // The delay before retry number `attempts` (>= 1), before jitter.
  static int64_t BackoffSeconds(const JobKindOptions& options, int attempts);

 private:
  struct Kind {
    std::string name;
    JobKindOptions options;
    JobHandler handler;
    bool woken = false;  // guarded by mu_
  };

  void Work(Kind* kind, int worker);
  void Heartbeat();
  void Finish(Kind& kind, const Job& job, JobResult result, double seconds);

  Options options_;
  JobQueue* queue_;
  const Clock* clock_;
  Metrics* metrics_;
  std::string owner_prefix_;  // node_id + "/"
  std::map<std::string, std::unique_ptr<Kind>> kinds_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::map<int64_t, std::pair<Job, int64_t>> running_;  // job id -> (job, lease seconds); guarded by mu_
  std::vector<std::thread> threads_;
};

}  // namespace recorder::server
