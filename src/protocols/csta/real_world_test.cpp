// Decoding messages shaped like the ones deployed switches and clients send: OpenScape Voice
// (ed4, 8-byte header, "N<...>;noa=nk" ids, Siemens <extensions>), Avaya AES/DMCC (ed3, "/priv4"
// protocol versions, SessionLoginInfo credentials, xsi/xsd declarations, typeOfNumber attributes,
// its own namespace on some services), Eltex ECSS-10 (ECMA-354 start with standalone="yes"),
// uni-tel (ed6 under the old www.ecma.ch host, privateData, NUL-separated documents), Microsoft
// RCC gateways (ed3 with lcs: extensions, tel: URIs), Yealink uaCSTA phones (ed5 under a misspelt
// host, sip: device ids). Values are made up; the shapes follow the vendors' published examples.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "protocols/csta/codec.hpp"
#include "protocols/csta/device_id.hpp"
#include "protocols/csta/framing.hpp"

namespace callbridge::protocols::csta {
namespace {

using namespace std::string_literals;

template <typename T>
const T& as(const std::expected<Decoded, DecodeError>& d) {
  EXPECT_TRUE(d.has_value()) << (d ? "" : d.error().message);
  EXPECT_TRUE(d && std::holds_alternative<T>(d->message)) << (d ? root_name(d->message) : "");
  static const T empty{};
  return d && std::holds_alternative<T>(d->message) ? std::get<T>(d->message) : empty;
}

std::string header_frame(int invoke, std::string_view xml) {
  std::string out;
  EXPECT_TRUE(append_frame(out, invoke, xml).has_value());
  return out;
}

// ---- OpenScape Voice ------------------------------------------------------------------------------

constexpr std::string_view kOsvServiceInitiated =
    R"(<?xml version="1.0" encoding="UTF-8"?><ServiceInitiatedEvent xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed4"><monitorCrossRefID>2210440017</monitorCrossRefID><initiatedConnection><callID>FF000100000000001E4A7B5C2B310000</callID><deviceID>4930555101</deviceID></initiatedConnection><initiatingDevice><deviceIdentifier>N&lt;+4930555101&gt;;noa=nk</deviceIdentifier></initiatingDevice><localConnectionInfo>initiated</localConnectionInfo><cause>makeCall</cause><servicesPermitted><callControlServices><clearConnection>true</clearConnection></callControlServices><callAssociatedServices/><mediaAttachementServices/><routeingServices/><voiceServices/></servicesPermitted><mediaCallCharacteristics><mediaClass><voice>true</voice><image>false</image><im>false</im></mediaClass></mediaCallCharacteristics><extensions><privateData><private xmlns:scx="http://www.siemens.com/schema/csta"><scx:extendedServicesPermitted/></private></privateData></extensions></ServiceInitiatedEvent>)";

constexpr std::string_view kOsvDelivered =
    R"(<?xml version="1.0" encoding="UTF-8"?><DeliveredEvent xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed4"><monitorCrossRefID>2210440017</monitorCrossRefID><connection><callID>FF000100000000001E4A7B5C2B310000</callID><deviceID>4930555102</deviceID></connection><alertingDevice><deviceIdentifier>N&lt;+4930555102&gt;;displayNumber=102;noa=nk</deviceIdentifier></alertingDevice><callingDevice><deviceIdentifier>N&lt;+4930555101&gt;;noa=nk</deviceIdentifier></callingDevice><calledDevice><deviceIdentifier>N&lt;+4930555102&gt;;noa=nk</deviceIdentifier></calledDevice><lastRedirectionDevice><notRequired/></lastRedirectionDevice><localConnectionInfo>alerting</localConnectionInfo><cause>newCall</cause><servicesPermitted><callControlServices><answerCall>true</answerCall><deflectCall>true</deflectCall></callControlServices></servicesPermitted><networkCallingDevice><deviceIdentifier>+4930555101</deviceIdentifier></networkCallingDevice><extensions><privateData><private xmlns:scx="http://www.siemens.com/schema/csta"><scx:callingDeviceName>Anna Example</scx:callingDeviceName></private></privateData></extensions></DeliveredEvent>)";

