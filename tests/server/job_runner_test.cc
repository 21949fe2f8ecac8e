// The job runner on the real SQLite queue with a manual clock: backoff, attempt caps, per-kind
// pools, leases (heartbeat, takeover of a dead node's jobs, a restart taking its own back) and
// results dropped when a lease was lost.
#include "jobs/job_runner.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>

#include "index/sqlite/sqlite_index.h"
#include "test_util.h"

namespace recorder::server {
namespace {

using namespace std::chrono_literals;
using testing::WaitFor;

// Handlers block on it until the test opens it.
class Gate {
 public:
  void Wait() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return open_; });
  }
  void Open() {
    {
      std::lock_guard lock(mu_);
      open_ = true;
    }
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

class JobRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override { index_ = std::move(SqliteIndex::Open((dir_.path() / "db").string()).value()); }
  void TearDown() override {
    if (runner_) runner_->Stop();
  }

  JobRunner& Runner(const std::string& node = "node1") {
    runner_ = std::make_unique<JobRunner>(JobRunner::Options{node, 20}, index_.get(), &clock_, &metrics_);
    return *runner_;
  }

  int64_t Enqueue(const std::string& kind) {
    NewJob job;
    job.kind = kind;
    job.subject = JobSubject::Session("s" + std::to_string(++enqueued_));
    return index_->EnqueueJob(job, clock_.NowSeconds()).value();
  }

  JobRecord Record(int64_t id) {
    for (int i = 1; i <= enqueued_; ++i) {
      auto records = index_->JobsOf(JobSubject::Session("s" + std::to_string(i)));
      for (const JobRecord& r : records.value()) {
        if (r.id == id) return r;
      }
    }
    ADD_FAILURE() << "no job " << id;
    return {};
  }

  testing::TempDir dir_;
  std::unique_ptr<SqliteIndex> index_;
  ManualClock clock_{1767268800};
  Metrics metrics_;
  std::unique_ptr<JobRunner> runner_;
  int enqueued_ = 0;
};

TEST_F(JobRunnerTest, BackoffDoublesUpToItsCap) {
  JobKindOptions options;
  options.retry_base_seconds = 5;
  options.retry_max_seconds = 60;
  EXPECT_EQ(JobRunner::BackoffSeconds(options, 1), 5);
  EXPECT_EQ(JobRunner::BackoffSeconds(options, 2), 10);
  EXPECT_EQ(JobRunner::BackoffSeconds(options, 4), 40);
  EXPECT_EQ(JobRunner::BackoffSeconds(options, 5), 60);
  EXPECT_EQ(JobRunner::BackoffSeconds(options, 1000), 60);
}

TEST_F(JobRunnerTest, TransientFailuresAreRetriedAfterBackoffUntilAttemptsRunOut) {
  std::atomic<int> runs{0};
  std::vector<std::string> failures;
  JobKindOptions options;
  options.max_attempts = 3;
  options.retry_base_seconds = 10;
  options.on_failed = [&](const Job&, const std::string& error) {
    failures.push_back(error);
    NewJob notify;  // the failure's webhook, say
    notify.kind = "notify";
    return std::vector<NewJob>{notify};
  };
  JobRunner& runner = Runner();
  runner.Register("flaky", options, [&](const Job&) {
    ++runs;
    return JobResult::Retry("peer down");
  });
  int64_t id = Enqueue("flaky");
  ASSERT_TRUE(runner.Start().ok());
  ASSERT_TRUE(WaitFor([&] { return runs == 1 && Record(id).state == JobState::kPending; }, 5s));
  JobRecord pending = Record(id);
  EXPECT_EQ(pending.last_error, "peer down");
  EXPECT_GE(pending.next_run_at, clock_.NowSeconds() + 5) << "jitter keeps at least half the backoff";
  EXPECT_LE(pending.next_run_at, clock_.NowSeconds() + 10);
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(runs, 1) << "ran again before its backoff";
  clock_.Advance(10);
  runner.Wake("flaky");
  ASSERT_TRUE(WaitFor([&] { return runs == 2 && Record(id).state == JobState::kPending; }, 5s));
  EXPECT_GE(Record(id).next_run_at, clock_.NowSeconds() + 10) << "the second backoff is twice the first";
  clock_.Advance(20);
  runner.Wake("flaky");
  ASSERT_TRUE(WaitFor([&] { return Record(id).state == JobState::kFailed; }, 5s));
  EXPECT_EQ(runs, 3);
  EXPECT_EQ(Record(id).attempts, 3);
  EXPECT_EQ(failures, std::vector<std::string>{"peer down"}) << "on_failed once, when retries ran out";
  EXPECT_EQ(index_->JobsOfKind("notify", 10)->size(), 1u) << "its follow-up was queued with the failure";
}

