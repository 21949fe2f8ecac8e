#include "jobs/job_runner.h"

#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <random>

namespace recorder::server {

JobRunner::JobRunner(Options options, JobQueue* queue, const Clock* clock, Metrics* metrics)
    : options_(std::move(options)),
      queue_(queue),
      clock_(clock),
      metrics_(metrics),
      owner_prefix_(options_.node_id + "/") {}

JobRunner::~JobRunner() { Stop(); }

void JobRunner::Register(const std::string& kind, JobKindOptions options, JobHandler handler) {
  kinds_[kind] = std::make_unique<Kind>(Kind{kind, std::move(options), std::move(handler)});
}

int64_t JobRunner::BackoffSeconds(const JobKindOptions& options, int attempts) {
  int64_t delay = options.retry_base_seconds;
  for (int i = 1; i < attempts && delay < options.retry_max_seconds; ++i) delay *= 2;
  return std::min(delay, options.retry_max_seconds);
}

Status JobRunner::Start() {
  auto released = queue_->ReleaseLeases(owner_prefix_, clock_->NowSeconds());
  if (!released.ok()) return released.status();
  if (*released > 0) spdlog::info("{} jobs interrupted by this node's last stop are due again", *released);
  for (auto& [name, kind] : kinds_) {
    for (int i = 0; i < kind->options.concurrency; ++i)
      threads_.emplace_back([this, k = kind.get(), i] { Work(k, i); });
  }
  threads_.emplace_back([this] { Heartbeat(); });
  return Status::Ok();
}

void JobRunner::Wake(const std::string& kind) {
  {
    std::lock_guard lock(mu_);
    auto it = kinds_.find(kind);
    if (it == kinds_.end()) return;
    it->second->woken = true;
  }
  cv_.notify_all();
}

void JobRunner::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

void JobRunner::Work(Kind* kind, int worker) {
  // The pid tells this process's leases from an earlier run's of the same node.
  const std::string owner =
      owner_prefix_ + std::to_string(::getpid()) + "/" + kind->name + "#" + std::to_string(worker);
  const int64_t lease = kind->options.lease_seconds;
  // Linux gives each thread its own nice value (setpriority on the thread id).
  if (kind->options.nice != 0 && ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), kind->options.nice) != 0) {
    spdlog::warn("jobs: cannot lower the priority of the {} workers", kind->name);
  }
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      kind->woken = false;
    }
    auto claimed = queue_->ClaimJob(kind->name, owner, clock_->NowSeconds(), lease);
    if (!claimed.ok()) spdlog::error("jobs: cannot claim a {} job: {}", kind->name, claimed.status().ToString());
    if (claimed.ok() && claimed->has_value()) {
      const Job job = **claimed;
      {
        std::lock_guard lock(mu_);
        running_[job.id] = {job, lease};
      }
      auto started = std::chrono::steady_clock::now();
      JobResult result;
      if (job.attempts > kind->options.max_attempts) {
        // Claimed again after its lease ran out max_attempts times: each start killed its worker.
        result = JobResult::Failed("crashed the worker: started " + std::to_string(job.attempts - 1) +
                                   " times without finishing");
        if (kind->options.on_failed) result.follow_ups = kind->options.on_failed(job, result.error);
      } else {
        result = kind->handler(job);
      }
      double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      {
        std::lock_guard lock(mu_);
        running_.erase(job.id);
      }
      Finish(*kind, job, std::move(result), seconds);
      continue;  // there may be more due
    }
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::milliseconds(options_.poll_ms), [&] { return stopping_ || kind->woken; });
  }
}

void JobRunner::Finish(Kind& kind, const Job& job, JobResult result, double seconds) {
  const int64_t now = clock_->NowSeconds();
  const std::string subject =
      job.subject.type == SubjectType::kNone ? "" : " of " + std::string(Name(job.subject.type)) + " " + job.subject.id;
  Status s;
  const char* outcome = "done";
  if (result.outcome == JobOutcome::kDone) {
    s = queue_->CompleteJob(job, result.follow_ups, now);
  } else if (result.outcome == JobOutcome::kRetry && job.attempts < kind.options.max_attempts) {
    outcome = "retry";
    int64_t delay = BackoffSeconds(kind.options, job.attempts);
    // Jitter spreads the retries of jobs that failed together (a peer that was down for all).
    static thread_local std::mt19937_64 random{std::random_device{}()};
    delay = delay / 2 + static_cast<int64_t>(random() % static_cast<uint64_t>(delay / 2 + 1));
    spdlog::warn("job {} ({}{}) attempt {} failed, retry in {} s: {}", job.id, job.kind, subject, job.attempts, delay,
                 result.error);
    s = queue_->RetryJob(job, now + delay, result.error, now);
  } else {
    outcome = "failed";
    if (result.outcome == JobOutcome::kRetry && kind.options.on_failed) {
      result.follow_ups = kind.options.on_failed(job, result.error);
    }
    // A handler's kFailed is the input's fault (logged by the handler); retries that ran out are ours.
    spdlog::log(result.outcome == JobOutcome::kFailed ? spdlog::level::info : spdlog::level::err,
                "job {} ({}{}) failed after {} attempts: {}", job.id, job.kind, subject, job.attempts, result.error);
    s = queue_->FailJob(job, result.error, result.follow_ups, now);
  }
  metrics_->ObserveJob(job.kind, outcome, seconds);
  if (s.code() == StatusCode::kConflict) {
    spdlog::warn("job {} ({}): its lease was taken over while it ran; its result is dropped", job.id, job.kind);
  } else if (!s.ok()) {
    spdlog::error("job {} ({}): cannot record its result: {}", job.id, job.kind, s.ToString());
  }
}

void JobRunner::Heartbeat() {
  int64_t shortest = 60;
  for (const auto& [name, kind] : kinds_) shortest = std::min(shortest, kind->options.lease_seconds);
  const auto interval = std::chrono::milliseconds(std::max<int64_t>(shortest * 1000 / 3, 100));
  std::unique_lock lock(mu_);
  while (!cv_.wait_for(lock, interval, [&] { return stopping_; })) {
    auto running = running_;
    lock.unlock();
    const int64_t now = clock_->NowSeconds();
    for (const auto& [id, entry] : running) {
      Status s = queue_->ExtendLease(entry.first, now + entry.second);
      if (!s.ok()) spdlog::warn("job {} ({}): cannot extend its lease: {}", id, entry.first.kind, s.ToString());
    }
    lock.lock();
  }
}

}  // namespace recorder::server
