// AmiDeviceTracker: fills a model::DeviceRegistry (docs/devices.md) from what Asterisk's PJSIP
// stack reports over AMI:
// - at every login the resync's PJSIPShowEndpoints (EndpointList: the endpoints and their contact
//   URIs) and PJSIPShowContacts (ContactList: registrations with address, User-Agent, expiry);
//   endpoints the resync no longer lists leave the registry;
// - live ContactStatus events (a registration created, refreshed, qualified or removed); a new or
//   renewed registration asks for the endpoint's details (PJSIPShowEndpoint: ContactStatusDetail
//   with the User-Agent, AuthDetail with the user name) through the `ask` callback;
// - DeviceStateChange/ExtensionStatus and call events through the call model: the line status,
//   the last call and when the device was last seen.
// Never keeps an authentication secret (AuthDetail's Password is not read). Model thread only.
#pragma once

#include <functional>
#include <set>
#include <string>
#include <string_view>

#include "base/time.hpp"
#include "drivers/ami/ami_call_tracker.hpp"
#include "drivers/ami/ami_protocol.hpp"
#include "drivers/ami/ami_wire.hpp"
#include "model/call_model.hpp"
#include "model/device_registry.hpp"

namespace callbridge::drivers::ami {

// The party rule of TrackerOptions for an endpoint name (PJSIP/<endpoint>): all digits of
// party_min_len..party_max_len, or listed in party_endpoints.
bool is_party_endpoint(const TrackerOptions& o, std::string_view endpoint);

class AmiDeviceTracker {
 public:
  // `ask(endpoint)`: send PJSIPShowEndpoint for it and hand the answer to on_endpoint_detail().
  // Unset (replay): registrations keep what ContactStatus says, without a User-Agent.
  using Ask = std::function<void(const std::string& endpoint)>;
  // `model`: the call model of the same link (line states), outlives the tracker.
  AmiDeviceTracker(std::string pbx, const model::CallModel& model,
                   std::function<bool(std::string_view endpoint)> is_party, Ask ask);

  void on_session_start(base::Timestamp at);
  void on_message(const AmiMessage& m, base::Timestamp at);
  // The answer to a PJSIPShowEndpoint (its items; an error answer changes nothing).
  void on_endpoint_detail(const std::string& endpoint, const AmiResponse& r, base::Timestamp at);
  // A call event of the call model (already applied): the device's last call, last seen and status.
  void on_call_event(const model::CallEvent& e);
  // Line states of the model that changed since the last sync become the devices' statuses (after
  // a PBX device/extension state report and a lost session, after which they are unknown until the
  // resync while registrations keep their last known state). Walks the model's devices.
  void sync_status();

  // DELETE /api/v1/devices/{id}: removes the device until the PBX reports it again.
  bool forget(std::string_view id);

  const model::DeviceRegistry& registry() const { return registry_; }
  model::DeviceRegistry& registry() { return registry_; }
  std::uint64_t detail_requests() const { return detail_requests_; }
  // New endpoints ignored because the registry held kMaxDevices already.
  std::uint64_t dropped_devices() const { return dropped_devices_; }
  static constexpr std::size_t kMaxDevices = 20'000;

 private:
  // Edits a copy of the endpoint's device (created when new) and stores it, marked changed, only
  // when `f` changed something.
  template <typename F>
  void edit(std::string_view endpoint, F&& f);

  model::DeviceRegistry registry_;
  const model::CallModel& model_;
  std::function<bool(std::string_view)> is_party_;
  Ask ask_;
  std::uint64_t synced_version_ = 0;
  // The resync in progress: endpoints / registered contacts (endpoint + '\n' + uri) it listed.
  std::set<std::string, std::less<>> resync_endpoints_, resync_contacts_;
  bool endpoints_listed_ = false;
  std::uint64_t detail_requests_ = 0;
  std::uint64_t dropped_devices_ = 0;
};

}  // namespace callbridge::drivers::ami
