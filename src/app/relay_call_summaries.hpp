// RelayCallSummaries: what a callbridged edge whose admin relaxed its privacy ([relay] privacy =
// "relaxed", docs/relay.md "Privacy mode") tells its relay in plaintext: one summary per live call
// (an opaque call id, state, tenant, remote number, contact name, devices), sent when it changes,
// "ended" when the call is gone, and all live calls again after every login. Built by App only in
// relaxed mode; in strict mode nothing of this exists and the relay gets ciphertext only.
// io thread only (call events, the relay connection and the refresh timer all run there).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "base/tenant_id.hpp"
#include "core/event_hub.hpp"
#include "core/remote_info_view.hpp"
#include "model/call_model.hpp"
#include "relay/wire/control.hpp"

namespace callbridge::relay::edge {
class RelayClient;
}

namespace callbridge::app {

// The summary of one call as the relay gets it (pure; tests): the state over all connections
// (connected > held > ringing > dialing), the first external remote (else the first remote) with
// its E.164 and best contact name from `remote` (the API's remote_info), the devices. Fields are
// cut to fit a control message. `lookup_pending`: the directory answer is still to come.
struct CallSummaryView {
  relay::wire::CallSummary summary;
  bool lookup_pending = false;
};
CallSummaryView summarize_call(const model::Call& call, const base::TenantId& tenant, const core::RemoteInfoView* remote,
                               std::string opaque_id);

class RelayCallSummaries final : public core::CallWatcher {
 public:
  RelayCallSummaries(boost::asio::io_context& io, core::EventHub& hub, const core::RemoteInfoView* remote,
                     relay::edge::RelayClient& link);
  ~RelayCallSummaries();
  RelayCallSummaries(const RelayCallSummaries&) = delete;
  RelayCallSummaries& operator=(const RelayCallSummaries&) = delete;

  // Call events of `tenant` from now on (idempotent): every tenant at start and each one added later.
  void watch(const base::TenantId& tenant);
  void on_call_event(const model::CallEvent& e, const model::CallModel& m) override;
  // After a login: the relay forgot everything of the previous connection; every live call again.
  void resend_all();
  std::size_t live_calls() const { return calls_.size(); }

 private:
  struct Live {
    base::TenantId tenant;
    model::Call call;  // a copy of its connections, for the refresh of a pending lookup
    CallSummaryView last;
  };
  void send(const relay::wire::CallSummary& s);
  void arm_refresh();
  void refresh();

  boost::asio::io_context& io_;
  core::EventHub& hub_;
  const core::RemoteInfoView* remote_;
  relay::edge::RelayClient& link_;
  std::map<base::TenantId, std::uint64_t> watches_;
  std::map<std::pair<base::TenantId, std::string>, Live> calls_;
  std::uint64_t next_id_ = 1;
  boost::asio::steady_timer refresh_;
  bool refresh_armed_ = false;
};

}  // namespace callbridge::app
