// recorder-server: the ingest server. Flags (and their environment variables) are in --help.
#include <signal.h>
#include <spdlog/spdlog.h>
#include <termios.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <thread>

#include "app/app.h"

namespace {

// "HOST:PORT" -> host, port. IPv6 hosts in brackets are not supported.
bool ParseListen(const std::string& listen, std::string* host, int* port) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  try {
    size_t used = 0;
    *port = std::stoi(listen.substr(colon + 1), &used);
    if (used != listen.size() - colon - 1 || *port < 0 || *port > 65535) return false;
  } catch (const std::exception&) {
    return false;
  }
  *host = listen.substr(0, colon);
  return true;
}

// One line from stdin; without echo and asked twice when stdin is a terminal.
bool ReadPassword(std::string* password) {
  if (!isatty(STDIN_FILENO)) return static_cast<bool>(std::getline(std::cin, *password));
  termios saved;
  tcgetattr(STDIN_FILENO, &saved);
  termios quiet = saved;
  quiet.c_lflag &= ~ECHO;
  tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  std::string again;
  std::fprintf(stderr, "password: ");
  bool ok = static_cast<bool>(std::getline(std::cin, *password));
  std::fprintf(stderr, "\nagain: ");
  ok = ok && std::getline(std::cin, again);
  std::fprintf(stderr, "\n");
  tcsetattr(STDIN_FILENO, TCSANOW, &saved);
  if (ok && *password != again) {
    std::fprintf(stderr, "recorder-server: the passwords differ\n");
    return false;
  }
  return ok;
}

