// Audio (real speech through Opus) and audio+video recordings, and the chunk contract:
// header chunk + any suffix of chunks that starts at a keyframe Cluster is playable.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "recorder/media_io.h"
#include "test_support.h"
#include "webm/finalize.h"

namespace recorder::testing {
namespace {

constexpr int kFrames = 300;                // 10 s of FourPeople at 30 fps
constexpr int kBlock = 441;                 // odd audio block size, to exercise the 20 ms framing
constexpr int64_t kClockStartUs = 7000000;  // capture clocks do not start at zero

double RmsDb(const float* s, size_t n) {
  double sum = 0;
  for (size_t i = 0; i < n; ++i) sum += static_cast<double>(s[i]) * s[i];
  return 10 * std::log10(sum / std::max<size_t>(n, 1) + 1e-20);
}

std::vector<float> DecodeAudio(const std::string& webm) {
  const std::string raw = webm + ".f32";
  if (RunCommand("ffmpeg -nostdin -v error -y -i '" + webm + "' -f f32le -ac 1 -ar 48000 '" + raw + "'") != 0) {
    return {};
  }
  std::ifstream in(raw, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<float> samples(bytes.size() / sizeof(float));
  std::memcpy(samples.data(), bytes.data(), samples.size() * sizeof(float));
  return samples;
}

TEST(SpeechOnly, OpusKeepsTheDurationWithin40msAndTheSpeechIsAudible) {
  const std::string wav_path = Speech48kWav();
  ASSERT_FALSE(wav_path.empty());
  auto wav = ReadWav(wav_path);
  ASSERT_TRUE(wav.ok()) << wav.status().ToString();
  ASSERT_EQ(wav->sample_rate, 48000);

  CollectingSink sink;
  RecorderConfig config;
  config.audio = AudioConfig{};
  auto rec = Recorder::Create(config, &sink);
  ASSERT_TRUE(rec.ok()) << rec.status().ToString();
  const int64_t total = wav->frames();
  for (int64_t pos = 0; pos < total; pos += kBlock) {
    const int n = static_cast<int>(std::min<int64_t>(kBlock, total - pos));
    Status s = (*rec)->AddAudio(wav->samples.data() + pos, n, kClockStartUs + pos * 1000000 / 48000);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  ASSERT_TRUE((*rec)->Stop().ok());
  const std::string webm = WorkDir() + "/speech.webm";
  WriteChunks(sink.chunks, 0, false, webm);

  auto probe = Probe(webm);
  ASSERT_FALSE(probe.is_null());
  ASSERT_EQ(probe["streams"].size(), 1u);
  EXPECT_EQ(probe["streams"][0]["codec_name"], "opus");
  EXPECT_EQ(probe["streams"][0]["sample_rate"], "48000");

  const std::vector<float> decoded = DecodeAudio(webm);
  std::printf("speech: %lld samples in, %zu decoded; %lld bytes, %.1f kbps\n", static_cast<long long>(total),
              decoded.size(), static_cast<long long>((*rec)->stats().bytes_out), (*rec)->stats().achieved_kbps);
  EXPECT_NEAR(static_cast<double>(decoded.size()), static_cast<double>(total), 0.040 * 48000);
  const double in_db = RmsDb(wav->samples.data(), wav->samples.size());
  const double out_db = RmsDb(decoded.data(), decoded.size());
  std::printf("speech RMS: in %.1f dB, out %.1f dB\n", in_db, out_db);
  EXPECT_GT(out_db, -40.0);
  EXPECT_NEAR(out_db, in_db, 3.0);
  // Every Cluster of an audio-only stream is a place to start.
  for (size_t i = 1; i < sink.chunks.size(); ++i) EXPECT_TRUE(sink.chunks[i].info.starts_with_keyframe);
}

// A screen share of a tab that never changes delivers no frames: the recording has its audio
// and a video track without a single frame. Finalize must keep the audio (the empty track goes).
TEST(SpeechOnly, AVideoTrackThatNeverGotAFrameStillFinalizesWithItsAudio) {
  auto wav = ReadWav(Speech48kWav());
  ASSERT_TRUE(wav.ok()) << wav.status().ToString();
  CollectingSink sink;
  RecorderConfig config;
  config.video = VideoConfig::Screen(1280, 720);
  config.audio = AudioConfig{};
  auto rec = Recorder::Create(config, &sink);
  ASSERT_TRUE(rec.ok()) << rec.status().ToString();
  const int64_t total = std::min<int64_t>(wav->frames(), 3 * 48000);
  for (int64_t pos = 0; pos < total; pos += kBlock) {
    const int n = static_cast<int>(std::min<int64_t>(kBlock, total - pos));
    ASSERT_TRUE((*rec)->AddAudio(wav->samples.data() + pos, n, kClockStartUs + pos * 1000000 / 48000).ok());
  }
  ASSERT_TRUE((*rec)->Stop().ok());
  const std::string live = WorkDir() + "/no-video-frames.live.webm";
  const std::string seekable = WorkDir() + "/no-video-frames.webm";
  WriteChunks(sink.chunks, 0, false, live);

  auto info = webm::Finalize(live, seekable);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  ASSERT_EQ(info->tracks.size(), 1u);
  EXPECT_EQ(info->tracks[0].kind, webm::TrackKind::kAudio);
  EXPECT_NEAR(info->duration_ms, 3000, 60);
  EXPECT_GT(info->cue_points, 0u) << "audio alone is seekable too";
  auto probe = Probe(seekable);
  ASSERT_EQ(probe["streams"].size(), 1u);
  EXPECT_EQ(probe["streams"][0]["codec_name"], "opus");
  EXPECT_NEAR(DecodeAudio(seekable).size(), static_cast<double>(total), 0.040 * 48000);
}

// FourPeople + speech as a browser would deliver them, with a keyframe request at 5 s.
class AvRecording : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string y4m = FourPeopleY4m(kFrames);
    const std::string wav_path = Speech48kWav();
    ASSERT_FALSE(y4m.empty());
    ASSERT_FALSE(wav_path.empty());
    auto reader = Y4mReader::Open(y4m);
    auto wav = ReadWav(wav_path);
    ASSERT_TRUE(reader.ok() && wav.ok());

    RecorderConfig config;
    config.video = VideoConfig{};
    config.video->adaptive_speed = false;
    config.audio = AudioConfig{};
    sink_ = new CollectingSink;
    auto rec = Recorder::Create(config, sink_);
    ASSERT_TRUE(rec.ok()) << rec.status().ToString();

    std::vector<uint8_t> frame;
    int64_t audio_pos = 0;
    const int64_t audio_end = kFrames * 48000 / 30;  // cut the speech where the video ends
    for (int i = 0; i < kFrames; ++i) {
      auto more = (*reader)->ReadFrame(&frame);
      ASSERT_TRUE(more.ok() && more.value());
      const int64_t t = i * int64_t{1000000} / 30;
      while (audio_pos < audio_end && audio_pos * 1000000 / 48000 <= t) {
        const int n = static_cast<int>(std::min<int64_t>(kBlock, audio_end - audio_pos));
        Status s = (*rec)->AddAudio(wav->samples.data() + audio_pos, n, kClockStartUs + audio_pos * 1000000 / 48000);
        ASSERT_TRUE(s.ok()) << s.ToString();
        audio_pos += n;
      }
      if (i == 150) {
        ASSERT_TRUE((*rec)->RequestKeyframe().ok());
      }
      Status s = (*rec)->AddVideoFrame(I420FrameView(frame.data(), 640, 480, kClockStartUs + t));
      ASSERT_TRUE(s.ok()) << s.ToString();
    }
    while (audio_pos < audio_end) {
      const int n = static_cast<int>(std::min<int64_t>(kBlock, audio_end - audio_pos));
      ASSERT_TRUE(
          (*rec)->AddAudio(wav->samples.data() + audio_pos, n, kClockStartUs + audio_pos * 1000000 / 48000).ok());
      audio_pos += n;
    }
    ASSERT_TRUE((*rec)->Stop().ok());
    stats_ = (*rec)->stats();
    webm_ = WorkDir() + "/av.webm";
    WriteChunks(sink_->chunks, 0, false, webm_);
  }
  static void TearDownTestSuite() { delete sink_; }

  static CollectingSink* sink_;
  static RecorderStats stats_;
  static std::string webm_;
};
CollectingSink* AvRecording::sink_ = nullptr;
RecorderStats AvRecording::stats_;
std::string AvRecording::webm_;

TEST_F(AvRecording, ConcatenatedChunksAreAValidWebmWithVp9AndOpus) {
  auto probe = Probe(webm_);
  ASSERT_FALSE(probe.is_null());
  ASSERT_EQ(probe["streams"].size(), 2u);
  EXPECT_EQ(probe["streams"][0]["codec_name"], "vp9");
  EXPECT_EQ(probe["streams"][1]["codec_name"], "opus");
  EXPECT_EQ(RunCommand("mkvinfo '" + webm_ + "' > /dev/null"), 0);
  std::string identify;
  EXPECT_EQ(RunCommand("mkvmerge --identify '" + webm_ + "'", &identify), 0);
  EXPECT_NE(identify.find("VP9"), std::string::npos) << identify;
  EXPECT_NE(identify.find("Opus"), std::string::npos) << identify;
  EXPECT_EQ(CountFrames(webm_, "v"), kFrames);
  EXPECT_EQ(stats_.video_frames_dropped, 0);
  EXPECT_EQ(stats_.audio_packets_dropped, 0);
}

TEST_F(AvRecording, AudioAndVideoStartTogetherAndEndWithin40ms) {
  const StreamSpan v = PacketSpan(webm_, "v");
  const StreamSpan a = PacketSpan(webm_, "a");
  std::printf("video %.4f..%.4f s, audio %.4f..%.4f s\n", v.start, v.end, a.start, a.end);
  EXPECT_NEAR(v.start, a.start, 0.040);
  EXPECT_NEAR(v.end, a.end, 0.040);
  EXPECT_NEAR(v.start, 0.0, 0.010);
}

TEST_F(AvRecording, EveryChunkAfterTheHeaderStartsWithAClusterId) {
  const auto& chunks = sink_->chunks;
  ASSERT_GE(chunks.size(), 10u);
  EXPECT_TRUE(chunks[0].info.is_header);
  for (size_t i = 1; i < chunks.size(); ++i) {
    ASSERT_GE(chunks[i].bytes.size(), 4u);
    EXPECT_EQ(std::vector<uint8_t>(chunks[i].bytes.begin(), chunks[i].bytes.begin() + 4),
              (std::vector<uint8_t>{0x1F, 0x43, 0xB6, 0x75}))
        << "chunk " << i;
  }
}

TEST_F(AvRecording, KeyframeRequestStartsAKeyframeChunk) {
  bool found = false;
  for (const Chunk& c : sink_->chunks) {
    if (c.info.starts_with_keyframe && std::llabs(c.info.first_timestamp_us - 5000000) <= 40000) {
      found = true;
    }
  }
  EXPECT_TRUE(found);
  EXPECT_EQ(stats_.keyframes, 2);
}

TEST_F(AvRecording, HeaderPlusAnySuffixFromAKeyframeChunkDecodes) {
  const auto& chunks = sink_->chunks;
  int suffixes = 0;
  for (size_t k = 1; k < chunks.size(); ++k) {
    if (!chunks[k].info.starts_with_keyframe) continue;
    ++suffixes;
    const std::string path = WorkDir() + "/av_suffix_" + std::to_string(k) + ".webm";
    WriteChunks(chunks, k, true, path);
    std::string errors;
    EXPECT_EQ(RunCommand("ffmpeg -nostdin -v error -i '" + path + "' -f null -", &errors, true), 0);
    EXPECT_EQ(errors, "") << "suffix from chunk " << k;
    const int64_t packets = CountPackets(path, "v");
    EXPECT_GT(packets, 0);
    EXPECT_EQ(CountFrames(path, "v"), packets) << "suffix from chunk " << k;
  }
  EXPECT_GE(suffixes, 2);
}

// Video stalls while audio goes on (WebKit's single-threaded core on a busy machine): audio more
// than 1 s ahead of the video is written, and the stalled frames, when they come, are older than
// it. They must be dropped before the encoder sees them: a frame encoded and then left out of the
// stream is the next frame's reference, and no frame up to the next keyframe would decode. Then
// the video must be recorded again, though the audio keeps arriving 200 ms ahead of it.
TEST(StalledVideo, FramesOlderThanWrittenAudioAreDroppedBeforeEncodingAndTheRestDecodes) {
  auto reader = Y4mReader::Open(FourPeopleY4m(kFrames));
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  CollectingSink sink;
  RecorderConfig config;
  config.video = VideoConfig{};
  config.video->adaptive_speed = false;
  config.audio = AudioConfig{};
  auto rec = Recorder::Create(config, &sink);
  ASSERT_TRUE(rec.ok()) << rec.status().ToString();
  const std::vector<float> tone(960, 0.1f);  // 20 ms
  int64_t audio_us = 0;
  auto audio_until = [&](int64_t t) {
    for (; audio_us <= t; audio_us += 20000) ASSERT_TRUE((*rec)->AddAudio(tone.data(), 960, audio_us).ok());
  };
  std::vector<uint8_t> frame;
  for (int i = 0; i < 90; ++i) {  // 3 s; after frame 0, 1.5 s of audio comes before any video
    ASSERT_TRUE((*reader)->ReadFrame(&frame).ok());
    const int64_t t = i * int64_t{1000000} / 30;
    audio_until(i == 1 ? 1500000 : t + 200000);
    ASSERT_TRUE((*rec)->AddVideoFrame(I420FrameView(frame.data(), 640, 480, t)).ok());
  }
  ASSERT_TRUE((*rec)->Stop().ok());
  const RecorderStats s = (*rec)->stats();
  std::printf("stalled video: %lld frames in, %lld encoded, %lld dropped\n", static_cast<long long>(s.video_frames_in),
              static_cast<long long>(s.video_frames_encoded), static_cast<long long>(s.video_frames_dropped));
  EXPECT_GE(s.video_frames_dropped, 40);  // the frames before 1.5 s
  EXPECT_GE(s.video_frames_encoded, 40);  // frame 0 and (nearly) all from 1.5 s on
  const std::string webm = WorkDir() + "/stalled-video.webm";
  WriteChunks(sink.chunks, 0, false, webm);
  std::string errors;
  EXPECT_EQ(RunCommand("ffmpeg -nostdin -v error -i '" + webm + "' -f null -", &errors, true), 0);
  EXPECT_EQ(errors, "");
  EXPECT_EQ(CountPackets(webm, "v"), s.video_frames_encoded);
  EXPECT_EQ(CountFrames(webm, "v"), s.video_frames_encoded) << "every video packet decodes";
}

}  // namespace
}  // namespace recorder::testing
