// The only C++ that knows emscripten: exposes recorder::Recorder to JS as `Module.Recorder`.
//
// Calling convention (see wasm/recorder-worker.js, the one user):
//   const r = new Module.Recorder(onChunk)   onChunk(info, bytes: Uint8Array) gets a fresh copy
//   r.init(config)                           config as in recorder-worker.js; returns an error or null
//   r.videoBuffer(bytes) -> heap offset      a reusable frame buffer the caller copies pixels into
//   r.addVideoFrame(format, w, h, offsets[3], strides[3], timestampUs)
//   r.audioBuffer(floats) -> heap offset     a reusable float buffer for interleaved samples
//   r.addAudio(frameCount, timestampUs)
//   r.requestKeyframe(), r.setVideoBitrate(kbps), r.stop(), r.stats(), r.delete()
// Every call that can fail returns null on success or {code, message}; nothing throws across the
// boundary, so the worker turns errors into typed JS errors in one place.
#include <emscripten/bind.h>
#include <emscripten/val.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "recorder/recorder.h"

namespace recorder {
namespace {

using emscripten::val;

#ifndef RECORDER_MAX_THREADS
#define RECORDER_MAX_THREADS 1
#endif

val ToJs(const Status& status) {
  if (status.ok()) return val::null();
  val error = val::object();
  error.set("code", std::string(StatusCodeName(status.code())));
  error.set("message", status.message());
  return error;
}

// Reads config.<name> as a number if present, else keeps `fallback`.
template <typename T>
T Field(const val& object, const char* name, T fallback) {
  val v = object[name];
  return v.isUndefined() || v.isNull() ? fallback : v.as<T>();
}

class JsChunkSink : public ChunkSink {
 public:
  explicit JsChunkSink(val on_chunk) : on_chunk_(std::move(on_chunk)) {}

  Status OnChunk(const ChunkInfo& info, std::span<const uint8_t> data) override {
    val js_info = val::object();
    js_info.set("index", static_cast<double>(info.index));
    js_info.set("isHeader", info.is_header);
    js_info.set("startsWithKeyframe", info.starts_with_keyframe);
    js_info.set("firstTimestampUs", static_cast<double>(info.first_timestamp_us));
    js_info.set("lastTimestampUs", static_cast<double>(info.last_timestamp_us));
    // The one copy out of the WASM heap; the worker transfers this buffer, it is never copied again.
    val bytes = val::global("Uint8Array").new_(emscripten::typed_memory_view(data.size(), data.data()));
    on_chunk_(js_info, bytes);
    return Status::Ok();
  }

 private:
  val on_chunk_;
};

class WasmRecorder {
 public:
  explicit WasmRecorder(val on_chunk) : sink_(std::move(on_chunk)) {}

  val init(val config) {
    if (recorder_) return ToJs(FailedPrecondition("init was already called"));
    RecorderConfig rc;
    rc.chunk_duration_ms = Field(config, "chunkDurationMs", rc.chunk_duration_ms);
    val video = config["video"];
    if (!video.isUndefined() && !video.isNull()) {
      VideoConfig vc;
      if (Field<std::string>(video, "content", "camera") == "screen") {
        vc = VideoConfig::Screen(Field(video, "width", vc.width), Field(video, "height", vc.height));
      }
      vc.width = Field(video, "width", vc.width);
      vc.height = Field(video, "height", vc.height);
      vc.fps = Field(video, "fps", vc.fps);
      vc.kbps = Field(video, "kbps", vc.kbps);
      vc.keyframe_interval_ms = Field(video, "keyframeIntervalMs", vc.keyframe_interval_ms);
      vc.speed = Field(video, "speed", vc.speed);
      vc.adaptive_speed = Field(video, "adaptiveSpeed", vc.adaptive_speed);
      // libvpx's threads come from a pool of fixed size; asking for more would block forever.
      vc.threads = std::clamp(Field(video, "threads", vc.threads), 1, RECORDER_MAX_THREADS);
      rc.video = vc;
    }
    val audio = config["audio"];
    if (!audio.isUndefined() && !audio.isNull()) {
      AudioConfig ac;
      ac.sample_rate = Field(audio, "sampleRate", ac.sample_rate);
      ac.channels = Field(audio, "channels", ac.channels);
      ac.kbps = Field(audio, "kbps", ac.kbps);
      audio_channels_ = ac.channels;
      rc.audio = ac;
    }
    auto created = Recorder::Create(rc, &sink_);
    if (!created.ok()) return ToJs(created.status());
    recorder_ = std::move(created.value());
    return val::null();
  }

  // Returns the heap offset of a buffer of at least `bytes`, valid until the next call.
  uintptr_t videoBuffer(size_t bytes) {
    if (video_buffer_.size() < bytes) video_buffer_.resize(bytes);
    return reinterpret_cast<uintptr_t>(video_buffer_.data());
  }

