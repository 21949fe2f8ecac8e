// Video through the whole core: FourPeople (real camera) at 640x480, 30 fps, 250 kbps CBR,
// decoded back with ffmpeg. Also: other pixel formats give the same picture.
#include <gtest/gtest.h>
#include <libyuv/convert_argb.h>
#include <libyuv/convert_from.h>

#include <chrono>
#include <cstdio>
#include <functional>

#include "recorder/media_io.h"
#include "test_support.h"

namespace recorder::testing {
namespace {

constexpr int kFrames = 300;  // 10 s
constexpr int kKbps = 250;

// Encodes a Y4M file; each frame is first given to `convert` to pick its pixel format.
struct Encoded {
  CollectingSink sink;
  RecorderStats stats;
  std::string webm;
  double seconds = 0;
};

enum class Feed { kI420, kNV12, kRGBA, kBGRA };

// `before_frame(recorder, n)`, if given, runs before frame n is added.
void EncodeY4m(const std::string& y4m, const VideoConfig& vc, Feed feed, const std::string& out, Encoded* e,
               const std::function<void(Recorder&, int64_t)>& before_frame = {}) {
  auto reader = Y4mReader::Open(y4m);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  RecorderConfig config;
  config.video = vc;
  auto rec = Recorder::Create(config, &e->sink);
  ASSERT_TRUE(rec.ok()) << rec.status().ToString();
  const int w = vc.width, h = vc.height, cw = (w + 1) / 2, ch = (h + 1) / 2;
  std::vector<uint8_t> i420, packed(static_cast<size_t>(w) * h * 4);
  const auto start = std::chrono::steady_clock::now();
  for (int64_t n = 0;; ++n) {
    auto more = (*reader)->ReadFrame(&i420);
    ASSERT_TRUE(more.ok()) << more.status().ToString();
    if (!more.value()) break;
    // A capture clock that does not start at zero, as in a browser.
    VideoFrame f = I420FrameView(i420.data(), w, h, 5000000 + n * 1000000 / 30);
    const uint8_t *y = f.planes[0], *u = f.planes[1], *v = f.planes[2];
    switch (feed) {
      case Feed::kI420:
        break;
      case Feed::kNV12:  // Y stays, UV interleaved into `packed`
        libyuv::I420ToNV12(y, w, u, cw, v, cw, packed.data(), w, packed.data() + w * h, 2 * cw, w, h);
        f.format = PixelFormat::kNV12;
        f.planes[0] = packed.data();
        f.planes[1] = packed.data() + w * h;
        f.strides[1] = 2 * cw;
        break;
      case Feed::kRGBA:  // libyuv "ABGR" = bytes R,G,B,A
        libyuv::I420ToABGR(y, w, u, cw, v, cw, packed.data(), 4 * w, w, h);
        f.format = PixelFormat::kRGBA;
        f.planes[0] = packed.data();
        f.strides[0] = 4 * w;
        break;
      case Feed::kBGRA:  // libyuv "ARGB" = bytes B,G,R,A
        libyuv::I420ToARGB(y, w, u, cw, v, cw, packed.data(), 4 * w, w, h);
        f.format = PixelFormat::kBGRA;
        f.planes[0] = packed.data();
        f.strides[0] = 4 * w;
        break;
    }
    (void)ch;
    if (before_frame) before_frame(**rec, n);
    Status s = (*rec)->AddVideoFrame(f);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  Status s = (*rec)->Stop();
  ASSERT_TRUE(s.ok()) << s.ToString();
  e->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  e->stats = (*rec)->stats();
  e->webm = WorkDir() + "/" + out;
  WriteChunks(e->sink.chunks, 0, false, e->webm);
}

VideoConfig CameraConfig() {
  VideoConfig vc;  // 640x480, 30 fps nominal, 250 kbps: the product default
  vc.kbps = kKbps;
  vc.adaptive_speed = false;  // a fixed speed, so the quality figures do not depend on load
  return vc;
}

class FourPeopleVideo : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    source_ = FourPeopleY4m(kFrames);
    ASSERT_FALSE(source_.empty()) << "ffmpeg could not prepare the input";
    encoded_ = new Encoded;
    EncodeY4m(source_, CameraConfig(), Feed::kI420, "fourpeople_i420.webm", encoded_);
    const RecorderStats& s = encoded_->stats;
    std::printf(
        "FourPeople 640x480: %lld frames in %.2f s (%.0f fps), speed %d, %lld bytes, "
        "video %.1f kbps, stream %.1f kbps, %lld chunks, %lld keyframes\n",
        static_cast<long long>(s.video_frames_encoded), encoded_->seconds, s.video_frames_encoded / encoded_->seconds,
        s.current_speed, static_cast<long long>(s.bytes_out), s.video_kbps, s.achieved_kbps,
        static_cast<long long>(s.chunks_out), static_cast<long long>(s.keyframes));
  }
  static void TearDownTestSuite() { delete encoded_; }
  static std::string source_;
  static Encoded* encoded_;
};
std::string FourPeopleVideo::source_;
Encoded* FourPeopleVideo::encoded_ = nullptr;

TEST_F(FourPeopleVideo, EveryInputFrameIsDecodable) {
  EXPECT_EQ(encoded_->stats.video_frames_in, kFrames);
  EXPECT_EQ(encoded_->stats.video_frames_encoded, kFrames);
  EXPECT_EQ(encoded_->stats.video_frames_dropped, 0);
  EXPECT_EQ(CountFrames(encoded_->webm, "v"), kFrames);
}

TEST_F(FourPeopleVideo, LumaPsnrIsAtLeast35_5dB) {
  const double psnr = PsnrY(encoded_->webm, source_, 640, 480);
  std::printf("PSNR-Y %.2f dB\n", psnr);
  EXPECT_GE(psnr, 35.5);
}

TEST_F(FourPeopleVideo, BitrateIsWithinTenPercentOfTarget) {
  const int64_t bytes = StreamBytes(encoded_->webm, "v");
  const double kbps = bytes * 8.0 / (kFrames / 30.0) / 1000;
  std::printf("VP9 payload %.1f kbps (target %d), recorder says %.1f\n", kbps, kKbps, encoded_->stats.video_kbps);
  EXPECT_NEAR(kbps, kKbps, kKbps * 0.10);
  EXPECT_NEAR(encoded_->stats.video_kbps, kbps, 1.0);
}

// The page lowers the target while the uplink cannot keep up (web/recorder/uplink.js): the new
// rate holds within about a second, without a keyframe, and every frame still decodes.
TEST_F(FourPeopleVideo, LoweringTheBitrateMidStreamTakesEffectWithoutAKeyframe) {
  Encoded e;
  EncodeY4m(source_, CameraConfig(), Feed::kI420, "fourpeople_lowered.webm", &e, [](Recorder& r, int64_t n) {
    if (n == 0) {
      EXPECT_EQ(r.SetVideoBitrate(5).code(), StatusCode::kInvalidArgument);
    }
    if (n == kFrames / 2) {
      EXPECT_TRUE(r.SetVideoBitrate(100).ok());
    }
  });
  const double before_kbps = StreamBytes(e.webm, "v", 1, 5) * 8.0 / 4 / 1000;
  const double after_kbps = StreamBytes(e.webm, "v", 6, 10) * 8.0 / 4 / 1000;
  const double settled_kbps = StreamBytes(e.webm, "v", 8, 10) * 8.0 / 2 / 1000;
  std::printf("250 kbps until 5 s: %.1f kbps in [1, 5) s; then 100 kbps: %.1f kbps in [6, 10) s, %.1f in [8, 10) s\n",
              before_kbps, after_kbps, settled_kbps);
  EXPECT_NEAR(before_kbps, kKbps, kKbps * 0.15);
  // libvpx spends the rate-control buffer it had at the old rate first: about 3 s to settle.
  EXPECT_LT(after_kbps, before_kbps * 0.65);
  EXPECT_NEAR(settled_kbps, 100, 100 * 0.3);
  EXPECT_EQ(e.stats.keyframes, 1);
  EXPECT_EQ(CountFrames(e.webm, "v"), kFrames);
}

TEST_F(FourPeopleVideo, StreamIsVp9InWebmAt640x480) {
  auto j = Probe(encoded_->webm);
  ASSERT_FALSE(j.is_null());
  EXPECT_EQ(j["format"]["format_name"], "matroska,webm");
  ASSERT_EQ(j["streams"].size(), 1u);
  EXPECT_EQ(j["streams"][0]["codec_name"], "vp9");
  EXPECT_EQ(j["streams"][0]["width"], 640);
  EXPECT_EQ(j["streams"][0]["height"], 480);
  EXPECT_EQ(RunCommand("mkvinfo '" + encoded_->webm + "' > /dev/null"), 0);
}

TEST_F(FourPeopleVideo, TimestampsStartAtZeroAndFollowCaptureTimes) {
  const StreamSpan span = PacketSpan(encoded_->webm, "v");
  EXPECT_NEAR(span.start, 0.0, 0.001);
  // 300 frames at 30 fps: the last starts at 9.967 s.
  EXPECT_GE(span.end, 9.966);
  EXPECT_LE(span.end, 10.001);
}

TEST_F(FourPeopleVideo, ChunksAfterTheHeaderAreAboutOneSecondClusters) {
  const auto& chunks = encoded_->sink.chunks;
  ASSERT_GE(chunks.size(), 10u);
  EXPECT_LE(chunks.size(), 13u);
  EXPECT_TRUE(chunks[0].info.is_header);
  EXPECT_TRUE(chunks[1].info.starts_with_keyframe);
  for (size_t i = 1; i < chunks.size(); ++i) {
    const Chunk& c = chunks[i];
    EXPECT_EQ(c.info.index, static_cast<int64_t>(i));
    EXPECT_FALSE(c.info.is_header);
    ASSERT_GE(c.bytes.size(), 4u);
    EXPECT_EQ(c.bytes[0], 0x1F);
    EXPECT_EQ(c.bytes[1], 0x43);
    EXPECT_EQ(c.bytes[2], 0xB6);
    EXPECT_EQ(c.bytes[3], 0x75);
    EXPECT_LE(c.info.first_timestamp_us, c.info.last_timestamp_us);
    EXPECT_LE(c.info.last_timestamp_us - c.info.first_timestamp_us, 1000000);
    if (i > 1) {
      EXPECT_GT(c.info.first_timestamp_us, chunks[i - 1].info.last_timestamp_us);
    }
  }
}

// Short clip for the format comparisons: encodes are deterministic with one thread.
class PixelFormats : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    source_ = FourPeopleY4m(60);
    ASSERT_FALSE(source_.empty());
    i420_ = new Encoded;
    EncodeY4m(source_, CameraConfig(), Feed::kI420, "formats_i420.webm", i420_);
  }
  static void TearDownTestSuite() { delete i420_; }
  static std::string source_;
  static Encoded* i420_;
};
std::string PixelFormats::source_;
Encoded* PixelFormats::i420_ = nullptr;

