// Token tables of csta_types.hpp: each enum's ECMA-323 spelling, both ways.
#include "protocols/csta/csta_types.hpp"

#include <array>
#include <charconv>

namespace callbridge::protocols::csta {

namespace {

template <typename E, std::size_t N>
std::optional<E> lookup(const std::array<std::string_view, N>& names, std::string_view token) {
  for (std::size_t i = 0; i < N; ++i) {
    if (names[i] == token) return static_cast<E>(i);
  }
  return std::nullopt;
}

constexpr std::array<std::string_view, 7> kStates = {"null", "initiated", "alerting", "connected",
                                                      "hold", "queued", "fail"};
constexpr std::array<std::string_view, 12> kForwarding = {
    "forwardImmediate", "forwardBusy",    "forwardNoAns",    "forwardDND",
    "forwardBusyInt",   "forwardBusyExt", "forwardNoAnsInt", "forwardNoAnsExt",
    "forwardImmInt",    "forwardImmExt",  "forwardDNDInt",   "forwardDNDExt"};
constexpr std::array<std::string_view, 9> kSystemStatus = {
    "initializing",      "enabled",          "normal",          "messagesLost",    "disabled",
    "partiallyDisabled", "overloadImminent", "overloadReached", "overloadRelieved"};
constexpr std::array<std::string_view, kEventKindCount> kFilterNames = {
    "serviceInitiated", "originated",  "delivered",   "established", "held",
    "retrieved",        "connectionCleared", "callCleared", "transferred", "conferenced",
    "diverted",         "failed",      "queued",      "forwarding",  "doNotDisturb"};
constexpr std::array<std::string_view, 8> kCategories = {
    "operation", "security", "stateIncompatibility", "systemResourceAvailability",
    "subscribedResourceAvailability", "performanceManagement", "privateData", "unspecified"};

}  // namespace

std::string_view namespace_uri(Edition edition) {
  switch (edition) {
    case Edition::ed3: return "http://www.ecma-international.org/standards/ecma-323/csta/ed3";
    case Edition::ed4: return "http://www.ecma-international.org/standards/ecma-323/csta/ed4";
    case Edition::ed5: return "http://www.ecma-international.org/standards/ecma-323/csta/ed5";
    case Edition::ed6: return "http://www.ecma-international.org/standards/ecma-323/csta/ed6";
    case Edition::none: break;
  }
  return {};
}

std::optional<Edition> edition_from_uri(std::string_view uri) {
  // Scheme and "www." are optional in what clients send; the host is ECMA's current or former one.
  for (std::string_view scheme : {"http://", "https://"}) {
    if (uri.starts_with(scheme)) {
      uri.remove_prefix(scheme.size());
      break;
    }
  }
  if (uri.starts_with("www.")) uri.remove_prefix(4);
  if (uri.starts_with("ecma-international.org")) {
    uri.remove_prefix(22);
  } else if (uri.starts_with("ecmainternational.org")) {  // as some SIP phones (uaCSTA) write it
    uri.remove_prefix(21);
  } else if (uri.starts_with("ecma.ch")) {
    uri.remove_prefix(7);
  } else {
    return std::nullopt;
  }
  constexpr std::string_view kPath = "/standards/ecma-323/csta/ed";
  if (!uri.starts_with(kPath)) return std::nullopt;
  uri.remove_prefix(kPath.size());
  int n = 0;
  auto [end, ec] = std::from_chars(uri.data(), uri.data() + uri.size(), n);
  if (ec != std::errc{} || end == uri.data()) return std::nullopt;
  std::string_view rest(end, uri.data() + uri.size() - end);
  if (!rest.empty() && rest.front() != '/') return std::nullopt;  // ".../ed3/priv4" is ed3
  if (n < 3 || n > 6) return std::nullopt;
  return static_cast<Edition>(n);
}

std::string_view to_string(LocalConnectionState s) { return kStates[static_cast<std::size_t>(s)]; }
std::optional<LocalConnectionState> local_connection_state_from(std::string_view token) {
  return lookup<LocalConnectionState>(kStates, token);
}

std::string_view to_string(ForwardingType t) { return kForwarding[static_cast<std::size_t>(t)]; }
std::optional<ForwardingType> forwarding_type_from(std::string_view token) {
  return lookup<ForwardingType>(kForwarding, token);
}

std::string_view to_string(SystemStatusValue v) { return kSystemStatus[static_cast<std::size_t>(v)]; }
std::optional<SystemStatusValue> system_status_from(std::string_view token) {
  return lookup<SystemStatusValue>(kSystemStatus, token);
}

std::string_view filter_name(EventKind k) { return kFilterNames[static_cast<std::size_t>(k)]; }

std::string_view to_string(ErrorCategory c) { return kCategories[static_cast<std::size_t>(c)]; }
std::optional<ErrorCategory> error_category_from(std::string_view element) {
  return lookup<ErrorCategory>(kCategories, element);
}

}  // namespace callbridge::protocols::csta
