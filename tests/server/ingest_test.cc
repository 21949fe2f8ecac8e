// Ingest over the real spool on a fault-injecting file system (power cuts, failing fdatasync and
// writes): acknowledgement order, reconciliation at start, expiry.
#include "ingest/ingest.h"

#include <gtest/gtest.h>

#include "index/sqlite/sqlite_index.h"
#include "storage/fault_injection_file_system.h"
#include "test_util.h"

namespace recorder::server {
namespace {

class IngestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    index_ = std::move(SqliteIndex::Open((dir_.path() / "db").string()).value());
    fs::create_directory(dir_.path() / "data");
    spool_ = std::make_unique<FileUploadStore>(dir_.path() / "data", &fs_);
    media_ = std::make_unique<FileMediaStore>(dir_.path() / "data", &fs_);
    options_.upload_expiry_seconds = 100;
    ingest_ = std::make_unique<Ingest>(options_, index_.get(), spool_.get(), media_.get(), &clock_, &metrics_,
                                       [&] { ++finished_; });
    auto session = ingest_->CreateSession("Jane Doe", "", "");
    ASSERT_TRUE(session.ok());
    session_ = ingest_->Authenticate(session->upload_token).value();
  }

  fs::path SpoolFile(const Upload& upload) { return dir_.path() / "data" / (upload.media_key + ".part"); }

  Expected<Upload> Append(const Upload& upload, uint64_t offset, std::string_view bytes) {
    return ingest_->Append(session_, upload.id, offset, std::nullopt, bytes, std::nullopt);
  }

  testing::TempDir dir_;
  PosixFileSystem posix_;
  FaultInjectionFileSystem fs_{&posix_};
  std::unique_ptr<SqliteIndex> index_;
  std::unique_ptr<FileUploadStore> spool_;
  std::unique_ptr<FileMediaStore> media_;
  ManualClock clock_{1767268800};
  Metrics metrics_;
  IngestOptions options_;
  std::unique_ptr<Ingest> ingest_;
  Session session_;
  int finished_ = 0;
};

// The promise of a 204: the bytes survive a power cut right after it. Fails when the spool does
// not fdatasync before acknowledging (the fault-injecting file system then cuts them away).
TEST_F(IngestTest, AcknowledgedBytesSurviveAPowerCut) {
  auto upload = ingest_->CreateUpload(session_, std::nullopt, RecordingKind::kCamera, "");
  ASSERT_TRUE(upload.ok());
  ASSERT_TRUE(Append(*upload, 0, "abc").ok());
  ASSERT_TRUE(Append(*upload, 3, "defg").ok());
  fs_.PowerCut();
  EXPECT_EQ(testing::ReadFile(SpoolFile(*upload)), "abcdefg");
  EXPECT_EQ(index_->GetUpload(upload->id)->offset, 7u);
}

// fdatasync failing (EIO) leaves written but unsynced bytes; they are not acknowledged, the file
// is cut back to the acknowledged offset, and the client's retry of the same chunk succeeds.
TEST_F(IngestTest, FailedSyncIsNotAcknowledgedAndTheRetrySucceeds) {
  auto upload = ingest_->CreateUpload(session_, std::nullopt, RecordingKind::kCamera, "");
  ASSERT_TRUE(Append(*upload, 0, "abc").ok());
  fs_.FailNextSyncs(1);
  auto failed = Append(*upload, 3, "def");
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().err, Err::kInternal);
  EXPECT_EQ(testing::ReadFile(SpoolFile(*upload)), "abc") << "unacknowledged bytes were left in the spool";
  EXPECT_EQ(ingest_->Info(session_, upload->id)->offset, 3u);
  ASSERT_TRUE(Append(*upload, 3, "def").ok());
  fs_.PowerCut();
  EXPECT_EQ(testing::ReadFile(SpoolFile(*upload)), "abcdef");
}

TEST_F(IngestTest, FailedWriteLeavesOnlyTheAcknowledgedBytes) {
  auto upload = ingest_->CreateUpload(session_, std::nullopt, RecordingKind::kCamera, "");
  ASSERT_TRUE(Append(*upload, 0, "abc").ok());
  fs_.FailNextWrites(1);
  EXPECT_FALSE(Append(*upload, 3, "defghij").ok());
  EXPECT_EQ(testing::ReadFile(SpoolFile(*upload)), "abc");
  EXPECT_EQ(index_->GetUpload(upload->id)->offset, 3u);
  auto wrong_offset = Append(*upload, 5, "x");
  ASSERT_FALSE(wrong_offset.ok());
  EXPECT_EQ(wrong_offset.error().err, Err::kOffsetMismatch);
}