TEST(CstaRealWorld, OpenScapeEventsThroughHeaderFraming) {
  const std::string stream = header_frame(kUnsolicitedInvokeId, kOsvServiceInitiated) +
                             header_frame(kUnsolicitedInvokeId, kOsvDelivered);
  FrameReader reader;
  std::vector<Decoded> got;
  Frame f;
  for (char c : stream) {  // as a slow link delivers it
    reader.feed(std::string_view(&c, 1));
    for (auto r = reader.next(f); r && *r; r = reader.next(f)) {
      EXPECT_EQ(f.invoke_id, 9999);
      auto d = decode(f.xml);
      ASSERT_TRUE(d.has_value()) << d.error().message;
      got.push_back(*d);
    }
  }
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].edition, Edition::ed4);
  const auto& si = std::get<ServiceInitiatedEvent>(got[0].message);
  EXPECT_EQ(si.monitor_cross_ref_id, "2210440017");
  EXPECT_EQ(si.initiated_connection, (ConnectionId{"FF000100000000001E4A7B5C2B310000", "4930555101"}));
  EXPECT_EQ(si.local_connection_info, LocalConnectionState::initiated);
  EXPECT_EQ(si.cause, event_cause::kMakeCall);
  auto id = parse_device_id(si.initiating_device.id);
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(id->number, "+4930555101");
  EXPECT_EQ(id->param("noa"), "nk");

  const auto& dl = std::get<DeliveredEvent>(got[1].message);
  EXPECT_EQ(dl.connection.device_id, "4930555102");
  EXPECT_EQ(dl.calling_device.id, "N<+4930555101>;noa=nk");
  ASSERT_TRUE(dl.last_redirection_device.has_value());
  EXPECT_EQ(dl.last_redirection_device->status, EventDevice::Status::not_required);
  EXPECT_EQ(dl.local_connection_info, LocalConnectionState::alerting);
  EXPECT_EQ(dl.cause, "newCall");
  EXPECT_EQ(parse_device_id(dl.alerting_device.id)->param("displayNumber"), "102");
}

