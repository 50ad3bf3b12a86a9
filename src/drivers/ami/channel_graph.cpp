#include "drivers/ami/channel_graph.hpp"

#include <algorithm>

namespace callbridge::drivers::ami {

namespace {
void erase_value(std::vector<Slot>& v, Slot s) { v.erase(std::remove(v.begin(), v.end(), s), v.end()); }
}  // namespace

Slot ChannelGraph::find(std::string_view uid) const {
  auto it = by_uid_.find(uid);
  return it == by_uid_.end() ? kNoSlot : it->second;
}

Slot ChannelGraph::add(std::string_view uid) {
  if (by_uid_.find(uid) != by_uid_.end()) return kNoSlot;
  Slot s;
  if (!free_.empty()) {
    s = free_.back();
    free_.pop_back();
    chans_[static_cast<std::size_t>(s)] = Channel{};
  } else {
    s = static_cast<Slot>(chans_.size());
    chans_.emplace_back();
  }
  Channel& c = at(s);
  c.live = true;
  c.uid = std::string(uid);
  by_uid_.emplace(c.uid, s);
  return s;
}

void ChannelGraph::remove(Slot s) {
  Channel& c = at(s);
  if (!c.live) return;
  leave_bridge(s);
  end_dial(s);
  for (Slot t : c.dial_targets) {
    if (at(t).live && at(t).dial_source == s) at(t).dial_source = kNoSlot;
  }
  c.dial_targets.clear();
  if (c.peer != kNoSlot && at(c.peer).peer == s) at(c.peer).peer = kNoSlot;
  if (!c.local_key.empty()) {
    auto it = locals_.find(c.local_key);
    if (it != locals_.end()) {
      erase_value(it->second, s);
      if (it->second.empty()) locals_.erase(it);
    }
  }
  by_uid_.erase(c.uid);
  c = Channel{};
  free_.push_back(s);
}

std::vector<Slot> ChannelGraph::all() const {
  std::vector<Slot> out;
  out.reserve(by_uid_.size());
  for (const auto& [uid, s] : by_uid_) out.push_back(s);
  std::sort(out.begin(), out.end());
  return out;
}

Bridge* ChannelGraph::bridge(std::string_view id) {
  auto it = bridges_.find(id);
  return it == bridges_.end() ? nullptr : &it->second;
}

Bridge& ChannelGraph::ensure_bridge(std::string_view id) {
  auto it = bridges_.find(id);
  if (it != bridges_.end()) return it->second;
  return bridges_.emplace(std::string(id), Bridge{}).first->second;
}

void ChannelGraph::join_bridge(Slot c, std::string_view id) {
  Channel& ch = at(c);
  if (ch.bridge == id) return;
  leave_bridge(c);
  Bridge& b = ensure_bridge(id);
  b.members.push_back(c);
  ch.bridge = std::string(id);
}

void ChannelGraph::leave_bridge(Slot c) {
  Channel& ch = at(c);
  if (ch.bridge.empty()) return;
  if (Bridge* b = bridge(ch.bridge)) erase_value(b->members, c);
  ch.bridge.clear();
}

void ChannelGraph::destroy_bridge(std::string_view id) {
  auto it = bridges_.find(id);
  if (it == bridges_.end()) return;
  for (Slot m : it->second.members) at(m).bridge.clear();
  bridges_.erase(it);
}

void ChannelGraph::set_local_key(Slot s, std::string key) {
  Channel& c = at(s);
  if (!c.local_key.empty() || key.empty()) return;
  c.local_key = std::move(key);
  locals_[c.local_key].push_back(s);
}

std::size_t ChannelGraph::sweep_empty_bridges() {
  std::size_t n = 0;
  for (auto it = bridges_.begin(); it != bridges_.end();) {
    if (it->second.members.empty()) {
      it = bridges_.erase(it);
      ++n;
    } else {
      ++it;
    }
  }
  return n;
}

void ChannelGraph::pair_local(Slot a, Slot b) {
  if (a == kNoSlot || b == kNoSlot || a == b) return;
  at(a).peer = b;
  at(b).peer = a;
}

Slot ChannelGraph::local_partner(std::string_view key, Slot self) const {
  auto it = locals_.find(key);
  if (it == locals_.end()) return kNoSlot;
  for (Slot s : it->second) {
    if (s != self) return s;
  }
  return kNoSlot;
}

void ChannelGraph::start_dial(Slot source, Slot target) {
  if (source == kNoSlot || target == kNoSlot || source == target) return;
  end_dial(target);
  at(target).dial_source = source;
  auto& t = at(source).dial_targets;
  if (std::find(t.begin(), t.end(), target) == t.end()) t.push_back(target);
}

void ChannelGraph::end_dial(Slot target) {
  Channel& t = at(target);
  if (t.dial_source == kNoSlot) return;
  erase_value(at(t.dial_source).dial_targets, target);
  t.dial_source = kNoSlot;
}

Far ChannelGraph::resolve(Slot party) const {
  Far f;
  Slot cur = party;
  for (int guard = 0; guard < 16; ++guard) {
    const Channel& c = at(cur);
    Slot next = kNoSlot;
    if (!c.bridge.empty()) {
      auto it = bridges_.find(c.bridge);
      if (it != bridges_.end()) {
        const Bridge& b = it->second;
        if (b.conference) {
          f.ok = true;
          f.conference = true;
          f.conf_name = b.conf_name;
          f.conf_key = it->first;
          return f;
        }
        Slot peer = kNoSlot;
        int peers = 0;
        for (Slot m : b.members) {
          if (m == cur || at(m).kind == ChanKind::helper) continue;
          peer = m;
          ++peers;
        }
        if (peers > 1) {
          // An ad-hoc multi-party bridge (e.g. a three-way call) is a conference of its own.
          f.ok = true;
          f.conference = true;
          f.conf_key = it->first;
          return f;
        }
        next = peer;
      }
    }
    if (next == kNoSlot) {
      if (c.dial_source != kNoSlot) {
        next = c.dial_source;
        f.via_dial_backward = true;
      } else if (c.dial_targets.size() == 1) {
        next = c.dial_targets.front();
        f.via_dial_forward = true;
      } else {
        return Far{};  // alone, or ringing several targets at once: not known yet
      }
    }
    const Channel& n = at(next);
    if (n.kind == ChanKind::local) {
      if (n.peer == kNoSlot) return Far{};
      cur = n.peer;
      continue;
    }
    if (next == party) return Far{};
    f.ok = true;
    f.slot = next;
    return f;
  }
  return Far{};
}

}  // namespace callbridge::drivers::ami
