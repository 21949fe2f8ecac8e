// The real recorder-server with --media-store s3 against the fixture's S3 server: it refuses to
// start on a bucket it cannot use, and a recording uploaded over tus is finalized into the bucket
// (nothing left in the data folder) and decodes as the upload did.
#include <gtest/gtest.h>

#include <future>
#include <nlohmann/json.hpp>
#include <set>

#include "base/crypto.h"
#include "postgres_test_db.h"
#include "s3_test_env.h"
#include "server_process.h"
#include "storage/s3_media_store.h"

namespace recorder::server::testing {
namespace {

class S3ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    LOAD_S3_ENV_OR_SKIP(env_);
    UseEnv();
  }

  // The server's credentials go through the environment, as in production.
  void UseEnv() {
    setenv("AWS_ACCESS_KEY_ID", env_.at("AWS_ACCESS_KEY_ID").c_str(), 1);
    setenv("AWS_SECRET_ACCESS_KEY", env_.at("AWS_SECRET_ACCESS_KEY").c_str(), 1);
    setenv("AWS_REGION", env_.at("S3_REGION").c_str(), 1);
    prefix_ = "server-" + RandomHex(8) + "/";
  }

  std::vector<std::string> Flags() const {
    return {"--media-store",      "s3",          "--s3-endpoint", env_.at("S3_ENDPOINT"), "--s3-bucket",
            env_.at("S3_BUCKET"), "--s3-prefix", prefix_,         "--s3-path-style"};
  }

  // The server's flags: the fixture's bucket, no transcription, jobs polled often.
  std::vector<std::string> ServerArgs() const {
    std::vector<std::string> args = {"--api-key", "s3-key", "--transcriber", "none", "--job-poll-ms", "100"};
    for (const std::string& flag : Flags()) args.push_back(flag);
    return args;
  }

  // A new session with `media` uploaded whole (tus creation-with-upload, as a camera recording);
  // its id, or "" (and a failure) when the server refused either.
  static std::string UploadWhole(httplib::Client& http, const std::string& media) {
    auto session = http.Post("/api/v1/sessions", {{"Authorization", "Bearer s3-key"}},
                             nlohmann::json{{"candidate_name", "Jane Doe"}}.dump(), "application/json");
    EXPECT_TRUE(session && session->status == 201);
    if (!session || session->status != 201) return "";
    const std::string token = nlohmann::json::parse(session->body)["upload_token"];
    httplib::Headers headers = {{"Tus-Resumable", "1.0.0"},
                                {"Authorization", "Bearer " + token},
                                {"Upload-Length", std::to_string(media.size())},
                                {"Upload-Metadata", "kind Y2FtZXJh,filename eC53ZWJt"}};  // camera, x.webm
    auto created = http.Post("/files/", headers, media, "application/offset+octet-stream");
    EXPECT_TRUE(created && created->status == 201) << (created ? created->body : "no answer");
    if (!created || created->status != 201) return "";
    return nlohmann::json::parse(session->body)["session_id"];
  }

  // The bucket under this test's prefix, as the server sees it.
  Result<std::unique_ptr<S3MediaStore>> Store() const {
    S3Config config;
    config.endpoint = env_.at("S3_ENDPOINT");
    config.bucket = env_.at("S3_BUCKET");
    config.prefix = prefix_;
    config.path_style = true;
    FillS3ConfigFromEnvironment(&config);
    return S3MediaStore::Create(config);
  }

  // The whole object, or "" (and a failure).
  static std::string ReadObject(S3MediaStore& store, const std::string& key) {
    auto reader = store.Open(key);
    EXPECT_TRUE(reader.ok()) << reader.status().ToString();
    if (!reader.ok()) return "";
    std::string bytes((*reader)->size(), '\0');
    EXPECT_TRUE((*reader)->ReadAt(0, bytes.data(), bytes.size()).ok());
    return bytes;
  }

