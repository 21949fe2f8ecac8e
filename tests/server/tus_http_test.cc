// The HTTP API in process: sessions, tus 1.0.0, errors, CORS, health, metrics and static pages.
// Every bad input must get its status and a message, and lose nothing already accepted.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <regex>

#include "server_fixture.h"

namespace recorder::server::testing {
namespace {

constexpr const char* kOctets = "application/offset+octet-stream";

std::string ErrorCode(const httplib::Result& res) {
  if (!res) return "no response";
  auto body = nlohmann::json::parse(res->body, nullptr, false);
  if (body.is_discarded() || !body.contains("message") || body["message"].get<std::string>().empty()) {
    return "no message in: " + res->body;
  }
  return body["error"].get<std::string>();
}

// A session with one deferred upload that already holds "hello" (5 bytes).
class TusTest : public ServerTest {
 protected:
  void SetUp() override {
    ServerTest::SetUp();
    Start();
    token_ = NewSession();
    url_ = NewUpload(token_);
    auto res = Patch(token_, url_, 0, "hello");
    ASSERT_TRUE(res && res->status == 204);
  }
  // Nothing accepted was lost: HEAD still says 5 and the file still holds "hello".
  void ExpectUnchanged() {
    EXPECT_EQ(HeadOffset(token_, url_), 5);
    EXPECT_EQ(ReadFile(OnlyRecordingFile()), "hello");
  }
  std::string token_;
  std::string url_;
};

TEST_F(ServerTest, SessionCreationWithoutApiKeyIs401) {
  Start();
  auto res = http().Post("/api/v1/sessions", R"({"candidate_name":"A"})", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  EXPECT_EQ(ErrorCode(res), "missing_api_key");
}

TEST_F(ServerTest, SessionCreationWithWrongApiKeyIs401) {
  Start();
  auto res = http().Post("/api/v1/sessions", {{"Authorization", "Bearer nope"}}, R"({"candidate_name":"A"})",
                         "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  EXPECT_EQ(ErrorCode(res), "invalid_api_key");
}

TEST_F(ServerTest, SessionCreationRejectsBadJsonAndMissingNameWith400) {
  Start();
  httplib::Headers auth = {{"Authorization", "Bearer test-api-key"}};
  auto bad = http().Post("/api/v1/sessions", auth, "{not json", "application/json");
  EXPECT_EQ(bad->status, 400);
  EXPECT_EQ(ErrorCode(bad), "invalid_json");
  auto missing = http().Post("/api/v1/sessions", auth, R"({"candidate_name":"  "})", "application/json");
  EXPECT_EQ(missing->status, 400);
  EXPECT_EQ(ErrorCode(missing), "missing_candidate_name");
}

TEST_F(ServerTest, SessionCreationReturnsTokenAndTusEndpoint) {
  Start();
  auto res =
      http().Post("/api/v1/sessions", {{"Authorization", "Bearer test-api-key"}},
                  R"({"candidate_name":"Jane Doe","candidate_email":"j@x.org","job":"SRE"})", "application/json");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 201);
  auto body = nlohmann::json::parse(res->body);
  EXPECT_EQ(body["tus_endpoint"], "/files/");
  EXPECT_GE(body["upload_token"].get<std::string>().size(), 32u);  // >= 128 bits as hex
  EXPECT_FALSE(body["session_id"].get<std::string>().empty());
}

TEST_F(ServerTest, OptionsAdvertisesTusVersionExtensionsAndChecksums) {
  Start();
  auto res = http().Options("/files/");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 204);
  EXPECT_EQ(res->get_header_value("Tus-Version"), "1.0.0");
  EXPECT_EQ(res->get_header_value("Tus-Extension"),
            "creation,creation-with-upload,creation-defer-length,termination,expiration,checksum");
  EXPECT_EQ(res->get_header_value("Tus-Max-Size"), std::to_string(1 << 20));
  EXPECT_EQ(res->get_header_value("Tus-Checksum-Algorithm"), "sha1,sha256");
}

TEST_F(ServerTest, CorsPreflightAllowsTusHeadersAndResponsesExposeThem) {
  Start();
  auto pre = http().Options("/files/", {{"Origin", "https://app.example"},
                                        {"Access-Control-Request-Method", "PATCH"},
                                        {"Access-Control-Request-Headers", "authorization,upload-offset"}});
  ASSERT_TRUE(pre);
  EXPECT_EQ(pre->status, 204);
  EXPECT_EQ(pre->get_header_value("Access-Control-Allow-Origin"), "https://app.example");
  for (const char* h : {"Authorization", "Tus-Resumable", "Upload-Offset", "Upload-Length", "Upload-Metadata",
                        "Upload-Checksum", "Content-Type"}) {
    EXPECT_NE(pre->get_header_value("Access-Control-Allow-Headers").find(h), std::string::npos) << h;
  }
  EXPECT_NE(pre->get_header_value("Access-Control-Allow-Methods").find("PATCH"), std::string::npos);
  std::string token = NewSession();
  auto headers = Tus(token);
  headers.emplace("Origin", "https://app.example");
  headers.emplace("Upload-Defer-Length", "1");
  auto created = http().Post("/files/", headers, "", kOctets);
  ASSERT_EQ(created->status, 201);
  std::string exposed = created->get_header_value("Access-Control-Expose-Headers");
  for (const char* h : {"Location", "Upload-Offset", "Upload-Length", "Tus-Resumable", "Upload-Expires"}) {
    EXPECT_NE(exposed.find(h), std::string::npos) << h;
  }
}

TEST_F(ServerTest, CorsEchoesOnlyAllowedOrigins) {
  config_.allowed_origins = {"https://good.example"};
  Start();
  auto good = http().Get("/healthz", {{"Origin", "https://good.example"}});
  EXPECT_EQ(good->get_header_value("Access-Control-Allow-Origin"), "https://good.example");
  auto bad = http().Get("/healthz", {{"Origin", "https://evil.example"}});
  EXPECT_FALSE(bad->has_header("Access-Control-Allow-Origin"));
}

TEST_F(ServerTest, ChunksAppendInOrderAndHeadReportsOffsetAndDeferredLength) {
  Start();
  std::string token = NewSession();
  std::string url = NewUpload(token);
  ASSERT_EQ(url.rfind("/files/", 0), 0u);
  auto head = http().Head(url.c_str(), Tus(token));
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->get_header_value("Upload-Offset"), "0");
  EXPECT_EQ(head->get_header_value("Upload-Defer-Length"), "1");
  EXPECT_EQ(head->get_header_value("Cache-Control"), "no-store");
  EXPECT_EQ(head->get_header_value("Tus-Resumable"), "1.0.0");
  EXPECT_TRUE(head->has_header("Upload-Expires"));
  auto first = Patch(token, url, 0, "abc");
  EXPECT_EQ(first->status, 204);
  EXPECT_EQ(first->get_header_value("Upload-Offset"), "3");
  auto second = Patch(token, url, 3, "def");
  EXPECT_EQ(second->get_header_value("Upload-Offset"), "6");
  EXPECT_EQ(HeadOffset(token, url), 6);
  fs::path file = OnlyRecordingFile();
  EXPECT_EQ(ReadFile(file), "abcdef");
  EXPECT_EQ(file.extension(), ".part");
  EXPECT_EQ(file.parent_path().filename(), "Jane_Doe");
  EXPECT_EQ(file.filename(), "interview_video_20260101_120000.webm.part");
}

TEST_F(ServerTest, CreationWithUploadStoresTheFirstChunk) {
  Start();
  std::string token = NewSession();
  auto headers = Tus(token);
  headers.emplace("Upload-Length", "10");
  auto res = http().Post("/files/", headers, "12345", kOctets);
  ASSERT_EQ(res->status, 201);
  EXPECT_EQ(res->get_header_value("Upload-Offset"), "5");
  EXPECT_EQ(HeadOffset(token, res->get_header_value("Location")), 5);
}

// A creation-with-upload whose body is refused (checksum 460, longer than Upload-Length 413)
// answers the error without a Location and creates nothing: no upload or recording in the index,
// no file in the spool. It used to create the upload first and leave it behind, empty.
TEST_F(ServerTest, RefusedCreationWithUploadLeavesNoUpload) {
  Start();
  std::string token = NewSession();
  auto create = [&](const std::string& length, const std::string& body, const std::string& checksum = "") {
    auto headers = Tus(token);
    headers.emplace("Upload-Length", length);
    if (!checksum.empty()) headers.emplace("Upload-Checksum", checksum);
    return http().Post("/files/", headers, body, kOctets);
  };
  auto bad_checksum = create("10", "12345", "sha1 " + tus::Base64Encode(*tus::Digest("sha1", "other")));
  ASSERT_TRUE(bad_checksum);
  EXPECT_EQ(bad_checksum->status, 460);
  EXPECT_FALSE(bad_checksum->has_header("Location"));
  auto too_long = create("3", "12345");
  ASSERT_TRUE(too_long);
  EXPECT_EQ(too_long->status, 413);
  EXPECT_EQ(ErrorCode(too_long), "body_exceeds_length");
  EXPECT_FALSE(too_long->has_header("Location"));

  for (UploadState state : {UploadState::kReceiving, UploadState::kTerminated}) {
    EXPECT_TRUE(app_->index().UploadsInState(state)->empty()) << Name(state);
  }
  EXPECT_FALSE(app_->index().GetRecording(1).ok());
  EXPECT_EQ(OnlyRecordingFile(), fs::path()) << "a spool file was left";

  auto good = create("10", "12345", "sha1 " + tus::Base64Encode(*tus::Digest("sha1", "12345")));
  ASSERT_EQ(good->status, 201);
  EXPECT_EQ(HeadOffset(token, good->get_header_value("Location")), 5);
}

// Recordings of people and the index of them are the server user's only, whatever the umask: here
// none (0), under which the index folder was 0777 and index.sqlite3 (so its -wal and -shm) 0644.
TEST_F(ServerTest, DataFolderIndexAndRecordingsAreOwnerOnlyWhateverTheUmask) {
  const mode_t old_umask = ::umask(0);
  Start();
  std::string token = NewSession();
  std::string receiving = NewUpload(token, std::nullopt);
  ASSERT_EQ(Patch(token, receiving, 0, "abc")->status, 204);
  std::string done = NewUpload(token, 3, "audio");
  ASSERT_EQ(Patch(token, done, 0, "xyz")->status, 204);
  ASSERT_TRUE(WaitFor([&] { return app_->index().GetRecording(2)->status == RecordingStatus::kReady; },
                      std::chrono::seconds(5)));
  ::umask(old_umask);

  const fs::path data = config_.data_dir, index = data / ".recorder" / "index.sqlite3";
  auto mode = [](const fs::path& path) { return fs::status(path).permissions() & fs::perms::all; };
  const fs::perms folder = fs::perms::owner_all, file = fs::perms::owner_read | fs::perms::owner_write;
  EXPECT_EQ(mode(data), folder);
  EXPECT_EQ(mode(data / ".recorder"), folder);
  for (const char* suffix : {"", "-wal", "-shm"}) {
    if (!config_.index_url.empty()) break;  // the index is in PostgreSQL
    fs::path path = index.string() + suffix;
    ASSERT_TRUE(fs::exists(path)) << path;
    EXPECT_EQ(mode(path), file) << path;
  }
  int files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(data)) {
    if (entry.path().filename().string().rfind("interview_", 0) != 0) continue;
    EXPECT_EQ(mode(entry.path()), file) << entry.path();
    EXPECT_EQ(mode(entry.path().parent_path()), folder) << entry.path().parent_path();
    ++files;
  }
  EXPECT_EQ(files, 2) << "the .part of the receiving upload and the finalized recording";
}

