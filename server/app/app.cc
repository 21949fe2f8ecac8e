#include "app/app.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "base/crypto.h"
#include "http/routes.h"
#include "index/postgres/postgres_index.h"
#include "index/sqlite/sqlite_index.h"
#include "ingest/shared_spool.h"
#include "transcribe/pocketsphinx_transcriber.h"

namespace recorder::server {
namespace fs = std::filesystem;
namespace {

constexpr const char* kApiKeyFile = "api-key";
constexpr const char* kPrivateFolder = ".recorder";  // never a candidate folder (those never start with '.')

// Proves the folder takes a durable file: create, write, fsync, remove.
Status CheckWritable(const fs::path& dir) {
  std::error_code ec;
  // Recordings of people: a folder the server creates is for the server's user only.
  if (fs::create_directories(dir, ec)) fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);
  if (ec) return FailedPrecondition("data folder " + dir.string() + " cannot be created: " + ec.message());
  fs::path probe = dir / ".write-probe";
  int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return FailedPrecondition("data folder " + dir.string() + " is not writable: " + std::strerror(errno));
  bool ok = ::write(fd, "x", 1) == 1 && ::fsync(fd) == 0;
  int err = errno;
  ::close(fd);
  ::unlink(probe.c_str());
  if (!ok) return FailedPrecondition("data folder " + dir.string() + " is not writable: " + std::strerror(err));
  return Status::Ok();
}

// Reads DATA/api-key, or creates it (mode 0600) with a fresh random key.
Result<std::string> LoadOrCreateApiKey(const fs::path& path) {
  std::ifstream in(path);
  if (in) {
    std::string key;
    std::getline(in, key);
    if (key.empty()) return FailedPrecondition("API key file " + path.string() + " is empty");
    return key;
  }
  std::string key = RandomHex(32);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return FailedPrecondition("cannot create API key file " + path.string() + ": " + std::strerror(errno));
  std::string line = key + "\n";
  bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return FailedPrecondition("cannot write API key file " + path.string());
  spdlog::info("generated an API key and stored it in {}", path.string());
  return key;
}

}  // namespace

