// LeaseManager: which PBX links this node owns (docs/cluster.md "Ownership"). One lease per link
// key in a JetStream key-value bucket whose values expire `ttl` after their last write (the
// bucket's max age). A node takes a free link with a create (compare-and-set: only if the key has
// no value), renews it every `renew_every` with an update that expects the revision it last
// wrote, and gives it up with a delete that expects that revision; so no node can overwrite
// another's lease, and a lease nobody renews disappears `ttl` after its last write.
//
// The owner must stop acting before another node can take over. Each successful write sent at
// monotonic time T moves the local deadline to T + ttl - margin: the server stamped the value
// after T, so it cannot expire (and be taken) before T + ttl. The fence (ports::LinkFence) is
// valid only before that deadline, checked against the monotonic clock at each use, which keeps
// counting while the process is stopped (SIGSTOP), so a node that wakes up after its lease ran out
// finds its fence invalid before it does anything. The fencing token is the revision of the
// create that started the term; revisions grow across the bucket, so a later term has a larger
// token.
//
// Threads: one worker thread does the NATS requests (each at most the connection's request
// timeout); one notifier thread calls `on_change` (gained, lost) in order and declares a lease lost
// when its deadline passes, also while the worker waits on a request. Public methods: any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/error.hpp"
#include "cluster/nats_connection.hpp"
#include "ports/link_fence.hpp"

namespace callbridge::cluster {

struct LeaseOptions {
  std::string node;                               // this node's name, written into its leases
  std::string bucket = "callbridge_leases";       // the key-value bucket
  std::chrono::milliseconds ttl{3000};            // how long a lease outlives its last renewal
  std::chrono::milliseconds renew_every{1000};    // the owner renews this often
  std::chrono::milliseconds margin{500};          // the owner stops this long before ttl runs out
  std::chrono::milliseconds retry_every{250};     // a free or foreign link is checked this often
};

// Checks the relations the safety argument needs: 100 ms <= ttl; 0 < margin < ttl; renew_every
// leaves room for two renewals and a request timeout before the deadline. Error names the setting.
base::Status check_lease_options(const LeaseOptions& o, std::chrono::milliseconds request_timeout);

// A lease key for a link name: "link." + the name, characters NATS keys do not allow as =XX.
// Other things one node at a time does take another prefix ("edge.": the cloud relay's edge).
std::string lease_key(std::string_view link, std::string_view prefix = "link.");

// One link's fence (ports::LinkFence), shared by the manager and the driver that acts on the link.
class LeaseFence final : public ports::LinkFence {
 public:
  bool valid() const override;
  std::uint64_t token() const override { return token_.load(); }
  // Monotonic nanoseconds (steady_clock) until which the fence is valid; 0 = not owned.
  std::int64_t deadline_ns() const { return deadline_ns_.load(); }

 private:
  friend class LeaseManager;
  std::atomic<std::uint64_t> token_{0};
  std::atomic<std::int64_t> deadline_ns_{0};
};

struct LeaseChange {
  std::string key;
  bool gained = false;   // false: lost (or released)
  std::uint64_t token = 0;
  std::string reason;    // lost: why ("released", "deadline passed: no renewal acknowledged", ...)
};

// What diagnostics show of one wanted key.
struct LeaseInfo {
  std::string key;
  std::string owner;              // node name of the last owner seen ("" = free or unknown)
  bool ours = false;              // this node holds it (fence valid)
  std::uint64_t token = 0;        // ours: the term's token
  std::uint64_t revision = 0;     // the last revision seen (ours or the owner's)
  std::int64_t age_ms = -1;       // since the last write seen (ours: last renewal), -1 unknown
  std::int64_t held_ms = -1;      // ours: since the term began
  std::int64_t deadline_in_ms = -1;  // ours: time left before the fence closes
  std::string last_error;         // the last failed request for this key
};

class LeaseManager {
 public:
  // `bucket` from NatsConnection::key_value(options.bucket, options.ttl); both must outlive this.
  // `on_change` runs on the notifier thread, one call at a time, in order.
  LeaseManager(NatsConnection& nats, NatsConnection::KvBucket& bucket, LeaseOptions options,
               std::function<void(const LeaseChange&)> on_change);
  ~LeaseManager();  // stops the threads; held leases are released (best effort), no callbacks after
  LeaseManager(const LeaseManager&) = delete;
  LeaseManager& operator=(const LeaseManager&) = delete;

  // Contend for `key` from now on (idempotent). Its fence is valid only while owned.
  std::shared_ptr<const LeaseFence> want(const std::string& key);
  // Stop contending for `key`; when held, the lease is deleted (compare-and-set) so another node
  // takes it without waiting for the ttl, and on_change reports it lost ("released").
  void release(const std::string& key);
  // This node owns `key` now (its fence is valid).
  bool holds(const std::string& key) const;
  std::vector<LeaseInfo> snapshot() const;
  const LeaseOptions& options() const { return options_; }
  // A random id of this manager, written with the node name: two processes with one node name
  // (a restart) are told apart.
  const std::string& instance() const { return instance_; }

  // Tests: while paused the worker sends nothing (a stuck owner), as if its requests were lost.
  void pause_for_test(bool paused);

 private:
  using Clock = std::chrono::steady_clock;
  struct Slot {
    std::string key;
    bool wanted = true;
    std::shared_ptr<LeaseFence> fence = std::make_shared<LeaseFence>();
    bool held = false;              // our term is open (until lost is reported)
    std::uint64_t revision = 0;     // ours: the last revision we wrote
    Clock::time_point term_start{}, last_write{};
    Clock::time_point next{};       // when the worker looks at it again
    std::string owner;              // last seen
    std::uint64_t seen_revision = 0;
    Clock::time_point seen_at{};    // when a foreign value was first seen at seen_revision
    std::string last_error;
  };

  void work();
  void notify_loop();
  void step(const std::string& key);
  // A new term or renewal acknowledged: sent at `sent`. Under mu_.
  void extend(Slot& s, Clock::time_point sent, std::uint64_t revision);
  // Ends our term (under mu_), queues the lost notice.
  void end_term(Slot& s, std::string reason);
  std::string value() const;

  NatsConnection& nats_;
  NatsConnection::KvBucket& bucket_;
  LeaseOptions options_;
  std::function<void(const LeaseChange&)> on_change_;
  std::string instance_;

  mutable std::mutex mu_;
  std::condition_variable work_cv_, notify_cv_;
  std::map<std::string, Slot> slots_;
  std::deque<LeaseChange> notices_;
  bool stop_ = false;
  std::atomic<bool> paused_{false};
  std::thread worker_, notifier_;
};

}  // namespace callbridge::cluster