TEST_F(PixelFormats, Nv12InputEncodesExactlyLikeI420) {
  Encoded nv12;
  EncodeY4m(source_, CameraConfig(), Feed::kNV12, "formats_nv12.webm", &nv12);
  ASSERT_EQ(nv12.sink.chunks.size(), i420_->sink.chunks.size());
  // Chunk 0 differs: mkvmuxer gives each track a random UID. The Clusters must be identical.
  for (size_t i = 1; i < nv12.sink.chunks.size(); ++i) {
    EXPECT_EQ(nv12.sink.chunks[i].bytes, i420_->sink.chunks[i].bytes) << "chunk " << i;
  }
}

TEST_F(PixelFormats, RgbaInputGivesTheSamePictureAsI420) {
  Encoded rgba;
  EncodeY4m(source_, CameraConfig(), Feed::kRGBA, "formats_rgba.webm", &rgba);
  const double psnr = PsnrY(rgba.webm, i420_->webm, 640, 480);
  std::printf("RGBA vs I420 path: PSNR-Y %.2f dB\n", psnr);
  EXPECT_GE(psnr, 38.0);
}

TEST_F(PixelFormats, BgraInputGivesTheSamePictureAsI420) {
  Encoded bgra;
  EncodeY4m(source_, CameraConfig(), Feed::kBGRA, "formats_bgra.webm", &bgra);
  const double psnr = PsnrY(bgra.webm, i420_->webm, 640, 480);
  std::printf("BGRA vs I420 path: PSNR-Y %.2f dB\n", psnr);
  EXPECT_GE(psnr, 38.0);
}

}  // namespace
}  // namespace recorder::testing

namespace recorder::testing {
namespace {

// The real screen capture (Adobe Reader scrolling a PDF, 1024x768, 50 frames) through the screen
// track's defaults: 2500 kbps, screen-content tuning.
TEST(ScreenContent, ScreenCaptureEncodesEveryFrameWithReadableText) {
  const std::string source =
      PrepareMedia("screen_1024x768.y4m",
                   "-i '" RECORDER_TEST_MEDIA "/screen_Adobe_PDF_sample_a_1024x768_50Frms.264' -pix_fmt yuv420p");
  VideoConfig vc = VideoConfig::Screen(1024, 768);
  vc.adaptive_speed = false;
  EXPECT_EQ(vc.kbps, 2500);
  EXPECT_EQ(vc.content, ContentType::kScreen);
  Encoded screen;
  EncodeY4m(source, vc, Feed::kI420, "screen.webm", &screen);
  EXPECT_EQ(CountFrames(screen.webm, "v"), 50);
  const double psnr = PsnrY(screen.webm, source, 1024, 768);
  std::printf("screen 1024x768 at 2500 kbps: PSNR-Y %.2f dB\n", psnr);
  EXPECT_GE(psnr, 32.0);  // text stays legible well above this
}

}  // namespace
}  // namespace recorder::testing
