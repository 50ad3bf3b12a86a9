// The device registry of one PBX connection (docs/devices.md): every SIP endpoint the PBX reports
// with its contacts (registered addresses and the phones' User-Agents), the model and firmware
// parsed from the User-Agent, the registration state, the last line status, the last call and
// when the PBX last said anything about it. Pure state, no I/O: a driver fills it (drivers/ami
// AmiDeviceTracker from PJSIPShowEndpoints/PJSIPShowContacts/PJSIPShowEndpoint and ContactStatus),
// the tenant runtime publishes its changes, the devices capability lists it. Model thread only.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/time.hpp"
#include "model/call_model.hpp"

namespace callbridge::model {

// What a User-Agent header says about the phone. All empty when the format is not recognized (the
// raw text stays in RegisteredDevice::user_agent).
struct UserAgentInfo {
  std::string vendor;    // "Yealink"
  std::string model;     // "SIP-T46S"
  std::string firmware;  // "66.86.0.15"
  bool operator==(const UserAgentInfo&) const = default;
};
// "Yealink SIP-T46S 66.86.0.15", "Grandstream GXP2170 1.0.11.23", "snom D785/10.1.54.13",
// "Cisco/SPA504G-7.6.2b", "PolycomVVX-VVX_411-UA/5.9.5.0614", "MicroSIP/3.21.3", ... At most the
// first 256 bytes are read.
UserAgentInfo parse_user_agent(std::string_view ua);

// The line status of a device as the registry shows it (from the call model's device state).
enum class DeviceStatus { unknown, on_hook, off_hook, ringing, offline };
std::string_view to_string(DeviceStatus s);
// idle/dnd -> on_hook, busy/held -> off_hook, ringing -> ringing, unavailable -> offline,
// unknown -> unknown.
DeviceStatus device_status(DeviceState s);

// One contact of an endpoint: a registration (dynamic) or a configured address (static).
struct DeviceContact {
  std::string uri;         // "sip:100@127.0.0.1:5100"
  std::string address;     // "127.0.0.1:5100": where the registration came from (else the URI's host:port)
  std::string user_agent;  // "" when unknown (static contacts)
  std::string status;      // the PBX's contact status: "NonQualified", "Reachable", "Unreachable", ...
  std::optional<base::Timestamp> expires;  // registrations only
  bool dynamic = false;    // registered by the phone (else from the configuration)
  bool operator==(const DeviceContact&) const = default;
};

enum class Registration { unregistered, registered, static_contact };
std::string_view to_string(Registration r);

struct RegisteredDevice {
  std::string id;         // "<pbx>:<endpoint>", unique in the daemon (DELETE /api/v1/devices/{id})
  std::string pbx;        // the [[pbx]] name
  std::string endpoint;   // "100"
  std::string extension;  // the internal party it is (the call model's device), "" for trunks
  std::string sip_user;   // the authentication user name, else the registered contact's user
  std::string user_agent; // of the first registered contact, raw
  UserAgentInfo agent;    // parsed from user_agent
  std::vector<DeviceContact> contacts;  // in the PBX's order
  DeviceStatus status = DeviceStatus::unknown;
  std::string last_call_id;                  // the latest call of the device in the call model
  std::optional<base::Timestamp> last_seen;  // the PBX's latest report about it (any kind)

  bool operator==(const RegisteredDevice&) const = default;
  Registration registration() const;
  // The first registered contact's address, else the first contact's; "" without contacts.
  std::string address() const;
};

// Registry of one PBX connection, keyed by endpoint name. Every change bumps the device into the
// changed set (take_changed()); a removed device's id stays in it so consumers publish the removal.
class DeviceRegistry {
 public:
  explicit DeviceRegistry(std::string pbx) : pbx_(std::move(pbx)) {}
  const std::string& pbx() const { return pbx_; }
  std::string id_of(std::string_view endpoint) const { return pbx_ + ":" + std::string(endpoint); }

  const RegisteredDevice* find(std::string_view endpoint) const;
  const RegisteredDevice* find_id(std::string_view id) const;
  // Creates the device when new; the caller changes it and the device is marked changed.
  RegisteredDevice& upsert(std::string_view endpoint);
  // Marks a device changed after an edit through a pointer from find_mut().
  RegisteredDevice* find_mut(std::string_view endpoint);
  void mark_changed(std::string_view endpoint);
  bool erase(std::string_view endpoint);
  // Sets the user agent and its parsed form from the contacts (first dynamic one with one).
  static void refresh_agent(RegisteredDevice& d);

  const std::map<std::string, RegisteredDevice, std::less<>>& devices() const { return devices_; }
  std::size_t size() const { return devices_.size(); }
  // Ids changed or removed since the last call, sorted; empties the set.
  std::vector<std::string> take_changed();
  bool has_changes() const { return !changed_.empty(); }

 private:
  std::string pbx_;
  std::map<std::string, RegisteredDevice, std::less<>> devices_;
  std::vector<std::string> changed_;  // ids, may repeat until take_changed()
};

}  // namespace callbridge::model
