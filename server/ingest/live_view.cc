#include "ingest/live_view.h"

#include <algorithm>
#include <utility>

#include "webm/finalize.h"

namespace recorder::server {

Expected<std::unique_ptr<LiveView>> LiveView::Open(IngestIndex* index, UploadStore* spool, int64_t recording_id) {
  auto recording = index->GetRecording(recording_id);
  if (!recording.ok()) {
    if (recording.status().code() == StatusCode::kNotFound) return Err::kRecordingNotFound;
    return InternalError(recording.status());
  }
  if (recording->status != RecordingStatus::kReceiving) return Err::kRecordingNotLive;
  auto receiving = index->UploadsInState(UploadState::kReceiving);
  if (!receiving.ok()) return InternalError(receiving.status());
  auto it = std::find_if(receiving->begin(), receiving->end(),
                         [&](const Upload& u) { return u.recording_id == recording_id; });
  if (it == receiving->end()) return Err::kRecordingNotLive;  // it just finished
  return std::unique_ptr<LiveView>(new LiveView(index, spool, *it));
}

Expected<LiveView::Piece> LiveView::Next() {
  auto upload = index_->GetUpload(upload_.id);
  if (!upload.ok()) {
    // Deleted while watched: the stream ends with what was sent.
    if (upload.status().code() == StatusCode::kNotFound) return Piece{{}, true};
    return InternalError(upload.status());
  }
  upload_ = *upload;
  const uint64_t acknowledged = upload_.offset;
  const bool receiving = upload_.state == UploadState::kReceiving;
  if (!header_end_) {
    if (acknowledged == 0) return Piece{{}, !receiving};
    auto reader = spool_->OpenLiveReader(upload_.media_key);
    if (!reader.ok()) return InternalError(reader.status());
    Result<webm::LivePoints> points = webm::FindLivePoints(**reader, acknowledged);
    // Not even one frame after the header yet: wait for more (or end, if nothing more comes).
    if (!points.ok()) return Piece{{}, !receiving};
    reader_ = std::move(*reader);
    header_end_ = points->header_end;
    position_ = points->join_at;
  }
  if (header_sent_ < *header_end_) {
    const uint64_t to = std::min(*header_end_, header_sent_ + kLivePieceBytes);
    auto bytes = Read(header_sent_, to);
    if (!bytes.ok()) return bytes.error();
    header_sent_ = to;
    return Piece{std::move(*bytes), false};
  }
  if (position_ < acknowledged) {
    const uint64_t to = std::min(acknowledged, position_ + kLivePieceBytes);
    auto bytes = Read(position_, to);
    // A finished upload's spool may be gone already (finalized, its chunks removed): the viewer
    // has what it could get, and the recording is there to play whole.
    if (!bytes.ok() && !receiving) return Piece{{}, true};
    if (!bytes.ok()) return bytes.error();
    position_ = to;
    return Piece{std::move(*bytes), false};
  }
  return Piece{{}, !receiving};
}

Expected<std::string> LiveView::Read(uint64_t from, uint64_t to) {
  if (!reader_ || reader_->size() < to) {
    auto reader = spool_->OpenLiveReader(upload_.media_key);
    if (!reader.ok()) return InternalError(reader.status());
    reader_ = std::move(*reader);
  }
  std::string bytes(static_cast<size_t>(to - from), '\0');
  Status read = reader_->ReadAt(from, bytes.data(), bytes.size());
  if (!read.ok()) return InternalError(read);
  return bytes;
}

}  // namespace recorder::server