TEST_F(ServerTest, EmptyUploadIsCompleteAtCreation) {
  Start();
  std::string token = NewSession();
  NewUpload(token, 0, "audio");
  // Handed to finalize without any PATCH (the copying fake finalizer accepts an empty file).
  EXPECT_TRUE(WaitFor([&] { return app_->index().GetRecording(1)->status == RecordingStatus::kReady; },
                      std::chrono::seconds(5)));
}

TEST_F(ServerTest, CompletedUploadIsFinalizedIntoTheNamedWebmFile) {
  Start();
  std::string token = NewSession("Zoë Ünal");
  std::string url = NewUpload(token, 6, "screen");
  ASSERT_EQ(Patch(token, url, 0, "abcdef")->status, 204);
  fs::path final_file = fs::path(config_.data_dir) / "Zoë_Ünal" / "interview_video_20260101_120000_screen.webm";
  ASSERT_TRUE(WaitFor([&] { return fs::exists(final_file); }, std::chrono::seconds(5)));
  EXPECT_EQ(ReadFile(final_file), "abcdef");
  EXPECT_TRUE(WaitFor([&] { return !fs::exists(final_file.string() + ".part"); }, std::chrono::seconds(5)));
  auto recording = app_->index().GetRecording(1);
  ASSERT_TRUE(recording.ok());
  EXPECT_EQ(recording->status, RecordingStatus::kReady);
  EXPECT_EQ(recording->bytes, 6u);
  EXPECT_EQ(recording->duration_ms, 1000);
  EXPECT_FALSE(recording->incomplete);
}

