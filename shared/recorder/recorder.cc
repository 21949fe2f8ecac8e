#include "recorder/recorder.h"

#include <vpx/vpx_image.h>

#include <chrono>
#include <cmath>
#include <deque>
#include <limits>
#include <string>
#include <vector>

#include "recorder/live_webm_muxer.h"
#include "recorder/opus_track_encoder.h"
#include "recorder/pixel_convert.h"
#include "recorder/speed_controller.h"
#include "recorder/vp9_encoder.h"

namespace recorder {
namespace {

constexpr int kMinDimension = 16;
constexpr int kMaxDimension = 4096;
constexpr int64_t kMaxTimestampUs = int64_t{1} << 50;  // ~35 years; keeps ns math in range
constexpr int kMinVideoKbps = 10;
constexpr int kMaxVideoKbps = 50000;
constexpr int kMaxAudioBlockFrames = OpusTrackEncoder::kSampleRate * 10;
// How long packets of one track wait for the other track before they are muxed anyway
// (a camera that stops delivering frames must not hold the audio back for ever).
constexpr int64_t kMaxInterleaveWaitUs = 1000000;

Status CheckRange(const char* what, double value, double lo, double hi) {
  if (!(value >= lo && value <= hi)) {  // also rejects NaN
    return InvalidArgument(std::string(what) + " " + std::to_string(value) + " is outside [" + std::to_string(lo) +
                           ", " + std::to_string(hi) + "]");
  }
  return Status::Ok();
}

Status ValidateConfig(const RecorderConfig& c) {
  if (!c.video && !c.audio) return InvalidArgument("config has neither a video nor an audio track");
  RETURN_IF_ERROR(CheckRange("chunk_duration_ms", c.chunk_duration_ms, 100, 30000));
  if (const auto& v = c.video) {
    RETURN_IF_ERROR(CheckRange("video width", v->width, kMinDimension, kMaxDimension));
    RETURN_IF_ERROR(CheckRange("video height", v->height, kMinDimension, kMaxDimension));
    RETURN_IF_ERROR(CheckRange("video fps", v->fps, 1, 240));
    RETURN_IF_ERROR(CheckRange("video kbps", v->kbps, kMinVideoKbps, kMaxVideoKbps));
    RETURN_IF_ERROR(CheckRange("keyframe_interval_ms", v->keyframe_interval_ms, 100, 600000));
    RETURN_IF_ERROR(CheckRange("video speed", v->speed, 5, SpeedController::kFastestSpeed));
    RETURN_IF_ERROR(CheckRange("video threads", v->threads, 1, 16));
    if (v->content != ContentType::kCamera && v->content != ContentType::kScreen) {
      return InvalidArgument("unknown video content type");
    }
  }
  if (const auto& a = c.audio) {
    if (a->sample_rate != OpusTrackEncoder::kSampleRate) {
      return Unsupported("audio sample rate " + std::to_string(a->sample_rate) + " Hz; only 48000 is supported");
    }
    if (a->channels != 1 && a->channels != 2) {
      return Unsupported("audio with " + std::to_string(a->channels) + " channels; 1 or 2 only");
    }
    RETURN_IF_ERROR(CheckRange("audio kbps", a->kbps, 6, 510));
  }
  return Status::Ok();
}

Status CheckTimestamp(int64_t t) {
  if (t < 0 || t >= kMaxTimestampUs) {
    return InvalidArgument("timestamp " + std::to_string(t) + " us is outside [0, 2^50)");
  }
  return Status::Ok();
}

struct ImageDeleter {
  void operator()(vpx_image_t* image) const { vpx_img_free(image); }
};

}  // namespace

VideoConfig VideoConfig::Screen(int width, int height) {
  VideoConfig c;
  c.width = width;
  c.height = height;
  c.fps = 15;
  c.kbps = 2500;
  c.content = ContentType::kScreen;
  return c;
}

class Recorder::Impl {
 public:
  Impl(const RecorderConfig& config, ChunkSink* sink) : config_(config), sink_(sink) {}
  Status Init();
  Status AddVideoFrame(const VideoFrame& frame);
  Status AddAudio(const float* samples, int frame_count, int64_t timestamp_us);
  Status RequestKeyframe();
  Status SetVideoBitrate(int kbps);
  Status Stop();
  RecorderStats stats() const;

