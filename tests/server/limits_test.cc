// Request limits with the real binary, attacked over raw sockets: hostile headers and bodies are
// refused before they are held (peak RSS from /proc stays within a stated bound), slow clients
// cannot keep /healthz from answering, connections per address and per-session quotas hold.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "server_process.h"

namespace recorder::server::testing {
namespace {

using Clock = std::chrono::steady_clock;

// What hostile input may add to the server's peak RSS. Today's main held 140 MB for a 128 MiB
// chunked body and 240 MB for a million headers.
constexpr long kRssBoundKb = 16 * 1024;

long ProcStatusKb(pid_t pid, const std::string& field) {
  std::istringstream status(ReadFile("/proc/" + std::to_string(pid) + "/status"));
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
  }
  return -1;
}

// A blocking loopback connection; sends and receives give up after `timeout_s`.
int Connect(int port, int timeout_s = 5) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  timeval tv{timeout_s, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

bool SendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// Everything the server sends until it closes (or the receive timeout).
std::string ReadAll(int fd) {
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = recv(fd, buf, sizeof buf, 0)) > 0) out.append(buf, static_cast<size_t>(n));
  return out;
}

class LimitsTest : public ::testing::Test {
 protected:
  void Start(std::vector<std::string> args) {
    args.insert(args.end(), {"--api-key", "limits-key", "--log-level", "warn"});
    server_ = std::make_unique<ServerProcess>((dir_.path() / "data").string(), port_,
                                              (dir_.path() / "server.log").string(), args);
    server_->Start();
    hwm_before_ = ProcStatusKb(server_->pid(), "VmHWM");
  }
  long PeakGrowthKb() { return ProcStatusKb(server_->pid(), "VmHWM") - hwm_before_; }

  // Sends `head`, then `body_piece` over and over up to `total` bytes (chunked: as chunks) and the
  // end of the body, stopping when the server stops taking it. Returns the response and the bytes
  // sent in `sent`.
  std::string SendBody(const std::string& head, size_t total, bool chunked, size_t* sent) {
    int fd = Connect(port_);
    EXPECT_GE(fd, 0);
    *sent = 0;
    bool open = SendAll(fd, head);
    const std::string piece(64 << 10, 'x');
    char size_line[32];
    snprintf(size_line, sizeof size_line, "%zx\r\n", piece.size());
    while (open && *sent < total) {
      open = chunked ? SendAll(fd, size_line) && SendAll(fd, piece) && SendAll(fd, "\r\n") : SendAll(fd, piece);
      if (open) *sent += piece.size();
    }
    if (open && chunked) SendAll(fd, "0\r\n\r\n");
    if (open && !chunked) shutdown(fd, SHUT_WR);  // the end of a body without a length
    std::string response = ReadAll(fd);
    close(fd);
    return response;
  }

  httplib::Headers Tus(const std::string& token) {
    return {{"Tus-Resumable", "1.0.0"}, {"Authorization", "Bearer " + token}};
  }
  std::string NewSessionToken(httplib::Client& http) {
    auto res = http.Post("/api/v1/sessions", {{"Authorization", "Bearer limits-key"}},
                         R"({"candidate_name":"Jane Doe"})", "application/json");
    EXPECT_TRUE(res && res->status == 201) << (res ? res->body : "no answer");
    return res && res->status == 201 ? nlohmann::json::parse(res->body)["upload_token"].get<std::string>() : "";
  }

  TempDir dir_;
  int port_ = FreePort();
  std::unique_ptr<ServerProcess> server_;
  long hwm_before_ = 0;
};