TEST_F(ServerTest, BrokenUploadEndsFailedWithReasonAndItsBytesKept) {
  Start();
  std::string token = NewSession();
  std::string url = NewUpload(token, 9);
  ASSERT_EQ(Patch(token, url, 0, "BROKEN!!!")->status, 204);
  ASSERT_TRUE(WaitFor([&] { return app_->index().GetRecording(1)->status == RecordingStatus::kFailed; },
                      std::chrono::seconds(5)));
  EXPECT_NE(app_->index().GetRecording(1)->failure_reason.find("EBML"), std::string::npos);
  EXPECT_EQ(ReadFile(OnlyRecordingFile()), "BROKEN!!!");
}

TEST_F(ServerTest, SameNameDifferentCandidatesGetSeparateFoldersAndFileNamesNeverCollide) {
  Start();
  std::string a = NewSession("Jane Doe", "a@x.org");
  std::string b = NewSession("Jane Doe", "b@x.org");
  std::string a_again = NewSession("Jane Doe", "A@X.org");
  NewUpload(a);
  NewUpload(a_again);  // same candidate, same second: suffix _2
  NewUpload(b);
  fs::path data = config_.data_dir;
  EXPECT_TRUE(fs::exists(data / "Jane_Doe" / "interview_video_20260101_120000.webm.part"));
  EXPECT_TRUE(fs::exists(data / "Jane_Doe" / "interview_video_20260101_120000_2.webm.part"));
  EXPECT_TRUE(fs::exists(data / "Jane_Doe_2" / "interview_video_20260101_120000.webm.part"));
}

