// The built-in transcription engine on a long interview: the five LibriVox clips of tests/media
// (real read speech, 16 kHz mono) repeated with half-second pauses until --minutes of audio, fed
// to PocketSphinxTranscriber as the transcribe job feeds it (PCM at 16 kHz, a pause as a jump in
// time). Prints a table: audio, wall and CPU time, real-time factor, peak RSS, words, and the
// time a 30-minute interview would take against the goal (under 10 minutes on this machine).
// Run: build/native/bench/transcribe/transcribe [--minutes 10]
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "recorder/media_io.h"
#include "transcribe/pocketsphinx_transcriber.h"

using namespace recorder;
using namespace recorder::server;

namespace {

double CpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

double PeakRssMb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024;  // ru_maxrss is in KB on Linux
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli("PocketSphinx on a long interview made of real speech");
  double minutes = 10;
  cli.add_option("--minutes", minutes, "audio to transcribe")->capture_default_str();
  CLI11_PARSE(cli, argc, argv);

  std::vector<std::vector<int16_t>> clips;
  for (const char* name : {"0870", "0880", "0890", "0920", "0930"}) {
    auto wav =
        ReadWav(std::string(RECORDER_TEST_MEDIA "/librivox/sense_and_sensibility_01_austen_64kb-") + name + ".wav");
    if (!wav.ok() || wav->sample_rate != kTranscribeSampleRate || wav->channels != 1) {
      std::fprintf(stderr, "transcribe: the LibriVox clips must be 16 kHz mono WAV\n");
      return 1;
    }
    std::vector<int16_t> pcm(wav->samples.size());
    for (size_t i = 0; i < pcm.size(); ++i) pcm[i] = static_cast<int16_t>(wav->samples[i] * 32767.0f);
    clips.push_back(std::move(pcm));
  }
  const int64_t total_us = static_cast<int64_t>(minutes * 60e6);
  AudioSource interview = [&](const webm::PcmSink& sink) -> Status {
    constexpr size_t kBlock = kTranscribeSampleRate / 50;  // 20 ms, an Opus packet's worth
    int64_t t = 0;
    for (size_t c = 0; t < total_us; c = (c + 1) % clips.size()) {
      const std::vector<int16_t>& clip = clips[c];
      for (size_t at = 0; at < clip.size() && t < total_us; at += kBlock) {
        const size_t n = std::min(kBlock, clip.size() - at);
        RETURN_IF_ERROR(sink(t, std::span<const int16_t>(clip.data() + at, n)));
        t += static_cast<int64_t>(n) * 1000000 / kTranscribeSampleRate;
      }
      t += 500000;  // a pause between answers
    }
    return Status::Ok();
  };

  PocketSphinxTranscriber engine(PocketSphinxOptions{});
  const double cpu_before = CpuSeconds();
  const auto started = std::chrono::steady_clock::now();
  auto transcript = engine.Transcribe(interview);
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const double cpu = CpuSeconds() - cpu_before;
  if (!transcript.ok()) {
    std::fprintf(stderr, "transcribe: %s\n", transcript.status().ToString().c_str());
    return 1;
  }
  size_t words = 0;
  for (const TranscriptSegment& s : transcript->segments) words += s.words.size();
  const double audio = transcript->audio_seconds;
  const double rtf = wall / audio;
  const double goal_rtf = 10.0 / 30.0;  // a 30-minute interview in under 10 minutes
  std::printf("| engine | audio | wall | CPU | real-time factor | peak RSS | segments | words |\n");
  std::printf("|---|---|---|---|---|---|---|---|\n");
  std::printf("| pocketsphinx | %.1f min | %.1f s | %.1f s | %.3f | %.0f MB | %zu | %zu |\n", audio / 60, wall, cpu,
              rtf, PeakRssMb(), transcript->segments.size(), words);
  std::printf(
      "\n30-minute interview: %.1f min (goal: under 10 min; real-time factor %.3f vs goal %.3f: %.2fx the goal)\n",
      30 * rtf, rtf, goal_rtf, rtf / goal_rtf);
  return 0;
}
