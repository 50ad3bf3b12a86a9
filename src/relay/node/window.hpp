// Window: the recent edge->client frames of one edge that a relay node keeps so a client can
// resume after a reconnect (docs/relay.md "What the relay keeps"). Bounded by frame count, bytes
// and age; a `call_end` frame for call tag T removes the earlier frames of T. Duplicates (a seq
// not above the newest seen for its client: an edge replaying its outbox, a frame arriving twice
// through the cluster) are refused. No I/O, no clock of its own (callers pass `now`).
// Not thread-safe; owned by the node's io thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include "relay/wire/frame.hpp"

namespace callbridge::relay::node {

using Clock = std::chrono::steady_clock;
using FrameBytes = std::shared_ptr<const std::string>;

struct WindowLimits {
  std::size_t max_frames = 4096;
  std::size_t max_bytes = 4 * 1024 * 1024;
  std::chrono::seconds max_age{300};
  // Clients remembered for duplicate detection after their frames left (bounded too).
  std::size_t max_clients = 65536;
};

// Client ids are chosen by clients (the relay cannot check them), so the hash mixes all 16 bytes
// with a seed random per process: ids alike in their first bytes (or made alike on purpose) do not
// share a bucket. It used the first 8 bytes alone: relay_bench's ids, equal there, made every
// lookup in an edge's client table linear (19k clients: 59 connections/s, 3 ms of CPU per frame).
std::uint64_t client_id_hash_seed();
struct ClientIdHash {
  std::size_t operator()(const wire::ClientId& id) const noexcept {
    std::uint64_t a = 0, b = 0;
    for (std::size_t i = 0; i < 8; ++i) {
      a = a << 8 | id[i];
      b = b << 8 | id[i + 8];
    }
    std::uint64_t h = (a ^ seed_) * 0x9e3779b97f4a7c15ULL;
    h ^= h >> 29;
    h = (h ^ b) * 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 32;
    return static_cast<std::size_t>(h);
  }
  std::uint64_t seed_ = client_id_hash_seed();
};

class Window {
 public:
  explicit Window(WindowLimits limits) : limits_(limits) {}

  enum class Added { added, duplicate };
  // `h` is the decoded header of `bytes` (the whole frame as sent).
  Added add(const wire::FrameHeader& h, FrameBytes bytes, Clock::time_point now);

  // Calls `fn` for the kept frames of `client` with seq > since, oldest first.
  void for_client(const wire::ClientId& client, std::uint64_t since,
                  const std::function<void(const wire::FrameHeader&, const FrameBytes&)>& fn) const;
  // Whether frames of `client` after `since` are gone, evicted by the bounds (count, bytes, age) or
  // removed by their call's end, so a resume from `since` cannot be whole (the client then resumes
  // its event streams from the edge's API).
  bool gap_after(const wire::ClientId& client, std::uint64_t since) const;
  // The newest seq seen for `client` (0 if none): where a connection without `since` starts.
  std::uint64_t newest_seq(const wire::ClientId& client) const;

  // Drops frames older than max_age.
  void expire(Clock::time_point now);

  std::size_t frames() const { return entries_.size(); }
  std::size_t bytes() const { return bytes_; }
  // Frames evicted by the bounds so far (not counting call ends).
  std::uint64_t evicted() const { return evicted_; }
  std::uint64_t call_end_dropped() const { return call_end_dropped_; }

 private:
  struct Entry {
    wire::FrameHeader header;
    FrameBytes bytes;
    Clock::time_point at;
  };
  struct PerClient {
    std::uint64_t newest_seq = 0;
    std::uint64_t evicted_max = 0;
    std::uint64_t ended_max = 0;  // the newest of its frames a call's end removed
    std::size_t kept = 0;
  };

  void evict_front();
  void forget_idle_clients();

  WindowLimits limits_;
  std::deque<Entry> entries_;
  std::unordered_map<wire::ClientId, PerClient, ClientIdHash> clients_;
  std::size_t bytes_ = 0;
  std::uint64_t evicted_ = 0;
  std::uint64_t call_end_dropped_ = 0;
};

}  // namespace callbridge::relay::node