TEST_F(JobRunnerTest, PermanentFailureIsNotRetried) {
  std::atomic<int> runs{0};
  bool on_failed_called = false;
  JobKindOptions options;
  options.on_failed = [&](const Job&, const std::string&) {
    on_failed_called = true;
    return std::vector<NewJob>{};
  };
  JobRunner& runner = Runner();
  runner.Register("strict", options, [&](const Job&) {
    ++runs;
    NewJob notify;
    notify.kind = "notify";
    return JobResult::Failed("input is corrupt", {notify});
  });
  int64_t id = Enqueue("strict");
  ASSERT_TRUE(runner.Start().ok());
  ASSERT_TRUE(WaitFor([&] { return Record(id).state == JobState::kFailed; }, 5s));
  EXPECT_EQ(Record(id).last_error, "input is corrupt");
  EXPECT_EQ(runs, 1);
  EXPECT_FALSE(on_failed_called) << "the handler recorded its own failure";
  EXPECT_EQ(index_->JobsOfKind("notify", 10)->size(), 1u) << "the handler's follow-up was queued with the failure";
}

// Each kind has its own pool: two slow jobs at a time, and a slow backlog never delays another kind.
TEST_F(JobRunnerTest, EachKindRunsInItsOwnPoolOfItsOwnSize) {
  Gate gate;
  std::atomic<int> running{0}, most{0}, slow_done{0}, fast_done{0};
  JobRunner& runner = Runner();
  JobKindOptions slow;
  slow.concurrency = 2;
  runner.Register("slow", slow, [&](const Job&) {
    int now = ++running;
    for (int m = most; now > m && !most.compare_exchange_weak(m, now);) {
    }
    gate.Wait();
    --running;
    ++slow_done;
    return JobResult{};
  });
  runner.Register("fast", {}, [&](const Job&) {
    ++fast_done;
    return JobResult{};
  });
  for (int i = 0; i < 5; ++i) Enqueue("slow");
  ASSERT_TRUE(runner.Start().ok());
  ASSERT_TRUE(WaitFor([&] { return running == 2; }, 5s));
  int64_t fast = Enqueue("fast");
  runner.Wake("fast");
  EXPECT_TRUE(WaitFor([&] { return Record(fast).state == JobState::kDone; }, 5s)) << "blocked behind slow jobs";
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(most, 2);
  gate.Open();
  EXPECT_TRUE(WaitFor([&] { return slow_done == 5; }, 5s));
  EXPECT_EQ(most, 2);
}

TEST_F(JobRunnerTest, CompletionEnqueuesTheFollowUps) {
  std::atomic<int> second_runs{0};
  JobRunner& runner = Runner();
  runner.Register("first", {}, [&](const Job& job) {
    NewJob next;
    next.kind = "second";
    next.subject = job.subject;
    next.payload_json = R"({"from":"first"})";
    return JobResult::Done({next});
  });
  std::string payload;
  runner.Register("second", {}, [&](const Job& job) {
    payload = job.payload_json;
    ++second_runs;
    return JobResult{};
  });
  Enqueue("first");
  ASSERT_TRUE(runner.Start().ok());
  ASSERT_TRUE(WaitFor([&] { return second_runs == 1; }, 5s));
  EXPECT_EQ(payload, R"({"from":"first"})");
}

// A node died holding a lease: another node takes the job once the lease expires.
TEST_F(JobRunnerTest, ADeadNodesJobIsTakenOverWhenItsLeaseExpires) {
  std::atomic<int> attempts_seen{0};
  JobRunner& runner = Runner("node2");
  JobKindOptions options;
  options.lease_seconds = 30;
  runner.Register("k", options, [&](const Job& job) {
    attempts_seen = job.attempts;
    return JobResult{};
  });
  int64_t id = Enqueue("k");
  ASSERT_TRUE(index_->ClaimJob("k", "node1/77/k#0", clock_.NowSeconds(), 30)->has_value());
  ASSERT_TRUE(runner.Start().ok());
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(Record(id).state, JobState::kRunning) << "taken while node1's lease was valid";
  clock_.Advance(30);
  runner.Wake("k");
  ASSERT_TRUE(WaitFor([&] { return Record(id).state == JobState::kDone; }, 5s));
  EXPECT_EQ(attempts_seen, 2) << "the dead node's start counts";
}

