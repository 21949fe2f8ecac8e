#include "jobs.h"

#include <spdlog/spdlog.h>

#include "names.h"

namespace recorder::server {

JobResult FinalizeJob::Run(int64_t recording_id) {
  auto recording = index_->GetRecording(recording_id);
  if (!recording.ok()) return {JobOutcome::kRetry, recording.status().ToString()};
  const std::string& final_path = recording->path;
  const std::string part = final_path + std::string(kPartSuffix);
  const std::string temp = final_path + ".finalizing";
  int64_t now = clock_->NowSeconds();

  if (recording->status == "ready") {
    // Finished before a crash that came before the .part was removed.
    (void)store_->Remove(part);
    return {};
  }
  if (!store_->Exists(part) && store_->Exists(final_path)) {
    return {JobOutcome::kRetry, "recording " + std::to_string(recording_id) + " has a final file but is not ready"};
  }
  auto fail = [&](const std::string& reason) -> JobResult {
    spdlog::warn("recording {} failed to finalize, bytes kept in its .part file: {}", recording_id, reason);
    (void)store_->Remove(temp);
    Status s = index_->MarkRecordingFailed(recording_id, reason, now);
    if (!s.ok()) return {JobOutcome::kRetry, s.ToString()};
    metrics_->CountFinalize("failed");
    return {JobOutcome::kFailed, reason};
  };
  auto retry = [&](const Status& s) -> JobResult {
    spdlog::error("recording {}: finalize fault, will retry: {}", recording_id, s.ToString());
    metrics_->CountFinalize("retry");
    return {JobOutcome::kRetry, s.ToString()};
  };

  auto live = store_->AbsolutePath(part);
  auto seekable = store_->AbsolutePath(temp);
  if (!live.ok()) return retry(live.status());
  if (!seekable.ok()) return retry(seekable.status());
  auto info = finalizer_->Finalize(*live, *seekable);
  if (!info.ok()) {
    StatusCode code = info.status().code();
    if (code == StatusCode::kIoError || code == StatusCode::kResourceExhausted) return retry(info.status());
    return fail(info.status().ToString());
  }
  Status verified = finalizer_->Verify(*seekable, *info);
  if (!verified.ok()) return fail("finalized file did not verify: " + verified.ToString());
  if (Status s = store_->Sync(temp); !s.ok()) return retry(s);
  if (Status s = store_->Rename(temp, final_path); !s.ok()) return retry(s);
  auto bytes = store_->Size(final_path);
  if (!bytes.ok()) return retry(bytes.status());
  bool incomplete = recording->incomplete || info->truncated;
  if (Status s = index_->MarkRecordingReady(recording_id, *bytes, info->duration_ms, incomplete, now); !s.ok()) {
    return retry(s);
  }
  // The original goes only now that the new file is verified, durable and indexed.
  if (Status s = store_->Remove(part); !s.ok()) spdlog::error("recording {}: {}", recording_id, s.ToString());
  metrics_->CountFinalize("ready");
  spdlog::debug("recording {}: {}", recording_id, final_path);
  spdlog::info("recording {} of session {} ready ({} bytes, {} ms{}{})", recording_id, recording->session_id, *bytes,
               info->duration_ms, incomplete ? ", incomplete" : "",
               info->truncated ? ", truncated: " + info->truncation_reason : std::string());
  return {};
}

JobRunner::JobRunner(Options options, Index* index, const Clock* clock, std::function<void()> periodic)
    : options_(options), index_(index), clock_(clock), periodic_(std::move(periodic)) {}

JobRunner::~JobRunner() { Stop(); }

void JobRunner::Register(const std::string& kind, Handler handler) { handlers_[kind] = std::move(handler); }

Status JobRunner::Start() {
  auto requeued = index_->RequeueRunningJobs();
  if (!requeued.ok()) return requeued.status();
  if (*requeued > 0) spdlog::info("{} jobs interrupted by the last stop are pending again", *requeued);
  thread_ = std::thread([this] { Loop(); });
  return Status::Ok();
}

void JobRunner::Wake() {
  {
    std::lock_guard lock(mu_);
    woken_ = true;
  }
  cv_.notify_one();
}

void JobRunner::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void JobRunner::Loop() {
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (stop_) return;
      woken_ = false;
    }
    if (periodic_) periodic_();
    while (RunOne()) {
      std::lock_guard lock(mu_);
      if (stop_) return;
    }
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::milliseconds(options_.poll_ms), [&] { return stop_ || woken_; });
  }
}

bool JobRunner::RunOne() {
  auto claimed = index_->ClaimJob(clock_->NowSeconds());
  if (!claimed.ok()) {
    spdlog::error("cannot claim a job: {}", claimed.status().ToString());
    return false;
  }
  if (!claimed->has_value()) return false;
  const Job job = **claimed;
  auto handler = handlers_.find(job.kind);
  JobResult result = handler == handlers_.end()
                         ? JobResult{JobOutcome::kFailed, "no handler for job kind " + job.kind}
                         : handler->second(job);
  int64_t now = clock_->NowSeconds();
  Status s;
  if (result.outcome == JobOutcome::kDone) {
    s = index_->CompleteJob(job.id, now);
  } else if (result.outcome == JobOutcome::kRetry && job.attempts < options_.max_attempts) {
    int64_t delay = int64_t{options_.retry_base_seconds} << (job.attempts - 1);
    spdlog::warn("job {} ({} of recording {}) attempt {} failed, retry in {} s: {}", job.id, job.kind,
                 job.recording_id, job.attempts, delay, result.error);
    s = index_->RetryJob(job.id, now + delay, result.error);
  } else {
    // A broken upload is the client's data, logged by the handler; a fault that outlived its
    // retries is ours.
    spdlog::log(result.outcome == JobOutcome::kFailed ? spdlog::level::info : spdlog::level::err,
                "job {} ({} of recording {}) failed after {} attempts: {}", job.id, job.kind, job.recording_id,
                job.attempts, result.error);
    s = index_->FailJob(job.id, result.error, now);
    if (result.outcome == JobOutcome::kRetry) {
      (void)index_->MarkRecordingFailed(job.recording_id, job.kind + " failed: " + result.error, now);
    }
  }
  if (!s.ok()) spdlog::error("job {}: cannot record its result: {}", job.id, s.ToString());
  return true;
}

}  // namespace recorder::server
