// Verify(): reads a finalized file back with mkvparser (not with Finalize's own walker), so it is
// an independent check that libwebm's reader sees what Finalize meant to write.
#include <cmath>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>

#include <mkvparser/mkvparser.h>

#include "webm/finalize.h"
#include "webm/mkv_io.h"

namespace recorder::webm {
namespace {

struct Seen {
  uint64_t frames = 0;
  long long last_ns = -1;
};

// Every cue on a video track must point at a keyframe of that track, or seeking shows garbage.
Status CheckCues(const mkvparser::Segment& segment, uint64_t expected_cue_points) {
  const mkvparser::Cues* cues = segment.GetCues();
  if (!cues) return expected_cue_points == 0 ? Status::Ok() : Corrupt("no Cues");
  while (!cues->DoneParsing()) cues->LoadCuePoint();
  if (static_cast<uint64_t>(cues->GetCount()) != expected_cue_points) {
    return Corrupt("Cues has " + std::to_string(cues->GetCount()) + " cue points, expected " +
                   std::to_string(expected_cue_points));
  }
  const mkvparser::Tracks& tracks = *segment.GetTracks();
  for (const mkvparser::CuePoint* cp = cues->GetFirst(); cp; cp = cues->GetNext(cp)) {
    for (unsigned long i = 0; i < tracks.GetTracksCount(); ++i) {
      const mkvparser::Track* t = tracks.GetTrackByIndex(i);
      if (!t || t->GetType() != mkvparser::Track::kVideo) continue;
      const mkvparser::CuePoint::TrackPosition* tp = cp->Find(t);
      if (!tp) continue;
      const mkvparser::BlockEntry* e = cues->GetBlock(cp, tp);
      if (!e || !e->GetBlock() || !e->GetBlock()->IsKey()) {
        return Corrupt("a video cue does not point at a keyframe");
      }
    }
  }
  return Status::Ok();
}

}  // namespace

Status Verify(RandomAccessReader& finalized, const FinalizeInfo& expected) {
  internal::MkvReaderAdapter reader(finalized);
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
  if (segment->Load() < 0) return Corrupt("libwebm cannot load the file");

  const mkvparser::SegmentInfo* info = segment->GetInfo();
  if (!info || info->GetDuration() <= 0) return Corrupt("no Duration");
  const double duration_ms = static_cast<double>(info->GetDuration()) / 1e6;
  if (std::abs(duration_ms - static_cast<double>(expected.duration_ms)) > 1.0) {
    return Corrupt("Duration is " + std::to_string(duration_ms) + " ms, expected " +
                   std::to_string(expected.duration_ms));
  }
  RETURN_IF_ERROR(CheckCues(*segment, expected.cue_points));

  const mkvparser::Tracks* tracks = segment->GetTracks();
  if (!tracks || tracks->GetTracksCount() != expected.tracks.size()) return Corrupt("track count differs");
  for (const TrackSummary& want : expected.tracks) {
    const mkvparser::Track* t = tracks->GetTrackByNumber(static_cast<long>(want.number));
    if (!t || !t->GetCodecId() || want.codec_id != t->GetCodecId()) {
      return Corrupt("track " + std::to_string(want.number) + " is missing or has another codec");
    }
  }

  std::map<long long, Seen> seen;
  for (const mkvparser::Cluster* c = segment->GetFirst(); c && !c->EOS(); c = segment->GetNext(c)) {
    const mkvparser::BlockEntry* e = nullptr;
    if (c->GetFirst(e) < 0) return Corrupt("bad cluster");
    while (e && !e->EOS()) {
      const mkvparser::Block* b = e->GetBlock();
      Seen& s = seen[b->GetTrackNumber()];
      const long long ns = b->GetTime(c);
      if (ns < s.last_ns) return Corrupt("timestamps go back on track " + std::to_string(b->GetTrackNumber()));
      s.last_ns = ns;
      s.frames += static_cast<uint64_t>(b->GetFrameCount());
      if (c->GetNext(e, e) < 0) return Corrupt("bad block");
    }
  }
  for (const TrackSummary& want : expected.tracks) {
    const uint64_t got = seen[static_cast<long long>(want.number)].frames;
    if (got != want.frames) {
      return Corrupt("track " + std::to_string(want.number) + " has " + std::to_string(got) +
                     " frames, expected " + std::to_string(want.frames));
    }
  }
  return Status::Ok();
}

Status Verify(const std::string& path, const FinalizeInfo& expected) {
  auto finalized = OpenFileReader(path);
  if (!finalized.ok()) return finalized.status();
  return Verify(**finalized, expected);
}

}  // namespace recorder::webm
