// The index's audit role: who did what to which session or recording.
#pragma once

#include <vector>

#include "common/status.h"
#include "index/records.h"

namespace recorder::server {

// Thread-safe.
class AuditLog {
 public:
  virtual ~AuditLog() = default;

  virtual Status AppendAudit(const AuditEntry& entry) = 0;
  // Newest first.
  virtual Result<std::vector<AuditEntry>> AuditEntries(int limit) = 0;
};

}  // namespace recorder::server
