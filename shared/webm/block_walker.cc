#include "webm/block_walker.h"

#include <common/webmids.h>

#include <algorithm>
#include <cstring>

namespace recorder::webm::internal {
namespace {

constexpr size_t kWindowBytes = 64 * 1024;

}  // namespace

bool WindowedSource::Read(uint64_t pos, void* out, size_t n) {
  const uint64_t size = input_.size();
  if (pos > size || n > size - pos) return false;
  auto* dst = static_cast<uint8_t*>(out);
  if (n > kWindowBytes / 2) return input_.ReadAt(pos, dst, n).ok();
  if (pos < window_pos_ || pos + n > window_pos_ + window_.size()) {
    window_.resize(static_cast<size_t>(std::min<uint64_t>(kWindowBytes, size - pos)));
    if (!input_.ReadAt(pos, window_.data(), window_.size()).ok()) {
      window_.clear();
      return false;
    }
    window_pos_ = pos;
  }
  std::memcpy(dst, window_.data() + (pos - window_pos_), n);
  return true;
}

namespace {

constexpr uint64_t kUnknownSize = ~0ull;
constexpr uint64_t kMaxTimecode = 1ull << 53;

struct Header {
  uint64_t id = 0;
  uint64_t size = 0;  // kUnknownSize when all value bits are set
  uint64_t payload = 0;
};

enum class Read { kOk, kCut, kBad };  // kCut: the file ends inside; kBad: not a valid header

// Reads an EBML variable-length integer at pos. For an ID the length marker is kept (that is how
// IDs are written down); for a size it is removed and an all-ones value means unknown.
Read ReadVint(WindowedSource& src, uint64_t pos, bool is_id, uint64_t* value, int* len) {
  uint8_t bytes[8];
  if (!src.Read(pos, bytes, 1)) return Read::kCut;
  const int n = bytes[0] == 0 ? 9 : __builtin_clz(bytes[0]) - 23;
  if (n > (is_id ? 4 : 8)) return Read::kBad;
  if (!src.Read(pos, bytes, static_cast<size_t>(n))) return Read::kCut;
  uint64_t v = is_id ? bytes[0] : bytes[0] & (0xFFu >> n);
  bool all_ones = v == (0xFFu >> n);
  for (int i = 1; i < n; ++i) {
    v = (v << 8) | bytes[i];
    all_ones = all_ones && bytes[i] == 0xFF;
  }
  *value = (!is_id && all_ones) ? kUnknownSize : v;
  *len = n;
  return Read::kOk;
}

Read ReadHeader(WindowedSource& src, uint64_t pos, Header* h) {
  int id_len = 0;
  int size_len = 0;
  Read r = ReadVint(src, pos, true, &h->id, &id_len);
  if (r != Read::kOk) return r;
  r = ReadVint(src, pos + id_len, false, &h->size, &size_len);
  if (r != Read::kOk) return r;
  h->payload = pos + id_len + size_len;
  return Read::kOk;
}

// IDs that may follow a Cluster at Segment level; one of them ends an unknown-size Cluster.
bool IsSegmentChild(uint64_t id) {
  switch (id) {
    case libwebm::kMkvCluster:
    case libwebm::kMkvCues:
    case libwebm::kMkvTags:
    case libwebm::kMkvSeekHead:
    case libwebm::kMkvInfo:
    case libwebm::kMkvTracks:
    case libwebm::kMkvChapters:
    case 0x1941A469:         // Attachments (not in libwebm's id list)
    case libwebm::kMkvEBML:  // a new stream appended; ends this one
      return true;
    default:
      return false;
  }
}

bool ReadUint(WindowedSource& src, const Header& h, uint64_t* v) {
  uint8_t b[8];
  if (h.size > 8 || !src.Read(h.payload, b, static_cast<size_t>(h.size))) return false;
  *v = 0;
  for (uint64_t i = 0; i < h.size; ++i) *v = (*v << 8) | b[i];
  return true;
}

bool ReadSint(WindowedSource& src, const Header& h, int64_t* v) {
  uint64_t u = 0;
  if (h.size == 0 || !ReadUint(src, h, &u)) return false;
  const int shift = 64 - 8 * static_cast<int>(h.size);
  *v = static_cast<int64_t>(u << shift) >> shift;  // sign-extend
  return true;
}

// Outcome of one step of the walk: keep going at `next`, or stop.
struct Step {
  bool stop = false;
  uint64_t next = 0;
  const char* reason = nullptr;  // set when stopping because of a cut or damage
};

class Walker {
 public:
  Walker(WindowedSource& src, const std::function<Status(const BlockFrame&)>& on_frame)
      : src_(src), on_frame_(on_frame) {}

  Result<WalkEnd> Run(uint64_t start, int64_t payload_size) {
    const uint64_t file_end = src_.size();
    const bool known = payload_size >= 0;
    const uint64_t seg_end = known ? start + static_cast<uint64_t>(payload_size) : file_end;
    const uint64_t limit = std::min(seg_end, file_end);
    uint64_t pos = start;
    while (pos < limit) {
      Header h;
      const Read r = ReadHeader(src_, pos, &h);
      if (r != Read::kOk) return Stop(pos, r == Read::kCut ? "cut in an element header" : "bad element header");
      if (h.id == libwebm::kMkvEBML) return Stop(pos, "a second EBML header");
      Step step;
      if (h.id == libwebm::kMkvCluster) {
        Result<Step> s = WalkCluster(pos, h, limit);
        if (!s.ok()) return s.status();
        step = *s;
      } else if (h.size == kUnknownSize) {
        step = {true, pos, "unknown-size element that is not a Cluster"};
      } else if (h.size > limit - std::min(limit, h.payload)) {
        step = {true, pos, "element runs past the end"};
      } else {
        step.next = h.payload + h.size;  // Cues, Tags, Void, ...: not ours to copy
      }
      if (step.stop) return Stop(step.next, step.reason);
      pos = step.next;
    }
    if (seg_end > file_end) return Stop(file_end, "segment runs past the end of the file");
    WalkEnd end;
    end.used_bytes = pos;
    return end;
  }

