#include "results/results.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>

#include "ingest/tus_protocol.h"
#include "jobs/finalize_job.h"
#include "jobs/webhooks.h"
#include "webm/finalize.h"

namespace recorder::server {

std::optional<uint64_t> RecordingMetadataNumber(const Recording& recording, const char* key) {
  auto metadata = tus::ParseMetadata(recording.upload_metadata);
  if (!metadata) return std::nullopt;
  auto it = metadata->find(key);
  uint64_t value;
  if (it == metadata->end() || !tus::ParseUnsigned(it->second, &value)) return std::nullopt;
  return value;
}

int64_t SessionOffsetMs(const Recording& recording) {
  return static_cast<int64_t>(RecordingMetadataNumber(recording, "start_ms").value_or(0));
}

Expected<SessionPage> Results::List(const SessionFilter& filter) {
  auto page = index_->ListSessions(filter);
  if (!page.ok()) return InternalError(page.status());
  return page.value();
}

Expected<SessionSummary> Results::Get(const std::string& session_id) {
  auto summary = index_->GetSessionSummary(session_id);
  if (!summary.ok()) {
    if (summary.status().code() == StatusCode::kNotFound) return Err::kSessionNotFound;
    return InternalError(summary.status());
  }
  return summary.value();
}

Expected<std::vector<SessionEvent>> Results::Markers(const std::string& session_id) {
  auto events = recordings_->SessionEvents(session_id);
  if (!events.ok()) return InternalError(events.status());
  return events.value();
}

Expected<SessionTranscript> Results::Transcripts(const std::string& session_id) {
  auto session = Get(session_id);
  if (!session.ok()) return session.error();
  auto markers = Markers(session_id);
  if (!markers.ok()) return markers.error();
  SessionTranscript out;
  for (Recording& recording : session->recordings) {
    RecordingTranscript item{std::move(recording), std::nullopt};
    auto transcript = transcripts_->GetTranscript(item.recording.id);
    if (transcript.ok()) {
      item.transcript = std::move(transcript.value());
    } else if (transcript.status().code() != StatusCode::kNotFound) {
      return InternalError(transcript.status());
    }
    out.recordings.push_back(std::move(item));
  }
  out.answers = SplitByQuestion(session->questions, markers.value(), out.recordings);
  return out;
}

Expected<MediaFile> Results::Media(int64_t recording_id) {
  auto recording = recordings_->GetRecording(recording_id);
  if (!recording.ok()) {
    if (recording.status().code() == StatusCode::kNotFound) return Err::kRecordingNotFound;
    return InternalError(recording.status());
  }
  if (recording->status != RecordingStatus::kReady) {
    return ApiError{Err::kRecordingNotReady, "status is " + std::string(Name(recording->status))};
  }
  auto reader = media_->Open(recording->media_key);
  if (!reader.ok()) {
    spdlog::error("recording {} is ready but its media cannot be opened: {}", recording_id, reader.status().ToString());
    if (reader.status().code() == StatusCode::kNotFound)
      return ApiError{Err::kRecordingNotReady, "the file is missing"};
    return InternalError(reader.status());
  }
  auto siblings = recordings_->RecordingsOfSession(recording->session_id);
  if (!siblings.ok()) return InternalError(siblings.status());
  auto order = [](const Recording& r) { return std::pair(RecordingMetadataNumber(r, "part").value_or(0), r.id); };
  int rank = 1;
  for (const Recording& other : *siblings) rank += other.kind == recording->kind && order(other) < order(*recording);
  // The file name says which track and part it is; the session id, not the candidate's name,
  // identifies it.
  std::string name = "interview_" + recording->session_id;
  if (recording->kind != RecordingKind::kCamera) name += "_" + std::string(Name(recording->kind));
  if (rank > 1) name += "_part" + std::to_string(rank);
  return MediaFile{recording->session_id, std::move(reader.value()), name + ".webm"};
}

std::vector<std::string> SearchWords(const std::string& text) {
  constexpr size_t kMaxWords = 10, kMaxWordBytes = 64;
  std::vector<std::string> words;
  std::string word;
  auto flush = [&] {
    if (!word.empty() && words.size() < kMaxWords) words.push_back(word.substr(0, kMaxWordBytes));
    word.clear();
  };
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (std::isalnum(byte) || byte >= 0x80) {
      word += c;
    } else {
      flush();
    }
  }
  flush();
  return words;
}

