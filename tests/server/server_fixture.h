// An App on an ephemeral port in a thread, with a temp data folder, a manual clock and a
// client with an API session; the in-process tests build on it.
#pragma once

#include <httplib.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "app/app.h"
#include "ingest/names.h"
#include "ingest/tus_protocol.h"
#include "postgres_test_db.h"
#include "test_util.h"

namespace recorder::server::testing {

// Copies the live bytes as the "finalized" ones; input starting with "BROKEN" is Corrupt.
class CopyFinalizer : public Finalizer {
 public:
  Result<webm::FinalizeInfo> Finalize(RandomAccessReader& live, SeekableWriter& out) override {
    std::string data(live.size(), '\0');
    RETURN_IF_ERROR(live.ReadAt(0, data.data(), data.size()));
    if (data.rfind("BROKEN", 0) == 0) return Corrupt("no EBML header");
    RETURN_IF_ERROR(out.Write(data.data(), data.size()));
    webm::FinalizeInfo info;
    info.duration_ms = 1000;
    return info;
  }
  Status Verify(RandomAccessReader&, const webm::FinalizeInfo&) override { return Status::Ok(); }
};

constexpr int64_t kStartTime = 1767268800;  // 2026-01-01 12:00:00 UTC

class ServerTest : public ::testing::Test {
 protected:
  // Tests adjust config_ (or pass a finalizer) and call Start(); most use the defaults via SetUp.
  void SetUp() override {
    clock_ = std::make_shared<ManualClock>(kStartTime);
    config_.port = 0;
    config_.data_dir = (dir_.path() / "data").string();
    config_.api_key = "test-api-key";
    config_.threads = 8;
    config_.job_poll_ms = 50;
    config_.clock = clock_;
    config_.ingest.upload_expiry_seconds = 3600;
    config_.ingest.max_upload_size = 1 << 20;
    config_.max_request_bytes = 256 << 10;
    config_.transcriber = "none";  // the bytes most tests upload are not speech; transcribe_test.cc turns it on
    if (UsePostgresIndex()) config_.index_url = NewPostgresTestSchema();
  }
  void TearDown() override { Stop(); }

  void Start(std::unique_ptr<Finalizer> finalizer = std::make_unique<CopyFinalizer>()) {
    auto app = App::Open(config_, std::move(finalizer));
    ASSERT_TRUE(app.ok()) << app.status().ToString();
    app_ = std::move(app.value());
    auto port = app_->Bind();
    ASSERT_TRUE(port.ok()) << port.status().ToString();
    port_ = *port;
    thread_ = std::thread([this] { app_->Listen(); });
    ASSERT_TRUE(WaitFor([&] { return app_->IsRunning(); }, std::chrono::seconds(5)));
    client_ = std::make_unique<httplib::Client>("127.0.0.1", port_);
    client_->set_keep_alive(true);
  }

  void Stop() {
    if (!app_) return;
    client_.reset();  // closes the keep-alive connection, so the pool need not wait it out
    app_->Stop();
    if (thread_.joinable()) thread_.join();
    app_.reset();
  }

  httplib::Client& http() { return *client_; }

  // Creates a session and returns its upload token.
  std::string NewSession(const std::string& name = "Jane Doe", const std::string& email = "") {
    nlohmann::json body = {{"candidate_name", name}};
    if (!email.empty()) body["candidate_email"] = email;
    auto res =
        http().Post("/api/v1/sessions", {{"Authorization", "Bearer test-api-key"}}, body.dump(), "application/json");
    EXPECT_TRUE(res && res->status == 201) << (res ? res->body : "no response");
    return res ? nlohmann::json::parse(res->body)["upload_token"].get<std::string>() : "";
  }

  httplib::Headers Tus(const std::string& token) {
    return {{"Tus-Resumable", "1.0.0"}, {"Authorization", "Bearer " + token}};
  }

  // Creates an upload (deferred length unless given) and returns its URL path. `metadata`: more
  // Upload-Metadata pairs (e.g. part, start_ms), unencoded.
  std::string NewUpload(const std::string& token, std::optional<uint64_t> length = std::nullopt,
                        const std::string& kind = "camera", const std::map<std::string, std::string>& metadata = {}) {
    auto headers = Tus(token);
    if (length) {
      headers.emplace("Upload-Length", std::to_string(*length));
    } else {
      headers.emplace("Upload-Defer-Length", "1");
    }
    std::string pairs = "kind " + tus::Base64Encode(kind) + ",filename " + tus::Base64Encode("x.webm");
    for (const auto& [key, value] : metadata) pairs += "," + key + " " + tus::Base64Encode(value);
    headers.emplace("Upload-Metadata", pairs);
    auto res = http().Post("/files/", headers, "", "application/offset+octet-stream");
    EXPECT_TRUE(res && res->status == 201) << (res ? res->body : "no response");
    return res ? res->get_header_value("Location") : "";
  }

  httplib::Result Patch(const std::string& token, const std::string& url, uint64_t offset, const std::string& body,
                        httplib::Headers extra = {}) {
    auto headers = Tus(token);
    headers.emplace("Upload-Offset", std::to_string(offset));
    headers.insert(extra.begin(), extra.end());
    return http().Patch(url.c_str(), headers, body, "application/offset+octet-stream");
  }

  // Upload-Offset from HEAD, or -1.
  int64_t HeadOffset(const std::string& token, const std::string& url) {
    auto res = http().Head(url.c_str(), Tus(token));
    if (!res || res->status != 200) return -1;
    return std::stoll(res->get_header_value("Upload-Offset"));
  }

  // The one recording file (final or .part) in the data folder's candidate folders.
  fs::path OnlyRecordingFile() {
    fs::path found;
    for (const auto& entry : fs::recursive_directory_iterator(config_.data_dir)) {
      std::string rel = fs::relative(entry.path(), config_.data_dir).string();
      if (entry.is_regular_file() && rel.find("interview_") != std::string::npos) {
        EXPECT_TRUE(found.empty()) << "more than one recording: " << found << " and " << entry.path();
        found = entry.path();
      }
    }
    return found;
  }

  TempDir dir_;
  Config config_;
  std::shared_ptr<ManualClock> clock_;
  std::unique_ptr<App> app_;
  std::thread thread_;
  int port_ = 0;
  std::unique_ptr<httplib::Client> client_;
};

}  // namespace recorder::server::testing
