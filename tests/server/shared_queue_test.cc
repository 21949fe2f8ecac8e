// Several server processes sharing one job queue in PostgreSQL, as the nodes of a scale-out
// deployment do: each node is a forked process with its own PostgresIndex and JobRunner on the
// real clock. Every job runs exactly once however the nodes race for it, and the jobs a node held
// when it was killed are taken over once their leases expire (not before).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "index/postgres/postgres_index.h"
#include "jobs/job_runner.h"
#include "postgres_test_db.h"
#include "test_util.h"

namespace recorder::server {
namespace {

using namespace std::chrono_literals;
using testing::WaitFor;

constexpr const char* kKind = "finalize";

class SharedQueueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = testing::NewPostgresTestSchema();
    ASSERT_FALSE(url_.empty());
    auto index = PostgresIndex::Open(url_);
    ASSERT_TRUE(index.ok()) << index.status().ToString();
    index_ = std::move(index.value());
    ASSERT_TRUE(
        Sql("CREATE TABLE runs(job_id BIGINT NOT NULL, node TEXT NOT NULL, at TIMESTAMPTZ DEFAULT now())").ok());
  }
  void TearDown() override {
    for (pid_t pid : nodes_) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
  }

  Result<pg::Rows> Sql(const std::string& sql) {
    auto db = pg::Connect(url_);
    if (!db.ok()) return db.status();
    return (*db)->Exec(sql);
  }
  int64_t Count(const std::string& sql) {
    auto rows = Sql(sql);
    EXPECT_TRUE(rows.ok()) << sql << ": " << rows.status().ToString();
    return rows.ok() && !rows->empty() ? rows->Int(0, 0) : -1;
  }

  std::vector<int64_t> Enqueue(int n) {
    std::vector<int64_t> ids;
    for (int i = 0; i < n; ++i) {
      NewJob job;
      job.kind = kKind;
      job.subject = JobSubject::Recording(i + 1);
      ids.push_back(index_->EnqueueJob(job, SystemClock().NowSeconds()).value());
    }
    return ids;
  }

  // A node: a forked process that runs jobs of kKind with `concurrency` workers until it is killed
  // (or, with `exit_when_idle`, until no job is left). Each start of a handler is a row in `runs`;
  // `block` handlers never return (the node dies holding them).
  pid_t StartNode(const std::string& node, int64_t lease_seconds, bool block, bool exit_when_idle) {
    pid_t pid = fork();
    if (pid != 0) {
      nodes_.push_back(pid);
      return pid;
    }
    // The child: its own connections (never the parent's), and _exit, never the parent's atexit.
    auto index = PostgresIndex::Open(url_);
    auto log = pg::Connect(url_);
    if (!index.ok() || !log.ok()) _exit(3);
    std::mutex log_mu;
    SystemClock clock;
    Metrics metrics;
    JobRunner runner({node, 20}, index->get(), &clock, &metrics);
    JobKindOptions options;
    options.concurrency = 2;
    options.lease_seconds = lease_seconds;
    runner.Register(kKind, options, [&](const Job& job) {
      {
        std::lock_guard lock(log_mu);
        if (!(*log)->Exec("INSERT INTO runs(job_id, node) VALUES ($1, $2)", {job.id, node}).ok()) _exit(4);
      }
      if (block) std::this_thread::sleep_for(1h);
      std::this_thread::sleep_for(5ms);  // a little work, so that the nodes interleave
      return JobResult::Done();
    });
    if (!runner.Start().ok()) _exit(5);
    for (;;) {
      std::this_thread::sleep_for(50ms);
      if (!exit_when_idle) continue;
      auto stats = (*index)->JobStats(clock.NowSeconds());
      if (!stats.ok()) _exit(6);
      bool idle = true;
      for (const JobKindStats& s : *stats) idle = idle && s.pending == 0 && s.running == 0;
      if (idle) {
        runner.Stop();
        _exit(0);
      }
    }
  }

  int WaitExit(pid_t pid) {
    int status = 0;
    waitpid(pid, &status, 0);
    std::erase(nodes_, pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  std::string url_;
  std::unique_ptr<PostgresIndex> index_;
  std::vector<pid_t> nodes_;
};

TEST_F(SharedQueueTest, ThreeNodesRunEachOf200QueuedFinalizesExactlyOnce) {
  const std::vector<int64_t> ids = Enqueue(200);
  std::vector<pid_t> nodes;
  for (const char* node : {"node-a", "node-b", "node-c"}) nodes.push_back(StartNode(node, 30, false, true));
  for (pid_t pid : nodes) EXPECT_EQ(WaitExit(pid), 0);

  EXPECT_EQ(Count("SELECT count(*) FROM runs"), 200) << "a job ran twice, or not at all";
  EXPECT_EQ(Count("SELECT count(DISTINCT job_id) FROM runs"), 200);
  EXPECT_EQ(Count("SELECT count(*) FROM jobs WHERE state = 'done' AND attempts = 1"), 200);
  for (const char* node : {"node-a", "node-b", "node-c"}) {
    EXPECT_GT(Count(std::string("SELECT count(*) FROM runs WHERE node = '") + node + "'"), 0)
        << node << " took no job: the queue was not shared";
  }
}

TEST_F(SharedQueueTest, AKilledNodesJobsAreTakenOverOnlyAfterTheirLeasesExpire) {
  constexpr int64_t kLease = 3;
  Enqueue(6);
  // Node A takes two jobs and hangs in them, its heartbeat keeping their leases.
  pid_t a = StartNode("node-a", kLease, true, false);
  ASSERT_TRUE(WaitFor([&] { return Count("SELECT count(*) FROM runs") == 2; }, 20s));
  const std::string held = "SELECT count(*) FROM jobs WHERE state = 'running' AND lease_owner LIKE 'node-a/%'";
  ASSERT_EQ(Count(held), 2);

  // Node B does the rest; A's two stay A's while A lives, well past one lease.
  StartNode("node-b", kLease, false, false);
  ASSERT_TRUE(WaitFor([&] { return Count("SELECT count(*) FROM jobs WHERE state = 'done'") == 4; }, 20s));
  std::this_thread::sleep_for(std::chrono::seconds(2 * kLease));
  EXPECT_EQ(Count(held), 2) << "a live node's jobs were taken";
  EXPECT_EQ(Count("SELECT count(*) FROM runs WHERE node = 'node-b'"), 4);

  const auto killed = std::chrono::steady_clock::now();
  kill(a, SIGKILL);
  EXPECT_EQ(WaitExit(a), -1);
  ASSERT_TRUE(WaitFor([&] { return Count("SELECT count(*) FROM jobs WHERE state = 'done'") == 6; }, 30s));
  const auto taken_after = std::chrono::steady_clock::now() - killed;
  EXPECT_LE(taken_after, std::chrono::seconds(kLease + 10)) << "taken over within a lease and a poll";
  EXPECT_EQ(Count("SELECT count(*) FROM runs WHERE node = 'node-b'"), 6);
  EXPECT_EQ(Count("SELECT count(*) FROM jobs WHERE attempts = 2"), 2) << "the dead node's starts count";
  EXPECT_EQ(Count("SELECT count(DISTINCT job_id) FROM runs WHERE node = 'node-a'"), 2);
}

}  // namespace
}  // namespace recorder::server
