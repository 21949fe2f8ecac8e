// The HTTP engine, for production accuracy: the OpenAI-compatible speech-to-text API,
// POST <url> (multipart: file, model, response_format=verbose_json, timestamp_granularities[]),
// which OpenAI, whisper.cpp's server (with --inference-path /v1/audio/transcriptions),
// faster-whisper servers and hosted services speak. Reads segments and, where the engine gives
// them, words (OpenAI: top-level "words"; whisper.cpp: each segment's "words").
//
// The audio goes to the engine as a 16 kHz mono 16-bit WAV written to a temporary file first, so
// a 2-hour interview costs disk, not memory; the engine's answer is read up to a bound.
#pragma once

#include <string>

#include "transcribe/transcriber.h"

namespace recorder::server {

struct HttpTranscriberOptions {
  std::string url;      // e.g. http://127.0.0.1:8081/v1/audio/transcriptions
  std::string api_key;  // sent as "Authorization: Bearer <key>" when not empty
  std::string model = "whisper-1";
  std::string language;            // ISO-639-1 hint; empty: the engine detects it
  int64_t timeout_seconds = 1800;  // an engine that has not answered by then is tried again later
  size_t max_answer_bytes = size_t{64} << 20;
};

// Thread-safe. Errors: IoError when the engine cannot be reached, times out or answers 408, 429 or
// 5xx (the job retries); InvalidArgument when it refuses the audio with another 4xx (with its
// message); Corrupt when its answer is not the API's JSON (with what is wrong).
class HttpTranscriber : public Transcriber {
 public:
  explicit HttpTranscriber(HttpTranscriberOptions options) : options_(std::move(options)) {}
  Result<Transcript> Transcribe(const AudioSource& audio) override;

 private:
  const HttpTranscriberOptions options_;
};

}  // namespace recorder::server