 private:
  Result<WalkEnd> Stop(uint64_t pos, const char* reason) {
    WalkEnd end;
    end.used_bytes = pos;
    end.truncated = true;
    end.reason = reason;
    return end;
  }

  // Walks one Cluster. An unknown-size Cluster ends at the next Segment-level ID or at `limit`.
  Result<Step> WalkCluster(uint64_t cluster_pos, const Header& cluster, uint64_t limit) {
    const bool known = cluster.size != kUnknownSize;
    const uint64_t cluster_end =
        known && cluster.size <= limit - std::min(limit, cluster.payload) ? cluster.payload + cluster.size : limit;
    const bool cut_short = known && cluster_end != cluster.payload + cluster.size;
    bool have_timecode = false;
    uint64_t cluster_timecode = 0;
    uint64_t pos = cluster.payload;
    while (pos < cluster_end) {
      Header h;
      const Read r = ReadHeader(src_, pos, &h);
      if (r != Read::kOk) return Step{true, pos, r == Read::kCut ? "cut in an element header" : "bad element header"};
      if (!known && IsSegmentChild(h.id)) return Step{false, pos, nullptr};
      if (h.size == kUnknownSize) return Step{true, pos, "unknown-size element inside a cluster"};
      if (h.size > cluster_end - std::min(cluster_end, h.payload)) {
        const bool cut = h.size > src_.size() - h.payload;
        return Step{true, pos, cut ? "cut inside a block" : "element runs past its cluster"};
      }
      if (h.id == libwebm::kMkvTimecode) {
        // Bounded so that timecode arithmetic below cannot overflow.
        if (!ReadUint(src_, h, &cluster_timecode) || cluster_timecode > kMaxTimecode) {
          return Step{true, pos, "bad cluster timecode"};
        }
        have_timecode = true;
      } else if (h.id == libwebm::kMkvSimpleBlock || h.id == libwebm::kMkvBlockGroup) {
        if (!have_timecode) return Step{true, pos, "block before cluster timecode"};
        BlockFrame frame;
        frame.cluster_pos = cluster_pos;
        const bool simple = h.id == libwebm::kMkvSimpleBlock;
        Result<bool> parsed =
            simple ? ParseBlock(h, cluster_timecode, true, &frame) : ParseBlockGroup(h, cluster_timecode, &frame);
        if (!parsed.ok()) return parsed.status();
        if (!*parsed) return Step{true, pos, "bad block"};
        RETURN_IF_ERROR(on_frame_(frame));
      }
      pos = h.payload + h.size;
    }
    if (cut_short) return Step{true, pos, "cluster cut short"};
    return Step{false, pos, nullptr};
  }

  // Fills the frame from a SimpleBlock or Block payload. False if the block is malformed.
  Result<bool> ParseBlock(const Header& h, uint64_t cluster_timecode, bool simple, BlockFrame* f) {
    uint64_t track = 0;
    int track_len = 0;
    if (ReadVint(src_, h.payload, false, &track, &track_len) != Read::kOk) return false;
    uint8_t rest[3];
    if (track == kUnknownSize || h.size < static_cast<uint64_t>(track_len) + 3 ||
        !src_.Read(h.payload + track_len, rest, 3)) {
      return false;
    }
    if (rest[2] & 0x06) return Status(Unsupported("laced blocks are not supported"));
    const int16_t relative = static_cast<int16_t>((rest[0] << 8) | rest[1]);
    f->track = track;
    f->timecode = static_cast<int64_t>(cluster_timecode) + relative;
    if (simple) f->key = (rest[2] & 0x80) != 0;
    f->data_pos = h.payload + track_len + 3;
    f->data_size = h.size - track_len - 3;
    return true;
  }

  Result<bool> ParseBlockGroup(const Header& group, uint64_t cluster_timecode, BlockFrame* f) {
    const uint64_t end = group.payload + group.size;
    bool have_block = false;
    bool have_reference = false;
    for (uint64_t pos = group.payload; pos < end;) {
      Header h;
      if (ReadHeader(src_, pos, &h) != Read::kOk || h.size == kUnknownSize || h.size > end - std::min(end, h.payload)) {
        return false;
      }
      if (h.id == libwebm::kMkvBlock) {
        Result<bool> ok = ParseBlock(h, cluster_timecode, false, f);
        if (!ok.ok() || !*ok) return ok;
        have_block = true;
      } else if (h.id == libwebm::kMkvReferenceBlock) {
        have_reference = true;
      } else if (h.id == libwebm::kMkvBlockDuration) {
        if (!ReadUint(src_, h, &f->duration)) return false;
        f->has_duration = true;
      } else if (h.id == libwebm::kMkvDiscardPadding) {
        if (!ReadSint(src_, h, &f->discard_padding)) return false;
      }
      pos = h.payload + h.size;
    }
    f->key = !have_reference;
    return have_block;
  }

  WindowedSource& src_;
  const std::function<Status(const BlockFrame&)>& on_frame_;
};

}  // namespace

Result<WalkEnd> WalkClusters(WindowedSource& src, uint64_t payload_start, int64_t payload_size,
                             const std::function<Status(const BlockFrame&)>& on_frame) {
  return Walker(src, on_frame).Run(payload_start, payload_size);
}

}  // namespace recorder::webm::internal
