// The index's ingest role: candidates, sessions, uploads, recordings and markers, as the tus
// handler, the finalize job and the results read model use them. Knows nothing of HTTP or files.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "index/job_queue.h"
#include "index/records.h"

namespace recorder::server {

// Thread-safe; every method is one transaction.
class IngestIndex {
 public:
  virtual ~IngestIndex() = default;

  // Candidates are the same person when the (lower-cased) email matches, or, without an email,
  // when the name matches exactly. A new candidate gets `folder_base` or, if another candidate
  // holds it, the first free WithCollisionSuffix(folder_base, n).
  virtual Result<Candidate> FindOrCreateCandidate(const std::string& name, const std::string& email,
                                                  const std::string& folder_base, int64_t now) = 0;
  // The session and its questions, in one transaction.
  virtual Status CreateSession(const std::string& session_id, int64_t candidate_id, const std::string& job,
                               const std::vector<Question>& questions, const std::string& token_sha256,
                               int64_t token_expires_at, int64_t now) = 0;
  // NotFound when no session has this token hash.
  virtual Result<Session> SessionByTokenHash(const std::string& token_sha256) = 0;
  // The candidate ended the interview: from now on the session takes no new upload. The first
  // end is kept when it comes again. NotFound for an unknown session.
  virtual Status EndSession(const std::string& session_id, int64_t now) = 0;
  // Sessions that are over (ended, or their link expired at or before `now`) and not completed,
  // whose recordings have all settled: none receiving or finalizing, and no job of a kind other
  // than `except_kind` (notifications, which hold nothing up) pending or running on any of them.
  // The longest over first, at most `limit`.
  virtual Result<std::vector<Session>> SettledSessions(int64_t now, const std::string& except_kind, int limit) = 0;
  // Marks the session completed and enqueues `follow_ups`, in one transaction. FailedPrecondition
  // when it already was (another server's sweep got there first); NotFound when it is gone.
  virtual Status CompleteSession(const std::string& session_id, const std::vector<NewJob>& follow_ups, int64_t now) = 0;
  // In the order the host gave them; empty for an unknown session.
  virtual Result<std::vector<Question>> QuestionsOfSession(const std::string& session_id) = 0;

  // Creates the recording and its upload in one transaction; AlreadyExists when the media key is
  // taken, FailedPrecondition when the session is gone, ended, or its token expired or was revoked
  // by then (a request authenticated before a deletion or an end cannot add a recording to it).
  virtual Result<Upload> CreateUpload(const Upload& upload, RecordingKind kind, int64_t now) = 0;
  virtual Result<Upload> GetUpload(const std::string& upload_id) = 0;  // NotFound
  // Records a durable offset (and a length given late, and the new expiry) of a receiving upload;
  // `checksum_verified`: the bytes just appended matched their Upload-Checksum. With `if_at`, only
  // if the upload is still receiving at that offset: FailedPrecondition otherwise (another server
  // sharing the spool moved it meanwhile, or the upload finished).
  virtual Status SetUploadProgress(const std::string& upload_id, uint64_t offset, std::optional<uint64_t> length,
                                   int64_t expires_at, bool checksum_verified, std::optional<uint64_t> if_at) = 0;
  // For a spool shared by several servers (chunks as objects): records `chunk` and moves the
  // upload's offset to chunk.end (with SetUploadProgress's other fields), in one transaction, only
  // if the upload is still receiving at chunk.offset and no length declared meanwhile ends before
  // chunk.end (a declared length stays). FailedPrecondition otherwise: another server took these
  // bytes first (or declared the length, or the upload finished), and `chunk` is not the upload's.
  virtual Status AddUploadChunk(const std::string& upload_id, const UploadChunk& chunk, std::optional<uint64_t> length,
                                int64_t expires_at, bool checksum_verified) = 0;
  // The chunks recorded for the upload of `media_key`, in offset order (empty when none).
  virtual Result<std::vector<UploadChunk>> UploadChunks(const std::string& media_key) = 0;
  // Moves a receiving upload to `state` (complete | expired) with its recording to finalizing,
  // and enqueues `finalize`, in one transaction. `incomplete` marks a recording whose upload never
  // reached its end. FailedPrecondition when the upload is not receiving.
  virtual Status FinishUpload(const std::string& upload_id, UploadState state, bool incomplete, const NewJob& finalize,
                              int64_t now) = 0;
  // The upload becomes terminated, its recording failed with `reason`. NotFound when unknown.
  virtual Status TerminateUpload(const std::string& upload_id, const std::string& reason, int64_t now) = 0;
  // For the session's quota; zeros for an unknown session.
  virtual Result<SessionUsage> UsageOfSession(const std::string& session_id) = 0;
  virtual Result<std::vector<Upload>> UploadsInState(UploadState state) = 0;
  // Receiving uploads whose expiry is at or before `now`.
  virtual Result<std::vector<Upload>> ExpiredUploads(int64_t now) = 0;

  virtual Result<Recording> GetRecording(int64_t recording_id) = 0;  // NotFound
  virtual Result<std::vector<Recording>> RecordingsOfSession(const std::string& session_id) = 0;
  // The recording becomes ready (or failed) and `follow_ups` are enqueued, in one transaction.
  virtual Status MarkRecordingReady(int64_t recording_id, uint64_t bytes, int64_t duration_ms, bool incomplete,
                                    const std::vector<NewJob>& follow_ups, int64_t now) = 0;
  virtual Status MarkRecordingFailed(int64_t recording_id, const std::string& reason,
                                     const std::vector<NewJob>& follow_ups, int64_t now) = 0;
  // An admin's retry of a failed finalize: the failed recording goes back to finalizing (so that
  // nothing deletes it mid-finalize) and its failed job `finalize_job_id` is due at once with fresh
  // attempts, in one transaction. FailedPrecondition when either is not failed.
  virtual Status RefinalizeRecording(int64_t recording_id, int64_t finalize_job_id, int64_t now) = 0;

  // Stores the events of a session in one transaction, skipping any whose client_id the session
  // already has. Returns how many were new.
  virtual Result<int> AddSessionEvents(const std::string& session_id, const std::vector<SessionEvent>& events,
                                       int64_t now) = 0;
  // In recording-time order.
  virtual Result<std::vector<SessionEvent>> SessionEvents(const std::string& session_id) = 0;
};

}  // namespace recorder::server