 private:
  // Ok while calls are allowed: not stopped and no sticky failure.
  Status CheckUsable() const;
  // Records `s` (if an error) as the sticky failure and returns it.
  Status Fail(Status s);
  // Stream time of a capture time; the first one seen becomes time zero.
  int64_t ToStreamUs(int64_t capture_us);
  Status EncodeVideo(const VideoFrame& frame, int64_t stream_us, int64_t interval_us);
  // Moves encoded packets to the muxer in timestamp order, as far as both tracks allow
  // (everything if `final`).
  Status Pump(bool final);

  const RecorderConfig config_;
  ChunkSink* const sink_;
  std::unique_ptr<Vp9Encoder> video_;
  std::unique_ptr<OpusTrackEncoder> audio_;
  std::unique_ptr<LiveWebmMuxer> muxer_;
  std::unique_ptr<SpeedController> speed_;
  std::unique_ptr<vpx_image_t, ImageDeleter> scratch_;  // I420 target for converted frames

  bool stopped_ = false;
  Status failure_;
  std::optional<int64_t> zero_us_;
  std::optional<int64_t> last_video_capture_us_;
  std::optional<int64_t> last_audio_capture_us_;
  int64_t last_video_stream_us_ = -1;  // every later video frame has a larger stream time
  std::optional<int64_t> last_keyframe_us_;
  bool keyframe_requested_ = false;
  int64_t last_muxed_us_ = 0;
  std::deque<EncodedVideoFrame> video_queue_;
  std::deque<EncodedAudioPacket> audio_queue_;
  int64_t video_end_us_ = 0;  // end of the last encoded frame (nominal duration)
  int64_t audio_end_us_ = 0;  // end of the last encoded packet
  RecorderStats stats_;
};

Status Recorder::Impl::Init() {
  if (sink_ == nullptr) return InvalidArgument("sink is null");
  RETURN_IF_ERROR(ValidateConfig(config_));
  std::optional<MuxerVideoTrack> video_track;
  std::optional<MuxerAudioTrack> audio_track;
  if (const auto& v = config_.video) {
    auto encoder = Vp9Encoder::Create(*v);
    if (!encoder.ok()) return encoder.status();
    video_ = std::move(encoder.value());
    speed_ = std::make_unique<SpeedController>(v->speed, v->adaptive_speed);
    video_track = MuxerVideoTrack{v->width, v->height};
  }
  if (const auto& a = config_.audio) {
    auto encoder = OpusTrackEncoder::Create(*a);
    if (!encoder.ok()) return encoder.status();
    audio_ = std::move(encoder.value());
    audio_track =
        MuxerAudioTrack{a->channels, audio_->OpusHead(), audio_->codec_delay_ns(), OpusTrackEncoder::kSeekPreRollNs};
  }
  auto muxer = LiveWebmMuxer::Create(video_track, audio_track, int64_t{config_.chunk_duration_ms} * 1000, sink_);
  if (!muxer.ok()) return muxer.status();
  muxer_ = std::move(muxer.value());
  return Status::Ok();
}

Status Recorder::Impl::CheckUsable() const {
  if (!failure_.ok()) return failure_;
  if (stopped_) return FailedPrecondition("recorder is stopped");
  return Status::Ok();
}

Status Recorder::Impl::Fail(Status s) {
  if (!s.ok() && failure_.ok()) failure_ = s;
  return s;
}

int64_t Recorder::Impl::ToStreamUs(int64_t capture_us) {
  if (!zero_us_) zero_us_ = capture_us;
  return capture_us - *zero_us_;
}

Status Recorder::Impl::AddVideoFrame(const VideoFrame& frame) {
  RETURN_IF_ERROR(CheckUsable());
  if (!video_) return FailedPrecondition("recorder has no video track");
  RETURN_IF_ERROR(ValidateFrame(frame, config_.video->width, config_.video->height));
  RETURN_IF_ERROR(CheckTimestamp(frame.timestamp_us));
  if (last_video_capture_us_ && frame.timestamp_us <= *last_video_capture_us_) {
    return InvalidArgument("video timestamp " + std::to_string(frame.timestamp_us) +
                           " us does not follow the previous " + std::to_string(*last_video_capture_us_) + " us");
  }
  const int64_t nominal_us = std::llround(1e6 / config_.video->fps);
  const int64_t interval_us = last_video_capture_us_ ? frame.timestamp_us - *last_video_capture_us_ : nominal_us;
  last_video_capture_us_ = frame.timestamp_us;
  ++stats_.video_frames_in;

  // A first frame captured before the first audio is shown at zero; later ones that are still
  // before zero cannot get an increasing stream time and are dropped.
  const int64_t stream_us = std::max<int64_t>(0, ToStreamUs(frame.timestamp_us));
  if (stream_us <= last_video_stream_us_ || speed_->ShouldDrop(interval_us)) {
    ++stats_.video_frames_dropped;
    return Status::Ok();
  }
  // The video track has reached this time (so Pump holds later audio back for it again).
  last_video_stream_us_ = stream_us;
  // A frame older than what is muxed already (audio went on while video stalled) cannot be
  // written. It is dropped here, before the encoder sees it: an encoded frame is the next frame's
  // reference, and leaving one out of the stream makes every frame up to the next keyframe
  // undecodable.
  if (stream_us < last_muxed_us_) {
    ++stats_.video_frames_dropped;
    return Status::Ok();
  }
  return Fail(EncodeVideo(frame, stream_us, interval_us));
}

Status Recorder::Impl::EncodeVideo(const VideoFrame& frame, int64_t stream_us, int64_t interval_us) {
  const VideoConfig& vc = *config_.video;
  const auto start = std::chrono::steady_clock::now();

  vpx_image_t wrapped;
  const vpx_image_t* image = nullptr;
  if (frame.format == PixelFormat::kI420) {
    // libvpx only reads the input; the const_casts satisfy vpx_image_t's non-const plane pointers.
    if (!vpx_img_wrap(&wrapped, VPX_IMG_FMT_I420, vc.width, vc.height, 1, const_cast<uint8_t*>(frame.planes[0]))) {
      return Internal("vpx_img_wrap failed");
    }
    for (int p = 0; p < 3; ++p) {
      wrapped.planes[p] = const_cast<uint8_t*>(frame.planes[p]);
      wrapped.stride[p] = frame.strides[p];
    }
    image = &wrapped;
  } else {
    if (!scratch_) {
      scratch_.reset(vpx_img_alloc(nullptr, VPX_IMG_FMT_I420, vc.width, vc.height, 16));
      if (!scratch_) return ResourceExhausted("cannot allocate the I420 conversion buffer");
    }
    vpx_image_t* s = scratch_.get();
    RETURN_IF_ERROR(ConvertToI420(
        frame, I420Planes{s->planes[0], s->planes[1], s->planes[2], s->stride[0], s->stride[1], s->stride[2]}));
    image = s;
  }

  const int64_t interval_limit_us = int64_t{vc.keyframe_interval_ms} * 1000;
  const bool force_key =
      keyframe_requested_ || !last_keyframe_us_ || stream_us - *last_keyframe_us_ >= interval_limit_us;
  RETURN_IF_ERROR(video_->SetSpeed(speed_->speed()));
  const size_t queued = video_queue_.size();
  std::vector<EncodedVideoFrame> out;
  RETURN_IF_ERROR(video_->Encode(*image, stream_us, std::llround(1e6 / vc.fps), force_key, &out));
  const int64_t encode_us =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start).count();
  speed_->OnEncoded(encode_us, interval_us);
  stats_.video_encode_us += encode_us;

