// JournalBatchWriter: what happens to queued entries when the disk stays unwritable until the
// writer stops (fault campaign, docs/reliability.md): nothing is dropped silently. Group commit:
// what is queued while the writer waits out min_commit_interval goes in one transaction.
#include "journal/writer/batch_writer.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <mutex>
#include <sstream>

namespace callbridge::journal {
namespace {

model::JournalEntry entry(std::string party) {
  model::JournalEntry e{base::TenantId("default")};
  e.call_id = "call-" + party;
  e.party = std::move(party);
  e.remote = "+4989123456";
  return e;
}

TEST(JournalBatchWriter, EntriesThatCannotBeWrittenBeforeTheStopAreLoggedAsJsonLines) {
  std::ostringstream out;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>("test", sink));
  {
    JournalBatchWriter::Options o;
    o.location = "journal /data/journal.db";
    o.retry_interval = std::chrono::milliseconds(5);
    JournalBatchWriter w(o, [](std::deque<JournalWrite>&, std::vector<std::int64_t>&) -> base::Status {
      return base::fail(base::Error::io("commit: database or disk is full"));
    });
    w.append(entry("100"));
    w.append(entry("101"));
    w.put_state("pbx", "k", "text");
    EXPECT_FALSE(w.flush());  // the first attempt failed
    EXPECT_TRUE(w.stats().last_write_failed);
  }
  spdlog::set_default_logger(previous);
  std::string log = out.str();
  EXPECT_NE(log.find("shutting down with 2 unwritten entries (and 1 open-call state rows)"), std::string::npos) << log;
  EXPECT_NE(log.find("unwritten entry: {\"party\": \"100\""), std::string::npos) << log;
  EXPECT_NE(log.find("unwritten entry: {\"party\": \"101\""), std::string::npos) << log;
}

// Id 0 from the store: it had the entry already (the idempotent leg key of journal/postgres) and
// wrote nothing; that entry is not handed on as committed (no second journal event), and counted.
TEST(JournalBatchWriter, EntriesTheStoreHadAlreadyAreNotHandedOnAndAreCounted) {
  JournalBatchWriter w({}, [](std::deque<JournalWrite>& batch, std::vector<std::int64_t>& ids) -> base::Status {
    ids.clear();
    for (const auto& item : batch)
      if (item.entry) ids.push_back(item.entry->party == "dup" ? 0 : std::stoll(item.entry->party));
    return {};
  });
  std::mutex mu;
  std::vector<std::int64_t> handed;
  ASSERT_TRUE(w.set_on_committed([&](std::vector<ports::StoredEntry> done) {
    std::lock_guard lk(mu);
    for (auto& e : done) handed.push_back(e.id);
  }));
  w.append(entry("7"));
  w.append(entry("dup"));
  w.put_state("pbx", "k", "");
  w.append(entry("8"));
  ASSERT_TRUE(w.flush());
  w.append(entry("dup"));
  ASSERT_TRUE(w.flush());
  std::lock_guard lk(mu);
  EXPECT_EQ(handed, (std::vector<std::int64_t>{7, 8}));
  EXPECT_EQ(w.stats().skipped, 2u);
  EXPECT_EQ(w.stats().committed, 4u);
}

// Counts the batches (transactions) and their sizes; every write succeeds.
struct Recorder {
  std::mutex mu;
  std::vector<std::size_t> batches;
  JournalBatchWriter::WriteFn fn() {
    return [this](std::deque<JournalWrite>& batch, std::vector<std::int64_t>& ids) -> base::Status {
      std::lock_guard lk(mu);
      batches.push_back(batch.size());
      for (const auto& w : batch)
        if (w.entry) ids.push_back(static_cast<std::int64_t>(ids.size()) + 1);
      return {};
    };
  }
};

TEST(JournalBatchWriter, WritesQueuedAfterACommitShareTheNextTransaction) {
  Recorder rec;
  JournalBatchWriter::Options o;
  o.location = "journal test";
  o.min_commit_interval = std::chrono::seconds(30);  // far longer than this test: only flush() ends a wait
  JournalBatchWriter w(o, rec.fn());
  w.append(entry("100"));
  ASSERT_TRUE(w.flush());  // at rest: committed at once (no earlier commit to wait for)
  for (int i = 0; i < 50; ++i) {
    w.append(entry(std::to_string(200 + i)));
    w.put_state("pbx", "k" + std::to_string(i), "text");
  }
  ASSERT_TRUE(w.flush());  // a waiting flush() ends the group-commit wait
  std::lock_guard lk(rec.mu);
  ASSERT_EQ(rec.batches, (std::vector<std::size_t>{1, 100}));
  EXPECT_EQ(w.stats().committed, 51u);
}

TEST(JournalBatchWriter, GroupCommitKeepsBatchesWithinMaxBatch) {
  Recorder rec;
  JournalBatchWriter::Options o;
  o.location = "journal test";
  o.max_batch = 10;
  o.min_commit_interval = std::chrono::seconds(30);
  JournalBatchWriter w(o, rec.fn());
  w.append(entry("100"));
  ASSERT_TRUE(w.flush());
  for (int i = 0; i < 25; ++i) w.append(entry(std::to_string(200 + i)));
  ASSERT_TRUE(w.flush());
  std::lock_guard lk(rec.mu);
  std::size_t total = 0;
  for (auto b : rec.batches) {
    EXPECT_LE(b, 10u);
    total += b;
  }
  EXPECT_EQ(total, 26u);
}

}  // namespace
}  // namespace callbridge::journal
