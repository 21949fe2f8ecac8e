// The results side of the server: what HR reviewers and the host platform read (sessions,
// recordings, markers, the media files), deletion of a candidate's data, the retention sweeper and
// the audit log. Knows nothing of HTTP. Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/errors.h"
#include "common/io.h"
#include "index/audit_log.h"
#include "index/ingest_index.h"
#include "index/job_queue.h"
#include "index/results_index.h"
#include "index/transcript_index.h"
#include "ingest/ingest.h"
#include "results/answers.h"
#include "storage/media_store.h"
#include "storage/upload_store.h"

namespace recorder::server {

// A finalized recording, open for ranged reads.
struct MediaFile {
  std::string session_id;
  std::shared_ptr<RandomAccessReader> reader;  // reader->size(): the file's size
  // interview_<session_id>[_screen|_audio][_part<N>].webm; N (from 2) is the recording's rank among
  // the session's recordings of its kind, ordered by the part the recorder numbered it with, then
  // by creation, so the names are distinct even when a client sends no or repeated part numbers.
  std::string download_name;
};

// A number the recorder put in the upload's metadata ("part", "start_ms": where the file's time
// zero sits on the session clock); nullopt when absent or not a number (e.g. another tus client).
std::optional<uint64_t> RecordingMetadataNumber(const Recording& recording, const char* key);
// Where the recording's time zero sits on the session clock: its "start_ms", else 0.
int64_t SessionOffsetMs(const Recording& recording);

// Every recording of a session with its transcript (when it has one), and the transcript by
// question.
struct SessionTranscript {
  std::vector<RecordingTranscript> recordings;
  std::vector<Answer> answers;
};

// A transcript segment that matched a search, placed for the results page.
struct TranscriptHit {
  std::string session_id;
  std::string candidate_name;
  int64_t recording_id = 0;
  RecordingKind kind = RecordingKind::kCamera;
  int64_t start_ms = 0, end_ms = 0;  // on the session clock
  std::string text;
  std::optional<size_t> answer;  // the question it answers: its index in TranscriptSearch::answers
};

struct TranscriptSearch {
  std::vector<std::string> words;  // what was searched for
  std::vector<TranscriptHit> hits;
  std::vector<Answer> answers;  // of the hits' sessions
};

// The words of a search box's text: runs of letters and digits (any non-ASCII byte counts as a
// letter), at most 10 of at most 64 bytes each.
std::vector<std::string> SearchWords(const std::string& text);

class Results {
 public:
  // `wake(kind)`: a job of that kind is due now (a retried stage runs at once, not at the next poll).
  Results(IngestIndex* recordings, ResultsIndex* index, recorder::server::AuditLog* audit, TranscriptIndex* transcripts,
          JobQueue* jobs, UploadStore* spool, MediaStore* media, Ingest* ingest, const Clock* clock,
          std::function<void(const std::string& kind)> wake)
      : recordings_(recordings),
        index_(index),
        audit_(audit),
        transcripts_(transcripts),
        jobs_(jobs),
        spool_(spool),
        media_(media),
        ingest_(ingest),
        clock_(clock),
        wake_(std::move(wake)) {}

  Expected<SessionPage> List(const SessionFilter& filter);
  Expected<SessionSummary> Get(const std::string& session_id);  // kSessionNotFound
  Expected<std::vector<SessionEvent>> Markers(const std::string& session_id);
  // Every recording of the session, oldest first, each with its transcript if it has one.
  // kSessionNotFound.
  Expected<SessionTranscript> Transcripts(const std::string& session_id);
  // kRecordingNotFound, kRecordingNotReady (not finalized, or its file is gone).
  Expected<MediaFile> Media(int64_t recording_id);
  // The answer to question `number` (1-based, as the markers count) as a WebM of its own, cut from
  // the camera (else audio) recording that holds its start, from the keyframe at the question's
  // start until its end, without re-encoding (webm::Clip); written to an unlinked temporary file
  // that goes when the reader does. kSessionNotFound, kAnswerNotFound.
  Expected<MediaFile> AnswerClip(const std::string& session_id, int number);

  // Transcript segments holding every word of `text` (SearchWords), best first, at most `limit`.
  // kBadRequest when `text` has no word.
  Expected<TranscriptSearch> SearchTranscripts(const std::string& text, int limit);

  // The latest webhook deliveries (one job per event and endpoint), newest first.
  Expected<std::vector<JobRecord>> Deliveries(int limit);
  // Sends a failed delivery again with fresh attempts (same webhook-id and body), audited as
  // `actor`. kDeliveryNotFound, kDeliveryNotFailed.
  Expected<bool> ResendDelivery(int64_t delivery_id, const std::string& actor);

  // A recording's processing stages, one job each (finalize, then what follows it), oldest first.
  Expected<std::vector<JobRecord>> Stages(int64_t recording_id);
  // Runs a recording's failed stage again with fresh attempts, audited as `actor`; a failed
  // finalize also puts the recording back to finalizing. Returns the stage, queued.
  // kRecordingNotFound, kStageNotFound, kStageNotFailed.
  Expected<JobRecord> RetryStage(int64_t recording_id, const std::string& stage, const std::string& actor);

  // Deletes the session's files, then its rows (and the candidate's, when it was their last
  // session), with one audit entry by `actor`. kSessionNotFound; kSessionBusy while a recording is
  // receiving (unless `force`) or finalizing (a few seconds). `force` first revokes the upload
  // token, then stops the receiving uploads (Ingest::TerminateSessionUploads), then deletes.
  Expected<StoredMedia> DeleteSession(const std::string& session_id, const std::string& actor, bool force);
  // Every session of the candidate, then the candidate. kCandidateNotFound, kSessionBusy.
  Expected<StoredMedia> DeleteCandidate(int64_t candidate_id, const std::string& actor, bool force);
  // Deletes ready and failed recordings created more than `max_age_seconds` ago (and sessions and
  // candidates left without any), and sessions that old that never got a recording (and their
  // candidate, when it has no other session); each audited as system:retention. A recording still
  // receiving or finalizing is skipped, never deleted mid-upload: an abandoned upload expires, is
  // finalized, and goes at a later sweep. A deletion that fails is logged with its id and retried
  // at the next sweep; the sweep goes on with the others.
  struct RetentionSweep {
    int recordings = 0;
    int sessions = 0;  // empty ones
    int failures = 0;
  };
  Result<RetentionSweep> SweepRetention(int64_t max_age_seconds);

  // Appends to the audit log; an audit that cannot be written fails the request that needs it.
  Status Audit(const std::string& actor, const std::string& action, const std::string& target,
               const std::string& detail_json = "{}");
  Expected<std::vector<AuditEntry>> AuditLog(int limit);

 private:
  // Removes a recording's media and whatever the spool still holds of it.
  Status RemoveMedia(const std::string& key);
  // Why the session cannot be deleted now.
  ApiError Busy(const std::string& session_id);

  IngestIndex* recordings_;
  ResultsIndex* index_;
  recorder::server::AuditLog* audit_;
  TranscriptIndex* transcripts_;
  JobQueue* jobs_;
  UploadStore* spool_;
  MediaStore* media_;
  Ingest* ingest_;
  const Clock* clock_;
  std::function<void(const std::string& kind)> wake_;
};

}  // namespace recorder::server
