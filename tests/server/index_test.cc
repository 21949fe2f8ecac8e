#include "index.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "test_util.h"

namespace recorder::server {
namespace {

using testing::TempDir;

TEST(SqliteIndexTest, FreshDatabaseIsMigratedToTheLatestSchema) {
  TempDir dir;
  auto index = SqliteIndex::Open((dir.path() / "db").string());
  ASSERT_TRUE(index.ok()) << index.status().ToString();
  EXPECT_EQ((*index)->SchemaVersion().value(), SqliteIndex::kLatestSchemaVersion);
  EXPECT_TRUE((*index)->EnqueueJob("finalize", 1, 0).code() != StatusCode::kOk)
      << "foreign keys are on: a job needs its recording";
}

TEST(SqliteIndexTest, ExistingDatabaseIsMigratedAndKeepsItsRows) {
  TempDir dir;
  std::string path = (dir.path() / "db").string();
  {
    auto v1 = SqliteIndex::Open(path, 1);
    ASSERT_TRUE(v1.ok());
    EXPECT_EQ((*v1)->SchemaVersion().value(), 1);
    auto candidate = (*v1)->FindOrCreateCandidate("Jane", "", "Jane", 1);
    ASSERT_TRUE(candidate.ok());
    ASSERT_TRUE((*v1)->CreateSession("s1", candidate->id, "", "hash", 100, 1).ok());
  }
  auto latest = SqliteIndex::Open(path);
  ASSERT_TRUE(latest.ok()) << latest.status().ToString();
  EXPECT_EQ((*latest)->SchemaVersion().value(), SqliteIndex::kLatestSchemaVersion);
  auto session = (*latest)->SessionByTokenHash("hash");
  ASSERT_TRUE(session.ok());
  EXPECT_EQ(session->id, "s1");
  EXPECT_EQ(session->candidate_folder, "Jane");
  // Reopening an up-to-date database changes nothing.
  latest.value().reset();
  EXPECT_TRUE(SqliteIndex::Open(path).ok());
}

TEST(SqliteIndexTest, UnopenableDatabaseIsAnError) {
  TempDir dir;
  auto index = SqliteIndex::Open((dir.path() / "missing-folder" / "db").string());
  EXPECT_FALSE(index.ok());
}

// Checkpoints run in the background, so commits reach the database file itself soon, not only
// after 1000 WAL pages (SQLite's automatic checkpoint, which would run inside a PATCH).
TEST(SqliteIndexTest, CommitsReachTheDatabaseFileInTheBackground) {
  TempDir dir;
  std::string path = (dir.path() / "db").string();
  auto index = std::move(SqliteIndex::Open(path).value());
  auto candidate = index->FindOrCreateCandidate("Jane", "", "Jane", 1);
  ASSERT_TRUE(index->CreateSession("s1", candidate->id, "", "hash", 100, 1).ok());
  bool in_file = false;
  for (int i = 0; i < 50 && !in_file; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    // The database file alone, without its WAL: what a checkpoint has copied.
    std::string copy = (dir.path() / ("copy" + std::to_string(i))).string();
    std::filesystem::copy_file(path, copy);
    auto copied = SqliteIndex::Open(copy);
    in_file = copied.ok() && (*copied)->SessionByTokenHash("hash").ok();
  }
  EXPECT_TRUE(in_file) << "the session never reached the database file";
  EXPECT_EQ(index->SessionByTokenHash("hash")->id, "s1");
}

TEST(SqliteIndexTest, CandidatesWithTheSameFolderNameGetSuffixes) {
  TempDir dir;
  auto index = std::move(SqliteIndex::Open((dir.path() / "db").string()).value());
  EXPECT_EQ(index->FindOrCreateCandidate("Jane Doe", "a@x", "Jane_Doe", 1)->folder, "Jane_Doe");
  EXPECT_EQ(index->FindOrCreateCandidate("Jane Doe", "b@x", "Jane_Doe", 1)->folder, "Jane_Doe_2");
  EXPECT_EQ(index->FindOrCreateCandidate("Jane  Doe", "", "Jane_Doe", 1)->folder, "Jane_Doe_3");
  EXPECT_EQ(index->FindOrCreateCandidate("Jane Doe", "a@x", "Jane_Doe", 1)->folder, "Jane_Doe");
}

TEST(SqliteIndexTest, JobsAreClaimedOnceRetriedLaterAndRequeuedAfterACrash) {
  TempDir dir;
  auto index = std::move(SqliteIndex::Open((dir.path() / "db").string()).value());
  auto candidate = index->FindOrCreateCandidate("Jane", "", "Jane", 1);
  ASSERT_TRUE(index->CreateSession("s1", candidate->id, "", "hash", 100, 1).ok());
  Upload upload;
  upload.id = "u1";
  upload.session_id = "s1";
  upload.path = "Jane/a.webm";
  upload.expires_at = 50;
  auto created = index->CreateUpload(upload, "camera", 1);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_EQ(index->CreateUpload(upload, "camera", 1).status().code(), StatusCode::kAlreadyExists);
  ASSERT_TRUE(index->SetUploadProgress("u1", 5, std::nullopt, 60, false).ok());
  EXPECT_FALSE(index->GetUpload("u1")->checksum_verified);
  ASSERT_TRUE(index->SetUploadProgress("u1", 8, std::nullopt, 60, true).ok());
  ASSERT_TRUE(index->SetUploadProgress("u1", 10, 10, 60, false).ok());
  EXPECT_TRUE(index->GetUpload("u1")->checksum_verified) << "a verified chunk keeps the upload verified";
  ASSERT_TRUE(index->FinishUpload("u1", "complete", false, 5).ok());
  EXPECT_EQ(index->GetRecording(created->recording_id)->status, "finalizing");
  EXPECT_EQ(index->GetRecording(created->recording_id)->bytes, 10u);

  auto job = index->ClaimJob(5);
  ASSERT_TRUE(job.ok() && job->has_value());
  EXPECT_EQ((*job)->kind, "finalize");
  EXPECT_EQ((*job)->attempts, 1);
  EXPECT_FALSE(index->ClaimJob(5)->has_value()) << "a running job is not claimed twice";
  EXPECT_EQ(index->RequeueRunningJobs().value(), 1);  // as at start after a crash
  job = index->ClaimJob(5);
  ASSERT_TRUE(job->has_value());
  EXPECT_EQ((*job)->attempts, 2);
  ASSERT_TRUE(index->RetryJob((*job)->id, 100, "disk busy").ok());
  EXPECT_FALSE(index->ClaimJob(99)->has_value());
  EXPECT_TRUE(index->ClaimJob(100)->has_value());
}

}  // namespace
}  // namespace recorder::server
