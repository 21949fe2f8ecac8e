// What only the SQLite index does: schema migrations of existing data folders, background WAL
// checkpoints. The contracts it shares with every index are in index_conformance_test.cc.
#include "index/sqlite/sqlite_index.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "test_util.h"

namespace recorder::server {
namespace {

using testing::TempDir;

void ExecSql(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* error = nullptr;
  EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK) << (error ? error : "");
  sqlite3_free(error);
  sqlite3_close(db);
}

TEST(SqliteIndexTest, FreshDatabaseIsMigratedToTheLatestSchema) {
  TempDir dir;
  auto index = SqliteIndex::Open((dir.path() / "db").string());
  ASSERT_TRUE(index.ok()) << index.status().ToString();
  EXPECT_EQ((*index)->SchemaVersion().value(), SqliteIndex::kLatestSchemaVersion);
}

TEST(SqliteIndexTest, VersionOneDatabaseIsMigratedAndKeepsItsRows) {
  TempDir dir;
  std::string path = (dir.path() / "db").string();
  {
    auto v1 = SqliteIndex::Open(path, 1);
    ASSERT_TRUE(v1.ok());
    EXPECT_EQ((*v1)->SchemaVersion().value(), 1);
    auto candidate = (*v1)->FindOrCreateCandidate("Jane", "", "Jane", 1);
    ASSERT_TRUE(candidate.ok());
    ASSERT_TRUE((*v1)->CreateSession("s1", candidate->id, "", {}, "hash", 100, 1).ok());
  }
  auto latest = SqliteIndex::Open(path);
  ASSERT_TRUE(latest.ok()) << latest.status().ToString();
  EXPECT_EQ((*latest)->SchemaVersion().value(), SqliteIndex::kLatestSchemaVersion);
  auto session = (*latest)->SessionByTokenHash("hash");
  ASSERT_TRUE(session.ok());
  EXPECT_EQ(session->candidate_folder, "Jane");
  latest.value().reset();
  EXPECT_TRUE(SqliteIndex::Open(path).ok()) << "reopening an up-to-date database changes nothing";
}

// Version 5 renamed recordings.path to media_key and replaced the recording-only job table by
// the general queue: a data folder from before keeps its recordings, and a finalize job that was
// running when the old server stopped is due again, once.
TEST(SqliteIndexTest, VersionFourJobsAndPathsBecomeTheGeneralQueueAndMediaKeys) {
  TempDir dir;
  std::string path = (dir.path() / "db").string();
  ASSERT_TRUE(SqliteIndex::Open(path, 4).ok());
  ExecSql(path, R"sql(
    INSERT INTO candidates(id, name, folder, created_at) VALUES (1, 'Jane', 'Jane', 1);
    INSERT INTO sessions(id, candidate_id, token_sha256, token_expires_at, created_at) VALUES ('s1', 1, 'h', 99, 1);
    INSERT INTO recordings(id, session_id, kind, path, status, created_at)
      VALUES (7, 's1', 'camera', 'Jane/interview_video_1.webm', 'finalizing', 1);
    INSERT INTO jobs(id, kind, recording_id, state, attempts, next_run_at, created_at, updated_at)
      VALUES (3, 'finalize', 7, 'running', 1, 1, 1, 1);)sql");
  auto index = SqliteIndex::Open(path);
  ASSERT_TRUE(index.ok()) << index.status().ToString();
  EXPECT_EQ((*index)->GetRecording(7)->media_key, "Jane/interview_video_1.webm");
  auto job = (*index)->ClaimJob("finalize", "w", 2, 60);
  ASSERT_TRUE(job.ok() && job->has_value()) << job.status().ToString();
  EXPECT_EQ((*job)->subject, JobSubject::Recording(7));
  EXPECT_EQ((*job)->attempts, 2);
  NewJob again;
  again.kind = "finalize";
  again.subject = JobSubject::Recording(7);
  again.dedupe_key = "finalize:recording:7";
  EXPECT_EQ((*index)->EnqueueJob(again, 2).value(), 3) << "the migrated job holds its dedupe key";
}

TEST(SqliteIndexTest, UnopenableDatabaseIsAnError) {
  TempDir dir;
  EXPECT_FALSE(SqliteIndex::Open((dir.path() / "missing-folder" / "db").string()).ok());
}

TEST(SqliteIndexTest, ForeignKeysAreEnforced) {
  TempDir dir;
  auto index = std::move(SqliteIndex::Open((dir.path() / "db").string()).value());
  EXPECT_FALSE(index->CreateSession("s1", 42, "", {}, "hash", 100, 1).ok()) << "a session needs its candidate";
}

// Checkpoints run in the background, so commits reach the database file itself soon, not only
// after 1000 WAL pages (SQLite's automatic checkpoint, which would run inside a PATCH).
TEST(SqliteIndexTest, CommitsReachTheDatabaseFileInTheBackground) {
  TempDir dir;
  std::string path = (dir.path() / "db").string();
  auto index = std::move(SqliteIndex::Open(path).value());
  auto candidate = index->FindOrCreateCandidate("Jane", "", "Jane", 1);
  ASSERT_TRUE(index->CreateSession("s1", candidate->id, "", {}, "hash", 100, 1).ok());
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
}

}  // namespace
}  // namespace recorder::server
