#include "relay/node/window.hpp"

#include <algorithm>
#include <random>

namespace callbridge::relay::node {

std::uint64_t client_id_hash_seed() {
  static const std::uint64_t seed = [] {
    std::random_device rd;
    return (std::uint64_t{rd()} << 32) ^ rd();
  }();
  return seed;
}

Window::Added Window::add(const wire::FrameHeader& h, FrameBytes bytes, Clock::time_point now) {
  PerClient& pc = clients_[h.client];
  if (h.seq <= pc.newest_seq) return Added::duplicate;
  pc.newest_seq = h.seq;

  if (h.call_end() && h.call_tag != 0) {
    // The call is over: its earlier frames leave now (the relay keeps nothing beyond the call).
    auto it = std::remove_if(entries_.begin(), entries_.end(), [&](const Entry& e) {
      if (e.header.call_tag != h.call_tag) return false;
      bytes_ -= e.bytes->size();
      PerClient& of = clients_[e.header.client];
      --of.kept;
      of.ended_max = std::max(of.ended_max, e.header.seq);
      ++call_end_dropped_;
      return true;
    });
    entries_.erase(it, entries_.end());
  }

  bytes_ += bytes->size();
  ++pc.kept;
  entries_.push_back(Entry{h, std::move(bytes), now});
  while (!entries_.empty() && (entries_.size() > limits_.max_frames || bytes_ > limits_.max_bytes)) evict_front();
  if (clients_.size() > limits_.max_clients) forget_idle_clients();
  return Added::added;
}

void Window::evict_front() {
  const Entry& e = entries_.front();
  PerClient& pc = clients_[e.header.client];
  pc.evicted_max = std::max(pc.evicted_max, e.header.seq);
  --pc.kept;
  bytes_ -= e.bytes->size();
  ++evicted_;
  entries_.pop_front();
}

void Window::forget_idle_clients() {
  // Clients without kept frames are forgotten first; a later duplicate of theirs would pass again,
  // which the receiver's replay check catches (docs/relay.md).
  for (auto it = clients_.begin(); it != clients_.end() && clients_.size() > limits_.max_clients;) {
    it = it->second.kept == 0 ? clients_.erase(it) : std::next(it);
  }
}

void Window::for_client(const wire::ClientId& client, std::uint64_t since,
                        const std::function<void(const wire::FrameHeader&, const FrameBytes&)>& fn) const {
  if (!clients_.contains(client)) return;
  for (const Entry& e : entries_) {
    if (e.header.client == client && e.header.seq > since) fn(e.header, e.bytes);
  }
}

bool Window::gap_after(const wire::ClientId& client, std::uint64_t since) const {
  auto it = clients_.find(client);
  return it != clients_.end() && (it->second.evicted_max > since || it->second.ended_max > since);
}

std::uint64_t Window::newest_seq(const wire::ClientId& client) const {
  auto it = clients_.find(client);
  return it == clients_.end() ? 0 : it->second.newest_seq;
}

void Window::expire(Clock::time_point now) {
  while (!entries_.empty() && now - entries_.front().at > limits_.max_age) evict_front();
}

}  // namespace callbridge::relay::node
