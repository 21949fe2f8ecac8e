// A small EBML walker over the Clusters of a (possibly live, possibly truncated) WebM Segment.
//
// Why not mkvparser for this part: mkvparser keeps every parsed block in memory and gives up on a
// trailing cluster that the upload cut short. This walker streams: it reports one complete frame
// at a time, in file order, and stops cleanly at the first byte it cannot use, saying where. It
// holds no state per frame or per cluster, so its memory is constant and its time linear in the
// bytes it walks.
// Headers (EBML, Info, Tracks) are still parsed by mkvparser; this file only walks Clusters.
//
// Internal to shared/webm; callers use finalize.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/io.h"
#include "common/status.h"

namespace recorder::webm::internal {

// Reads a RandomAccessReader by absolute offset through one small window, so that the walker's
// many few-byte reads of element headers cost one read of the input per window. Not thread-safe;
// one per job.
class WindowedSource {
 public:
  explicit WindowedSource(RandomAccessReader& input) : input_(input) {}
  WindowedSource(const WindowedSource&) = delete;
  WindowedSource& operator=(const WindowedSource&) = delete;

  uint64_t size() const { return input_.size(); }
  // Copies [pos, pos + n) into out. False if that range is not wholly inside the input or the
  // read fails.
  bool Read(uint64_t pos, void* out, size_t n);

 private:
  RandomAccessReader& input_;
  std::vector<uint8_t> window_;
  uint64_t window_pos_ = 0;
};

// One complete frame as stored in the file. Blocks are assumed unlaced (the walker rejects lacing).
struct BlockFrame {
  uint64_t track = 0;           // TrackNumber as written in the block
  int64_t timecode = 0;         // absolute: cluster Timecode + block's relative timecode
  bool key = false;             // SimpleBlock key flag; for a Block: no ReferenceBlock
  int64_t discard_padding = 0;  // DiscardPadding in ns, 0 when absent
  bool has_duration = false;
  uint64_t duration = 0;  // BlockDuration in timecode units, when has_duration
  uint64_t data_pos = 0;  // frame bytes are [data_pos, data_pos + data_size) in the file
  uint64_t data_size = 0;
  uint64_t cluster_pos = 0;  // where the frame's Cluster element starts in the file
};

// Where and why the walk stopped.
struct WalkEnd {
  uint64_t used_bytes = 0;  // offset just after the last element that was used or skipped whole
  bool truncated = false;   // true if the input ended, or turned unreadable, inside an element
  std::string reason;       // why truncated; empty when not
};

// Walks the Segment children in [payload_start, payload_start + payload_size) (payload_size < 0:
// unknown, i.e. up to the end of the file), skipping everything but Clusters, and calls on_frame
// for each complete SimpleBlock or BlockGroup in file order. Clusters may be of unknown size.
// Returns the first error on_frame returns, Unsupported for laced blocks, and otherwise a
// WalkEnd: damage or a cut anywhere ends the walk there rather than failing it, because
// everything before it is still good.
Result<WalkEnd> WalkClusters(WindowedSource& src, uint64_t payload_start, int64_t payload_size,
                             const std::function<Status(const BlockFrame&)>& on_frame);

}  // namespace recorder::webm::internal
