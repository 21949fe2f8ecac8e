// The ingest service: sessions, tus uploads and their durable bytes. Validated input in,
// Expected<...> out; knows the protocol's rules (offsets, lengths, checksums, expiry, ownership)
// but not HTTP. Thread-safe: handlers call it from cpp-httplib's thread pool.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "base/clock.h"
#include "base/errors.h"
#include "base/metrics.h"
#include "index/ingest_index.h"
#include "ingest/live_view.h"
#include "ingest/tus_protocol.h"
#include "storage/media_store.h"
#include "storage/upload_store.h"

namespace recorder::server {

struct IngestOptions {
  int64_t token_ttl_seconds = 24 * 3600;
  // An upload expires this long after its creation or its last accepted PATCH.
  int64_t upload_expiry_seconds = 24 * 3600;
  uint64_t max_upload_size = uint64_t{16} << 30;  // Tus-Max-Size
  // How long a PATCH waits for another request on the same upload before answering 409.
  int lock_wait_ms = 2000;
  // One upload token's quota: uploads it may create (terminated ones count), and bytes its uploads
  // may hold (declared lengths, and what deferred-length uploads received). 0: no limit.
  int64_t max_uploads_per_session = 64;
  uint64_t max_session_bytes = uint64_t{64} << 30;
};

// What a session's questions may hold: they are shown to the candidate, carried in markers and
// written in logs and URLs, so ids are short and plain.
struct QuestionLimits {
  size_t max_count = 100;
  size_t max_id_bytes = 64;  // [A-Za-z0-9._:-]
  size_t max_text_bytes = 2000;
  int min_seconds = 10;  // max_seconds, when given
  int max_seconds = 4 * 3600;
};
inline constexpr QuestionLimits kQuestionLimits;
// The first rule `questions` break, as "questions[2].id ..."; nullopt when they keep them all.
std::optional<std::string> QuestionsProblem(const std::vector<Question>& questions);

struct NewSession {
  std::string session_id;
  std::string upload_token;  // shown once; only its SHA-256 is stored
  int64_t expires_at = 0;
};

// One writer per upload: a PATCH, DELETE or expiry holds the upload's lock while it checks the
// offset, writes, syncs and updates the index.
class UploadLocks {
 public:
  class Guard {
   public:
    Guard(UploadLocks* locks, std::string id) : locks_(locks), id_(std::move(id)) {}
    Guard(Guard&& other) noexcept : locks_(std::exchange(other.locks_, nullptr)), id_(std::move(other.id_)) {}
    ~Guard() {
      if (locks_) locks_->Release(id_);
    }

   private:
    UploadLocks* locks_;
    std::string id_;
  };
  // nullopt when the lock stayed held by someone else for `wait_ms`.
  std::optional<Guard> Acquire(const std::string& id, int wait_ms);

 private:
  void Release(const std::string& id);
  struct Entry {
    bool held = false;
    int waiters = 0;
  };
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, Entry> entries_;  // only uploads someone holds or waits for
};

class Ingest {
 public:
  // `on_finished` is called (outside any lock) when an upload is handed to the finalize job.
  // `media` is only asked whether a name is taken.
  Ingest(IngestOptions options, IngestIndex* index, UploadStore* spool, MediaStore* media, const Clock* clock,
         Metrics* metrics, std::function<void()> on_finished);

  const IngestOptions& options() const { return options_; }

  // kInvalidQuestions (with the reason) when `questions` break a rule of kQuestionLimits.
  Expected<NewSession> CreateSession(const std::string& candidate_name, const std::string& email,
                                     const std::string& job, const std::vector<Question>& questions = {});
  // kInvalidUploadToken when unknown or expired.
  Expected<Session> Authenticate(const std::string& upload_token);

