// Finalize() and Verify() on real live recordings made with ffmpeg from tests/media, checked with
// independent readers (ffmpeg/ffprobe, mkvinfo, mkvparser), plus truncated and malformed inputs.
#include "webm/finalize.h"

#include <gtest/gtest.h>
#include <malloc.h>
#include <mkvparser/mkvparser.h>
#include <mkvparser/mkvreader.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <sstream>
#include <thread>

#include "webm_test_util.h"

#ifdef __SANITIZE_ADDRESS__
// The hostile-input tests measure this process's peak RSS. ASan keeps freed blocks resident in its
// quarantine (256 MB by default) to catch use after free, which would show as growth however
// little Finalize holds at once; a small quarantine (as tests/fuzz.sh runs with) keeps RSS about
// what the code holds. ASAN_OPTIONS from the environment still overrides this.
extern "C" const char* __asan_default_options() { return "quarantine_size_mb=4"; }
#endif

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
  const std::string first = Shell(
      "ffprobe -v quiet -read_intervals 5%+#1 -select_streams v:0 "
      "-show_entries packet=pts_time,flags -of csv=p=0 " +
      out);
  ASSERT_NE(first.find(",K"), std::string::npos) << first;
  const double keyframe_s = std::stod(first);
  EXPECT_LE(keyframe_s, 5.0);
  EXPECT_GT(keyframe_s, 5.0 - 3.1);  // keyframes at most 90 frames apart
  // ffmpeg -ss 5 decodes from there and gives the frame at 5 s.
  std::istringstream lines(
      Shell("ffmpeg -nostdin -v quiet -ss 5 -i " + out + " -map 0:v -frames:v 1 -copyts -f framemd5 -"));
  double tb = 0, pts = -1;
  for (std::string line; std::getline(lines, line);) {
    int num = 0, den = 0;
    if (std::sscanf(line.c_str(), "#tb 0: %d/%d", &num, &den) == 2) tb = double(num) / den;
    if (!line.empty() && line[0] == '0') pts = std::stod(line.substr(line.find(',', line.find(',') + 1) + 1));
  }
  EXPECT_NEAR(pts * tb, 5.0, 0.05);
}

// Video keyframe times of `path` in ms, as ffprobe reads them.
std::vector<int64_t> KeyframesMs(const std::string& path) {
  std::istringstream lines(
      Shell("ffprobe -v quiet -select_streams v:0 -show_entries packet=pts_time,flags -of csv=p=0 " + path));
  std::vector<int64_t> out;
  for (std::string line; std::getline(lines, line);) {
    if (line.find(",K") != std::string::npos) out.push_back(std::llround(std::stod(line) * 1000));
  }
  return out;
}