Expected<TranscriptSearch> Results::SearchTranscripts(const std::string& text, int limit) {
  TranscriptSearch out;
  out.words = SearchWords(text);
  if (out.words.empty()) return ApiError{Err::kBadRequest, "q: give words to search the transcripts for"};
  auto hits = transcripts_->SearchTranscripts(out.words, limit);
  if (!hits.ok()) return InternalError(hits.status());
  // Each hit's session once: its candidate, and its answers' windows on the session clock.
  struct SessionInfo {
    std::string candidate_name;
    size_t first_answer = 0, answers = 0;
  };
  std::map<std::string, SessionInfo> sessions;
  for (const SegmentHit& hit : hits.value()) {
    auto recording = recordings_->GetRecording(hit.recording_id);
    if (!recording.ok()) continue;  // deleted since
    auto [it, fresh] = sessions.try_emplace(recording->session_id);
    if (fresh) {
      auto session = Get(recording->session_id);
      auto markers = Markers(recording->session_id);
      if (!session.ok() || !markers.ok()) {
        sessions.erase(it);
        continue;
      }
      std::vector<Answer> answers = SplitByQuestion(session->questions, markers.value(), {});
      it->second = {session->candidate_name, out.answers.size(), answers.size()};
      std::move(answers.begin(), answers.end(), std::back_inserter(out.answers));
    }
    const int64_t offset = SessionOffsetMs(*recording);
    out.hits.push_back({recording->session_id, it->second.candidate_name, hit.recording_id, recording->kind,
                        offset + hit.segment.start_ms, offset + hit.segment.end_ms, hit.segment.text, std::nullopt});
  }
  for (TranscriptHit& hit : out.hits) {
    const SessionInfo& info = sessions.at(hit.session_id);
    const int64_t middle = (hit.start_ms + hit.end_ms) / 2;
    for (size_t i = info.first_answer; i < info.first_answer + info.answers; ++i) {
      const Answer& answer = out.answers[i];
      if (answer.start_ms && middle >= *answer.start_ms && middle < answer.end_ms.value_or(INT64_MAX)) {
        hit.answer = i;
      }
    }
  }
  return out;
}

Expected<std::vector<JobRecord>> Results::Deliveries(int limit) {
  auto jobs = jobs_->JobsOfKind(Webhooks::kKind, limit);
  if (!jobs.ok()) return InternalError(jobs.status());
  return jobs.value();
}

Expected<bool> Results::ResendDelivery(int64_t delivery_id, const std::string& actor) {
  Status s = jobs_->RetryFailedJob(delivery_id, Webhooks::kKind, clock_->NowSeconds());
  if (s.code() == StatusCode::kNotFound) return Err::kDeliveryNotFound;
  if (s.code() == StatusCode::kFailedPrecondition) return ApiError{Err::kDeliveryNotFailed, s.message()};
  if (!s.ok()) return InternalError(s);
  if (Status a = Audit(actor, "resend_webhook", "job:" + std::to_string(delivery_id)); !a.ok()) {
    spdlog::error("webhook delivery {}: the resend is not in the audit log: {}", delivery_id, a.ToString());
  }
  if (wake_) wake_(Webhooks::kKind);
  return true;
}

Expected<std::vector<JobRecord>> Results::Stages(int64_t recording_id) {
  auto jobs = jobs_->JobsOf(JobSubject::Recording(recording_id));
  if (!jobs.ok()) return InternalError(jobs.status());
  return jobs.value();
}

Expected<JobRecord> Results::RetryStage(int64_t recording_id, const std::string& stage, const std::string& actor) {
  auto recording = recordings_->GetRecording(recording_id);
  if (!recording.ok()) {
    if (recording.status().code() == StatusCode::kNotFound) return Err::kRecordingNotFound;
    return InternalError(recording.status());
  }
  auto stages = Stages(recording_id);
  if (!stages.ok()) return stages.error();
  auto job = std::find_if(stages->begin(), stages->end(), [&](const JobRecord& j) { return j.kind == stage; });
  if (job == stages->end()) return ApiError{Err::kStageNotFound, "no stage '" + stage.substr(0, 40) + "'"};
  if (job->state != JobState::kFailed) {
    return ApiError{Err::kStageNotFailed, "the stage is " + std::string(Name(job->state))};
  }
  const int64_t now = clock_->NowSeconds();
  // A failed finalize failed its recording; the recording goes back to finalizing with the job.
  Status revived = stage == FinalizeJob::kKind ? recordings_->RefinalizeRecording(recording_id, job->id, now)
                                               : jobs_->RetryFailedJob(job->id, job->kind, now);
  // Another admin's retry got there first.
  if (revived.code() == StatusCode::kFailedPrecondition) return ApiError{Err::kStageNotFailed, revived.message()};
  if (!revived.ok()) return InternalError(revived);
  nlohmann::json detail = {{"stage", stage}, {"last_error", job->last_error}};
  if (Status s = Audit(actor, "retry_stage", "recording:" + std::to_string(recording_id), detail.dump()); !s.ok()) {
    spdlog::error("recording {}: the retry of {} is not in the audit log: {}", recording_id, stage, s.ToString());
  }
  spdlog::info("recording {}: {} retries its {} stage", recording_id, actor, stage);
  if (wake_) wake_(stage);
  job->state = JobState::kPending;
  job->attempts = 0;
  job->next_run_at = job->updated_at = now;
  return *job;
}

