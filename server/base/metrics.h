// Counters the server exports at GET /metrics in the Prometheus text format (version 0.0.4).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace recorder::server {

// The job queue of one kind, as the index reports it for /metrics.
struct JobKindStats {
  std::string kind;
  int64_t pending = 0;  // waiting, due or not
  int64_t due = 0;      // pending and due now
  int64_t running = 0;
  int64_t failed = 0;
  int64_t oldest_due_age_seconds = 0;  // how long the oldest due job has waited; 0 when none
};

// Thread-safe.
class Metrics {
 public:
  void AddBytesReceived(uint64_t bytes) { bytes_received_ += bytes; }
  // Time from a PATCH arriving to its acknowledgement (after fdatasync and the index update).
  void ObserveChunkAckSeconds(double seconds);
  // outcome: ready | failed | retry
  void CountFinalize(const std::string& outcome);
  void CountResponse(int http_status);
  // One run of a job handler: outcome done | retry | failed.
  void ObserveJob(const std::string& kind, const std::string& outcome, double seconds);

  // `active_uploads` (uploads still receiving) and `jobs` (the queue per kind) are read from the
  // index by the caller.
  std::string Render(int64_t active_uploads, const std::vector<JobKindStats>& jobs) const;

 private:
  static constexpr std::array<double, 10> kAckBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0};
  std::atomic<uint64_t> bytes_received_{0};
  mutable std::mutex mu_;
  std::array<uint64_t, kAckBuckets.size()> ack_bucket_counts_{};  // non-cumulative
  uint64_t ack_count_ = 0;
  double ack_sum_ = 0;
  std::map<std::string, uint64_t> finalize_outcomes_;
  std::map<int, uint64_t> responses_;
  struct JobRuns {
    std::map<std::string, uint64_t> outcomes;
    uint64_t count = 0;
    double seconds = 0;
  };
  std::map<std::string, JobRuns> job_runs_;  // by kind
};

}  // namespace recorder::server