Result<std::unique_ptr<App>> App::Open(Config config, std::unique_ptr<Finalizer> finalizer, FileSystem* file_system) {
  std::unique_ptr<App> app(new App(std::move(config)));
  App* self = app.get();
  Config& c = app->config_;
  RETURN_IF_ERROR(CheckWritable(c.data_dir));
  std::error_code ec;
  c.data_dir = fs::canonical(c.data_dir, ec).string();
  auto index = OpenIndex(c.data_dir, c.index_url);
  if (!index.ok()) return index.status();
  app->index_ = std::move(index.value());
  Index* idx = app->index_.get();

  if (c.api_key.empty()) {
    auto key = LoadOrCreateApiKey(fs::path(c.data_dir) / kApiKeyFile);
    if (!key.ok()) return key.status();
    app->api_key_ = key.value();
    spdlog::info("API key: {}", app->api_key_path());
  } else {
    app->api_key_ = c.api_key;
  }
  if (c.node_id.empty()) {
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    c.node_id = std::string(host) + ":" + c.data_dir;
  }

  app->clock_ = c.clock ? c.clock : std::make_shared<SystemClock>();
  const Clock* clock = app->clock_.get();
  if (file_system) app->fs_ = file_system;
  if (c.media_store == "s3") {
    S3Config s3 = c.s3;
    FillS3ConfigFromEnvironment(&s3);
    auto store = S3MediaStore::Create(std::move(s3));
    if (!store.ok()) return store.status();
    // A wrong bucket, key or endpoint stops the server now with the reason, not at the first
    // finalize.
    RETURN_IF_ERROR((*store)->Check());
    app->media_ = std::move(store.value());
  } else if (c.media_store == "file") {
    app->media_ = std::make_unique<FileMediaStore>(c.data_dir, app->fs_);
  } else {
    return InvalidArgument("unknown media store " + c.media_store + " (file or s3)");
  }
  const bool postgres = c.index_url.starts_with("postgres://") || c.index_url.starts_with("postgresql://");
  const bool shared = c.spool == "shared" || (c.spool == "auto" && c.media_store == "s3" && postgres);
  if (shared && c.media_store != "s3") return InvalidArgument("--spool shared needs --media-store s3");
  if (c.spool != "auto" && c.spool != "file" && c.spool != "shared") {
    return InvalidArgument("--spool must be auto, file or shared, not " + c.spool);
  }
  if (shared) {
    app->spool_ = std::make_unique<SharedSpool>(app->media_.get(), idx, c.data_dir, app->fs_);
  } else {
    app->spool_ = std::make_unique<FileUploadStore>(c.data_dir, app->fs_);
  }
  spdlog::info("spool: {}", shared ? "shared (chunks as objects, any server takes any PATCH)" : "file");
  app->finalizer_ = finalizer ? std::move(finalizer) : std::make_unique<WebmFinalizer>();
  if (c.transcriber == "pocketsphinx") {
    PocketSphinxOptions options;
    if (!c.pocketsphinx_model_dir.empty()) options.model_dir = c.pocketsphinx_model_dir;
    app->transcriber_ = std::make_unique<PocketSphinxTranscriber>(options);
  } else if (c.transcriber == "http") {
    const std::string& url = c.http_transcriber.url;
    if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
      return InvalidArgument("--transcriber http needs --transcriber-url http(s)://…/v1/audio/transcriptions");
    }
    app->transcriber_ = std::make_unique<HttpTranscriber>(c.http_transcriber);
  } else if (c.transcriber != "none") {
    return InvalidArgument("--transcriber must be pocketsphinx, http or none, not " + c.transcriber);
  }
  auto webhooks = Webhooks::Create({c.webhooks, c.webhook_timeout_seconds}, idx, clock);
  if (!webhooks.ok()) return webhooks.status();
  app->webhooks_ = std::move(webhooks.value());
  const Webhooks* events = app->webhooks_.get();
  FinalizeJob::FollowUps after_ready;
  if (app->transcriber_) {
    app->transcribe_job_ =
        std::make_unique<TranscribeJob>(idx, idx, app->media_.get(), app->transcriber_.get(), clock, events);
    after_ready = [](int64_t recording_id) { return std::vector<NewJob>{TranscribeJob::For(recording_id)}; };
  }
  app->settler_ = std::make_unique<SessionSettler>(idx, idx, clock, events);
  app->finalize_job_ = std::make_unique<FinalizeJob>(idx, app->spool_.get(), app->media_.get(), app->finalizer_.get(),
                                                     clock, &app->metrics_, std::move(after_ready), events);
  app->ingest_ = std::make_unique<Ingest>(c.ingest, idx, app->spool_.get(), app->media_.get(), clock, &app->metrics_,
                                          [self] { self->jobs_->Wake(FinalizeJob::kKind); });
  Accounts::Options login_options;
  login_options.login_seconds = c.login_hours * 3600;
  auto accounts = Accounts::Open(login_options, idx, idx, clock);
  if (!accounts.ok()) return accounts.status();
  app->accounts_ = std::move(accounts.value());
  app->results_ =
      std::make_unique<Results>(idx, idx, idx, idx, idx, app->spool_.get(), app->media_.get(), app->ingest_.get(),
                                clock, [self](const std::string& kind) { self->jobs_->Wake(kind); });

  app->jobs_ = std::make_unique<JobRunner>(JobRunner::Options{c.node_id, c.job_poll_ms}, idx, clock, &app->metrics_);
  JobKindOptions finalize_options;
  finalize_options.on_failed = [self](const Job& job, const std::string& error) {
    return self->finalize_job_->OnFailed(job, error);
  };
  app->jobs_->Register(FinalizeJob::kKind, finalize_options,
                       [self](const Job& job) { return self->finalize_job_->Run(job); });
  if (app->transcribe_job_) {
    JobKindOptions transcribe_options;
    transcribe_options.nice = 10;  // minutes of CPU per hour of speech, on what ingest leaves
    transcribe_options.lease_seconds = 120;
    transcribe_options.on_failed = [self](const Job& job, const std::string& error) {
      return self->transcribe_job_->OnFailed(job, error);
    };
    app->jobs_->Register(TranscribeJob::kKind, transcribe_options,
                         [self](const Job& job) { return self->transcribe_job_->Run(job); });
  }
  // Registered even without endpoints: deliveries queued before a restart that dropped them fail
  // with the reason instead of waiting forever.
  JobKindOptions webhook_options;
  webhook_options.concurrency = 2;
  webhook_options.max_attempts = c.webhook_max_attempts;
  webhook_options.retry_base_seconds = c.webhook_retry_base_seconds;
  webhook_options.retry_max_seconds = 3 * 3600;
  app->jobs_->Register(Webhooks::kKind, webhook_options,
                       [self](const Job& job) { return self->webhooks_->Deliver(job); });

  RETURN_IF_ERROR(app->ingest_->Reconcile());
  RETURN_IF_ERROR(app->jobs_->Start());
  // Expired uploads are finalized as they are; the retention sweep checks the (test-settable)
  // clock each time, so it runs when that says it is due.
  app->expiry_sweep_ = std::make_unique<PeriodicTask>("expiry", std::chrono::milliseconds(c.job_poll_ms),
                                                      [self] { self->ingest_->FinalizeExpired(); });
  app->retention_sweep_ = std::make_unique<PeriodicTask>("retention", std::chrono::milliseconds(c.job_poll_ms),
                                                         [self] { self->SweepRetention(); });
  app->settle_sweep_ = std::make_unique<PeriodicTask>("settle", std::chrono::milliseconds(c.job_poll_ms),
                                                      [self] { self->SettleSessions(); });

  httplib::Server& http = app->http_;
  size_t threads = c.threads;
  http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http.set_keep_alive_max_count(1000000);
  http.set_keep_alive_timeout(c.keep_alive_seconds);
  http.set_read_timeout(30);
  http.set_write_timeout(c.write_timeout_seconds);
  http.set_payload_max_length(c.max_request_bytes);
  http.set_header_limits(c.max_header_count, c.max_header_bytes);
  http.set_request_timeout(c.request_timeout_seconds);
  http.set_max_connections_per_address(c.max_connections_per_address);
  http.set_tcp_nodelay(true);
  http.set_socket_options([self](socket_t sock) {
    httplib::default_socket_options(sock);
    self->listen_fd_ = sock;
  });
  HttpDeps deps{HttpOptions{c.allowed_origins, c.web_dir, c.secure_cookies, c.trusted_proxies, c.max_request_bytes,
                            c.max_json_bytes, c.max_live_viewers},
                app->api_key_,
                app->ingest_.get(),
                app->results_.get(),
                app->accounts_.get(),
                app->webhooks_.get(),
                &app->metrics_,
                clock,
                [self] { return self->Health(); },
                [self] { return self->MetricsText(); }};
  InstallRoutes(http, deps);
  if (c.retention_days > 0) {
    spdlog::info("retention: recordings and empty sessions older than {} days are deleted (swept every {} s)",
                 c.retention_days, c.retention_sweep_seconds);
  }
  if (auto count = idx->CountAccounts(); count.ok() && *count == 0) {
    // The index URL may hold a password: named, not printed.
    spdlog::warn(
        "no HR account yet; create the first admin with: recorder-server admin create --data {}{} "
        "--username NAME --role admin (password on stdin)",
        c.data_dir, postgres ? " --index URL (this server's PostgreSQL URL)" : "");
  }
  return app;
}