// `recorder-server admin create`: adds an HR account to the index. Safe while the server runs
// (SQLite WAL, or PostgreSQL); the server reads accounts at each login.
int CreateAccount(const std::string& data_dir, const std::string& index_url, const std::string& username,
                  const std::string& role) {
  using namespace recorder::server;
  auto index = App::OpenIndex(data_dir, index_url);
  if (!index.ok()) {
    std::fprintf(stderr, "recorder-server: cannot open the index: %s\n", index.status().message().c_str());
    return 1;
  }
  std::string password;
  if (!ReadPassword(&password)) {
    std::fprintf(stderr, "recorder-server: no password on stdin\n");
    return 1;
  }
  SystemClock clock;
  auto accounts = Accounts::Open({}, index->get(), index->get(), &clock);
  if (!accounts.ok()) {
    std::fprintf(stderr, "recorder-server: %s\n", accounts.status().message().c_str());
    return 1;
  }
  auto account = (*accounts)->Create(username, password, role);
  if (!account.ok()) {
    std::fprintf(stderr, "recorder-server: cannot create %s: %s%s%s\n", username.c_str(),
                 Spec(account.error().err).message, account.error().detail.empty() ? "" : ": ",
                 account.error().detail.c_str());
    return 1;
  }
  (void)(*index)->AppendAudit(
      {0, clock.NowSeconds(), "cli", "account_create", "account:" + username, "{\"role\":\"" + role + "\"}"});
  std::printf("created %s %s\n", role.c_str(), username.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  using recorder::server::App;
  recorder::server::Config config;
  std::string listen = "127.0.0.1:8080";
  std::string log_level = "info";
  int64_t token_ttl_hours = 24;

  CLI::App cli{"recorder-server: receives interview recordings over tus and finalizes them"};
  cli.add_option("--listen", listen, "HOST:PORT to listen on")->envname("RECORDER_LISTEN")->capture_default_str();
  cli.add_option("--data", config.data_dir, "data folder (recordings, index, API key)")
      ->envname("RECORDER_DATA")
      ->capture_default_str();
  cli.add_option("--index", config.index_url,
                 "the index: sqlite (DATA/.recorder/index.sqlite3) or a PostgreSQL URL postgres://user@host/db "
                 "shared by several servers (a password goes in PGPASSWORD or ~/.pgpass, not here)")
      ->envname("RECORDER_INDEX")
      ->default_str("sqlite");
  config.web_dir = RECORDER_DEFAULT_WEB_DIR;
  cli.add_option("--web", config.web_dir, "static pages folder served at /; empty: none")
      ->envname("RECORDER_WEB")
      ->capture_default_str();
  cli.add_option("--api-key", config.api_key, "API key for the session API; default: DATA/api-key, generated once")
      ->envname("RECORDER_API_KEY");
  cli.add_option("--log-level", log_level, "trace, debug, info, warn, error")
      ->envname("RECORDER_LOG_LEVEL")
      ->capture_default_str();
  cli.add_option("--trusted-proxies", config.trusted_proxies,
                 "addresses of load balancers in front of this server, whose X-Forwarded-For names the client")
      ->delimiter(',');
  cli.add_option("--allowed-origins", config.allowed_origins, "CORS origins allowed ('*': any)")
      ->envname("RECORDER_ALLOWED_ORIGINS")
      ->delimiter(',')
      ->capture_default_str();
  cli.add_option("--token-ttl-hours", token_ttl_hours, "upload token lifetime")->capture_default_str();
  cli.add_option("--upload-expiry-seconds", config.ingest.upload_expiry_seconds,
                 "an upload expires this long after its last PATCH; then what arrived is finalized")
      ->capture_default_str();
  cli.add_option("--max-upload-bytes", config.ingest.max_upload_size, "Tus-Max-Size")->capture_default_str();
  cli.add_option("--max-request-bytes", config.max_request_bytes, "largest tus PATCH (or creation-with-upload) body")
      ->capture_default_str();
  cli.add_option("--max-uploads-per-session", config.ingest.max_uploads_per_session,
                 "uploads one upload token may create; 0: no limit")
      ->capture_default_str();
  cli.add_option("--max-session-bytes", config.ingest.max_session_bytes,
                 "bytes the uploads of one upload token may hold (declared or received); 0: no limit")
      ->capture_default_str();
  cli.add_option("--max-json-bytes", config.max_json_bytes, "largest body of any other request")->capture_default_str();
  cli.add_option("--max-live-viewers", config.max_live_viewers,
                 "HR live views at once (each holds a server thread while it streams)")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  cli.add_option("--max-header-count", config.max_header_count, "most header lines in one request")
      ->capture_default_str();
  cli.add_option("--max-header-bytes", config.max_header_bytes, "most header bytes in one request")
      ->capture_default_str();
  cli.add_option("--write-timeout-seconds", config.write_timeout_seconds,
                 "a response to a client that stops reading ends after this long (frees its thread)")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  cli.add_option("--request-timeout-seconds", config.request_timeout_seconds,
                 "a request (line, headers, body) must arrive within this of its first byte")
      ->capture_default_str();
  cli.add_option("--max-connections-per-address", config.max_connections_per_address,
                 "open connections from one client address; 0: no limit")
      ->capture_default_str();
  cli.add_option("--threads", config.threads, "HTTP worker threads = concurrent keep-alive connections")
      ->capture_default_str();
  cli.add_option("--keep-alive-seconds", config.keep_alive_seconds, "idle keep-alive timeout")->capture_default_str();
  cli.add_option("--job-poll-ms", config.job_poll_ms, "job runner poll interval")->capture_default_str();
  // S3 credentials come from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY only: a flag would show
  // them in ps.
  cli.add_option("--media-store", config.media_store,
                 "where finalized recordings are kept: file (the data folder) or s3 (--s3-*, AWS_* credentials)")
      ->check(CLI::IsMember({"file", "s3"}))
      ->capture_default_str();
  cli.add_option("--spool", config.spool,
                 "where uploads in progress are kept: file (the data folder, fdatasync) or shared (one object per "
                 "acknowledged PATCH in the s3 store, recorded in the index: any server takes any PATCH); auto: "
                 "shared with --media-store s3 and a PostgreSQL index, else file")
      ->check(CLI::IsMember({"auto", "file", "shared"}))
      ->capture_default_str();
  cli.add_option("--s3-endpoint", config.s3.endpoint,
                 "http(s)://HOST[:PORT]; default: AWS_ENDPOINT_URL, else AWS's endpoint for the region");
  cli.add_option("--s3-region", config.s3.region, "signing region; default: AWS_REGION, AWS_DEFAULT_REGION, us-east-1");
  cli.add_option("--s3-bucket", config.s3.bucket, "the bucket (it must exist)");
  cli.add_option("--s3-prefix", config.s3.prefix, "prepended to every object key, e.g. recordings/");
  cli.add_flag("--s3-path-style", config.s3.path_style,
               "address ENDPOINT/BUCKET/KEY (MinIO, Ceph, Swift) instead of BUCKET.HOST/KEY");
  cli.add_option("--transcriber", config.transcriber,
                 "speech-to-text for ready recordings: pocketsphinx (offline), http (an OpenAI-compatible API) or none")
      ->envname("RECORDER_TRANSCRIBER")
      ->check(CLI::IsMember({"pocketsphinx", "http", "none"}))
      ->capture_default_str();
  recorder::server::HttpTranscriberOptions& engine = config.http_transcriber;
  cli.add_option("--transcriber-url", engine.url, "the HTTP engine: http(s)://HOST/v1/audio/transcriptions")
      ->envname("RECORDER_TRANSCRIBER_URL");
  cli.add_option("--transcriber-key", engine.api_key, "the HTTP engine's API key (sent as a Bearer token)")
      ->envname("RECORDER_TRANSCRIBER_KEY");
  cli.add_option("--transcriber-model", engine.model, "the HTTP engine's model")
      ->envname("RECORDER_TRANSCRIBER_MODEL")
      ->capture_default_str();
  cli.add_option("--transcriber-language", engine.language, "ISO-639-1 language hint for the HTTP engine")
      ->envname("RECORDER_TRANSCRIBER_LANGUAGE");
  cli.add_option("--transcriber-timeout-seconds", engine.timeout_seconds,
                 "an HTTP engine that has not answered by then is tried again later")
      ->capture_default_str();
  cli.add_option("--pocketsphinx-model", config.pocketsphinx_model_dir,
                 "folder with en-us/, en-us.lm.bin and cmudict-en-us.dict; default: pocketsphinx-en-us's");
  cli.add_option("--node-id", config.node_id,
                 "names this server's job leases among servers sharing the index; default: host name and data folder")
      ->envname("RECORDER_NODE_ID");
  cli.add_flag("--secure-cookies", config.secure_cookies, "mark HR cookies Secure (set when served over TLS)")
      ->envname("RECORDER_SECURE_COOKIES");
  cli.add_option("--login-hours", config.login_hours, "an HR login lasts this long")->capture_default_str();
  cli.add_option("--retention-days", config.retention_days, "delete recordings this many days old; 0: never")
      ->envname("RECORDER_RETENTION_DAYS")
      ->capture_default_str();
  recorder::server::WebhookEndpoint webhook;
  cli.add_option(
         "--webhook-url", webhook.url,
         "POST signed events (Standard Webhooks) here: recording.ready, recording.failed, transcript.completed, "
         "transcript.failed, session.completed")
      ->envname("RECORDER_WEBHOOK_URL");
  cli.add_option("--webhook-secret", webhook.secret, "the endpoint's signing secret, whsec_<base64 of random bytes>")
      ->envname("RECORDER_WEBHOOK_SECRET");
  cli.add_option("--webhook-events", webhook.events, "the event types to send; default: all")
      ->envname("RECORDER_WEBHOOK_EVENTS")
      ->delimiter(',');
  cli.add_option("--webhook-retry-seconds", config.webhook_retry_base_seconds,
                 "first retry of a failed delivery after about this; doubling up to 3 h")
      ->capture_default_str();
  cli.add_option("--webhook-max-attempts", config.webhook_max_attempts, "attempts before a delivery fails for good")
      ->capture_default_str();
  cli.add_option("--webhook-timeout-seconds", config.webhook_timeout_seconds,
                 "a receiver that has not answered by then is tried again later")
      ->capture_default_str();
  cli.add_option("--retention-sweep-seconds", config.retention_sweep_seconds, "how often the sweeper runs")
      ->capture_default_str();

  // recorder-server admin create --data DIR --username NAME [--role admin|reviewer] (password on stdin)
  std::string username, role = "admin";
  CLI::App* admin = cli.add_subcommand("admin", "manage HR accounts in the data folder");
  CLI::App* create = admin->add_subcommand("create", "create an HR account; the password is read from stdin");
  create->add_option("--username", username, "login name (A-Z a-z 0-9 . _ @ -)")->required();
  create->add_option("--role", role, "admin or reviewer")
      ->check(CLI::IsMember({"admin", "reviewer"}))
      ->capture_default_str();
  admin->require_subcommand(1);
  cli.fallthrough();  // --data may come after the sub-command
  admin->fallthrough();
  create->fallthrough();
  CLI11_PARSE(cli, argc, argv);
  if (create->parsed()) {
    spdlog::set_level(spdlog::level::warn);
    return CreateAccount(config.data_dir, config.index_url, username, role);
  }
  config.ingest.token_ttl_seconds = token_ttl_hours * 3600;
  if (!webhook.url.empty() || !webhook.secret.empty()) config.webhooks.push_back(webhook);

  auto level = spdlog::level::from_str(log_level);
  if (level == spdlog::level::off && log_level != "off") {
    std::fprintf(stderr, "recorder-server: unknown --log-level %s\n", log_level.c_str());
    return 2;
  }
  spdlog::set_level(level);
  if (!ParseListen(listen, &config.host, &config.port)) {
    std::fprintf(stderr, "recorder-server: --listen must be HOST:PORT, got %s\n", listen.c_str());
    return 2;
  }

  // Signals go to one thread that stops the server; every other thread blocks them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto app = App::Open(config);
  if (!app.ok()) {
    std::fprintf(stderr, "recorder-server: cannot start: %s\n", app.status().message().c_str());
    return 1;
  }
  auto port = (*app)->Bind();
  if (!port.ok()) {
    std::fprintf(stderr, "recorder-server: cannot start: %s\n", port.status().message().c_str());
    return 1;
  }
  spdlog::info("listening on {}:{} (data {}, web {}, {} threads)", config.host, *port, config.data_dir,
               config.web_dir.empty() ? "none" : config.web_dir, config.threads);

  // On SIGINT/SIGTERM: stop accepting, give open connections a moment, then exit. cpp-httplib
  // would otherwise wait out every idle keep-alive connection; leaving early is safe because an
  // acknowledged byte is already durable and an unacknowledged one is resent after HEAD.
  std::atomic<bool> listening_done{false};
  std::thread signal_thread([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    if (listening_done) return;
    spdlog::info("signal {}: stopping", sig);
    (*app)->Stop();
    for (int i = 0; i < 30 && !listening_done; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (!listening_done) {
      spdlog::info("connections still open after 3 s; exiting");
      spdlog::shutdown();
      std::_Exit(0);
    }
  });
  bool served = (*app)->Listen();
  listening_done = true;
  pthread_kill(signal_thread.native_handle(), SIGTERM);
  signal_thread.join();
  spdlog::info("stopped");
  return served ? 0 : 1;
}