// A clip (the answer to one question) is cut at a keyframe without re-encoding: it starts on the
// keyframe at or just after the asked start, at 0, lasts until the asked end, and its packets are
// the source's, bit for bit (but for their timestamps).
TEST(ClipTest, StartsOnTheKeyframeAtTheAskedStartAndCopiesThePacketsUntilTheEnd) {
  const std::string source = OutPath("-source");
  ASSERT_TRUE(Finalize(LiveVp9Opus(), source).ok());
  const std::vector<int64_t> keyframes = KeyframesMs(source);
  ASSERT_GE(keyframes.size(), 3u);
  const int64_t keyframe = keyframes[1];
  // Asked 200 ms before the keyframe (a question marker the encoder answered one frame late).
  auto input = OpenFileReader(source);
  ASSERT_TRUE(input.ok());
  const std::string out = OutPath();
  auto writer = FileWriter::Create(out);
  ASSERT_TRUE(writer.ok());
  auto info = Clip(**input, **writer, keyframe - 200, keyframe + 2000);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  ASSERT_TRUE((*writer)->Sync().ok());
  EXPECT_EQ(info->clip_start_ms, keyframe);
  EXPECT_TRUE(Verify(out, *info).ok());
  EXPECT_NEAR(ProbeDuration(out), 2.0, 0.1);
  std::vector<int64_t> clip_keyframes = KeyframesMs(out);
  ASSERT_FALSE(clip_keyframes.empty());
  EXPECT_EQ(clip_keyframes[0], 0) << "the first video frame is a keyframe at 0";
  Shell("ffmpeg -nostdin -v error -xerror -i " + out + " -f null -");  // decodes cleanly
  // Every video packet of the clip is the source's packet from the keyframe on, same bytes.
  auto video_md5s = [](const std::string& path) {
    std::vector<std::string> out;
    for (const std::string& line : PacketHashes(path)) {
      if (line.rfind("0,", 0) == 0) out.push_back(line.substr(line.rfind(',') + 1));
    }
    return out;
  };
  const std::vector<std::string> clip = video_md5s(out), all = video_md5s(source);
  ASSERT_GT(clip.size(), 30u);
  auto at = std::search(all.begin(), all.end(), clip.begin(), clip.end());
  EXPECT_NE(at, all.end()) << "the clip's video packets are a run of the source's";

  // Without video, the clip starts where asked; past the end, or backwards, is refused.
  auto audio = OpenFileReader(LiveOpusOnly());
  auto audio_writer = FileWriter::Create(OutPath("-audio"));
  auto audio_clip = Clip(**audio, **audio_writer, 1000, 2500);
  ASSERT_TRUE(audio_clip.ok()) << audio_clip.status().ToString();
  EXPECT_EQ(audio_clip->clip_start_ms, 1000);
  EXPECT_NEAR(static_cast<double>(audio_clip->duration_ms), 1500, 30);
  auto none_writer = FileWriter::Create(OutPath("-none"));
  auto none = Clip(**input, **none_writer, 3600000, -1);
  EXPECT_EQ(none.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(Clip(**input, **writer, 2000, 1000).status().code(), StatusCode::kInvalidArgument);
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
  if (std::system(("test -x /usr/bin/chromium && test -d " + source_dir + "/node_modules/playwright-core").c_str()) !=
      0) {
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
  for (uint64_t cut :
       {clusters[2] + 1, clusters[2] + 20, clusters[3] - 1, uint64_t{bytes.size() / 2}, uint64_t{bytes.size() - 3}}) {
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

constexpr uint32_t kSegment = 0x18538067, kInfo = 0x1549A966, kTracks = 0x1654AE6B, kCluster = 0x1F43B675;

Bytes InfoElement() { return Element(kInfo, UintElement(0x2AD7B1, 1000000)); }

Bytes OpusTrack() { return OpusTrackEntry(1); }

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
  EXPECT_EQ(FinalizeBytes(
                Concat({WebmHeader(), UnknownSizeElement(kSegment, Concat({InfoElement(), Element(kTracks, {})}))})),
            StatusCode::kCorrupt);
}

TEST(MalformedInputTest, HeadersWithoutAnyFrameAreCorrupt) {
  const Bytes headers =
      Concat({WebmHeader(), UnknownSizeElement(kSegment, Concat({InfoElement(), Element(kTracks, OpusTrack())}))});
  EXPECT_EQ(FinalizeBytes(headers), StatusCode::kCorrupt);
  EXPECT_EQ(FinalizeBytes(Concat({headers, UnknownSizeElement(kCluster, UintElement(0xE7, 0))})), StatusCode::kCorrupt);
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
  const Bytes file = Concat(
      {WebmHeader(),
       UnknownSizeElement(kSegment, Concat({InfoElement(), Element(kTracks, OpusTrack()),
                                            UnknownSizeElement(kCluster, Concat({UintElement(0xE7, 0), block}))}))});
  const std::string in = OutPath(".in");
  WriteFile(in, file);
  Result<FinalizeInfo> info = Finalize(in, OutPath());
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->tracks[0].frames, 1u);
  EXPECT_FALSE(info->truncated);
}

Bytes Vp9Track() { return Vp9TrackEntry(1); }

Bytes SimpleBlock(int16_t relative, bool key) {
  return Element(0xA3, {0x81, static_cast<uint8_t>(relative >> 8), static_cast<uint8_t>(relative),
                        static_cast<uint8_t>(key ? 0x80 : 0x00), 0x12, 0x34, 0x56});
}

// mkvmuxer on its own would put a cue on the first (non-key) frame of the first cluster.
TEST(MalformedInputTest, VideoStartingMidGopGetsCuesOnlyOnKeyframes) {
  const Bytes file =
      Concat({WebmHeader(),
              UnknownSizeElement(
                  kSegment, Concat({InfoElement(), Element(kTracks, Vp9Track()),
                                    UnknownSizeElement(kCluster, Concat({UintElement(0xE7, 0), SimpleBlock(0, false),
                                                                         SimpleBlock(33, false), SimpleBlock(66, true),
                                                                         SimpleBlock(99, false)}))}))});
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
  const Bytes file =
      Concat({WebmHeader(),
              UnknownSizeElement(
                  kSegment, Concat({InfoElement(), Element(kTracks, Vp9Track()),
                                    UnknownSizeElement(kCluster, Concat({UintElement(0xE7, 0), SimpleBlock(0, false),
                                                                         SimpleBlock(33, false)}))}))});
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
  const Bytes file = Concat(
      {WebmHeader(),
       UnknownSizeElement(kSegment, Concat({InfoElement(), Element(kTracks, OpusTrack()),
                                            UnknownSizeElement(kCluster, Concat({UintElement(0xE7, 0), laced}))}))});
  EXPECT_EQ(FinalizeBytes(file), StatusCode::kUnsupported);
}

// --- Hostile inputs (issue 15): memory bounded by a constant and time linear in the bytes, or a
// fast failure whose message names the limit.

struct Cost {
  double mib = 0;  // peak resident memory added to this process
  double seconds = 0;
};

template <typename F>
Cost Measure(F&& run) {
  malloc_trim(0);  // freed heap goes back to the system, so what `run` allocates shows as growth
  const int64_t before = RssKib();
  ResetPeakRss();
  const auto started = std::chrono::steady_clock::now();
  run();
  Cost cost;
  cost.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  cost.mib = static_cast<double>(PeakRssKib() - before) / 1024;
  std::printf("  cost: %.1f MiB peak, %.3f s\n", cost.mib, cost.seconds);
  return cost;
}

Result<FinalizeInfo> NotRun() { return Status(Internal("not run")); }

// The report's file: 400k one-byte keyframes (5.6 MB) took 1.7 GB and 97 s. These are 30 ms
// apart, 3.3 hours of media: accepted, in constant memory, with Cues bounded by the duration.
TEST(HostileInputTest, ManyTinyKeyframesFinalizeAndVerifyInBoundedMemoryAndTime) {
  constexpr uint64_t kFrames = 400000;
  const std::string in = OutPath(".in");
  WriteFile(in, HandMadeLive(Vp9Track(), kFrames, [](uint64_t i) {
              return HandFrame{1, static_cast<int64_t>(i) * 30, true, 1};
            }));
  const std::string out = OutPath();
  Result<FinalizeInfo> info = NotRun();
  const Cost finalize = Measure([&] { info = Finalize(in, out); });
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->tracks[0].frames, kFrames);
  EXPECT_LT(finalize.mib, 16) << "peak memory grew with the frame count";
  EXPECT_LT(finalize.seconds, 5);  // about 0.3 s on an idle machine
  EXPECT_LE(info->cue_points, kMaxCuePoints);
  EXPECT_LE(info->cue_points, static_cast<uint64_t>(info->duration_ms / kMinCueSpacingMs) + 1);
  EXPECT_GE(info->cue_points, kMaxCuePoints * 9 / 10);  // nearly the whole budget, evenly spread
  Status verified = Internal("not run");
  const Cost verify = Measure([&] { verified = Verify(out, *info); });
  EXPECT_TRUE(verified.ok()) << verified.ToString();
  EXPECT_LT(verify.mib, 16) << "Verify's memory grew with the frame count";
  EXPECT_LT(verify.seconds, 5);
}

TEST(HostileInputTest, TinyFramesCrowdedIntoOneSecondFailFastNamingTheLimit) {
  const std::string in = OutPath(".in");
  WriteFile(in, HandMadeLive(Vp9Track(), 400000, [](uint64_t) { return HandFrame{1, 0, true, 1}; }));
  const std::string out = OutPath();
  Result<FinalizeInfo> info = NotRun();
  const Cost cost = Measure([&] { info = Finalize(in, out); });
  ASSERT_EQ(info.status().code(), StatusCode::kCorrupt) << info.status().ToString();
  EXPECT_EQ(info.status().message(),
            "video track 1 has more than 1000 frames within one second of media (at 0.000 s): not a recording");
  EXPECT_LT(cost.seconds, 1);  // stops at frame 1001
  EXPECT_LT(cost.mib, 16);
  EXPECT_EQ(ReadFile(out).size(), 0u) << "nothing is written before the whole input is accepted";
}

// Timestamps that go back are raised to the last one, so a stream whose clock keeps going back
// piles its frames onto one instant: caught by the same limit, and the message says why.
TEST(HostileInputTest, TimestampsThatKeepGoingBackFailNamingTheCause) {
  const std::string in = OutPath(".in");
  WriteFile(in, HandMadeLive(OpusTrack(), 5000, [](uint64_t i) {
              return HandFrame{1, 60000 - static_cast<int64_t>(i), true, 3};
            }));
  Result<FinalizeInfo> info = Finalize(in, OutPath());
  ASSERT_EQ(info.status().code(), StatusCode::kCorrupt) << info.status().ToString();
  EXPECT_EQ(info.status().message(),
            "audio track 1 has more than 1000 frames within one second of media (at "
            "60.000 s, where timestamps went back): not a recording");
}

// mkvmuxer queued every audio frame until a video frame caught up, so the file was held in memory.
TEST(HostileInputTest, OneMibAudioFramesWithAlmostNoVideoKeepMemoryFlat) {
  constexpr uint64_t kAudioFrames = 48;
  const std::string in = OutPath(".in");
  WriteFile(in, HandMadeLive(Concat({Vp9TrackEntry(1), OpusTrackEntry(2)}), 1 + kAudioFrames, [](uint64_t i) {
              return i == 0 ? HandFrame{1, 0, true, 100} : HandFrame{2, static_cast<int64_t>(i) * 20, true, 1 << 20};
            }));
  const std::string out = OutPath();
  Result<FinalizeInfo> info = NotRun();
  const Cost finalize = Measure([&] { info = Finalize(in, out); });
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  ASSERT_EQ(info->tracks.size(), 2u);
  EXPECT_EQ(info->tracks[1].frames, kAudioFrames);
  EXPECT_LT(finalize.mib, 8) << "memory grew with the upload";
  Status verified = Internal("not run");
  const Cost verify = Measure([&] { verified = Verify(out, *info); });
  EXPECT_TRUE(verified.ok()) << verified.ToString();
  EXPECT_LT(verify.mib, 8);
  EXPECT_EQ(PacketHashes(out), PacketHashes(in));
}

TEST(HostileInputTest, FrameLargerThanTheLimitIsCorruptNamingItsSize) {
  const std::string in = OutPath(".in");
  WriteFile(in, HandMadeLive(OpusTrack(), 2, [](uint64_t i) {
              return HandFrame{1, static_cast<int64_t>(i) * 20, true, i == 0 ? 10 : kMaxFrameBytes + (1 << 20)};
            }));
  Result<FinalizeInfo> info = Finalize(in, OutPath());
  ASSERT_EQ(info.status().code(), StatusCode::kCorrupt) << info.status().ToString();
  EXPECT_EQ(info.status().message(),
            "a frame of 17.0 MiB on audio track 1 at 0.020 s: more than the 16.0 MiB a recorded frame may have");
}

TEST(HostileInputTest, TooManyTracksIsCorruptNamingTheCount) {
  Bytes entries;
  for (uint64_t n = 1; n <= kMaxTracks + 1; ++n) entries = Concat({entries, OpusTrackEntry(n)});
  const std::string in = OutPath(".in");
  WriteFile(in, HandMadeLive(entries, 10, [](uint64_t i) {
              return HandFrame{1, static_cast<int64_t>(i) * 20, true, 3};
            }));
  Result<FinalizeInfo> info = Finalize(in, OutPath());
  ASSERT_EQ(info.status().code(), StatusCode::kCorrupt) << info.status().ToString();
  EXPECT_EQ(info.status().message(), "the file declares 17 tracks, more than the 16 a recording may have");
}

// libwebm parses (and allocates for) every Tag, Chapter and SeekHead entry before the first
// Cluster; it is only shown the first kMaxHeaderBytes.
TEST(HostileInputTest, HeadersLargerThanTheLimitAreCorrupt) {
  Bytes tags;
  for (int i = 0; i < 8000; ++i) tags = Concat({tags, Element(0x7373, Element(0x67C8, StringElement(0x45A3, "a")))});
  const Bytes live = HandMadeLive(OpusTrack(), 10, [](uint64_t i) {
    return HandFrame{1, static_cast<int64_t>(i) * 20, true, 3};
  });
  const Bytes header = WebmHeader();
  // The Tags go right after the Segment's header (ID and 8-byte unknown size).
  const size_t segment_payload = header.size() + 4 + 8;
  const Bytes file = Concat({Bytes(live.begin(), live.begin() + segment_payload), Element(0x1254C367, tags),
                             Bytes(live.begin() + segment_payload, live.end())});
  ASSERT_GT(file.size(), kMaxHeaderBytes);
  const std::string ok_in = OutPath(".ok.in");
  WriteFile(ok_in, live);
  ASSERT_TRUE(Finalize(ok_in, OutPath("_ok")).ok()) << "the same stream without the Tags finalizes";
  const std::string in = OutPath(".in");
  WriteFile(in, file);
  Result<FinalizeInfo> info = Finalize(in, OutPath());
  ASSERT_EQ(info.status().code(), StatusCode::kCorrupt) << info.status().ToString();
  EXPECT_EQ(info.status().message(),
            "no Cluster within the first 64 KiB: headers that large are not a recording's (about 1 KB)");
}

// A disk that fills up after `room` bytes.
class FullDisk : public MemoryWriter {
 public:
  explicit FullDisk(uint64_t room) : room_(room) {}
  Status Write(const void* data, size_t n) override {
    if (Position() + n > room_) return ResourceExhausted("write: No space left on device");
    return MemoryWriter::Write(data, n);
  }

 private:
  uint64_t room_;
};

// The writer's first error comes back as it was (the server retries ResourceExhausted later),
// whether it hits a header, a frame or the Cues.
TEST(WriteFailureTest, TheWritersErrorIsReturned) {
  const std::string live = LiveVp9Opus();
  auto reader = OpenFileReader(live);
  ASSERT_TRUE(reader.ok());
  MemoryWriter whole;
  Result<FinalizeInfo> info = Finalize(**reader, whole);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  for (uint64_t room : {uint64_t{0}, uint64_t{100}, info->output_bytes / 2, info->output_bytes - 1}) {
    SCOPED_TRACE(room);
    FullDisk disk(room);
    EXPECT_EQ(Finalize(**reader, disk).status().ToString(), "ResourceExhausted: write: No space left on device");
  }
  MemoryWriter again;
  ASSERT_TRUE(Finalize(**reader, again).ok());
  EXPECT_EQ(again.bytes(), whole.bytes()) << "the output depends on the input only";
}

// --- Cues: bounded by the duration, and players still seek well.

// A keyframe every 100 ms (as a screen recorder asked for keyframes often might write): one cue a
// second, not ten, and seeking still decodes the frame asked for.
TEST(CuesTest, FrequentKeyframesGetOneCuePerSecondAndSeekingLandsOnTime) {
  const std::string out = OutPath();
  Result<FinalizeInfo> info = Finalize(LiveVp9FrequentKeyframes(), out);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_GE(info->video_keyframes, 95u);
  EXPECT_EQ(info->cue_spacing_ms, kMinCueSpacingMs);
  EXPECT_GE(info->cue_points, 9u);
  EXPECT_LE(info->cue_points, 11u);
  EXPECT_TRUE(Verify(out, *info).ok()) << Verify(out, *info).ToString();
  const std::string first = Shell(
      "ffprobe -v quiet -read_intervals 5%+#1 -select_streams v:0 "
      "-show_entries packet=pts_time,flags -of csv=p=0 " +
      out);
  ASSERT_NE(first.find(",K"), std::string::npos) << first;
  EXPECT_LE(std::stod(first), 5.0);
  EXPECT_GT(std::stod(first), 5.0 - 1.1);
  std::istringstream lines(
      Shell("ffmpeg -nostdin -v quiet -ss 5 -i " + out + " -map 0:v -frames:v 1 -copyts -f framemd5 -"));
  double tb = 0, pts = -1;
  for (std::string line; std::getline(lines, line);) {
    int num = 0, den = 0;
    if (std::sscanf(line.c_str(), "#tb 0: %d/%d", &num, &den) == 2) tb = double(num) / den;
    if (!line.empty() && line[0] == '0') pts = std::stod(line.substr(line.find(',', line.find(',') + 1) + 1));
  }
  EXPECT_NEAR(pts * tb, 5.0, 0.05);
}

// Three hours with a keyframe every second: at most kMaxCuePoints cues, spread evenly.
TEST(CuesTest, LongRecordingsGetAtMostTheCueBudgetEvenlySpaced) {
  constexpr uint64_t kSeconds = 3 * 3600;
  const std::string in = OutPath(".in");
  WriteFile(in, HandMadeLive(Vp9Track(), kSeconds * 10, [](uint64_t i) {
              return HandFrame{1, static_cast<int64_t>(i) * 100, i % 10 == 0, 1};
            }));
  const std::string out = OutPath();
  Result<FinalizeInfo> info = Finalize(in, out);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->video_keyframes, kSeconds);
  EXPECT_LE(info->cue_points, kMaxCuePoints);
  EXPECT_EQ(info->cue_spacing_ms, 1319);      // ceil((kSeconds - 1) s / (kMaxCuePoints - 1))
  EXPECT_GE(info->cue_points, kSeconds / 2);  // every other keyframe: 2 s apart
  EXPECT_TRUE(Verify(out, *info).ok()) << Verify(out, *info).ToString();
}

