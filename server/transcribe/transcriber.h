// Speech to text, behind one interface: the built-in offline engine (PocketSphinx) and, for
// production accuracy, an HTTP engine. An engine sees PCM, never files or storage.
#pragma once

#include <functional>
#include <string>

#include "base/transcript.h"
#include "common/status.h"
#include "webm/opus_audio.h"

namespace recorder::server {

// Engines take mono 16-bit PCM at 16 kHz, the rate speech models are trained on (and one that
// libopus decodes to natively).
inline constexpr int kTranscribeSampleRate = 16000;

// Runs the recording's audio through `sink` once, in order (webm::PcmSink: a jump in start_us is
// a pause in the stream). Reading it again reads it from the start.
using AudioSource = std::function<Status(const webm::PcmSink& sink)>;

class Transcriber {
 public:
  virtual ~Transcriber() = default;
  // Errors: InvalidArgument/Unsupported for audio the engine refuses (retrying cannot help);
  // IoError for an engine that could not be reached or did not answer (worth a retry).
  virtual Result<Transcript> Transcribe(const AudioSource& audio) = 0;
};

}  // namespace recorder::server
