// CallIds: the CSTA callID of each live call of one tenant (ECMA-269 ConnectionID's call part),
// stable for the call's whole life and the same for every client of the tenant: 8 hex digits
// ("0000002A"; ECMA-323 writes callID as an octet string and some clients insist on hex), handed
// out in order. MakeCall and ConsultationCall answer with the callID before the PBX reported the
// call: reserve() gives the next call that appears at the device that id. Io thread; not
// thread-safe. Pure.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace callbridge::csta_server {

class CallIds {
 public:
  // The CSTA id of model call `call` (first sight: a reservation of `device`, else a new id).
  const std::string& of(std::string_view call, std::string_view device = {});
  // The model call of a CSTA id; nullopt when unknown (never seen, or the call ended).
  std::optional<std::string> call_of(std::string_view csta_id) const;
  // Whether model call `call` has an id.
  bool has_call(std::string_view call) const { return by_call_.count(std::string(call)) != 0; }
  // The id the next new call at `device` will get; a second reservation replaces the first.
  std::string reserve(std::string_view device);
  void cancel(std::string_view device) { reserved_.erase(std::string(device)); }
  // The call ended: its id is not used again.
  void forget(std::string_view call);
  std::size_t size() const { return by_call_.size(); }

 private:
  std::string next();
  std::uint64_t seq_ = 0;
  std::unordered_map<std::string, std::string> by_call_;  // model id -> csta id
  std::unordered_map<std::string, std::string> by_csta_;  // csta id -> model id
  std::unordered_map<std::string, std::string> reserved_;  // device -> csta id
};

}  // namespace callbridge::csta_server