TEST_F(LimitsTest, AMillionHeadersAreAnswered431AndNotHeld) {
  Start({});
  int fd = Connect(port_);
  ASSERT_GE(fd, 0);
  bool open = SendAll(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\n");
  std::string lines;
  for (int i = 0; i < 10000; ++i) lines += "X-Header-" + std::to_string(i) + ": value\r\n";
  int sent = 0;
  while (open && sent < 1000000) {
    open = SendAll(fd, lines);
    if (open) sent += 10000;
  }
  if (open) SendAll(fd, "\r\n");
  std::string response = ReadAll(fd);
  close(fd);
  EXPECT_EQ(response.rfind("HTTP/1.1 431", 0), 0u) << response.substr(0, 200);
  EXPECT_NE(response.find("headers_too_large"), std::string::npos) << response.substr(0, 400);
  EXPECT_LT(sent, 1000000) << "the server read every header line";
  EXPECT_LT(PeakGrowthKb(), kRssBoundKb);
}

TEST_F(LimitsTest, AHeaderLineOf64MiBIsAnswered431AndNotHeld) {
  Start({});
  size_t sent = 0;
  std::string response = SendBody("GET /healthz HTTP/1.1\r\nX-Big: ", size_t{64} << 20, false, &sent);
  EXPECT_EQ(response.rfind("HTTP/1.1 431", 0), 0u) << response.substr(0, 200);
  EXPECT_LT(sent, size_t{32} << 20) << "the server read the whole line";
  EXPECT_LT(PeakGrowthKb(), kRssBoundKb);
}

TEST_F(LimitsTest, ChunkedBodyToTheLoginIsRefusedAtTheJsonLimitWithoutReadingTheRest) {
  Start({});
  size_t sent = 0;
  std::string response = SendBody(
      "POST /api/v1/hr/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Transfer-Encoding: chunked\r\n\r\n",
      size_t{128} << 20, true, &sent);
  EXPECT_EQ(response.rfind("HTTP/1.1 413", 0), 0u) << response.substr(0, 200);
  EXPECT_NE(response.find("request_too_large"), std::string::npos) << response.substr(0, 400);
  EXPECT_LT(sent, size_t{64} << 20) << "the server read the whole body";
  EXPECT_LT(PeakGrowthKb(), kRssBoundKb);
}

TEST_F(LimitsTest, BodyWithoutLengthIsRefusedAtTheJsonLimit) {
  Start({});
  size_t sent = 0;
  std::string response = SendBody(
      "POST /api/v1/sessions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer limits-key\r\n"
      "Content-Type: application/json\r\n\r\n",
      size_t{64} << 20, false, &sent);
  EXPECT_EQ(response.rfind("HTTP/1.1 413", 0), 0u) << response.substr(0, 200);
  EXPECT_LT(sent, size_t{48} << 20) << "the server read the whole body";
  EXPECT_LT(PeakGrowthKb(), kRssBoundKb);
}

TEST_F(LimitsTest, ChunkedPatchIsRefusedAtTheRequestLimitAndStoresNothing) {
  Start({"--max-request-bytes", "1048576"});
  httplib::Client http("127.0.0.1", port_);
  std::string token = NewSessionToken(http);
  auto create = Tus(token);
  create.emplace("Upload-Defer-Length", "1");
  auto created = http.Post("/files/", create, "", "application/offset+octet-stream");
  ASSERT_TRUE(created && created->status == 201);
  std::string url = created->get_header_value("Location");
  ASSERT_EQ(url.rfind("/files/", 0), 0u) << url;

  size_t sent = 0;
  std::string response =
      SendBody("PATCH " + url + " HTTP/1.1\r\nHost: x\r\nTus-Resumable: 1.0.0\r\nAuthorization: Bearer " + token +
                   "\r\nUpload-Offset: 0\r\nContent-Type: application/offset+octet-stream\r\n"
                   "Transfer-Encoding: chunked\r\n\r\n",
               size_t{128} << 20, true, &sent);
  EXPECT_EQ(response.rfind("HTTP/1.1 413", 0), 0u) << response.substr(0, 200);
  EXPECT_LT(sent, size_t{64} << 20) << "the server read the whole body";
  EXPECT_LT(PeakGrowthKb(), kRssBoundKb);
  auto head = http.Head(url.c_str(), Tus(token));
  ASSERT_TRUE(head);
  EXPECT_EQ(head->get_header_value("Upload-Offset"), "0");

  // A chunked PATCH within the limit is taken.
  auto patch = Tus(token);
  patch.emplace("Upload-Offset", "0");
  std::string body(300000, 'y');
  auto ok = http.Patch(
      url.c_str(), patch, body.size(),
      [&](size_t offset, size_t length, httplib::DataSink& sink) {
        sink.write(body.data() + offset, std::min<size_t>(length, 100000));
        return true;
      },
      "application/offset+octet-stream");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 204) << ok->body;
}

