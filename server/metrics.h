// Counters the server exports at GET /metrics in the Prometheus text format (version 0.0.4).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace recorder::server {

// Thread-safe.
class Metrics {
 public:
  void AddBytesReceived(uint64_t bytes) { bytes_received_ += bytes; }
  // Time from a PATCH arriving to its acknowledgement (after fdatasync and the index update).
  void ObserveChunkAckSeconds(double seconds);
  // outcome: ready | failed | retry
  void CountFinalize(const std::string& outcome);
  void CountResponse(int http_status);

  // `active_uploads`: uploads still receiving, read from the index by the caller.
  std::string Render(int64_t active_uploads) const;

 private:
  static constexpr std::array<double, 10> kAckBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025,
                                                         0.05,  0.1,    0.25,  0.5,  1.0};
  std::atomic<uint64_t> bytes_received_{0};
  mutable std::mutex mu_;
  std::array<uint64_t, kAckBuckets.size()> ack_bucket_counts_{};  // non-cumulative
  uint64_t ack_count_ = 0;
  double ack_sum_ = 0;
  std::map<std::string, uint64_t> finalize_outcomes_;
  std::map<int, uint64_t> responses_;
};

}  // namespace recorder::server
