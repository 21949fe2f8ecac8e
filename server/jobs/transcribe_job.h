// The "transcribe" job, queued when a recording is ready: its Opus track decoded from the media
// store, transcribed by the configured engine, and the transcript stored in the index (replacing
// any earlier one, so a run repeated after a crash leaves one). A recording without audio (a screen
// recording) ends with no transcript. Engine faults that may pass (an HTTP engine that did not
// answer, I/O) are retried; audio the engine refuses fails the job with the reason.
#pragma once

#include "base/clock.h"
#include "base/metrics.h"
#include "index/ingest_index.h"
#include "index/transcript_index.h"
#include "jobs/job_runner.h"
#include "jobs/webhooks.h"
#include "storage/media_store.h"
#include "transcribe/transcriber.h"

namespace recorder::server {

class TranscribeJob {
 public:
  static constexpr const char* kKind = "transcribe";
  // The job for one recording; its dedupe key makes a second enqueue a no-op.
  static NewJob For(int64_t recording_id);

  // `webhooks` (may be null): transcript.completed and transcript.failed go out with the outcome.
  TranscribeJob(IngestIndex* recordings, TranscriptIndex* transcripts, MediaStore* media, Transcriber* engine,
                const Clock* clock, const Webhooks* webhooks = nullptr)
      : recordings_(recordings),
        transcripts_(transcripts),
        media_(media),
        engine_(engine),
        clock_(clock),
        webhooks_(webhooks) {}

  JobResult Run(const Job& job);
  // For JobKindOptions::on_failed (retries ran out): transcript.failed, queued with the failure.
  std::vector<NewJob> OnFailed(const Job& job, const std::string& error);

 private:
  IngestIndex* recordings_;
  TranscriptIndex* transcripts_;
  MediaStore* media_;
  Transcriber* engine_;
  const Clock* clock_;
  const Webhooks* webhooks_;

  Result<std::vector<NewJob>> Event(const std::string& type, int64_t recording_id, nlohmann::json data) const;
};

}  // namespace recorder::server