  for (EncodedVideoFrame& f : out) {
    if (f.keyframe) {
      last_keyframe_us_ = f.pts_us;
      keyframe_requested_ = false;
      ++stats_.keyframes;
    }
    video_end_us_ = f.pts_us + std::llround(1e6 / vc.fps);
    video_queue_.push_back(std::move(f));
  }
  // rc_dropframe_thresh is 0, so libvpx should not skip a frame; if it does, count it.
  if (video_queue_.size() == queued) ++stats_.video_frames_dropped;
  return Pump(false);
}

Status Recorder::Impl::AddAudio(const float* samples, int frame_count, int64_t timestamp_us) {
  RETURN_IF_ERROR(CheckUsable());
  if (!audio_) return FailedPrecondition("recorder has no audio track");
  if (frame_count < 0 || frame_count > kMaxAudioBlockFrames) {
    return InvalidArgument("audio frame count " + std::to_string(frame_count) + " is outside [0, " +
                           std::to_string(kMaxAudioBlockFrames) + "]");
  }
  if (samples == nullptr && frame_count > 0) return InvalidArgument("audio samples are null");
  RETURN_IF_ERROR(CheckTimestamp(timestamp_us));
  if (frame_count == 0) return Status::Ok();
  if (last_audio_capture_us_ && timestamp_us <= *last_audio_capture_us_) {
    return InvalidArgument("audio timestamp " + std::to_string(timestamp_us) + " us does not follow the previous " +
                           std::to_string(*last_audio_capture_us_) + " us");
  }
  last_audio_capture_us_ = timestamp_us;
  stats_.audio_samples_in += frame_count;

  std::vector<EncodedAudioPacket> out;
  RETURN_IF_ERROR(Fail(audio_->Add(samples, frame_count, ToStreamUs(timestamp_us), &out)));
  for (EncodedAudioPacket& p : out) audio_queue_.push_back(std::move(p));
  return Fail(Pump(false));
}

