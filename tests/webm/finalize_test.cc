// Finalize() and Verify() on real live recordings made with ffmpeg from tests/media, checked with
// independent readers (ffmpeg/ffprobe, mkvinfo, mkvparser), plus truncated and malformed inputs.
#include "webm/finalize.h"

#include <gtest/gtest.h>
#include <mkvparser/mkvparser.h>
#include <mkvparser/mkvreader.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <sstream>
#include <thread>

#include "webm_test_util.h"

namespace recorder::webm {
namespace {

using namespace recorder::webm::testing;

std::string OutPath(const std::string& suffix = "") {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return TempDir() + "/" + info->test_suite_name() + "." + info->name() + suffix + ".out.webm";
}

const TrackSummary* FindTrack(const FinalizeInfo& info, TrackKind kind) {
  for (const TrackSummary& t : info.tracks) {
    if (t.kind == kind) return &t;
  }
  return nullptr;
}

// End of the last packet as ffprobe sees it: max(pts + duration), in seconds.
double LastPacketEnd(const std::string& path) {
  std::istringstream lines(Shell("ffprobe -v quiet -show_entries packet=pts_time,duration_time -of csv=p=0 " + path));
  double end = 0;
  for (std::string line; std::getline(lines, line);) {
    const size_t comma = line.find(',');
    if (comma == std::string::npos) continue;
    const std::string duration = line.substr(comma + 1);  // "N/A" for video without DefaultDuration
    end = std::max(end, std::stod(line.substr(0, comma)) + (duration == "N/A" ? 0 : std::stod(duration)));
  }
  return end;
}

void ExpectCutKeepsEveryCompleteFrame(const std::string& live, uint64_t cut, bool expect_truncated);

TEST(FinalizeTest, LiveVp9OpusBecomesSeekableWithDurationCuesAndSeekHead) {
  const std::string in = LiveVp9Opus();
  ASSERT_LT(ProbeDuration(in), 0) << "the input should be live: no Duration";
  const std::string out = OutPath();
  Result<FinalizeInfo> info = Finalize(in, out);
  ASSERT_TRUE(info.ok()) << info.status().ToString();

  EXPECT_NEAR(ProbeDuration(out), LastPacketEnd(in), 0.050);
  EXPECT_NEAR(info->duration_ms / 1000.0, LastPacketEnd(in), 0.050);
  const std::string mkvinfo = Shell("mkvinfo -a " + out);  // -a: past the first Cluster too
  EXPECT_NE(mkvinfo.find("|+ Cues"), std::string::npos);
  EXPECT_NE(mkvinfo.find("|+ Seek head"), std::string::npos);
  EXPECT_NE(mkvinfo.find("+ Duration"), std::string::npos);
  EXPECT_EQ(mkvinfo.find("Segment: size unknown"), std::string::npos);
  EXPECT_FALSE(info->truncated);
  EXPECT_EQ(info->ignored_bytes, 0u);
  EXPECT_TRUE(Verify(out, *info).ok()) << Verify(out, *info).ToString();
}

TEST(FinalizeTest, CopiesEveryPacketBitExactlyWithTimestampsFlagsAndDiscardPadding) {
  const std::string in = LiveVp9Opus();
  const std::string out = OutPath();
  ASSERT_TRUE(Finalize(in, out).ok());
  const std::vector<std::string> want = PacketHashes(in);
  ASSERT_GT(want.size(), 800u);
  EXPECT_EQ(PacketHashes(out), want);
  // The last Opus packet carries DiscardPadding; framemd5 shows it as side data ("S=1").
  EXPECT_NE(want.back().find("S=1"), std::string::npos);
}

TEST(FinalizeTest, ReportsFrameCountsCodecsSizesAndOutputBytes) {
  const std::string in = LiveVp9Opus();
  const std::string out = OutPath();
  Result<FinalizeInfo> info = Finalize(in, out);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  ASSERT_EQ(info->tracks.size(), 2u);
  const TrackSummary* video = FindTrack(*info, TrackKind::kVideo);
  const TrackSummary* audio = FindTrack(*info, TrackKind::kAudio);
  ASSERT_TRUE(video && audio);
  EXPECT_EQ(video->codec_id, "V_VP9");
  EXPECT_EQ(video->width, 352u);
  EXPECT_EQ(video->height, 288u);
  EXPECT_EQ(audio->codec_id, "A_OPUS");
  EXPECT_EQ(audio->sample_rate, 48000);
  EXPECT_EQ(audio->channels, 1u);
  EXPECT_EQ(PacketCounts(in), (std::vector<uint64_t>{video->frames, audio->frames}));
  EXPECT_EQ(PacketCounts(out), PacketCounts(in));
  EXPECT_EQ(video->frames, 300u);
  EXPECT_GE(info->video_keyframes, 1u);
  EXPECT_EQ(info->video_keyframes, video->keyframes);
  EXPECT_EQ(info->cue_points, video->keyframes);
  EXPECT_EQ(info->output_bytes, ReadFile(out).size());
  EXPECT_EQ(info->skipped_frames, 0u);
  EXPECT_EQ(info->raised_timestamps, 0u);
}

// Track headers, compared field by field with libwebm's own parser.
TEST(FinalizeTest, CopiesTrackHeadersFaithfully) {
  const std::string in = LiveVp9Opus();
  const std::string out = OutPath();
  ASSERT_TRUE(Finalize(in, out).ok());
  struct Parsed {
    mkvparser::MkvReader reader;
    std::unique_ptr<mkvparser::Segment> segment;
    explicit Parsed(const std::string& path) {
      long long pos = 0;
      mkvparser::EBMLHeader ebml;
      mkvparser::Segment* raw = nullptr;
      if (reader.Open(path.c_str()) == 0 && ebml.Parse(&reader, pos) == 0 &&
          mkvparser::Segment::CreateInstance(&reader, pos, raw) == 0) {
        segment.reset(raw);
        segment->ParseHeaders();
      }
    }
  };
  Parsed a(in), b(out);
  ASSERT_TRUE(a.segment && b.segment);
  const mkvparser::Tracks* ta = a.segment->GetTracks();
  const mkvparser::Tracks* tb = b.segment->GetTracks();
  ASSERT_EQ(ta->GetTracksCount(), tb->GetTracksCount());
  for (unsigned long i = 0; i < ta->GetTracksCount(); ++i) {
    const mkvparser::Track* x = ta->GetTrackByIndex(i);
    const mkvparser::Track* y = tb->GetTrackByIndex(i);
    SCOPED_TRACE(x->GetCodecId());
    EXPECT_EQ(x->GetType(), y->GetType());
    EXPECT_STREQ(x->GetCodecId(), y->GetCodecId());
    EXPECT_EQ(x->GetUid(), y->GetUid());
    EXPECT_EQ(x->GetCodecDelay(), y->GetCodecDelay());
    EXPECT_EQ(x->GetSeekPreRoll(), y->GetSeekPreRoll());
    EXPECT_EQ(x->GetDefaultDuration(), y->GetDefaultDuration());
    size_t nx = 0, ny = 0;
    const unsigned char* px = x->GetCodecPrivate(nx);
    const unsigned char* py = y->GetCodecPrivate(ny);
    ASSERT_EQ(nx, ny);
    if (nx > 0) {
      EXPECT_EQ(0, memcmp(px, py, nx));
    }
    if (x->GetType() == mkvparser::Track::kVideo) {
      const auto* vx = static_cast<const mkvparser::VideoTrack*>(x);
      const auto* vy = static_cast<const mkvparser::VideoTrack*>(y);
      EXPECT_EQ(vx->GetWidth(), vy->GetWidth());
      EXPECT_EQ(vx->GetHeight(), vy->GetHeight());
      EXPECT_EQ(vx->GetDisplayWidth(), vy->GetDisplayWidth());
      EXPECT_EQ(vx->GetDisplayHeight(), vy->GetDisplayHeight());
    } else {
      const auto* ax = static_cast<const mkvparser::AudioTrack*>(x);
      const auto* ay = static_cast<const mkvparser::AudioTrack*>(y);
      EXPECT_EQ(ax->GetSamplingRate(), ay->GetSamplingRate());
      EXPECT_EQ(ax->GetChannels(), ay->GetChannels());
      EXPECT_EQ(ax->GetBitDepth(), ay->GetBitDepth());
      EXPECT_EQ(std::string(reinterpret_cast<const char*>(px), 8), "OpusHead");
    }
  }
}

TEST(FinalizeTest, SeekingToFiveSecondsUsesCuesAndLandsOnAKeyframe) {
  const std::string out = OutPath();
  ASSERT_TRUE(Finalize(LiveVp9Opus(), out).ok());
  // ffprobe seeks to the keyframe at or before 5 s.
  const std::string first = Shell("ffprobe -v quiet -read_intervals 5%+#1 -select_streams v:0 "
                                "-show_entries packet=pts_time,flags -of csv=p=0 " + out);
  ASSERT_NE(first.find(",K"), std::string::npos) << first;
  const double keyframe_s = std::stod(first);
  EXPECT_LE(keyframe_s, 5.0);
  EXPECT_GT(keyframe_s, 5.0 - 3.1);  // keyframes at most 90 frames apart
  // ffmpeg -ss 5 decodes from there and gives the frame at 5 s.
  std::istringstream lines(Shell("ffmpeg -nostdin -v quiet -ss 5 -i " + out +
                               " -map 0:v -frames:v 1 -copyts -f framemd5 -"));
  double tb = 0, pts = -1;
  for (std::string line; std::getline(lines, line);) {
    int num = 0, den = 0;
    if (std::sscanf(line.c_str(), "#tb 0: %d/%d", &num, &den) == 2) tb = double(num) / den;
    if (!line.empty() && line[0] == '0') pts = std::stod(line.substr(line.find(',', line.find(',') + 1) + 1));
  }
  EXPECT_NEAR(pts * tb, 5.0, 0.05);
}

TEST(FinalizeTest, UnknownSizeClustersAsMkvmuxerLiveAndMediaRecorderWriteThem) {
  const std::string in = LiveVp9OpusUnknownSizeClusters();
  ASSERT_NE(Shell("mkvinfo -a -z " + in).find("Cluster size is unknown"), std::string::npos) << "fixture not rewritten";
  const std::string out = OutPath();
  Result<FinalizeInfo> info = Finalize(in, out);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_FALSE(info->truncated);
  EXPECT_EQ(PacketHashes(out), PacketHashes(LiveVp9Opus()));
  EXPECT_TRUE(Verify(out, *info).ok());
}

// Chromium's MediaRecorder writes unknown-size Clusters, 60 ms Opus frames and few keyframes.
TEST(FinalizeTest, ChromiumMediaRecorderRecordingFinalizesBitExactly) {
  const std::string in = TempDir() + "/mediarecorder.webm";
  const std::string source_dir = RECORDER_SOURCE_DIR;
  if (std::system(("test -x /usr/bin/chromium && test -d " + source_dir + "/node_modules/playwright-core").c_str()) != 0) {
    GTEST_SKIP() << "needs /usr/bin/chromium and playwright-core";
  }
  Shell("timeout 60 node " + source_dir + "/tests/webm/make_mediarecorder_webm.mjs " + source_dir + " " + in);
  ASSERT_GT(ReadFile(in).size(), 10000u);
  const std::string out = OutPath();
  Result<FinalizeInfo> info = Finalize(in, out);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_FALSE(info->truncated);
  EXPECT_EQ(PacketHashes(out), PacketHashes(in));
  EXPECT_NEAR(ProbeDuration(out), LastPacketEnd(in), 0.050);
  EXPECT_TRUE(Verify(out, *info).ok()) << Verify(out, *info).ToString();
  const uint64_t size = ReadFile(in).size();
  ExpectCutKeepsEveryCompleteFrame(in, size * 2 / 3, true);
}

TEST(FinalizeTest, AudioOnlyGetsCuesOnTheAudioTrack) {
  const std::string in = LiveOpusOnly();
  const std::string out = OutPath();
  Result<FinalizeInfo> info = Finalize(in, out);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  ASSERT_EQ(info->tracks.size(), 1u);
  EXPECT_EQ(info->video_keyframes, 0u);
  EXPECT_EQ(PacketHashes(out), PacketHashes(in));
  EXPECT_NEAR(ProbeDuration(out), LastPacketEnd(in), 0.050);
  const std::string mkvinfo = Shell("mkvinfo -a " + out);
  EXPECT_NE(mkvinfo.find("+ Cue track: 1"), std::string::npos);
  // Clusters are bounded at 5 s, so a 10.8 s file has at least 2 cue points.
  size_t cues = 0;
  for (size_t p = mkvinfo.find("+ Cue point"); p != std::string::npos; p = mkvinfo.find("+ Cue point", p + 1)) ++cues;
  EXPECT_GE(cues, 2u);
  EXPECT_TRUE(Verify(out, *info).ok());
}

TEST(FinalizeTest, Vp8AndVorbisAreCopiedGenerically) {
  const std::string in = LiveVp8Vorbis();
  const std::string out = OutPath();
  Result<FinalizeInfo> info = Finalize(in, out);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  ASSERT_TRUE(FindTrack(*info, TrackKind::kVideo) && FindTrack(*info, TrackKind::kAudio));
  EXPECT_EQ(FindTrack(*info, TrackKind::kVideo)->codec_id, "V_VP8");
  EXPECT_EQ(FindTrack(*info, TrackKind::kAudio)->codec_id, "A_VORBIS");
  EXPECT_EQ(PacketHashes(out), PacketHashes(in));
  // Vorbis CodecPrivate holds the three setup headers; a decode proves they survived.
  Shell("ffmpeg -nostdin -v error -xerror -i " + out + " -f null -");
  EXPECT_TRUE(Verify(out, *info).ok());
}

// The product's promise: whatever complete frames reached the server are kept. ffmpeg reading
// the cut file is the oracle for which frames are complete.
void ExpectCutKeepsEveryCompleteFrame(const std::string& live, uint64_t cut, bool expect_truncated) {
  SCOPED_TRACE("cut at " + std::to_string(cut));
  const Bytes bytes = ReadFile(live);
  const std::string cut_path = OutPath("_cut" + std::to_string(cut) + ".in");
  WriteFile(cut_path, Bytes(bytes.begin(), bytes.begin() + static_cast<long>(cut)));
  const std::string out = OutPath("_cut" + std::to_string(cut));
  Result<FinalizeInfo> info = Finalize(cut_path, out);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->truncated, expect_truncated) << info->truncation_reason;
  if (expect_truncated) {
    EXPECT_GT(info->ignored_bytes, 0u);
    EXPECT_LT(info->ignored_bytes, cut);
  }
  EXPECT_EQ(PacketHashes(out), PacketHashes(cut_path));
  EXPECT_TRUE(Verify(out, *info).ok()) << Verify(out, *info).ToString();
}

TEST(FinalizeTest, TruncatedInputKeepsEveryCompleteFrame) {
  const std::string live = LiveVp9Opus();
  const uint64_t size = ReadFile(live).size();
  for (double f : {0.05, 0.15, 0.33, 0.5, 0.77, 0.999}) {
    ExpectCutKeepsEveryCompleteFrame(live, static_cast<uint64_t>(f * size), true);
  }
  ExpectCutKeepsEveryCompleteFrame(live, size - 1, true);
}

TEST(FinalizeTest, TruncatedUnknownSizeClustersKeepEveryCompleteFrame) {
  const std::string live = LiveVp9OpusUnknownSizeClusters();
  const Bytes bytes = ReadFile(live);
  const std::vector<uint64_t> clusters = ClusterOffsets(ReadFile(LiveVp9Opus()));
  ASSERT_GT(clusters.size(), 4u);
  for (uint64_t cut : {clusters[2] + 1, clusters[2] + 20, clusters[3] - 1, uint64_t{bytes.size() / 2},
                       uint64_t{bytes.size() - 3}}) {
    ExpectCutKeepsEveryCompleteFrame(live, cut, true);
  }
}

TEST(FinalizeTest, InputEndingAtAClusterBoundaryIsNotTruncated) {
  const std::string live = LiveVp9OpusUnknownSizeClusters();
  const std::vector<uint64_t> clusters = ClusterOffsets(ReadFile(LiveVp9Opus()));
  ASSERT_GT(clusters.size(), 4u);
  ExpectCutKeepsEveryCompleteFrame(live, clusters[4], false);
}

TEST(FinalizeTest, GarbageAfterTheLastFrameIsIgnoredAndReported) {
  Bytes bytes = ReadFile(LiveVp9OpusUnknownSizeClusters());
  const size_t good = bytes.size();
  bytes.resize(good + 4096, 0);  // what a torn write after a crash often leaves
  const std::string in = OutPath(".in");
  WriteFile(in, bytes);
  const std::string out = OutPath();
  Result<FinalizeInfo> info = Finalize(in, out);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_TRUE(info->truncated);
  EXPECT_EQ(info->ignored_bytes, 4096u);
  EXPECT_EQ(PacketHashes(out), PacketHashes(LiveVp9Opus()));
}

TEST(FinalizeTest, ConcurrentFinalizesOfDifferentFilesDoNotInterfere) {
  const std::string in = LiveVp9Opus();
  Result<FinalizeInfo> a = Status(Internal("not run")), b = Status(Internal("not run"));
  std::thread ta([&] { a = Finalize(in, OutPath("_a")); });
  std::thread tb([&] { b = Finalize(LiveOpusOnly(), OutPath("_b")); });
  ta.join();
  tb.join();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_TRUE(Verify(OutPath("_a"), *a).ok());
  EXPECT_TRUE(Verify(OutPath("_b"), *b).ok());
}

TEST(VerifyTest, RejectsALiveFile) {
  const std::string out = OutPath();
  Result<FinalizeInfo> info = Finalize(LiveVp9Opus(), out);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(Verify(LiveVp9Opus(), *info).code(), StatusCode::kCorrupt);
}

TEST(VerifyTest, RejectsWrongFrameCountOrDuration) {
  const std::string out = OutPath();
  Result<FinalizeInfo> info = Finalize(LiveVp9Opus(), out);
  ASSERT_TRUE(info.ok());
  FinalizeInfo wrong = *info;
  wrong.tracks[0].frames += 1;
  EXPECT_EQ(Verify(out, wrong).code(), StatusCode::kCorrupt);
  wrong = *info;
  wrong.duration_ms += 100;
  EXPECT_EQ(Verify(out, wrong).code(), StatusCode::kCorrupt);
}

// --- Malformed inputs: a clean Corrupt, never a crash or a hang.

StatusCode FinalizeBytes(const Bytes& bytes) {
  const std::string in = OutPath(".in");
  WriteFile(in, bytes);
  Result<FinalizeInfo> info = Finalize(in, OutPath());
  return info.ok() ? StatusCode::kOk : info.status().code();
}

constexpr uint32_t kSegment = 0x18538067, kInfo = 0x1549A966, kTracks = 0x1654AE6B,
                   kTrackEntry = 0xAE, kCluster = 0x1F43B675;

Bytes InfoElement() { return Element(kInfo, UintElement(0x2AD7B1, 1000000)); }

Bytes OpusTrack() {
  return Element(kTrackEntry, Concat({UintElement(0xD7, 1), UintElement(0x73C5, 7), UintElement(0x83, 2),
                                      StringElement(0x86, "A_OPUS"),
                                      Element(0xE1, Concat({Element(0xB5, {0x40, 0xE7, 0x70, 0, 0, 0, 0, 0}),
                                                            UintElement(0x9F, 1)}))}));
}

TEST(MalformedInputTest, EmptyFileIsCorrupt) { EXPECT_EQ(FinalizeBytes({}), StatusCode::kCorrupt); }

TEST(MalformedInputTest, RandomBytesAreCorrupt) {
  Bytes noise(100000);
  uint32_t x = 12345;
  for (uint8_t& b : noise) b = static_cast<uint8_t>((x = x * 1103515245 + 12345) >> 16);
  EXPECT_EQ(FinalizeBytes(noise), StatusCode::kCorrupt);
}

TEST(MalformedInputTest, TextAndMp4FilesAreCorrupt) {
  EXPECT_EQ(FinalizeBytes(ReadFile(std::string(RECORDER_TEST_MEDIA) + "/SOURCES.md")), StatusCode::kCorrupt);
  EXPECT_EQ(FinalizeBytes(ReadFile(std::string(RECORDER_TEST_MEDIA) + "/akiyo_cif.mp4")), StatusCode::kCorrupt);
}

TEST(MalformedInputTest, MissingFileIsNotFound) {
  EXPECT_EQ(Finalize(TempDir() + "/does-not-exist.webm", OutPath()).status().code(), StatusCode::kNotFound);
}

TEST(MalformedInputTest, ZeroTrackWebmIsCorrupt) {
  EXPECT_EQ(FinalizeBytes(Concat({WebmHeader(), UnknownSizeElement(kSegment, Concat({InfoElement(),
                                                                                    Element(kTracks, {})}))})),
            StatusCode::kCorrupt);
}

TEST(MalformedInputTest, HeadersWithoutAnyFrameAreCorrupt) {
  const Bytes headers = Concat({WebmHeader(), UnknownSizeElement(kSegment, Concat({InfoElement(),
                                                                                 Element(kTracks, OpusTrack())}))});
  EXPECT_EQ(FinalizeBytes(headers), StatusCode::kCorrupt);
  EXPECT_EQ(FinalizeBytes(Concat({headers, UnknownSizeElement(kCluster, UintElement(0xE7, 0))})),
            StatusCode::kCorrupt);
}

TEST(MalformedInputTest, CutInsideTheHeadersIsCorrupt) {
  const Bytes live = ReadFile(LiveVp9Opus());
  for (size_t cut : {size_t{3}, size_t{30}, size_t{200}, size_t{400}}) {
    EXPECT_EQ(FinalizeBytes(Bytes(live.begin(), live.begin() + static_cast<long>(cut))), StatusCode::kCorrupt)
        << "cut at " << cut;
  }
}

TEST(MalformedInputTest, HandMadeStreamWithOneFrameFinalizes) {
  // SimpleBlock: track 1, relative timecode 0, keyframe, 3 bytes of "Opus".
  const Bytes block = Element(0xA3, {0x81, 0x00, 0x00, 0x80, 0xFC, 0xFF, 0xFE});
  const Bytes file = Concat({WebmHeader(), UnknownSizeElement(kSegment, Concat({InfoElement(),
      Element(kTracks, OpusTrack()), UnknownSizeElement(kCluster, Concat({UintElement(0xE7, 0), block}))}))});
  const std::string in = OutPath(".in");
  WriteFile(in, file);
  Result<FinalizeInfo> info = Finalize(in, OutPath());
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->tracks[0].frames, 1u);
  EXPECT_FALSE(info->truncated);
}

