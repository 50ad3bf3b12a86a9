// LinkFence: whether this node may act on one PBX link right now (cluster mode, docs/cluster.md).
// In a cluster every link is owned by one node at a time through a lease (src/cluster); its owner
// holds a fence that stays valid until the lease's local deadline, which passes before another
// node can take the link. A driver built with a fence checks it before each thing it sends to the
// PBX and before it delivers what it read; once invalid it stops acting and closes the link.
// token() is the fencing token of the current ownership term (the lease's revision when it was
// acquired): it grows with every new term, so a store can refuse writes of an older term.
// Implemented by cluster::LeaseFence; any thread (atomics).
#pragma once

#include <cstdint>

namespace callbridge::ports {

class LinkFence {
 public:
  virtual ~LinkFence() = default;
  // True while this node owns the link and its lease cannot have expired elsewhere.
  virtual bool valid() const = 0;
  // The current term's fencing token; 0 when the link was never owned.
  virtual std::uint64_t token() const = 0;
};

}  // namespace callbridge::ports
