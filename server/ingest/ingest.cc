#include "ingest/ingest.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstring>
#include <set>
#include <stdexcept>

#include "base/crypto.h"
#include "ingest/names.h"
#include "jobs/finalize_job.h"

namespace recorder::server {

std::optional<UploadLocks::Guard> UploadLocks::Acquire(const std::string& id, int wait_ms) {
  std::unique_lock lock(mu_);
  Entry& entry = entries_[id];
  ++entry.waiters;
  bool got = cv_.wait_for(lock, std::chrono::milliseconds(wait_ms), [&] { return !entry.held; });
  --entry.waiters;
  if (!got) return std::nullopt;
  entry.held = true;
  return Guard(this, id);
}

void UploadLocks::Release(const std::string& id) {
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(id);
    it->second.held = false;
    if (it->second.waiters == 0) entries_.erase(it);
  }
  cv_.notify_all();
}

Ingest::Ingest(IngestOptions options, IngestIndex* index, UploadStore* spool, MediaStore* media, const Clock* clock,
               Metrics* metrics, std::function<void()> on_finished)
    : options_(options),
      index_(index),
      spool_(spool),
      media_(media),
      clock_(clock),
      metrics_(metrics),
      on_finished_(std::move(on_finished)) {}

std::optional<std::string> QuestionsProblem(const std::vector<Question>& questions) {
  const QuestionLimits& limits = kQuestionLimits;
  if (questions.size() > limits.max_count) {
    return "at most " + std::to_string(limits.max_count) + " questions, got " + std::to_string(questions.size());
  }
  auto plain = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || (c != '\0' && std::strchr("._:-", c));
  };
  // Line breaks (\r\n too) and tabs are text; other control characters (escapes) are not.
  auto control = [](char c) {
    return (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\r' && c != '\n') || c == '\x7f';
  };
  std::set<std::string> ids;
  for (size_t i = 0; i < questions.size(); ++i) {
    const Question& q = questions[i];
    const std::string where = "questions[" + std::to_string(i) + "]";
    if (q.id.empty() || q.id.size() > limits.max_id_bytes || !std::all_of(q.id.begin(), q.id.end(), plain)) {
      return where + ".id must be 1 to " + std::to_string(limits.max_id_bytes) + " of A-Z a-z 0-9 . _ : -";
    }
    if (!ids.insert(q.id).second) return where + ".id '" + q.id + "' is given twice";
    if (q.text.find_first_not_of(" \t\r\n") == std::string::npos || q.text.size() > limits.max_text_bytes) {
      return where + ".text must hold 1 to " + std::to_string(limits.max_text_bytes) + " bytes of text";
    }
    if (std::any_of(q.text.begin(), q.text.end(), control)) return where + ".text holds a control character";
    if (q.max_seconds != 0 && (q.max_seconds < limits.min_seconds || q.max_seconds > limits.max_seconds)) {
      return where + ".max_seconds must be " + std::to_string(limits.min_seconds) + " to " +
             std::to_string(limits.max_seconds);
    }
  }
  return std::nullopt;
}

Expected<NewSession> Ingest::CreateSession(const std::string& candidate_name, const std::string& email,
                                           const std::string& job, const std::vector<Question>& questions) {
  if (auto problem = QuestionsProblem(questions)) return ApiError{Err::kInvalidQuestions, *problem};
  int64_t now = clock_->NowSeconds();
  std::string lower_email = email;
  for (char& c : lower_email) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto candidate = index_->FindOrCreateCandidate(candidate_name, lower_email, SanitizeFolderName(candidate_name), now);
  if (!candidate.ok()) return InternalError(candidate.status());
  NewSession session{RandomHex(16), RandomHex(32), now + options_.token_ttl_seconds};
  Status s = index_->CreateSession(session.session_id, candidate->id, job, questions, Sha256Hex(session.upload_token),
                                   session.expires_at, now);
  if (!s.ok()) return InternalError(s);
  // Names and paths (the folder is the candidate's name) only at debug: info logs outlive a deletion.
  spdlog::info("session {} created for candidate {}", session.session_id, candidate->id);
  spdlog::debug("candidate {}: folder {}", candidate->id, candidate->folder);
  return session;
}