Bytes Vp9Track() {
  return Element(kTrackEntry, Concat({UintElement(0xD7, 1), UintElement(0x73C5, 9), UintElement(0x83, 1),
                                      StringElement(0x86, "V_VP9"),
                                      Element(0xE0, Concat({UintElement(0xB0, 64), UintElement(0xBA, 48)}))}));
}

Bytes SimpleBlock(int16_t relative, bool key) {
  return Element(0xA3, {0x81, static_cast<uint8_t>(relative >> 8), static_cast<uint8_t>(relative),
                        static_cast<uint8_t>(key ? 0x80 : 0x00), 0x12, 0x34, 0x56});
}

// mkvmuxer on its own would put a cue on the first (non-key) frame of the first cluster.
TEST(MalformedInputTest, VideoStartingMidGopGetsCuesOnlyOnKeyframes) {
  const Bytes file = Concat({WebmHeader(), UnknownSizeElement(kSegment, Concat({InfoElement(),
      Element(kTracks, Vp9Track()), UnknownSizeElement(kCluster, Concat({UintElement(0xE7, 0),
      SimpleBlock(0, false), SimpleBlock(33, false), SimpleBlock(66, true), SimpleBlock(99, false)}))}))});
  const std::string in = OutPath(".in");
  WriteFile(in, file);
  const std::string out = OutPath();
  Result<FinalizeInfo> info = Finalize(in, out);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->tracks[0].frames, 4u);
  EXPECT_EQ(info->cue_points, 1u);
  EXPECT_EQ(info->duration_ms, 132);  // last frame + spacing of the last two
  EXPECT_TRUE(Verify(out, *info).ok()) << Verify(out, *info).ToString();
}