TEST_F(LimitsTest, SlowClientsOfTwiceThePoolDoNotKeepHealthzFromAnsweringWithinASecond) {
  constexpr int kThreads = 4, kSlow = 2 * kThreads;
  Start({"--threads", std::to_string(kThreads)});
  // Each slow client sends one byte of a request a second, and reconnects when it is closed.
  std::atomic<bool> stop{false};
  std::atomic<int> reconnects{0};
  std::thread slow([&] {
    const std::string request = "GET /healthz HTTP/1.1\r\nHost: slow\r\nX-Slow: " + std::string(100, 's');
    std::vector<int> fds(kSlow, -1);
    std::vector<size_t> at(kSlow, 0);
    while (!stop) {
      for (int i = 0; i < kSlow; ++i) {
        if (fds[i] < 0) {
          fds[i] = Connect(port_, 1);
          at[i] = 0;
          ++reconnects;
        }
        if (fds[i] >= 0 && !SendAll(fds[i], std::string_view(request).substr(at[i]++ % request.size(), 1))) {
          close(fds[i]);
          fds[i] = -1;
        }
      }
      for (int t = 0; t < 10 && !stop; ++t) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    for (int fd : fds)
      if (fd >= 0) close(fd);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // every worker holds a slow client
  std::vector<double> seconds;
  for (int i = 0; i < 5; ++i) {
    httplib::Client http("127.0.0.1", port_);
    http.set_read_timeout(5);
    auto started = Clock::now();
    auto res = http.Get("/healthz");
    seconds.push_back(std::chrono::duration<double>(Clock::now() - started).count());
    EXPECT_TRUE(res && res->status == 200) << "healthz " << i;
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  stop = true;
  slow.join();
  for (double s : seconds) EXPECT_LT(s, 1.0);
  EXPECT_GT(reconnects, kSlow) << "the slow clients were never cut off";
}

TEST_F(LimitsTest, ARequestMustArriveWithinTheRequestTimeout) {
  Start({"--request-timeout-seconds", "2"});
  int fd = Connect(port_, 1);
  ASSERT_GE(fd, 0);
  const std::string request = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + std::string(100, 's');
  auto started = Clock::now();
  double closed_after = 1e9;  // never closed
  for (size_t i = 0; i < request.size(); ++i) {
    char byte;
    if (!SendAll(fd, request.substr(i, 1)) || recv(fd, &byte, 1, MSG_DONTWAIT) == 0) {
      closed_after = std::chrono::duration<double>(Clock::now() - started).count();
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  close(fd);
  EXPECT_GT(closed_after, 1.5) << "closed before its deadline";
  EXPECT_LT(closed_after, 4.0) << "a byte every 250 ms kept the request open past its 2 s deadline";
}

TEST_F(LimitsTest, ConnectionsOverThePerAddressLimitAreRefusedAtOnce) {
  Start({"--max-connections-per-address", "3"});
  // Three kept-alive connections, each shown served (the start-up probe's may still be counted for
  // a moment after it closed, and then one of these is refused: it is opened again).
  std::vector<int> held;
  while (held.size() < 3) {
    int fd = Connect(port_);
    char buf[512];
    ssize_t n = SendAll(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n") ? recv(fd, buf, sizeof buf, 0) : -1;
    if (n > 0 && std::string_view(buf, static_cast<size_t>(n)).rfind("HTTP/1.1 200", 0) == 0) {
      held.push_back(fd);
    } else {
      close(fd);
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  int extra = Connect(port_, 2);
  ASSERT_GE(extra, 0);
  auto started = Clock::now();
  std::string answer = ReadAll(extra);
  close(extra);
  EXPECT_EQ(answer.rfind("HTTP/1.1 503", 0), 0u) << answer;
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - started).count(), 1.0);

  close(held.back());
  held.pop_back();
  httplib::Client http("127.0.0.1", port_);
  EXPECT_TRUE(WaitFor(
      [&] {
        auto res = http.Get("/healthz");
        return res && res->status == 200;
      },
      std::chrono::seconds(3)))
      << "a closed connection frees its place";
  for (int fd : held) close(fd);
}

TEST_F(LimitsTest, SessionQuotaRefusesUploadsPastItsCountAndBytes) {
  Start({"--max-uploads-per-session", "3", "--max-session-bytes", "1000"});
  httplib::Client http("127.0.0.1", port_);
  std::string token = NewSessionToken(http);
  auto create = [&](const std::string& length_header, const std::string& value) {
    auto headers = Tus(token);
    headers.emplace(length_header, value);
    return http.Post("/files/", headers, "", "application/offset+octet-stream");
  };
  auto first = create("Upload-Length", "600");
  ASSERT_TRUE(first && first->status == 201);
  auto over = create("Upload-Length", "500");
  ASSERT_TRUE(over);
  EXPECT_EQ(over->status, 413);
  EXPECT_EQ(nlohmann::json::parse(over->body)["error"], "session_quota_exceeded") << over->body;

  auto deferred = create("Upload-Defer-Length", "1");
  ASSERT_TRUE(deferred && deferred->status == 201);
  std::string url = deferred->get_header_value("Location");
  auto patch = [&](uint64_t offset, size_t size) {
    auto headers = Tus(token);
    headers.emplace("Upload-Offset", std::to_string(offset));
    return http.Patch(url.c_str(), headers, std::string(size, 'z'), "application/offset+octet-stream");
  };
  auto fits = patch(0, 300);
  ASSERT_TRUE(fits);
  EXPECT_EQ(fits->status, 204) << fits->body;
  auto grows_past = patch(300, 200);
  ASSERT_TRUE(grows_past);
  EXPECT_EQ(grows_past->status, 413);
  EXPECT_EQ(nlohmann::json::parse(grows_past->body)["error"], "session_quota_exceeded") << grows_past->body;

  auto third = create("Upload-Defer-Length", "1");
  ASSERT_TRUE(third && third->status == 201);
  auto fourth = create("Upload-Defer-Length", "1");
  ASSERT_TRUE(fourth);
  EXPECT_EQ(fourth->status, 403);
  EXPECT_EQ(nlohmann::json::parse(fourth->body)["error"], "too_many_uploads") << fourth->body;
}

}  // namespace
}  // namespace recorder::server::testing