TEST(CstaRealWorld, OpenScapeSessionAndMonitoring) {
  // The session response declares the ECMA-354 namespace under a prefix it never uses, and
  // carries a vendor element in <extensions>.
  auto pos = decode(
      R"(<?xml version="1.0" encoding="UTF-8"?><StartApplicationSessionPosResponse xmlns:aps="http://www.ecma-international.org/standards/ecma-354/appl_session"><sessionID>007731204</sessionID><actualProtocolVersion>http://www.ecma-international.org/standards/ecma-323/csta/ed4</actualProtocolVersion><actualSessionDuration>600</actualSessionDuration><extensions><actualHBT>0</actualHBT></extensions></StartApplicationSessionPosResponse>)");
  const auto& p = as<StartApplicationSessionPosResponse>(pos);
  EXPECT_EQ(p.session_id, "007731204");
  EXPECT_EQ(edition_from_uri(p.actual_protocol_version), Edition::ed4);
  EXPECT_EQ(p.actual_session_duration, 600);

  // Clients of OpenScape send MonitorStart without any namespace, with Siemens private data.
  auto ms = decode(R"(<?xml version="1.0" encoding="utf-8"?>
<MonitorStart>
   <monitorObject>
      <deviceObject>4930555101</deviceObject>
   </monitorObject>
   <monitorType>device</monitorType>
   <extensions>
      <privateData>
         <private xmlns:scx="http://www.siemens.com/schema/csta">
            <scx:staticOndDN>4930555101</scx:staticOndDN>
         </private>
      </privateData>
   </extensions>
</MonitorStart>)");
  ASSERT_TRUE(ms.has_value());
  EXPECT_EQ(ms->edition, Edition::none);
  EXPECT_EQ(as<MonitorStart>(ms).device_object, "4930555101");
  EXPECT_EQ(as<MonitorStart>(ms).monitor_type, "device");
  EXPECT_FALSE(as<MonitorStart>(ms).filter.has_value());

  auto resp = decode(
      R"(<?xml version="1.0" encoding="UTF-8"?><MonitorStartResponse xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed4"><monitorCrossRefID>1136370025</monitorCrossRefID></MonitorStartResponse>)");
  EXPECT_EQ(as<MonitorStartResponse>(resp).monitor_cross_ref_id, "1136370025");

  auto sys = decode(
      R"(<?xml version="1.0" encoding="UTF-8"?><SystemRegisterResponse xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed4"><sysStatRegisterID>27ss</sysStatRegisterID></SystemRegisterResponse>)");
  EXPECT_EQ(as<SystemRegisterResponse>(sys).register_id, "27ss");
}

// ---- Avaya AES / DMCC -----------------------------------------------------------------------------

TEST(CstaRealWorld, AvayaStartApplicationSessionWithLoginInfo) {
  auto d = decode(
      R"(<?xml version="1.0" encoding="UTF-8"?><StartApplicationSession xmlns="http://www.ecma-international.org/standards/ecma-354/appl_session"><applicationInfo><applicationID>TestApp</applicationID><applicationSpecificInfo><ns1:SessionLoginInfo xsi:type="ns1:SessionLoginInfo" xmlns:ns1="http://www.avaya.com/csta" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><ns1:userName>cti-user</ns1:userName><ns1:password>pa&amp;ss</ns1:password><ns1:sessionCleanupDelay>5</ns1:sessionCleanupDelay></ns1:SessionLoginInfo></applicationSpecificInfo></applicationInfo><requestedProtocolVersions><protocolVersion>http://www.ecma-international.org/standards/ecma-323/csta/ed3/priv4</protocolVersion></requestedProtocolVersions><requestedSessionDuration>180</requestedSessionDuration></StartApplicationSession>)");
  const auto& s = as<StartApplicationSession>(d);
  EXPECT_EQ(s.application_id, "TestApp");
  EXPECT_EQ(s.user_id, "cti-user");
  EXPECT_EQ(s.password, "pa&ss");
  ASSERT_EQ(s.protocol_versions.size(), 1u);
  EXPECT_EQ(edition_from_uri(s.protocol_versions[0]), Edition::ed3);
  EXPECT_EQ(s.requested_session_duration, 180);
}

TEST(CstaRealWorld, AvayaMonitorStartWithFiltersAttributesAndPrivateData) {
  auto d = decode(R"(<?xml version="1.0" encoding="UTF-8"?>
<MonitorStart xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed3">
    <monitorObject>
        <deviceObject typeOfNumber="other" mediaClass="notKnown">4750:CM1:192.0.2.10:0</deviceObject>
    </monitorObject>
    <requestedMonitorFilter>
        <physicalDeviceFeature>
            <displayUpdated>true</displayUpdated>
            <hookswitch>false</hookswitch>
        </physicalDeviceFeature>
    <voice>
        <play>true</play>
    </voice>
    <callcontrol>
        <conferenced>true</conferenced>
        <connectionCleared>true</connectionCleared>
        <originated>true</originated>
        <transferred>true</transferred>
    </callcontrol>
    </requestedMonitorFilter>
    <extensions>
        <privateData>
            <private>
                <AvayaEvents xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns="">
                    <invertFilter xmlns="http://www.avaya.com/csta">true</invertFilter>
                </AvayaEvents>
            </private>
        </privateData>
    </extensions>
</MonitorStart>
)");
  ASSERT_TRUE(d.has_value()) << d.error().message;
  EXPECT_EQ(d->edition, Edition::ed3);
  const auto& m = as<MonitorStart>(d);
  EXPECT_EQ(m.device_object, "4750:CM1:192.0.2.10:0");
  ASSERT_TRUE(m.filter.has_value());
  EXPECT_TRUE(m.filter->suppresses(EventKind::conferenced));
  EXPECT_TRUE(m.filter->suppresses(EventKind::connection_cleared));
  EXPECT_TRUE(m.filter->suppresses(EventKind::transferred));
  EXPECT_FALSE(m.filter->suppresses(EventKind::delivered));
}

TEST(CstaRealWorld, AvayaQuirks) {
  // A session stop in the ECMA-323 namespace with an application end reason; a MakeCall whose end
  // tag is broken over a line; a MonitorStop in Avaya's own namespace.
  auto stop = decode(R"(<?xml version="1.0" encoding="UTF-8"?>
<StopApplicationSession xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed3">
<sessionID>469421A9364D46D6444524AE41BEAD72-0</sessionID>
<sessionEndReason>
<appEndReason>Application Request</appEndReason>
</sessionEndReason>
</StopApplicationSession>)");
  EXPECT_EQ(as<StopApplicationSession>(stop).session_id, "469421A9364D46D6444524AE41BEAD72-0");
  EXPECT_EQ(as<StopApplicationSession>(stop).end_reason, "Application Request");

  auto mc = decode(R"(<MakeCall xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed3">
<callingDevice>4750:CM1:192.0.2.10:0</callingDevice>
<calledDirectoryNumber>4751:CM1:192.0.2.10:0</calledDirectoryNumber>
<autoOriginate>doNotPrompt</autoOriginate
></MakeCall>
)");
  EXPECT_EQ(as<MakeCall>(mc).auto_originate, "doNotPrompt");
  EXPECT_EQ(as<MakeCall>(mc).called_directory_number, "4751:CM1:192.0.2.10:0");

  auto ms = decode(R"(<?xml version="1.0" encoding="UTF-8"?>
<MonitorStop xmlns="http://www.avaya.com/csta">
<monitorCrossRefID>1111111</monitorCrossRefID>
</MonitorStop>)");
  ASSERT_TRUE(ms.has_value());
  EXPECT_EQ(ms->edition, Edition::none);
  EXPECT_EQ(as<MonitorStop>(ms).monitor_cross_ref_id, "1111111");

  auto resp = decode(
      R"(<?xml version="1.0" encoding="UTF-8"?><MonitorStartResponse xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed3"><monitorCrossRefID>1</monitorCrossRefID><actualMonitorFilter><physicalDeviceFeature><displayUpdated>true</displayUpdated></physicalDeviceFeature></actualMonitorFilter><extensions><privateData><private><AvayaEvents xmlns:ns1="http://www.avaya.com/csta" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="AvayaEvents"><invertFilter>true</invertFilter></AvayaEvents></private></privateData></extensions></MonitorStartResponse>)");
  ASSERT_TRUE(as<MonitorStartResponse>(resp).actual_filter.has_value());
  EXPECT_EQ(as<MonitorStartResponse>(resp).actual_filter->suppressed, 0u);
}

TEST(CstaRealWorld, TransferedEventAsEcma323SpellsIt) {
  auto d = decode(
      R"(<TransferedEvent xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed3"><monitorCrossRefID>9</monitorCrossRefID><primaryOldCall><callID>811</callID><deviceID typeOfNumber="staticID">4750</deviceID></primaryOldCall><secondaryOldCall><callID>812</callID><deviceID>4750</deviceID></secondaryOldCall><transferringDevice><deviceIdentifier typeOfNumber="other" mediaClass="notKnown">4750</deviceIdentifier></transferringDevice><transferredToDevice><deviceIdentifier>4752</deviceIdentifier></transferredToDevice><transferredConnections><connectionListItem><newConnection><callID>812</callID><deviceID>4751</deviceID></newConnection><oldConnection><callID>811</callID><deviceID>4751</deviceID></oldConnection></connectionListItem><connectionListItem><newConnection><callID>812</callID><deviceID>4752</deviceID></newConnection><endpoint><deviceID>4752</deviceID></endpoint></connectionListItem></transferredConnections><localConnectionInfo>null</localConnectionInfo><cause>transfer</cause></TransferedEvent>)");
  const auto& t = as<TransferredEvent>(d);
  EXPECT_EQ(t.primary_old_call, (ConnectionId{"811", "4750"}));
  ASSERT_EQ(t.transferred_connections.size(), 2u);
  EXPECT_EQ(t.transferred_connections[0].old_connection, (ConnectionId{"811", "4751"}));
  EXPECT_EQ(t.transferred_connections[1].endpoint, "4752");
  EXPECT_EQ(t.cause, event_cause::kTransfer);
  EXPECT_EQ(root_name(t), "TransferedEvent");
  // The spelling with two r is accepted too.
  auto two = decode("<TransferredEvent><monitorCrossRefID>9</monitorCrossRefID></TransferredEvent>");
  EXPECT_EQ(as<TransferredEvent>(two).monitor_cross_ref_id, "9");
}

// ---- Eltex ECSS-10 ----------------------------------------------------------------------------------

TEST(CstaRealWorld, EltexStartApplicationSession) {
  const std::string xml =
      R"(<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<StartApplicationSession xmlns="http://www.ecma-international.org/standards/ecma-354/appl_session" xmlns:ns1="http://www.eltex.org/csta">
    <applicationInfo>
        <applicationID>ECSS-10 CSTA adapter</applicationID>
        <applicationSpecificInfo>
            <ns1:SessionLoginInfo xmlns:ns1="http://www.eltex.org/csta">
                <ns1:userName>p.city</ns1:userName>
                <ns1:password>1234</ns1:password>
            </ns1:SessionLoginInfo>
        </applicationSpecificInfo>
    </applicationInfo>
    <requestedProtocolVersions>
        <protocolVersion>http://www.ecma-international.org/standards/ecma-323/csta/ed3</protocolVersion>
    </requestedProtocolVersions>
    <requestedSessionDuration>300</requestedSessionDuration>
</StartApplicationSession>)";
  FrameReader reader;
  reader.feed(header_frame(1, xml));
  Frame f;
  ASSERT_TRUE(reader.next(f).value_or(false));
  EXPECT_EQ(f.invoke_id, 1);
  auto d = decode(f.xml);
  const auto& s = as<StartApplicationSession>(d);
  EXPECT_EQ(s.user_id, "p.city");
  EXPECT_EQ(s.password, "1234");
  EXPECT_EQ(s.requested_session_duration, 300);
  EXPECT_EQ(s.protocol_versions, std::vector<std::string>{std::string(namespace_uri(Edition::ed3))});
}

// ---- uni-tel (ed6, www.ecma.ch, NUL-terminated documents) -------------------------------------------

TEST(CstaRealWorld, UniTelNulSeparatedEd6) {
  const std::string stream =
      R"(<MonitorStartResponse xmlns="http://www.ecma.ch/standards/ecma-323/csta/ed6"><monitorCrossRefID>12345678</monitorCrossRefID><privateData><monitoredConnection><deviceID>12345678</deviceID></monitoredConnection><requestID>100-null</requestID><monitorCount>63</monitorCount></privateData></MonitorStartResponse>)"s +
      '\0' +
      R"(<DoNotDisturbEvent xmlns="http://www.ecma.ch/standards/ecma-323/csta/ed6"><monitorCrossRefID>12345678</monitorCrossRefID><device><deviceIdentifier>+4530555101</deviceIdentifier></device><doNotDisturbOn>true</doNotDisturbOn></DoNotDisturbEvent>)" +
      '\0';
  FrameReader reader;
  std::vector<Decoded> got;
  Frame f;
  for (std::size_t i = 0; i < stream.size(); i += 17) {
    reader.feed(std::string_view(stream).substr(i, 17));
    for (auto r = reader.next(f); r && *r; r = reader.next(f)) {
      EXPECT_FALSE(f.invoke_id.has_value());
      auto d = decode(f.xml);
      ASSERT_TRUE(d.has_value()) << d.error().message;
      got.push_back(*d);
    }
  }
  EXPECT_EQ(reader.framing(), Framing::headerless);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].edition, Edition::ed6);
  EXPECT_EQ(std::get<MonitorStartResponse>(got[0].message).monitor_cross_ref_id, "12345678");
  const auto& dnd = std::get<DoNotDisturbEvent>(got[1].message);
  EXPECT_TRUE(dnd.on);
  EXPECT_EQ(dnd.device.id, "+4530555101");
}

