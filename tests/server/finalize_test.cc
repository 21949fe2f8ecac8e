// The finalize path with real media: a live WebM uploaded in ~1 s chunks becomes a seekable,
// verified .webm with Duration and Cues; a malformed upload ends failed with its bytes kept.
#include <gtest/gtest.h>

#include "server_fixture.h"

namespace recorder::server::testing {
namespace {

class FinalizeTest : public ServerTest {
 protected:
  void SetUp() override {
    ServerTest::SetUp();
    config_.ingest.max_upload_size = 64 << 20;
    Start(std::make_unique<WebmFinalizer>());
  }

  // Uploads `data` in `chunks` PATCHes, the last one declaring the length. Returns the recording's status.
  RecordingStatus UploadAndWait(const std::string& data, int chunks) {
    std::string token = NewSession("Ada Lovelace");
    std::string url = NewUpload(token);
    size_t step = data.size() / chunks + 1;
    for (size_t offset = 0; offset < data.size(); offset += step) {
      std::string chunk = data.substr(offset, step);
      httplib::Headers extra;
      if (offset + chunk.size() == data.size()) extra.emplace("Upload-Length", std::to_string(data.size()));
      auto res = Patch(token, url, offset, chunk, extra);
      EXPECT_TRUE(res && res->status == 204) << (res ? res->body : "no response");
    }
    RecordingStatus status = RecordingStatus::kReceiving;
    WaitFor(
        [&] {
          status = app_->index().GetRecording(1)->status;
          return status == RecordingStatus::kReady || status == RecordingStatus::kFailed;
        },
        std::chrono::seconds(30));
    return status;
  }
};

TEST_F(FinalizeTest, LiveWebmUploadedInChunksBecomesSeekableWithDurationAndCues) {
  std::string live = ReadFile(LiveWebm());
  ASSERT_GT(live.size(), 10000u);
  ASSERT_EQ(UploadAndWait(live, 5), RecordingStatus::kReady);  // ~1 s of media per chunk
  fs::path file = OnlyRecordingFile();
  EXPECT_EQ(file.filename().string().rfind("interview_video_", 0), 0u);
  EXPECT_EQ(file.extension(), ".webm");
  auto recording = app_->index().GetRecording(1);
  EXPECT_GT(recording->duration_ms, 4000);
  EXPECT_EQ(recording->bytes, fs::file_size(file));
  EXPECT_FALSE(recording->incomplete);

  CommandResult duration = RunCommand("ffprobe -v error -show_entries format=duration -of csv=p=0 " + file.string());
  ASSERT_EQ(duration.exit_code, 0) << duration.output;
  EXPECT_GT(std::stod(duration.output), 4.0);
  CommandResult info = RunCommand("mkvinfo --all " + file.string());
  EXPECT_NE(info.output.find("|+ Cues"), std::string::npos) << info.output.substr(0, 2000);
  EXPECT_NE(info.output.find("Cue point"), std::string::npos);
  EXPECT_NE(info.output.find("Duration"), std::string::npos);
  EXPECT_EQ(PacketCounts(file.string()), PacketCounts(LiveWebm()));
  CommandResult decode = RunCommand("ffmpeg -nostdin -v error -i " + file.string() + " -f null -");
  EXPECT_EQ(decode.exit_code, 0);
  EXPECT_EQ(decode.output, "");
}

TEST_F(FinalizeTest, MalformedWebmEndsFailedWithReasonAndBytesKept) {
  std::string garbage(50000, '\x42');
  ASSERT_EQ(UploadAndWait(garbage, 3), RecordingStatus::kFailed);
  auto recording = app_->index().GetRecording(1);
  EXPECT_FALSE(recording->failure_reason.empty());
  fs::path file = OnlyRecordingFile();
  EXPECT_EQ(file.extension(), ".part");
  EXPECT_EQ(ReadFile(file), garbage);
}

}  // namespace
}  // namespace recorder::server::testing