  // `stored` (a finalized recording) decodes to the frames the uploaded clip decodes to.
  void ExpectDecodesLikeTheSource(const std::string& stored) const {
    const fs::path copy = dir_.path() / "stored.webm";
    WriteFile(copy, stored);
    EXPECT_EQ(DecodedFrames(copy.string()), DecodedFrames(LiveWebm()));
  }

  std::map<std::string, std::string> env_;
  std::string prefix_;
  TempDir dir_;
};

TEST_F(S3ServerTest, RefusesToStartWhenTheCredentialsAreRejected) {
  std::string command = "AWS_SECRET_ACCESS_KEY=wrong " + std::string(RECORDER_SERVER_BIN) +
                        " --listen 127.0.0.1:0 --transcriber none --data " + dir_.path().string();
  for (const std::string& flag : Flags()) command += " '" + flag + "'";
  CommandResult r = RunCommand(command);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("cannot start: S3 bucket " + env_.at("S3_BUCKET")), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("the credentials were rejected"), std::string::npos) << r.output;
}

TEST_F(S3ServerTest, FinalizesAnUploadIntoTheBucketWhereHrPlaysAndDeletesIt) {
  const std::string media = ReadFile(LiveWebm());
  const fs::path data = dir_.path() / "data";
  const int port = FreePort();
  CommandResult admin = RunCommand("echo 'a long password' | " + std::string(RECORDER_SERVER_BIN) +
                                   " admin create --data " + data.string() + " --username boss --role admin");
  ASSERT_EQ(admin.exit_code, 0) << admin.output;
  ServerProcess server(data.string(), port, (dir_.path() / "server.log").string(), ServerArgs());
  server.Start();

  httplib::Client http("127.0.0.1", port);
  const std::string session_id = UploadWhole(http, media);
  ASSERT_FALSE(session_id.empty());

  std::string status;
  int64_t recording_id = 0;
  ASSERT_TRUE(WaitFor(
      [&] {
        auto res = http.Get("/api/v1/sessions/" + session_id, {{"Authorization", "Bearer s3-key"}});
        if (!res || res->status != 200) return false;
        const nlohmann::json recording = nlohmann::json::parse(res->body)["recordings"][0];
        status = recording["status"];
        recording_id = recording["id"];
        return status == "ready";
      },
      std::chrono::seconds(60)))
      << status << "\n"
      << ReadFile(dir_.path() / "server.log");

  // The object is in the bucket under the prefix; no recording stays in the data folder.
  auto store = Store();
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto listed = (*store)->List("");
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].key.rfind("Jane_Doe/interview_video_", 0), 0u) << (*listed)[0].key;
  for (const auto& e : fs::recursive_directory_iterator(data)) {
    EXPECT_NE(e.path().extension(), ".webm") << e.path();
    EXPECT_NE(e.path().extension(), ".part") << e.path();
  }
  const std::string stored = ReadObject(**store, (*listed)[0].key);
  ExpectDecodesLikeTheSource(stored);

  // HR plays it (a Range through the server: ranged GETs on the object) and downloads it.
  auto login =
      http.Post("/api/v1/hr/login", nlohmann::json{{"username", "boss"}, {"password", "a long password"}}.dump(),
                "application/json");
  ASSERT_TRUE(login && login->status == 200) << (login ? login->body : "no answer");
  const std::string set_cookie = login->get_header_value("Set-Cookie");
  const httplib::Headers hr = {{"Cookie", set_cookie.substr(0, set_cookie.find(';'))},
                               {"X-CSRF-Token", nlohmann::json::parse(login->body)["csrf_token"]}};
  const std::string media_url = "/api/v1/hr/recordings/" + std::to_string(recording_id);
  httplib::Headers ranged = hr;
  ranged.emplace("Range", "bytes=1000-50999");
  auto played = http.Get(media_url + "/media", ranged);
  ASSERT_TRUE(played && played->status == 206) << (played ? played->body : "no answer");
  EXPECT_TRUE(played->body == stored.substr(1000, 50000));
  auto downloaded = http.Get(media_url + "/download", hr);
  ASSERT_TRUE(downloaded && downloaded->status == 200);
  EXPECT_TRUE(downloaded->body == stored);

  // Deleting the session deletes the object.
  auto deleted = http.Delete("/api/v1/hr/sessions/" + session_id, hr);
  ASSERT_TRUE(deleted && deleted->status / 100 == 2) << (deleted ? deleted->body : "no answer");
  listed = (*store)->List("");
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE(listed->empty());
  server.Kill(SIGTERM);
}