// ---- Microsoft RCC (OCS/Lync remote call control gateways) ------------------------------------------

TEST(CstaRealWorld, MicrosoftRccRequestsWithLcsExtensions) {
  auto rs = decode(
      R"(<?xml version="1.0"?><RequestSystemStatus xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed3"><extensions><privateData><private><lcs:line xmlns:lcs="http://schemas.microsoft.com/Lcs/2005/04/RCCExtension">tel:73124;phone-context=dialstring</lcs:line></private></privateData></extensions></RequestSystemStatus>)");
  ASSERT_TRUE(rs.has_value());
  EXPECT_TRUE(std::holds_alternative<RequestSystemStatus>(rs->message));
  auto ms = decode(
      R"(<?xml version="1.0"?><MonitorStart xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed3"><monitorObject><deviceObject>tel:+4930555101;phone-context=dialstring</deviceObject></monitorObject></MonitorStart>)");
  auto id = parse_device_id(as<MonitorStart>(ms).device_object);
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(id->number, "+4930555101");
  auto st = decode(
      R"(<?xml version="1.0"?><RequestSystemStatusResponse xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed3"><systemStatus>normal</systemStatus></RequestSystemStatusResponse>)");
  EXPECT_EQ(as<RequestSystemStatusResponse>(st).status, SystemStatusValue::normal);
}

