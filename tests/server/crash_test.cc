// Crash safety with the real binary: 50 concurrent uploads, kill -9 mid-flight, restart, clients
// resume from HEAD. Every acknowledged byte must survive, and every final file must decode fully.
#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "server_process.h"

namespace recorder::server::testing {
namespace {

TEST(CrashTest, KilledServerRestartsAndEveryAcknowledgedByteIsInTheFinalFiles) {
  constexpr int kUploads = 50;
  const std::string media = ReadFile(LiveWebm());
  ASSERT_GT(media.size(), 10000u);
  TempDir dir;
  fs::path data = dir.path() / "data";
  int port = FreePort();
  ServerProcess server(data.string(), port, (dir.path() / "server.log").string(),
                       {"--api-key", "crash-key", "--threads", "128", "--job-poll-ms", "100"});
  server.Start();

  std::atomic<int> interrupted{0}, finished{0}, clients_acked_before_kill{0};
  std::atomic<bool> killed{false};
  std::vector<std::string> failures(kUploads);
  std::vector<std::thread> clients;
  for (int i = 0; i < kUploads; ++i) {
    clients.emplace_back([&, i] {
      auto fail = [&](const std::string& why) { failures[i] = "client " + std::to_string(i) + ": " + why; };
      httplib::Client http("127.0.0.1", port);
      http.set_connection_timeout(5);
      http.set_read_timeout(20);
      std::string name = "Candidate " + std::to_string(i);
      auto session = http.Post("/api/v1/sessions", {{"Authorization", "Bearer crash-key"}},
                               nlohmann::json{{"candidate_name", name}}.dump(), "application/json");
      if (!session || session->status != 201) return fail("no session");
      std::string token = nlohmann::json::parse(session->body)["upload_token"];
      httplib::Headers tus = {{"Tus-Resumable", "1.0.0"}, {"Authorization", "Bearer " + token}};
      auto create_headers = tus;
      create_headers.emplace("Upload-Defer-Length", "1");
      auto created = http.Post("/files/", create_headers, "", "application/offset+octet-stream");
      if (!created || created->status != 201) return fail("no upload");
      std::string url = created->get_header_value("Location");

      const size_t chunk = media.size() / 5 + 1;  // ~1 s of media
      uint64_t offset = 0, acked = 0;
      while (offset < media.size()) {
        std::string body = media.substr(offset, chunk);
        auto headers = tus;
        headers.emplace("Upload-Offset", std::to_string(offset));
        if (offset + body.size() == media.size()) headers.emplace("Upload-Length", std::to_string(media.size()));
        auto res = http.Patch(url.c_str(), headers, body, "application/offset+octet-stream");
        if (res && res->status == 204) {
          if (acked == 0 && !killed) ++clients_acked_before_kill;
          offset = acked = std::stoull(res->get_header_value("Upload-Offset"));
          std::this_thread::sleep_for(std::chrono::milliseconds(150));
          continue;
        }
        if (res) return fail("PATCH answered " + std::to_string(res->status) + ": " + res->body);
        // The server is gone: resume from HEAD once it is back.
        ++interrupted;
        std::optional<uint64_t> head_offset;
        WaitFor(
            [&] {
              auto head = http.Head(url.c_str(), tus);
              if (head && head->status == 200) head_offset = std::stoull(head->get_header_value("Upload-Offset"));
              return head_offset.has_value();
            },
            std::chrono::seconds(30));
        if (!head_offset) return fail("no HEAD after restart");
        uint64_t durable = *head_offset;
        if (durable < acked)
          return fail("acknowledged " + std::to_string(acked) + " but resumes at " + std::to_string(durable));
        // The spool file holds the received bytes. An upload whose last bytes were durable before
        // the kill is complete: the restart finalizes it (a scratch file, the final file, then
        // the spool file goes), and the decode check below covers it.
        if (durable < media.size()) {
          std::optional<std::string> spooled;
          for (const auto& f : fs::directory_iterator(data / ("Candidate_" + std::to_string(i)))) {
            if (f.path().extension() == ".part") spooled = ReadFile(f.path());
          }
          if (!spooled) return fail("no spool file for an incomplete upload");
          if (*spooled != media.substr(0, durable)) return fail("bytes on disk differ from what was sent");
        }
        offset = durable;
      }
      ++finished;
    });
  }
  // Kill while the uploads are mid-flight, then restart on the same port and data.
  // Every client has at least one acknowledged chunk and none has finished.
  EXPECT_TRUE(WaitFor([&] { return clients_acked_before_kill == kUploads; }, std::chrono::seconds(30)))
      << clients_acked_before_kill << " clients had an acknowledgement";
  auto t0 = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  killed = true;
  server.Kill(SIGKILL);
  // Stay down longer than a client's pause between chunks, so clients meet the dead server (a
  // quick restart would let the client's reconnect hide the kill).
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  server.Start();
  std::cerr << "restarted after " << elapsed() << " s\n";
  for (auto& c : clients) c.join();
  std::cerr << "clients done after " << elapsed() << " s\n";
  for (const auto& f : failures) EXPECT_EQ(f, "");
  if (HasFailure()) std::cerr << "server log:\n" << ReadFile(dir.path() / "server.log");
  ASSERT_EQ(finished, kUploads);
  EXPECT_GT(interrupted, 0) << "the kill should have cut some uploads";

  auto final_files = [&] {
    std::vector<fs::path> files;
    for (const auto& e : fs::recursive_directory_iterator(data)) {
      if (e.path().extension() == ".webm") files.push_back(e.path());
    }
    return files;
  };
  auto parts = [&] {
    int n = 0;
    for (const auto& e : fs::recursive_directory_iterator(data)) n += e.path().extension() == ".part";
    return n;
  };
  ASSERT_TRUE(WaitFor([&] { return final_files().size() == kUploads && parts() == 0; }, std::chrono::seconds(120)))
      << final_files().size() << " final files, " << parts() << " parts; server log:\n"
      << ReadFile(dir.path() / "server.log");
  std::cerr << "finalized after " << elapsed() << " s\n";
  // Decode every final file completely (no ffmpeg errors, every frame of the input), two at a time.
  const std::string expected_frames = DecodedFrames(LiveWebm());
  ASSERT_NE(expected_frames.find("stream 1"), std::string::npos) << expected_frames;
  const std::vector<fs::path> files = final_files();
  std::vector<std::string> problems(files.size());
  std::atomic<size_t> next{0};
  auto check = [&] {
    for (size_t k; (k = next++) < files.size();) {
      std::string frames = DecodedFrames(files[k].string());
      if (frames != expected_frames) problems[k] = files[k].string() + ": " + frames;
    }
  };
  std::thread helper(check);
  check();
  helper.join();
  std::cerr << "checked after " << elapsed() << " s\n";
  for (const auto& p : problems) EXPECT_EQ(p, "");
  server.Kill(SIGTERM);
  std::string log = ReadFile(dir.path() / "server.log");
  EXPECT_EQ(log.find("Sanitizer"), std::string::npos) << log;
  EXPECT_EQ(log.find("runtime error"), std::string::npos) << log;
}

}  // namespace
}  // namespace recorder::server::testing
