// The "finalize" job: a recording's live spool file -> seekable scratch file -> synced -> verified
// -> put in the media store -> index says ready (and queues what follows) -> spool file removed.
// A broken upload is marked failed with the reason and its spool file kept. Idempotent: after a
// crash at any step, running it again ends in the same state (tests/server/jobs_test.cc crashes it
// at each step).
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/metrics.h"
#include "index/ingest_index.h"
#include "jobs/finalizer.h"
#include "jobs/job_runner.h"
#include "jobs/webhooks.h"
#include "storage/media_store.h"
#include "storage/upload_store.h"

namespace recorder::server {

class FinalizeJob {
 public:
  static constexpr const char* kKind = "finalize";
  // The job for one recording; its dedupe key makes a second enqueue a no-op.
  static NewJob For(int64_t recording_id);

  // What a ready recording goes on to (its transcription), queued in the transaction that marks it
  // ready. Empty: nothing.
  using FollowUps = std::function<std::vector<NewJob>(int64_t recording_id)>;

  // `webhooks` (may be null): recording.ready and recording.failed go out with the state change.
  FinalizeJob(IngestIndex* index, UploadStore* spool, MediaStore* media, Finalizer* finalizer, const Clock* clock,
              Metrics* metrics, FollowUps follow_ups = {}, const Webhooks* webhooks = nullptr)
      : index_(index),
        spool_(spool),
        media_(media),
        finalizer_(finalizer),
        clock_(clock),
        metrics_(metrics),
        follow_ups_(std::move(follow_ups)),
        webhooks_(webhooks) {}

  JobResult Run(const Job& job);
  // For JobKindOptions::on_failed: the recording fails with the job (and its webhook is queued
  // with that); nothing more to enqueue.
  std::vector<NewJob> OnFailed(const Job& job, const std::string& error);

  // Tests: before each step ("finalized", "synced", "verified", "stored", "indexed") the hook is
  // asked; true stops Run() right there, without any clean-up, as if the process died.
  void set_crash_hook_for_test(std::function<bool(std::string_view step)> hook) { crash_hook_ = std::move(hook); }

 private:
  IngestIndex* index_;
  UploadStore* spool_;
  MediaStore* media_;
  Finalizer* finalizer_;
  const Clock* clock_;
  Metrics* metrics_;
  FollowUps follow_ups_;
  const Webhooks* webhooks_;
  std::function<bool(std::string_view)> crash_hook_;

  // recording.failed, to queue with the recording's failure.
  std::vector<NewJob> FailedEvent(const Recording& recording, const std::string& reason) const;
};

}  // namespace recorder::server
