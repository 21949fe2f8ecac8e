#include "webm/finalize.h"

#include <common/webmids.h>
#include <mkvparser/mkvparser.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <new>
#include <optional>
#include <utility>

#include "webm/block_walker.h"
#include "webm/ebml_writer.h"
#include "webm/mkv_io.h"

namespace recorder::webm {
namespace {

using internal::BlockFrame;
using internal::EbmlWriter;
using internal::WindowedSource;

constexpr int64_t kNsPerSecond = 1'000'000'000;
constexpr int64_t kNsPerMs = 1'000'000;
// A Cluster ends after 5 s of media (as ffmpeg's and mkvmerge's do) or after kMaxClusterBlocks.
constexpr int64_t kMaxClusterNs = 5 * kNsPerSecond;
// A block's timecode is an int16 relative to its Cluster's.
constexpr int64_t kMaxRelativeTimecode = 32767;
constexpr char kMuxingApp[] = "interview-recorder finalize";

std::string Mib(uint64_t bytes) {
  char s[32];
  std::snprintf(s, sizeof s, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  return s;
}

std::string Seconds(int64_t ns) {
  char s[32];
  std::snprintf(s, sizeof s, "%.3f s", static_cast<double>(ns) / kNsPerSecond);
  return s;
}

// A video or audio track of the input, and what the two passes learn about it.
struct Track {
  const mkvparser::Track* in = nullptr;
  TrackSummary summary;  // summary.number is 0 until the track is known to have frames
  uint64_t default_duration_ns = 0;
  int64_t previous_timestamp_ns = -1;
  int64_t last_block_duration_ns = -1;  // BlockDuration of the last frame, -1 when absent
  int64_t counted_second = -1;          // the second of media whose frames are being counted
  uint64_t frames_in_second = 0;
  int64_t first_cue_candidate_ns = -1;  // first and last frame a cue may point at
  int64_t last_cue_candidate_ns = -1;
  // Write pass.
  int64_t last_tick = -1;
  uint64_t frames_written = 0;

  std::string Name() const {
    return std::string(summary.kind == TrackKind::kVideo ? "video" : "audio") + " track " +
           std::to_string(summary.input_number);
  }
  // Cues go on keyframes; every audio frame is one.
  bool CueCandidate(const BlockFrame& f) const { return f.key || summary.kind == TrackKind::kAudio; }
  // End of the track's last frame: its timestamp plus its duration, taken from BlockDuration,
  // else DefaultDuration, else the spacing of the last two frames.
  int64_t EndNs() const {
    const int64_t last = summary.last_timestamp_ns;
    if (last < 0) return 0;
    if (last_block_duration_ns >= 0) return last + last_block_duration_ns;
    if (default_duration_ns > 0) return last + static_cast<int64_t>(default_duration_ns);
    if (previous_timestamp_ns >= 0) return last + (last - previous_timestamp_ns);
    return last;
  }
};

Track* FindTrack(std::vector<Track>& tracks, uint64_t input_number) {
  for (Track& t : tracks) {
    if (t.summary.input_number == input_number) return &t;
  }
  return nullptr;
}

// Output timestamps are the input's, in its own timecode units ("ticks"), raised where they would
// go back below one already written (on any track): a seekable WebM needs them non-decreasing.
// Each pass runs one Timeline over the same frames, so both passes agree on every timestamp.
class Timeline {
 public:
  explicit Timeline(int64_t scale) : scale_(scale) {}
  Status Next(const BlockFrame& f, int64_t* tick, int64_t* ns) {
    int64_t t = f.timecode;
    if (t < last_) {
      t = last_;
      ++raised_;
    }
    if (__builtin_mul_overflow(t, scale_, ns)) return Corrupt("a timestamp overflows");
    last_ = *tick = t;
    return Status::Ok();
  }
  uint64_t raised() const { return raised_; }

 private:
  const int64_t scale_;
  int64_t last_ = 0;
  uint64_t raised_ = 0;
};

// Reads what the output's TrackEntry needs from the input's, and checks it.
Status DescribeTrack(Track* t) {
  const mkvparser::Track& in = *t->in;
  TrackSummary& s = t->summary;
  s.codec_id = in.GetCodecId() ? in.GetCodecId() : "";
  if (s.codec_id.empty()) return Corrupt("track " + std::to_string(s.input_number) + " has no CodecID");
  if (s.kind == TrackKind::kVideo) {
    const auto& v = static_cast<const mkvparser::VideoTrack&>(in);
    s.width = static_cast<uint64_t>(v.GetWidth());
    s.height = static_cast<uint64_t>(v.GetHeight());
    if (s.width == 0 || s.height == 0 || s.width > 65535 || s.height > 65535) {
      return Corrupt("video track " + std::to_string(s.input_number) + " has a bad size");
    }
  } else {
    const auto& a = static_cast<const mkvparser::AudioTrack&>(in);
    s.sample_rate = a.GetSamplingRate();
    s.channels = static_cast<uint64_t>(a.GetChannels());
    if (!(s.sample_rate > 0 && s.sample_rate < 1e7) || s.channels == 0 || s.channels > 255) {
      return Corrupt("audio track " + std::to_string(s.input_number) + " has a bad rate or channel count");
    }
  }
  t->default_duration_ns = in.GetDefaultDuration();
  return Status::Ok();
}

// Copied field by field (as mkvmuxer did), so VP8, Vorbis or any other codec passes through as
// VP9 and Opus do, and nothing the frames are not (ContentEncoding) is claimed.
void WriteTrackEntry(EbmlWriter& w, const Track& t) {
  const mkvparser::Track& in = *t.in;
  const TrackSummary& s = t.summary;
  const uint64_t entry = w.BeginMaster(libwebm::kMkvTrackEntry);
  w.Uint(libwebm::kMkvTrackNumber, s.number);
  w.Uint(libwebm::kMkvTrackUID, in.GetUid() != 0 ? in.GetUid() : s.number);
  w.Uint(libwebm::kMkvTrackType, s.kind == TrackKind::kVideo ? 1 : 2);
  w.String(libwebm::kMkvCodecID, s.codec_id);
  size_t private_size = 0;
  const unsigned char* codec_private = in.GetCodecPrivate(private_size);
  if (codec_private && private_size > 0) w.Binary(libwebm::kMkvCodecPrivate, codec_private, private_size);
  if (in.GetNameAsUTF8()) w.String(libwebm::kMkvName, in.GetNameAsUTF8());
  if (in.GetLanguage()) w.String(libwebm::kMkvLanguage, in.GetLanguage());
  if (in.GetCodecDelay() > 0) w.Uint(libwebm::kMkvCodecDelay, in.GetCodecDelay());
  if (in.GetSeekPreRoll() > 0) w.Uint(libwebm::kMkvSeekPreRoll, in.GetSeekPreRoll());
  if (t.default_duration_ns > 0) w.Uint(libwebm::kMkvDefaultDuration, t.default_duration_ns);
  if (s.kind == TrackKind::kVideo) {
    const auto& v = static_cast<const mkvparser::VideoTrack&>(in);
    const uint64_t video = w.BeginMaster(libwebm::kMkvVideo);
    w.Uint(libwebm::kMkvPixelWidth, s.width);
    w.Uint(libwebm::kMkvPixelHeight, s.height);
    if (v.GetDisplayWidth() > 0) w.Uint(libwebm::kMkvDisplayWidth, static_cast<uint64_t>(v.GetDisplayWidth()));
    if (v.GetDisplayHeight() > 0) w.Uint(libwebm::kMkvDisplayHeight, static_cast<uint64_t>(v.GetDisplayHeight()));
    if (v.GetFrameRate() > 0) w.Double(libwebm::kMkvFrameRate, v.GetFrameRate());
    w.EndMaster(video);
  } else {
    const auto& a = static_cast<const mkvparser::AudioTrack&>(in);
    const uint64_t audio = w.BeginMaster(libwebm::kMkvAudio);
    w.Double(libwebm::kMkvSamplingFrequency, s.sample_rate);
    w.Uint(libwebm::kMkvChannels, s.channels);
    if (a.GetBitDepth() > 0) w.Uint(libwebm::kMkvBitDepth, static_cast<uint64_t>(a.GetBitDepth()));
    w.EndMaster(audio);
  }
  w.EndMaster(entry);
}

// The frames written: those with a timestamp in [start_ns, end_ns) (a clip); Finalize's is all.
// Written timestamps are the input's minus start_tick.
struct Window {
  int64_t start_ns = 0;
  int64_t end_ns = INT64_MAX;
  int64_t start_tick = 0;
  bool Holds(int64_t ns) const { return ns >= start_ns && ns < end_ns; }
};

// Pass 1: every block header, checked against the limits; fills in the tracks' summaries and
// `info`'s counts for the frames in `window`. Writes nothing.
Result<internal::WalkEnd> ParsePass(WindowedSource& src, const mkvparser::Segment& in, int64_t scale,
                                    std::vector<Track>& tracks, FinalizeInfo* info, bool* any_frame,
                                    const Window& window = {}) {
  Timeline timeline(scale);
  auto on_frame = [&](const BlockFrame& f) -> Status {
    if (f.data_size > 0) *any_frame = true;
    Track* t = FindTrack(tracks, f.track);
    if (t == nullptr || f.data_size == 0) {  // an empty frame cannot be written
      ++info->skipped_frames;
      return Status::Ok();
    }
    int64_t tick = 0, ns = 0;
    RETURN_IF_ERROR(timeline.Next(f, &tick, &ns));
    if (!window.Holds(ns)) return Status::Ok();
    if (f.data_size > kMaxFrameBytes) {
      return Corrupt("a frame of " + Mib(f.data_size) + " on " + t->Name() + " at " + Seconds(ns) + ": more than the " +
                     Mib(kMaxFrameBytes) + " a recorded frame may have");
    }
    // ns >= 0: the Timeline starts at 0.
    if (ns / kNsPerSecond != t->counted_second) {
      t->counted_second = ns / kNsPerSecond;
      t->frames_in_second = 0;
    }
    if (++t->frames_in_second > kMaxFramesPerSecond) {
      return Corrupt(t->Name() + " has more than " + std::to_string(kMaxFramesPerSecond) +
                     " frames within one second of media (at " + Seconds(ns) +
                     (timeline.raised() > 0 ? ", where timestamps went back" : "") + "): not a recording");
    }
    int64_t duration_ns = -1;
    int64_t end_ns = 0;
    if (f.has_duration && (f.duration > static_cast<uint64_t>(INT64_MAX) ||
                           __builtin_mul_overflow(static_cast<int64_t>(f.duration), scale, &duration_ns) ||
                           __builtin_add_overflow(ns, duration_ns, &end_ns))) {
      return Corrupt("block duration overflows");
    }
    TrackSummary& s = t->summary;
    ++s.frames;
    if (f.key) ++s.keyframes;
    if (f.key && s.kind == TrackKind::kVideo) ++info->video_keyframes;
    if (s.first_timestamp_ns < 0) s.first_timestamp_ns = ns;
    t->previous_timestamp_ns = s.last_timestamp_ns;
    s.last_timestamp_ns = ns;
    t->last_block_duration_ns = duration_ns;
    if (t->CueCandidate(f)) {
      if (t->first_cue_candidate_ns < 0) t->first_cue_candidate_ns = ns;
      t->last_cue_candidate_ns = ns;
    }
    return Status::Ok();
  };
  Result<internal::WalkEnd> end = internal::WalkClusters(src, static_cast<uint64_t>(in.m_start), in.m_size, on_frame);
  info->raised_timestamps = timeline.raised();
  return end;
}

// What the write pass needs from the parse pass.
struct Plan {
  int64_t scale = 0;
  std::vector<Track*> tracks;  // the tracks written, in output order
  const Track* cue_track = nullptr;
  int64_t cue_spacing_ns = 0;
  bool has_cues = false;
  int64_t duration_ns = 0;
  std::string writing_app;
  Window window;
};

// Pass 2: writes the seekable file. Layout: EBML header, Segment { SeekHead, Info, Tracks,
// Cluster..., Cues }; the SeekHead's Cues position and the Segment and Cluster sizes are filled
// in when known. Sizes are 8-byte fields so that they can be.
Status WritePass(WindowedSource& src, const mkvparser::Segment& in, std::vector<Track>& all_tracks, const Plan& plan,
                 SeekableWriter& seekable, FinalizeInfo* info) {
  EbmlWriter w(seekable);
  uint64_t m = w.BeginMaster(libwebm::kMkvEBML);
  w.Uint(libwebm::kMkvEBMLVersion, 1);
  w.Uint(libwebm::kMkvEBMLReadVersion, 1);
  w.Uint(libwebm::kMkvEBMLMaxIDLength, 4);
  w.Uint(libwebm::kMkvEBMLMaxSizeLength, 8);
  w.String(libwebm::kMkvDocType, "webm");
  w.Uint(libwebm::kMkvDocTypeVersion, 4);
  w.Uint(libwebm::kMkvDocTypeReadVersion, 2);
  w.EndMaster(m);

  const uint64_t segment_size = w.BeginMaster(libwebm::kMkvSegment);
  const uint64_t segment_start = w.position();  // positions in SeekHead and Cues are relative to it
  m = w.BeginMaster(libwebm::kMkvSeekHead);
  auto seek_entry = [&](uint32_t id) {
    const uint64_t entry = w.BeginMaster(libwebm::kMkvSeek);
    w.Uint(libwebm::kMkvSeekID, id);
    const uint64_t value = w.Uint64(libwebm::kMkvSeekPosition, 0);
    w.EndMaster(entry);
    return value;
  };
  const uint64_t info_seek = seek_entry(libwebm::kMkvInfo);
  const uint64_t tracks_seek = seek_entry(libwebm::kMkvTracks);
  const uint64_t cues_seek = plan.has_cues ? seek_entry(libwebm::kMkvCues) : 0;
  w.EndMaster(m);

  w.PatchUint64(info_seek, w.position() - segment_start);
  m = w.BeginMaster(libwebm::kMkvInfo);
  w.Uint(libwebm::kMkvTimecodeScale, static_cast<uint64_t>(plan.scale));
  w.Double(libwebm::kMkvDuration, static_cast<double>(plan.duration_ns) / static_cast<double>(plan.scale));
  w.String(libwebm::kMkvMuxingApp, kMuxingApp);
  w.String(libwebm::kMkvWritingApp, plan.writing_app.empty() ? kMuxingApp : plan.writing_app);
  w.EndMaster(m);

  w.PatchUint64(tracks_seek, w.position() - segment_start);
  m = w.BeginMaster(libwebm::kMkvTracks);
  for (const Track* t : plan.tracks) WriteTrackEntry(w, *t);
  w.EndMaster(m);
  RETURN_IF_ERROR(w.status());

  struct Cue {
    int64_t tick;
    uint64_t cluster;  // relative to segment_start
  };
  std::vector<Cue> cues;
  bool in_cluster = false;
  uint64_t cluster_size = 0, cluster_blocks = 0;
  int64_t cluster_tick = 0, cluster_ns = 0, last_cue_ns = -1;
  Timeline timeline(plan.scale);
  auto on_frame = [&](const BlockFrame& f) -> Status {
    Track* t = FindTrack(all_tracks, f.track);
    if (t == nullptr || t->summary.number == 0 || f.data_size == 0) return Status::Ok();
    int64_t tick = 0, ns = 0;
    RETURN_IF_ERROR(timeline.Next(f, &tick, &ns));
    if (!plan.window.Holds(ns)) return Status::Ok();
    tick -= plan.window.start_tick;
    ns -= plan.window.start_ns;
    const bool on_cue_track = t == plan.cue_track;
    const bool cue = on_cue_track && t->CueCandidate(f) && (last_cue_ns < 0 || ns - last_cue_ns >= plan.cue_spacing_ns);
    // Video keyframes start Clusters, as the WebM guidelines ask, whether or not they get a cue.
    const bool keyframe = on_cue_track && f.key && t->summary.kind == TrackKind::kVideo;
    if (!in_cluster || cue || keyframe || tick - cluster_tick > kMaxRelativeTimecode ||
        ns - cluster_ns >= kMaxClusterNs || cluster_blocks >= kMaxClusterBlocks) {
      if (in_cluster) w.EndMaster(cluster_size);
      if (cue) {
        // Cannot happen: the spacing was chosen for at most kMaxCuePoints; checked all the same.
        if (cues.size() >= kMaxCuePoints) return Internal("more cue points than planned");
        cues.push_back({tick, w.position() - segment_start});
        last_cue_ns = ns;
      }
      cluster_size = w.BeginMaster(libwebm::kMkvCluster);
      w.Uint(libwebm::kMkvTimecode, static_cast<uint64_t>(tick));
      in_cluster = true;
      cluster_tick = tick;
      cluster_ns = ns;
      cluster_blocks = 0;
    }
    const int64_t relative = tick - cluster_tick;  // 0..kMaxRelativeTimecode
    // Block header: track number (1..kMaxTracks fits one byte), relative timecode, flags.
    uint8_t header[4] = {static_cast<uint8_t>(0x80 | t->summary.number), static_cast<uint8_t>(relative >> 8),
                         static_cast<uint8_t>(relative), 0};
    const uint64_t block_bytes = sizeof header + f.data_size;
    const bool has_duration = f.has_duration && f.duration > 0;
    if (!has_duration && f.discard_padding == 0) {
      header[3] = f.key ? 0x80 : 0x00;
      w.Element(libwebm::kMkvSimpleBlock, block_bytes);
      w.Bytes(header, sizeof header);
      w.CopyFrom(src, f.data_pos, f.data_size);
    } else {
      // In a BlockGroup a frame is a keyframe when it has no ReferenceBlock; the reference given
      // is the track's previous frame.
      const int64_t reference = t->last_tick >= 0 ? t->last_tick - tick : 0;
      uint64_t group = internal::EbmlHeaderBytes(libwebm::kMkvBlock, block_bytes) + block_bytes;
      if (has_duration) group += internal::EbmlUintBytes(libwebm::kMkvBlockDuration, f.duration);
      if (!f.key) group += internal::EbmlIntBytes(libwebm::kMkvReferenceBlock, reference);
      if (f.discard_padding != 0) group += internal::EbmlIntBytes(libwebm::kMkvDiscardPadding, f.discard_padding);
      w.Element(libwebm::kMkvBlockGroup, group);
      w.Element(libwebm::kMkvBlock, block_bytes);
      w.Bytes(header, sizeof header);
      w.CopyFrom(src, f.data_pos, f.data_size);
      if (has_duration) w.Uint(libwebm::kMkvBlockDuration, f.duration);
      if (!f.key) w.Int(libwebm::kMkvReferenceBlock, reference);
      if (f.discard_padding != 0) w.Int(libwebm::kMkvDiscardPadding, f.discard_padding);
    }
    ++cluster_blocks;
    ++t->frames_written;
    t->last_tick = tick;
    return w.status();
  };
  Result<internal::WalkEnd> end = internal::WalkClusters(src, static_cast<uint64_t>(in.m_start), in.m_size, on_frame);
  if (!end.ok()) return end.status();
  if (in_cluster) w.EndMaster(cluster_size);
  for (const Track* t : plan.tracks) {
    if (t->frames_written != t->summary.frames) return IoError("the input changed while it was finalized");
  }
  if (plan.has_cues != !cues.empty()) return Internal("cue points differ from the plan");

  if (!cues.empty()) {
    w.PatchUint64(cues_seek, w.position() - segment_start);
    const uint64_t cue_track = plan.cue_track->summary.number;
    m = w.BeginMaster(libwebm::kMkvCues);
    for (const Cue& c : cues) {
      // Each cue starts its Cluster, so the default CueBlockNumber (1) is right and left out.
      const uint64_t positions = internal::EbmlUintBytes(libwebm::kMkvCueTrack, cue_track) +
                                 internal::EbmlUintBytes(libwebm::kMkvCueClusterPosition, c.cluster);
      const uint64_t point = internal::EbmlUintBytes(libwebm::kMkvCueTime, static_cast<uint64_t>(c.tick)) +
                             internal::EbmlHeaderBytes(libwebm::kMkvCueTrackPositions, positions) + positions;
      w.Element(libwebm::kMkvCuePoint, point);
      w.Uint(libwebm::kMkvCueTime, static_cast<uint64_t>(c.tick));
      w.Element(libwebm::kMkvCueTrackPositions, positions);
      w.Uint(libwebm::kMkvCueTrack, cue_track);
      w.Uint(libwebm::kMkvCueClusterPosition, c.cluster);
    }
    w.EndMaster(m);
  }
  w.EndMaster(segment_size);
  info->output_bytes = w.position();
  info->cue_points = cues.size();
  return w.Flush();
}

// The start of a clip from `from_ns`: the last keyframe of the first video track at or before
// from_ns + the slack; from_ns itself without video (every audio frame starts cleanly).
Result<int64_t> ClipStartNs(WindowedSource& src, const mkvparser::Segment& in, int64_t scale,
                            const std::vector<Track>& tracks, int64_t from_ns) {
  const Track* video = nullptr;
  for (const Track& t : tracks) {
    if (t.summary.kind == TrackKind::kVideo && t.summary.frames > 0) {
      video = &t;
      break;
    }
  }
  if (video == nullptr) return from_ns;
  const int64_t limit = from_ns + kClipKeyframeSlackMs * kNsPerMs;
  int64_t start = -1;
  Timeline timeline(scale);
  auto on_frame = [&](const BlockFrame& f) -> Status {
    int64_t tick = 0, ns = 0;
    RETURN_IF_ERROR(timeline.Next(f, &tick, &ns));
    if (f.track == video->summary.input_number && f.key && f.data_size > 0 && ns <= limit) start = ns;
    return Status::Ok();
  };
  auto end = internal::WalkClusters(src, static_cast<uint64_t>(in.m_start), in.m_size, on_frame);
  if (!end.ok()) return end.status();
  if (start < 0) return NotFound("no keyframe at or before the clip's start");
  return start;
}

// Finalize, or with `clip_ms` = {from, to} a clip.
Result<FinalizeInfo> FinalizeImpl(RandomAccessReader& live, SeekableWriter& seekable,
                                  std::optional<std::pair<int64_t, int64_t>> clip_ms = std::nullopt) {
  using Clock = std::chrono::steady_clock;
  const Clock::time_point started = Clock::now();
  WindowedSource src(live);
  internal::MkvReaderAdapter reader(src, kMaxHeaderBytes);
  Result<std::unique_ptr<mkvparser::Segment>> parsed = internal::ParseHeaders(src, reader);
  if (!parsed.ok()) return parsed.status();
  const mkvparser::Segment& in = **parsed;
  Plan plan;
  plan.scale = in.GetInfo()->GetTimeCodeScale();
  if (plan.scale <= 0) return Corrupt("bad TimecodeScale");
  if (in.GetInfo()->GetWritingAppAsUTF8()) plan.writing_app = in.GetInfo()->GetWritingAppAsUTF8();

  std::vector<Track> tracks;  // the input's video and audio tracks, in input order
  const mkvparser::Tracks& in_tracks = *in.GetTracks();
  for (unsigned long i = 0; i < in_tracks.GetTracksCount(); ++i) {
    const mkvparser::Track* t = in_tracks.GetTrackByIndex(i);
    if (!t || (t->GetType() != mkvparser::Track::kVideo && t->GetType() != mkvparser::Track::kAudio)) continue;
    Track& track = tracks.emplace_back();
    track.in = t;
    track.summary.input_number = static_cast<uint64_t>(t->GetNumber());
    track.summary.kind = t->GetType() == mkvparser::Track::kVideo ? TrackKind::kVideo : TrackKind::kAudio;
  }

  FinalizeInfo info;
  bool any_frame = false;
  Result<internal::WalkEnd> end = ParsePass(src, in, plan.scale, tracks, &info, &any_frame);
  if (!end.ok()) return end.status();
  if (clip_ms) {
    // The whole input passed the checks; now the window's frames alone are planned.
    int64_t input_end_ns = 0;
    for (const Track& t : tracks) input_end_ns = std::max(input_end_ns, t.EndNs());
    if (clip_ms->first * kNsPerMs >= input_end_ns) return NotFound("the clip starts after the end of its input");
    auto start = ClipStartNs(src, in, plan.scale, tracks, clip_ms->first * kNsPerMs);
    if (!start.ok()) return start.status();
    plan.window.start_ns = *start;
    plan.window.start_tick = *start / plan.scale;
    plan.window.end_ns = clip_ms->second < 0 ? INT64_MAX : clip_ms->second * kNsPerMs;
    for (Track& t : tracks) {
      Track fresh;
      fresh.in = t.in;
      fresh.summary.input_number = t.summary.input_number;
      fresh.summary.kind = t.summary.kind;
      t = fresh;
    }
    info = FinalizeInfo{};
    end = ParsePass(src, in, plan.scale, tracks, &info, &any_frame, plan.window);
    if (!end.ok()) return end.status();
    bool any = false;
    for (const Track& t : tracks) any = any || t.summary.frames > 0;
    if (!any) return NotFound("no frame of the input lies in the clip's range");
    info.clip_start_ms = plan.window.start_ns / kNsPerMs;
  }

  // Tracks without a single frame are left out: a screen share of a tab that never changed has
  // its audio and an empty video track, which nobody can play. Output tracks are numbered 1..N.
  for (Track& t : tracks) {
    if (t.summary.frames == 0) continue;
    RETURN_IF_ERROR(DescribeTrack(&t));
    plan.tracks.push_back(&t);
    t.summary.number = plan.tracks.size();
  }
  if (plan.tracks.empty()) return Corrupt(any_frame ? "no video or audio track" : "no complete frame in the input");

  for (const Track* t : plan.tracks) {
    plan.duration_ns = std::max(plan.duration_ns, t->EndNs() - plan.window.start_ns);
    if (plan.cue_track == nullptr && t->summary.kind == TrackKind::kVideo) plan.cue_track = t;
  }
  if (plan.cue_track == nullptr) plan.cue_track = plan.tracks.front();
  // A Duration must be positive: at least one timecode tick, e.g. for a single frame of unknown
  // length.
  plan.duration_ns = std::max(plan.duration_ns, plan.scale);
  // Cues at least kMinCueSpacingMs apart, and far enough apart that the cue track's span holds
  // at most kMaxCuePoints of them: the Cues' size follows the media's duration, not its frames.
  const Track& cue = *plan.cue_track;
  plan.has_cues = cue.first_cue_candidate_ns >= 0;
  plan.cue_spacing_ns = kMinCueSpacingMs * kNsPerMs;
  if (plan.has_cues) {
    const int64_t span = cue.last_cue_candidate_ns - cue.first_cue_candidate_ns;
    const int64_t intervals = static_cast<int64_t>(kMaxCuePoints) - 1;
    plan.cue_spacing_ns = std::max(plan.cue_spacing_ns, span / intervals + (span % intervals != 0));
  }
  info.parse_seconds = std::chrono::duration<double>(Clock::now() - started).count();

  const Clock::time_point writing = Clock::now();
  RETURN_IF_ERROR(WritePass(src, in, tracks, plan, seekable, &info));
  info.write_seconds = std::chrono::duration<double>(Clock::now() - writing).count();

  info.duration_ms = static_cast<int64_t>(std::llround(static_cast<double>(plan.duration_ns) / 1e6));
  for (const Track* t : plan.tracks) info.tracks.push_back(t->summary);
  info.cue_spacing_ms = (plan.cue_spacing_ns + kNsPerMs - 1) / kNsPerMs;
  info.truncated = end->truncated;
  info.ignored_bytes = src.size() - end->used_bytes;
  info.truncation_reason = end->reason;
  return info;
}

}  // namespace

Result<FinalizeInfo> Finalize(RandomAccessReader& live, SeekableWriter& seekable) {
  try {
    return FinalizeImpl(live, seekable);
  } catch (const std::bad_alloc&) {  // from std containers; libwebm itself uses nothrow new
    return ResourceExhausted("out of memory finalizing a recording");
  }
}

Result<FinalizeInfo> Clip(RandomAccessReader& input, SeekableWriter& out, int64_t from_ms, int64_t to_ms) {
  if (from_ms < 0 || (to_ms >= 0 && to_ms <= from_ms)) return InvalidArgument("a clip needs 0 <= from < to");
  try {
    return FinalizeImpl(input, out, std::pair(from_ms, to_ms));
  } catch (const std::bad_alloc&) {
    return ResourceExhausted("out of memory cutting a clip");
  }
}

namespace {

// The first `size` bytes of a reader: what a live view may read of a spool file that a PATCH in
// progress may be writing beyond.
class PrefixReader : public RandomAccessReader {
 public:
  PrefixReader(RandomAccessReader& input, uint64_t size) : input_(input), size_(std::min(size, input.size())) {}
  uint64_t size() const override { return size_; }
  Status ReadAt(uint64_t offset, void* out, size_t n) override {
    if (offset > size_ || n > size_ - offset) return IoError("read past the available bytes");
    return input_.ReadAt(offset, out, n);
  }

