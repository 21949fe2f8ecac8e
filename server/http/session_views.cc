#include "http/session_views.h"

#include <algorithm>
#include <cstdio>
#include <ctime>

#include "http/respond.h"

namespace recorder::server {

using httplib::Request;
using httplib::Response;
using nlohmann::json;

namespace {

constexpr int kMaxListLimit = 500;

// "YYYY-MM-DD" -> Unix seconds at 00:00 UTC; false when malformed.
bool ParseDate(const std::string& text, int64_t* out) {
  std::tm tm{};
  int y, m, d;
  char rest;
  if (text.size() != 10 || std::sscanf(text.c_str(), "%4d-%2d-%2d%c", &y, &m, &d, &rest) != 3) return false;
  if (m < 1 || m > 12 || d < 1 || d > 31 || y < 1970) return false;
  tm.tm_year = y - 1900;
  tm.tm_mon = m - 1;
  tm.tm_mday = d;
  *out = static_cast<int64_t>(timegm(&tm));
  return true;
}

}  // namespace

bool ParseInt(const std::string& text, int64_t min, int64_t max, int64_t* out) {
  if (text.empty() || text.size() > 18 || text.find_first_not_of("0123456789") != std::string::npos) return false;
  *out = std::stoll(text);
  return *out >= min && *out <= max;
}

Expected<SessionFilter> ParseFilter(const Request& req) {
  SessionFilter filter;
  auto bad = [](const std::string& why) { return ApiError{Err::kInvalidFilter, why}; };
  filter.text = req.get_param_value("q").substr(0, 200);
  filter.job = req.get_param_value("job").substr(0, 200);
  if (std::string status = req.get_param_value("status"); !status.empty()) {
    SessionStatus parsed;
    if (!ParseName(status, &parsed)) return bad("unknown status '" + status.substr(0, 40) + "'");
    filter.status = parsed;
  }
  int64_t value;
  if (req.has_param("from") && !req.get_param_value("from").empty()) {
    if (!ParseDate(req.get_param_value("from"), &value)) return bad("from must be YYYY-MM-DD");
    filter.created_from = value;
  }
  if (req.has_param("to") && !req.get_param_value("to").empty()) {
    if (!ParseDate(req.get_param_value("to"), &value)) return bad("to must be YYYY-MM-DD");
    filter.created_to = value + 86400 - 1;  // inclusive: the whole day
  }
  if (req.has_param("limit")) {
    if (!ParseInt(req.get_param_value("limit"), 1, kMaxListLimit, &value)) return bad("limit must be 1 to 500");
    filter.limit = static_cast<int>(value);
  }
  if (req.has_param("offset")) {
    if (!ParseInt(req.get_param_value("offset"), 0, INT32_MAX, &value)) return bad("offset must be >= 0");
    filter.offset = static_cast<int>(value);
  }
  return filter;
}

namespace {

json OptionalNumber(std::optional<uint64_t> value) { return value ? json(*value) : json(nullptr); }

}  // namespace

json RecordingJson(const Recording& r) {
  return {{"id", r.id},
          {"part", OptionalNumber(RecordingMetadataNumber(r, "part"))},
          {"start_ms", OptionalNumber(RecordingMetadataNumber(r, "start_ms"))},
          {"kind", Name(r.kind)},
          {"status", Name(r.status)},
          {"duration_ms", r.duration_ms},
          {"bytes", r.bytes},
          {"created_at", r.created_at},
          {"finalized_at", r.finalized_at ? json(r.finalized_at) : json(nullptr)},
          {"failure_reason", r.failure_reason.empty() ? json(nullptr) : json(r.failure_reason)},
          {"incomplete", r.incomplete}};
}

json QuestionsJson(const std::vector<Question>& questions) {
  json out = json::array();
  for (const Question& q : questions) {
    out.push_back(
        {{"id", q.id}, {"text", q.text}, {"max_seconds", q.max_seconds ? json(q.max_seconds) : json(nullptr)}});
  }
  return out;
}

json SessionJson(const SessionSummary& s) {
  json recordings = json::array();
  // On the session clock: until the end of the latest part of any kind (a continuation after a
  // reload starts at its start_ms; a client that sends none starts its files at 0).
  int64_t duration_ms = 0;
  uint64_t bytes = 0;
  for (const Recording& r : s.recordings) {
    recordings.push_back(RecordingJson(r));
    int64_t start_ms = SessionOffsetMs(r);
    duration_ms = std::max(duration_ms, start_ms + r.duration_ms);
    bytes += r.bytes;
  }
  return {{"session_id", s.session_id},
          {"candidate_id", s.candidate_id},
          {"candidate_name", s.candidate_name},
          {"candidate_email", s.candidate_email},
          {"job", s.job},
          {"created_at", s.created_at},
          {"status", Name(s.status)},
          {"ended_at", s.ended_at ? json(s.ended_at) : json(nullptr)},
          {"completed_at", s.completed_at ? json(s.completed_at) : json(nullptr)},
          {"duration_ms", duration_ms},
          {"bytes", bytes},
          {"recordings", recordings}};
}

json MarkersJson(const std::vector<SessionEvent>& events) {
  json out = json::array();
  for (const SessionEvent& e : events) {
    out.push_back({{"id", e.client_id},
                   {"type", Name(e.type)},
                   {"label", e.label},
                   {"recording_time_ms", e.recording_time_ms},
                   {"data", json::parse(e.data_json, nullptr, false)},
                   {"recording_id", e.recording_id ? json(e.recording_id) : json(nullptr)}});
  }
  return out;
}

namespace {

std::string_view StageStatus(JobState state) {
  switch (state) {
    case JobState::kPending:
      return "queued";
    case JobState::kRunning:
      return "processing";
    case JobState::kDone:
      return "completed";
    case JobState::kFailed:
      break;
  }
  return "failed";
}

}  // namespace

json StageJson(const JobRecord& job) {
  const bool waiting = job.state == JobState::kPending;
  return {{"stage", job.kind},
          {"status", StageStatus(job.state)},
          {"attempts", job.attempts},
          {"last_error", job.last_error.empty() ? json(nullptr) : json(job.last_error)},
          {"created_at", job.created_at},
          {"updated_at", job.updated_at},
          {"next_attempt_at", waiting ? json(job.next_run_at) : json(nullptr)}};
}

json DeliveryJson(const JobRecord& job) {
  const json message = json::parse(job.payload_json, nullptr, false);
  auto field = [&](const char* key) { return message.is_object() ? message.value(key, "") : std::string(); };
  static constexpr std::array<std::string_view, 4> kStatus = {"queued", "sending", "delivered", "failed"};
  return {{"id", job.id},
          {"event_id", field("id")},
          {"type", field("type")},
          {"url", field("url")},
          {"status", kStatus[static_cast<size_t>(job.state)]},
          {"attempts", job.attempts},
          {"last_error", job.last_error.empty() ? json(nullptr) : json(job.last_error)},
          {"created_at", job.created_at},
          {"updated_at", job.updated_at},
          {"next_attempt_at", job.state == JobState::kPending ? json(job.next_run_at) : json(nullptr)}};
}

json PipelineJson(const std::vector<JobRecord>& stages) {
  if (stages.empty()) return nullptr;
  auto any = [&](JobState state) {
    return std::any_of(stages.begin(), stages.end(), [&](const JobRecord& j) { return j.state == state; });
  };
  std::string_view status = "completed";
  if (any(JobState::kFailed)) {
    status = "failed";
  } else if (any(JobState::kRunning) || (any(JobState::kPending) && any(JobState::kDone))) {
    status = "processing";
  } else if (any(JobState::kPending)) {
    status = "queued";
  }
  json out = json::array();
  for (const JobRecord& job : stages) out.push_back(StageJson(job));
  return {{"status", status}, {"stages", std::move(out)}};
}

Expected<json> SessionListJson(Results& results, const Request& req) {
  auto filter = ParseFilter(req);
  if (!filter.ok()) return filter.error();
  auto page = results.List(filter.value());
  if (!page.ok()) return page.error();
  json sessions = json::array();
  for (const SessionSummary& s : page->sessions) sessions.push_back(SessionJson(s));
  return json{{"total", page->total}, {"sessions", sessions}};
}

Expected<json> SessionDetailJson(Results& results, const std::string& session_id) {
  auto session = results.Get(session_id);
  if (!session.ok()) return session.error();
  auto markers = results.Markers(session_id);
  if (!markers.ok()) return markers.error();
  json out = SessionJson(session.value());
  for (json& recording : out["recordings"]) {
    auto stages = results.Stages(recording["id"].get<int64_t>());
    if (!stages.ok()) return stages.error();
    recording["pipeline"] = PipelineJson(stages.value());
  }
  out["questions"] = QuestionsJson(session->questions);
  out["markers"] = MarkersJson(markers.value());
  return out;
}

namespace {

// "hh:mm:ss.ttt", as WebVTT wants it.
std::string VttTime(int64_t ms) {
  ms = std::max<int64_t>(ms, 0);
  char out[32];
  std::snprintf(out, sizeof out, "%02lld:%02lld:%02lld.%03lld", static_cast<long long>(ms / 3600000),
                static_cast<long long>(ms / 60000 % 60), static_cast<long long>(ms / 1000 % 60),
                static_cast<long long>(ms % 1000));
  return out;
}

// Cue text cannot hold "-->", a blank line, '<' or '&' as themselves.
std::string VttText(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '&') {
      out += "&amp;";
    } else if (c == '<') {
      out += "&lt;";
    } else if (c == '>') {
      out += "&gt;";
    } else if (c == '\n' || c == '\r') {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

namespace {

nlohmann::json SegmentJson(const TranscriptSegment& segment) {
  nlohmann::json words = nlohmann::json::array();
  for (const TranscriptWord& word : segment.words) {
    words.push_back(
        {{"start_ms", word.start_ms}, {"end_ms", word.end_ms}, {"text", word.text}, {"confidence", word.confidence}});
  }
  return {{"start_ms", segment.start_ms},
          {"end_ms", segment.end_ms},
          {"text", segment.text},
          {"confidence", segment.confidence},
          {"words", std::move(words)}};
}

nlohmann::json OptionalMs(const std::optional<int64_t>& ms) { return ms ? nlohmann::json(*ms) : nlohmann::json(); }

}  // namespace

nlohmann::json TranscriptJson(const std::string& session_id, const SessionTranscript& session) {
  nlohmann::json out = {
      {"session_id", session_id}, {"recordings", nlohmann::json::array()}, {"answers", nlohmann::json::array()}};
  for (const RecordingTranscript& item : session.recordings) {
    nlohmann::json transcript = nullptr;
    if (item.transcript) {
      const Transcript& t = *item.transcript;
      nlohmann::json segments = nlohmann::json::array();
      for (const TranscriptSegment& segment : t.segments) segments.push_back(SegmentJson(segment));
      transcript = {{"engine", t.engine},
                    {"language", t.language},
                    {"audio_seconds", t.audio_seconds},
                    {"segments", std::move(segments)}};
    }
    out["recordings"].push_back({{"recording_id", item.recording.id},
                                 {"kind", Name(item.recording.kind)},
                                 {"offset_ms", SessionOffsetMs(item.recording)},
                                 {"transcript", std::move(transcript)}});
  }
  for (const Answer& answer : session.answers) {
    nlohmann::json segments = nlohmann::json::array();
    std::string text;
    for (const AnswerSegment& item : answer.segments) {
      nlohmann::json segment = SegmentJson(item.segment);
      segment["recording_id"] = item.recording_id;
      segments.push_back(std::move(segment));
      if (!item.segment.text.empty()) text += (text.empty() ? "" : " ") + item.segment.text;
    }
    out["answers"].push_back(
        {{"question", answer.number},
         {"question_id", answer.question_id.empty() ? nlohmann::json() : nlohmann::json(answer.question_id)},
         {"question_text", answer.question_text.empty() ? nlohmann::json() : nlohmann::json(answer.question_text)},
         {"start_ms", OptionalMs(answer.start_ms)},
         {"end_ms", OptionalMs(answer.end_ms)},
         {"text", text},
         {"segments", std::move(segments)}});
  }
  return out;
}

std::string TranscriptVtt(const std::vector<RecordingTranscript>& recordings, bool session_clock) {
  struct Cue {
    int64_t start_ms, end_ms;
    const std::string* text;
  };
  std::vector<Cue> cues;
  for (const RecordingTranscript& item : recordings) {
    if (!item.transcript) continue;
    const int64_t offset = session_clock ? SessionOffsetMs(item.recording) : 0;
    for (const TranscriptSegment& segment : item.transcript->segments) {
      if (segment.text.find_first_not_of(" \t\r\n") == std::string::npos) continue;  // nothing to caption
      cues.push_back({segment.start_ms + offset, segment.end_ms + offset, &segment.text});
    }
  }
  std::stable_sort(cues.begin(), cues.end(), [](const Cue& a, const Cue& b) { return a.start_ms < b.start_ms; });
  std::string out = "WEBVTT\n";
  int n = 0;
  for (const Cue& cue : cues) {
    out += "\n" + std::to_string(++n) + "\n" + VttTime(cue.start_ms) + " --> " + VttTime(cue.end_ms) + "\n" +
           VttText(*cue.text) + "\n";
  }
  return out;
}

json SearchJson(const TranscriptSearch& search) {
  json hits = json::array();
  for (const TranscriptHit& hit : search.hits) {
    const Answer* answer = hit.answer ? &search.answers[*hit.answer] : nullptr;
    auto text_or_null = [](const std::string& s) { return s.empty() ? json(nullptr) : json(s); };
    hits.push_back({{"session_id", hit.session_id},
                    {"candidate_name", hit.candidate_name},
                    {"recording_id", hit.recording_id},
                    {"kind", Name(hit.kind)},
                    {"start_ms", hit.start_ms},
                    {"end_ms", hit.end_ms},
                    {"text", hit.text},
                    {"question", answer ? json(answer->number) : json(nullptr)},
                    {"question_id", answer ? text_or_null(answer->question_id) : json(nullptr)},
                    {"question_text", answer ? text_or_null(answer->question_text) : json(nullptr)}});
  }
  return {{"words", search.words}, {"hits", std::move(hits)}};
}

void ServeTranscript(Results& results, const Request& req, Response& res, const std::string& actor) {
  const std::string format = req.has_param("format") ? req.get_param_value("format") : "json";
  if (format != "json" && format != "vtt") return WriteError(req, res, {Err::kBadRequest, "format is json or vtt"});
  auto transcript = results.Transcripts(req.matches[1]);
  if (!transcript.ok()) return WriteError(req, res, transcript.error());
  std::vector<RecordingTranscript>& recordings = transcript->recordings;
  const bool one = req.has_param("recording");
  if (one) {
    int64_t id = 0;
    const std::string wanted = req.get_param_value("recording");
    if (!ParseInt(wanted, 1, INT64_MAX, &id)) return WriteError(req, res, {Err::kBadRequest, "recording is an id"});
    std::erase_if(recordings, [id](const RecordingTranscript& r) { return r.recording.id != id; });
    if (recordings.empty()) return WriteError(req, res, Err::kRecordingNotFound);
    // Answers span the session's recordings: they keep only this one's segments.
    for (Answer& answer : transcript->answers) {
      std::erase_if(answer.segments, [id](const AnswerSegment& s) { return s.recording_id != id; });
    }
  }
  const std::string session_id = req.matches[1];
  if (Status s = results.Audit(actor, "view_transcript", "session:" + session_id); !s.ok()) {
    return WriteError(req, res, InternalError(s));
  }
  if (format == "json") return WriteJson(res, TranscriptJson(session_id, transcript.value()));
  const bool any = std::any_of(recordings.begin(), recordings.end(),
                               [](const RecordingTranscript& r) { return r.transcript.has_value(); });
  if (!any) return WriteError(req, res, Err::kTranscriptNotFound);
  res.set_header("Cache-Control", "no-store");  // personal data, as WriteJson says for JSON
  res.set_content(TranscriptVtt(recordings, !one), "text/vtt; charset=utf-8");
}

void WriteMedia(Response& res, const MediaFile& media, const BodySlice& slice, bool download) {
  if (download) res.set_header("Content-Disposition", "attachment; filename=\"" + media.download_name + "\"");
  res.set_header("Cache-Control", "private, no-store");
  if (slice.length == 0) return res.set_content("", "video/webm");  // a provider of 0 bytes would be chunked
  res.set_content_provider(
      slice.length, "video/webm",
      [reader = media.reader, start = slice.offset](size_t offset, size_t length, httplib::DataSink& sink) {
        char buffer[64 * 1024];
        size_t n = std::min(length, sizeof buffer);
        // A failed read cuts the response short.
        return reader->ReadAt(start + offset, buffer, n).ok() && sink.write(buffer, n);
      });
}

void ServeAnswerClip(Results& results, const Request& req, Response& res, const std::string& actor) {
  int64_t number = 0;
  if (!ParseInt(req.matches[2], 1, 100, &number)) return WriteError(req, res, Err::kAnswerNotFound);
  auto clip = results.AnswerClip(req.matches[1], static_cast<int>(number));
  if (!clip.ok()) return WriteError(req, res, clip.error());
  const std::optional<BodySlice> slice = SelectRange(req, res, clip->reader->size());
  if (!slice) return;
  if (req.method != "HEAD") {
    const json detail = {{"question", number}, {"bytes", clip->reader->size()}};
    if (Status s = results.Audit(actor, "download_clip", "session:" + clip->session_id, detail.dump()); !s.ok()) {
      return WriteError(req, res, InternalError(s));
    }
  }
  WriteMedia(res, clip.value(), *slice, /*download=*/true);
}

}  // namespace recorder::server