// --- Verify still catches what it caught when it loaded the whole file.

// Finalizes a hand-made VP9 stream (keyframe, then 3 frames) and returns the output's bytes.
Bytes FinalizedHandMade(FinalizeInfo* info) {
  const std::string in = OutPath(".hand.in");
  WriteFile(in, HandMadeLive(Vp9Track(), 4, [](uint64_t i) {
              return HandFrame{1, static_cast<int64_t>(i) * 33, i == 0, 5};
            }));
  const std::string out = OutPath(".hand");
  Result<FinalizeInfo> r = Finalize(in, out);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (r.ok()) *info = *r;
  return ReadFile(out);
}

// Offset of the first SimpleBlock's flags byte: the Cluster (ID, 8-byte size), its Timecode
// (3 bytes for 0), then the SimpleBlock (ID, 1-byte size, track, 2 bytes of timecode).
size_t FirstBlockFlags(const Bytes& file) {
  const Bytes cluster_id = {0x1F, 0x43, 0xB6, 0x75};
  const size_t cluster = std::search(file.begin(), file.end(), cluster_id.begin(), cluster_id.end()) - file.begin();
  return cluster + 4 + 8 + 3 + 1 + 1 + 1 + 2;
}

// The server's live view joins a recording in progress at the last Cluster a decoder can start
// on. Checked against ffprobe's own packet positions and flags, for every point the upload may
// have reached.
TEST(LivePointsTest, AViewerJoinsAtTheLastClusterWhoseFirstVideoFrameIsAKeyframe) {
  const std::string& path = LiveVp9Opus();
  const Bytes bytes = ReadFile(path);
  const std::string_view view(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  const std::vector<uint64_t> clusters = ClusterOffsets(bytes);
  ASSERT_GE(clusters.size(), 4u);
  // The first video packet of each Cluster, by file position: is it a keyframe?
  std::map<size_t, bool> starts_with_key;
  std::istringstream packets(
      Shell("ffprobe -v error -select_streams v:0 -show_entries packet=pos,flags -of csv=p=0 '" + path + "'"));
  for (std::string line; std::getline(packets, line);) {
    const uint64_t pos = std::stoull(line.substr(0, line.find(',')));
    const size_t cluster = std::upper_bound(clusters.begin(), clusters.end(), pos) - clusters.begin() - 1;
    starts_with_key.try_emplace(cluster, line.find('K') != std::string::npos);
  }
  int keyed = 0;
  uint64_t expected = clusters[0];
  for (size_t i = 0; i < clusters.size(); ++i) {
    // Cluster i cut a few bytes in (no video frame of it complete yet): the join is where it was.
    const std::pair<uint64_t, uint64_t> cut = {clusters[i] + 40, expected};
    if (starts_with_key[i]) {
      expected = clusters[i];
      keyed += i > 0;
    }
    const std::pair<uint64_t, uint64_t> whole = {i + 1 < clusters.size() ? clusters[i + 1] : bytes.size(), expected};
    for (const auto& [available, join_at] : {whole, cut}) {
      if (i == 0 && available == cut.first) continue;  // no frame at all yet: below
      MemoryReader reader(view);
      Result<LivePoints> points = FindLivePoints(reader, available);
      ASSERT_TRUE(points.ok()) << points.status().ToString();
      EXPECT_EQ(points->header_end, clusters[0]);
      EXPECT_EQ(points->join_at, join_at) << "cluster " << i << ", " << available << " bytes available";
    }
  }
  EXPECT_GE(keyed, 2) << "the input should offer later keyframe clusters to join at";
  MemoryReader reader(view);
  EXPECT_EQ(FindLivePoints(reader, clusters[0]).status().code(), StatusCode::kCorrupt) << "no frame yet";
}

TEST(VerifyTest, CatchesACueOnANonKeyframe) {
  FinalizeInfo info;
  Bytes file = FinalizedHandMade(&info);
  ASSERT_EQ(info.cue_points, 1u);
  const size_t flags = FirstBlockFlags(file);
  ASSERT_EQ(file.at(flags), 0x80) << "not the keyframe's flags";
  const std::string path = OutPath(".ok");
  WriteFile(path, file);
  ASSERT_TRUE(Verify(path, info).ok()) << Verify(path, info).ToString();
  file[flags] = 0x00;
  WriteFile(path, file);
  EXPECT_EQ(Verify(path, info).ToString(), "Corrupt: a video cue does not point at a keyframe");
}

TEST(VerifyTest, CatchesTimestampsGoingBack) {
  FinalizeInfo info;
  Bytes file = FinalizedHandMade(&info);
  const size_t flags = FirstBlockFlags(file);
  file.at(flags - 2) = 0x10;  // the first block now says 4096 ms, the second 33 ms
  const std::string path = OutPath(".bad");
  WriteFile(path, file);
  EXPECT_EQ(Verify(path, info).ToString(), "Corrupt: timestamps go back on track 1");
}

TEST(VerifyTest, CatchesAWrongCueCount) {
  FinalizeInfo info;
  const Bytes file = FinalizedHandMade(&info);
  const std::string path = OutPath(".ok");
  WriteFile(path, file);
  info.cue_points += 1;
  EXPECT_EQ(Verify(path, info).ToString(), "Corrupt: Cues has 1 cue points, expected 2");
}

// Verify holds one Cluster at a time, and mkvparser an entry per block of it: a file whose one
// Cluster has more blocks than Finalize ever writes is refused before that grows, though it is
// otherwise a well-formed finalized file matching `info`.
TEST(VerifyTest, RefusesAClusterWithMoreBlocksThanFinalizeWrites) {
  constexpr uint64_t kBlocks = kMaxClusterBlocks + 1;
  Bytes blocks;
  for (uint64_t i = 0; i < kBlocks; ++i) {
    blocks = Concat({blocks, Element(0xA3, Bytes{0x81, static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i),
                                                 i == 0 ? uint8_t{0x80} : uint8_t{0}, 7})});
  }
  Bytes duration(8);  // Duration in ticks (ms), an 8-byte big-endian double
  const double ms = static_cast<double>(kBlocks);
  uint64_t bits = 0;
  std::memcpy(&bits, &ms, sizeof bits);
  for (int i = 0; i < 8; ++i) duration[i] = static_cast<uint8_t>(bits >> (56 - 8 * i));
  const Bytes cluster = Element(0x1F43B675, Concat({UintElement(0xE7, 0), blocks}));
  const Bytes info_element = Element(0x1549A966, Concat({UintElement(0x2AD7B1, 1000000), Element(0x4489, duration)}));
  const Bytes file = Concat(
      {WebmHeader(), Element(0x18538067, Concat({info_element, Element(0x1654AE6B, Vp9TrackEntry(1)), cluster}))});
  FinalizeInfo info;
  info.duration_ms = static_cast<int64_t>(kBlocks);
  TrackSummary track;
  track.number = 1;
  track.codec_id = "V_VP9";
  track.frames = kBlocks;
  info.tracks.push_back(track);
  const std::string path = OutPath(".big_cluster");
  WriteFile(path, file);
  EXPECT_EQ(Verify(path, info).ToString(), "Corrupt: the Cluster at byte " +
                                               std::to_string(file.size() - cluster.size()) +
                                               " has more than 1024 blocks: not written by Finalize");
}

}  // namespace
}  // namespace recorder::webm