 private:
  RandomAccessReader& input_;
  const uint64_t size_;
};

}  // namespace

Result<LivePoints> FindLivePoints(RandomAccessReader& live, uint64_t available) {
  PrefixReader prefix(live, available);
  WindowedSource src(prefix);
  internal::MkvReaderAdapter reader(src, kMaxHeaderBytes);
  Result<std::unique_ptr<mkvparser::Segment>> parsed = internal::ParseHeaders(src, reader);
  if (!parsed.ok()) return parsed.status();
  const mkvparser::Segment& in = **parsed;
  uint64_t video = 0;  // TrackNumber of the first video track; 0: none
  const mkvparser::Tracks& tracks = *in.GetTracks();
  for (unsigned long i = 0; i < tracks.GetTracksCount() && video == 0; ++i) {
    const mkvparser::Track* t = tracks.GetTrackByIndex(i);
    if (t && t->GetType() == mkvparser::Track::kVideo) video = static_cast<uint64_t>(t->GetNumber());
  }
  std::optional<LivePoints> points;
  std::optional<uint64_t> last_video_cluster;  // the Cluster whose first video frame was seen last
  auto on_frame = [&](const BlockFrame& f) {
    if (!points) points = LivePoints{f.cluster_pos, f.cluster_pos};
    if (video != 0 && f.track == video && last_video_cluster != f.cluster_pos) {
      last_video_cluster = f.cluster_pos;
      if (f.key) points->join_at = f.cluster_pos;
    }
    return Status::Ok();
  };
  Result<internal::WalkEnd> end = internal::WalkClusters(src, static_cast<uint64_t>(in.m_start), in.m_size, on_frame);
  if (!end.ok()) return end.status();
  if (!points) return Corrupt("no complete frame yet");
  return *points;
}

Result<FinalizeInfo> Finalize(const std::string& live_path, const std::string& seekable_path) {
  auto live = OpenFileReader(live_path);
  if (!live.ok()) return live.status();
  auto seekable = FileWriter::Create(seekable_path);
  if (!seekable.ok()) return seekable.status();
  auto info = Finalize(**live, **seekable);
  if (!info.ok()) return info.status();
  RETURN_IF_ERROR((*seekable)->Sync());
  return info;
}

}  // namespace recorder::webm
