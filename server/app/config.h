// Everything the server can be told at start, with the defaults main.cc documents in --help.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/clock.h"
#include "ingest/ingest.h"

namespace recorder::server {

struct Config {
  std::string host = "127.0.0.1";
  int port = 8080;  // 0: any free port (tests)
  std::string data_dir = "data";
  std::string web_dir;  // static pages; empty: none
  std::string api_key;  // empty: read DATA/api-key, or generate it there at first start
  std::vector<std::string> allowed_origins = {"*"};
  IngestOptions ingest;
  // cpp-httplib serves one keep-alive connection per pool thread for the connection's lifetime,
  // so the pool bounds concurrent recordings (1000 recordings x 1 chunk/s keep ~1000 connections
  // open). Idle threads cost only stack address space.
  size_t threads = 1024;
  int listen_backlog = 4096;                    // capped by net.core.somaxconn
  int keep_alive_seconds = 10;                  // > the recorder's 1 s chunk interval, so connections are reused
  size_t max_request_bytes = size_t{64} << 20;  // one PATCH body is buffered in memory
  int job_poll_ms = 1000;
  // Names this process's job leases in a queue shared by several servers; the same across
  // restarts. Empty: the host name and the data folder.
  std::string node_id;
  // HR logins: cookies get Secure when this is set (serving behind TLS) or a proxy says https.
  bool secure_cookies = false;
  int64_t login_hours = 12;
  // Recordings are deleted this many days after they were made; 0 keeps them forever.
  int64_t retention_days = 90;
  int64_t retention_sweep_seconds = 3600;
  std::shared_ptr<const Clock> clock;  // null: the system clock
};

}  // namespace recorder::server