Expected<MediaFile> Results::AnswerClip(const std::string& session_id, int number) {
  auto session = Get(session_id);
  if (!session.ok()) return session.error();
  auto markers = Markers(session_id);
  if (!markers.ok()) return markers.error();
  const std::vector<Answer> answers = SplitByQuestion(session->questions, markers.value(), {});
  if (number < 1 || number > static_cast<int>(answers.size()) || !answers[number - 1].start_ms) {
    return ApiError{Err::kAnswerNotFound, "question " + std::to_string(number) + " was not asked"};
  }
  const Answer& answer = answers[number - 1];
  // The part of the candidate's voice (camera, else audio) that holds the answer's start.
  const Recording* part = nullptr;
  for (RecordingKind kind : {RecordingKind::kCamera, RecordingKind::kAudio}) {
    for (const Recording& r : session->recordings) {
      const auto offset = SessionOffsetMs(r);
      if (r.kind == kind && r.status == RecordingStatus::kReady && offset <= *answer.start_ms &&
          *answer.start_ms < offset + r.duration_ms) {
        part = &r;
      }
    }
    if (part) break;
  }
  if (!part) return ApiError{Err::kAnswerNotFound, "no ready recording holds question " + std::to_string(number)};
  const auto offset = SessionOffsetMs(*part);
  auto media = media_->Open(part->media_key);
  if (!media.ok()) return InternalError(media.status());
  std::string path = (std::filesystem::temp_directory_path() / "recorder-clip-XXXXXX").string();
  const int fd = mkstemp(path.data());
  if (fd < 0) return InternalError(IoError("cannot create a temporary file for a clip"));
  close(fd);
  auto writer = FileWriter::Create(path);
  if (!writer.ok()) {
    std::remove(path.c_str());
    return InternalError(writer.status());
  }
  const int64_t to_ms = answer.end_ms && *answer.end_ms - offset < part->duration_ms ? *answer.end_ms - offset : -1;
  auto clip = webm::Clip(**media, **writer, *answer.start_ms - offset, to_ms);
  if (clip.ok()) {
    // The writer buffers; Sync is its one way out to the file (a clip's few MB, once).
    if (Status s = (*writer)->Sync(); !s.ok()) clip = s;
  }
  auto reader = clip.ok() ? OpenFileReader(path) : Result<std::unique_ptr<RandomAccessReader>>(clip.status());
  std::remove(path.c_str());  // the open reader keeps the bytes until it closes
  if (!reader.ok()) {
    if (reader.status().code() == StatusCode::kNotFound) return ApiError{Err::kAnswerNotFound, clip.status().message()};
    return InternalError(reader.status());
  }
  return MediaFile{session_id, std::shared_ptr<RandomAccessReader>(std::move(reader.value())),
                   "interview_" + session_id + "_q" + std::to_string(number) + ".webm"};
}

Status Results::RemoveMedia(const std::string& key) {
  RETURN_IF_ERROR(media_->Delete(key));
  return spool_->Remove(key);
}

ApiError Results::Busy(const std::string& session_id) {
  auto recordings = recordings_->RecordingsOfSession(session_id);
  bool receiving = recordings.ok() && std::any_of(recordings->begin(), recordings->end(), [](const Recording& r) {
                     return r.status == RecordingStatus::kReceiving;
                   });
  return {Err::kSessionBusy, receiving ? "the session is still recording" : "a recording is being finalized"};
}

