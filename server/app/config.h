// Everything the server can be told at start, with the defaults main.cc documents in --help.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/clock.h"
#include "ingest/ingest.h"
#include "jobs/webhooks.h"
#include "storage/s3_media_store.h"
#include "transcribe/http_transcriber.h"

namespace recorder::server {

struct Config {
  std::string host = "127.0.0.1";
  int port = 8080;  // 0: any free port (tests)
  std::string data_dir = "data";
  // The index: "sqlite" (or empty) for DATA/.recorder/index.sqlite3, the embedded default; a
  // libpq URL ("postgres://user@host/db") for PostgreSQL shared by several servers.
  std::string index_url;
  std::string web_dir;  // static pages; empty: none
  std::string api_key;  // empty: read DATA/api-key, or generate it there at first start
  std::vector<std::string> allowed_origins = {"*"};
  // Load balancers in front of this server: their X-Forwarded-For names the client (login
  // throttling per address, logs). Empty: the peer is the client.
  std::vector<std::string> trusted_proxies;
  IngestOptions ingest;
  // cpp-httplib serves one keep-alive connection per pool thread for the connection's lifetime,
  // so the pool bounds concurrent recordings (1000 recordings x 1 chunk/s keep ~1000 connections
  // open). Idle threads cost only stack address space.
  size_t threads = 1024;
  int listen_backlog = 4096;                    // capped by net.core.somaxconn
  int keep_alive_seconds = 10;                  // > the recorder's 1 s chunk interval, so connections are reused
  size_t max_request_bytes = size_t{64} << 20;  // one tus PATCH (or creation-with-upload) body, buffered
  // Every request limit holds before anything past it is read (cpp-httplib patch 0003):
  size_t max_json_bytes = size_t{64} << 10;    // the body of every other route (JSON, login forms)
  size_t max_header_count = 100;               // header lines of one request; over: 431
  size_t max_header_bytes = size_t{64} << 10;  // all header lines of one request; over: 431
  // One request (line, headers, body) must arrive within this long of its first byte, so a client
  // that sends a byte at a time cannot hold a worker thread; a 64 MiB PATCH needs ~9 Mbit/s.
  int request_timeout_seconds = 60;
  // A write to a client that does not read (a live viewer whose browser froze) fails after this
  // long, which ends that response and frees its thread.
  int write_timeout_seconds = 30;
  // Open connections from one peer address; more are answered 503 at accept. 0: no limit. A
  // recorder holds one or two; behind a reverse proxy every client has the proxy's address.
  size_t max_connections_per_address = 64;
  // HR live views streaming at once; each holds a pool thread while it watches. Over: 503.
  int max_live_viewers = 64;
  int job_poll_ms = 1000;
  // Where finalized recordings are kept: "file" (the data folder) or "s3" (an S3-compatible
  // store: s3; empty fields come from the AWS_* environment, credentials only from there).
  std::string media_store = "file";
  S3Config s3;
  // Where uploads in progress are kept: "file" (the data folder), "shared" (chunks as objects in
  // the media store, recorded in the index: several servers behind a load balancer) or "auto"
  // (shared when the media store is s3 and the index PostgreSQL).
  std::string spool = "auto";
  // Speech-to-text engine for ready recordings: "pocketsphinx" (built in, offline), "http" (an
  // OpenAI-compatible API: http_transcriber.url etc.) or "none".
  std::string transcriber = "pocketsphinx";
  std::string pocketsphinx_model_dir;  // empty: the pocketsphinx-en-us package's model
  HttpTranscriberOptions http_transcriber;
  // Names this process's job leases in a queue shared by several servers; the same across
  // restarts. Empty: the host name and the data folder.
  std::string node_id;
  // HR logins: cookies get Secure when this is set (serving behind TLS) or a proxy says https.
  bool secure_cookies = false;
  int64_t login_hours = 12;
  // Recordings are deleted this many days after they were made; 0 keeps them forever.
  int64_t retention_days = 90;
  int64_t retention_sweep_seconds = 3600;
  // Where the host's pipeline hears of ready and failed recordings and transcripts (none: no
  // webhooks). A failed delivery is retried after about webhook_retry_base_seconds, doubling up to
  // 3 hours, for webhook_max_attempts attempts: with the defaults about a day.
  std::vector<WebhookEndpoint> webhooks;
  int64_t webhook_retry_base_seconds = 30;
  int webhook_max_attempts = 17;
  int64_t webhook_timeout_seconds = 10;
  std::shared_ptr<const Clock> clock;  // null: the system clock
};

}  // namespace recorder::server