TEST_F(TusTest, PatchAtWrongOffsetIs409AndKeepsBytes) {
  auto res = Patch(token_, url_, 3, "XX");
  EXPECT_EQ(res->status, 409);
  EXPECT_EQ(ErrorCode(res), "offset_mismatch");
  ExpectUnchanged();
}

TEST_F(TusTest, PatchWithoutUploadOffsetIs400) {
  auto res = http().Patch(url_.c_str(), Tus(token_), "XX", kOctets);
  EXPECT_EQ(res->status, 400);
  EXPECT_EQ(ErrorCode(res), "invalid_upload_offset");
  auto headers = Tus(token_);
  headers.emplace("Upload-Offset", "-1");
  auto negative = http().Patch(url_.c_str(), headers, "XX", kOctets);
  EXPECT_EQ(negative->status, 400);
  ExpectUnchanged();
}

TEST_F(TusTest, RequestWithoutTusResumableIs400) {
  auto res = http().Patch(url_.c_str(), {{"Authorization", "Bearer " + token_}, {"Upload-Offset", "5"}}, "XX", kOctets);
  EXPECT_EQ(res->status, 400);
  EXPECT_EQ(ErrorCode(res), "missing_tus_resumable");
  ExpectUnchanged();
}

TEST_F(TusTest, UnsupportedTusVersionIs412WithTusVersion) {
  auto res = http().Patch(url_.c_str(),
                          {{"Tus-Resumable", "0.2.2"}, {"Authorization", "Bearer " + token_}, {"Upload-Offset", "5"}},
                          "XX", kOctets);
  EXPECT_EQ(res->status, 412);
  EXPECT_EQ(res->get_header_value("Tus-Version"), "1.0.0");
  EXPECT_EQ(ErrorCode(res), "unsupported_tus_version");
  ExpectUnchanged();
}

TEST_F(TusTest, PatchWithWrongContentTypeIs415) {
  auto headers = Tus(token_);
  headers.emplace("Upload-Offset", "5");
  auto res = http().Patch(url_.c_str(), headers, "XX", "application/octet-stream");
  EXPECT_EQ(res->status, 415);
  EXPECT_EQ(ErrorCode(res), "wrong_content_type");
  ExpectUnchanged();
}

TEST_F(TusTest, PatchPastDeclaredLengthIs413) {
  auto res = Patch(token_, url_, 5, "XXXXXX", {{"Upload-Length", "8"}});
  EXPECT_EQ(res->status, 413);
  EXPECT_EQ(ErrorCode(res), "body_exceeds_length");
  ExpectUnchanged();
}

TEST_F(TusTest, BodyOverRequestLimitIs413) {
  auto res = Patch(token_, url_, 5, std::string(config_.max_request_bytes + 1, 'x'));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 413);
  EXPECT_EQ(ErrorCode(res), "request_too_large");
  ExpectUnchanged();
}