TEST(MalformedInputTest, VideoWithoutKeyframesFinalizesWithoutCues) {
  const Bytes file = Concat({WebmHeader(), UnknownSizeElement(kSegment, Concat({InfoElement(),
      Element(kTracks, Vp9Track()), UnknownSizeElement(kCluster, Concat({UintElement(0xE7, 0),
      SimpleBlock(0, false), SimpleBlock(33, false)}))}))});
  const std::string in = OutPath(".in");
  WriteFile(in, file);
  const std::string out = OutPath();
  Result<FinalizeInfo> info = Finalize(in, out);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->cue_points, 0u);
  EXPECT_TRUE(Verify(out, *info).ok()) << Verify(out, *info).ToString();
}

TEST(MalformedInputTest, LacedBlocksAreUnsupported) {
  const Bytes laced = Element(0xA3, {0x81, 0x00, 0x00, 0x86, 0x01, 0x01, 0xAA, 0xBB});  // EBML lacing
  const Bytes file = Concat({WebmHeader(), UnknownSizeElement(kSegment, Concat({InfoElement(),
      Element(kTracks, OpusTrack()), UnknownSizeElement(kCluster, Concat({UintElement(0xE7, 0), laced}))}))});
  EXPECT_EQ(FinalizeBytes(file), StatusCode::kUnsupported);
}

}  // namespace
}  // namespace recorder::webm

namespace recorder::webm {
namespace {

// Inputs the fuzzer once broke Finalize/Verify with (tests/webm/fuzz/regressions).
TEST(FuzzRegressionTest, PastFindingsFinalizeAndVerifyOrFailCleanly) {
  const std::string dir = std::string(RECORDER_SOURCE_DIR) + "/tests/webm/fuzz/regressions";
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    SCOPED_TRACE(entry.path().string());
    const std::string out = testing::TempDir() + "/regression_" + std::to_string(count++) + ".webm";
    Result<FinalizeInfo> info = Finalize(entry.path().string(), out);
    if (info.ok()) {
      EXPECT_TRUE(Verify(out, *info).ok()) << Verify(out, *info).ToString();
    }
  }
  EXPECT_GE(count, 2);
}

}  // namespace
}  // namespace recorder::webm
