// session.completed: a session completes once it is over (the candidate ended it, or its link
// expired) and every recording of it has settled: finalized or failed, and transcribed or failed
// when transcription is on (no job but webhook deliveries pending or running for it). A sweep
// asks the index for such sessions and marks each completed together with its webhook jobs, in
// one transaction: the event goes out once and at least once, whichever server sweeps first, and
// a host that polls sees `completed_at` in the session's status.
#pragma once

#include "base/clock.h"
#include "index/ingest_index.h"
#include "index/transcript_index.h"
#include "jobs/webhooks.h"

namespace recorder::server {

class SessionSettler {
 public:
  // `webhooks` may be null (none configured): sessions complete without an event.
  SessionSettler(IngestIndex* index, TranscriptIndex* transcripts, const Clock* clock, const Webhooks* webhooks)
      : index_(index), transcripts_(transcripts), clock_(clock), webhooks_(webhooks) {}

  // Completes the sessions that have settled by now; returns how many it completed.
  Result<int> Sweep();

 private:
  // The event's data: who ended the session, and each recording's outcome.
  Result<nlohmann::json> Summary(const Session& session);

  IngestIndex* index_;
  TranscriptIndex* transcripts_;
  const Clock* clock_;
  const Webhooks* webhooks_;
};

}  // namespace recorder::server