// A failed fdatasync whose cut-back fails too leaves bytes that were never acknowledged (and may
// never reach the disk) in the spool. The client's retry, here re-chunked shorter, starts at the
// acknowledged offset and cuts them first: the file never holds a stale tail.
TEST_F(IngestTest, UnacknowledgedBytesLeftByAFailedCutBackAreCutByTheRetry) {
  auto upload = ingest_->CreateUpload(session_, std::nullopt, RecordingKind::kCamera, "");
  ASSERT_TRUE(Append(*upload, 0, "abc").ok());
  fs_.FailNextSyncs(1);
  fs_.FailNextTruncates(1);
  ASSERT_FALSE(Append(*upload, 3, "defgh").ok());
  ASSERT_EQ(testing::ReadFile(SpoolFile(*upload)), "abcdefgh") << "the injected cut-back failure did not hold";
  EXPECT_EQ(ingest_->Info(session_, upload->id)->offset, 3u);
  ASSERT_TRUE(Append(*upload, 3, "de").ok());
  EXPECT_EQ(testing::ReadFile(SpoolFile(*upload)), "abcde");
  EXPECT_EQ(ingest_->Info(session_, upload->id)->offset, 5u);
  fs_.PowerCut();
  EXPECT_EQ(testing::ReadFile(SpoolFile(*upload)), "abcde");
}

// A creation-with-upload whose first write fails: the client gets the error and no Location, so
// the upload that was created is terminated and its spool file removed; nothing is left to resume.
TEST_F(IngestTest, CreationWithUploadWhoseWriteFailsLeavesNoUploadBehind) {
  fs_.FailNextWrites(1);
  auto failed = ingest_->CreateUpload(session_, 10, RecordingKind::kCamera, "", "12345", std::nullopt);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().err, Err::kInternal);
  EXPECT_TRUE(index_->UploadsInState(UploadState::kReceiving)->empty());
  for (const auto& entry : fs::recursive_directory_iterator(dir_.path() / "data")) {
    EXPECT_FALSE(entry.is_regular_file()) << entry.path();
  }
  auto created = ingest_->CreateUpload(session_, 10, RecordingKind::kCamera, "", "12345", std::nullopt);
  ASSERT_TRUE(created.ok());
  EXPECT_EQ(created->offset, 5u);
}

// Bytes that reached the file but not the index before a kill (or a power cut took the index's
// last commits) were fdatasynced: the file is the truth. Bytes past a declared length were never
// acknowledged: cut, so the finalizer never gets more than the client declared.
TEST_F(IngestTest, ReconcileResumesAtTheStoredSizeCutsPastTheLengthAndFinishesCompleteUploads) {
  auto partial = ingest_->CreateUpload(session_, std::nullopt, RecordingKind::kCamera, "");
  clock_.Advance(1);
  auto full = ingest_->CreateUpload(session_, 4, RecordingKind::kCamera, "");
  ASSERT_TRUE(partial.ok() && full.ok());
  ASSERT_TRUE(spool_->Append(partial->media_key, 0, "12").ok());
  ASSERT_TRUE(spool_->Append(full->media_key, 0, "123456").ok());
  ASSERT_TRUE(ingest_->Reconcile().ok());
  EXPECT_EQ(index_->GetUpload(partial->id)->offset, 2u);
  EXPECT_EQ(index_->GetUpload(full->id)->state, UploadState::kComplete);
  EXPECT_EQ(testing::ReadFile(SpoolFile(*full)), "1234");
  EXPECT_EQ(finished_, 1);
  auto jobs = index_->JobsOf(JobSubject::Recording(full->recording_id));
  ASSERT_EQ(jobs->size(), 1u);
  EXPECT_EQ(jobs->front().kind, "finalize");
}

TEST_F(IngestTest, ExpiredUploadsAreFinalizedAsIncompleteNotDeleted) {
  auto upload = ingest_->CreateUpload(session_, 10, RecordingKind::kAudio, "");
  ASSERT_TRUE(Append(*upload, 0, "abc").ok());
  ingest_->FinalizeExpired();
  EXPECT_EQ(finished_, 0);
  clock_.Advance(101);
  EXPECT_EQ(ingest_->Info(session_, upload->id).error().err, Err::kUploadExpired);
  ingest_->FinalizeExpired();
  EXPECT_EQ(finished_, 1);
  auto recording = index_->GetRecording(upload->recording_id);
  EXPECT_EQ(recording->status, RecordingStatus::kFinalizing);
  EXPECT_TRUE(recording->incomplete);
  EXPECT_EQ(testing::ReadFile(SpoolFile(*upload)), "abc");
}

TEST_F(IngestTest, RecordingNamesTakenByStoredMediaGetSuffixes) {
  auto first = ingest_->CreateUpload(session_, std::nullopt, RecordingKind::kCamera, "");
  auto second = ingest_->CreateUpload(session_, std::nullopt, RecordingKind::kCamera, "");
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_NE(first->media_key, second->media_key) << "same second, same kind: the second is suffixed";
  EXPECT_EQ(first->media_key.rfind("Jane_Doe/interview_video_", 0), 0u) << first->media_key;
}

}  // namespace
}  // namespace recorder::server
