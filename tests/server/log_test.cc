// The real binary's log under hostile input: text from a request (its path, which cpp-httplib
// percent-decodes, a login name, a candidate name, upload metadata) is escaped (base/printable.h),
// so no request adds a line of its own or sends terminal escapes.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "ingest/tus_protocol.h"
#include "server_process.h"

namespace recorder::server::testing {
namespace {

using nlohmann::json;

// CR, LF and a terminal escape, then what a forged line would say.
constexpr const char* kForgedEncoded = "%0d%0a%5b2026-01-01%2000%3a00%3a00.000%5d%20%5binfo%5d%20FORGED%1b%5b2J";
const std::string kForged = "\r\n[2026-01-01 00:00:00.000] [info] FORGED\x1b[2J";

TEST(LogTest, NoRequestCanAddALineToTheLog) {
  TempDir dir;
  int port = FreePort();
  const std::string log = (dir.path() / "server.log").string();
  ServerProcess server((dir.path() / "data").string(), port, log,
                       {"--log-level", "debug", "--api-key", "test-api-key", "--web", "", "--max-request-bytes", "1000",
                        "--max-json-bytes", "1000"});
  server.Start();
  httplib::Client http("127.0.0.1", port);
  const httplib::Headers api = {{"Authorization", "Bearer test-api-key"}};
  const std::string forged = kForgedEncoded;

  // Paths, logged with a refused credential, an over-long body and a wrong API key.
  EXPECT_EQ(http.Patch(("/files/x" + forged).c_str(), {{"Tus-Resumable", "1.0.0"}, {"Authorization", "Bearer nope"}},
                       "x", tus::kOffsetContentType)
                ->status,
            401);
  EXPECT_EQ(http.Get(("/api/v1/sessions/x" + forged).c_str(), {{"Authorization", "Bearer wrong"}})->status, 401);
  EXPECT_EQ(http.Post(("/api/v1/hr/login" + forged).c_str(), std::string(2000, 'x'), "application/json")->status, 413);
  // A login name, a candidate name and upload metadata.
  EXPECT_EQ(
      http.Post("/api/v1/hr/login", json{{"username", "eve" + kForged}, {"password", "x"}}.dump(), "application/json")
          ->status,
      401);
  auto session =
      http.Post("/api/v1/sessions", api, json{{"candidate_name", "Jane" + kForged}}.dump(), "application/json");
  ASSERT_EQ(session->status, 201);
  std::string token = json::parse(session->body)["upload_token"];
  auto upload = http.Post("/files/",
                          {{"Tus-Resumable", "1.0.0"},
                           {"Authorization", "Bearer " + token},
                           {"Upload-Defer-Length", "1"},
                           {"Upload-Metadata", "kind " + tus::Base64Encode("camera") + ",filename " +
                                                   tus::Base64Encode("a" + kForged + ".webm")}},
                          "", tus::kOffsetContentType);
  ASSERT_EQ(upload->status, 201);
  server.Kill(SIGTERM);

  std::string text = ReadFile(log);
  EXPECT_NE(text.find("\\x0d\\x0a[2026-01-01 00:00:00.000] [info] FORGED\\x1b[2J"), std::string::npos) << text;
  EXPECT_EQ(text.find('\x1b'), std::string::npos) << "a terminal escape reached the log";
  std::istringstream lines(text);
  int count = 0;
  for (std::string line; std::getline(lines, line); ++count) {
    EXPECT_EQ(line.rfind("[20", 0), 0u) << "a line not written by spdlog: " << line;
    EXPECT_EQ(line.find('\r'), std::string::npos) << line;
  }
  EXPECT_GE(count, 8) << text;
}

}  // namespace
}  // namespace recorder::server::testing