TEST_F(S3ServerTest, AnOutageDelaysTheFinalizeWhichRetriesAndIsReadyOnlyOnceStored) {
  // An S3 server of its own, stopped and restarted with its data, ports and key.
  const std::string script = std::string(RECORDER_SOURCE_DIR) + "/tests/services/s3.sh";
  const std::string s3_dir = RECORDER_S3_OUTAGE_DIR;
  CommandResult started = RunCommand(script + " start " + s3_dir);
  ASSERT_EQ(started.exit_code, 0) << started.output;
  env_ = ReadEnvFile(s3_dir + "/env");
  UseEnv();

  const std::string media = ReadFile(LiveWebm());
  const fs::path data = dir_.path() / "data";
  const int port = FreePort();
  ServerProcess server(data.string(), port, (dir_.path() / "server.log").string(), ServerArgs());
  server.Start();
  CommandResult stopped = RunCommand(script + " stop " + s3_dir);
  ASSERT_EQ(stopped.exit_code, 0) << stopped.output;

  httplib::Client http("127.0.0.1", port);
  const std::string session_id = UploadWhole(http, media);
  ASSERT_FALSE(session_id.empty());
  nlohmann::json recording;
  auto poll = [&] {
    auto res = http.Get("/api/v1/sessions/" + session_id, {{"Authorization", "Bearer s3-key"}});
    if (res && res->status == 200) recording = nlohmann::json::parse(res->body)["recordings"][0];
  };

  // While S3 is down the finalize fails and is retried; the recording is never ready meanwhile.
  ASSERT_TRUE(WaitFor(
      [&] {
        poll();
        EXPECT_NE(recording.value("status", ""), "ready") << recording.dump();
        const nlohmann::json& stages = recording["pipeline"]["stages"];
        return stages.is_array() && !stages.empty() && stages[0]["attempts"].get<int>() >= 2;
      },
      std::chrono::seconds(30)))
      << recording.dump() << "\n"
      << ReadFile(dir_.path() / "server.log");
  EXPECT_NE(recording["pipeline"]["stages"][0]["status"], "failed") << recording.dump();
  EXPECT_NE(recording["pipeline"]["stages"][0]["last_error"].get<std::string>().find("S3"), std::string::npos)
      << recording.dump();

  CommandResult restarted = RunCommand(script + " restart " + s3_dir);
  ASSERT_EQ(restarted.exit_code, 0) << restarted.output;
  ASSERT_TRUE(WaitFor(
      [&] {
        poll();
        return recording.value("status", "") == "ready";
      },
      std::chrono::seconds(90)))
      << recording.dump() << "\n"
      << ReadFile(dir_.path() / "server.log");

  auto store = Store();
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto listed = (*store)->List("");
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].size, recording["bytes"].get<uint64_t>());
  server.Kill(SIGTERM);
  EXPECT_EQ(RunCommand(script + " stop " + s3_dir).exit_code, 0);
}