Result<std::unique_ptr<Index>> App::OpenIndex(const std::string& data_dir, const std::string& index_url) {
  fs::path folder = fs::path(data_dir) / kPrivateFolder;
  std::error_code ec;
  // The private folder (the SQLite index, the API key, the spool) holds candidates' data: it is
  // the server user's only, whatever the umask (and whatever an older version left).
  fs::create_directories(folder, ec);
  if (!ec) fs::permissions(folder, fs::perms::owner_all, fs::perm_options::replace, ec);
  if (ec) return FailedPrecondition("cannot create " + folder.string() + ": " + ec.message());
  if (index_url.starts_with("postgres://") || index_url.starts_with("postgresql://")) {
    auto index = PostgresIndex::Open(index_url);
    if (!index.ok()) return index.status();
    return std::unique_ptr<Index>(std::move(index.value()));
  }
  if (!index_url.empty() && index_url != "sqlite") {
    return InvalidArgument("--index must be \"sqlite\" or a postgres:// URL");
  }
  auto index = SqliteIndex::Open((folder / "index.sqlite3").string());
  if (!index.ok()) return index.status();
  return std::unique_ptr<Index>(std::move(index.value()));
}

void App::SweepRetention() {
  int64_t now = clock_->NowSeconds();
  if (config_.retention_days <= 0 || now - last_retention_sweep_ < config_.retention_sweep_seconds) return;
  last_retention_sweep_ = now;
  auto sweep = results_->SweepRetention(config_.retention_days * 86400);
  if (!sweep.ok()) {
    spdlog::error("retention sweep failed (will retry): {}", sweep.status().ToString());
  } else if (sweep->recordings + sweep->sessions + sweep->failures > 0) {
    spdlog::log(sweep->failures ? spdlog::level::warn : spdlog::level::info,
                "retention sweep: {} recordings and {} empty sessions older than {} days deleted, {} failed",
                sweep->recordings, sweep->sessions, config_.retention_days, sweep->failures);
  }
}

