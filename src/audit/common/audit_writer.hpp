// What both audit log backends (audit/sqlite, audit/postgres) share, so that they cannot drift:
// how a record is cleaned before it is stored (bounded fields, token secrets masked, details a JSON
// object) and the writer: append() only queues; a thread writes what is queued in batches through
// the backend's write function (one transaction each, retried after a failure) and, every
// prune_interval, runs the backend's retention. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "ports/audit_log.hpp"

namespace callbridge::audit {

// Longest kept text per field (longer is cut): the log must not grow by what a client sends.
inline constexpr std::size_t kMaxFieldBytes = 512;
inline constexpr std::size_t kMaxDetailsBytes = 4096;
inline constexpr std::size_t kMaxQueryLimit = 10'000;

// A record as stored: fields cut at kMaxFieldBytes (at a UTF-8 boundary), anything shaped like a
// token masked, details "{}" unless a JSON object, {"truncated":true} when over kMaxDetailsBytes.
ports::AuditRecord clean(ports::AuditRecord r);

struct AuditLogStats {
  std::uint64_t appended = 0;
  std::uint64_t committed = 0;
  std::uint64_t dropped = 0;       // the queue was full
  std::uint64_t write_errors = 0;  // failed commits (retried)
  std::uint64_t pruned = 0;        // deleted by retention
  std::size_t queued = 0;
};

class AuditBatchWriter {
 public:
  struct Options {
    std::string location;  // "audit log /var/lib/callbridge/audit.db" (log messages)
    std::size_t max_queued = 100'000;  // append() drops (and counts) beyond this
    std::size_t max_batch = 2'000;
    std::chrono::milliseconds retry_interval{1'000};
    std::chrono::seconds prune_interval{3600};
  };
  // Writes the batch (records already clean()ed), all or nothing. Called on the writer thread.
  using WriteFn = std::function<base::Status(const std::deque<ports::AuditRecord>& batch)>;
  // Retention on the timer (the backend logs and counts through add_pruned).
  using PruneFn = std::function<void()>;

  AuditBatchWriter(Options options, WriteFn write, PruneFn prune);  // starts the thread
  ~AuditBatchWriter();  // writes what is queued while writes succeed, then stops
  AuditBatchWriter(const AuditBatchWriter&) = delete;
  AuditBatchWriter& operator=(const AuditBatchWriter&) = delete;

  void append(ports::AuditRecord record);
  // Blocks until everything appended so far is written, or a write failed.
  base::Status flush();
  AuditLogStats stats() const;
  void add_pruned(std::size_t n);

 private:
  void run();

  const Options options_;
  const WriteFn write_;
  const PruneFn prune_;
  mutable std::mutex mu_;  // everything below
  std::condition_variable wake_;
  std::condition_variable written_;
  std::deque<ports::AuditRecord> queue_;
  std::uint64_t queued_total_ = 0;  // appended and not dropped (what flush() waits for)
  std::uint64_t failed_attempts_ = 0;
  std::string last_error_;
  bool stopping_ = false;
  AuditLogStats stats_;
  std::thread thread_;  // last: starts after everything above exists
};

}  // namespace callbridge::audit
