#include "transcribe/pocketsphinx_transcriber.h"

#include <pocketsphinx.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <string>

namespace recorder::server {
namespace {

constexpr int kFramesPerSecond = 100;  // PocketSphinx's default -frate
constexpr int64_t kSamplesPerFrame = kTranscribeSampleRate / kFramesPerSecond;
// A pause in the stream longer than this ends the utterance: the words after it get their own
// clock base instead of being glued to the words before.
constexpr int64_t kMaxStreamJumpUs = 100'000;
// Speech without a pause is cut into utterances this long, which bounds the decoder's memory
// (its lattice grows with the utterance) whatever the speaker does.
constexpr int64_t kMaxUtteranceSamples = 30LL * kTranscribeSampleRate;

struct DecoderDeleter {
  void operator()(ps_decoder_t* ps) const { ps_free(ps); }
};

// "<s>", "</s>", "<sil>" and the noise model's "[NOISE]", "[BREATH]"... are not words.
bool IsFiller(const char* word) { return word[0] == '<' || word[0] == '[' || word[0] == '+'; }

// The dictionary's alternative pronunciations are "word(2)": the word is "word".
std::string DictionaryWord(const char* word) {
  std::string w(word);
  const size_t paren = w.find('(');
  return paren == std::string::npos ? w : w.substr(0, paren);
}

// Feeds PCM to one decoder and cuts it into utterances at the pauses its voice-activity detector
// finds; each utterance with words becomes a segment.
class Session {
 public:
  Session(ps_decoder_t* ps, Transcript* out) : ps_(ps), out_(out) {}

  Status Feed(int64_t start_us, std::span<const int16_t> samples) {
    if (open_ && std::llabs(start_us - next_us_) > kMaxStreamJumpUs) EndUtterance();
    if (!open_) {
      if (ps_start_utt(ps_) < 0) return Internal("pocketsphinx cannot start an utterance");
      open_ = true;
      heard_speech_ = false;
      base_us_ = start_us;
      base_frame_ = total_fed_ / kSamplesPerFrame;
      fed_ = 0;
    }
    if (ps_process_raw(ps_, samples.data(), samples.size(), FALSE, FALSE) < 0) {
      return Internal("pocketsphinx cannot process the audio");
    }
    fed_ += static_cast<int64_t>(samples.size());
    total_fed_ += static_cast<int64_t>(samples.size());
    next_us_ = start_us + static_cast<int64_t>(samples.size()) * 1000000 / kTranscribeSampleRate;
    out_->audio_seconds += static_cast<double>(samples.size()) / kTranscribeSampleRate;
    const bool in_speech = ps_get_in_speech(ps_) != 0;
    heard_speech_ = heard_speech_ || in_speech;
    if ((heard_speech_ && !in_speech) || fed_ >= kMaxUtteranceSamples) EndUtterance();
    return Status::Ok();
  }

  void EndUtterance() {
    if (!open_) return;
    open_ = false;
    if (ps_end_utt(ps_) < 0) return;
    int32 score = 0;
    const char* hyp = ps_get_hyp(ps_, &score);
    if (!hyp || !*hyp) return;
    logmath_t* lmath = ps_get_logmath(ps_);
    TranscriptSegment segment;
    // The posterior of the whole hypothesis shrinks with its length; computing it fills in the
    // words' posteriors, and the segment's confidence is their mean.
    (void)ps_get_prob(ps_);
    for (ps_seg_t* it = ps_seg_iter(ps_); it; it = ps_seg_next(it)) {
      const char* text = ps_seg_word(it);
      if (!text || IsFiller(text)) continue;
      int start_frame = 0, end_frame = 0;
      ps_seg_frames(it, &start_frame, &end_frame);
      int32 acoustic = 0, language = 0, backoff = 0;
      const int32 log_posterior = ps_seg_prob(it, &acoustic, &language, &backoff);
      TranscriptWord word;
      word.text = DictionaryWord(text);
      word.start_ms = base_us_ / 1000 + (start_frame - base_frame_) * 1000 / kFramesPerSecond;
      word.end_ms = base_us_ / 1000 + (end_frame + 1 - base_frame_) * 1000 / kFramesPerSecond;
      word.confidence = std::clamp(logmath_exp(lmath, log_posterior), 0.0, 1.0);
      if (!segment.text.empty()) segment.text += ' ';
      segment.text += word.text;
      segment.words.push_back(std::move(word));
    }
    if (segment.words.empty()) return;
    segment.start_ms = segment.words.front().start_ms;
    segment.end_ms = segment.words.back().end_ms;
    for (const TranscriptWord& word : segment.words) segment.confidence += word.confidence;
    segment.confidence /= static_cast<double>(segment.words.size());
    out_->segments.push_back(std::move(segment));
  }

 private:
  ps_decoder_t* ps_;
  Transcript* out_;
  bool open_ = false;
  bool heard_speech_ = false;
  int64_t base_us_ = 0;  // the time of the utterance's first sample
  int64_t next_us_ = 0;  // where the next run continues the stream without a pause
  int64_t fed_ = 0;      // samples in the open utterance
  // The decoder numbers frames from its first utterance on, not per utterance: the frame that
  // the open utterance started at.
  int64_t total_fed_ = 0;
  int64_t base_frame_ = 0;
};

}  // namespace

Result<Transcript> PocketSphinxTranscriber::Transcribe(const AudioSource& audio) {
  const std::string hmm = options_.model_dir + "/en-us";
  const std::string lm = options_.model_dir + "/en-us.lm.bin";
  const std::string dict = options_.model_dir + "/cmudict-en-us.dict";
  // ps_init takes a reference of its own to the configuration; ours is released right after.
  cmd_ln_t* config = cmd_ln_init(nullptr, ps_args(), TRUE, "-hmm", hmm.c_str(), "-lm", lm.c_str(), "-dict",
                                 dict.c_str(), "-logfn", "/dev/null", nullptr);
  if (!config) return Internal("pocketsphinx refused its configuration");
  std::unique_ptr<ps_decoder_t, DecoderDeleter> ps(ps_init(config));
  cmd_ln_free_r(config);
  if (!ps) {
    return Internal("pocketsphinx cannot load its model from " + options_.model_dir +
                    " (Debian package pocketsphinx-en-us)");
  }
  Transcript transcript;
  transcript.engine = "pocketsphinx";
  transcript.language = "en";
  Session session(ps.get(), &transcript);
  Status fed =
      audio([&](int64_t start_us, std::span<const int16_t> samples) { return session.Feed(start_us, samples); });
  if (!fed.ok()) return fed;
  session.EndUtterance();
  return transcript;
}

}  // namespace recorder::server