void App::SettleSessions() {
  auto completed = settler_->Sweep();
  if (!completed.ok()) spdlog::error("session settle sweep failed (will retry): {}", completed.status().ToString());
}

Status App::Health() {
  RETURN_IF_ERROR(index_->Ping());
  if (::access(config_.data_dir.c_str(), W_OK | X_OK) != 0) {
    return FailedPrecondition("data folder " + config_.data_dir + " is not writable");
  }
  return Status::Ok();
}

std::string App::MetricsText() {
  auto active = index_->UploadsInState(UploadState::kReceiving);
  auto jobs = index_->JobStats(clock_->NowSeconds());
  if (!jobs.ok()) spdlog::error("metrics: cannot read the job queue: {}", jobs.status().ToString());
  return metrics_.Render(active.ok() ? static_cast<int64_t>(active->size()) : -1,
                         jobs.ok() ? jobs.value() : std::vector<JobKindStats>{});
}

App::~App() {
  Stop();
  settle_sweep_.reset();
  retention_sweep_.reset();
  expiry_sweep_.reset();
  if (jobs_) jobs_->Stop();
}

std::string App::api_key_path() const {
  return config_.api_key.empty() ? (fs::path(config_.data_dir) / kApiKeyFile).string() : "(given at start)";
}

Result<int> App::Bind() {
  int port = config_.port == 0 ? http_.bind_to_any_port(config_.host)
                               : (http_.bind_to_port(config_.host, config_.port) ? config_.port : -1);
  // cpp-httplib 0.11 listens with a compiled-in backlog of 5, so a burst of recorders connecting
  // at once loses SYNs and waits out retransmits. Linux lets listen() raise it on the bound socket.
  if (port >= 0 && ::listen(listen_fd_, config_.listen_backlog) != 0) {
    spdlog::warn("cannot raise the listen backlog to {}: {}", config_.listen_backlog, std::strerror(errno));
  }
  if (port < 0) {
    return IoError("cannot listen on " + config_.host + ":" + std::to_string(config_.port) + ": " +
                   std::strerror(errno));
  }
  return port;
}

bool App::Listen() { return http_.listen_after_bind(); }

void App::Stop() { http_.stop(); }

}  // namespace recorder::server