// The same node restarting does not wait for its old leases to expire.
TEST_F(JobRunnerTest, ARestartTakesItsOwnInterruptedJobsBackAtOnce) {
  std::atomic<int> runs{0};
  JobRunner& runner = Runner("node1");
  JobKindOptions options;
  options.lease_seconds = 600;
  runner.Register("k", options, [&](const Job&) {
    ++runs;
    return JobResult{};
  });
  int64_t id = Enqueue("k");
  ASSERT_TRUE(index_->ClaimJob("k", "node1/77/k#0", clock_.NowSeconds(), 600)->has_value());
  ASSERT_TRUE(runner.Start().ok());
  ASSERT_TRUE(WaitFor([&] { return Record(id).state == JobState::kDone; }, 5s));
  EXPECT_EQ(runs, 1);
}

// A job that kills its worker every time (a decoder crash) is failed after max_attempts starts
// instead of taking the cluster down forever.
TEST_F(JobRunnerTest, AJobThatKeepsCrashingItsWorkerFailsAfterMaxAttempts) {
  std::atomic<int> runs{0};
  std::string failure;
  JobRunner& runner = Runner("node2");
  JobKindOptions options;
  options.max_attempts = 3;
  options.lease_seconds = 10;
  options.on_failed = [&](const Job&, const std::string& error) {
    failure = error;
    return std::vector<NewJob>{};
  };
  runner.Register("k", options, [&](const Job&) {
    ++runs;
    return JobResult{};
  });
  int64_t id = Enqueue("k");
  for (int i = 0; i < 3; ++i) {  // three starts whose process died before finishing
    ASSERT_TRUE(index_->ClaimJob("k", "node1/" + std::to_string(i) + "/k#0", clock_.NowSeconds(), 10)->has_value());
    clock_.Advance(10);
  }
  ASSERT_TRUE(runner.Start().ok());
  ASSERT_TRUE(WaitFor([&] { return Record(id).state == JobState::kFailed; }, 5s));
  EXPECT_EQ(runs, 0) << "the handler was started a fourth time";
  EXPECT_NE(Record(id).last_error.find("crashed the worker"), std::string::npos) << Record(id).last_error;
  EXPECT_NE(failure.find("crashed the worker"), std::string::npos);
}

// A handler running longer than its lease keeps the job: the heartbeat extends the lease.
TEST_F(JobRunnerTest, HeartbeatKeepsALongJobLeased) {
  Gate gate;
  std::atomic<bool> started{false};
  JobRunner& runner = Runner();
  JobKindOptions options;
  options.lease_seconds = 3;  // heartbeat every second
  runner.Register("long", options, [&](const Job&) {
    started = true;
    gate.Wait();
    return JobResult{};
  });
  int64_t id = Enqueue("long");
  ASSERT_TRUE(runner.Start().ok());
  ASSERT_TRUE(WaitFor([&] { return started.load(); }, 5s));
  for (int i = 0; i < 4; ++i) {  // 8 clock seconds, well past the first lease
    clock_.Advance(2);
    std::this_thread::sleep_for(1300ms);
    EXPECT_FALSE(index_->ClaimJob("long", "node2/1/long#0", clock_.NowSeconds(), 3)->has_value())
        << "the lease lapsed while the handler ran";
  }
  gate.Open();
  ASSERT_TRUE(WaitFor([&] { return Record(id).state == JobState::kDone; }, 5s));
}

// A worker that stalled past its lease (no heartbeat: a frozen process) and then finishes must not
// overwrite the result of the worker that took over.
TEST_F(JobRunnerTest, AResultAfterTheLeaseWasTakenOverIsDropped) {
  Gate gate;
  std::atomic<bool> started{false};
  JobRunner& runner = Runner();
  JobKindOptions options;
  options.lease_seconds = 600;  // the heartbeat (every 200 s) does not run during the test
  runner.Register("k", options, [&](const Job&) {
    started = true;
    gate.Wait();
    return JobResult{};
  });
  int64_t id = Enqueue("k");
  ASSERT_TRUE(runner.Start().ok());
  ASSERT_TRUE(WaitFor([&] { return started.load(); }, 5s));
  clock_.Advance(600);
  auto taken = index_->ClaimJob("k", "node2/1/k#0", clock_.NowSeconds(), 600);
  ASSERT_TRUE(taken.ok() && taken->has_value());
  gate.Open();
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(Record(id).state, JobState::kRunning) << "the stale worker's result replaced its successor's";
  EXPECT_TRUE(index_->CompleteJob(**taken, {}, clock_.NowSeconds()).ok());
}

}  // namespace
}  // namespace recorder::server