  // Reserves the recording's media key (Candidate/interview_..., collisions suffixed) and creates
  // its empty spool file. `length` nullopt: deferred. `body` (creation-with-upload) is checked
  // against the length and `checksum` before anything is created, then appended; when that append
  // fails the upload is terminated, so a failed creation leaves no upload to resume.
  Expected<Upload> CreateUpload(const Session& session, std::optional<uint64_t> length, RecordingKind kind,
                                const std::string& raw_metadata, std::string_view body = {},
                                const std::optional<tus::Checksum>& checksum = std::nullopt);
  // The upload as HEAD reports it: 404 unknown or terminated, 403 another session's, 410 expired.
  Expected<Upload> Info(const Session& session, const std::string& upload_id);
  // Appends `body` at `offset`; acknowledged (returned) only after the bytes are on disk and the
  // index records the new offset. `length` sets a deferred length. Nothing is written on error.
  Expected<Upload> Append(const Session& session, const std::string& upload_id, uint64_t offset,
                          std::optional<uint64_t> length, std::string_view body,
                          const std::optional<tus::Checksum>& checksum);
  // The session's questions, in order.
  Expected<std::vector<Question>> Questions(const Session& session);
  // The candidate ended the interview: no new upload from now on (kSessionEnded); the uploads it
  // has finish as they are. Once every recording has settled, session.completed goes out
  // (SessionSettler). Idempotent.
  Expected<bool> End(const Session& session);
  // Stores markers and client events of `session` (idempotent per client id); an event naming an
  // upload must name one of this session's (404 unknown, 403 another session's). Returns how many
  // were new.
  Expected<int> AddEvents(const Session& session, const std::vector<SessionEvent>& events);
  // Termination: deletes the bytes; later requests get 404.
  Expected<bool> Terminate(const Session& session, const std::string& upload_id);
  // For a deletion, after the session's token is revoked: terminates its receiving uploads, each
  // under its lock, so a PATCH in flight finishes first and any later one gets 404. The bytes stay
  // for the deletion to remove. Returns how many were stopped; kSessionBusy when a lock stays held.
  Expected<int> TerminateSessionUploads(const std::string& session_id);

  // At start: for every receiving upload the spool file's size is the truth. Syncs each spool
  // file and records its size as the offset; an upload whose bytes all arrived is handed to
  // finalize.
  Status Reconcile();
  // Hands expired receiving uploads to finalize as incomplete recordings (their bytes are kept).
  void FinalizeExpired();
  // A viewer's read of recording `recording_id` while it is received (see live_view.h).
  Expected<std::unique_ptr<LiveView>> OpenLiveView(int64_t recording_id) {
    return LiveView::Open(index_, spool_, recording_id);
  }

 private:
  // Loads the upload and checks ownership, termination and expiry.
  Expected<Upload> Load(const Session& session, const std::string& upload_id);
  Status FinishUpload(const Upload& upload, UploadState state, bool incomplete);
  // Append's write for a shared spool: `body` at upload.offset as a chunk the index records; 409
  // when another server took that offset first.
  Expected<bool> AppendChunk(const Upload& upload, std::string_view body, std::optional<uint64_t> length,
                             int64_t expires_at, bool checksum_verified);
  // Append's write for a file spool: `body` at upload.offset, durable, then the index's offset.
  // `length`: a length this PATCH declares; `effective_length`: the upload's length after it.
  Status AppendToFile(const Upload& upload, std::optional<uint64_t> length, std::string_view body,
                      std::optional<uint64_t> effective_length, int64_t now, bool checksum_verified);
  Expected<Upload> NewUpload(const Session& session, std::optional<uint64_t> length, RecordingKind kind,
                             const std::string& raw_metadata);
  // The checks of a body that need no upload: 413 when bytes [offset, offset + size) pass the
  // length or the size limit; 460 (or 400 for an unknown algorithm) when the checksum differs.
  std::optional<ApiError> BodyOverLength(uint64_t offset, std::optional<uint64_t> length, size_t body_size) const;
  static std::optional<ApiError> ChecksumMismatch(std::string_view body, const std::optional<tus::Checksum>& checksum);
  // kTooManyUploads / kSessionQuotaExceeded when the session's uploads, with one more upload
  // (`new_upload`) or one upload grown from `before` to `after` bytes, would pass the quota.
  std::optional<ApiError> CheckQuota(const Session& session, bool new_upload, uint64_t before, uint64_t after);

  IngestOptions options_;
  IngestIndex* index_;
  UploadStore* spool_;
  MediaStore* media_;
  const Clock* clock_;
  Metrics* metrics_;
  std::function<void()> on_finished_;
  UploadLocks locks_;
  // Creations check the quota and create under this, so parallel creations cannot pass it
  // together. (Parallel PATCHes to different deferred uploads of one session can each pass it by
  // at most one request body.)
  std::mutex create_mu_;
};

}  // namespace recorder::server