// Two servers share the index (PostgreSQL) and the bucket, as behind a load balancer: one
// upload's PATCHes alternate between them, the same PATCH sent to both at once is taken once, and
// after one server is killed (SIGKILL) the other takes the rest and finalizes a recording that
// holds every acknowledged byte, decoding like the source.
TEST_F(S3ServerTest, TwoServersShareAnUploadAndOneKilledLosesNoAcknowledgedByte) {
  const std::string index = NewPostgresTestSchema();
  ASSERT_FALSE(index.empty());
  const std::string media = ReadFile(LiveWebm());
  std::vector<std::string> args = ServerArgs();
  args.insert(args.end(), {"--index", index});
  const int port_a = FreePort();
  const int port_b = FreePort();
  CommandResult admin =
      RunCommand("echo 'a long password' | " + std::string(RECORDER_SERVER_BIN) + " admin create --data " +
                 (dir_.path() / "a").string() + " --index '" + index + "' --username boss --role admin");
  ASSERT_EQ(admin.exit_code, 0) << admin.output;
  ServerProcess a((dir_.path() / "a").string(), port_a, (dir_.path() / "a.log").string(), args);
  ServerProcess b((dir_.path() / "b").string(), port_b, (dir_.path() / "b.log").string(), args);
  a.Start();
  b.Start();
  httplib::Client http_a("127.0.0.1", port_a);
  httplib::Client http_b("127.0.0.1", port_b);
  const auto logs = [&] { return ReadFile(dir_.path() / "a.log") + ReadFile(dir_.path() / "b.log"); };

  auto session = http_a.Post("/api/v1/sessions", {{"Authorization", "Bearer s3-key"}},
                             nlohmann::json{{"candidate_name", "Jane Doe"}}.dump(), "application/json");
  ASSERT_TRUE(session && session->status == 201);
  const std::string token = nlohmann::json::parse(session->body)["upload_token"];
  const std::string session_id = nlohmann::json::parse(session->body)["session_id"];
  const httplib::Headers tus = {{"Tus-Resumable", "1.0.0"}, {"Authorization", "Bearer " + token}};
  httplib::Headers create = tus;
  create.emplace("Upload-Length", std::to_string(media.size()));
  create.emplace("Upload-Metadata", "kind Y2FtZXJh");
  auto created = http_b.Post("/files/", create, "", "application/offset+octet-stream");
  ASSERT_TRUE(created && created->status == 201) << (created ? created->body : "no answer");
  const std::string url =
      created->get_header_value("Location").substr(created->get_header_value("Location").find("/files/"));

  const size_t chunk = media.size() / 12 + 1;
  size_t offset = 0;
  auto patch = [&](httplib::Client& http, size_t at) {
    httplib::Headers headers = tus;
    headers.emplace("Upload-Offset", std::to_string(at));
    return http.Patch(url, headers, media.substr(at, chunk), "application/offset+octet-stream");
  };
  // Chunks 0-3 alternate between the servers.
  for (int i = 0; i < 4; ++i, offset += chunk) {
    auto res = patch(i % 2 ? http_b : http_a, offset);
    ASSERT_TRUE(res && res->status == 204) << i << ": " << (res ? res->body : "no answer") << logs();
    EXPECT_EQ(res->get_header_value("Upload-Offset"), std::to_string(offset + chunk));
  }
  // Chunk 4 sent to both at once (a retry racing the first try): one takes it, the other answers
  // 409 and the client would ask HEAD.
  {
    auto other = std::async(std::launch::async, [&] { return patch(http_b, offset); });
    httplib::Result first = patch(http_a, offset);
    httplib::Result second = other.get();
    ASSERT_TRUE(first && second);
    std::multiset<int> statuses = {first->status, second->status};
    EXPECT_EQ(statuses, (std::multiset<int>{204, 409})) << first->body << second->body;
    offset += chunk;
  }
  // Chunk 5 on server A, then A dies without a word.
  auto last_on_a = patch(http_a, offset);
  ASSERT_TRUE(last_on_a && last_on_a->status == 204);
  offset += chunk;
  // HR watches it live on B, which took only some of the chunks: the live view reads the chunk
  // objects where they are, whichever server stored them (this source has one keyframe, at the
  // start, so the view is everything acknowledged so far).
  {
    auto login =
        http_b.Post("/api/v1/hr/login", nlohmann::json{{"username", "boss"}, {"password", "a long password"}}.dump(),
                    "application/json");
    ASSERT_TRUE(login && login->status == 200) << (login ? login->body : "no answer");
    const std::string cookie =
        login->get_header_value("Set-Cookie").substr(0, login->get_header_value("Set-Cookie").find(';'));
    auto described = http_b.Get("/api/v1/sessions/" + session_id, {{"Authorization", "Bearer s3-key"}});
    ASSERT_TRUE(described && described->status == 200);
    const int64_t recording_id = nlohmann::json::parse(described->body)["recordings"][0]["id"];
    std::string watched;
    http_b.Get("/api/v1/hr/recordings/" + std::to_string(recording_id) + "/live", {{"Cookie", cookie}},
               [&](const char* data, size_t n) {
                 watched.append(data, n);
                 return watched.size() < offset;  // everything acknowledged so far, then hang up
               });
    EXPECT_EQ(watched.size(), offset);
    EXPECT_TRUE(watched == media.substr(0, offset)) << "the live view is the acknowledged bytes, in order";
  }
  a.Kill(SIGKILL);
  auto store = Store();
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  // As if A had died between storing its next chunk and recording it: an object no record names,
  // at the offset B takes next. It must not become part of the recording, and must go with it.
  auto chunks = (*store)->List(".spool/");
  ASSERT_TRUE(chunks.ok() && !chunks->empty()) << "the acknowledged chunks are objects";
  EXPECT_EQ(chunks->size(), 6u) << "one per acknowledged PATCH; the refused duplicate was deleted";
  const std::string& named = chunks->front().key;
  const std::string orphan = named.substr(0, named.rfind('/') + 1) +
                             std::string(20 - std::to_string(offset).size(), '0') + std::to_string(offset) +
                             "-deadbeefdeadbeef";
  ASSERT_TRUE((*store)->PutBytes(orphan, std::string(chunk, 'x')).ok());

  // B knows where the upload is, and takes the rest.
  auto head = http_b.Head(url, tus);
  ASSERT_TRUE(head && head->status == 200);
  EXPECT_EQ(head->get_header_value("Upload-Offset"), std::to_string(offset));
  for (; offset < media.size(); offset += chunk) {
    auto res = patch(http_b, offset);
    ASSERT_TRUE(res && res->status == 204) << offset << ": " << (res ? res->body : "no answer") << logs();
  }

  nlohmann::json recording;
  ASSERT_TRUE(WaitFor(
      [&] {
        auto res = http_b.Get("/api/v1/sessions/" + session_id, {{"Authorization", "Bearer s3-key"}});
        if (res && res->status == 200) recording = nlohmann::json::parse(res->body)["recordings"][0];
        // Ready, and the finalize job done (it removes the chunks after marking the recording ready).
        const nlohmann::json& stages = recording["pipeline"]["stages"];
        return recording.value("status", "") == "ready" && stages.is_array() && !stages.empty() &&
               stages[0].value("status", "") == "completed";
      },
      std::chrono::seconds(60)))
      << recording.dump() << "\n"
      << logs();

  // The bucket holds the finalized recording, which decodes like the source, and no chunk.
  auto listed = (*store)->List("");
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  ASSERT_EQ(listed->size(), 1u) << (*listed)[0].key;
  EXPECT_EQ((*listed)[0].key.rfind("Jane_Doe/interview_video_", 0), 0u) << (*listed)[0].key;
  EXPECT_EQ((*listed)[0].size, recording["bytes"].get<uint64_t>());
  const std::string stored = ReadObject(**store, (*listed)[0].key);
  ExpectDecodesLikeTheSource(stored);
  for (const char* node : {"a", "b"}) {
    for (const auto& e : fs::recursive_directory_iterator(dir_.path() / node)) {
      EXPECT_NE(e.path().extension(), ".part") << e.path();
    }
  }
  b.Kill(SIGTERM);
}

}  // namespace
}  // namespace recorder::server::testing
