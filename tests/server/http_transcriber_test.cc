// The HTTP transcription engine against a stand-in for the OpenAI-compatible API written for the
// test (no model can be downloaded here): it checks the request as the API defines it (multipart
// file as 16 kHz mono 16-bit WAV holding the audio, with its pauses, model, verbose_json, word
// and segment timestamps, the Bearer key) and answers as OpenAI or whisper.cpp's server would:
// success in both shapes, 4xx (failed, not retried), 429 and 5xx and a slow answer past the
// timeout (retried), malformed JSON (failed with the reason), nobody listening (retried).
#include "transcribe/http_transcriber.h"

#include <httplib.h>

#include <atomic>
#include <cstring>
#include <thread>

#include "test_util.h"

namespace recorder::server::testing {
namespace {

constexpr int64_t kAudioMs = 2500;  // 1 s of tone, a 0.5 s pause, 1 s of tone

// 1 s of samples at 0 and 1 s more at 1.5 s (the pause becomes silence in the file).
Status TwoBursts(const webm::PcmSink& sink) {
  std::vector<int16_t> tone(kTranscribeSampleRate);
  for (size_t i = 0; i < tone.size(); ++i) tone[i] = static_cast<int16_t>(i % 64 < 32 ? 8000 : -8000);
  RETURN_IF_ERROR(sink(0, tone));
  return sink(1500000, tone);
}

class StandIn {
 public:
  // What the next request is answered with.
  std::atomic<int> status{200};
  std::string body;
  std::atomic<int> delay_ms{0};
  // What the last request held.
  std::string model, response_format, granularities, authorization;
  size_t wav_samples = 0;
  bool wav_ok = false;
  std::atomic<int> requests{0};

