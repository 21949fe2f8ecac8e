#include "base/metrics.h"

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

void Metrics::ObserveJob(const std::string& kind, const std::string& outcome, double seconds) {
  std::lock_guard lock(mu_);
  JobRuns& runs = job_runs_[kind];
  ++runs.outcomes[outcome];
  ++runs.count;
  runs.seconds += seconds;
}

std::string Metrics::Render(int64_t active_uploads, const std::vector<JobKindStats>& jobs) const {
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
  out << "# HELP recorder_jobs_pending Jobs waiting in the queue (due or not), by kind.\n"
         "# TYPE recorder_jobs_pending gauge\n";
  for (const JobKindStats& k : jobs) out << "recorder_jobs_pending{kind=\"" << k.kind << "\"} " << k.pending << "\n";
  out << "# HELP recorder_jobs_due Pending jobs whose time has come, by kind.\n"
         "# TYPE recorder_jobs_due gauge\n";
  for (const JobKindStats& k : jobs) out << "recorder_jobs_due{kind=\"" << k.kind << "\"} " << k.due << "\n";
  out << "# HELP recorder_jobs_running Jobs leased by a worker, by kind.\n"
         "# TYPE recorder_jobs_running gauge\n";
  for (const JobKindStats& k : jobs) out << "recorder_jobs_running{kind=\"" << k.kind << "\"} " << k.running << "\n";
  out << "# HELP recorder_jobs_failed Jobs failed for good, by kind.\n"
         "# TYPE recorder_jobs_failed gauge\n";
  for (const JobKindStats& k : jobs) out << "recorder_jobs_failed{kind=\"" << k.kind << "\"} " << k.failed << "\n";
  out << "# HELP recorder_jobs_oldest_due_age_seconds How long the oldest due job has waited, by kind.\n"
         "# TYPE recorder_jobs_oldest_due_age_seconds gauge\n";
  for (const JobKindStats& k : jobs) {
    out << "recorder_jobs_oldest_due_age_seconds{kind=\"" << k.kind << "\"} " << k.oldest_due_age_seconds << "\n";
  }
  out << "# HELP recorder_job_runs_total Job handler runs on this node, by kind and outcome.\n"
         "# TYPE recorder_job_runs_total counter\n";
  for (const auto& [kind, runs] : job_runs_) {
    for (const auto& [outcome, n] : runs.outcomes) {
      out << "recorder_job_runs_total{kind=\"" << kind << "\",outcome=\"" << outcome << "\"} " << n << "\n";
    }
  }
  out << "# HELP recorder_job_run_seconds Time spent in job handlers on this node, by kind.\n"
         "# TYPE recorder_job_run_seconds summary\n";
  for (const auto& [kind, runs] : job_runs_) {
    out << "recorder_job_run_seconds_sum{kind=\"" << kind << "\"} " << runs.seconds << "\n"
        << "recorder_job_run_seconds_count{kind=\"" << kind << "\"} " << runs.count << "\n";
  }
  return out.str();
}

}  // namespace recorder::server
