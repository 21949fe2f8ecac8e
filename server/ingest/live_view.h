// One viewer's read of a recording while it is received (HR's "Watch live"): the WebM header,
// then the Clusters from the last one a decoder can start on (webm::FindLivePoints), then the
// bytes of every later PATCH once it is acknowledged, until the upload ends. The bytes come
// straight from the spool (UploadStore::OpenLiveReader), never past the acknowledged offset, and
// at most kLivePieceBytes at a time: a viewer costs one piece of memory, nothing on disk.
// Not thread-safe: one per viewer.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "base/errors.h"
#include "index/ingest_index.h"
#include "storage/upload_store.h"

namespace recorder::server {

inline constexpr size_t kLivePieceBytes = 256 * 1024;

class LiveView {
 public:
  // 404 kRecordingNotFound when unknown (or deleted); 409 kRecordingNotLive when its upload is no
  // longer receiving (it is finalized or being finalized: play it whole).
  static Expected<std::unique_ptr<LiveView>> Open(IngestIndex* index, UploadStore* spool, int64_t recording_id);

  struct Piece {
    std::string bytes;   // empty: nothing new yet (ask again later), or the end
    bool ended = false;  // the upload stopped receiving and every byte was returned
  };
  // The next bytes acknowledged since the last call (the header and the join point first, as soon
  // as a first Cluster arrived). Looks at the index once per call; never waits.
  Expected<Piece> Next();

  const Upload& upload() const { return upload_; }

 private:
  LiveView(IngestIndex* index, UploadStore* spool, Upload upload) : index_(index), spool_(spool), upload_(upload) {}
  // Reads [from, to) of the spool, reopening it when it has grown; to - from <= kLivePieceBytes.
  Expected<std::string> Read(uint64_t from, uint64_t to);

  IngestIndex* index_;
  UploadStore* spool_;
  Upload upload_;                       // as last read from the index
  std::optional<uint64_t> header_end_;  // where the header ends, once the join point is known
  uint64_t header_sent_ = 0;
  uint64_t position_ = 0;  // the next byte of the stream proper (from the join point)
  std::unique_ptr<RandomAccessReader> reader_;
};

}  // namespace recorder::server