Status Recorder::Impl::RequestKeyframe() {
  RETURN_IF_ERROR(CheckUsable());
  if (!video_) return FailedPrecondition("recorder has no video track");
  keyframe_requested_ = true;
  return Status::Ok();
}

Status Recorder::Impl::SetVideoBitrate(int kbps) {
  RETURN_IF_ERROR(CheckUsable());
  if (!video_) return FailedPrecondition("recorder has no video track");
  RETURN_IF_ERROR(CheckRange("video kbps", kbps, kMinVideoKbps, kMaxVideoKbps));
  return Fail(video_->SetBitrate(kbps));
}

Status Recorder::Impl::Stop() {
  RETURN_IF_ERROR(CheckUsable());
  stopped_ = true;
  if (video_) {
    std::vector<EncodedVideoFrame> out;
    RETURN_IF_ERROR(Fail(video_->Flush(&out)));
    for (EncodedVideoFrame& f : out) video_queue_.push_back(std::move(f));
  }
  if (audio_) {
    std::vector<EncodedAudioPacket> out;
    RETURN_IF_ERROR(Fail(audio_->Finish(&out)));
    for (EncodedAudioPacket& p : out) audio_queue_.push_back(std::move(p));
  }
  RETURN_IF_ERROR(Fail(Pump(true)));
  return Fail(muxer_->Finish());
}

