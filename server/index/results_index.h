// The index's results role: what reviewers search, and the deletion of a candidate's data (by
// hand or by retention).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "index/records.h"

namespace recorder::server {

// Thread-safe; every method is one transaction.
class ResultsIndex {
 public:
  virtual ~ResultsIndex() = default;

  // Newest first.
  virtual Result<SessionPage> ListSessions(const SessionFilter& filter) = 0;
  virtual Result<SessionSummary> GetSessionSummary(const std::string& session_id) = 0;  // NotFound
  // Oldest first. NotFound when there is no such candidate.
  virtual Result<std::vector<std::string>> SessionIdsOfCandidate(int64_t candidate_id) = 0;

  // Ends the session's upload token at once (no new request authenticates with it); NotFound.
  virtual Status RevokeSessionToken(const std::string& session_id) = 0;
  // Deletion is two steps so the media go before the rows (a crash in between leaves rows a retry
  // deletes, never unindexed media). Step 1 revokes the session's upload token and lists its
  // media; when it fails (FailedPrecondition: a recording is still receiving or finalizing) nothing
  // changes, the token included (callers revoke it first with RevokeSessionToken). NotFound.
  virtual Result<StoredMedia> PrepareSessionDeletion(const std::string& session_id) = 0;
  // Step 2: deletes the session's rows (events, jobs, uploads, recordings, the session, and the
  // candidate when this was its last session) and appends `audit`, in one transaction.
  // FailedPrecondition when a recording began receiving or finalizing meanwhile.
  virtual Status DeleteSession(const std::string& session_id, const AuditEntry& audit) = 0;
  // Ready or failed recordings created before `cutoff`.
  virtual Result<std::vector<Recording>> RecordingsCreatedBefore(int64_t cutoff) = 0;
  // Ids of sessions created before `cutoff` that have no recording.
  virtual Result<std::vector<std::string>> EmptySessionsCreatedBefore(int64_t cutoff) = 0;
  // Deletes one recording's rows (its events and jobs too), its session when it was the session's
  // last recording (and the candidate when that was its last session), and appends `audit`, in one
  // transaction. NotFound.
  virtual Status DeleteRecording(int64_t recording_id, const AuditEntry& audit) = 0;
};

}  // namespace recorder::server
