// The built recorder-server as a child process on a free port, for tests of the real binary
// (flags, signals, crashes).
#pragma once

#include <arpa/inet.h>
#include <httplib.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <string>
#include <vector>

#include "test_util.h"

namespace recorder::server::testing {

inline int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

class ServerProcess {
 public:
  // `args`: flags after --listen and --data; output goes to `log` (appended).
  ServerProcess(std::string data, int port, std::string log, std::vector<std::string> args)
      : data_(std::move(data)), port_(port), log_(std::move(log)), args_(std::move(args)) {}
  ~ServerProcess() { Kill(SIGKILL); }

  // Starts the binary and waits until /healthz answers 200.
  void Start() {
    std::vector<std::string> argv = {RECORDER_SERVER_BIN, "--listen", "127.0.0.1:" + std::to_string(port_), "--data",
                                     data_};
    argv.insert(argv.end(), args_.begin(), args_.end());
    std::vector<char*> raw;
    for (std::string& arg : argv) raw.push_back(arg.data());
    raw.push_back(nullptr);
    pid_ = fork();
    if (pid_ == 0) {
      FILE* log = fopen(log_.c_str(), "a");
      dup2(fileno(log), 1);
      dup2(fileno(log), 2);
      execv(RECORDER_SERVER_BIN, raw.data());
      _exit(127);
    }
    httplib::Client probe("127.0.0.1", port_);
    ASSERT_TRUE(WaitFor(
        [&] {
          auto res = probe.Get("/healthz");
          return res && res->status == 200;
        },
        std::chrono::seconds(20)))
        << ReadFile(log_);
  }

  pid_t pid() const { return pid_; }

  // Sends `sig` and waits for the process to end.
  void Kill(int sig) {
    if (pid_ <= 0) return;
    kill(pid_, sig);
    int status;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }

 private:
  std::string data_;
  int port_;
  std::string log_;
  std::vector<std::string> args_;
  pid_t pid_ = -1;
};

}  // namespace recorder::server::testing
