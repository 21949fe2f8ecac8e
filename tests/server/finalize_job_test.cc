// The finalize job killed at each of its steps and run again (as after a restart): it must end
// with the recording ready, its one file holding exactly the finalized bytes, and nothing left in
// the spool; a broken upload ends failed with its bytes kept.
#include "jobs/finalize_job.h"

#include <gtest/gtest.h>

#include "index/sqlite/sqlite_index.h"
#include "server_fixture.h"

namespace recorder::server::testing {
namespace {

class FinalizeJobTest : public ::testing::Test {
 protected:
  void SetUp() override {
    index_ = std::move(SqliteIndex::Open((dir_.path() / "db").string()).value());
    fs::create_directory(data_);
    spool_ = std::make_unique<FileUploadStore>(data_, &posix_);
    media_ = std::make_unique<FileMediaStore>(data_, &posix_);
    ingest_ = std::make_unique<Ingest>(IngestOptions{}, index_.get(), spool_.get(), media_.get(), &clock_, &metrics_,
                                       nullptr);
  }

  // A complete upload of `bytes`, its finalize job queued. Returns the recording id.
  int64_t Upload(const std::string& bytes) {
    auto created = ingest_->CreateSession("Jane Doe", "", "");
    Session session = ingest_->Authenticate(created->upload_token).value();
    auto upload = ingest_->CreateUpload(session, bytes.size(), RecordingKind::kCamera, "");
    EXPECT_TRUE(ingest_->Append(session, upload->id, 0, std::nullopt, bytes, std::nullopt).ok());
    return upload->recording_id;
  }

  // Claims the queued finalize job as `owner` and runs it.
  JobResult RunOnce(FinalizeJob& job, const std::string& owner) {
    auto claimed = index_->ClaimJob(FinalizeJob::kKind, owner, clock_.NowSeconds(), 60);
    EXPECT_TRUE(claimed.ok() && claimed->has_value());
    if (!claimed.ok() || !claimed->has_value()) return JobResult::Failed("no job");
    return job.Run(**claimed);
  }

  // Files under the data folder, relative.
  std::vector<std::string> Files() {
    std::vector<std::string> files;
    for (const auto& e : fs::recursive_directory_iterator(data_)) {
      if (e.is_regular_file()) files.push_back(fs::relative(e.path(), data_).string());
    }
    return files;
  }

  TempDir dir_;
  fs::path data_ = dir_.path() / "data";
  PosixFileSystem posix_;
  std::unique_ptr<SqliteIndex> index_;
  std::unique_ptr<FileUploadStore> spool_;
  std::unique_ptr<FileMediaStore> media_;
  ManualClock clock_{kStartTime};
  Metrics metrics_;
  std::unique_ptr<Ingest> ingest_;
  CopyFinalizer finalizer_;
};

class FinalizeJobCrashTest : public FinalizeJobTest, public ::testing::WithParamInterface<std::string_view> {};

TEST_P(FinalizeJobCrashTest, CrashThenRestartEndsReadyWithOneCompleteFile) {
  const std::string_view step = GetParam();
  const std::string bytes = "live webm bytes " + std::string(step);
  int64_t id = Upload(bytes);
  FinalizeJob crashing(index_.get(), spool_.get(), media_.get(), &finalizer_, &clock_, &metrics_);
  crashing.set_crash_hook_for_test([&](std::string_view at) { return at == step; });
  EXPECT_EQ(RunOnce(crashing, "node/1/finalize#0").error, "simulated crash");

  // The restarted node takes its job back and runs it to the end.
  ASSERT_EQ(index_->ReleaseLeases("node/", clock_.NowSeconds()).value(), 1);
  FinalizeJob restarted(index_.get(), spool_.get(), media_.get(), &finalizer_, &clock_, &metrics_);
  JobResult result = RunOnce(restarted, "node/2/finalize#0");
  EXPECT_EQ(result.outcome, JobOutcome::kDone) << result.error;

  auto recording = index_->GetRecording(id);
  ASSERT_TRUE(recording.ok());
  EXPECT_EQ(recording->status, RecordingStatus::kReady);
  EXPECT_EQ(recording->bytes, bytes.size());
  EXPECT_EQ(Files(), std::vector<std::string>{recording->media_key}) << "leftovers in the spool";
  EXPECT_EQ(ReadFile(data_ / recording->media_key), bytes);
}

INSTANTIATE_TEST_SUITE_P(EveryStep, FinalizeJobCrashTest,
                         ::testing::Values("finalized", "synced", "verified", "stored", "indexed"));

TEST_F(FinalizeJobTest, BrokenUploadFailsWithItsReasonAndKeepsItsBytes) {
  int64_t id = Upload("BROKEN upload");
  FinalizeJob job(index_.get(), spool_.get(), media_.get(), &finalizer_, &clock_, &metrics_);
  JobResult result = RunOnce(job, "node/1/finalize#0");
  EXPECT_EQ(result.outcome, JobOutcome::kFailed);
  auto recording = index_->GetRecording(id);
  EXPECT_EQ(recording->status, RecordingStatus::kFailed);
  EXPECT_NE(recording->failure_reason.find("no EBML header"), std::string::npos) << recording->failure_reason;
  EXPECT_EQ(Files(), std::vector<std::string>{recording->media_key + ".part"}) << "the scratch file stayed";
  EXPECT_EQ(ReadFile(data_ / (recording->media_key + ".part")), "BROKEN upload");
}

TEST_F(FinalizeJobTest, JobOfADeletedRecordingIsDone) {
  FinalizeJob job(index_.get(), spool_.get(), media_.get(), &finalizer_, &clock_, &metrics_);
  Job orphan;
  orphan.kind = FinalizeJob::kKind;
  orphan.subject = JobSubject::Recording(12345);
  EXPECT_EQ(job.Run(orphan).outcome, JobOutcome::kDone);
}

}  // namespace
}  // namespace recorder::server::testing
