// The Recorder's contract with synthetic input (no files): invalid use returns errors and
// leaves the recorder usable, failures are sticky, keyframes come on time, speed adapts.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "recorder/media_io.h"
#include "recorder/speed_controller.h"
#include "test_support.h"

namespace recorder::testing {
namespace {

constexpr int kW = 160, kH = 120;

// A moving gradient, so the encoder has something to do.
std::vector<uint8_t> Picture(int n) {
  std::vector<uint8_t> p(kW * kH * 3 / 2, 128);
  for (int y = 0; y < kH; ++y) {
    for (int x = 0; x < kW; ++x) p[y * kW + x] = static_cast<uint8_t>(x + y + 3 * n);
  }
  return p;
}

RecorderConfig SmallConfig() {
  RecorderConfig c;
  c.video = VideoConfig{};
  c.video->width = kW;
  c.video->height = kH;
  c.video->kbps = 100;
  c.video->fps = 10;
  c.audio = AudioConfig{};
  return c;
}

class RecorderApi : public ::testing::Test {
 protected:
  void SetUp() override {
    auto r = Recorder::Create(SmallConfig(), &sink_);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    rec_ = std::move(r.value());
  }
  Status AddFrame(int64_t t) {
    pic_ = Picture(static_cast<int>(t / 100000));
    return rec_->AddVideoFrame(I420FrameView(pic_.data(), kW, kH, t));
  }
  CollectingSink sink_;
  std::unique_ptr<Recorder> rec_;
  std::vector<uint8_t> pic_;
};

TEST(RecorderCreate, RejectsBadConfigs) {
  CollectingSink sink;
  auto expect = [&](RecorderConfig c, StatusCode code, ChunkSink* s) {
    auto r = Recorder::Create(c, s);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), code) << r.status().ToString();
  };
  expect(RecorderConfig{}, StatusCode::kInvalidArgument, &sink);  // no tracks
  expect(SmallConfig(), StatusCode::kInvalidArgument, nullptr);   // no sink
  RecorderConfig c = SmallConfig();
  c.video->width = 100000;
  expect(c, StatusCode::kInvalidArgument, &sink);
  c = SmallConfig();
  c.video->height = 0;
  expect(c, StatusCode::kInvalidArgument, &sink);
  c = SmallConfig();
  c.video->fps = std::numeric_limits<double>::quiet_NaN();
  expect(c, StatusCode::kInvalidArgument, &sink);
  c = SmallConfig();
  c.video->kbps = -5;
  expect(c, StatusCode::kInvalidArgument, &sink);
  c = SmallConfig();
  c.video->speed = 42;
  expect(c, StatusCode::kInvalidArgument, &sink);
  c = SmallConfig();
  c.video->threads = 0;
  expect(c, StatusCode::kInvalidArgument, &sink);
  c = SmallConfig();
  c.audio->sample_rate = 44100;
  expect(c, StatusCode::kUnsupported, &sink);
  c = SmallConfig();
  c.audio->channels = 6;
  expect(c, StatusCode::kUnsupported, &sink);
  c = SmallConfig();
  c.chunk_duration_ms = 0;
  expect(c, StatusCode::kInvalidArgument, &sink);
}

TEST_F(RecorderApi, WrongFrameSizeIsAnErrorNotAScale) {
  std::vector<uint8_t> big(320 * 240 * 3 / 2);
  Status s = rec_->AddVideoFrame(I420FrameView(big.data(), 320, 240, 0));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
  EXPECT_TRUE(AddFrame(0).ok());  // still usable
}

