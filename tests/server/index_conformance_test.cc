// The contracts of the index's roles (index/*.h), held against every implementation: SQLite and
// PostgreSQL pass the same tests, races included. PostgreSQL is the throw-away cluster that ctest
// starts (tests/services/postgres.sh); each test gets a schema of its own in it.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <set>
#include <thread>

#include "index/postgres/postgres_index.h"
#include "index/sqlite/sqlite_index.h"
#include "postgres_test_db.h"
#include "test_util.h"

namespace recorder::server {
namespace {

using testing::TempDir;

struct SqliteFactory {
  static std::unique_ptr<Index> Make(const std::filesystem::path& dir) {
    auto index = SqliteIndex::Open((dir / "index.sqlite3").string());
    EXPECT_TRUE(index.ok()) << index.status().ToString();
    return index.ok() ? std::move(index.value()) : nullptr;
  }
};

struct PostgresFactory {
  static std::unique_ptr<Index> Make(const std::filesystem::path&) {
    const std::string url = testing::NewPostgresTestSchema();
    if (url.empty()) return nullptr;
    auto index = PostgresIndex::Open(url);
    EXPECT_TRUE(index.ok()) << index.status().ToString();
    return index.ok() ? std::move(index.value()) : nullptr;
  }
};

constexpr int64_t kNow = 1767268800;

template <typename Factory>
class IndexConformanceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    index_ = Factory::Make(dir_.path());
    ASSERT_NE(index_, nullptr);
    auto candidate = index_->FindOrCreateCandidate("Jane Doe", "jane@example.com", "Jane_Doe", kNow);
    ASSERT_TRUE(candidate.ok()) << candidate.status().ToString();
    candidate_id_ = candidate->id;
    ASSERT_TRUE(index_->CreateSession("s1", candidate_id_, "Engineer", {}, "hash-s1", kNow + 86400, kNow).ok());
  }

  Result<Upload> NewUpload(const std::string& id, const std::string& session = "s1") {
    Upload upload;
    upload.id = id;
    upload.session_id = session;
    upload.media_key = "Jane_Doe/interview_video_" + id + ".webm";
    upload.expires_at = kNow + 3600;
    return index_->CreateUpload(upload, RecordingKind::kCamera, kNow);
  }

  // A recording that went through upload and finalize, as deletions need.
  int64_t ReadyRecording(const std::string& id, const std::string& session = "s1") {
    auto upload = NewUpload(id, session);
    EXPECT_TRUE(upload.ok()) << upload.status().ToString();
    if (!upload.ok()) return 0;
    EXPECT_TRUE(
        index_->FinishUpload(id, UploadState::kComplete, false, NewJob{"finalize", {}, "{}", "", 0}, kNow).ok());
    EXPECT_TRUE(index_->MarkRecordingReady(upload->recording_id, 10, 1000, false, {}, kNow).ok());
    return upload->recording_id;
  }

  NewJob Job(const std::string& kind, const std::string& dedupe = "", int64_t run_at = 0) {
    NewJob job;
    job.kind = kind;
    job.payload_json = R"({"n":1})";
    job.dedupe_key = dedupe;
    job.run_at = run_at;
    return job;
  }

  TempDir dir_;
  std::unique_ptr<Index> index_;
  int64_t candidate_id_ = 0;
};

using IndexTypes = ::testing::Types<SqliteFactory, PostgresFactory>;
TYPED_TEST_SUITE(IndexConformanceTest, IndexTypes);

TYPED_TEST(IndexConformanceTest, AnsweredPing) { EXPECT_TRUE(this->index_->Ping().ok()); }

TYPED_TEST(IndexConformanceTest, CandidatesAreFoundByEmailOrNameAndFoldersNeverCollide) {
  Index& index = *this->index_;
  EXPECT_EQ(index.FindOrCreateCandidate("Jane D.", "jane@example.com", "Jane_D", kNow)->id, this->candidate_id_)
      << "the same email is the same person";
  EXPECT_EQ(index.FindOrCreateCandidate("Jane Doe", "b@x", "Jane_Doe", kNow)->folder, "Jane_Doe_2");
  EXPECT_EQ(index.FindOrCreateCandidate("Jane  Doe", "", "Jane_Doe", kNow)->folder, "Jane_Doe_3");
  EXPECT_EQ(index.FindOrCreateCandidate("Jane  Doe", "", "Jane_Doe", kNow)->folder, "Jane_Doe_3");
}

TYPED_TEST(IndexConformanceTest, SessionsAreFoundByTheirTokenHashOnly) {
  auto session = this->index_->SessionByTokenHash("hash-s1");
  ASSERT_TRUE(session.ok());
  EXPECT_EQ(session->id, "s1");
  EXPECT_EQ(session->candidate_folder, "Jane_Doe");
  EXPECT_EQ(session->token_expires_at, kNow + 86400);
  EXPECT_EQ(this->index_->SessionByTokenHash("hash-s2").status().code(), StatusCode::kNotFound);
}

// Questions keep the host's order, come with the session, go with it, and a session whose
// questions cannot all be stored is not created.
TYPED_TEST(IndexConformanceTest, QuestionsAreKeptInOrderAndGoWithTheirSession) {
  Index& index = *this->index_;
  const std::vector<Question> questions = {{"q-b", "Why us?", 0}, {"q-a", "Tell us about\na project.", 120}};
  ASSERT_TRUE(index.CreateSession("s2", this->candidate_id_, "", questions, "hash-s2", kNow + 86400, kNow).ok());
  EXPECT_EQ(index.QuestionsOfSession("s2").value(), questions);
  EXPECT_EQ(index.GetSessionSummary("s2")->questions, questions);
  EXPECT_TRUE(index.QuestionsOfSession("s1")->empty());
  EXPECT_TRUE(index.QuestionsOfSession("nope")->empty());

  const std::vector<Question> twice = {{"q", "One", 0}, {"q", "Two", 0}};
  EXPECT_FALSE(index.CreateSession("s3", this->candidate_id_, "", twice, "hash-s3", kNow + 86400, kNow).ok());
  EXPECT_EQ(index.SessionByTokenHash("hash-s3").status().code(), StatusCode::kNotFound);

  ASSERT_TRUE(index.PrepareSessionDeletion("s2").ok());
  ASSERT_TRUE(index.DeleteSession("s2", AuditEntry{0, kNow, "api-key", "delete_session", "session:s2"}).ok());
  EXPECT_TRUE(index.QuestionsOfSession("s2")->empty());
  // A new session may take the same question ids.
  ASSERT_TRUE(index.CreateSession("s4", this->candidate_id_, "", questions, "hash-s4", kNow + 86400, kNow).ok());
}

