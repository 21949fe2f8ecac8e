// The index's transcript role: each recording's transcript (segments and words), stored by the
// transcribe job and read by the host API and the HR page. A recording's transcript goes with it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/transcript.h"
#include "common/status.h"
#include "index/job_queue.h"  // NewJob

namespace recorder::server {

struct SegmentHit {
  int64_t recording_id = 0;
  TranscriptSegment segment;  // without its words; times on the recording's clock
};

// Thread-safe; every method is one transaction.
class TranscriptIndex {
 public:
  virtual ~TranscriptIndex() = default;

  // Stores the recording's transcript, replacing any earlier one (a job that runs again after a
  // crash leaves one transcript), and enqueues `follow_ups` in the same transaction. NotFound when
  // the recording is gone.
  virtual Status PutTranscript(int64_t recording_id, const Transcript& transcript,
                               const std::vector<NewJob>& follow_ups, int64_t now) = 0;
  // NotFound when the recording has none (yet).
  virtual Result<Transcript> GetTranscript(int64_t recording_id) = 0;
  // The segments of every transcript that hold each of `words` (letters and digits only), as a
  // word or the start of one, ignoring case and accents: at most `limit`, best matches first.
  virtual Result<std::vector<SegmentHit>> SearchTranscripts(const std::vector<std::string>& words, int limit) = 0;
};

}  // namespace recorder::server