TEST_F(TusTest, CreationOverTusMaxSizeIs413AndBadLengthHeadersAre400) {
  auto headers = Tus(token_);
  headers.emplace("Upload-Length", std::to_string((1 << 20) + 1));
  auto big = http().Post("/files/", headers, "", kOctets);
  EXPECT_EQ(big->status, 413);
  EXPECT_EQ(ErrorCode(big), "upload_too_large");
  auto neither = http().Post("/files/", Tus(token_), "", kOctets);
  EXPECT_EQ(neither->status, 400);
  EXPECT_EQ(ErrorCode(neither), "ambiguous_upload_length");
  headers = Tus(token_);
  headers.emplace("Upload-Length", "ten");
  EXPECT_EQ(ErrorCode(http().Post("/files/", headers, "", kOctets)), "invalid_upload_length");
  headers = Tus(token_);
  headers.emplace("Upload-Defer-Length", "1");
  headers.emplace("Upload-Metadata", "kind !!!");
  EXPECT_EQ(ErrorCode(http().Post("/files/", headers, "", kOctets)), "invalid_metadata");
  headers = Tus(token_);
  headers.emplace("Upload-Defer-Length", "1");
  headers.emplace("Upload-Metadata", "kind " + tus::Base64Encode("movie"));
  EXPECT_EQ(ErrorCode(http().Post("/files/", headers, "", kOctets)), "invalid_kind");
  ExpectUnchanged();
}

TEST_F(TusTest, UnknownUploadIs404) {
  EXPECT_EQ(Patch(token_, "/files/0123456789abcdef0123456789abcdef", 0, "XX")->status, 404);
  auto head = http().Head("/files/nope", Tus(token_));
  EXPECT_EQ(head->status, 404);
  ExpectUnchanged();
}

TEST_F(TusTest, ExpiredUploadIs410AndWhatArrivedIsFinalizedAsIncomplete) {
  clock_->Advance(config_.ingest.upload_expiry_seconds + 1);
  auto res = Patch(token_, url_, 5, "XX");
  EXPECT_EQ(res->status, 410);
  EXPECT_EQ(ErrorCode(res), "upload_expired");
  EXPECT_EQ(http().Head(url_.c_str(), Tus(token_))->status, 410);
  app_->jobs().Wake(FinalizeJob::kKind);
  ASSERT_TRUE(WaitFor([&] { return app_->index().GetRecording(1)->status == RecordingStatus::kReady; },
                      std::chrono::seconds(5)));
  EXPECT_TRUE(app_->index().GetRecording(1)->incomplete);
  EXPECT_EQ(ReadFile(OnlyRecordingFile()), "hello");
  EXPECT_EQ(OnlyRecordingFile().extension(), ".webm");
}

TEST_F(TusTest, AcceptedPatchExtendsTheExpiry) {
  clock_->Advance(config_.ingest.upload_expiry_seconds - 1);
  ASSERT_EQ(Patch(token_, url_, 5, "!")->status, 204);
  clock_->Advance(10);
  EXPECT_EQ(HeadOffset(token_, url_), 6);
}

TEST_F(TusTest, ChecksumMismatchIs460AndNothingIsAppended) {
  std::string wrong = tus::Base64Encode(*tus::Digest("sha1", "something else"));
  auto res = Patch(token_, url_, 5, "XX", {{"Upload-Checksum", "sha1 " + wrong}});
  EXPECT_EQ(res->status, 460);
  EXPECT_EQ(ErrorCode(res), "checksum_mismatch");
  ExpectUnchanged();
  auto unsupported = Patch(token_, url_, 5, "XX", {{"Upload-Checksum", "md5 " + wrong}});
  EXPECT_EQ(unsupported->status, 400);
  EXPECT_EQ(ErrorCode(unsupported), "unsupported_checksum_algorithm");
  auto malformed = Patch(token_, url_, 5, "XX", {{"Upload-Checksum", "sha1"}});
  EXPECT_EQ(ErrorCode(malformed), "invalid_checksum_header");
  ExpectUnchanged();
}

TEST_F(TusTest, MatchingSha1AndSha256ChecksumsAreAccepted) {
  const std::string upload_id = url_.substr(url_.rfind('/') + 1);
  EXPECT_FALSE(app_->index().GetUpload(upload_id)->checksum_verified);
  auto sha1 =
      Patch(token_, url_, 5, "ab", {{"Upload-Checksum", "sha1 " + tus::Base64Encode(*tus::Digest("sha1", "ab"))}});
  EXPECT_EQ(sha1->status, 204);
  auto sha256 =
      Patch(token_, url_, 7, "cd", {{"Upload-Checksum", "sha256 " + tus::Base64Encode(*tus::Digest("sha256", "cd"))}});
  EXPECT_EQ(sha256->status, 204);
  EXPECT_EQ(ReadFile(OnlyRecordingFile()), "helloabcd");
  EXPECT_TRUE(app_->index().GetUpload(upload_id)->checksum_verified);
}