TEST_F(RecorderApi, NullPlanesAndShortStridesAreErrors) {
  pic_ = Picture(0);
  VideoFrame f = I420FrameView(pic_.data(), kW, kH, 0);
  f.planes[2] = nullptr;
  EXPECT_EQ(rec_->AddVideoFrame(f).code(), StatusCode::kInvalidArgument);
  f = I420FrameView(pic_.data(), kW, kH, 0);
  f.strides[0] = kW - 1;
  EXPECT_EQ(rec_->AddVideoFrame(f).code(), StatusCode::kInvalidArgument);
  f = I420FrameView(pic_.data(), kW, kH, 0);
  f.format = PixelFormat::kRGBA;  // RGBA needs 4 bytes per pixel
  EXPECT_EQ(rec_->AddVideoFrame(f).code(), StatusCode::kInvalidArgument);
  f.format = PixelFormat::kNV12;
  f.planes[1] = nullptr;
  EXPECT_EQ(rec_->AddVideoFrame(f).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(rec_->AddAudio(nullptr, 480, 0).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(rec_->stats().video_frames_in, 0);
}

TEST_F(RecorderApi, UnknownPixelFormatIsUnsupported) {
  pic_ = Picture(0);
  VideoFrame f = I420FrameView(pic_.data(), kW, kH, 0);
  f.format = static_cast<PixelFormat>(17);  // as a binding could pass from JS
  EXPECT_EQ(rec_->AddVideoFrame(f).code(), StatusCode::kUnsupported);
}

TEST_F(RecorderApi, NonMonotonicTimestampsAreErrors) {
  ASSERT_TRUE(AddFrame(1000000).ok());
  EXPECT_EQ(AddFrame(1000000).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(AddFrame(900000).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(AddFrame(-1).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(AddFrame(int64_t{1} << 60).code(), StatusCode::kInvalidArgument);
  std::vector<float> audio(480, 0.1f);
  ASSERT_TRUE(rec_->AddAudio(audio.data(), 480, 1000000).ok());
  EXPECT_EQ(rec_->AddAudio(audio.data(), 480, 1000000).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(rec_->AddAudio(audio.data(), 480, 5).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(AddFrame(1100000).ok());
  EXPECT_TRUE(rec_->AddAudio(audio.data(), 480, 1010000).ok());
}

TEST_F(RecorderApi, AbsurdAudioBlockSizesAreErrors) {
  std::vector<float> audio(16, 0.0f);
  EXPECT_EQ(rec_->AddAudio(audio.data(), -1, 0).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(rec_->AddAudio(audio.data(), std::numeric_limits<int>::max(), 0).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(rec_->AddAudio(audio.data(), 0, 0).ok());  // nothing to do
}

TEST_F(RecorderApi, NonFiniteSamplesAreEncodedAsSilence) {
  std::vector<float> audio(960 * 3, std::numeric_limits<float>::quiet_NaN());
  EXPECT_TRUE(rec_->AddAudio(audio.data(), 960 * 3, 0).ok());
  EXPECT_TRUE(rec_->Stop().ok());
}

TEST_F(RecorderApi, CallsAfterStopFailWithFailedPrecondition) {
  ASSERT_TRUE(AddFrame(0).ok());
  ASSERT_TRUE(rec_->Stop().ok());
  const size_t chunks = sink_.chunks.size();
  EXPECT_GE(chunks, 2u);
  std::vector<float> audio(480, 0.0f);
  EXPECT_EQ(AddFrame(100000).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(rec_->AddAudio(audio.data(), 480, 100000).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(rec_->RequestKeyframe().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(rec_->Stop().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(sink_.chunks.size(), chunks);
}

TEST(RecorderTracks, CallsForAMissingTrackFailWithFailedPrecondition) {
  CollectingSink sink;
  RecorderConfig c = SmallConfig();
  c.video.reset();
  auto rec = Recorder::Create(c, &sink);
  ASSERT_TRUE(rec.ok());
  std::vector<uint8_t> p = Picture(0);
  EXPECT_EQ((*rec)->AddVideoFrame(I420FrameView(p.data(), kW, kH, 0)).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ((*rec)->RequestKeyframe().code(), StatusCode::kFailedPrecondition);
}

TEST_F(RecorderApi, SinkFailureIsStickyAndReturnedByLaterCalls) {
  sink_.fail_at = 1;  // accept the header, refuse the first Cluster
  Status first_error;
  for (int i = 0; i < 40 && first_error.ok(); ++i) first_error = AddFrame(i * 100000);
  EXPECT_EQ(first_error.code(), StatusCode::kIoError);
  EXPECT_EQ(AddFrame(10000000).code(), StatusCode::kIoError);
  EXPECT_EQ(rec_->Stop().code(), StatusCode::kIoError);
}

TEST_F(RecorderApi, KeyframeAtLeastEveryTenSeconds) {
  for (int i = 0; i < 250; ++i) ASSERT_TRUE(AddFrame(i * 100000).ok());  // 25 s at 10 fps
  ASSERT_TRUE(rec_->Stop().ok());
  EXPECT_EQ(rec_->stats().keyframes, 3);  // at 0, 10 and 20 s
  int keyframe_chunks = 0;
  for (size_t i = 1; i < sink_.chunks.size(); ++i) keyframe_chunks += sink_.chunks[i].info.starts_with_keyframe;
  EXPECT_EQ(keyframe_chunks, 3);
}

TEST_F(RecorderApi, VideoFirstThenAudioSharesTimeZero) {
  // Video starts at capture time 5 s; audio arrives for 5.0 s too and keeps up.
  std::vector<float> audio(4800, 0.25f);
  for (int i = 0; i < 30; ++i) {
    ASSERT_TRUE(AddFrame(5000000 + i * 100000).ok());
    ASSERT_TRUE(rec_->AddAudio(audio.data(), 4800, 5000000 + i * 100000).ok());
  }
  ASSERT_TRUE(rec_->Stop().ok());
  const RecorderStats s = rec_->stats();
  EXPECT_EQ(s.video_frames_encoded, 30);
  EXPECT_EQ(s.audio_packets_dropped, 0);
  EXPECT_NEAR(s.media_seconds, 3.0, 0.05);
  EXPECT_EQ(sink_.chunks[1].info.first_timestamp_us, 0);
  for (size_t i = 2; i < sink_.chunks.size(); ++i) {
    EXPECT_EQ(sink_.chunks[i].bytes[0], 0x1F);
    EXPECT_GE(sink_.chunks[i].info.first_timestamp_us, sink_.chunks[i - 1].info.last_timestamp_us);
  }
}

TEST_F(RecorderApi, StalledVideoDoesNotHoldAudioBackForever) {
  ASSERT_TRUE(AddFrame(0).ok());
  std::vector<float> audio(4800, 0.25f);
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(rec_->AddAudio(audio.data(), 4800, i * 100000).ok());
  // 3 s of audio and no video after 0: everything older than 1 s behind must be out already.
  int64_t last_us = 0;
  for (const Chunk& c : sink_.chunks) last_us = std::max(last_us, c.info.last_timestamp_us);
  EXPECT_GE(last_us, 1000000);
  ASSERT_TRUE(rec_->Stop().ok());
}

TEST_F(RecorderApi, StatsCountFramesBytesAndSpeed) {
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(AddFrame(i * 100000).ok());
  ASSERT_TRUE(rec_->Stop().ok());
  const RecorderStats s = rec_->stats();
  EXPECT_EQ(s.video_frames_in, 20);
  EXPECT_EQ(s.video_frames_encoded, 20);
  EXPECT_EQ(s.video_frames_dropped, 0);
  int64_t bytes = 0;
  for (const Chunk& c : sink_.chunks) bytes += static_cast<int64_t>(c.bytes.size());
  EXPECT_EQ(s.bytes_out, bytes);
  EXPECT_EQ(s.chunks_out, static_cast<int64_t>(sink_.chunks.size()));
  EXPECT_GT(s.video_encode_us, 0);
  EXPECT_EQ(s.current_speed, VideoConfig{}.speed);
  EXPECT_NEAR(s.media_seconds, 2.0, 0.01);
}

TEST(SpeedControllerTest, RaisesSpeedWhenEncodingIsSlowerThanCapture) {
  SpeedController c(7, true);
  for (int i = 0; i < 100; ++i) c.OnEncoded(30000, 33333);  // 90 % of the budget
  EXPECT_EQ(c.speed(), SpeedController::kFastestSpeed);
}

TEST(SpeedControllerTest, LowersSpeedBackToBaseWhenThereIsHeadroom) {
  SpeedController c(6, true);
  for (int i = 0; i < 100; ++i) c.OnEncoded(32000, 33333);
  ASSERT_GT(c.speed(), 6);
  for (int i = 0; i < 200; ++i) c.OnEncoded(5000, 33333);
  EXPECT_EQ(c.speed(), 6);
}

TEST(SpeedControllerTest, DropsOnlyWhenFastestSpeedStillFallsBehind) {
  SpeedController c(7, true);
  int drops = 0;
  for (int i = 0; i < 200; ++i) {
    if (c.ShouldDrop(33333)) {
      ++drops;
      continue;
    }
    c.OnEncoded(50000, 33333);  // 1.5x real time, even at speed 9
  }
  EXPECT_EQ(c.speed(), SpeedController::kFastestSpeed);
  // Encoding 1.5x slower than capture can keep about 2 of 3 frames.
  EXPECT_GT(drops, 40);
  EXPECT_LT(drops, 90);
}

TEST(SpeedControllerTest, DisabledKeepsSpeedAndNeverDrops) {
  SpeedController c(7, false);
  for (int i = 0; i < 100; ++i) {
    EXPECT_FALSE(c.ShouldDrop(33333));
    c.OnEncoded(100000, 33333);
  }
  EXPECT_EQ(c.speed(), 7);
}

TEST(RecorderAdaptive, SlowEncodingRaisesSpeedAndCountsDrops) {
  // Capture timestamps 1 ms apart at 640x480: no encoder keeps up, so the recorder must speed
  // up and then drop, and say so in its stats.
  CollectingSink sink;
  RecorderConfig c;
  c.video = VideoConfig{};
  auto rec = Recorder::Create(c, &sink);
  ASSERT_TRUE(rec.ok());
  std::vector<uint8_t> p(640 * 480 * 3 / 2);
  for (int i = 0; i < 200; ++i) {
    for (size_t k = 0; k < p.size(); k += 7) p[k] = static_cast<uint8_t>(k * 31 + i * 17);
    ASSERT_TRUE((*rec)->AddVideoFrame(I420FrameView(p.data(), 640, 480, i * 1000)).ok());
  }
  ASSERT_TRUE((*rec)->Stop().ok());
  const RecorderStats s = (*rec)->stats();
  EXPECT_EQ(s.current_speed, SpeedController::kFastestSpeed);
  EXPECT_GT(s.video_frames_dropped, 0);
  EXPECT_EQ(s.video_frames_encoded + s.video_frames_dropped, s.video_frames_in);
}

}  // namespace
}  // namespace recorder::testing
