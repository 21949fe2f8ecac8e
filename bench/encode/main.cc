// encode: runs the recorder core over a Y4M clip (and optionally a WAV) as fast as it can and
// writes the chunks to a WebM file. The last line of stdout is one JSON object:
//   {"engine","frames","dropped","seconds","fps","bytes","kbps","video_kbps","speed","chunks",...}
// where seconds is wall time spent in the recorder, fps = frames / seconds and kbps is the whole
// stream's bitrate over the media duration.
//
//   encode --engine native --in clip.y4m [--wav speech48k.wav] --out out.webm --kbps 250
//          [--fps 30] [--threads 1] [--speed 7] [--adaptive]
//
// --engine wasm hands the same flags (plus --variant simd|plain) to the WASM engine, a node
// script (bench/encode/encode-wasm.mjs) that runs the recorder core's WASM build.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <vector>

#include "recorder/media_io.h"
#include "recorder/recorder.h"

namespace {

using recorder::Status;

// Appends every chunk to one file.
class FileSink : public recorder::ChunkSink {
 public:
  explicit FileSink(const std::string& path) : out_(path, std::ios::binary | std::ios::trunc) {}
  bool is_open() const { return out_.is_open(); }
  Status OnChunk(const recorder::ChunkInfo& info, std::span<const uint8_t> data) override {
    out_.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
    if (!out_) return recorder::IoError("cannot write chunk " + std::to_string(info.index));
    return Status::Ok();
  }

 private:
  std::ofstream out_;
};

int Fail(const std::string& message) {
  std::cerr << "encode: " << message << "\n";
  return 1;
}

// Replaces this process with the WASM engine when argv asks for it; returns otherwise.
void ExecWasmEngineIfAsked(int argc, char** argv) {
  bool wasm = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--engine=wasm") == 0 ||
        (std::strcmp(argv[i], "--engine") == 0 && i + 1 < argc && std::strcmp(argv[i + 1], "wasm") == 0)) {
      wasm = true;
    }
  }
  if (!wasm) return;
  static std::string script = RECORDER_SOURCE_DIR "/bench/encode/encode-wasm.mjs";
  std::vector<char*> node_argv = {const_cast<char*>("node"), script.data()};
  for (int i = 1; i < argc; ++i) node_argv.push_back(argv[i]);
  node_argv.push_back(nullptr);
  execvp("node", node_argv.data());
  std::cerr << "encode: cannot run node for --engine wasm: " << std::strerror(errno) << "\n";
  std::exit(1);
}

}  // namespace

int main(int argc, char** argv) {
  ExecWasmEngineIfAsked(argc, argv);
  CLI::App app{"Encode a Y4M clip (+ WAV) to live WebM chunks with the recorder core"};
  std::string engine = "native", in, wav_path, out;
  int kbps = 250, threads = 1, speed = recorder::VideoConfig{}.speed;
  double fps = 0;
  bool adaptive = false;
  app.add_option("--engine", engine, "native, or wasm (runs bench/encode/encode-wasm.mjs)")
      ->check(CLI::IsMember({"native", "wasm"}));
  app.add_option("--in", in, "input .y4m (4:2:0 8-bit)")->required()->check(CLI::ExistingFile);
  app.add_option("--wav", wav_path, "input .wav, 48 kHz mono or stereo")->check(CLI::ExistingFile);
  app.add_option("--out", out, "output .webm (all chunks concatenated)")->required();
  app.add_option("--kbps", kbps, "video target bitrate");
  app.add_option("--fps", fps, "frame rate for timestamps (default: the Y4M header's)");
  app.add_option("--threads", threads, "libvpx threads");
  app.add_option("--speed", speed, "libvpx cpu-used, 5..9");
  app.add_flag("--adaptive", adaptive, "let the recorder raise the speed / drop frames when late");
  CLI11_PARSE(app, argc, argv);

  auto reader = recorder::Y4mReader::Open(in);
  if (!reader.ok()) return Fail(reader.status().ToString());
  recorder::Y4mReader& y4m = **reader;
  if (fps <= 0) fps = y4m.fps();

  recorder::RecorderConfig config;
  recorder::VideoConfig& vc = config.video.emplace();
  vc.width = y4m.width();
  vc.height = y4m.height();
  vc.fps = fps;
  vc.kbps = kbps;
  vc.threads = threads;
  vc.speed = speed;
  vc.adaptive_speed = adaptive;
  recorder::WavAudio wav;
  if (!wav_path.empty()) {
    auto read = recorder::ReadWav(wav_path);
    if (!read.ok()) return Fail(read.status().ToString());
    wav = std::move(read.value());
    config.audio.emplace().channels = wav.channels;
    config.audio->sample_rate = wav.sample_rate;  // Create() rejects anything but 48000
  }

  FileSink sink(out);
  if (!sink.is_open()) return Fail("cannot create " + out);
  auto created = recorder::Recorder::Create(config, &sink);
  if (!created.ok()) return Fail(created.status().ToString());
  recorder::Recorder& rec = **created;

  // Audio goes in 20 ms blocks, each just before the first video frame that follows it, as a
  // capture loop would deliver them.
  constexpr int kBlock = 960;
  int64_t audio_pos = 0;
  auto feed_audio_until = [&](int64_t until_us) -> Status {
    while (audio_pos < wav.frames() && audio_pos * 1000000 / 48000 <= until_us) {
      const int n = static_cast<int>(std::min<int64_t>(kBlock, wav.frames() - audio_pos));
      RETURN_IF_ERROR(rec.AddAudio(wav.samples.data() + audio_pos * wav.channels, n, audio_pos * 1000000 / 48000));
      audio_pos += n;
    }
    return Status::Ok();
  };

  std::vector<uint8_t> frame;
  int64_t frames = 0, last_us = 0;
  const auto start = std::chrono::steady_clock::now();
  for (;; ++frames) {
    auto more = y4m.ReadFrame(&frame);
    if (!more.ok()) return Fail(more.status().ToString());
    if (!more.value()) break;
    last_us = static_cast<int64_t>(frames * 1e6 / fps);
    Status s = feed_audio_until(last_us);
    if (s.ok()) s = rec.AddVideoFrame(recorder::I420FrameView(frame.data(), vc.width, vc.height, last_us));
    if (!s.ok()) return Fail(s.ToString());
  }
  // Audio longer than the video is cut at the video's end, so both tracks end together.
  Status s = feed_audio_until(last_us + static_cast<int64_t>(1e6 / fps) - 1);
  if (s.ok()) s = rec.Stop();
  if (!s.ok()) return Fail(s.ToString());
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  const recorder::RecorderStats st = rec.stats();
  nlohmann::json summary = {
      {"engine", engine},
      {"width", vc.width},
      {"height", vc.height},
      {"frames", st.video_frames_encoded},
      {"dropped", st.video_frames_dropped},
      {"seconds", seconds},
      {"fps", seconds > 0 ? static_cast<double>(st.video_frames_encoded) / seconds : 0.0},
      {"bytes", st.bytes_out},
      {"kbps", st.achieved_kbps},
      {"video_kbps", st.video_kbps},
      {"media_seconds", st.media_seconds},
      {"audio_packets", st.audio_packets_encoded},
      {"keyframes", st.keyframes},
      {"chunks", st.chunks_out},
      {"speed", st.current_speed},
      {"threads", threads},
      {"mean_encode_ms", st.mean_encode_ms},
  };
  std::cout << summary.dump() << std::endl;
  return 0;
}