TEST_F(TusTest, BadOrMissingUploadTokenIs401) {
  auto bad = Patch("not-a-token", url_, 5, "XX");
  EXPECT_EQ(bad->status, 401);
  EXPECT_EQ(ErrorCode(bad), "invalid_upload_token");
  auto missing = http().Patch(url_.c_str(), {{"Tus-Resumable", "1.0.0"}, {"Upload-Offset", "5"}}, "XX", kOctets);
  EXPECT_EQ(missing->status, 401);
  EXPECT_EQ(ErrorCode(missing), "missing_upload_token");
  auto create = http().Post("/files/", {{"Tus-Resumable", "1.0.0"}, {"Upload-Defer-Length", "1"}}, "", kOctets);
  EXPECT_EQ(create->status, 401);
  ExpectUnchanged();
}

TEST_F(TusTest, ExpiredUploadTokenIs401) {
  clock_->Advance(config_.ingest.token_ttl_seconds + 1);
  EXPECT_EQ(Patch(token_, url_, 5, "XX")->status, 401);
}

TEST_F(TusTest, AnotherSessionsTokenIs403) {
  std::string other = NewSession("Someone Else");
  auto res = Patch(other, url_, 5, "XX");
  EXPECT_EQ(res->status, 403);
  EXPECT_EQ(ErrorCode(res), "foreign_upload");
  EXPECT_EQ(http().Head(url_.c_str(), Tus(other))->status, 403);
  EXPECT_EQ(http().Delete(url_.c_str(), Tus(other))->status, 403);
  ExpectUnchanged();
}

TEST_F(TusTest, DeleteTerminatesTheUpload) {
  auto res = http().Delete(url_.c_str(), Tus(token_));
  EXPECT_EQ(res->status, 204);
  EXPECT_EQ(http().Head(url_.c_str(), Tus(token_))->status, 404);
  EXPECT_EQ(Patch(token_, url_, 5, "XX")->status, 404);
}

TEST_F(TusTest, ConcurrentPatchesToOneUploadAppendExactlyOnce) {
  // Both send the same chunk at offset 5: one is acknowledged, the other waits for the lock and
  // then finds the offset moved (409). The chunk is stored once.
  std::vector<std::thread> threads;
  std::atomic<int> ok{0}, conflict{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      httplib::Client c("127.0.0.1", port_);
      auto headers = Tus(token_);
      headers.emplace("Upload-Offset", "5");
      auto res = c.Patch(url_.c_str(), headers, std::string(4096, 'z'), kOctets);
      if (res && res->status == 204) ++ok;
      if (res && res->status == 409) ++conflict;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok, 1);
  EXPECT_EQ(conflict, 3);
  EXPECT_EQ(HeadOffset(token_, url_), 5 + 4096);
}

TEST_F(TusTest, RestartResumesAtTheSizeOnDisk) {
  // Bytes written but not yet indexed when the process died: the file size is the truth.
  fs::path file = OnlyRecordingFile();
  Stop();
  WriteFile(file, "hello, world");
  Start();
  EXPECT_EQ(HeadOffset(token_, url_), 12);
  EXPECT_EQ(Patch(token_, url_, 12, "!")->status, 204);
  EXPECT_EQ(ReadFile(file), "hello, world!");
}

TEST_F(TusTest, HealthzAndMetricsReportState) {
  auto health = http().Get("/healthz");
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(health->body, "ok\n");
  auto metrics = http().Get("/metrics");
  ASSERT_EQ(metrics->status, 200);
  for (const char* line : {"recorder_active_uploads 1", "recorder_bytes_received_total 5",
                           "recorder_chunk_ack_seconds_count 1", "recorder_http_responses_total{code=\"204\"}"}) {
    EXPECT_NE(metrics->body.find(line), std::string::npos) << line << " in\n" << metrics->body;
  }
}

TEST_F(TusTest, UnknownRouteIs404WithMessage) {
  auto res = http().Get("/nope");
  EXPECT_EQ(res->status, 404);
  EXPECT_EQ(ErrorCode(res), "not_found");
}