// ---- Yealink uaCSTA phones (ed5 under a misspelt host) -----------------------------------------------

TEST(CstaRealWorld, YealinkSnapshotsDevicesAndForwarding) {
  constexpr std::string_view kNs = R"( xmlns="http://www.ecmainternational.org/standards/ecma-323/csta/ed5")";
  auto snap = decode(std::string(R"(<?xml version="1.0" encoding="utf-8"?><SnapshotDeviceResponse)") + std::string(kNs) +
                     R"(><crossRefIDorSnapshotData><snapshotData><snapshotDeviceResponseInfo><connectionIdentifier><callID>3</callID><deviceID>sip:101@192.0.2.5:5060</deviceID></connectionIdentifier><localCallState><compoundCallState><localConnectionState>hold</localConnectionState></compoundCallState></localCallState></snapshotDeviceResponseInfo></snapshotData></crossRefIDorSnapshotData></SnapshotDeviceResponse>)");
  ASSERT_TRUE(snap.has_value()) << snap.error().message;
  EXPECT_EQ(snap->edition, Edition::ed5);
  const auto& s = as<SnapshotDeviceResponse>(snap);
  ASSERT_EQ(s.items.size(), 1u);
  EXPECT_EQ(s.items[0].connection, (ConnectionId{"3", "sip:101@192.0.2.5:5060"}));
  EXPECT_EQ(s.items[0].state, LocalConnectionState::hold);

  auto sfd = decode(std::string(R"(<?xml version="1.0" encoding="utf-8"?><SwitchingFunctionDevices)") + std::string(kNs) +
                    R"(><serviceCrossRefID>C2527445F5CC4848A7E80CBF0F76A11E</serviceCrossRefID><lastSegment>true</lastSegment><deviceList><device><deviceID>sip:101@192.0.2.5:5060;tel=101</deviceID></device><device><deviceID>sip:102@192.0.2.5:5060</deviceID></device></deviceList></SwitchingFunctionDevices>)");
  const auto& devices = as<SwitchingFunctionDevices>(sfd);
  EXPECT_EQ(devices.service_cross_ref_id, "C2527445F5CC4848A7E80CBF0F76A11E");
  EXPECT_TRUE(devices.last_segment);
  ASSERT_EQ(devices.devices.size(), 2u);
  EXPECT_EQ(devices.devices[1].device_id, "sip:102@192.0.2.5:5060");

  auto fwd = decode(std::string(R"(<?xml version="1.0" encoding="utf-8"?><GetForwardingResponse)") + std::string(kNs) +
                    R"(><forwardingList><forwardListItem><forwardingType>forwardImmediate</forwardingType><forwardStatus>true</forwardStatus><forwardDN>tel:200</forwardDN></forwardListItem><forwardListItem><forwardingType>forwardNoAns</forwardingType><forwardStatus>false</forwardStatus><forwardDN>tel:</forwardDN><ringCount>3</ringCount></forwardListItem></forwardingList></GetForwardingResponse>)");
  const auto& list = as<GetForwardingResponse>(fwd);
  ASSERT_EQ(list.items.size(), 2u);
  EXPECT_EQ(list.items[0].type, ForwardingType::immediate);
  EXPECT_TRUE(list.items[0].status);
  EXPECT_EQ(list.items[0].forward_dn, "tel:200");
  EXPECT_EQ(list.items[1].type, ForwardingType::no_answer);
  EXPECT_EQ(list.items[1].ring_count, 3);

  auto msr = decode(std::string(R"(<MonitorStartResponse)") + std::string(kNs) +
                    R"(><monitorCrossRefID>0</monitorCrossRefID><monitorExistingCalls>true</monitorExistingCalls></MonitorStartResponse>)");
  EXPECT_EQ(as<MonitorStartResponse>(msr).monitor_cross_ref_id, "0");
}