Expected<StoredMedia> Results::DeleteSession(const std::string& session_id, const std::string& actor, bool force) {
  int stopped = 0;
  if (force) {
    // Token first, so no new upload or PATCH starts; then the uploads in flight end under their locks.
    Status revoked = index_->RevokeSessionToken(session_id);
    if (revoked.code() == StatusCode::kNotFound) return Err::kSessionNotFound;
    if (!revoked.ok()) return InternalError(revoked);
    auto terminated = ingest_->TerminateSessionUploads(session_id);
    if (!terminated.ok()) return terminated.error();
    stopped = terminated.value();
  }
  // From here on no recording can be added: PrepareSessionDeletion revokes the token and
  // Index::CreateUpload refuses a session without a valid one.
  auto files = index_->PrepareSessionDeletion(session_id);
  if (!files.ok()) {
    if (files.status().code() == StatusCode::kNotFound) return Err::kSessionNotFound;
    if (files.status().code() == StatusCode::kFailedPrecondition) return Busy(session_id);
    return InternalError(files.status());
  }
  for (const std::string& key : files->media_keys) {
    if (Status s = RemoveMedia(key); !s.ok()) return InternalError(s);
  }
  nlohmann::json detail = {{"recordings", files->media_keys.size()}, {"bytes", files->bytes}};
  if (force) detail.update({{"forced", true}, {"uploads_stopped", stopped}});
  Status s = index_->DeleteSession(
      session_id, {0, clock_->NowSeconds(), actor, "delete_session", "session:" + session_id, detail.dump()});
  if (s.code() == StatusCode::kFailedPrecondition) return Busy(session_id);
  if (!s.ok()) return InternalError(s);
  spdlog::info("session {} deleted by {}: {} recordings, {} bytes{}", session_id, actor, files->media_keys.size(),
               files->bytes, force ? ", forced, uploads stopped: " + std::to_string(stopped) : "");
  return files.value();
}

Expected<StoredMedia> Results::DeleteCandidate(int64_t candidate_id, const std::string& actor, bool force) {
  auto sessions = index_->SessionIdsOfCandidate(candidate_id);
  if (!sessions.ok()) {
    if (sessions.status().code() == StatusCode::kNotFound) return Err::kCandidateNotFound;
    return InternalError(sessions.status());
  }
  StoredMedia all;
  for (const std::string& id : *sessions) {
    auto deleted = DeleteSession(id, actor, force);
    if (!deleted.ok()) return deleted.error();
    all.media_keys.insert(all.media_keys.end(), deleted->media_keys.begin(), deleted->media_keys.end());
    all.bytes += deleted->bytes;
  }
  nlohmann::json detail = {{"sessions", sessions->size()}, {"recordings", all.media_keys.size()}, {"bytes", all.bytes}};
  if (Status s = Audit(actor, "delete_candidate", "candidate:" + std::to_string(candidate_id), detail.dump());
      !s.ok()) {
    return InternalError(s);
  }
  return all;
}

Result<Results::RetentionSweep> Results::SweepRetention(int64_t max_age_seconds) {
  int64_t now = clock_->NowSeconds();
  int64_t cutoff = now - max_age_seconds;
  auto expired = index_->RecordingsCreatedBefore(cutoff);
  if (!expired.ok()) return expired.status();
  RetentionSweep sweep;
  for (const Recording& r : *expired) {
    nlohmann::json detail = {{"session", r.session_id},
                             {"kind", Name(r.kind)},
                             {"bytes", r.bytes},
                             {"created_at", r.created_at},
                             {"max_age_days", max_age_seconds / 86400}};
    Status s = RemoveMedia(r.media_key);
    if (s.ok()) {
      s = index_->DeleteRecording(
          r.id, {0, now, "system:retention", "retention_delete", "recording:" + std::to_string(r.id), detail.dump()});
    }
    if (!s.ok()) {
      spdlog::error("retention: recording {} of session {} not deleted, retried at the next sweep: {}", r.id,
                    r.session_id, s.ToString());
      ++sweep.failures;
      continue;
    }
    spdlog::info("retention: recording {} of session {} deleted ({} bytes, created {} s ago)", r.id, r.session_id,
                 r.bytes, now - r.created_at);
    ++sweep.recordings;
  }
  auto empty = index_->EmptySessionsCreatedBefore(cutoff);
  if (!empty.ok()) return empty.status();
  for (const std::string& id : *empty) {
    nlohmann::json detail = {{"recordings", 0}, {"max_age_days", max_age_seconds / 86400}};
    Status s = index_->DeleteSession(
        id, {0, now, "system:retention", "retention_delete_session", "session:" + id, detail.dump()});
    if (s.code() == StatusCode::kFailedPrecondition) continue;  // a recording began just now
    if (!s.ok()) {
      spdlog::error("retention: empty session {} not deleted, retried at the next sweep: {}", id, s.ToString());
      ++sweep.failures;
      continue;
    }
    spdlog::info("retention: session {} deleted, it never got a recording", id);
    ++sweep.sessions;
  }
  return sweep;
}

Status Results::Audit(const std::string& actor, const std::string& action, const std::string& target,
                      const std::string& detail_json) {
  return audit_->AppendAudit({0, clock_->NowSeconds(), actor, action, target, detail_json});
}

Expected<std::vector<AuditEntry>> Results::AuditLog(int limit) {
  auto entries = audit_->AuditEntries(limit);
  if (!entries.ok()) return InternalError(entries.status());
  return entries.value();
}

}  // namespace recorder::server