Expected<Session> Ingest::Authenticate(const std::string& upload_token) {
  auto session = index_->SessionByTokenHash(Sha256Hex(upload_token));
  if (!session.ok()) {
    if (session.status().code() == StatusCode::kNotFound) return Err::kInvalidUploadToken;
    return InternalError(session.status());
  }
  if (session->token_expires_at <= clock_->NowSeconds()) {
    return ApiError{Err::kInvalidUploadToken, "the token of session " + session->id + " expired"};
  }
  return *session;
}

std::optional<ApiError> Ingest::BodyOverLength(uint64_t offset, std::optional<uint64_t> length,
                                               size_t body_size) const {
  const uint64_t end = offset + body_size;
  if (length && end > *length) {
    return ApiError{Err::kBodyExceedsLength, "offset " + std::to_string(offset) + " + body " +
                                                 std::to_string(body_size) + " > Upload-Length " +
                                                 std::to_string(*length)};
  }
  if (end > options_.max_upload_size) return ApiError{Err::kUploadTooLarge, {}};
  return std::nullopt;
}

std::optional<ApiError> Ingest::ChecksumMismatch(std::string_view body, const std::optional<tus::Checksum>& checksum) {
  if (!checksum) return std::nullopt;
  auto digest = tus::Digest(checksum->algorithm, body);
  if (!digest) return ApiError{Err::kUnsupportedChecksumAlgorithm, {}};
  if (*digest != checksum->digest) return ApiError{Err::kChecksumMismatch, {}};
  return std::nullopt;
}

Expected<Upload> Ingest::CreateUpload(const Session& session, std::optional<uint64_t> length, RecordingKind kind,
                                      const std::string& raw_metadata, std::string_view body,
                                      const std::optional<tus::Checksum>& checksum) {
  if (length && *length > options_.max_upload_size) {
    return ApiError{Err::kUploadTooLarge, "Upload-Length " + std::to_string(*length) + " > Tus-Max-Size " +
                                              std::to_string(options_.max_upload_size)};
  }
  // creation-with-upload: a body that would be refused is refused before the upload exists, so
  // the client gets no Location and nothing is left behind.
  if (auto too_long = BodyOverLength(0, length, body.size())) return *too_long;
  if (session.ended_at != 0) return Err::kSessionEnded;
  if (auto mismatch = ChecksumMismatch(body, checksum)) {
    spdlog::warn("session {}: {} in a creation-with-upload ({} bytes)", session.id, Spec(mismatch->err).code,
                 body.size());
    return *mismatch;
  }
  auto created = NewUpload(session, length, kind, raw_metadata);
  if (!created.ok() || (body.empty() && length != uint64_t{0})) return created;
  // An empty upload is complete at creation; a body is appended. What fails now (a write, the
  // index) terminates the upload, which no client has been told of.
  auto appended = Append(session, created->id, 0, std::nullopt, body, checksum);
  if (!appended.ok() && Terminate(session, created->id).ok()) {
    spdlog::warn("upload {}: terminated, its creation-with-upload failed", created->id);
  }
  return appended;
}

Expected<Upload> Ingest::NewUpload(const Session& session, std::optional<uint64_t> length, RecordingKind kind,
                                   const std::string& raw_metadata) {
  std::lock_guard create_lock(create_mu_);
  if (auto refused = CheckQuota(session, true, 0, length.value_or(0))) return *refused;
  int64_t now = clock_->NowSeconds();
  Upload upload;
  upload.id = RandomHex(16);
  upload.session_id = session.id;
  upload.length = length;
  upload.expires_at = now + options_.upload_expiry_seconds;
  upload.metadata = raw_metadata;
  // The spool file is created exclusively first, so two creations in the same second for the
  // same candidate cannot take the same key; the index then records it (UNIQUE media_key).
  for (int n = 1; n < 1000; ++n) {
    upload.media_key = session.candidate_folder + "/" + RecordingFileName(kind, now, n);
    if (media_->Size(upload.media_key).ok()) continue;  // a finalized recording has it
    Status created = spool_->Create(upload.media_key);
    if (created.code() == StatusCode::kAlreadyExists) continue;
    if (!created.ok()) return InternalError(created);
    auto indexed = index_->CreateUpload(upload, kind, now);
    if (indexed.ok()) {
      spdlog::info("upload {} created: session {} recording {} kind {} length {}", upload.id, session.id,
                   indexed->recording_id, Name(kind), length ? std::to_string(*length) : std::string("deferred"));
      spdlog::debug("upload {}: key {}", upload.id, upload.media_key);
      return indexed.value();
    }
    // Also removes the candidate's folder when this left it empty: a creation that lost the race
    // with the session's deletion leaves nothing behind. (A shared spool created nothing, and the
    // key's chunks may be another upload's.)
    if (!spool_->shared()) (void)spool_->Remove(upload.media_key);
    if (indexed.status().code() == StatusCode::kFailedPrecondition) {
      // Ended (by a request that came after this one was authenticated) or being deleted.
      spdlog::warn("upload for session {} refused: the session ended or is being deleted", session.id);
      return ApiError{Err::kInvalidUploadToken, "the session was deleted or has ended"};
    }
    if (indexed.status().code() != StatusCode::kAlreadyExists) return InternalError(indexed.status());
  }
  return ApiError{Err::kInternal, "no free file name for " + upload.media_key};
}

