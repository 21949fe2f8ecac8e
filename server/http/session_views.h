// The JSON the host API and the results page share: sessions, recordings and markers, the list's
// filters, and the two reads both sides offer (a session page, one session with its markers).
#pragma once

#include <httplib.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/errors.h"
#include "http/respond.h"
#include "index/records.h"
#include "results/results.h"

namespace recorder::server {

// Whole numbers of at most 18 digits in [min, max]; false otherwise.
bool ParseInt(const std::string& text, int64_t min, int64_t max, int64_t* out);
// ?q=&job=&status=&from=&to=&limit=&offset= ; kInvalidFilter with the reason.
Expected<SessionFilter> ParseFilter(const httplib::Request& req);

nlohmann::json RecordingJson(const Recording& r);
// [{id, text, max_seconds (null: no limit)}], in order.
nlohmann::json QuestionsJson(const std::vector<Question>& questions);
nlohmann::json SessionJson(const SessionSummary& s);
nlohmann::json MarkersJson(const std::vector<SessionEvent>& events);
// One processing stage in the statuses hosts poll for: {stage, status: queued | processing |
// completed | failed, attempts, last_error, created_at, updated_at, next_attempt_at}.
nlohmann::json StageJson(const JobRecord& job);
// A recording's pipeline: {status, stages: [StageJson]}; its status is failed when a stage failed,
// else processing while one runs or waits behind a finished one, else queued while any waits,
// else completed. null before the recording has any stage (still receiving).
nlohmann::json PipelineJson(const std::vector<JobRecord>& stages);

// {total, sessions: [SessionJson]} for the request's filter.
Expected<nlohmann::json> SessionListJson(Results& results, const httplib::Request& req);
// {session_id, recordings: [{recording_id, kind, offset_ms, transcript: null | {engine, language,
// audio_seconds, segments: [{start_ms, end_ms, text, confidence, words: [...]}]}}]}; segment and
// word times on the recording's clock, offset_ms where that clock's zero sits on the session's.
nlohmann::json TranscriptJson(const std::string& session_id, const SessionTranscript& session);
// WebVTT captions, a cue per segment: on the session's clock for all the recordings, or on the
// recording's own clock when `recordings` is the one recording whose <video> shows them.
std::string TranscriptVtt(const std::vector<RecordingTranscript>& recordings, bool session_clock);

// {words, hits: [{session_id, candidate_name, recording_id, kind, start_ms, end_ms (session clock),
// text, question, question_id, question_text (null outside any question)}]}
nlohmann::json SearchJson(const TranscriptSearch& search);

// A webhook delivery for the admins' log: {id, event_id, type, url, status: queued | sending |
// delivered | failed, attempts, last_error (the last answer: "HTTP 500", "no answer: ..."),
// created_at, updated_at, next_attempt_at}.
nlohmann::json DeliveryJson(const JobRecord& job);

// The bytes of `media` in `slice` (SelectRange's), as an attachment named after it when `download`.
void WriteMedia(httplib::Response& res, const MediaFile& media, const BodySlice& slice, bool download);
// GET .../sessions/{id}/answers/{n}/clip, for the host API and the results page: the answer as a
// WebM download (Results::AnswerClip), with Range; audited as `actor`'s download_clip.
void ServeAnswerClip(Results& results, const httplib::Request& req, httplib::Response& res, const std::string& actor);

// GET .../sessions/{id}/transcript, for the host API and the results page: ?format=json (default:
// per recording, and per question as answers) or vtt; ?recording=<id>: that recording only, on its
// own clock (the captions of its <video>). Audited as `actor`'s view of the session's personal data.
void ServeTranscript(Results& results, const httplib::Request& req, httplib::Response& res, const std::string& actor);

// SessionJson with its questions, markers and each recording's pipeline.
Expected<nlohmann::json> SessionDetailJson(Results& results, const std::string& session_id);

}  // namespace recorder::server
