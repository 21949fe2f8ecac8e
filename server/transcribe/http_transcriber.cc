#include "transcribe/http_transcriber.h"

#include <curl/curl.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "base/curl_ready.h"

namespace recorder::server {

namespace {

using nlohmann::json;

// A WAV file in the temporary folder, removed with this object.
class TempWav {
 public:
  static Result<std::unique_ptr<TempWav>> Create() {
    std::string path = (std::filesystem::temp_directory_path() / "recorder-audio-XXXXXX").string();
    const int fd = mkstemp(path.data());
    if (fd < 0) return IoError("cannot create a temporary file for the audio");
    FILE* file = fdopen(fd, "w+b");
    if (!file) {
      close(fd);
      return IoError("cannot open the temporary audio file");
    }
    auto wav = std::unique_ptr<TempWav>(new TempWav(path, file));
    RETURN_IF_ERROR(wav->WriteHeader());  // sizes filled in by Finish
    return wav;
  }
  ~TempWav() {
    if (file_) std::fclose(file_);
    std::remove(path_.c_str());
  }

  // Appends samples at `start_us`, with silence for a pause in the stream, so times stay true.
  Status Add(int64_t start_us, std::span<const int16_t> samples) {
    const int64_t at = start_us * kTranscribeSampleRate / 1000000;
    static constexpr int16_t kSilence[4096] = {};
    while (samples_ < at) {
      const size_t n = static_cast<size_t>(std::min<int64_t>(at - samples_, std::size(kSilence)));
      RETURN_IF_ERROR(Write(kSilence, n));
    }
    return Write(samples.data(), samples.size());
  }

  Status Finish() {
    if (std::fflush(file_) != 0 || std::fseek(file_, 0, SEEK_SET) != 0) return IoError("cannot write the audio");
    return WriteHeader();
  }

  const std::string& path() const { return path_; }
  int64_t samples() const { return samples_; }

 private:
  TempWav(std::string path, FILE* file) : path_(std::move(path)), file_(file) {}

  Status Write(const int16_t* samples, size_t n) {
    // The engines read little-endian PCM, which is this machine's order (x86, ARM).
    if (std::fwrite(samples, sizeof(int16_t), n, file_) != n) return IoError("cannot write the audio");
    samples_ += static_cast<int64_t>(n);
    return Status::Ok();
  }

  Status WriteHeader() {
    const uint32_t data_bytes = static_cast<uint32_t>(std::min<int64_t>(samples_ * 2, UINT32_MAX - 36));
    auto u32 = [](uint32_t v) { return std::string{char(v), char(v >> 8), char(v >> 16), char(v >> 24)}; };
    auto u16 = [](uint16_t v) { return std::string{char(v), char(v >> 8)}; };
    const std::string header = "RIFF" + u32(36 + data_bytes) + "WAVEfmt " + u32(16) + u16(1) + u16(1) +
                               u32(kTranscribeSampleRate) + u32(kTranscribeSampleRate * 2) + u16(2) + u16(16) + "data" +
                               u32(data_bytes);
    if (std::fwrite(header.data(), 1, header.size(), file_) != header.size() || std::fflush(file_) != 0) {
      return IoError("cannot write the audio");
    }
    return Status::Ok();
  }