Expected<Upload> Ingest::Load(const Session& session, const std::string& upload_id) {
  auto upload = index_->GetUpload(upload_id);
  if (!upload.ok()) {
    if (upload.status().code() == StatusCode::kNotFound) return Err::kUploadNotFound;
    return InternalError(upload.status());
  }
  if (upload->session_id != session.id) {
    spdlog::warn("session {} tried to use upload {} of session {}", session.id, upload_id, upload->session_id);
    return Err::kForeignUpload;
  }
  if (upload->state == UploadState::kTerminated) return Err::kUploadNotFound;
  if (upload->state == UploadState::kExpired ||
      (upload->state == UploadState::kReceiving && upload->expires_at <= clock_->NowSeconds())) {
    return Err::kUploadExpired;
  }
  return upload.value();
}

Expected<Upload> Ingest::Info(const Session& session, const std::string& upload_id) { return Load(session, upload_id); }

std::optional<ApiError> Ingest::CheckQuota(const Session& session, bool new_upload, uint64_t before, uint64_t after) {
  bool counts = options_.max_uploads_per_session > 0 && new_upload;
  bool bytes = options_.max_session_bytes > 0 && after > before;
  if (!counts && !bytes) return std::nullopt;
  auto usage = index_->UsageOfSession(session.id);
  if (!usage.ok()) return InternalError(usage.status());
  if (counts && usage->uploads >= options_.max_uploads_per_session) {
    spdlog::warn("session {}: upload refused, it has created {} uploads", session.id, usage->uploads);
    return ApiError{Err::kTooManyUploads, "the session has created " + std::to_string(usage->uploads) +
                                              " uploads, the limit is " +
                                              std::to_string(options_.max_uploads_per_session)};
  }
  uint64_t total = usage->bytes - std::min(usage->bytes, before) + after;
  if (bytes && total > options_.max_session_bytes) {
    spdlog::warn("session {}: {} bytes refused, its uploads would hold {}", session.id, after - before, total);
    return ApiError{Err::kSessionQuotaExceeded, "the session's uploads would hold " + std::to_string(total) +
                                                    " bytes, the limit is " +
                                                    std::to_string(options_.max_session_bytes)};
  }
  return std::nullopt;
}