  StandIn() {
    server_.Post("/v1/audio/transcriptions", [this](const httplib::Request& req, httplib::Response& res) {
      ++requests;
      model = req.get_file_value("model").content;
      response_format = req.get_file_value("response_format").content;
      granularities.clear();
      for (const auto& [name, part] : req.files) {
        if (name == "timestamp_granularities[]") granularities += part.content + ",";
      }
      authorization = req.get_header_value("Authorization");
      const std::string wav = req.get_file_value("file").content;
      wav_ok = wav.size() >= 44 && wav.compare(0, 4, "RIFF") == 0 && wav.compare(8, 4, "WAVE") == 0 &&
               Le32(wav, 24) == 16000 && Le16(wav, 22) == 1 && Le16(wav, 34) == 16 && Le32(wav, 40) == wav.size() - 44;
      wav_samples = wav.size() >= 44 ? (wav.size() - 44) / 2 : 0;
      if (delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
      res.status = status;
      res.set_content(body, "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ~StandIn() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1/audio/transcriptions"; }

 private:
  static uint32_t Le32(const std::string& s, size_t at) {
    uint32_t v;
    std::memcpy(&v, s.data() + at, 4);
    return v;
  }
  static uint16_t Le16(const std::string& s, size_t at) {
    uint16_t v;
    std::memcpy(&v, s.data() + at, 2);
    return v;
  }
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

HttpTranscriber Engine(const StandIn& standin, int64_t timeout_seconds = 10) {
  HttpTranscriberOptions options;
  options.url = standin.url();
  options.api_key = "engine-key";
  options.model = "whisper-large-v3";
  options.timeout_seconds = timeout_seconds;
  return HttpTranscriber(options);
}

TEST(HttpTranscriberTest, SendsTheAudioAsTheApiSaysAndReadsOpenAisVerboseJson) {
  StandIn standin;
  standin.body = R"({"task":"transcribe","language":"english","duration":2.5,"text":" Hello there. Bye.",
    "segments":[{"id":0,"start":0.0,"end":1.0,"text":" Hello there.","avg_logprob":-0.2},
                {"id":1,"start":1.5,"end":2.5,"text":" Bye.","avg_logprob":-0.5}],
    "words":[{"word":"Hello","start":0.1,"end":0.4},{"word":"there.","start":0.5,"end":0.9},
             {"word":"Bye.","start":1.6,"end":2.0}]})";
  auto transcript = Engine(standin).Transcribe(TwoBursts);
  ASSERT_TRUE(transcript.ok()) << transcript.status().ToString();
  EXPECT_TRUE(standin.wav_ok) << "a 16 kHz mono 16-bit WAV";
  EXPECT_EQ(standin.wav_samples, static_cast<size_t>(kAudioMs * 16)) << "the pause is kept as silence";
  EXPECT_EQ(standin.model, "whisper-large-v3");
  EXPECT_EQ(standin.response_format, "verbose_json");
  EXPECT_EQ(standin.granularities, "segment,word,");
  EXPECT_EQ(standin.authorization, "Bearer engine-key");
  EXPECT_EQ(transcript->engine, "http:whisper-large-v3");
  EXPECT_EQ(transcript->language, "english");
  EXPECT_DOUBLE_EQ(transcript->audio_seconds, 2.5);
  ASSERT_EQ(transcript->segments.size(), 2u);
  EXPECT_EQ(transcript->segments[1].start_ms, 1500);
  EXPECT_EQ(transcript->segments[1].end_ms, 2500);
  EXPECT_EQ(transcript->segments[1].text, "Bye.");
  EXPECT_NEAR(transcript->segments[0].confidence, std::exp(-0.2), 1e-9);
  ASSERT_EQ(transcript->segments[0].words.size(), 2u) << "each word goes to the segment it starts in";
  EXPECT_EQ(transcript->segments[0].words[1].text, "there.");
  EXPECT_EQ(transcript->segments[0].words[1].start_ms, 500);
  ASSERT_EQ(transcript->segments[1].words.size(), 1u);
}

TEST(HttpTranscriberTest, ReadsWhisperCppsWordsInsideTheirSegments) {
  StandIn standin;
  standin.body = R"({"task":"transcribe","language":"en","duration":2.5,"text":"Hi all",
    "segments":[{"id":0,"text":" Hi all","start":0.0,"end":1.0,"avg_logprob":-0.1,"no_speech_prob":0.01,
      "words":[{"word":" Hi","start":0.0,"end":0.3,"probability":0.9},{"word":" all","start":0.3,"end":0.8,"probability":0.7}]}]})";
  auto transcript = Engine(standin).Transcribe(TwoBursts);
  ASSERT_TRUE(transcript.ok()) << transcript.status().ToString();
  ASSERT_EQ(transcript->segments.size(), 1u);
  ASSERT_EQ(transcript->segments[0].words.size(), 2u);
  EXPECT_EQ(transcript->segments[0].words[1].text, "all");
  EXPECT_DOUBLE_EQ(transcript->segments[0].words[1].confidence, 0.7);
  EXPECT_EQ(transcript->language, "en");
}

TEST(HttpTranscriberTest, ErrorsSayWhetherARetryCanHelp) {
  StandIn standin;
  struct Case {
    int status;
    std::string body;
    StatusCode code;
    std::string says;
  };
  for (const Case& c : std::vector<Case>{
           {400, R"({"error":{"message":"Invalid file format.","type":"invalid_request_error"}})",
            StatusCode::kInvalidArgument, "400: Invalid file format."},
           {401, R"({"error":{"message":"Incorrect API key provided"}})", StatusCode::kInvalidArgument, "401"},
           {413, "", StatusCode::kInvalidArgument, "413"},
           {429, R"({"error":{"message":"Rate limit reached"}})", StatusCode::kIoError, "Rate limit"},
           {500, "oops", StatusCode::kIoError, "500"},
           {503, "", StatusCode::kIoError, "503"},
           {200, "{not json", StatusCode::kCorrupt, "not the API's JSON"},
           {200, R"(["a list"])", StatusCode::kCorrupt, "not the API's JSON"},
           {200, R"({"segments":[{"start":"zero","end":1,"text":"x"}]})", StatusCode::kCorrupt, "segment"},
           {200, R"({"segments":[{"start":2,"end":1,"text":"x"}]})", StatusCode::kCorrupt, "segment"},
           {200, R"({"segments":[],"words":[{"word":"x","start":-1,"end":1}]})", StatusCode::kCorrupt, "word"},
       }) {
    standin.status = c.status;
    standin.body = c.body;
    auto transcript = Engine(standin).Transcribe(TwoBursts);
    ASSERT_FALSE(transcript.ok()) << c.status << " " << c.body;
    EXPECT_EQ(transcript.status().code(), c.code)
        << c.status << " " << c.body << ": " << transcript.status().ToString();
    EXPECT_NE(transcript.status().message().find(c.says), std::string::npos) << transcript.status().ToString();
  }
}

TEST(HttpTranscriberTest, ASlowEngineTimesOutAndAMissingOneIsRetriedLater) {
  StandIn standin;
  standin.body = R"({"text":"late","segments":[]})";
  standin.delay_ms = 2500;
  auto slow = Engine(standin, /*timeout_seconds=*/1).Transcribe(TwoBursts);
  ASSERT_FALSE(slow.ok());
  EXPECT_EQ(slow.status().code(), StatusCode::kIoError) << slow.status().ToString();
  EXPECT_NE(slow.status().message().find("did not answer"), std::string::npos) << slow.status().ToString();

  HttpTranscriberOptions nobody;
  nobody.url = "http://127.0.0.1:1/v1/audio/transcriptions";
  auto missing = HttpTranscriber(nobody).Transcribe(TwoBursts);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kIoError);

  // Text without segments is one segment over the audio; no audio is not sent at all.
  standin.delay_ms = 0;
  auto text_only = Engine(standin).Transcribe(TwoBursts);
  ASSERT_TRUE(text_only.ok()) << text_only.status().ToString();
  ASSERT_EQ(text_only->segments.size(), 1u);
  EXPECT_EQ(text_only->segments[0].end_ms, kAudioMs);
  const int before = standin.requests;
  auto silent = Engine(standin).Transcribe([](const webm::PcmSink&) { return Status::Ok(); });
  ASSERT_TRUE(silent.ok());
  EXPECT_TRUE(silent->segments.empty());
  EXPECT_EQ(standin.requests, before);
}

}  // namespace
}  // namespace recorder::server::testing
