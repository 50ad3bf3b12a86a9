// AmiDriver: ports::PbxDriver for one Asterisk over AMI. Owns the AmiLink (session, reconnects,
// keepalive), the AmiCallTracker fed by it (call model + journal legs), AmiCommands (call
// control), AmiFeatures (DND, forwarding, follow-me in AstDB) and the parked calls (AmiParkingTracker); delivers call events, line state changes and journal entries to the PbxEventSink it
// was created with. Open calls can survive a restart in the journal store's open-call state.
// Built by the driver table in app/ (app/driver_table.cpp); io (model) thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>

#include "base/error.hpp"
#include "base/tenant_id.hpp"
#include "base/time.hpp"
#include "drivers/ami/ami_call_tracker.hpp"
#include "drivers/ami/ami_commands.hpp"
#include "drivers/ami/ami_device_tracker.hpp"
#include "drivers/ami/ami_features.hpp"
#include "drivers/ami/ami_link.hpp"
#include "drivers/ami/ami_parking_tracker.hpp"
#include "drivers/ami/ami_queue_tracker.hpp"
#include "ports/journal_store.hpp"
#include "ports/link_fence.hpp"
#include "ports/pbx_driver.hpp"

namespace callbridge::drivers::ami {

struct AmiDriverOptions {
  std::string name;         // the [[pbx]] name
  TrackerOptions tracker;   // its tenant is the driver's tenant
  AmiLinkOptions link;
  AmiCommandsOptions commands;
  // What each device can do remotely (answer/hold by SIP NOTIFY), which decides the actions the
  // model offers. Unset: nothing remote.
  std::function<model::DeviceCaps(std::string_view device)> device_caps;
  // The store that keeps open-call state across restarts (ports::JournalStore::keeps_open_state):
  // rows under "ami:<tenant>:<name>". Null, or a store without it: open calls end at stop().
  ports::JournalStore* open_state = nullptr;
  // Cluster mode (docs/cluster.md): the lease of this link. The link acts only while it is valid
  // (AmiSessionOptions::fence), and a driver stopped or destroyed without it journals nothing:
  // its open calls are the new owner's. Must outlive the driver. Null: not clustered.
  const ports::LinkFence* fence = nullptr;
};

class AmiDriver final : public ports::PbxDriver {
 public:
  // Errors: invalid link options, a record directory that cannot be created, open-call state
  // that cannot be read. `sink` must outlive the driver.
  static base::Result<std::unique_ptr<AmiDriver>> create(boost::asio::any_io_executor ex, AmiDriverOptions options,
                                                         ports::PbxEventSink& sink);
  // A driver whose stop() did not finish (forced shutdown) ends its open calls here, into the
  // sink, which must therefore still be alive.
  ~AmiDriver() override;
  AmiDriver(const AmiDriver&) = delete;
  AmiDriver& operator=(const AmiDriver&) = delete;

  const std::string& name() const override { return name_; }
  const base::TenantId& tenant() const override { return tenant_; }
  void start() override;
  void stop(std::function<void()> done) override;
  ports::PbxDriverStatus status() const override;
  const model::CallModel& call_model() const override;
  std::uint64_t term() const override { return term_; }
  model::ChannelUsage channel_usage() const override;
  ports::PbxCommands* commands() override;
  const model::DeviceRegistry* devices() const override;
  bool forget_device(std::string_view id) override;
  const model::QueueState* queues() const override;
  void queue_member(const ports::QueueMemberRequest& r, ports::CommandDone done) override;
  ports::PbxFeatures* features() override;
  const model::ParkingState* parking() const override;

  // Test and replay access.
  const AmiCallTracker& tracker() const { return *tracker_; }
  const AmiDeviceTracker& device_tracker() const { return *devices_; }
  AmiLink& link() { return *link_; }

 private:
  class Tap;
  AmiDriver(std::string name, base::TenantId tenant, ports::PbxEventSink& sink);
  void ask_endpoint(const std::string& endpoint);
  void publish_devices();
  void publish_queues();
  void publish_parking();
  void ask_queue_config();
  void features_changed(const std::vector<std::string>& lines);

  std::string name_;
  base::TenantId tenant_;
  ports::PbxEventSink& sink_;
  base::SystemClock clock_;
  std::unique_ptr<AmiCallTracker> tracker_;
  std::unique_ptr<AmiDeviceTracker> devices_;  // reads tracker_'s model
  std::unique_ptr<AmiQueueTracker> queues_;
  std::unique_ptr<AmiParkingTracker> parking_;
  std::unique_ptr<Tap> tap_;  // between link and tracker; outlives link_
  std::unique_ptr<AmiLink> link_;
  std::unique_ptr<AmiCommands> commands_;  // uses tracker_ and link_: declared after them
  std::unique_ptr<AmiFeatures> features_;  // uses link_
  std::string last_resync_id_;             // "resync-<last action>": its answer ends the resync
  bool flushed_ = false;
  bool keep_open_ = false;
  const ports::LinkFence* fence_ = nullptr;
  std::uint64_t term_ = 0;  // the fence's token when the driver was built
  bool fenced() const { return fence_ && !fence_->valid(); }
  std::uint64_t entries_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // PJSIPShowEndpoint answers check it
};

}  // namespace callbridge::drivers::ami