TEST_F(ServerTest, StaticPagesAreCrossOriginIsolatedWithMimeTypesAndNoTraversal) {
  fs::path web = dir_.path() / "web";
  fs::create_directories(web / "gen");
  WriteFile(web / "index.html", "<h1>hi</h1>");
  WriteFile(web / "app.mjs", "export {}");
  WriteFile(web / "gen" / "core.js", "var x;");
  WriteFile(web / "gen" / "core.wasm", std::string("\0asm", 4));
  WriteFile(dir_.path() / "secret.txt", "secret");
  config_.web_dir = web.string();
  Start();
  auto index = http().Get("/");
  ASSERT_EQ(index->status, 200);
  EXPECT_EQ(index->body, "<h1>hi</h1>");
  EXPECT_EQ(index->get_header_value("Cross-Origin-Opener-Policy"), "same-origin");
  EXPECT_EQ(index->get_header_value("Cross-Origin-Embedder-Policy"), "require-corp");
  EXPECT_EQ(index->get_header_value("Cross-Origin-Resource-Policy"), "same-origin");
  EXPECT_EQ(index->get_header_value("Content-Type"), "text/html");
  EXPECT_EQ(http().Get("/app.mjs")->get_header_value("Content-Type"), "text/javascript");
  EXPECT_EQ(http().Get("/gen/core.js")->get_header_value("Content-Type"), "text/javascript");
  EXPECT_EQ(http().Get("/gen/core.wasm")->get_header_value("Content-Type"), "application/wasm");
  for (const char* path : {"/../secret.txt", "/gen/../../secret.txt", "/%2e%2e/secret.txt"}) {
    auto res = http().Get(path);
    ASSERT_TRUE(res) << path;
    EXPECT_NE(res->body, "secret") << path;
    EXPECT_EQ(res->status, 404) << path;
  }
}

// Static files follow the same Range rules as recordings (respond.h SelectRange): cpp-httplib
// answered a Range on a static file with its own parser (a 206 past the end, 500 for invalid ones).
TEST_F(ServerTest, StaticFilesAnswerRangesClampedAndInvalidOnesWhole) {
  fs::path web = dir_.path() / "web";
  fs::create_directories(web / "gen");
  std::string wasm(64 << 10, '\0');
  for (size_t i = 0; i < wasm.size(); ++i) wasm[i] = static_cast<char>(i * 7);
  WriteFile(web / "gen" / "core.wasm", wasm);
  config_.web_dir = web.string();
  Start();
  const std::string size = std::to_string(wasm.size());
  auto get = [&](const std::string& range, bool head = false) {
    httplib::Headers headers = {{"Range", range}};
    auto res = head ? http().Head("/gen/core.wasm", headers) : http().Get("/gen/core.wasm", headers);
    EXPECT_TRUE(res) << range << ": " << (res ? "" : httplib::to_string(res.error()));
    return res;
  };

  auto clamped = get("bytes=65000-1048575");
  ASSERT_TRUE(clamped);
  EXPECT_EQ(clamped->status, 206);
  EXPECT_EQ(clamped->get_header_value("Content-Range"), "bytes 65000-65535/" + size);
  EXPECT_EQ(clamped->body, wasm.substr(65000));
  EXPECT_EQ(clamped->get_header_value("Content-Type"), "application/wasm");
  EXPECT_EQ(get("bytes=-16")->body, wasm.substr(wasm.size() - 16));

  for (const char* unsatisfiable : {"bytes=100000000000000000000-", "bytes=-0", "bytes=65536-"}) {
    auto res = get(unsatisfiable);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 416) << unsatisfiable;
    EXPECT_EQ(res->get_header_value("Content-Range"), "bytes */" + size) << unsatisfiable;
  }
  for (const char* whole : {"bytes=100-50", "items=0-5", "bytes=0-9,-10"}) {
    auto res = get(whole);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200) << whole;
    EXPECT_EQ(res->body, wasm) << whole;
  }
  std::string repeated = "bytes=0-";
  for (int i = 1; i < 1000; ++i) repeated += ",0-";
  EXPECT_EQ(get(repeated)->body.size(), wasm.size());

  for (const char* range : {"bytes=10-19", "bytes=-0", "bytes=100-50"}) {
    auto got = get(range), head = get(range, /*head=*/true);
    ASSERT_TRUE(got && head);
    EXPECT_EQ(head->status, got->status) << range;
    EXPECT_EQ(head->get_header_value("Content-Range"), got->get_header_value("Content-Range")) << range;
    EXPECT_EQ(head->get_header_value("Content-Length"), std::to_string(got->body.size())) << range;
  }

  // Anything else ignores Range: an error is sent whole.
  auto missing = http().Get("/nope.html", {{"Range", "bytes=0-3"}});
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(ErrorCode(missing), "not_found");
}

