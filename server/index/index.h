// The server's index: every role an implementation provides (SQLite today, PostgreSQL next).
// Each part of the server takes only the roles it uses; tests/server/index_conformance_test.cc
// holds every implementation to the same contracts.
#pragma once

#include "common/status.h"
#include "index/account_index.h"
#include "index/audit_log.h"
#include "index/ingest_index.h"
#include "index/job_queue.h"
#include "index/results_index.h"
#include "index/transcript_index.h"
#include "index/webhook_index.h"

namespace recorder::server {

class Index : public IngestIndex,
              public JobQueue,
              public AccountIndex,
              public AuditLog,
              public ResultsIndex,
              public TranscriptIndex,
              public WebhookIndex {
 public:
  // Ok when the database answers a query.
  virtual Status Ping() = 0;
};

}  // namespace recorder::server