namespace recorder::webm {
namespace {

// Inputs the fuzzer once broke Finalize/Verify with, and small hostile inputs
// (tests/webm/fuzz/regressions, the hostile_* ones from make_hostile.mjs): each finalizes and
// verifies, or fails cleanly, in bounded memory and time; the hostile ones with their reason.
TEST(FuzzRegressionTest, PastFindingsAndHostileInputsEndBoundedWithTheirReason) {
  const std::map<std::string, std::string> expected_errors = {
      {"hostile_keyframes_one_instant.webm",
       "Corrupt: video track 1 has more than 1000 frames within one second of media (at 0.000 s): not a recording"},
      {"hostile_17_tracks.webm", "Corrupt: the file declares 17 tracks, more than the 16 a recording may have"},
  };
  const std::string dir = std::string(RECORDER_SOURCE_DIR) + "/tests/webm/fuzz/regressions";
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    SCOPED_TRACE(name);
    const std::string out = testing::TempDir() + "/regression_" + std::to_string(count++) + ".webm";
    Result<FinalizeInfo> info = Status(Internal("not run"));
    Status verified;
    const auto started = std::chrono::steady_clock::now();
    const int64_t before = testing::RssKib();
    testing::ResetPeakRss();
    info = Finalize(entry.path().string(), out);
    if (info.ok()) verified = Verify(out, *info);
    EXPECT_LT(testing::PeakRssKib() - before, 16 << 10);
    EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(), 2.0);
    EXPECT_TRUE(verified.ok()) << verified.ToString();
    const auto error = expected_errors.find(name);
    if (error != expected_errors.end()) {
      EXPECT_EQ(info.status().ToString(), error->second);
    } else if (name.rfind("hostile_", 0) == 0) {
      EXPECT_TRUE(info.ok()) << info.status().ToString();
    }
  }
  EXPECT_GE(count, 6);
}

}  // namespace
}  // namespace recorder::webm