Expected<Upload> Ingest::Append(const Session& session, const std::string& upload_id, uint64_t offset,
                                std::optional<uint64_t> length, std::string_view body,
                                const std::optional<tus::Checksum>& checksum) {
  auto started = std::chrono::steady_clock::now();
  auto guard = locks_.Acquire(upload_id, options_.lock_wait_ms);
  if (!guard) return Err::kUploadLocked;
  auto loaded = Load(session, upload_id);
  if (!loaded.ok()) return loaded;
  Upload upload = loaded.value();
  if (offset != upload.offset) {
    spdlog::warn("upload {}: PATCH at offset {} but the upload is at {}", upload.id, offset, upload.offset);
    return ApiError{Err::kOffsetMismatch, "Upload-Offset is " + std::to_string(offset) + ", the upload is at " +
                                              std::to_string(upload.offset)};
  }
  if (length) {
    if (upload.length ? *upload.length != *length : *length < upload.offset) return Err::kUploadLengthMismatch;
    if (*length > options_.max_upload_size) return Err::kUploadTooLarge;
  }
  std::optional<uint64_t> effective_length = upload.length ? upload.length : length;
  uint64_t end = offset + body.size();
  if (auto too_long = BodyOverLength(offset, effective_length, body.size())) return *too_long;
  if (upload.state != UploadState::kReceiving) {
    if (body.empty()) return upload;  // a repeated final PATCH: nothing to do
    return Err::kUploadFinished;
  }
  // A declared length was counted against the quota at creation; a deferred one counts as it grows.
  if (!upload.length) {
    uint64_t after = effective_length ? *effective_length : end;
    if (auto refused = CheckQuota(session, false, upload.offset, after)) return *refused;
  }
  if (auto mismatch = ChecksumMismatch(body, checksum)) {
    spdlog::warn("upload {}: {} at offset {} ({} bytes)", upload.id, Spec(mismatch->err).code, offset, body.size());
    return *mismatch;
  }
  int64_t now = clock_->NowSeconds();
  if (spool_->shared() && !body.empty()) {
    auto committed =
        AppendChunk(upload, body, effective_length, now + options_.upload_expiry_seconds, checksum.has_value());
    if (!committed.ok()) return committed.error();
  } else if (spool_->shared()) {
    // An empty PATCH (the length declared once every byte is stored) is recorded only if no other
    // server sharing the spool moved the offset since this one read it: a length declared at a
    // stale offset would end the upload before bytes it acknowledged.
    Status s = index_->SetUploadProgress(upload.id, offset, effective_length, now + options_.upload_expiry_seconds,
                                         false, offset);
    if (s.code() == StatusCode::kFailedPrecondition) {
      spdlog::warn("upload {}: offset {} was left meanwhile", upload.id, offset);
      return ApiError{Err::kOffsetMismatch,
                      "the upload moved past offset " + std::to_string(offset) + " meanwhile; ask HEAD for its offset"};
    }
    if (!s.ok()) return InternalError(s);
  } else if (Status s = AppendToFile(upload, length, body, effective_length, now, checksum.has_value()); !s.ok()) {
    return InternalError(s);
  }
  upload.offset = end;
  upload.length = effective_length;
  upload.expires_at = now + options_.upload_expiry_seconds;
  metrics_->AddBytesReceived(body.size());
  metrics_->ObserveChunkAckSeconds(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  spdlog::debug("upload {}: {} bytes at offset {}, now at {}", upload.id, body.size(), offset, end);
  if (effective_length && end == *effective_length) {
    Status finished = FinishUpload(upload, UploadState::kComplete, false);
    if (!finished.ok()) return InternalError(finished);
    upload.state = UploadState::kComplete;
  }
  return upload;
}

Expected<bool> Ingest::AppendChunk(const Upload& upload, std::string_view body, std::optional<uint64_t> length,
                                   int64_t expires_at, bool checksum_verified) {
  // Durability order: the object stored, then recorded by the index (which moves the offset only
  // if no other server did first), then the reply.
  auto chunk = spool_->PutChunk(upload.media_key, upload.offset, body);
  if (!chunk.ok()) {
    spdlog::error("upload {}: storing {} bytes at offset {} failed: {}", upload.id, body.size(), upload.offset,
                  chunk.status().ToString());
    return InternalError(chunk.status());
  }
  const UploadChunk record{upload.offset, upload.offset + body.size(), *chunk};
  Status recorded = index_->AddUploadChunk(upload.id, record, length, expires_at, checksum_verified);
  if (recorded.ok()) return true;
  if (Status s = spool_->DiscardChunk(*chunk); !s.ok()) {
    spdlog::warn("upload {}: an unrecorded chunk stays until the upload goes: {}", upload.id, s.ToString());
  }
  if (recorded.code() == StatusCode::kFailedPrecondition) {
    // Another server took this offset (the client sent the same PATCH twice), or the upload ended.
    spdlog::warn("upload {}: offset {} was taken meanwhile", upload.id, upload.offset);
    return ApiError{Err::kOffsetMismatch, "the upload moved past offset " + std::to_string(upload.offset) +
                                              " meanwhile; ask HEAD for its offset"};
  }
  spdlog::error("upload {}: recording the chunk at offset {} failed: {}", upload.id, upload.offset,
                recorded.ToString());
  return InternalError(recorded);
}

Status Ingest::AppendToFile(const Upload& upload, std::optional<uint64_t> length, std::string_view body,
                            std::optional<uint64_t> effective_length, int64_t now, bool checksum_verified) {
  const uint64_t offset = upload.offset;
  const uint64_t end = offset + body.size();
  // A length declared with these bytes goes to the index first: killed after the bytes are durable
  // but before the index update, the upload is then whole on disk with its length known, and the
  // restart finishes it (Reconcile), where the client, finding its last bytes stored, sends no more.
  if (!upload.length && length) {
    RETURN_IF_ERROR(
        index_->SetUploadProgress(upload.id, upload.offset, length, upload.expires_at, false, std::nullopt));
  }
  // Durability order: bytes on disk (write + fdatasync), then the index, then the reply.
  if (!body.empty()) {
    Status written = spool_->Append(upload.media_key, offset, body);
    if (!written.ok()) {
      spdlog::error("upload {}: write at offset {} failed: {}", upload.id, offset, written.ToString());
      return written;
    }
  }
  Status indexed = index_->SetUploadProgress(upload.id, end, effective_length, now + options_.upload_expiry_seconds,
                                             checksum_verified, std::nullopt);
  if (!indexed.ok()) {
    // Not acknowledged, so not kept: the client sends these bytes again from the index's offset.
    // (Should the cut fail too, the next append at that offset cuts them.)
    spdlog::error("upload {}: index update to offset {} failed: {}", upload.id, end, indexed.ToString());
    if (Status cut = spool_->Truncate(upload.media_key, offset); !cut.ok()) {
      spdlog::error("upload {}: cannot cut back to offset {}: {}", upload.id, offset, cut.ToString());
    }
    return indexed;
  }
  return Status::Ok();
}

Status Ingest::FinishUpload(const Upload& upload, UploadState state, bool incomplete) {
  RETURN_IF_ERROR(
      index_->FinishUpload(upload.id, state, incomplete, FinalizeJob::For(upload.recording_id), clock_->NowSeconds()));
  spdlog::info("upload {} {} at {} bytes: recording {} queued for finalize", upload.id, Name(state), upload.offset,
               upload.recording_id);
  if (on_finished_) on_finished_();
  return Status::Ok();
}

Expected<std::vector<Question>> Ingest::Questions(const Session& session) {
  auto questions = index_->QuestionsOfSession(session.id);
  if (!questions.ok()) return InternalError(questions.status());
  return questions.value();
}

Expected<bool> Ingest::End(const Session& session) {
  if (Status s = index_->EndSession(session.id, clock_->NowSeconds()); !s.ok()) {
    if (s.code() == StatusCode::kNotFound) return Err::kInvalidUploadToken;  // deleted meanwhile
    return InternalError(s);
  }
  if (session.ended_at == 0) spdlog::info("session {} ended by the candidate", session.id);
  return true;
}

Expected<int> Ingest::AddEvents(const Session& session, const std::vector<SessionEvent>& events) {
  for (const SessionEvent& e : events) {
    if (e.upload_id.empty()) continue;
    auto upload = index_->GetUpload(e.upload_id);
    if (!upload.ok()) {
      if (upload.status().code() == StatusCode::kNotFound) return ApiError{Err::kUploadNotFound, e.upload_id};
      return InternalError(upload.status());
    }
    if (upload->session_id != session.id) return ApiError{Err::kForeignUpload, e.upload_id};
  }
  auto added = index_->AddSessionEvents(session.id, events, clock_->NowSeconds());
  if (!added.ok()) return InternalError(added.status());
  spdlog::info("session {}: {} events stored, {} already known", session.id, *added,
               events.size() - static_cast<size_t>(*added));
  return *added;
}

Expected<bool> Ingest::Terminate(const Session& session, const std::string& upload_id) {
  auto guard = locks_.Acquire(upload_id, options_.lock_wait_ms);
  if (!guard) return Err::kUploadLocked;
  auto upload = Load(session, upload_id);
  if (!upload.ok()) return upload.error();
  if (upload->state != UploadState::kReceiving) return Err::kUploadFinished;
  Status s = index_->TerminateUpload(upload_id, "terminated by the client", clock_->NowSeconds());
  if (!s.ok()) return InternalError(s);
  s = spool_->Remove(upload->media_key);
  if (!s.ok()) spdlog::error("upload {}: terminated but its file stays: {}", upload_id, s.ToString());
  spdlog::info("upload {} terminated by session {} at offset {}", upload_id, session.id, upload->offset);
  return true;
}

Expected<int> Ingest::TerminateSessionUploads(const std::string& session_id) {
  auto receiving = index_->UploadsInState(UploadState::kReceiving);
  if (!receiving.ok()) return InternalError(receiving.status());
  int stopped = 0;
  for (const Upload& candidate : *receiving) {
    if (candidate.session_id != session_id) continue;
    auto guard = locks_.Acquire(candidate.id, options_.lock_wait_ms);
    if (!guard) return ApiError{Err::kSessionBusy, "upload " + candidate.id + " stayed locked"};
    auto upload = index_->GetUpload(candidate.id);
    if (!upload.ok()) return InternalError(upload.status());
    if (upload->state != UploadState::kReceiving) continue;  // completed or expired while we waited
    Status s = index_->TerminateUpload(upload->id, "stopped to delete the session", clock_->NowSeconds());
    if (!s.ok()) return InternalError(s);
    spdlog::info("upload {} of session {} stopped at offset {} for the session's deletion", upload->id, session_id,
                 upload->offset);
    ++stopped;
  }
  return stopped;
}

Status Ingest::Reconcile() {
  auto uploads = index_->UploadsInState(UploadState::kReceiving);
  if (!uploads.ok()) return uploads.status();
  for (Upload& upload : *uploads) {
    if (spool_->shared()) {
      // The index is the truth (a chunk counts once it records it). What a server that died after
      // recording the last chunk did not do: hand the upload to finalize.
      if (upload.length && upload.offset >= *upload.length) {
        Status finished = FinishUpload(upload, UploadState::kComplete, false);
        // Another server starting at the same time may have done it first.
        if (!finished.ok() && finished.code() != StatusCode::kFailedPrecondition) return finished;
      }
      continue;
    }
    auto size = spool_->Size(upload.media_key);
    if (!size.ok()) {
      spdlog::error("upload {} of recording {}: its spool file is gone; finalize will mark it failed", upload.id,
                    upload.recording_id);
      spdlog::debug("upload {}: {}", upload.id, size.status().ToString());
      RETURN_IF_ERROR(FinishUpload(upload, UploadState::kExpired, true));
      continue;
    }
    // The file, once fsynced, is the truth, not the index: its WAL (synchronous=NORMAL) may lose
    // the last offsets after a power cut, while the bytes they acknowledged were fdatasynced.
    // Bytes past a declared length were never acknowledged by anyone: cut.
    RETURN_IF_ERROR(spool_->Sync(upload.media_key));
    if (upload.length && *size > *upload.length) {
      spdlog::warn("upload {}: {} bytes on disk past its length {}; cutting them", upload.id, *size, *upload.length);
      RETURN_IF_ERROR(spool_->Truncate(upload.media_key, *upload.length));
      *size = *upload.length;
    }
    if (*size != upload.offset) {
      // Larger: written and killed before the index update (or the index lost it). Smaller: only
      // a disk that lies about fdatasync.
      auto log_level = *size > upload.offset ? spdlog::level::info : spdlog::level::err;
      spdlog::log(log_level, "upload {}: index offset {} but {} bytes on disk; resuming at {}", upload.id,
                  upload.offset, *size, *size);
      upload.offset = *size;
      RETURN_IF_ERROR(
          index_->SetUploadProgress(upload.id, upload.offset, upload.length, upload.expires_at, false, std::nullopt));
    }
    if (upload.length && upload.offset >= *upload.length) {
      RETURN_IF_ERROR(FinishUpload(upload, UploadState::kComplete, false));
    }
  }
  spdlog::info("reconciled {} receiving uploads with their files", uploads->size());
  return Status::Ok();
}

void Ingest::FinalizeExpired() {
  auto expired = index_->ExpiredUploads(clock_->NowSeconds());
  if (!expired.ok()) {
    spdlog::error("cannot list expired uploads: {}", expired.status().ToString());
    return;
  }
  for (const Upload& candidate : *expired) {
    auto guard = locks_.Acquire(candidate.id, 0);
    if (!guard) continue;  // a PATCH is running; it extends the expiry
    auto upload = index_->GetUpload(candidate.id);
    if (!upload.ok() || upload->state != UploadState::kReceiving || upload->expires_at > clock_->NowSeconds()) continue;
    spdlog::info("upload {} expired at offset {}; finalizing what arrived", upload->id, upload->offset);
    Status s = FinishUpload(*upload, UploadState::kExpired, true);
    // FailedPrecondition: another server sharing the index finished it first.
    if (!s.ok() && s.code() != StatusCode::kFailedPrecondition) {
      spdlog::error("upload {}: cannot hand to finalize: {}", upload->id, s.ToString());
    }
  }
}

}  // namespace recorder::server
