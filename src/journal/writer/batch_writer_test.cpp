// JournalBatchWriter: what happens to queued entries when the disk stays unwritable until the
// writer stops (fault campaign, docs/reliability.md): nothing is dropped silently.
#include "journal/writer/batch_writer.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

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

}  // namespace
}  // namespace callbridge::journal
