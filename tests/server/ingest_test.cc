// Ingest against the in-memory store fake: acknowledgement order, reconciliation, expiry.
#include "ingest.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace recorder::server {
namespace {

class IngestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    index_ = std::move(SqliteIndex::Open((dir_.path() / "db").string()).value());
    options_.upload_expiry_seconds = 100;
    ingest_ = std::make_unique<Ingest>(options_, index_.get(), &store_, &clock_, &metrics_, [&] { ++finished_; });
    auto session = ingest_->CreateSession("Jane Doe", "", "");
    ASSERT_TRUE(session.ok());
    session_ = ingest_->Authenticate(session->upload_token).value();
  }

  testing::TempDir dir_;
  std::unique_ptr<SqliteIndex> index_;
  MemoryUploadStore store_;
  ManualClock clock_{1767268800};
  Metrics metrics_;
  IngestOptions options_;
  std::unique_ptr<Ingest> ingest_;
  Session session_;
  int finished_ = 0;
};

TEST_F(IngestTest, AcknowledgedBytesSurviveLosingEverythingUnsynced) {
  auto upload = ingest_->CreateUpload(session_, std::nullopt, RecordingKind::kCamera, "");
  ASSERT_TRUE(upload.ok());
  ASSERT_TRUE(ingest_->Append(session_, upload->id, 0, std::nullopt, "abc", std::nullopt).ok());
  store_.DropUnsynced();  // a power cut right after the acknowledgement
  EXPECT_EQ(store_.Contents(upload->path + ".part"), "abc");
  EXPECT_EQ(index_->GetUpload(upload->id)->offset, 3u);
}

TEST_F(IngestTest, ReconcileResumesAtTheStoredSizeAndFinishesCompleteUploads) {
  auto partial = ingest_->CreateUpload(session_, std::nullopt, RecordingKind::kCamera, "");
  clock_.Advance(1);
  auto full = ingest_->CreateUpload(session_, 4, RecordingKind::kCamera, "");
  ASSERT_TRUE(partial.ok() && full.ok());
  // Bytes that reached the files but not the index before a kill.
  ASSERT_TRUE(store_.Append(partial->path + ".part", 0, "12").ok());
  ASSERT_TRUE(store_.Append(full->path + ".part", 0, "1234").ok());
  ASSERT_TRUE(ingest_->Reconcile().ok());
  EXPECT_EQ(index_->GetUpload(partial->id)->offset, 2u);
  EXPECT_EQ(index_->GetUpload(full->id)->state, "complete");
  EXPECT_EQ(finished_, 1);
}

TEST_F(IngestTest, ExpiredUploadsAreFinalizedAsIncompleteNotDeleted) {
  auto upload = ingest_->CreateUpload(session_, 10, RecordingKind::kAudio, "");
  ASSERT_TRUE(ingest_->Append(session_, upload->id, 0, std::nullopt, "abc", std::nullopt).ok());
  ingest_->FinalizeExpired();
  EXPECT_EQ(finished_, 0);
  clock_.Advance(101);
  EXPECT_EQ(ingest_->Info(session_, upload->id).error().err, Err::kUploadExpired);
  ingest_->FinalizeExpired();
  EXPECT_EQ(finished_, 1);
  auto recording = index_->GetRecording(upload->recording_id);
  EXPECT_EQ(recording->status, "finalizing");
  EXPECT_TRUE(recording->incomplete);
  EXPECT_EQ(store_.Contents(upload->path + ".part"), "abc");
}

}  // namespace
}  // namespace recorder::server
