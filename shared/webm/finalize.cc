#include "webm/finalize.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <new>
#include <set>

#include <mkvmuxer/mkvmuxer.h>
#include <mkvparser/mkvparser.h>

#include "webm/block_walker.h"
#include "webm/mkv_io.h"

namespace recorder::webm {
namespace {

using internal::BlockFrame;
using internal::MkvReaderAdapter;
using internal::MkvWriterAdapter;
using internal::WindowedSource;

// What Finalize tracks per output track, beyond the summary it returns.
struct TrackState {
  TrackSummary summary;
  uint64_t default_duration_ns = 0;
  int64_t previous_timestamp_ns = -1;
  int64_t last_block_duration_ns = -1;  // BlockDuration of the last frame, -1 when absent

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

Status CopyTrack(const mkvparser::Track& in, uint64_t number, mkvmuxer::Segment& muxer,
                 TrackState* state) {
  TrackSummary& s = state->summary;
  s.number = number;
  s.input_number = static_cast<uint64_t>(in.GetNumber());
  s.codec_id = in.GetCodecId() ? in.GetCodecId() : "";
  if (s.codec_id.empty()) return Corrupt("track " + std::to_string(s.input_number) + " has no CodecID");

  mkvmuxer::Track* out = nullptr;
  if (in.GetType() == mkvparser::Track::kVideo) {
    const auto& v = static_cast<const mkvparser::VideoTrack&>(in);
    s.kind = TrackKind::kVideo;
    s.width = static_cast<uint64_t>(v.GetWidth());
    s.height = static_cast<uint64_t>(v.GetHeight());
    if (s.width == 0 || s.height == 0 || s.width > 65535 || s.height > 65535) {
      return Corrupt("video track " + std::to_string(s.input_number) + " has a bad size");
    }
    if (muxer.AddVideoTrack(static_cast<int32_t>(s.width), static_cast<int32_t>(s.height),
                            static_cast<int32_t>(number)) != number) {
      return Internal("mkvmuxer refused the video track");
    }
    auto* video = static_cast<mkvmuxer::VideoTrack*>(muxer.GetTrackByNumber(number));
    if (v.GetDisplayWidth() > 0) video->set_display_width(static_cast<uint64_t>(v.GetDisplayWidth()));
    if (v.GetDisplayHeight() > 0) video->set_display_height(static_cast<uint64_t>(v.GetDisplayHeight()));
    if (v.GetFrameRate() > 0) video->set_frame_rate(v.GetFrameRate());
    out = video;
  } else {
    const auto& a = static_cast<const mkvparser::AudioTrack&>(in);
    s.kind = TrackKind::kAudio;
    s.sample_rate = a.GetSamplingRate();
    s.channels = static_cast<uint64_t>(a.GetChannels());
    if (!(s.sample_rate > 0 && s.sample_rate < 1e7) || s.channels == 0 || s.channels > 255) {
      return Corrupt("audio track " + std::to_string(s.input_number) + " has a bad rate or channel count");
    }
    if (muxer.AddAudioTrack(static_cast<int32_t>(s.sample_rate), static_cast<int32_t>(s.channels),
                            static_cast<int32_t>(number)) != number) {
      return Internal("mkvmuxer refused the audio track");
    }
    auto* audio = static_cast<mkvmuxer::AudioTrack*>(muxer.GetTrackByNumber(number));
    audio->set_sample_rate(s.sample_rate);  // AddAudioTrack takes an integer rate
    if (a.GetBitDepth() > 0) audio->set_bit_depth(static_cast<uint64_t>(a.GetBitDepth()));
    out = audio;
  }
  // Copied generically, so VP8, Vorbis or anything else passes through as VP9 and Opus do.
  out->set_codec_id(s.codec_id.c_str());
  size_t private_size = 0;
  const unsigned char* codec_private = in.GetCodecPrivate(private_size);
  if (codec_private && private_size > 0 && !out->SetCodecPrivate(codec_private, private_size)) {
    return ResourceExhausted("cannot copy CodecPrivate");
  }
  out->set_codec_delay(in.GetCodecDelay());
  out->set_seek_pre_roll(in.GetSeekPreRoll());
  state->default_duration_ns = in.GetDefaultDuration();
  if (state->default_duration_ns > 0) out->set_default_duration(state->default_duration_ns);
  if (in.GetUid() != 0) out->set_uid(in.GetUid());
  if (in.GetNameAsUTF8()) out->set_name(in.GetNameAsUTF8());
  if (in.GetLanguage()) out->set_language(in.GetLanguage());
  return Status::Ok();
}

// Parses the EBML header, Info and Tracks with mkvparser. A live stream has all of them before
// the first Cluster, so a file cut before that has nothing worth keeping: Corrupt.
Result<std::unique_ptr<mkvparser::Segment>> ParseHeaders(mkvparser::IMkvReader& reader) {
  long long pos = 0;
  mkvparser::EBMLHeader ebml;
  if (ebml.Parse(&reader, pos) != 0) return Corrupt("no EBML header: not a WebM file");
  if (!ebml.m_docType ||
      (std::strcmp(ebml.m_docType, "webm") != 0 && std::strcmp(ebml.m_docType, "matroska") != 0)) {
    return Corrupt("EBML DocType is not webm");
  }
  mkvparser::Segment* raw = nullptr;
  if (mkvparser::Segment::CreateInstance(&reader, pos, raw) != 0 || raw == nullptr) {
    delete raw;
    return Corrupt("no Segment after the EBML header");
  }
  std::unique_ptr<mkvparser::Segment> segment(raw);
  const long long status = segment->ParseHeaders();
  if (status < 0) return Corrupt("bad Segment headers (libwebm status " + std::to_string(status) + ")");
  if (status > 0) return Corrupt("file ends inside the Segment headers");
  if (!segment->GetInfo()) return Corrupt("no Segment Info");
  if (!segment->GetTracks() || segment->GetTracks()->GetTracksCount() == 0) return Corrupt("no Tracks");
  return segment;
}

bool MultiplyNs(int64_t timecode, int64_t scale, int64_t* ns) {
  return !__builtin_mul_overflow(timecode, scale, ns);
}

Result<FinalizeInfo> FinalizeImpl(RandomAccessReader& live, SeekableWriter& seekable) {
  WindowedSource src(live);
  MkvReaderAdapter reader(live);

  Result<std::unique_ptr<mkvparser::Segment>> parsed = ParseHeaders(reader);
  if (!parsed.ok()) return parsed.status();
  const mkvparser::Segment& in = **parsed;
  const int64_t scale = in.GetInfo()->GetTimeCodeScale();
  if (scale <= 0) return Corrupt("bad TimecodeScale");

  MkvWriterAdapter out(seekable);
  mkvmuxer::Segment muxer;
  if (!muxer.Init(&out)) return Internal("mkvmuxer Init failed");
  muxer.set_mode(mkvmuxer::Segment::kFile);
  // Output timestamps are the input's, exactly, in the input's own timecode units.
  muxer.GetSegmentInfo()->set_timecode_scale(static_cast<uint64_t>(scale));
  if (in.GetInfo()->GetWritingAppAsUTF8()) muxer.GetSegmentInfo()->set_writing_app(in.GetInfo()->GetWritingAppAsUTF8());

  // Tracks without a single frame are left out: a screen share of a tab that never changed has
  // its audio and an empty video track, which mkvmuxer cannot finalize (and nobody can play).
  std::set<uint64_t> tracks_with_frames;
  Result<internal::WalkEnd> counted = internal::WalkClusters(
      src, static_cast<uint64_t>(in.m_start), in.m_size, [&](const BlockFrame& f) {
        if (f.data_size > 0) tracks_with_frames.insert(f.track);
        return Status::Ok();
      });
  if (!counted.ok()) return counted.status();

  // Output tracks are numbered 1..N: mkvmuxer indexes per-track state by number - 1.
  std::vector<TrackState> tracks;
  const mkvparser::Tracks& in_tracks = *in.GetTracks();
  for (unsigned long i = 0; i < in_tracks.GetTracksCount(); ++i) {
    const mkvparser::Track* t = in_tracks.GetTrackByIndex(i);
    if (!t || (t->GetType() != mkvparser::Track::kVideo && t->GetType() != mkvparser::Track::kAudio)) continue;
    if (!tracks_with_frames.count(static_cast<uint64_t>(t->GetNumber()))) continue;
    tracks.emplace_back();
    RETURN_IF_ERROR(CopyTrack(*t, tracks.size(), muxer, &tracks.back()));
  }
  if (tracks.empty()) {
    return Corrupt(tracks_with_frames.empty() ? "no complete frame in the input" : "no video or audio track");
  }

  uint64_t cue_track = 0;
  for (const TrackState& t : tracks) {
    if (t.summary.kind == TrackKind::kVideo) {
      cue_track = t.summary.number;
      break;
    }
  }
  const bool cues_on_video = cue_track != 0;
  // mkvmuxer's own cue logic puts a cue on the first cues-track frame of every new cluster, key
  // or not (a stream starting mid-GOP, or a cluster forced by the 32 s block timecode limit), and
  // a cue on a non-keyframe breaks seeking. With video, cues are therefore added by hand on
  // keyframes, and mkvmuxer's cue output is switched on only for Segment::Finalize.
  muxer.OutputCues(!cues_on_video);
  if (!cues_on_video) {
    // Audio only: mkvmuxer starts clusters on video keyframes, so bound them by time instead;
    // each new cluster gets a cue on the first audio frame in it.
    cue_track = tracks.front().summary.number;
    muxer.set_max_cluster_duration(5'000'000'000ull);
  }
  if (!muxer.CuesTrack(cue_track)) return Internal("mkvmuxer refused the cues track");

  FinalizeInfo info;
  std::vector<uint8_t> data;
  int64_t last_written_ns = 0;
  uint64_t frames_written = 0;
  auto on_frame = [&](const BlockFrame& f) -> Status {
    TrackState* t = nullptr;
    for (TrackState& candidate : tracks) {
      if (candidate.summary.input_number == f.track) t = &candidate;
    }
    if (t == nullptr || f.data_size == 0) {  // mkvmuxer cannot write an empty frame
      ++info.skipped_frames;
      return Status::Ok();
    }
    int64_t ts = 0;
    if (!MultiplyNs(f.timecode, scale, &ts)) return Corrupt("timestamp overflows");
    if (ts < last_written_ns) {
      ts = last_written_ns;
      ++info.raised_timestamps;
    }
    data.resize(f.data_size);
    if (!src.Read(f.data_pos, data.data(), data.size())) return IoError("cannot read a frame of the input");

    mkvmuxer::Frame frame;
    if (!frame.Init(data.data(), data.size())) return ResourceExhausted("out of memory for a frame");
    frame.set_track_number(t->summary.number);
    frame.set_timestamp(static_cast<uint64_t>(ts));
    frame.set_is_key(f.key);
    if (f.discard_padding != 0) frame.set_discard_padding(f.discard_padding);
    int64_t duration_ns = -1;
    if (f.has_duration) {
      if (!MultiplyNs(static_cast<int64_t>(f.duration), scale, &duration_ns) || duration_ns < 0) {
        return Corrupt("block duration overflows");
      }
      if (duration_ns > 0) frame.set_duration(static_cast<uint64_t>(duration_ns));
    }
    if (!muxer.AddGenericFrame(&frame)) {
      RETURN_IF_ERROR(out.error());
      return Internal("mkvmuxer refused frame " + std::to_string(frames_written));
    }
    // A video keyframe always starts a new cluster in mkvmuxer and is written at once (only
    // audio is queued), so the cue lands in the cluster that holds it.
    if (cues_on_video && f.key && t->summary.number == cue_track &&
        !muxer.AddCuePoint(static_cast<uint64_t>(ts), cue_track)) {
      return Internal("mkvmuxer refused a cue point");
    }
    last_written_ns = ts;
    ++frames_written;

    TrackSummary& s = t->summary;
    ++s.frames;
    if (f.key) ++s.keyframes;
    if (f.key && s.kind == TrackKind::kVideo) ++info.video_keyframes;
    if (s.first_timestamp_ns < 0) s.first_timestamp_ns = ts;
    t->previous_timestamp_ns = s.last_timestamp_ns;
    s.last_timestamp_ns = ts;
    t->last_block_duration_ns = duration_ns;
    return Status::Ok();
  };

  Result<internal::WalkEnd> end = internal::WalkClusters(
      src, static_cast<uint64_t>(in.m_start), in.m_size, on_frame);
  if (!end.ok()) return end.status();
  if (frames_written == 0) return Corrupt("no complete frame in the input");

  int64_t duration_ns = 0;
  for (const TrackState& t : tracks) duration_ns = std::max(duration_ns, t.EndNs());
  // A Duration must be positive (mkvmuxer replaces 0 with a guess): at least one timecode tick,
  // e.g. for a single frame of unknown length.
  duration_ns = std::max(duration_ns, scale);
  muxer.set_duration(static_cast<double>(duration_ns) / static_cast<double>(scale));
  // An empty Cues element is invalid, so a video recording without a single keyframe gets none.
  muxer.OutputCues(muxer.GetCues()->cue_entries_size() > 0);
  if (!muxer.Finalize()) {
    RETURN_IF_ERROR(out.error());
    return Internal("mkvmuxer Finalize failed");
  }
  RETURN_IF_ERROR(out.error());

  info.duration_ms = static_cast<int64_t>(std::llround(static_cast<double>(duration_ns) / 1e6));
  for (const TrackState& t : tracks) info.tracks.push_back(t.summary);
  info.output_bytes = out.end();
  info.cue_points = static_cast<uint64_t>(muxer.GetCues()->cue_entries_size());
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