Status Recorder::Impl::Pump(bool final) {
  while (!video_queue_.empty() || !audio_queue_.empty()) {
    bool take_video;
    if (!video_queue_.empty() && !audio_queue_.empty()) {
      take_video = video_queue_.front().pts_us <= audio_queue_.front().pts_us;
    } else if (!video_queue_.empty()) {
      // Wait while audio still to come could be earlier than this frame.
      const int64_t pts = video_queue_.front().pts_us;
      const int64_t audio_next = audio_ ? audio_->next_packet_us().value_or(0) : pts;
      const bool waited_enough = video_queue_.back().pts_us - audio_next > kMaxInterleaveWaitUs;
      take_video = true;
      if (!final && audio_next < pts && !waited_enough) break;
    } else {
      // Every later video frame is after last_video_stream_us_.
      const int64_t pts = audio_queue_.front().pts_us;
      const int64_t video_next = video_ ? last_video_stream_us_ + 1 : pts;
      const bool waited_enough = audio_queue_.back().pts_us - video_next > kMaxInterleaveWaitUs;
      take_video = false;
      if (!final && video_next < pts && !waited_enough) break;
    }

    if (take_video) {
      // Never late: AddVideoFrame encodes no frame older than last_muxed_us_, and audio is muxed
      // ahead of a queued frame only while it is earlier. Never dropped: it is a reference.
      EncodedVideoFrame f = std::move(video_queue_.front());
      video_queue_.pop_front();
      last_muxed_us_ = f.pts_us;
      ++stats_.video_frames_encoded;
      stats_.video_bytes += static_cast<int64_t>(f.data.size());
      RETURN_IF_ERROR(muxer_->WriteVideo(f));
    } else {
      EncodedAudioPacket p = std::move(audio_queue_.front());
      audio_queue_.pop_front();
      if (p.pts_us < last_muxed_us_) {
        ++stats_.audio_packets_dropped;
        continue;
      }
      last_muxed_us_ = p.pts_us;
      ++stats_.audio_packets_encoded;
      stats_.audio_bytes += static_cast<int64_t>(p.data.size());
      audio_end_us_ = p.pts_us + OpusTrackEncoder::kFrameUs;
      RETURN_IF_ERROR(muxer_->WriteAudio(p));
    }
  }
  return Status::Ok();
}

RecorderStats Recorder::Impl::stats() const {
  RecorderStats s = stats_;
  s.chunks_out = muxer_->chunks_out();
  s.bytes_out = muxer_->bytes_out();
  s.media_seconds = static_cast<double>(std::max(video_end_us_, audio_end_us_)) / 1e6;
  if (s.media_seconds > 0) s.achieved_kbps = s.bytes_out * 8 / s.media_seconds / 1000;
  if (video_end_us_ > 0) s.video_kbps = s.video_bytes * 8 / (video_end_us_ / 1e6) / 1000;
  if (s.video_frames_encoded > 0) {
    s.mean_encode_ms = s.video_encode_us / 1000.0 / static_cast<double>(s.video_frames_encoded);
  }
  s.current_speed = video_ ? speed_->speed() : 0;
  return s;
}

Recorder::Recorder(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Recorder::~Recorder() = default;

Result<std::unique_ptr<Recorder>> Recorder::Create(const RecorderConfig& config, ChunkSink* sink) {
  auto impl = std::make_unique<Impl>(config, sink);
  RETURN_IF_ERROR(impl->Init());
  return std::unique_ptr<Recorder>(new Recorder(std::move(impl)));
}

Status Recorder::AddVideoFrame(const VideoFrame& frame) { return impl_->AddVideoFrame(frame); }
Status Recorder::AddAudio(const float* samples, int frame_count, int64_t timestamp_us) {
  return impl_->AddAudio(samples, frame_count, timestamp_us);
}
Status Recorder::RequestKeyframe() { return impl_->RequestKeyframe(); }
Status Recorder::SetVideoBitrate(int kbps) { return impl_->SetVideoBitrate(kbps); }
Status Recorder::Stop() { return impl_->Stop(); }
RecorderStats Recorder::stats() const { return impl_->stats(); }

}  // namespace recorder
