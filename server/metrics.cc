#include "metrics.h"

#include <sstream>

namespace recorder::server {

void Metrics::ObserveChunkAckSeconds(double seconds) {
  std::lock_guard lock(mu_);
  for (size_t i = 0; i < kAckBuckets.size(); ++i) {
    if (seconds <= kAckBuckets[i]) {
      ++ack_bucket_counts_[i];
      break;
    }
  }
  ++ack_count_;
  ack_sum_ += seconds;
}

void Metrics::CountFinalize(const std::string& outcome) {
  std::lock_guard lock(mu_);
  ++finalize_outcomes_[outcome];
}

void Metrics::CountResponse(int http_status) {
  std::lock_guard lock(mu_);
  ++responses_[http_status];
}

std::string Metrics::Render(int64_t active_uploads) const {
  std::ostringstream out;
  out << "# HELP recorder_active_uploads Uploads that are still receiving bytes.\n"
         "# TYPE recorder_active_uploads gauge\n"
      << "recorder_active_uploads " << active_uploads << "\n"
      << "# HELP recorder_bytes_received_total Upload bytes acknowledged since start.\n"
         "# TYPE recorder_bytes_received_total counter\n"
      << "recorder_bytes_received_total " << bytes_received_.load() << "\n";
  std::lock_guard lock(mu_);
  out << "# HELP recorder_chunk_ack_seconds Time from PATCH arrival to acknowledgement.\n"
         "# TYPE recorder_chunk_ack_seconds histogram\n";
  uint64_t cumulative = 0;
  for (size_t i = 0; i < kAckBuckets.size(); ++i) {
    cumulative += ack_bucket_counts_[i];
    out << "recorder_chunk_ack_seconds_bucket{le=\"" << kAckBuckets[i] << "\"} " << cumulative << "\n";
  }
  out << "recorder_chunk_ack_seconds_bucket{le=\"+Inf\"} " << ack_count_ << "\n"
      << "recorder_chunk_ack_seconds_sum " << ack_sum_ << "\n"
      << "recorder_chunk_ack_seconds_count " << ack_count_ << "\n"
      << "# HELP recorder_finalize_total Finalize job results by outcome.\n"
         "# TYPE recorder_finalize_total counter\n";
  for (const auto& [outcome, n] : finalize_outcomes_) {
    out << "recorder_finalize_total{outcome=\"" << outcome << "\"} " << n << "\n";
  }
  out << "# HELP recorder_http_responses_total HTTP responses by status code.\n"
         "# TYPE recorder_http_responses_total counter\n";
  for (const auto& [status, n] : responses_) {
    out << "recorder_http_responses_total{code=\"" << status << "\"} " << n << "\n";
  }
  return out.str();
}

}  // namespace recorder::server