// Every page kind gets a CSP without inline script, cannot be framed (HR never; the candidate page
// only by origins named in --allowed-origins), and nothing is sniffed or sends a Referer.
TEST_F(ServerTest, PagesGetSecurityHeadersAndOnlyTheCandidatePageMayBeFramedByNamedHosts) {
  fs::path web = dir_.path() / "web";
  fs::create_directories(web / "hr");
  fs::create_directories(web / "recorder");
  for (const char* page : {"index.html", "interview.html", "hr/index.html"}) WriteFile(web / page, "<h1>hi</h1>");
  WriteFile(web / "recorder" / "index.js", "export {}");
  config_.web_dir = web.string();
  config_.allowed_origins = {"*"};
  Start();
  for (const char* path : {"/", "/interview.html", "/hr/"}) {
    auto res = http().Get(path);
    ASSERT_EQ(res->status, 200) << path;
    std::string csp = res->get_header_value("Content-Security-Policy");
    EXPECT_NE(csp.find("script-src 'self' 'wasm-unsafe-eval';"), std::string::npos) << path << ": " << csp;
    EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos) << path;
    EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos) << path << ": " << csp;
    EXPECT_EQ(res->get_header_value("X-Frame-Options"), "DENY") << path;
    EXPECT_EQ(res->get_header_value("X-Content-Type-Options"), "nosniff") << path;
    EXPECT_EQ(res->get_header_value("Referrer-Policy"), "no-referrer") << path;
  }
  auto script = http().Get("/recorder/index.js");
  EXPECT_EQ(script->get_header_value("X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(script->get_header_value("Referrer-Policy"), "no-referrer");
  EXPECT_EQ(http().Get("/api/v1/sessions")->get_header_value("X-Content-Type-Options"), "nosniff");
  Stop();

  config_.allowed_origins = {"https://host.example"};
  Start();
  auto candidate = http().Get("/interview.html");
  EXPECT_NE(candidate->get_header_value("Content-Security-Policy").find("frame-ancestors https://host.example"),
            std::string::npos);
  EXPECT_FALSE(candidate->has_header("X-Frame-Options"));
  auto hr = http().Get("/hr/");
  EXPECT_NE(hr->get_header_value("Content-Security-Policy").find("frame-ancestors 'none'"), std::string::npos);
  EXPECT_EQ(hr->get_header_value("X-Frame-Options"), "DENY");
}

// The pages the server ships work under that CSP: no inline script, style or event handler.
TEST(WebPagesTest, ShippedPagesHaveNoInlineScriptStyleOrHandlers) {
  const std::regex inline_script(R"(<script(?![^>]*\bsrc=)[^>]*>)", std::regex::icase);
  const std::regex handler(R"(<[^>]*\son[a-z]+\s*=)", std::regex::icase);
  const std::regex style(R"(<style\b|\sstyle\s*=)", std::regex::icase);
  int pages = 0;
  for (const auto& entry : fs::recursive_directory_iterator(fs::path(RECORDER_SOURCE_DIR) / "web")) {
    if (entry.path().extension() != ".html") continue;
    std::string html = ReadFile(entry.path());
    EXPECT_FALSE(std::regex_search(html, inline_script)) << entry.path();
    EXPECT_FALSE(std::regex_search(html, handler)) << entry.path();
    EXPECT_FALSE(std::regex_search(html, style)) << entry.path();
    ++pages;
  }
  EXPECT_GE(pages, 3);
}

TEST_F(ServerTest, RecorderModuleAndCoreMayBeLoadedByOtherOrigins) {
  fs::path web = dir_.path() / "web";
  fs::create_directories(web / "gen");
  fs::create_directories(web / "recorder");
  WriteFile(web / "interview.html", "<h1>hi</h1>");
  WriteFile(web / "recorder" / "index.js", "export {}");
  WriteFile(web / "gen" / "recorder-worker.js", "var x;");
  config_.web_dir = web.string();
  Start();
  httplib::Headers origin = {{"Origin", "https://host.example"}};
  for (const char* path : {"/recorder/index.js", "/gen/recorder-worker.js"}) {
    auto res = http().Get(path, origin);
    ASSERT_EQ(res->status, 200) << path;
    EXPECT_EQ(res->get_header_value("Cross-Origin-Resource-Policy"), "cross-origin") << path;
    EXPECT_EQ(res->get_header_value("Access-Control-Allow-Origin"), "https://host.example") << path;
  }
  EXPECT_EQ(http().Get("/interview.html")->get_header_value("Cross-Origin-Resource-Policy"), "same-origin");
}

}  // namespace
}  // namespace recorder::server::testing
