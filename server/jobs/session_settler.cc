#include "jobs/session_settler.h"

#include <spdlog/spdlog.h>

namespace recorder::server {

namespace {
// Per sweep; the rest wait for the next one (a sweep runs every job poll interval).
constexpr int kSessionsPerSweep = 100;
}  // namespace

Result<int> SessionSettler::Sweep() {
  const int64_t now = clock_->NowSeconds();
  auto settled = index_->SettledSessions(now, Webhooks::kKind, kSessionsPerSweep);
  if (!settled.ok()) return settled.status();
  int completed = 0;
  for (const Session& session : *settled) {
    auto data = Summary(session);
    if (!data.ok()) return data.status();
    std::vector<NewJob> events;
    if (webhooks_) {
      auto queued = webhooks_->Event("session.completed", JobSubject::Session(session.id), *data);
      if (!queued.ok()) return queued.status();
      events = std::move(queued.value());
    }
    Status s = index_->CompleteSession(session.id, events, now);
    // Another server completed it first, or it was deleted meanwhile: nothing left to do.
    if (s.code() == StatusCode::kFailedPrecondition || s.code() == StatusCode::kNotFound) continue;
    if (!s.ok()) return s;
    ++completed;
    spdlog::info("session {} completed ({}, {} recordings)", session.id, (*data)["ended_by"].get<std::string>(),
                 (*data)["recordings"].size());
  }
  return completed;
}

Result<nlohmann::json> SessionSettler::Summary(const Session& session) {
  auto recordings = index_->RecordingsOfSession(session.id);
  if (!recordings.ok()) return recordings.status();
  nlohmann::json list = nlohmann::json::array();
  for (const Recording& r : *recordings) {
    auto transcript = transcripts_->GetTranscript(r.id);
    if (!transcript.ok() && transcript.status().code() != StatusCode::kNotFound) return transcript.status();
    list.push_back({{"recording_id", r.id},
                    {"kind", Name(r.kind)},
                    {"status", Name(r.status)},
                    {"duration_ms", r.duration_ms},
                    {"incomplete", r.incomplete},
                    {"transcript", transcript.ok()}});
  }
  const bool by_candidate = session.ended_at != 0;
  return nlohmann::json{{"session_id", session.id},
                        {"ended_by", by_candidate ? "candidate" : "link_expiry"},
                        {"ended_at", by_candidate ? session.ended_at : session.token_expires_at},
                        {"recordings", std::move(list)}};
}

}  // namespace recorder::server
