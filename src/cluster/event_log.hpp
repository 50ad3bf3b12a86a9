// JetStreamEventLog: the cluster's per-tenant event log (ports::EventLog) on a JetStream stream
// (docs/cluster.md "Call events on every node").
//
// One stream (`stream`, file storage, created by the first node) holds the subjects
// `<prefix>.<tenant>`. A NATS message carries a batch of one tenant's records; its headers
// `Cb-Seq` (the tenant sequence number of its first record), `Cb-Count` and `Cb-Origin` (the
// appending process) number the records; the body holds them length-prefixed ("<len>\n<bytes>").
// The tenant's sequence is stamped by whichever node publishes, never twice: every publish expects
// the stream sequence of the subject's last message (Nats-Expected-Last-Subject-Sequence), so a
// publish that raced another node's is refused by the server and stamped again after it. After a
// failover the new owner thus continues the tenant's sequence from the last message in the stream.
// A retried publish (no answer) keeps its Nats-Msg-Id, so JetStream's duplicate window stores it
// once.
//
// Every node reads the whole stream through one ordered consumer (from the first retained message
// at start: the hub rebuilds its resume window and its mirror of calls and lines from it) and hands
// every record to `reader` in order, on nats.c's delivery thread. Appends queue (bounded:
// `max_queued` records; beyond, records are dropped and counted) for one publisher thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "base/error.hpp"
#include "base/tenant_id.hpp"
#include "cluster/nats_connection.hpp"
#include "ports/event_log.hpp"

struct __natsSubscription;
struct __natsMsg;

namespace callbridge::cluster {

struct EventLogOptions {
  std::string stream = "callbridge_events";
  std::string subject_prefix = "cb.events";       // subjects <prefix>.<tenant>
  std::chrono::seconds max_age{24 * 3600};        // the stream forgets older messages
  std::int64_t max_msgs_per_tenant = 100'000;     // NATS messages (batches) kept per tenant
  std::size_t max_queued = 65'536;                // records waiting to be published
  std::size_t max_batch_records = 256;            // records per NATS message
  std::size_t max_batch_bytes = 256 * 1024;       // bytes per NATS message (the server's limit is 1 MiB)
  std::chrono::milliseconds publish_timeout{1000};
  std::string instance;                           // Cb-Origin of this process (random when empty)
};

// One record of a tenant with its sequence number; `own`: this process appended it.
using EventLogReader =
    std::function<void(const base::TenantId& tenant, std::uint64_t seq, std::string_view record, bool own)>;

class JetStreamEventLog final : public ports::EventLog {
 public:
  struct Stats {
    std::uint64_t appended = 0;
    std::uint64_t dropped = 0;          // queue full
    std::uint64_t published = 0;        // records acknowledged by JetStream
    std::uint64_t batches = 0;          // NATS messages acknowledged
    std::uint64_t conflicts = 0;        // another node published first: stamped again
    std::uint64_t retries = 0;          // no answer or an error: the same message again
    std::uint64_t received = 0;         // records handed to the reader
    std::uint64_t bad = 0;              // messages of the stream that are no batch (ignored)
    std::size_t queued = 0;
    std::uint64_t stream_seq = 0;       // the last stream message read
    std::uint64_t replay_until = 0;     // the stream's last message at start
    bool caught_up = false;             // read at least up to replay_until
    std::string last_error;
  };

  // Creates the stream when missing (an existing one is used as it is: its limits are logged), then
  // subscribes. Error: unavailable / invalid_argument with nats.c's words.
  static base::Result<std::unique_ptr<JetStreamEventLog>> open(NatsConnection& nats, EventLogOptions options,
                                                               EventLogReader reader);
  ~JetStreamEventLog() override;  // stops the publisher (queued records are lost), unsubscribes
  JetStreamEventLog(const JetStreamEventLog&) = delete;
  JetStreamEventLog& operator=(const JetStreamEventLog&) = delete;

  void append(const base::TenantId& tenant, std::string record) override;
  Stats stats() const;
  bool caught_up() const;
  const EventLogOptions& options() const { return options_; }

 private:
  JetStreamEventLog(NatsConnection& nats, EventLogOptions options, EventLogReader reader);
  struct Known {  // the tenant's last message in the stream, as far as this node knows
    bool valid = false;
    std::uint64_t last_seq = 0;         // tenant sequence of its last record
    std::uint64_t stream_seq = 0;       // its stream sequence (0: the subject has none)
  };
  static void on_msg(struct __natsConnection*, __natsSubscription*, __natsMsg*, void* self);
  static void on_complete(void* self);
  void handle(__natsMsg* msg);
  void run();
  // Publishes one batch until it is stored (or stop). Called on the publisher thread.
  void publish(const std::string& tenant, std::deque<std::string>& records, std::size_t count);
  bool lookup_last(const std::string& tenant, Known& out);
  bool wait_stop(std::chrono::milliseconds d);

  NatsConnection& nats_;
  EventLogOptions options_;
  EventLogReader reader_;
  __natsSubscription* sub_ = nullptr;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool sub_done_ = false;  // the subscription's last callback returned
  std::map<std::string, std::deque<std::string>> queues_;  // per tenant, in append order
  std::deque<std::string> ready_;                          // tenants with records, round robin
  std::map<std::string, Known> known_;
  std::map<std::string, std::uint64_t> highest_;           // highest tenant seq ever seen
  std::uint64_t next_msg_id_ = 1;
  Stats stats_;
  std::thread publisher_;
};

}  // namespace callbridge::cluster
