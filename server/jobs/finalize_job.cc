#include "jobs/finalize_job.h"

#include <spdlog/spdlog.h>

namespace recorder::server {

NewJob FinalizeJob::For(int64_t recording_id) { return RecordingJob(kKind, recording_id); }

JobResult FinalizeJob::Run(const Job& job) {
  const int64_t recording_id = job.subject.recording_id();
  auto recording = index_->GetRecording(recording_id);
  if (!recording.ok()) {
    if (recording.status().code() == StatusCode::kNotFound) return {};  // deleted meanwhile
    return JobResult::Retry(recording.status().ToString());
  }
  const std::string& key = recording->media_key;
  const int64_t now = clock_->NowSeconds();
  if (recording->status == RecordingStatus::kReady) {
    // Finished before a crash that came before the spool file was removed.
    (void)spool_->Remove(key);
    return {};
  }
  if (recording->status != RecordingStatus::kFinalizing) return {};  // failed or terminated meanwhile

  std::unique_ptr<ScratchFile> scratch;
  auto fail = [&](const std::string& reason) -> JobResult {
    spdlog::warn("recording {} failed to finalize, bytes kept in the spool: {}", recording_id, reason);
    if (scratch) (void)scratch->Discard();
    Status s = index_->MarkRecordingFailed(recording_id, reason, FailedEvent(*recording, reason), now);
    if (!s.ok()) return JobResult::Retry(s.ToString());
    metrics_->CountFinalize("failed");
    return JobResult::Failed(reason);
  };
  auto retry = [&](const Status& s) -> JobResult {
    spdlog::error("recording {}: finalize fault, will retry: {}", recording_id, s.ToString());
    metrics_->CountFinalize("retry");
    return JobResult::Retry(s.ToString());
  };
  auto crash = [&](std::string_view step) { return crash_hook_ && crash_hook_(step); };
  const JobResult kCrashed = JobResult::Retry("simulated crash");

  auto live = spool_->OpenReader(key);
  if (!live.ok()) {
    if (live.status().code() == StatusCode::kNotFound) return fail("the uploaded bytes are gone");
    return retry(live.status());
  }
  auto created = spool_->CreateScratch(key);
  if (!created.ok()) return retry(created.status());
  scratch = std::move(created.value());
  auto info = finalizer_->Finalize(**live, *scratch);
  if (!info.ok()) {
    StatusCode code = info.status().code();
    if (code == StatusCode::kIoError || code == StatusCode::kResourceExhausted) return retry(info.status());
    return fail(info.status().ToString());
  }
  if (crash("finalized")) return kCrashed;
  if (Status s = scratch->Sync(); !s.ok()) return retry(s);
  if (crash("synced")) return kCrashed;
  auto written = scratch->OpenReader();
  if (!written.ok()) return retry(written.status());
  if (Status s = finalizer_->Verify(**written, *info); !s.ok()) {
    return fail("finalized file did not verify: " + s.ToString());
  }
  if (crash("verified")) return kCrashed;
  const uint64_t bytes = scratch->size();
  if (Status s = media_->Put(key, *scratch); !s.ok()) return retry(s);
  if (crash("stored")) return kCrashed;
  const bool incomplete = recording->incomplete || info->truncated;
  std::vector<NewJob> next = follow_ups_ ? follow_ups_(recording_id) : std::vector<NewJob>{};
  if (webhooks_) {
    auto ready = webhooks_->Event("recording.ready", job.subject,
                                  {{"session_id", recording->session_id},
                                   {"recording_id", recording_id},
                                   {"kind", Name(recording->kind)},
                                   {"duration_ms", info->duration_ms},
                                   {"bytes", bytes},
                                   {"incomplete", incomplete}});
    if (!ready.ok()) return retry(ready.status());
    next.insert(next.end(), ready->begin(), ready->end());
  }
  if (Status s = index_->MarkRecordingReady(recording_id, bytes, info->duration_ms, incomplete, next, now); !s.ok()) {
    return retry(s);
  }
  if (crash("indexed")) return kCrashed;
  // The upload's bytes go only now that the finalized file is verified, durable and indexed.
  if (Status s = spool_->Remove(key); !s.ok()) spdlog::error("recording {}: {}", recording_id, s.ToString());
  metrics_->CountFinalize("ready");
  spdlog::debug("recording {}: {}", recording_id, key);
  spdlog::info("recording {} of session {} ready ({} bytes, {} ms{}{})", recording_id, recording->session_id, bytes,
               info->duration_ms, incomplete ? ", incomplete" : "",
               info->truncated ? ", truncated: " + info->truncation_reason : std::string());
  return {};
}

std::vector<NewJob> FinalizeJob::FailedEvent(const Recording& recording, const std::string& reason) const {
  if (!webhooks_) return {};
  auto failed = webhooks_->Event("recording.failed", JobSubject::Recording(recording.id),
                                 {{"session_id", recording.session_id},
                                  {"recording_id", recording.id},
                                  {"kind", Name(recording.kind)},
                                  {"failure_reason", reason}});
  // The index that cannot list the endpoints will hardly store the failure either.
  if (!failed.ok())
    spdlog::error("recording {}: recording.failed not queued: {}", recording.id, failed.status().ToString());
  return failed.ok() ? std::move(failed.value()) : std::vector<NewJob>{};
}

std::vector<NewJob> FinalizeJob::OnFailed(const Job& job, const std::string& error) {
  const int64_t recording_id = job.subject.recording_id();
  const std::string reason = std::string(kKind) + " failed: " + error;
  auto recording = index_->GetRecording(recording_id);
  Status s = recording.ok() ? index_->MarkRecordingFailed(recording_id, reason, FailedEvent(*recording, reason),
                                                          clock_->NowSeconds())
                            : recording.status();
  if (!s.ok()) spdlog::error("recording {}: cannot mark it failed: {}", job.subject.id, s.ToString());
  metrics_->CountFinalize("failed");
  return {};
}

}  // namespace recorder::server