TYPED_TEST(IndexConformanceTest, SessionUsageCountsEveryUploadAndTheBytesOfThoseNotTerminated) {
  Index& index = *this->index_;
  auto none = index.UsageOfSession("s1");
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_EQ(none->uploads, 0);
  EXPECT_EQ(none->bytes, 0u);
  ASSERT_TRUE(this->NewUpload("deferred").ok());
  ASSERT_TRUE(index.SetUploadProgress("deferred", 7, std::nullopt, kNow + 60, false, std::nullopt).ok());
  Upload declared;
  declared.id = "declared";
  declared.session_id = "s1";
  declared.media_key = "Jane_Doe/interview_video_declared.webm";
  declared.length = 1000;
  declared.expires_at = kNow + 3600;
  ASSERT_TRUE(index.CreateUpload(declared, RecordingKind::kCamera, kNow).ok());
  ASSERT_TRUE(this->NewUpload("gone").ok());
  ASSERT_TRUE(index.SetUploadProgress("gone", 50, std::nullopt, kNow + 60, false, std::nullopt).ok());
  ASSERT_TRUE(index.TerminateUpload("gone", "terminated by the client", kNow).ok());
  ASSERT_TRUE(index.CreateSession("s2", this->candidate_id_, "", {}, "hash-s2", kNow + 86400, kNow).ok());
  ASSERT_TRUE(this->NewUpload("other", "s2").ok());
  ASSERT_TRUE(index.SetUploadProgress("other", 99, std::nullopt, kNow + 60, false, std::nullopt).ok());

  auto usage = index.UsageOfSession("s1");
  ASSERT_TRUE(usage.ok()) << usage.status().ToString();
  EXPECT_EQ(usage->uploads, 3) << "a terminated upload still counts as created";
  EXPECT_EQ(usage->bytes, 1007u) << "declared length 1000 + deferred offset 7; the terminated one's bytes are gone";
  EXPECT_EQ(index.UsageOfSession("s2")->bytes, 99u);
  EXPECT_EQ(index.UsageOfSession("nobody")->uploads, 0);
}

