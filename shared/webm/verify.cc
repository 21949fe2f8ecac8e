// Verify(): reads a finalized file back with mkvparser (not with Finalize's own walker), so it is
// an independent check that libwebm's reader sees what Finalize meant to write.
//
// It streams. mkvparser's Segment keeps every Cluster it loads (and each Cluster an entry per
// block), so none is loaded through it: Verify walks the Segment's children itself with
// mkvparser's element reader, parses each Cluster on its own (mkvparser::Cluster::Create) and drops
// it before the next. Cues are checked on the way, against the Cluster they point at.
#include <common/webmids.h>
#include <mkvparser/mkvparser.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "webm/finalize.h"
#include "webm/mkv_io.h"

namespace recorder::webm {
namespace {

struct Seen {
  const mkvparser::Track* track = nullptr;
  uint64_t frames = 0;
  long long last_ns = -1;
};

// One track's position in a cue point: the Cluster it names (relative to the Segment's payload).
struct CueRef {
  long long cluster = 0;
  const mkvparser::CuePoint* point = nullptr;
  const mkvparser::CuePoint::TrackPosition* position = nullptr;
  const mkvparser::Track* track = nullptr;
};

// Finds the Cues through the SeekHead (the way a player does) and lists their positions in file
// order. Corrupt unless there are exactly `expected` cue points.
Result<std::vector<CueRef>> LoadCues(mkvparser::Segment& segment, uint64_t expected) {
  if (const mkvparser::SeekHead* head = segment.GetSeekHead()) {
    for (int i = 0; i < head->GetCount(); ++i) {
      const mkvparser::SeekHead::Entry* e = head->GetEntry(i);
      long long pos = 0;
      long len = 0;
      if (e && e->id == libwebm::kMkvCues && segment.ParseCues(e->pos, pos, len) != 0) {
        return Corrupt("the SeekHead's Cues entry does not lead to Cues");
      }
    }
  }
  std::vector<CueRef> refs;
  const mkvparser::Cues* cues = segment.GetCues();
  if (!cues) {
    if (expected == 0) return refs;
    return Corrupt("no Cues in the SeekHead");
  }
  // Finalize writes fewer than 40 bytes per cue point; this bounds what mkvparser allocates.
  if (static_cast<uint64_t>(cues->m_size) > 64 * kMaxCuePoints) return Corrupt("Cues larger than a finalized file's");
  while (cues->LoadCuePoint()) {
  }
  if (!cues->DoneParsing()) return Corrupt("bad Cues");
  if (static_cast<uint64_t>(cues->GetCount()) != expected) {
    return Corrupt("Cues has " + std::to_string(cues->GetCount()) + " cue points, expected " +
                   std::to_string(expected));
  }
  const mkvparser::Tracks& tracks = *segment.GetTracks();
  for (const mkvparser::CuePoint* cp = cues->GetFirst(); cp; cp = cues->GetNext(cp)) {
    const size_t before = refs.size();
    for (unsigned long i = 0; i < tracks.GetTracksCount(); ++i) {
      const mkvparser::Track* t = tracks.GetTrackByIndex(i);
      const mkvparser::CuePoint::TrackPosition* tp = t ? cp->Find(t) : nullptr;
      if (tp) refs.push_back({tp->m_pos, cp, tp, t});
    }
    if (refs.size() == before) return Corrupt("a cue point names no track");
  }
  std::stable_sort(refs.begin(), refs.end(), [](const CueRef& a, const CueRef& b) { return a.cluster < b.cluster; });
  return refs;
}

// Every cue names the start of a Cluster and a block there of its track; on a video track that
// block must be a keyframe, or seeking shows garbage.
Status CheckCue(const mkvparser::Cluster& cluster, const CueRef& cue) {
  const mkvparser::BlockEntry* e = cluster.GetEntry(*cue.point, *cue.position);
  if (!e || e->EOS() || !e->GetBlock()) return Corrupt("a cue names no block of its track");
  if (cue.track->GetType() == mkvparser::Track::kVideo && !e->GetBlock()->IsKey()) {
    return Corrupt("a video cue does not point at a keyframe");
  }
  return Status::Ok();
}

Status VerifyImpl(RandomAccessReader& finalized, const FinalizeInfo& expected) {
  internal::WindowedSource src(finalized);
  internal::MkvReaderAdapter reader(src);
  long long pos = 0;
  mkvparser::EBMLHeader ebml;
  if (ebml.Parse(&reader, pos) != 0) return Corrupt("no EBML header");
  mkvparser::Segment* raw = nullptr;
  if (mkvparser::Segment::CreateInstance(&reader, pos, raw) != 0 || !raw) {
    delete raw;
    return Corrupt("no Segment");
  }
  std::unique_ptr<mkvparser::Segment> segment(raw);
  if (segment->m_size < 0) return Corrupt("Segment size is unknown: not finalized");
  const long long start = segment->m_start;
  const long long stop = start + segment->m_size;
  if (stop > static_cast<long long>(src.size())) return Corrupt("the Segment runs past the end of the file");
  if (segment->ParseHeaders() != 0) return Corrupt("libwebm cannot parse the headers");

  const mkvparser::SegmentInfo* info = segment->GetInfo();
  if (!info || info->GetDuration() <= 0) return Corrupt("no Duration");
  const double duration_ms = static_cast<double>(info->GetDuration()) / 1e6;
  if (std::abs(duration_ms - static_cast<double>(expected.duration_ms)) > 1.0) {
    return Corrupt("Duration is " + std::to_string(duration_ms) + " ms, expected " +
                   std::to_string(expected.duration_ms));
  }

  const mkvparser::Tracks* tracks = segment->GetTracks();
  if (!tracks || tracks->GetTracksCount() != expected.tracks.size()) return Corrupt("track count differs");
  std::vector<Seen> seen;  // in the order of expected.tracks
  for (const TrackSummary& want : expected.tracks) {
    const mkvparser::Track* t = tracks->GetTrackByNumber(static_cast<long>(want.number));
    if (!t || !t->GetCodecId() || want.codec_id != t->GetCodecId()) {
      return Corrupt("track " + std::to_string(want.number) + " is missing or has another codec");
    }
    seen.push_back({t});
  }
  Result<std::vector<CueRef>> cues = LoadCues(*segment, expected.cue_points);
  if (!cues.ok()) return cues.status();

  size_t next_cue = 0;
  for (pos = start; pos < stop;) {
    const long long element = pos;
    long long id = 0, size = 0;
    if (mkvparser::ParseElementHeader(&reader, pos, stop, id, size) != 0 || size > stop - pos) {
      return Corrupt("bad element at byte " + std::to_string(element));
    }
    pos += size;
    if (id != libwebm::kMkvCluster) continue;
    const long long offset = element - start;
    if (next_cue < cues->size() && (*cues)[next_cue].cluster < offset) {
      return Corrupt("a cue points at byte " + std::to_string((*cues)[next_cue].cluster) + ", where no Cluster starts");
    }
    std::unique_ptr<mkvparser::Cluster> cluster(mkvparser::Cluster::Create(segment.get(), -1, offset));
    if (!cluster) return ResourceExhausted("out of memory verifying a recording");
    const mkvparser::BlockEntry* e = nullptr;
    if (cluster->GetFirst(e) < 0) return Corrupt("bad Cluster at byte " + std::to_string(element));
    // mkvparser keeps an entry per block of the Cluster: Finalize writes at most kMaxClusterBlocks,
    // and a damaged file claiming more is stopped there rather than read into memory.
    for (uint64_t blocks = 0; e && !e->EOS(); ++blocks) {
      if (blocks == kMaxClusterBlocks) {
        return Corrupt("the Cluster at byte " + std::to_string(element) + " has more than " +
                       std::to_string(kMaxClusterBlocks) + " blocks: not written by Finalize");
      }
      const mkvparser::Block* b = e->GetBlock();
      auto s = std::find_if(seen.begin(), seen.end(),
                            [&](const Seen& x) { return x.track->GetNumber() == b->GetTrackNumber(); });
      if (s == seen.end()) return Corrupt("a block of undeclared track " + std::to_string(b->GetTrackNumber()));
      const long long ns = b->GetTime(cluster.get());
      if (ns < s->last_ns) return Corrupt("timestamps go back on track " + std::to_string(b->GetTrackNumber()));
      s->last_ns = ns;
      s->frames += static_cast<uint64_t>(b->GetFrameCount());
      if (cluster->GetNext(e, e) < 0) return Corrupt("bad block in the Cluster at byte " + std::to_string(element));
    }
    for (; next_cue < cues->size() && (*cues)[next_cue].cluster == offset; ++next_cue) {
      RETURN_IF_ERROR(CheckCue(*cluster, (*cues)[next_cue]));
    }
  }
  if (next_cue < cues->size()) return Corrupt("a cue points past the last Cluster");
  for (size_t i = 0; i < seen.size(); ++i) {
    const TrackSummary& want = expected.tracks[i];
    if (seen[i].frames != want.frames) {
      return Corrupt("track " + std::to_string(want.number) + " has " + std::to_string(seen[i].frames) +
                     " frames, expected " + std::to_string(want.frames));
    }
  }
  return Status::Ok();
}

}  // namespace

Status Verify(RandomAccessReader& finalized, const FinalizeInfo& expected) {
  try {
    return VerifyImpl(finalized, expected);
  } catch (const std::bad_alloc&) {
    return ResourceExhausted("out of memory verifying a recording");
  }
}

Status Verify(const std::string& path, const FinalizeInfo& expected) {
  auto finalized = OpenFileReader(path);
  if (!finalized.ok()) return finalized.status();
  return Verify(**finalized, expected);
}

}  // namespace recorder::webm
