// The built-in, offline engine: CMU PocketSphinx from Debian (libpocketsphinx, pocketsphinx-en-us).
// Accuracy is far below a Whisper-class model (see the HTTP engine); it needs nothing but the
// machine, and gives segment and word times.
#pragma once

#include <string>

#include "transcribe/transcriber.h"

namespace recorder::server {

struct PocketSphinxOptions {
  // Holds the acoustic model folder "en-us", "en-us.lm.bin" and "cmudict-en-us.dict".
  std::string model_dir = RECORDER_POCKETSPHINX_MODEL_DIR "/en-us";
};

// Thread-safe: every Transcribe() loads its own decoder (about 0.3 s, small next to the audio).
class PocketSphinxTranscriber : public Transcriber {
 public:
  explicit PocketSphinxTranscriber(PocketSphinxOptions options) : options_(std::move(options)) {}
  Result<Transcript> Transcribe(const AudioSource& audio) override;

 private:
  const PocketSphinxOptions options_;
};

}  // namespace recorder::server
