#include "jobs/transcribe_job.h"

#include <spdlog/spdlog.h>

#include <chrono>

namespace recorder::server {

NewJob TranscribeJob::For(int64_t recording_id) { return RecordingJob(kKind, recording_id); }

JobResult TranscribeJob::Run(const Job& job) {
  const int64_t recording_id = job.subject.recording_id();
  auto recording = recordings_->GetRecording(recording_id);
  if (!recording.ok()) {
    if (recording.status().code() == StatusCode::kNotFound) return {};  // deleted meanwhile
    return JobResult::Retry(recording.status().ToString());
  }
  if (recording->status != RecordingStatus::kReady) return {};  // only a ready recording is queued
  const std::string key = recording->media_key;
  bool has_audio = true;
  AudioSource audio = [&](const webm::PcmSink& sink) -> Status {
    auto reader = media_->Open(key);
    if (!reader.ok()) return reader.status();
    auto decoded = webm::DecodeOpusAudio(**reader, kTranscribeSampleRate, sink);
    if (!decoded.ok() && decoded.status().code() == StatusCode::kNotFound) {
      has_audio = false;
      return Status::Ok();
    }
    return decoded.ok() ? Status::Ok() : decoded.status();
  };
  const auto started = std::chrono::steady_clock::now();
  auto transcript = engine_->Transcribe(audio);
  if (!transcript.ok()) {
    const StatusCode code = transcript.status().code();
    if (code == StatusCode::kIoError || code == StatusCode::kResourceExhausted) {
      return JobResult::Retry(transcript.status().ToString());
    }
    const std::string error =
        code == StatusCode::kNotFound ? "the recording's media is gone" : transcript.status().ToString();
    return JobResult::Failed(error, OnFailed(job, error));
  }
  if (!has_audio) {
    spdlog::info("recording {}: no audio track, nothing to transcribe", recording_id);
    return {};
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  transcript->segments = CaptionSizedSegments(std::move(transcript->segments));
  size_t words = 0;
  for (const TranscriptSegment& segment : transcript->segments) words += segment.words.size();
  auto completed = Event("transcript.completed", recording_id,
                         {{"session_id", recording->session_id},
                          {"engine", transcript->engine},
                          {"language", transcript->language},
                          {"audio_seconds", transcript->audio_seconds},
                          {"segments", transcript->segments.size()},
                          {"words", words}});
  if (!completed.ok()) return JobResult::Retry(completed.status().ToString());
  if (Status s = transcripts_->PutTranscript(recording_id, *transcript, *completed, clock_->NowSeconds()); !s.ok()) {
    if (s.code() == StatusCode::kNotFound) return {};  // deleted meanwhile
    return JobResult::Retry(s.ToString());
  }
  // The pipeline's one summary line: each stage's share of the time from the upload's start.
  const int64_t now = clock_->NowSeconds();
  spdlog::info(
      "recording {} pipeline completed: {} s from upload start to ready, {} s from ready to transcript; transcribed "
      "by {}: {:.1f} s of audio, {} segments, {} words in {:.1f} s (real-time factor {:.2f})",
      recording_id, recording->finalized_at - recording->created_at, now - recording->finalized_at, transcript->engine,
      transcript->audio_seconds, transcript->segments.size(), words, seconds,
      transcript->audio_seconds > 0 ? seconds / transcript->audio_seconds : 0.0);
  return {};
}

Result<std::vector<NewJob>> TranscribeJob::Event(const std::string& type, int64_t recording_id,
                                                 nlohmann::json data) const {
  if (!webhooks_) return std::vector<NewJob>{};
  data["recording_id"] = recording_id;
  return webhooks_->Event(type, JobSubject::Recording(recording_id), std::move(data));
}

std::vector<NewJob> TranscribeJob::OnFailed(const Job& job, const std::string& error) {
  const int64_t recording_id = job.subject.recording_id();
  auto recording = recordings_->GetRecording(recording_id);
  if (!recording.ok()) return {};  // deleted: nobody to tell
  auto failed = Event("transcript.failed", recording_id, {{"session_id", recording->session_id}, {"error", error}});
  if (!failed.ok())
    spdlog::error("recording {}: transcript.failed not queued: {}", recording_id, failed.status().ToString());
  return failed.ok() ? std::move(failed.value()) : std::vector<NewJob>{};
}

}  // namespace recorder::server
