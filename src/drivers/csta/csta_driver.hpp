// CstaDriver: ports::PbxDriver for a switch that offers a CSTA XML link (docs/csta.md "Driver"):
// OpenScape Voice and other ECMA-323 switches, or another callbridged's [csta] server. Owns the
// CstaLink (connection, session start, keepalive, reconnects), starts a device monitor for each
// configured line (or for every station the switch lists), resynchronises each line with
// SnapshotDevice after every (re)connect (and tells the sink when all are: on_calls_resynced),
// turns the monitors' events into the call model and the journal (CstaCallTracker) and carries
// out call control (ports::PbxCommands) as CSTA services.
// Built by the driver table in app/ (app/driver_table.cpp); io (model) thread only.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "base/error.hpp"
#include "base/tenant_id.hpp"
#include "base/time.hpp"
#include "drivers/csta/csta_call_tracker.hpp"
#include "drivers/csta/csta_link.hpp"
#include "ports/pbx_driver.hpp"

namespace callbridge::drivers::csta {

struct CstaDriverOptions {
  std::string name;  // the [[pbx]] name
  base::TenantId tenant;
  CstaLinkOptions link;
  // Lines to monitor, as the switch names them ("100"); empty: every station the switch lists
  // (GetSwitchingFunctionDevices).
  std::vector<std::string> devices;
  // What each device can do remotely (answer/hold through the switch), which decides the actions
  // the model offers. Unset: nothing remote.
  std::function<model::DeviceCaps(std::string_view device)> device_caps;
  // Cluster mode (docs/cluster.md "Fencing"): the link acts only while this node owns it
  // (CstaLinkOptions::fence), and a driver stopped with its fence closed journals nothing of its
  // calls in progress: the new owner takes them up with its snapshot. Null: one node.
  const ports::LinkFence* fence = nullptr;
};

// "100", "100-105" (ranges of equal length, at most 10000 lines in all) -> the lines.
// Errc::invalid_argument names the bad entry.
base::Result<std::vector<std::string>> expand_devices(const std::vector<std::string>& entries);

class CstaDriver final : public ports::PbxDriver, private CstaLinkSink {
 public:
  // Errors: invalid link options. `sink` must outlive the driver.
  static base::Result<std::unique_ptr<CstaDriver>> create(boost::asio::any_io_executor ex, CstaDriverOptions options,
                                                          ports::PbxEventSink& sink, const base::Clock* clock = nullptr);
  ~CstaDriver() override;
  CstaDriver(const CstaDriver&) = delete;
  CstaDriver& operator=(const CstaDriver&) = delete;

  const std::string& name() const override { return options_.name; }
  const base::TenantId& tenant() const override { return options_.tenant; }
  void start() override;
  void stop(std::function<void()> done) override;
  ports::PbxDriverStatus status() const override;
  const model::CallModel& call_model() const override { return tracker_->model(); }
  std::uint64_t term() const override { return term_; }
  ports::PbxCommands* commands() override;
  // DND and forwarding of the monitored lines as the switch keeps them (ECMA-269 22: read with
  // GetDoNotDisturb/GetForwarding after each monitor, kept current by the monitors'
  // DoNotDisturb/Forwarding events, set with SetDoNotDisturb/SetForwarding); ready() only while
  // the link is up and the switch offers them (GetCSTAFeatures: logicalDeviceServ).
  ports::PbxFeatures* features() override;

  CstaLink& link() { return *link_; }
  // Lines with a running monitor.
  std::size_t monitored() const { return monitors_.size(); }

 private:
  class Commands;
  class Features;
  CstaDriver(CstaDriverOptions options, ports::PbxEventSink& sink, const base::Clock& clock);
  void on_up(base::Timestamp at) override;
  void on_event(const wire::Message& m, base::Timestamp at) override;
  void on_switching_devices(const wire::SwitchingFunctionDevices& d) override;
  void on_down(base::Timestamp at, const base::Error& why) override;
  void monitor(const std::string& device);
  void start_monitors();
  void read_features(const std::string& device);
  // DND/forwarding of `lines` changed (or their availability, `lines` empty): the model's "dnd"
  // line state and the sink.
  void features_changed(const std::vector<std::string>& lines);
  // One line of the session's resync is done (its snapshot applied, or its monitor or snapshot
  // refused): once every line is and the lines are all known (configured, or the switch's list
  // ended), the model holds the link's calls in progress: the sink hears it once per session
  // (ports::PbxEventSink::on_calls_resynced; cluster mode: every node's mirror drops the rest).
  void line_resynced();
  void report_if_resynced();

  CstaDriverOptions options_;
  ports::PbxEventSink& sink_;
  const base::Clock& clock_;
  std::unique_ptr<CstaCallTracker> tracker_;
  std::unique_ptr<CstaLink> link_;
  std::unique_ptr<Commands> commands_;
  std::unique_ptr<Features> features_;
  std::map<std::string, std::string> monitors_;  // monitorCrossRefID -> device
  std::set<std::string> lines_;                  // the company's lines (monitored or to be)
  std::string devices_ref_;                      // serviceCrossRefID of GetSwitchingFunctionDevices
  std::uint64_t events_ = 0, entries_ = 0, monitor_errors_ = 0, resyncs_ = 0;
  std::uint64_t term_ = 0;  // the fence's token when the driver was built (cluster mode)
  std::uint64_t session_ = 0;                    // sessions seen (answers of an older one are dropped)
  // This session's resync (line_resynced): lines asked for and not done yet, whether all lines
  // are known, whether the sink heard of it.
  std::size_t resync_pending_ = 0;
  bool lines_listed_ = false, resync_reported_ = false;
  bool stopped_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace callbridge::drivers::csta