  uintptr_t audioBuffer(size_t floats) {
    if (audio_buffer_.size() < floats) audio_buffer_.resize(floats);
    return reinterpret_cast<uintptr_t>(audio_buffer_.data());
  }

  // `offsets` and `strides` are JS arrays of up to 3 numbers; offsets are relative to the buffer
  // videoBuffer returned. Offsets outside that buffer are rejected here, before any pixel is read.
  val addVideoFrame(int format, int width, int height, val offsets, val strides, double timestamp_us) {
    if (!recorder_) return ToJs(FailedPrecondition("init was not called"));
    if (format < 0 || format > static_cast<int>(PixelFormat::kBGRA)) {
      return ToJs(Unsupported("pixel format " + std::to_string(format)));
    }
    VideoFrame frame;
    frame.format = static_cast<PixelFormat>(format);
    frame.width = width;
    frame.height = height;
    frame.timestamp_us = static_cast<int64_t>(timestamp_us);
    const int planes = std::min(offsets["length"].as<int>(), 3);
    for (int i = 0; i < planes; ++i) {
      // The whole plane, not just its start, must lie inside the buffer: the core trusts pointers.
      const double offset = offsets[i].as<double>();
      const int stride = strides[i].as<int>();
      const double rows = i == 0 ? height : (height + 1) / 2;
      if (offset < 0 || stride <= 0 || height <= 0 ||
          offset + stride * rows > static_cast<double>(video_buffer_.size())) {
        return ToJs(InvalidArgument("plane " + std::to_string(i) + " lies outside the frame buffer"));
      }
      frame.planes[i] = video_buffer_.data() + static_cast<size_t>(offset);
      frame.strides[i] = stride;
    }
    return ToJs(recorder_->AddVideoFrame(frame));
  }

  val addAudio(int frame_count, double timestamp_us) {
    if (!recorder_) return ToJs(FailedPrecondition("init was not called"));
    if (frame_count < 0 || static_cast<size_t>(frame_count) * audio_channels_ > audio_buffer_.size()) {
      return ToJs(InvalidArgument("more audio frames than the audio buffer holds"));
    }
    return ToJs(recorder_->AddAudio(audio_buffer_.data(), frame_count, static_cast<int64_t>(timestamp_us)));
  }

  val requestKeyframe() {
    if (!recorder_) return ToJs(FailedPrecondition("init was not called"));
    return ToJs(recorder_->RequestKeyframe());
  }

  val setVideoBitrate(int kbps) {
    if (!recorder_) return ToJs(FailedPrecondition("init was not called"));
    return ToJs(recorder_->SetVideoBitrate(kbps));
  }

  val stop() {
    if (!recorder_) return ToJs(FailedPrecondition("init was not called"));
    return ToJs(recorder_->Stop());
  }

  val stats() const {
    val out = val::object();
    if (!recorder_) return out;
    const RecorderStats s = recorder_->stats();
    out.set("videoFramesIn", static_cast<double>(s.video_frames_in));
    out.set("videoFramesEncoded", static_cast<double>(s.video_frames_encoded));
    out.set("videoFramesDropped", static_cast<double>(s.video_frames_dropped));
    out.set("keyframes", static_cast<double>(s.keyframes));
    out.set("audioPacketsEncoded", static_cast<double>(s.audio_packets_encoded));
    out.set("audioPacketsDropped", static_cast<double>(s.audio_packets_dropped));
    out.set("chunksOut", static_cast<double>(s.chunks_out));
    out.set("bytesOut", static_cast<double>(s.bytes_out));
    out.set("mediaSeconds", s.media_seconds);
    out.set("achievedKbps", s.achieved_kbps);
    out.set("videoKbps", s.video_kbps);
    out.set("meanEncodeMs", s.mean_encode_ms);
    out.set("currentSpeed", s.current_speed);
    return out;
  }

 private:
  JsChunkSink sink_;
  std::unique_ptr<Recorder> recorder_;
  std::vector<uint8_t> video_buffer_;
  std::vector<float> audio_buffer_;
  int audio_channels_ = 1;
};

EMSCRIPTEN_BINDINGS(recorder_core) {
  emscripten::class_<WasmRecorder>("Recorder")
      .constructor<val>()
      .function("init", &WasmRecorder::init)
      .function("videoBuffer", &WasmRecorder::videoBuffer)
      .function("audioBuffer", &WasmRecorder::audioBuffer)
      .function("addVideoFrame", &WasmRecorder::addVideoFrame)
      .function("addAudio", &WasmRecorder::addAudio)
      .function("requestKeyframe", &WasmRecorder::requestKeyframe)
      .function("setVideoBitrate", &WasmRecorder::setVideoBitrate)
      .function("stop", &WasmRecorder::stop)
      .function("stats", &WasmRecorder::stats);
  emscripten::constant("maxThreads", RECORDER_MAX_THREADS);
}

}  // namespace
}  // namespace recorder
