// Audio extraction (webm::DecodeOpusAudio) and the built-in transcription engine on real speech:
// five LibriVox sentences with a known text (tests/media/librivox), encoded by the recorder core
// as a browser would, decoded back and transcribed. Checks the decoded audio against the source
// (duration, loudness envelope) and the transcript against the text (word error rate, times).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>

#include "index/sqlite/sqlite_index.h"
#include "ingest/ingest.h"
#include "jobs/finalize_job.h"
#include "jobs/transcribe_job.h"
#include "recorder/media_io.h"
#include "server_fixture.h"
#include "test_support.h"
#include "test_util.h"
#include "transcribe/pocketsphinx_transcriber.h"
#include "webm/opus_audio.h"

namespace recorder::server {
namespace {

using recorder::testing::Chunk;
using recorder::testing::CollectingSink;
using recorder::testing::PrepareMedia;
using recorder::testing::WorkDir;
using recorder::testing::WriteChunks;

constexpr int kClips = 5;
constexpr double kPauseSeconds = 1.0;  // silence after each sentence
const char* const kClipNames[kClips] = {"0870", "0880", "0890", "0920", "0930"};
// The bound on PocketSphinx's word error rate on these sentences after the core's Opus (measured:
// 0.38 over 71 words; PocketSphinx's own test-lm.match for the uncompressed clips is about 0.3).
constexpr double kMaxWordErrorRate = 0.45;

std::string ClipPath(int i) {
  return std::string(RECORDER_TEST_MEDIA "/librivox/sense_and_sensibility_01_austen_64kb-") + kClipNames[i] + ".wav";
}

double ClipSeconds(int i) {
  auto wav = ReadWav(ClipPath(i));
  return wav.ok() ? static_cast<double>(wav->frames()) / wav->sample_rate : -1;
}

// Where each sentence starts in the joined speech.
std::vector<double> ClipStarts() {
  std::vector<double> starts;
  double t = 0;
  for (int i = 0; i < kClips; ++i) {
    starts.push_back(t);
    t += ClipSeconds(i) + kPauseSeconds;
  }
  return starts;
}

// The five sentences, each followed by a pause, at `rate` Hz: 48 kHz float WAV (what a browser's
// audio path gives the core) or 16 kHz s16 raw (the reference for the decoded audio).
std::string JoinedSpeech(bool for_core) {
  std::string args, filter, labels;
  for (int i = 0; i < kClips; ++i) {
    args += "-i '" + ClipPath(i) + "' ";
    filter +=
        "[" + std::to_string(i) + "]apad=pad_dur=" + std::to_string(kPauseSeconds) + "[a" + std::to_string(i) + "];";
    labels += "[a" + std::to_string(i) + "]";
  }
  filter += labels + "concat=n=" + std::to_string(kClips) + ":v=0:a=1";
  return for_core
             ? PrepareMedia("librivox_48k_f32.wav",
                            args + "-filter_complex '" + filter + "' -ar 48000 -ac 1 -c:a pcm_f32le")
             : PrepareMedia("librivox_16k_s16.raw", args + "-filter_complex '" + filter + "' -ar 16000 -ac 1 -f s16le");
}

// The joined speech recorded by the core (audio only, default settings) as a WebM file.
std::string RecordedSpeech() {
  const std::string path = WorkDir() + "/librivox_recorded.webm";
  if (std::ifstream(path).good()) return path;
  auto wav = ReadWav(JoinedSpeech(true));
  if (!wav.ok()) return "";
  CollectingSink sink;
  RecorderConfig config;
  config.audio = AudioConfig{};
  auto rec = Recorder::Create(config, &sink);
  if (!rec.ok()) return "";
  constexpr int kBlock = 480;
  for (int64_t pos = 0; pos < wav->frames(); pos += kBlock) {
    const int n = static_cast<int>(std::min<int64_t>(kBlock, wav->frames() - pos));
    if (!(*rec)->AddAudio(wav->samples.data() + pos, n, 5'000'000 + pos * 1000000 / 48000).ok()) return "";
  }
  if (!(*rec)->Stop().ok()) return "";
  WriteChunks(sink.chunks, 0, false, path);
  return path;
}

std::vector<std::string> Words(const std::string& text) {
  std::vector<std::string> words;
  std::istringstream in(text);
  for (std::string w; in >> w;) {
    if (w == "<s>" || w == "</s>" || w.front() == '(') continue;
    std::transform(w.begin(), w.end(), w.begin(), [](unsigned char c) { return std::tolower(c); });
    words.push_back(w);
  }
  return words;
}

// The known text, sentence by sentence ("<s> words </s> (file-id)" per line).
std::vector<std::vector<std::string>> ReferenceSentences() {
  std::ifstream in(RECORDER_TEST_MEDIA "/librivox/transcription");
  std::vector<std::vector<std::string>> sentences;
  for (std::string line; std::getline(in, line);) sentences.push_back(Words(line));
  return sentences;
}

// Word-level Levenshtein distance over the reference length.
double WordErrorRate(const std::vector<std::string>& ref, const std::vector<std::string>& hyp) {
  std::vector<size_t> row(hyp.size() + 1);
  for (size_t j = 0; j <= hyp.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= ref.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= hyp.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (ref[i - 1] == hyp[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return static_cast<double>(row[hyp.size()]) / static_cast<double>(std::max<size_t>(ref.size(), 1));
}

AudioSource FileAudio(const std::string& path) {
  return [path](const webm::PcmSink& sink) -> Status {
    auto reader = OpenFileReader(path);
    if (!reader.ok()) return reader.status();
    auto decoded = webm::DecodeOpusAudio(**reader, kTranscribeSampleRate, sink);
    return decoded.ok() ? Status::Ok() : decoded.status();
  };
}

// Mean square per 20 ms window.
std::vector<double> Envelope(const std::vector<int16_t>& pcm) {
  constexpr size_t kWindow = kTranscribeSampleRate / 50;
  std::vector<double> out;
  for (size_t start = 0; start + kWindow <= pcm.size(); start += kWindow) {
    double sum = 0;
    for (size_t i = start; i < start + kWindow; ++i) sum += static_cast<double>(pcm[i]) * pcm[i];
    out.push_back(sum / kWindow);
  }
  return out;
}

double Correlation(const std::vector<double>& a, const std::vector<double>& b, int lag) {
  double sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
  size_t n = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const int64_t j = static_cast<int64_t>(i) + lag;
    if (j < 0 || j >= static_cast<int64_t>(b.size())) continue;
    sa += a[i], sb += b[j], saa += a[i] * a[i], sbb += b[j] * b[j], sab += a[i] * b[j], ++n;
  }
  const double cov = sab - sa * sb / n, va = saa - sa * sa / n, vb = sbb - sb * sb / n;
  return cov / std::sqrt(va * vb);
}

TEST(OpusAudioTest, DecodedSpeechLastsAsLongAsTheSourceAndFollowsItsLoudness) {
  const std::string webm = RecordedSpeech();
  ASSERT_FALSE(webm.empty());
  std::ifstream raw(JoinedSpeech(false), std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(raw)), std::istreambuf_iterator<char>());
  std::vector<int16_t> source(bytes.size() / 2);
  std::memcpy(source.data(), bytes.data(), source.size() * 2);
  ASSERT_GT(source.size(), 20u * kTranscribeSampleRate);

  std::vector<int16_t> decoded;
  int64_t expected_us = -1;
  int64_t first_us = -1;
  int64_t jumps = 0;
  auto reader = OpenFileReader(webm);
  ASSERT_TRUE(reader.ok());
  auto summary =
      webm::DecodeOpusAudio(**reader, kTranscribeSampleRate, [&](int64_t start_us, std::span<const int16_t> s) {
        if (first_us < 0) first_us = start_us;
        if (expected_us >= 0 && std::llabs(start_us - expected_us) > 1000) ++jumps;
        expected_us = start_us + static_cast<int64_t>(s.size()) * 1000000 / kTranscribeSampleRate;
        decoded.insert(decoded.end(), s.begin(), s.end());
        return Status::Ok();
      });
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_EQ(jumps, 0) << "a continuous recording decodes as one run";
  EXPECT_LT(first_us, 10'000) << "the recording's audio starts at its start";
  EXPECT_EQ(summary->lost_packets, 0u);
  EXPECT_EQ(summary->samples, decoded.size());
  const double source_s = static_cast<double>(source.size()) / kTranscribeSampleRate;
  const double decoded_s = static_cast<double>(decoded.size()) / kTranscribeSampleRate;
  std::printf("source %.3f s, decoded %.3f s in %llu packets\n", source_s, decoded_s,
              static_cast<unsigned long long>(summary->packets));
  EXPECT_NEAR(decoded_s, source_s, 0.04);

  // The loudness envelopes line up (no shift) and agree.
  const std::vector<double> a = Envelope(source), b = Envelope(decoded);
  int best_lag = 0;
  double best = -1;
  for (int lag = -10; lag <= 10; ++lag) {
    const double c = Correlation(a, b, lag);
    if (c > best) best = c, best_lag = lag;
  }
  std::printf("envelope correlation %.3f at a lag of %d x 20 ms\n", best, best_lag);
  EXPECT_EQ(best_lag, 0);
  EXPECT_GT(best, 0.9);
}

TEST(OpusAudioTest, RefusesWhatIsNotAWebmWithOpus) {
  auto decode = [](const std::vector<uint8_t>& bytes, int rate) {
    MemoryReader reader(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
    return webm::DecodeOpusAudio(reader, rate, [](int64_t, std::span<const int16_t>) { return Status::Ok(); });
  };
  EXPECT_EQ(decode(std::vector<uint8_t>(1000, 0x42), 16000).status().code(), StatusCode::kCorrupt);
  std::ifstream in(RecordedSpeech(), std::ios::binary);
  std::vector<uint8_t> webm((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GT(webm.size(), 10000u);
  EXPECT_EQ(decode(webm, 44100).status().code(), StatusCode::kInvalidArgument);
  // Cut in the middle: what is there decodes.
  webm.resize(webm.size() / 2);
  auto half = decode(webm, 16000);
  ASSERT_TRUE(half.ok()) << half.status().ToString();
  EXPECT_GT(half->end_us, 8'000'000);
  EXPECT_LT(half->end_us, 20'000'000);
}

TEST(OpusAudioTest, AFileWithoutAudioIsNotFound) {
  const std::string video = PrepareMedia(
      "video_only.webm", "-i '" RECORDER_TEST_MEDIA "/akiyo_cif.mp4' -t 1 -c:v libvpx-vp9 -deadline realtime -an");
  ASSERT_FALSE(video.empty());
  auto reader = OpenFileReader(video);
  ASSERT_TRUE(reader.ok());
  auto r = webm::DecodeOpusAudio(**reader, 16000, [](int64_t, std::span<const int16_t>) { return Status::Ok(); });
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound) << r.status().ToString();
}

TEST(PocketSphinxTest, TranscribesRecordedSpeechWithinTheWordErrorBoundAndPutsEachWordInItsSentence) {
  const std::string webm = RecordedSpeech();
  ASSERT_FALSE(webm.empty());
  PocketSphinxTranscriber engine({});
  auto transcript = engine.Transcribe(FileAudio(webm));
  ASSERT_TRUE(transcript.ok()) << transcript.status().ToString();
  EXPECT_EQ(transcript->engine, "pocketsphinx");
  EXPECT_NEAR(transcript->audio_seconds, ClipStarts().back() + ClipSeconds(kClips - 1) + kPauseSeconds, 0.1);

  const std::vector<double> starts = ClipStarts();
  const auto sentences = ReferenceSentences();
  ASSERT_EQ(sentences.size(), static_cast<size_t>(kClips));
  std::vector<std::vector<std::string>> heard(kClips);
  int64_t previous_end = 0;
  for (const TranscriptSegment& segment : transcript->segments) {
    std::printf("[%6.2f - %6.2f] (%.2f) %s\n", segment.start_ms / 1000.0, segment.end_ms / 1000.0, segment.confidence,
                segment.text.c_str());
    EXPECT_LE(previous_end, segment.start_ms) << "segments in order, not overlapping";
    EXPECT_LT(segment.start_ms, segment.end_ms);
    previous_end = segment.end_ms;
    for (const TranscriptWord& word : segment.words) {
      EXPECT_LE(segment.start_ms, word.start_ms);
      EXPECT_LE(word.end_ms, segment.end_ms);
      EXPECT_GE(word.confidence, 0.0);
      EXPECT_LE(word.confidence, 1.0);
      // Each word falls within its sentence's time in the joined speech (0.3 s of slack).
      const double mid = (word.start_ms + word.end_ms) / 2000.0;
      int clip = static_cast<int>(std::upper_bound(starts.begin(), starts.end(), mid) - starts.begin()) - 1;
      ASSERT_GE(clip, 0);
      EXPECT_LE(mid, starts[clip] + ClipSeconds(clip) + 0.3) << word.text << " at " << mid << " s is in a pause";
      heard[clip].push_back(word.text);
    }
  }
  std::vector<std::string> ref_all, hyp_all;
  for (int i = 0; i < kClips; ++i) {
    const double wer = WordErrorRate(sentences[i], heard[i]);
    std::printf("sentence %d: word error rate %.2f\n", i + 1, wer);
    ref_all.insert(ref_all.end(), sentences[i].begin(), sentences[i].end());
    hyp_all.insert(hyp_all.end(), heard[i].begin(), heard[i].end());
  }
  const double wer = WordErrorRate(ref_all, hyp_all);
  std::printf("word error rate %.3f over %zu words (bound %.2f)\n", wer, ref_all.size(), kMaxWordErrorRate);
  EXPECT_LE(wer, kMaxWordErrorRate);
}

// A stream that pauses (the microphone stalled for 5 s): the words after the pause are timed
// after it, not glued to the words before.
TEST(PocketSphinxTest, APauseInTheStreamKeepsTheTimesOfTheWordsAfterIt) {
  std::ifstream raw(JoinedSpeech(false), std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(raw)), std::istreambuf_iterator<char>());
  std::vector<int16_t> pcm(bytes.size() / 2);
  std::memcpy(pcm.data(), bytes.data(), pcm.size() * 2);
  const double second_start = ClipStarts()[1];
  const size_t cut = static_cast<size_t>(second_start * kTranscribeSampleRate);
  const size_t end = static_cast<size_t>(ClipStarts()[2] * kTranscribeSampleRate);
  ASSERT_LT(end, pcm.size());
  constexpr int64_t kStallUs = 5'000'000;
  AudioSource audio = [&](const webm::PcmSink& sink) -> Status {
    for (size_t pos = 0; pos < end; pos += 320) {
      const size_t n = std::min<size_t>(320, end - pos);
      const int64_t t = static_cast<int64_t>(pos) * 1000000 / kTranscribeSampleRate + (pos >= cut ? kStallUs : 0);
      if (Status s = sink(t, std::span<const int16_t>(pcm.data() + pos, n)); !s.ok()) return s;
    }
    return Status::Ok();
  };
  PocketSphinxTranscriber engine({});
  auto transcript = engine.Transcribe(audio);
  ASSERT_TRUE(transcript.ok()) << transcript.status().ToString();
  ASSERT_GE(transcript->segments.size(), 2u);
  const TranscriptSegment& last = transcript->segments.back();
  std::printf("last segment [%.2f - %.2f] %s\n", last.start_ms / 1000.0, last.end_ms / 1000.0, last.text.c_str());
  // "he was not an ill disposed young man" starts at second_start + the stall.
  EXPECT_NEAR(last.start_ms / 1000.0, second_start + kStallUs / 1e6, 0.5);
  EXPECT_LT(transcript->segments.front().end_ms / 1000.0, second_start);
}

TEST(PocketSphinxTest, AMissingModelIsAClearError) {
  PocketSphinxTranscriber engine({.model_dir = "/nonexistent/model"});
  auto transcript = engine.Transcribe([](const webm::PcmSink&) { return Status::Ok(); });
  ASSERT_FALSE(transcript.ok());
  EXPECT_NE(transcript.status().message().find("/nonexistent/model"), std::string::npos)
      << transcript.status().ToString();
}

// The pipeline's first stage on the real parts: a recording uploaded through Ingest, finalized
// (which queues its transcription in the same transaction), transcribed, stored in the index.
class TranscribeJobTest : public ::testing::Test {
 protected:
  void SetUp() override {
    index_ = std::move(SqliteIndex::Open((dir_.path() / "db").string()).value());
    fs::create_directory(data_);
    spool_ = std::make_unique<FileUploadStore>(data_, &posix_);
    media_ = std::make_unique<FileMediaStore>(data_, &posix_);
    ingest_ = std::make_unique<Ingest>(IngestOptions{}, index_.get(), spool_.get(), media_.get(), &clock_, &metrics_,
                                       nullptr);
  }

  // Uploads and finalizes `path`; returns the ready recording's id.
  int64_t ReadyRecording(const std::string& path, RecordingKind kind) {
    std::ifstream in(path, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto created = ingest_->CreateSession("Jane Doe", "", "");
    Session session = ingest_->Authenticate(created->upload_token).value();
    auto upload = ingest_->CreateUpload(session, bytes.size(), kind, "");
    EXPECT_TRUE(ingest_->Append(session, upload->id, 0, std::nullopt, bytes, std::nullopt).ok());
    WebmFinalizer finalizer;
    FinalizeJob finalize(index_.get(), spool_.get(), media_.get(), &finalizer, &clock_, &metrics_,
                         [](int64_t id) { return std::vector<NewJob>{TranscribeJob::For(id)}; });
    auto job = index_->ClaimJob(FinalizeJob::kKind, "test", clock_.NowSeconds(), 60);
    EXPECT_TRUE(job.ok() && job->has_value());
    EXPECT_EQ(finalize.Run(**job).outcome, JobOutcome::kDone);
    return upload->recording_id;
  }

  // Claims the queued transcribe job and runs it with `engine`.
  JobResult RunTranscribe(Transcriber& engine) {
    auto job = index_->ClaimJob(TranscribeJob::kKind, "test", clock_.NowSeconds(), 60);
    EXPECT_TRUE(job.ok() && job->has_value()) << "finalize queued the transcription";
    if (!job.ok() || !job->has_value()) return JobResult::Failed("no job");
    TranscribeJob transcribe(index_.get(), index_.get(), media_.get(), &engine, &clock_);
    return transcribe.Run(**job);
  }

  recorder::server::testing::TempDir dir_;
  fs::path data_ = dir_.path() / "data";
  PosixFileSystem posix_;
  ManualClock clock_{1767268800};
  Metrics metrics_;
  std::unique_ptr<SqliteIndex> index_;
  std::unique_ptr<FileUploadStore> spool_;
  std::unique_ptr<FileMediaStore> media_;
  std::unique_ptr<Ingest> ingest_;
};

TEST_F(TranscribeJobTest, AReadyRecordingIsTranscribedOnceEvenWhenTheJobRunsAgain) {
  const int64_t id = ReadyRecording(RecordedSpeech(), RecordingKind::kCamera);
  PocketSphinxTranscriber engine({});
  ASSERT_EQ(RunTranscribe(engine).outcome, JobOutcome::kDone);
  auto stored = index_->GetTranscript(id);
  ASSERT_TRUE(stored.ok()) << stored.status().ToString();
  EXPECT_EQ(stored->engine, "pocketsphinx");
  std::vector<std::string> heard, said;
  for (const auto& segment : stored->segments) {
    for (const auto& word : segment.words) heard.push_back(word.text);
  }
  for (const auto& sentence : ReferenceSentences()) said.insert(said.end(), sentence.begin(), sentence.end());
  EXPECT_LE(WordErrorRate(said, heard), kMaxWordErrorRate);

  // Run again, as after a crash between storing and completing: one transcript, the same one.
  TranscribeJob again(index_.get(), index_.get(), media_.get(), &engine, &clock_);
  Job job;
  job.kind = TranscribeJob::kKind;
  job.subject = JobSubject::Recording(id);
  ASSERT_EQ(again.Run(job).outcome, JobOutcome::kDone);
  auto restored = index_->GetTranscript(id);
  ASSERT_TRUE(restored.ok());
  ASSERT_EQ(restored->segments.size(), stored->segments.size());
  for (size_t i = 0; i < stored->segments.size(); ++i) {
    EXPECT_EQ(restored->segments[i].text, stored->segments[i].text);
    EXPECT_EQ(restored->segments[i].words.size(), stored->segments[i].words.size());
  }
}

TEST_F(TranscribeJobTest, ARecordingWithoutAudioEndsWithoutATranscript) {
  const std::string video = PrepareMedia(
      "video_only.webm", "-i '" RECORDER_TEST_MEDIA "/akiyo_cif.mp4' -t 1 -c:v libvpx-vp9 -deadline realtime -an");
  const int64_t id = ReadyRecording(video, RecordingKind::kScreen);
  PocketSphinxTranscriber engine({});
  EXPECT_EQ(RunTranscribe(engine).outcome, JobOutcome::kDone);
  EXPECT_EQ(index_->GetTranscript(id).status().code(), StatusCode::kNotFound);
}

// An engine that fails as told: the job's verdict depends on the kind of failure.
class FailingEngine : public Transcriber {
 public:
  explicit FailingEngine(Status status) : status_(std::move(status)) {}
  Result<Transcript> Transcribe(const AudioSource&) override { return status_; }

 private:
  Status status_;
};

TEST_F(TranscribeJobTest, AnEngineThatDidNotAnswerIsRetriedAndRefusedAudioFails) {
  ReadyRecording(RecordedSpeech(), RecordingKind::kCamera);
  FailingEngine unreachable(IoError("connection refused"));
  JobResult retried = RunTranscribe(unreachable);
  EXPECT_EQ(retried.outcome, JobOutcome::kRetry);
  EXPECT_NE(retried.error.find("connection refused"), std::string::npos);

  const int64_t id = ReadyRecording(RecordedSpeech(), RecordingKind::kCamera);
  FailingEngine refusing(InvalidArgument("audio too long"));
  auto job = index_->ClaimJob(TranscribeJob::kKind, "test", clock_.NowSeconds() + 10000, 60);
  ASSERT_TRUE(job.ok() && job->has_value());
  TranscribeJob transcribe(index_.get(), index_.get(), media_.get(), &refusing, &clock_);
  JobResult failed = transcribe.Run(**job);
  EXPECT_EQ(failed.outcome, JobOutcome::kFailed);
  EXPECT_NE(failed.error.find("audio too long"), std::string::npos);
  EXPECT_EQ(index_->GetTranscript(id).status().code(), StatusCode::kNotFound);
}

// The host API's transcript, from a recording uploaded over tus to the running server. The
// transcription runs at nice 10: next to a busy build or other tests it can take minutes.
class TranscriptApiTest : public recorder::server::testing::ServerTest {};

TEST_F(TranscriptApiTest, TheHostReadsTheTranscriptAsJsonAndAsWebVttCaptions) {
  config_.transcriber = "pocketsphinx";
  config_.ingest.max_upload_size = 64 << 20;
  config_.max_request_bytes = 64 << 20;
  Start(std::make_unique<WebmFinalizer>());
  std::ifstream in(RecordedSpeech(), std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const httplib::Headers key = {{"Authorization", "Bearer test-api-key"}};
  const nlohmann::json questions = {{{"id", "first"}, {"text", "Read the first half."}},
                                    {{"id", "second"}, {"text", "Read the second half."}}};
  auto created =
      http().Post("/api/v1/sessions", key,
                  nlohmann::json{{"candidate_name", "Jane Doe"}, {"questions", questions}}.dump(), "application/json");
  ASSERT_TRUE(created && created->status == 201);
  const std::string id = nlohmann::json::parse(created->body)["session_id"];
  const std::string token = nlohmann::json::parse(created->body)["upload_token"];
  const std::string url = NewUpload(token, bytes.size(), "camera", {{"start_ms", "2000"}});
  auto patched = Patch(token, url, 0, bytes);
  ASSERT_TRUE(patched && patched->status == 204) << (patched ? patched->body : "no response");
  // The page's question markers on the session clock (the recording starts at 2000 ms): the
  // answers split there.
  constexpr int64_t kSplitMs = 2000 + 15000;
  auto edge = [](int n, const char* edge, int64_t ms) {
    return nlohmann::json{{"id", std::string(edge) + std::to_string(n)},
                          {"type", "marker"},
                          {"label", "question_" + std::to_string(n) + "_" + edge},
                          {"recording_time_ms", ms},
                          {"data", {{"question", n}, {"edge", edge}, {"question_id", n == 1 ? "first" : "second"}}}};
  };
  nlohmann::json events = {edge(1, "start", 2000), edge(1, "end", kSplitMs), edge(2, "start", kSplitMs + 1),
                           edge(2, "end", 2000 + 40000)};
  auto marked = http().Post(("/api/v1/sessions/" + id + "/events").c_str(), {{"Authorization", "Bearer " + token}},
                            nlohmann::json{{"events", events}}.dump(), "application/json");
  ASSERT_TRUE(marked && marked->status == 201);
  const std::string path = "/api/v1/sessions/" + id + "/transcript";

  nlohmann::json body;
  ASSERT_TRUE(recorder::server::testing::WaitFor(
      [&] {
        auto res = http().Get(path, key);
        if (!res || res->status != 200) return false;
        body = nlohmann::json::parse(res->body);
        return !body["recordings"][0]["transcript"].is_null();
      },
      std::chrono::seconds(300)))
      << body.dump() << "\n"
      << http().Get("/api/v1/sessions/" + id, key)->body;
  const nlohmann::json& recording = body["recordings"][0];
  EXPECT_EQ(recording["kind"], "camera");
  EXPECT_EQ(recording["offset_ms"], 2000);
  const nlohmann::json& transcript = recording["transcript"];
  EXPECT_EQ(transcript["engine"], "pocketsphinx");
  std::vector<std::string> heard, said;
  for (const auto& segment : transcript["segments"]) {
    for (const auto& word : segment["words"]) heard.push_back(word["text"]);
  }
  for (const auto& sentence : ReferenceSentences()) said.insert(said.end(), sentence.begin(), sentence.end());
  EXPECT_LE(WordErrorRate(said, heard), kMaxWordErrorRate);

  // By question: every segment is in the answer its middle falls in, on the session clock, and
  // together the answers say what the recording said, in order.
  const nlohmann::json& answers = body["answers"];
  ASSERT_EQ(answers.size(), 2u) << answers.dump();
  EXPECT_EQ(answers[0]["question_id"], "first");
  EXPECT_EQ(answers[1]["question_text"], "Read the second half.");
  EXPECT_EQ(answers[0]["start_ms"], 2000);
  EXPECT_EQ(answers[0]["end_ms"], kSplitMs);
  std::vector<std::string> by_answer;
  for (int a = 0; a < 2; ++a) {
    EXPECT_FALSE(answers[a]["segments"].empty()) << "answer " << a + 1 << " says something";
    std::string text;
    for (const auto& segment : answers[a]["segments"]) {
      const int64_t middle = (segment["start_ms"].get<int64_t>() + segment["end_ms"].get<int64_t>()) / 2;
      EXPECT_TRUE(a == 0 ? middle < kSplitMs : middle >= kSplitMs + 1) << segment.dump();
      EXPECT_EQ(segment["recording_id"], recording["recording_id"]);
      for (const auto& word : segment["words"]) by_answer.push_back(word["text"]);
      text += (text.empty() ? "" : " ") + segment["text"].get<std::string>();
    }
    EXPECT_EQ(answers[a]["text"], text);
  }
  EXPECT_EQ(by_answer, heard);

  // Captions on the session clock: one cue per segment, shifted by the recording's start.
  auto vtt = http().Get(path + "?format=vtt", key);
  ASSERT_TRUE(vtt && vtt->status == 200);
  EXPECT_EQ(vtt->get_header_value("Content-Type"), "text/vtt; charset=utf-8");
  ASSERT_EQ(vtt->body.rfind("WEBVTT\n", 0), 0u);
  const auto& first = transcript["segments"][0];
  auto vtt_time = [](int64_t ms) {
    char out[32];
    std::snprintf(out, sizeof out, "%02lld:%02lld:%02lld.%03lld", static_cast<long long>(ms / 3600000),
                  static_cast<long long>(ms / 60000 % 60), static_cast<long long>(ms / 1000 % 60),
                  static_cast<long long>(ms % 1000));
    return std::string(out);
  };
  const std::string first_cue = "\n1\n" + vtt_time(first["start_ms"].get<int64_t>() + 2000) + " --> " +
                                vtt_time(first["end_ms"].get<int64_t>() + 2000) + "\n" +
                                first["text"].get<std::string>() + "\n";
  EXPECT_NE(vtt->body.find(first_cue), std::string::npos) << vtt->body;
  size_t cues = 0;
  for (size_t at = 0; (at = vtt->body.find(" --> ", at)) != std::string::npos; ++at) ++cues;
  EXPECT_EQ(cues, transcript["segments"].size());
  // The recording's own captions (its <video>'s track) are on its own clock.
  const int64_t recording_id = recording["recording_id"];
  auto own = http().Get(path + "?format=vtt&recording=" + std::to_string(recording_id), key);
  ASSERT_TRUE(own && own->status == 200);
  EXPECT_NE(own->body.find("\n1\n" + vtt_time(first["start_ms"].get<int64_t>()) + " --> "), std::string::npos);

  // Bad requests get their reason.
  EXPECT_EQ(http().Get(path)->status, 401);
  EXPECT_EQ(http().Get(path + "?format=srt", key)->status, 400);
  EXPECT_EQ(http().Get(path + "?recording=abc", key)->status, 400);
  EXPECT_EQ(http().Get(path + "?recording=999", key)->status, 404);
  EXPECT_EQ(http().Get("/api/v1/sessions/nope/transcript", key)->status, 404);
}

TEST_F(TranscriptApiTest, CaptionsOfASessionWithoutATranscriptAreNotFound) {
  Start();
  NewSession();
  const httplib::Headers key = {{"Authorization", "Bearer test-api-key"}};
  auto sessions = http().Get("/api/v1/sessions", key);
  const std::string id = nlohmann::json::parse(sessions->body)["sessions"][0]["session_id"];
  auto json = http().Get("/api/v1/sessions/" + id + "/transcript", key);
  ASSERT_TRUE(json && json->status == 200);
  EXPECT_TRUE(nlohmann::json::parse(json->body)["recordings"].empty());
  auto vtt = http().Get("/api/v1/sessions/" + id + "/transcript?format=vtt", key);
  ASSERT_TRUE(vtt);
  EXPECT_EQ(vtt->status, 404);
  EXPECT_NE(vtt->body.find("transcript_not_found"), std::string::npos);
}

}  // namespace
}  // namespace recorder::server