TYPED_TEST(IndexConformanceTest, UploadsMoveThroughTheirStatesWithTheirRecording) {
  Index& index = *this->index_;
  auto upload = this->NewUpload("u1");
  ASSERT_TRUE(upload.ok()) << upload.status().ToString();
  EXPECT_EQ(this->NewUpload("u1").status().code(), StatusCode::kAlreadyExists) << "the same media key twice";
  auto recording = index.GetRecording(upload->recording_id);
  EXPECT_EQ(recording->status, RecordingStatus::kReceiving);
  EXPECT_EQ(recording->media_key, upload->media_key);

  ASSERT_TRUE(index.SetUploadProgress("u1", 5, std::nullopt, kNow + 60, false, std::nullopt).ok());
  EXPECT_FALSE(index.GetUpload("u1")->checksum_verified);
  ASSERT_TRUE(index.SetUploadProgress("u1", 8, std::nullopt, kNow + 60, true, std::nullopt).ok());
  ASSERT_TRUE(index.SetUploadProgress("u1", 10, 10, kNow + 70, false, std::nullopt).ok());
  auto stored = index.GetUpload("u1");
  EXPECT_TRUE(stored->checksum_verified) << "one verified chunk keeps the upload verified";
  EXPECT_EQ(stored->offset, 10u);
  EXPECT_EQ(stored->length, 10u);
  EXPECT_EQ(stored->expires_at, kNow + 70);
  EXPECT_EQ(index.ExpiredUploads(kNow + 69)->size(), 0u);
  EXPECT_EQ(index.ExpiredUploads(kNow + 70)->size(), 1u);

  NewJob finalize = this->Job("finalize", "finalize:u1");
  finalize.subject = JobSubject::Recording(upload->recording_id);
  ASSERT_TRUE(index.FinishUpload("u1", UploadState::kComplete, false, finalize, kNow).ok());
  EXPECT_EQ(index.FinishUpload("u1", UploadState::kComplete, false, finalize, kNow).code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(index.GetUpload("u1")->state, UploadState::kComplete);
  recording = index.GetRecording(upload->recording_id);
  EXPECT_EQ(recording->status, RecordingStatus::kFinalizing);
  EXPECT_EQ(recording->bytes, 10u);
  auto jobs = index.JobsOf(finalize.subject);
  ASSERT_EQ(jobs->size(), 1u) << "the finalize job comes with the upload's end";
  EXPECT_EQ(jobs->front().kind, "finalize");

  NewJob follow_up = this->Job("transcribe", "transcribe:u1");
  follow_up.subject = finalize.subject;
  ASSERT_TRUE(index.MarkRecordingReady(upload->recording_id, 9, 4200, true, {follow_up}, kNow + 5).ok());
  recording = index.GetRecording(upload->recording_id);
  EXPECT_EQ(recording->status, RecordingStatus::kReady);
  EXPECT_EQ(recording->bytes, 9u);
  EXPECT_EQ(recording->duration_ms, 4200);
  EXPECT_TRUE(recording->incomplete);
  EXPECT_EQ(recording->finalized_at, kNow + 5);
  EXPECT_EQ(index.JobsOf(finalize.subject)->size(), 2u) << "the follow-up is queued with the recording's state";
}

TYPED_TEST(IndexConformanceTest, AChunkIsRecordedOnlyAtTheUploadsOffsetAndMovesItOnce) {
  Index& index = *this->index_;
  auto upload = this->NewUpload("u1");
  ASSERT_TRUE(upload.ok()) << upload.status().ToString();
  EXPECT_TRUE(index.UploadChunks(upload->media_key)->empty());
  ASSERT_TRUE(index.AddUploadChunk("u1", {0, 100, "c0"}, std::nullopt, kNow + 60, false).ok());
  // A second server with the same offset (its PATCH raced the first): refused, nothing changes.
  EXPECT_EQ(index.AddUploadChunk("u1", {0, 50, "c0-other"}, std::nullopt, kNow + 90, true).code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(index.AddUploadChunk("u1", {150, 200, "gap"}, std::nullopt, kNow + 90, true).code(),
            StatusCode::kFailedPrecondition);
  ASSERT_TRUE(index.AddUploadChunk("u1", {100, 180, "c1"}, 180, kNow + 70, true).ok());
  auto stored = index.GetUpload("u1");
  EXPECT_EQ(stored->offset, 180u);
  EXPECT_EQ(stored->length, 180u);
  EXPECT_EQ(stored->expires_at, kNow + 70);
  EXPECT_TRUE(stored->checksum_verified);
  EXPECT_EQ(index.UploadChunks(upload->media_key).value(),
            (std::vector<UploadChunk>{{0, 100, "c0"}, {100, 180, "c1"}}));
  EXPECT_TRUE(index.UploadChunks("Jane_Doe/other.webm")->empty());

  // A finished upload takes no more chunks; its chunks go with it.
  ASSERT_TRUE(index.FinishUpload("u1", UploadState::kComplete, false, this->Job("finalize"), kNow).ok());
  EXPECT_EQ(index.AddUploadChunk("u1", {180, 190, "late"}, std::nullopt, kNow, false).code(),
            StatusCode::kFailedPrecondition);
  ASSERT_TRUE(index.MarkRecordingReady(upload->recording_id, 180, 1000, false, {}, kNow).ok());
  ASSERT_TRUE(index.DeleteRecording(upload->recording_id, AuditEntry{0, kNow, "api-key", "delete", "r", "{}"}).ok());
  EXPECT_TRUE(index.UploadChunks(upload->media_key)->empty());
}

// Servers sharing a spool: an empty PATCH declares the length only at the offset it read, and a
// chunk that raced it neither passes the declared length nor erases it.
TYPED_TEST(IndexConformanceTest, ALengthIsDeclaredOnlyAtTheOffsetReadAndNoChunkPassesOrErasesIt) {
  Index& index = *this->index_;
  ASSERT_TRUE(this->NewUpload("u1").ok());
  ASSERT_TRUE(index.AddUploadChunk("u1", {0, 100, "c0"}, std::nullopt, kNow + 60, false).ok());
  // Server A read offset 100; server B stored [100, 150) meanwhile: A's length 100 is refused.
  ASSERT_TRUE(index.AddUploadChunk("u1", {100, 150, "c1"}, std::nullopt, kNow + 60, false).ok());
  EXPECT_EQ(index.SetUploadProgress("u1", 100, 100, kNow + 60, false, 100).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(index.GetUpload("u1")->offset, 150u);
  EXPECT_EQ(index.GetUpload("u1")->length, std::nullopt) << "nothing changed";
  // At the offset it read, the length is declared.
  ASSERT_TRUE(index.SetUploadProgress("u1", 150, 150, kNow + 60, false, 150).ok());
  EXPECT_EQ(index.GetUpload("u1")->length, 150u);
  // The other order: a chunk read before the declaration, at the same offset, would pass the length.
  EXPECT_EQ(index.AddUploadChunk("u1", {150, 170, "late"}, std::nullopt, kNow + 60, false).code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(index.GetUpload("u1")->length, 150u) << "the declared length stays";
  EXPECT_EQ(index.GetUpload("u1")->offset, 150u);
}

TYPED_TEST(IndexConformanceTest, TerminatedUploadFailsItsRecording) {
  auto upload = this->NewUpload("u1");
  ASSERT_TRUE(this->index_->TerminateUpload("u1", "terminated by the client", kNow).ok());
  EXPECT_EQ(this->index_->GetUpload("u1")->state, UploadState::kTerminated);
  auto recording = this->index_->GetRecording(upload->recording_id);
  EXPECT_EQ(recording->status, RecordingStatus::kFailed);
  EXPECT_EQ(recording->failure_reason, "terminated by the client");
  EXPECT_EQ(this->index_->TerminateUpload("nope", "x", kNow).code(), StatusCode::kNotFound);
}

// A session is over when the candidate ends it (the first end counts) or its link expires; it
// is settled when no recording of it is receiving or finalizing and no job but the excepted kind
// (webhook deliveries) is pending or running on them; it completes once.
TYPED_TEST(IndexConformanceTest, ASessionCompletesOnceWhenOverAndEveryRecordingAndJobOfItHasSettled) {
  Index& index = *this->index_;
  auto settled = [&](int64_t now) {
    std::vector<std::string> ids;
    auto sessions = index.SettledSessions(now, "webhook", 10);
    EXPECT_TRUE(sessions.ok()) << sessions.status().ToString();
    if (sessions.ok()) {
      for (const Session& s : *sessions) ids.push_back(s.id);
    }
    return ids;
  };
  auto upload = this->NewUpload("a");
  ASSERT_TRUE(upload.ok()) << upload.status().ToString();
  EXPECT_TRUE(settled(kNow).empty()) << "not over";

  ASSERT_TRUE(index.EndSession("s1", kNow + 10).ok());
  ASSERT_TRUE(index.EndSession("s1", kNow + 20).ok());
  EXPECT_EQ(index.SessionByTokenHash("hash-s1")->ended_at, kNow + 10) << "the first end counts";
  EXPECT_EQ(index.EndSession("nope", kNow).code(), StatusCode::kNotFound);
  EXPECT_EQ(this->NewUpload("late").status().code(), StatusCode::kFailedPrecondition) << "ended: no new upload";
  EXPECT_TRUE(settled(kNow + 20).empty()) << "a recording is receiving";

  ASSERT_TRUE(index.FinishUpload("a", UploadState::kComplete, false, NewJob{"finalize", {}, "{}", "", 0}, kNow).ok());
  EXPECT_TRUE(settled(kNow + 20).empty()) << "a recording is finalizing";
  NewJob transcribe = RecordingJob("transcribe", upload->recording_id);
  NewJob delivery = this->Job("webhook");
  delivery.subject = JobSubject::Recording(upload->recording_id);
  ASSERT_TRUE(index.MarkRecordingReady(upload->recording_id, 10, 1000, false, {transcribe, delivery}, kNow).ok());
  EXPECT_TRUE(settled(kNow + 20).empty()) << "its transcription is pending";
  auto claimed = index.ClaimJob("transcribe", "node-1", kNow + 20, 60);
  ASSERT_TRUE(claimed.ok() && claimed->has_value());
  EXPECT_TRUE(settled(kNow + 20).empty()) << "its transcription is running";
  ASSERT_TRUE(index.CompleteJob(**claimed, {}, kNow + 25).ok());
  EXPECT_EQ(settled(kNow + 25), std::vector<std::string>{"s1"}) << "a pending webhook delivery holds nothing up";

  // A session whose link expired is over too, from its expiry on, and comes first when it was over first.
  ASSERT_TRUE(index.CreateSession("s2", this->candidate_id_, "", {}, "hash-s2", kNow + 5, kNow).ok());
  EXPECT_EQ(settled(kNow + 4), std::vector<std::string>{"s1"});
  EXPECT_EQ(settled(kNow + 25), (std::vector<std::string>{"s2", "s1"}));
  auto sessions = index.SettledSessions(kNow + 25, "webhook", 1);
  ASSERT_TRUE(sessions.ok());
  ASSERT_EQ(sessions->size(), 1u) << "at most the limit";
  EXPECT_EQ(sessions->front().token_expires_at, kNow + 5);
  EXPECT_EQ(sessions->front().ended_at, 0);

  NewJob completed = this->Job("webhook", "session.completed:s1");
  completed.subject = JobSubject::Session("s1");
  ASSERT_TRUE(index.CompleteSession("s1", {completed}, kNow + 30).ok());
  EXPECT_EQ(index.CompleteSession("s1", {completed}, kNow + 31).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(index.CompleteSession("nope", {}, kNow + 31).code(), StatusCode::kNotFound);
  EXPECT_EQ(settled(kNow + 31), std::vector<std::string>{"s2"});
  auto summary = index.GetSessionSummary("s1");
  ASSERT_TRUE(summary.ok());
  EXPECT_EQ(summary->ended_at, kNow + 10);
  EXPECT_EQ(summary->completed_at, kNow + 30);
  EXPECT_EQ(index.JobsOf(JobSubject::Session("s1"))->size(), 1u) << "the follow-up went in with the completion";
  EXPECT_EQ(index.GetSessionSummary("s2")->completed_at, 0);
}

TYPED_TEST(IndexConformanceTest, WebhooksAreKeptInOrderWithTheirEventsAndDeletedById) {
  Index& index = *this->index_;
  const RegisteredWebhook a{
      "wh_a", "https://a.example/hook", "whsec_a", {"recording.ready", "session.completed"}, kNow};
  const RegisteredWebhook b{"wh_b", "https://b.example/hook", "whsec_b", {}, kNow + 1};
  ASSERT_TRUE(index.AddWebhook(b).ok());
  ASSERT_TRUE(index.AddWebhook(a).ok());
  EXPECT_EQ(index.AddWebhook(a).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(index.ListWebhooks().value(), (std::vector<RegisteredWebhook>{b, a})) << "in the order added";
  ASSERT_TRUE(index.DeleteWebhook("wh_b").ok());
  EXPECT_EQ(index.DeleteWebhook("wh_b").code(), StatusCode::kNotFound);
  EXPECT_EQ(index.ListWebhooks().value(), std::vector<RegisteredWebhook>{a});
}

TYPED_TEST(IndexConformanceTest, EventsAreStoredOncePerClientIdInRecordingTimeOrder) {
  SessionEvent late{"e1", EventType::kMarker, "Q2", "{}", 5000, "", "", 0};
  SessionEvent early{"e2", EventType::kClientEvent, "face_not_detected", R"({"s":1})", 100, "", "", 0};
  EXPECT_EQ(this->index_->AddSessionEvents("s1", {late, early}, kNow).value(), 2);
  EXPECT_EQ(this->index_->AddSessionEvents("s1", {late}, kNow).value(), 0) << "a resent batch is stored once";
  auto events = this->index_->SessionEvents("s1");
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[0].client_id, "e2");
  EXPECT_EQ((*events)[0].type, EventType::kClientEvent);
  EXPECT_EQ((*events)[0].data_json, R"({"s":1})");
  EXPECT_EQ((*events)[1].label, "Q2");
}

TYPED_TEST(IndexConformanceTest, JobIsClaimedOnceAndItsLeaseFencesItsResult) {
  Index& index = *this->index_;
  int64_t id = index.EnqueueJob(this->Job("mail"), kNow).value();
  EXPECT_FALSE(index.ClaimJob("other-kind", "w1", kNow, 30)->has_value()) << "claims are per kind";
  auto first = index.ClaimJob("mail", "w1", kNow, 30);
  ASSERT_TRUE(first.ok() && first->has_value());
  EXPECT_EQ((*first)->id, id);
  EXPECT_EQ((*first)->attempts, 1);
  EXPECT_EQ((*first)->payload_json, R"({"n":1})");
  EXPECT_FALSE(index.ClaimJob("mail", "w2", kNow + 29, 30)->has_value()) << "leased until kNow + 30";
  ASSERT_TRUE(index.ExtendLease(**first, kNow + 60).ok());
  EXPECT_FALSE(index.ClaimJob("mail", "w2", kNow + 59, 30)->has_value()) << "the lease was extended";

  // w1 stalls past its lease; w2 takes the job over, and w1's late result is refused.
  auto second = index.ClaimJob("mail", "w2", kNow + 60, 30);
  ASSERT_TRUE(second.ok() && second->has_value());
  EXPECT_EQ((*second)->attempts, 2);
  EXPECT_EQ(index.CompleteJob(**first, {}, kNow + 61).code(), StatusCode::kConflict);
  EXPECT_EQ(index.ExtendLease(**first, kNow + 100).code(), StatusCode::kConflict);
  EXPECT_EQ(index.RetryJob(**first, kNow + 100, "late", kNow + 61).code(), StatusCode::kConflict);
  ASSERT_TRUE(index.CompleteJob(**second, {this->Job("next")}, kNow + 62).ok());
  EXPECT_FALSE(index.ClaimJob("mail", "w3", kNow + 1000, 30)->has_value()) << "done jobs are never claimed";
  EXPECT_TRUE(index.ClaimJob("next", "w3", kNow + 62, 30)->has_value()) << "the follow-up came with the completion";
}

TYPED_TEST(IndexConformanceTest, RetriedJobWaitsAndFailedJobKeepsItsError) {
  Index& index = *this->index_;
  NewJob new_job = this->Job("mail");
  new_job.subject = JobSubject::Session("s1");
  index.EnqueueJob(new_job, kNow).value();
  auto job = index.ClaimJob("mail", "w1", kNow, 30).value();
  ASSERT_TRUE(index.RetryJob(*job, kNow + 100, "peer down", kNow).ok());
  EXPECT_FALSE(index.ClaimJob("mail", "w1", kNow + 99, 30)->has_value());
  job = index.ClaimJob("mail", "w1", kNow + 100, 30).value();
  ASSERT_TRUE(job.has_value());
  EXPECT_EQ(job->attempts, 2);
  ASSERT_TRUE(index.FailJob(*job, "peer refused", {}, kNow + 101).ok());
  auto records = index.JobsOf(JobSubject::Session("s1"));
  ASSERT_EQ(records->size(), 1u);
  EXPECT_EQ(records->front().state, JobState::kFailed);
  EXPECT_EQ(records->front().last_error, "peer refused");
  EXPECT_EQ(records->front().attempts, 2);
  EXPECT_FALSE(index.ClaimJob("mail", "w1", kNow + 10000, 30)->has_value());
}

TYPED_TEST(IndexConformanceTest, AFailedJobRetriedByAnAdminIsDueAtOnceWithFreshAttempts) {
  Index& index = *this->index_;
  int64_t id = index.EnqueueJob(this->Job("mail"), kNow).value();
  EXPECT_EQ(index.RetryFailedJob(id, "mail", kNow).code(), StatusCode::kFailedPrecondition) << "pending, not failed";
  auto job = index.ClaimJob("mail", "w1", kNow, 30).value();
  EXPECT_EQ(index.RetryFailedJob(id, "mail", kNow).code(), StatusCode::kFailedPrecondition) << "running, not failed";
  ASSERT_TRUE(index.FailJob(*job, "peer refused", {}, kNow + 1).ok());
  EXPECT_EQ(index.RetryFailedJob(id + 1000, "mail", kNow + 2).code(), StatusCode::kNotFound);
  EXPECT_EQ(index.RetryFailedJob(id, "other", kNow + 2).code(), StatusCode::kNotFound) << "another kind";
  ASSERT_TRUE(index.RetryFailedJob(id, "mail", kNow + 2).ok());
  auto record = index.JobsOf(JobSubject::None())->front();
  EXPECT_EQ(record.state, JobState::kPending);
  EXPECT_EQ(record.attempts, 0);
  EXPECT_EQ(record.last_error, "peer refused") << "kept until it runs";
  auto again = index.ClaimJob("mail", "w2", kNow + 2, 30).value();
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->attempts, 1);
}

TYPED_TEST(IndexConformanceTest, RefinalizingPutsAFailedRecordingBackWithItsJobOrChangesNothing) {
  Index& index = *this->index_;
  auto upload = this->NewUpload("u1");
  NewJob finalize = this->Job("finalize", "finalize:u1");
  finalize.subject = JobSubject::Recording(upload->recording_id);
  ASSERT_TRUE(index.FinishUpload("u1", UploadState::kComplete, false, finalize, kNow).ok());
  auto job = index.ClaimJob("finalize", "w1", kNow, 30).value();
  ASSERT_TRUE(job.has_value());
  EXPECT_EQ(index.RefinalizeRecording(upload->recording_id, job->id, kNow).code(), StatusCode::kFailedPrecondition)
      << "the recording is finalizing, not failed";
  ASSERT_TRUE(index.MarkRecordingFailed(upload->recording_id, "corrupt", {}, kNow + 1).ok());
  EXPECT_EQ(index.RefinalizeRecording(upload->recording_id, job->id, kNow + 2).code(), StatusCode::kFailedPrecondition)
      << "its job is still running";
  EXPECT_EQ(index.GetRecording(upload->recording_id)->status, RecordingStatus::kFailed) << "rolled back";

  ASSERT_TRUE(index.FailJob(*job, "corrupt", {}, kNow + 2).ok());
  ASSERT_TRUE(index.RefinalizeRecording(upload->recording_id, job->id, kNow + 3).ok());
  auto recording = index.GetRecording(upload->recording_id);
  EXPECT_EQ(recording->status, RecordingStatus::kFinalizing);
  EXPECT_EQ(recording->failure_reason, "");
  EXPECT_TRUE(index.ClaimJob("finalize", "w2", kNow + 3, 30)->has_value());
}

TYPED_TEST(IndexConformanceTest, DedupeKeyEnqueuesOnceAndRunAtDelays) {
  Index& index = *this->index_;
  int64_t id = index.EnqueueJob(this->Job("mail", "mail:welcome", kNow + 50), kNow).value();
  EXPECT_EQ(index.EnqueueJob(this->Job("mail", "mail:welcome"), kNow).value(), id);
  EXPECT_FALSE(index.ClaimJob("mail", "w1", kNow + 49, 30)->has_value());
  auto job = index.ClaimJob("mail", "w1", kNow + 50, 30).value();
  ASSERT_TRUE(job.has_value());
  ASSERT_TRUE(index.CompleteJob(*job, {}, kNow + 51).ok());
  EXPECT_EQ(index.EnqueueJob(this->Job("mail", "mail:welcome"), kNow + 52).value(), id) << "even once done";
}

TYPED_TEST(IndexConformanceTest, ReleaseLeasesMakesADeadNodesJobsDueAtOnce) {
  Index& index = *this->index_;
  index.EnqueueJob(this->Job("a"), kNow).value();
  index.EnqueueJob(this->Job("a"), kNow).value();
  index.EnqueueJob(this->Job("a"), kNow).value();
  ASSERT_TRUE(index.ClaimJob("a", "node1/41/a#0", kNow, 600)->has_value());
  ASSERT_TRUE(index.ClaimJob("a", "node1/41/a#1", kNow, 600)->has_value());
  ASSERT_TRUE(index.ClaimJob("a", "node2/7/a#0", kNow, 600)->has_value());
  EXPECT_EQ(index.ReleaseLeases("node1/", kNow + 1).value(), 2);
  EXPECT_TRUE(index.ClaimJob("a", "node1/42/a#0", kNow + 1, 600)->has_value());
  EXPECT_TRUE(index.ClaimJob("a", "node1/42/a#0", kNow + 1, 600)->has_value());
  EXPECT_FALSE(index.ClaimJob("a", "node1/42/a#0", kNow + 1, 600)->has_value()) << "node2's job is still leased";
}

TYPED_TEST(IndexConformanceTest, JobStatsCountEachKindsStates) {
  Index& index = *this->index_;
  index.EnqueueJob(this->Job("a"), kNow - 20).value();
  index.EnqueueJob(this->Job("a"), kNow - 10).value();
  index.EnqueueJob(this->Job("a", "", kNow + 100), kNow).value();
  index.EnqueueJob(this->Job("b"), kNow).value();
  auto running = index.ClaimJob("b", "w", kNow, 30).value();
  auto stats = index.JobStats(kNow).value();
  auto of = [&](const std::string& kind) {
    auto it = std::find_if(stats.begin(), stats.end(), [&](const JobKindStats& s) { return s.kind == kind; });
    return it == stats.end() ? JobKindStats{} : *it;
  };
  EXPECT_EQ(of("a").pending, 3);
  EXPECT_EQ(of("a").due, 2);
  EXPECT_EQ(of("a").oldest_due_age_seconds, 20);
  EXPECT_EQ(of("b").running, 1);
  EXPECT_EQ(of("b").pending, 0);
}

// Two workers (threads, or server processes on one database) race for the same jobs: each job is
// run by exactly one of them.
TYPED_TEST(IndexConformanceTest, ConcurrentClaimsNeverShareAJob) {
  Index& index = *this->index_;
  constexpr int kJobs = 200;
  for (int i = 0; i < kJobs; ++i) index.EnqueueJob(this->Job("race"), kNow).value();
  std::vector<std::vector<int64_t>> claimed(4);
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&, w] {
      for (;;) {
        auto job = index.ClaimJob("race", "w" + std::to_string(w), kNow, 600);
        ASSERT_TRUE(job.ok()) << job.status().ToString();
        if (!job->has_value()) return;
        claimed[w].push_back((*job)->id);
        ASSERT_TRUE(index.CompleteJob(**job, {}, kNow).ok());
      }
    });
  }
  for (auto& t : workers) t.join();
  std::set<int64_t> all;
  size_t total = 0;
  for (const auto& ids : claimed) {
    all.insert(ids.begin(), ids.end());
    total += ids.size();
  }
  EXPECT_EQ(total, size_t{kJobs}) << "a job was claimed twice, or lost";
  EXPECT_EQ(all.size(), size_t{kJobs});
}

// A deletion racing a recorder that keeps adding recordings: whatever the interleaving, the
// deletion either waits for the recording in flight or the recording is refused; no recording is
// ever deleted without its media being listed for removal, and none is created after.
TYPED_TEST(IndexConformanceTest, DeletionRacingNewRecordingsNeverLeavesUnlistedMedia) {
  Index& index = *this->index_;
  std::vector<std::string> created_keys;
  std::atomic<bool> refused{false};
  std::thread recorder([&] {
    for (int i = 0; !refused; ++i) {
      auto upload = this->NewUpload("race" + std::to_string(i));
      if (!upload.ok()) {
        EXPECT_EQ(upload.status().code(), StatusCode::kFailedPrecondition) << upload.status().ToString();
        refused = true;
        return;
      }
      created_keys.push_back(upload->media_key);
      EXPECT_TRUE(index.FinishUpload(upload->id, UploadState::kComplete, false, this->Job("finalize"), kNow).ok());
      EXPECT_TRUE(index.MarkRecordingReady(upload->recording_id, 10, 1000, false, {}, kNow).ok());
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  StoredMedia listed;
  for (int attempt = 0; attempt < 10000; ++attempt) {
    auto prepared = index.PrepareSessionDeletion("s1");
    if (!prepared.ok()) {
      ASSERT_EQ(prepared.status().code(), StatusCode::kFailedPrecondition) << prepared.status().ToString();
      continue;  // a recording is receiving: as the HTTP handler, wait and try again
    }
    Status deleted = index.DeleteSession("s1", AuditEntry{0, kNow, "api-key", "delete_session", "session:s1"});
    if (deleted.code() == StatusCode::kFailedPrecondition) continue;
    ASSERT_TRUE(deleted.ok()) << deleted.ToString();
    listed = *prepared;
    break;
  }
  recorder.join();
  EXPECT_TRUE(refused) << "the recorder could still add recordings after the deletion";
  EXPECT_FALSE(created_keys.empty());
  std::set<std::string> listed_keys(listed.media_keys.begin(), listed.media_keys.end());
  for (const std::string& key : created_keys) EXPECT_TRUE(listed_keys.count(key)) << key << " deleted unlisted";
  EXPECT_EQ(index.SessionByTokenHash("hash-s1").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(index.GetSessionSummary("s1").status().code(), StatusCode::kNotFound);
}

TYPED_TEST(IndexConformanceTest, DeletionWaitsForRecordingsInFlight) {
  Index& index = *this->index_;
  auto upload = this->NewUpload("u1");
  EXPECT_EQ(index.PrepareSessionDeletion("s1").status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(index.SessionByTokenHash("hash-s1")->token_expires_at, kNow + 86400) << "nothing changed";
  EXPECT_EQ(index.GetUpload("u1")->state, UploadState::kReceiving);
}

TYPED_TEST(IndexConformanceTest, DeletingTheLastRecordingDeletesItsSessionAndCandidate) {
  Index& index = *this->index_;
  int64_t first = this->ReadyRecording("u1");
  int64_t second = this->ReadyRecording("u2");
  index.AddSessionEvents("s1", {SessionEvent{"e1", EventType::kMarker, "Q1", "{}", 1, "u1", "", 0}}, kNow).value();
  AuditEntry audit{0, kNow, "system:retention", "retention_delete", "recording:x"};
  ASSERT_TRUE(index.DeleteRecording(first, audit).ok());
  EXPECT_EQ(index.GetRecording(first).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(index.GetSessionSummary("s1")->recordings.size(), 1u);
  ASSERT_TRUE(index.DeleteRecording(second, audit).ok());
  EXPECT_EQ(index.GetSessionSummary("s1").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(index.SessionIdsOfCandidate(this->candidate_id_).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(index.AuditEntries(10)->size(), 2u);
  EXPECT_EQ(index.DeleteRecording(second, audit).code(), StatusCode::kNotFound);
}

TYPED_TEST(IndexConformanceTest, SessionsAreListedNewestFirstByFilter) {
  Index& index = *this->index_;
  auto bob = index.FindOrCreateCandidate("Bob Stone", "bob@example.com", "Bob_Stone", kNow).value();
  ASSERT_TRUE(index.CreateSession("s2", bob.id, "Designer", {}, "hash-s2", kNow + 86400, kNow + 10).ok());
  this->ReadyRecording("u1", "s2");
  SessionFilter all;
  auto page = index.ListSessions(all).value();
  EXPECT_EQ(page.total, 2);
  ASSERT_EQ(page.sessions.size(), 2u);
  EXPECT_EQ(page.sessions[0].session_id, "s2");
  EXPECT_EQ(page.sessions[0].status, SessionStatus::kReady);
  EXPECT_EQ(page.sessions[1].status, SessionStatus::kEmpty);
  SessionFilter by_text;
  by_text.text = "BOB@";
  EXPECT_EQ(index.ListSessions(by_text)->total, 1);
  SessionFilter by_job;
  by_job.job = "engin";
  EXPECT_EQ(index.ListSessions(by_job)->sessions.at(0).session_id, "s1");
  SessionFilter by_status;
  by_status.status = SessionStatus::kReady;
  EXPECT_EQ(index.ListSessions(by_status)->total, 1);
  SessionFilter paged;
  paged.limit = 1;
  paged.offset = 1;
  page = index.ListSessions(paged).value();
  EXPECT_EQ(page.total, 2);
  ASSERT_EQ(page.sessions.size(), 1u);
  EXPECT_EQ(page.sessions[0].session_id, "s1");
}

TYPED_TEST(IndexConformanceTest, AccountsAndLoginSessions) {
  Index& index = *this->index_;
  Account rita{0, "Rita", "$argon2id$x", Role::kReviewer};
  ASSERT_TRUE(index.CreateAccount(rita, kNow).ok());
  EXPECT_EQ(index.CreateAccount(Account{0, "rita", "h", Role::kAdmin}, kNow).code(), StatusCode::kAlreadyExists);
  auto account = index.AccountByName("RITA");
  ASSERT_TRUE(account.ok());
  EXPECT_EQ(account->role, Role::kReviewer);
  EXPECT_EQ(index.CountAccounts().value(), 1);
  ASSERT_TRUE(index.CreateLoginSession(LoginSession{"cookie-hash", *account, "csrf", kNow + 100}, kNow).ok());
  EXPECT_EQ(index.LoginSessionByTokenHash("cookie-hash", kNow + 99)->account.username, "Rita");
  EXPECT_EQ(index.LoginSessionByTokenHash("cookie-hash", kNow + 100).status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(index.DeleteLoginSession("cookie-hash", kNow).ok());
  EXPECT_EQ(index.LoginSessionByTokenHash("cookie-hash", kNow).status().code(), StatusCode::kNotFound);
}

TYPED_TEST(IndexConformanceTest, AuditEntriesComeNewestFirst) {
  Index& index = *this->index_;
  ASSERT_TRUE(index.AppendAudit(AuditEntry{0, kNow, "hr:rita", "view", "session:s1"}).ok());
  ASSERT_TRUE(index.AppendAudit(AuditEntry{0, kNow + 1, "hr:rita", "download", "recording:1", R"({"b":1})"}).ok());
  auto entries = index.AuditEntries(10).value();
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].action, "download");
  EXPECT_EQ(entries[0].detail_json, R"({"b":1})");
  EXPECT_EQ(index.AuditEntries(1)->size(), 1u);
}

Transcript TwoSegments(const std::string& first_word) {
  Transcript t;
  t.engine = "pocketsphinx";
  t.language = "en";
  t.audio_seconds = 12.5;
  t.segments.push_back(
      {1000, 2500, first_word + " was", 0.75, {{1000, 1600, first_word, 0.5}, {1600, 2500, "was", 1}}});
  t.segments.push_back({4000, 4800, "here", 0.25, {}});
  return t;
}

TYPED_TEST(IndexConformanceTest, ATranscriptIsStoredWholeReplacedWholeAndGoesWithItsRecording) {
  Index& index = *this->index_;
  const int64_t id = this->ReadyRecording("u1");
  EXPECT_EQ(index.GetTranscript(id).status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(index.PutTranscript(id, TwoSegments("he"), {this->Job("notify", "notify:1")}, kNow).ok());
  auto stored = index.GetTranscript(id);
  ASSERT_TRUE(stored.ok()) << stored.status().ToString();
  EXPECT_EQ(stored->engine, "pocketsphinx");
  EXPECT_EQ(stored->language, "en");
  EXPECT_DOUBLE_EQ(stored->audio_seconds, 12.5);
  ASSERT_EQ(stored->segments.size(), 2u);
  EXPECT_EQ(stored->segments[0].text, "he was");
  EXPECT_DOUBLE_EQ(stored->segments[0].confidence, 0.75);
  ASSERT_EQ(stored->segments[0].words.size(), 2u);
  EXPECT_EQ(stored->segments[0].words[1].text, "was");
  EXPECT_EQ(stored->segments[0].words[1].start_ms, 1600);
  EXPECT_EQ(stored->segments[0].words[1].end_ms, 2500);
  EXPECT_TRUE(stored->segments[1].words.empty());
  // The follow-up was queued with it.
  auto follow_up = index.ClaimJob("notify", "w", kNow, 60);
  ASSERT_TRUE(follow_up.ok() && follow_up->has_value());

  // Stored again (a job repeated after a crash): replaced, not doubled.
  Transcript shorter = TwoSegments("she");
  shorter.segments.pop_back();
  ASSERT_TRUE(index.PutTranscript(id, shorter, {}, kNow + 1).ok());
  stored = index.GetTranscript(id);
  ASSERT_EQ(stored->segments.size(), 1u);
  EXPECT_EQ(stored->segments[0].words[0].text, "she");

  EXPECT_EQ(index.PutTranscript(id + 1000, shorter, {}, kNow).code(), StatusCode::kNotFound);
  ASSERT_TRUE(
      index.DeleteRecording(id, AuditEntry{0, kNow, "system:retention", "retention_delete", "recording:1"}).ok());
  EXPECT_EQ(index.GetTranscript(id).status().code(), StatusCode::kNotFound);
}

TYPED_TEST(IndexConformanceTest, TranscriptSearchFindsWordsAndPrefixesAcrossRecordingsAndForgetsDeletedOnes) {
  Index& index = *this->index_;
  const int64_t first = this->ReadyRecording("u1"), second = this->ReadyRecording("u2");
  Transcript a = TwoSegments("Shortener");
  a.segments[1].text = "the cache fails first";
  Transcript b = TwoSegments("Zoë");
  b.segments[1].text = "a shorter cache";
  ASSERT_TRUE(index.PutTranscript(first, a, {}, kNow).ok());
  ASSERT_TRUE(index.PutTranscript(second, b, {}, kNow).ok());
  auto texts = [&](const std::vector<std::string>& words) {
    std::vector<std::string> out;
    auto hits = index.SearchTranscripts(words, 10);
    EXPECT_TRUE(hits.ok()) << hits.status().ToString();
    for (const SegmentHit& hit : hits.value()) out.push_back(std::to_string(hit.recording_id) + ":" + hit.segment.text);
    std::sort(out.begin(), out.end());
    return out;
  };
  const std::string f = std::to_string(first) + ":", g = std::to_string(second) + ":";
  EXPECT_EQ(texts({"cache"}), (std::vector<std::string>{f + "the cache fails first", g + "a shorter cache"}));
  EXPECT_EQ(texts({"CACHE", "fail"}), (std::vector<std::string>{f + "the cache fails first"}))
      << "every word, prefixes";
  EXPECT_EQ(texts({"short"}), (std::vector<std::string>{f + "Shortener was", g + "a shorter cache"}));
  EXPECT_EQ(texts({"zoe"}), (std::vector<std::string>{g + "Zoë was"})) << "accents ignored";
  EXPECT_EQ(texts({"nothing"}), std::vector<std::string>{});
  EXPECT_EQ(texts({}), std::vector<std::string>{});
  auto hit = index.SearchTranscripts({"fails"}, 10).value();
  ASSERT_EQ(hit.size(), 1u);
  EXPECT_EQ(hit[0].segment.start_ms, 4000);
  EXPECT_EQ(hit[0].segment.end_ms, 4800);
  EXPECT_EQ(index.SearchTranscripts({"cache"}, 1)->size(), 1u) << "limit";
  EXPECT_EQ(index.SearchTranscripts({"a\" OR \"b"}, 10).status().code(), StatusCode::kInvalidArgument);

  // Replaced and deleted transcripts are no longer found.
  ASSERT_TRUE(index.PutTranscript(first, TwoSegments("other"), {}, kNow + 1).ok());
  EXPECT_EQ(texts({"cache"}), (std::vector<std::string>{g + "a shorter cache"}));
  ASSERT_TRUE(
      index.DeleteRecording(second, AuditEntry{0, kNow, "system:retention", "retention_delete", "recording:2"}).ok());
  EXPECT_EQ(texts({"cache"}), std::vector<std::string>{});
  EXPECT_EQ(texts({"other"}), (std::vector<std::string>{f + "other was"}));
}

}  // namespace
}  // namespace recorder::server