// ---- Errors as switches send them ----------------------------------------------------------------------

TEST(CstaRealWorld, ErrorCodesOfSeveralEditions) {
  auto a = decode(
      R"(<?xml version="1.0" encoding="UTF-8"?><CSTAErrorCode xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed4"><operation>invalidDeviceID</operation></CSTAErrorCode>)");
  EXPECT_EQ(as<CstaErrorCode>(a).error, (ErrorCode{ErrorCategory::operation, "invalidDeviceID"}));
  // Older token spelling and a prefixed namespace.
  auto b = decode(
      R"(<csta:CSTAErrorCode xmlns:csta="http://www.ecma-international.org/standards/ecma-323/csta/ed3"><csta:operation>invalidCstaDeviceIdentifier</csta:operation></csta:CSTAErrorCode>)");
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->edition, Edition::ed3);
  EXPECT_EQ(as<CstaErrorCode>(b).error, (ErrorCode{ErrorCategory::operation, "invalidCstaDeviceIdentifier"}));
  auto c = decode(
      R"(<CSTAErrorCode xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed5"><stateIncompatibility>invalidObjectState</stateIncompatibility></CSTAErrorCode>)");
  EXPECT_EQ(as<CstaErrorCode>(c).error.category, ErrorCategory::state_incompatibility);
  auto neg = decode(
      R"(<?xml version="1.0" encoding="UTF-8"?><StartApplicationSessionNegResponse xmlns="http://www.ecma-international.org/standards/ecma-354/appl_session"><errorCode><definedError>invalidApplicationInfo</definedError></errorCode></StartApplicationSessionNegResponse>)");
  EXPECT_EQ(as<StartApplicationSessionNegResponse>(neg).error, "invalidApplicationInfo");
}

TEST(CstaRealWorld, EventsWithUnknownOptionalElementsAndMissingParts) {
  // A simulator-style event with elements the schema does not have (callingDisplayName, direction,
  // globalCallID), and a switch that leaves out the devices: decoded, the unknown ignored.
  auto d = decode(
      R"(<EstablishedEvent><monitorCrossRefID>1</monitorCrossRefID><establishedConnection><callID>42</callID><deviceID>101</deviceID><globalCallID>g-42</globalCallID></establishedConnection><answeringDevice><deviceIdentifier>101</deviceIdentifier></answeringDevice><callingDevice><deviceIdentifier>+4930555199</deviceIdentifier></callingDevice><callingDisplayName>Bob</callingDisplayName><localConnectionInfo>connected</localConnectionInfo><cause>normal</cause><direction>inbound</direction></EstablishedEvent>)");
  const auto& e = as<EstablishedEvent>(d);
  EXPECT_EQ(e.established_connection, (ConnectionId{"42", "101"}));
  EXPECT_EQ(e.calling_device.id, "+4930555199");
  EXPECT_EQ(e.called_device.status, EventDevice::Status::not_known);  // absent
  auto cleared = decode("<ConnectionClearedEvent><droppedConnection><callID>42</callID></droppedConnection></ConnectionClearedEvent>");
  const auto& c = as<ConnectionClearedEvent>(cleared);
  EXPECT_EQ(c.dropped_connection.call_id, "42");
  EXPECT_EQ(c.dropped_connection.device_id, "");
  EXPECT_FALSE(c.local_connection_info.has_value());
}

}  // namespace
}  // namespace callbridge::protocols::csta