  std::string path_;
  FILE* file_;
  int64_t samples_ = 0;
};

struct Answer {
  std::string body;
  size_t limit = 0;
  bool too_long = false;
};

size_t Collect(char* data, size_t size, size_t count, void* user) {
  auto* answer = static_cast<Answer*>(user);
  if (answer->body.size() + size * count > answer->limit) {
    answer->too_long = true;
    return 0;  // stops the transfer
  }
  answer->body.append(data, size * count);
  return size * count;
}

// A time in seconds as the API gives it -> ms; false when it is not a finite number >= 0.
bool Ms(const json& value, int64_t* ms) {
  if (!value.is_number()) return false;
  const double seconds = value.get<double>();
  if (!std::isfinite(seconds) || seconds < 0 || seconds > 1e7) return false;
  *ms = std::llround(seconds * 1000);
  return true;
}

std::string Trimmed(const std::string& text) {
  const size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return "";
  return text.substr(first, text.find_last_not_of(" \t\r\n") - first + 1);
}

Result<TranscriptWord> ReadWord(const json& w) {
  TranscriptWord word;
  if (!w.is_object() || !w.contains("word") || !w["word"].is_string() ||
      !Ms(w.value("start", json()), &word.start_ms) || !Ms(w.value("end", json()), &word.end_ms) ||
      word.end_ms < word.start_ms) {
    return Corrupt("a word without text, start or end");
  }
  word.text = Trimmed(w["word"].get<std::string>());
  if (w.contains("probability") && w["probability"].is_number()) {
    word.confidence = std::clamp(w["probability"].get<double>(), 0.0, 1.0);
  }
  return word;
}

// The verbose_json answer -> segments with words.
Result<std::vector<TranscriptSegment>> ReadSegments(const json& answer, double audio_seconds) {
  std::vector<TranscriptSegment> segments;
  const json& list = answer.contains("segments") ? answer["segments"] : json::array();
  if (!list.is_array()) return Corrupt("\"segments\" is not a list");
  for (const json& s : list) {
    TranscriptSegment segment;
    if (!s.is_object() || !s.contains("text") || !s["text"].is_string() ||
        !Ms(s.value("start", json()), &segment.start_ms) || !Ms(s.value("end", json()), &segment.end_ms) ||
        segment.end_ms < segment.start_ms) {
      return Corrupt("a segment without text, start or end");
    }
    segment.text = Trimmed(s["text"].get<std::string>());
    if (s.contains("avg_logprob") && s["avg_logprob"].is_number()) {
      segment.confidence = std::clamp(std::exp(s["avg_logprob"].get<double>()), 0.0, 1.0);
    }
    for (const json& w : s.value("words", json::array())) {
      auto word = ReadWord(w);
      if (!word.ok()) return word.status();
      segment.words.push_back(std::move(word.value()));
    }
    segments.push_back(std::move(segment));
  }
  // OpenAI gives the words beside the segments: each goes to the segment it starts in.
  if (answer.contains("words")) {
    if (!answer["words"].is_array()) return Corrupt("\"words\" is not a list");
    size_t i = 0;
    for (const json& w : answer["words"]) {
      auto word = ReadWord(w);
      if (!word.ok()) return word.status();
      while (i + 1 < segments.size() && word->start_ms >= segments[i + 1].start_ms) ++i;
      if (!segments.empty()) segments[i].words.push_back(std::move(word.value()));
    }
  }
  // Only text: one segment over the whole audio.
  if (segments.empty() && answer.contains("text") && answer["text"].is_string()) {
    std::string text = Trimmed(answer["text"].get<std::string>());
    if (!text.empty()) segments.push_back({0, std::llround(audio_seconds * 1000), text, 0, {}});
  }
  return segments;
}

}  // namespace

Result<Transcript> HttpTranscriber::Transcribe(const AudioSource& audio) {
  EnsureCurlReady();
  auto wav = TempWav::Create();
  if (!wav.ok()) return wav.status();
  TempWav& file = **wav;
  RETURN_IF_ERROR(
      audio([&](int64_t start_us, std::span<const int16_t> samples) { return file.Add(start_us, samples); }));
  RETURN_IF_ERROR(file.Finish());
  Transcript transcript;
  transcript.engine = "http:" + options_.model;
  transcript.language = options_.language;
  transcript.audio_seconds = static_cast<double>(file.samples()) / kTranscribeSampleRate;
  if (file.samples() == 0) return transcript;  // nothing to send

  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) return IoError("curl_easy_init failed");
  CURL* c = curl.get();
  std::unique_ptr<curl_mime, decltype(&curl_mime_free)> form(curl_mime_init(c), curl_mime_free);
  auto field = [&](const char* name, const std::string& value) {
    curl_mimepart* part = curl_mime_addpart(form.get());
    curl_mime_name(part, name);
    curl_mime_data(part, value.c_str(), value.size());
  };
  curl_mimepart* part = curl_mime_addpart(form.get());
  curl_mime_name(part, "file");
  curl_mime_filedata(part, file.path().c_str());
  curl_mime_filename(part, "audio.wav");
  curl_mime_type(part, "audio/wav");
  field("model", options_.model);
  field("response_format", "verbose_json");
  field("timestamp_granularities[]", "segment");
  field("timestamp_granularities[]", "word");
  if (!options_.language.empty()) field("language", options_.language);

  curl_slist* headers = nullptr;
  if (!options_.api_key.empty())
    headers = curl_slist_append(headers, ("Authorization: Bearer " + options_.api_key).c_str());
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> header_list(headers, curl_slist_free_all);
  Answer answer;
  answer.limit = options_.max_answer_bytes;
  curl_easy_setopt(c, CURLOPT_URL, options_.url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_MIMEPOST, form.get());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "interview-recorder/1");
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, static_cast<long>(options_.timeout_seconds));
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, Collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &answer);
  const CURLcode sent = curl_easy_perform(c);
  if (answer.too_long) return Corrupt("the engine's answer is over " + std::to_string(answer.limit) + " bytes");
  if (sent != CURLE_OK) return IoError(std::string("the engine did not answer: ") + curl_easy_strerror(sent));
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);

  const json parsed = json::parse(answer.body, nullptr, false);
  if (status < 200 || status >= 300) {
    std::string message = "the engine answered " + std::to_string(status);
    if (parsed.is_object() && parsed.contains("error")) {
      const json& error = parsed["error"];
      const json& text = error.is_object() ? error.value("message", json()) : error;
      if (text.is_string()) message += ": " + text.get<std::string>().substr(0, 300);
    }
    if (status == 408 || status == 429 || status >= 500) return IoError(message);
    return InvalidArgument(message);
  }
  if (!parsed.is_object()) return Corrupt("the engine's answer is not the API's JSON object");
  auto segments = ReadSegments(parsed, transcript.audio_seconds);
  if (!segments.ok()) return Corrupt("the engine's answer: " + segments.status().message());
  transcript.segments = std::move(segments.value());
  if (parsed.contains("language") && parsed["language"].is_string()) {
    transcript.language = parsed["language"].get<std::string>().substr(0, 40);
  }
  return transcript;
}

}  // namespace recorder::server
