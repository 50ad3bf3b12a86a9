// decode(encode(m)) == m for every message type in every edition; namespaces, editions, limits
// and the errors of malformed documents.
#include <gtest/gtest.h>

#include <set>

#include "protocols/csta/codec.hpp"

namespace callbridge::protocols::csta {
namespace {

ConnectionId conn(std::string call, std::string dev) { return {std::move(call), std::move(dev)}; }
EventDevice dev(std::string id) { return EventDevice::of(std::move(id)); }

MonitorFilter filter_of(std::initializer_list<EventKind> kinds) {
  MonitorFilter f;
  for (auto k : kinds) f.suppress(k);
  return f;
}

// One filled-in sample of every message type (texts with XML specials where a string is free).
std::vector<Message> samples() {
  std::vector<Message> m;
  m.push_back(StartApplicationSession{"callbridge <test> & co", "alice", "s3cr\"et",
                                      {"http://www.ecma-international.org/standards/ecma-323/csta/ed3",
                                       "http://www.ecma-international.org/standards/ecma-323/csta/ed5"},
                                      600});
  m.push_back(StartApplicationSessionPosResponse{"0099", "http://www.ecma-international.org/standards/ecma-323/csta/ed4", 300});
  m.push_back(StartApplicationSessionNegResponse{"invalidApplicationInfo"});
  m.push_back(StopApplicationSession{"0099", "normal"});
  m.push_back(StopApplicationSessionPosResponse{});
  m.push_back(ResetApplicationSessionTimer{"0099", 180});
  m.push_back(ResetApplicationSessionTimerPosResponse{180});
  m.push_back(SystemStatus{SystemStatusValue::messages_lost});
  m.push_back(SystemStatusResponse{});
  m.push_back(SystemRegister{});
  m.push_back(SystemRegister{"tapi", "s3cret"});  // the login of an OpenScape-style start
  m.push_back(SystemRegisterResponse{"27ss"});
  m.push_back(RequestSystemStatus{});
  m.push_back(RequestSystemStatusResponse{SystemStatusValue::partially_disabled});
  m.push_back(MonitorStart{"N<+4930555101>;noa=nk", std::nullopt,
                           filter_of({EventKind::originated, EventKind::queued, EventKind::do_not_disturb}), "device"});
  m.push_back(MonitorStart{"", conn("c1", "101"), std::nullopt, "call"});
  m.push_back(MonitorStartResponse{"1136370025", filter_of({EventKind::forwarding})});
  m.push_back(MonitorStop{"1136370025"});
  m.push_back(MonitorStopResponse{});
  m.push_back(SnapshotDevice{"101"});
  m.push_back(SnapshotDeviceResponse{{{conn("c1", "101"), LocalConnectionState::connected},
                                      {conn("c2", "101"), LocalConnectionState::hold},
                                      {conn("c3", "101"), std::nullopt}},
                                     ""});
  m.push_back(SnapshotDeviceResponse{{}, "sx-1"});
  m.push_back(SnapshotCall{conn("c1", "101")});
  m.push_back(SnapshotCallResponse{{{dev("101"), conn("c1", "101"), LocalConnectionState::connected},
                                    {EventDevice{EventDevice::Status::restricted, {}}, conn("c1", "T1"),
                                     LocalConnectionState::alerting}},
                                   ""});
  m.push_back(GetSwitchingFunctionDevices{"", "station"});
  m.push_back(GetSwitchingFunctionDevicesResponse{"sfd-1"});
  m.push_back(SwitchingFunctionDevices{"sfd-1", 1, true, {{"101", "station"}, {"+4930555102", "station"}, {"600", "group"}}});
  m.push_back(SwitchingFunctionDevicesResponse{});
  m.push_back(GetCstaFeatures{});
  m.push_back(GetCstaFeaturesResponse{
      {{"callControlServList", {"answerCall", "makeCall", "clearConnection"}}, {"snapshotServList", {"snapshotDevice"}}},
      {{"callControlEvtsList", {"delivered", "established"}}}});
  m.push_back(MakeCall{"101", "+4930555102", "doNotPrompt"});
  m.push_back(MakeCallResponse{conn("c9", "101")});
  m.push_back(AnswerCall{conn("c1", "101")});
  m.push_back(AnswerCallResponse{});
  m.push_back(ClearConnection{conn("c1", "101")});
  m.push_back(ClearConnectionResponse{});
  m.push_back(ClearCall{conn("c1", "101")});
  m.push_back(ClearCallResponse{});
  m.push_back(HoldCall{conn("c1", "101")});
  m.push_back(HoldCallResponse{});
  m.push_back(RetrieveCall{conn("c1", "101")});
  m.push_back(RetrieveCallResponse{});
  m.push_back(ConsultationCall{conn("c1", "101"), "102"});
  m.push_back(ConsultationCallResponse{conn("c2", "101")});
  m.push_back(AlternateCall{conn("c1", "101"), conn("c2", "101")});
  m.push_back(AlternateCallResponse{});
  m.push_back(TransferCall{conn("c1", "101"), conn("c2", "101")});
  m.push_back(TransferCallResponse{conn("c3", "102")});
  m.push_back(TransferCallResponse{std::nullopt});
  m.push_back(SingleStepTransferCall{conn("c1", "101"), "103"});
  m.push_back(SingleStepTransferCallResponse{conn("c4", "103")});
  m.push_back(ConferenceCall{conn("c1", "101"), conn("c2", "101")});
  m.push_back(ConferenceCallResponse{conn("c1", "101")});
  m.push_back(DeflectCall{conn("c1", "101"), "+4930555199"});
  m.push_back(DeflectCallResponse{});
  m.push_back(SetForwarding{"101", ForwardingType::no_answer, true, "+4917012345", 4});
  m.push_back(SetForwardingResponse{});
  m.push_back(GetForwarding{"101"});
  m.push_back(GetForwardingResponse{{{ForwardingType::immediate, false, "", std::nullopt},
                                     {ForwardingType::busy_external, true, "555", 3}}});
  m.push_back(SetDoNotDisturb{"101", true});
  m.push_back(SetDoNotDisturbResponse{});
  m.push_back(GetDoNotDisturb{"101"});
  m.push_back(GetDoNotDisturbResponse{true});
  m.push_back(ServiceInitiatedEvent{"7", conn("c1", "101"), dev("101"), LocalConnectionState::initiated, "makeCall"});
  m.push_back(OriginatedEvent{"7", conn("c1", "101"), dev("101"), dev("+4930555102"), LocalConnectionState::connected, "newCall"});
  m.push_back(DeliveredEvent{"7", conn("c1", "101"), dev("101"), dev("+4930555102"), dev("101"),
                             EventDevice{EventDevice::Status::not_required, {}}, LocalConnectionState::alerting, "newCall"});
  m.push_back(EstablishedEvent{"7", conn("c1", "102"), dev("102"), dev("101"), dev("102"), std::nullopt,
                               LocalConnectionState::connected, "newCall"});
  m.push_back(HeldEvent{"7", conn("c1", "101"), dev("101"), LocalConnectionState::hold, "normal"});
  m.push_back(RetrievedEvent{"7", conn("c1", "101"), dev("101"), LocalConnectionState::connected, "normal"});
  m.push_back(ConnectionClearedEvent{"7", conn("c1", "102"), dev("102"), LocalConnectionState::null, "normalClearing"});
  m.push_back(CallClearedEvent{"7", conn("c1", ""), std::nullopt, "normalClearing"});
  m.push_back(TransferredEvent{"7", conn("c1", "101"), conn("c2", "101"), dev("101"), dev("103"),
                               {{conn("c3", "102"), conn("c1", "102"), "102"}, {conn("c3", "103"), std::nullopt, "103"}},
                               LocalConnectionState::null, "transfer"});
  m.push_back(ConferencedEvent{"7", conn("c1", "101"), conn("c2", "101"), dev("101"), dev("103"),
                               {{conn("c1", "103"), conn("c2", "103"), "103"}}, LocalConnectionState::connected, "conference"});
  m.push_back(DivertedEvent{"7", conn("c1", "101"), dev("101"), dev("+4930555199"), dev("+4930555102"), std::nullopt,
                            std::nullopt, LocalConnectionState::null, "redirected"});
  m.push_back(FailedEvent{"7", conn("c1", "102"), dev("102"), dev("102"), dev("101"), std::nullopt,
                          LocalConnectionState::fail, "busy"});
  m.push_back(QueuedEvent{"7", conn("c1", "600"), dev("600"), dev("+4930555102"), dev("600"), std::nullopt, 3,
                          LocalConnectionState::queued, "enteringDistribution"});
  m.push_back(ForwardingEvent{"7", dev("101"), ForwardingType::immediate, true, "+4917012345", std::nullopt});
  m.push_back(DoNotDisturbEvent{"7", EventDevice{EventDevice::Status::not_known, {}}, true});
  m.push_back(CstaErrorCode{{ErrorCategory::operation, "invalidDeviceID"}});
  m.push_back(CstaErrorCode{{ErrorCategory::state_incompatibility, "invalidObjectState"}});
  m.push_back(CstaErrorCode{{ErrorCategory::system_resource_availability, "resourceBusy"}});
  m.push_back(CstaErrorCode{{ErrorCategory::security, "securityViolation"}});
  m.push_back(CstaErrorCode{{ErrorCategory::unspecified, ""}});
  m.push_back(UnknownService{"ParkCall"});
  return m;
}

TEST(CstaCodec, SamplesCoverEveryMessageType) {
  std::set<std::size_t> seen;
  for (const auto& m : samples()) seen.insert(m.index());
  EXPECT_EQ(seen.size(), std::variant_size_v<Message>);
}

TEST(CstaCodec, RoundTripEveryMessageInEveryEdition) {
  for (Edition ed : {Edition::none, Edition::ed3, Edition::ed4, Edition::ed5, Edition::ed6}) {
    for (const auto& m : samples()) {
      const std::string xml = encode(m, ed);
      auto back = decode(xml);
      ASSERT_TRUE(back.has_value()) << root_name(m) << ": " << back.error().message << "\n" << xml;
      EXPECT_EQ(back->message, m) << root_name(m) << " in edition " << int(ed) << "\n" << xml;
      const bool session = root_name(m).find("ApplicationSession") != std::string_view::npos;
      EXPECT_EQ(back->edition, session ? Edition::none : ed) << root_name(m);
    }
  }
}

TEST(CstaCodec, EncodeWritesTheEditionNamespaceAndEscapes) {
  const std::string xml = encode(MakeCall{"101", "<1&2>", ""}, Edition::ed5);
  EXPECT_EQ(xml,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><MakeCall "
            "xmlns=\"http://www.ecma-international.org/standards/ecma-323/csta/ed5\"><callingDevice>101</callingDevice>"
            "<calledDirectoryNumber>&lt;1&amp;2&gt;</calledDirectoryNumber></MakeCall>");
  EXPECT_NE(encode(StartApplicationSessionPosResponse{"1", "x", {}}, Edition::ed4)
                .find("xmlns=\"http://www.ecma-international.org/standards/ecma-354/appl_session\""),
            std::string::npos);
  EXPECT_EQ(encode(SystemStatusResponse{}, Edition::none),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><SystemStatusResponse></SystemStatusResponse>");
  // Control characters XML cannot carry do not break the document.
  auto back = decode(encode(MakeCall{"1\x01" "01", "2", ""}, Edition::ed4));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(std::get<MakeCall>(back->message).calling_device, "1?01");
}

TEST(CstaCodec, MonitorFilterIsWhatToSuppress) {
  auto d = decode(R"(<MonitorStart xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed3">
      <monitorObject><deviceObject>101</deviceObject></monitorObject>
      <requestedMonitorFilter>
        <callcontrol><delivered>true</delivered><held>false</held><digitsDialed>true</digitsDialed></callcontrol>
        <logicalDeviceFeature><forwarding>1</forwarding></logicalDeviceFeature>
        <physicalDeviceFeature><hookswitch>true</hookswitch></physicalDeviceFeature>
      </requestedMonitorFilter></MonitorStart>)");
  ASSERT_TRUE(d.has_value()) << d.error().message;
  const auto& f = std::get<MonitorStart>(d->message).filter;
  ASSERT_TRUE(f.has_value());
  EXPECT_TRUE(f->suppresses(EventKind::delivered));
  EXPECT_TRUE(f->suppresses(EventKind::forwarding));
  EXPECT_FALSE(f->suppresses(EventKind::held));
  EXPECT_FALSE(f->suppresses(EventKind::established));
  EXPECT_FALSE(f->suppresses(EventKind::do_not_disturb));
}

TEST(CstaCodec, EditionsFromNamespaces) {
  EXPECT_EQ(edition_from_uri("http://www.ecma-international.org/standards/ecma-323/csta/ed3"), Edition::ed3);
  EXPECT_EQ(edition_from_uri("http://www.ecma-international.org/standards/ecma-323/csta/ed6"), Edition::ed6);
  EXPECT_EQ(edition_from_uri("http://www.ecma.ch/standards/ecma-323/csta/ed6"), Edition::ed6);
  EXPECT_EQ(edition_from_uri("http://www.ecma-international.org/standards/ecma-323/csta/ed3/priv4"), Edition::ed3);
  EXPECT_EQ(edition_from_uri("http://www.ecma-international.org/standards/ecma-323/csta/ed2"), std::nullopt);
  EXPECT_EQ(edition_from_uri("http://www.ecma-international.org/standards/ecma-323/csta/ed34"), std::nullopt);
  EXPECT_EQ(edition_from_uri("http://www.avaya.com/csta"), std::nullopt);
  for (Edition ed : {Edition::ed3, Edition::ed4, Edition::ed5, Edition::ed6}) {
    EXPECT_EQ(edition_from_uri(namespace_uri(ed)), ed);
  }
}

TEST(CstaCodec, PrefixedAndUnprefixedAndNoNamespace) {
  const char* prefixed =
      R"(<csta:HoldCall xmlns:csta="http://www.ecma-international.org/standards/ecma-323/csta/ed5">)"
      R"(<csta:callToBeHeld><csta:callID>c1</csta:callID><csta:deviceID>101</csta:deviceID></csta:callToBeHeld></csta:HoldCall>)";
  auto a = decode(prefixed);
  ASSERT_TRUE(a.has_value()) << a.error().message;
  EXPECT_EQ(a->edition, Edition::ed5);
  EXPECT_EQ(std::get<HoldCall>(a->message).call, conn("c1", "101"));
  auto b = decode("<HoldCall><callToBeHeld><callID>c1</callID><deviceID>101</deviceID></callToBeHeld></HoldCall>");
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->edition, Edition::none);
  EXPECT_EQ(b->message, a->message);
}

void expect_decode_error(std::string_view xml, DecodeError::Kind kind, std::string_view words,
                         DecodeLimits limits = {}) {
  auto r = decode(xml, limits);
  ASSERT_FALSE(r.has_value()) << xml;
  EXPECT_EQ(r.error().kind, kind) << r.error().message;
  EXPECT_NE(r.error().message.find(words), std::string::npos) << r.error().message;
  EXPECT_EQ(r.error().to_error().code(), base::Errc::protocol);
}

TEST(CstaCodec, MalformedDocumentsGetClearErrors) {
  expect_decode_error("", DecodeError::Kind::not_xml, "No document element");
  expect_decode_error("<!-- only a comment -->", DecodeError::Kind::not_xml, "");
  expect_decode_error("<MakeCall><callingDevice>101</MakeCall>", DecodeError::Kind::not_xml, "not well-formed XML");
  expect_decode_error("<A/><B/>", DecodeError::Kind::not_xml, "more than one root element");
  expect_decode_error("just text", DecodeError::Kind::not_xml, "");
  expect_decode_error(std::string(100, '<'), DecodeError::Kind::not_xml, "");
  std::string deep;
  for (int i = 0; i < 40; ++i) deep += "<a>";
  for (int i = 0; i < 40; ++i) deep += "</a>";
  expect_decode_error(deep, DecodeError::Kind::too_deep, "nested deeper than 32");
  expect_decode_error("<MakeCall/>", DecodeError::Kind::too_large, "exceeds the limit of 4",
                      DecodeLimits{.max_document_bytes = 4});
  expect_decode_error(R"(<MakeCall xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed2"/>)",
                      DecodeError::Kind::bad_namespace, "other than 3 to 6");
}

TEST(CstaCodec, MissingAndBadValuesNameTheElement) {
  expect_decode_error("<MakeCall><callingDevice>101</callingDevice></MakeCall>", DecodeError::Kind::missing_element,
                      "MakeCall: required element <calledDirectoryNumber> is missing");
  expect_decode_error("<MonitorStart/>", DecodeError::Kind::missing_element, "<monitorObject>");
  expect_decode_error("<SetForwarding><device>101</device><forwardingType>forwardSometimes</forwardingType>"
                      "<activateForward>true</activateForward></SetForwarding>",
                      DecodeError::Kind::bad_value, "<forwardingType> \"forwardSometimes\" is not a ForwardingType");
  expect_decode_error("<SetDoNotDisturb><device>101</device><doNotDisturbOn>maybe</doNotDisturbOn></SetDoNotDisturb>",
                      DecodeError::Kind::bad_value, "is not a boolean");
  expect_decode_error("<DeliveredEvent><localConnectionInfo>ringing</localConnectionInfo></DeliveredEvent>",
                      DecodeError::Kind::bad_value, "LocalConnectionState");
  auto r = decode("<SetDoNotDisturb><device>101</device><doNotDisturbOn>maybe</doNotDisturbOn></SetDoNotDisturb>");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().service, "SetDoNotDisturb");
  EXPECT_EQ(r.error().suggested_error(), (ErrorCode{ErrorCategory::operation, "valueOutOfRange"}));
}

TEST(CstaCodec, FeatureNamesThatAreNoElementNamesAreLeftOut) {
  // pugixml reads "<a:>" as an element whose local name is empty; an encoder given such a name (or
  // one with spaces) must still write a document its decoder reads.
  auto d = decode("<GetCSTAFeaturesResponse><supportedServices><a:><makeCall/><b:/></a:><snapshotServ><x:/></snapshotServ>"
                  "</supportedServices></GetCSTAFeaturesResponse>");
  const auto& f = std::get<GetCstaFeaturesResponse>(d.value().message);
  ASSERT_EQ(f.services.size(), 1u);
  EXPECT_EQ(f.services[0], (FeatureGroup{"snapshotServ", {}}));
  const GetCstaFeaturesResponse odd{{{"call control", {"makeCall"}}, {"ok", {"bad item", "good"}}}, {}};
  auto back = decode(encode(odd, Edition::ed5));
  ASSERT_TRUE(back.has_value()) << back.error().message;
  EXPECT_EQ(std::get<GetCstaFeaturesResponse>(back->message).services,
            (std::vector<FeatureGroup>{{"ok", {"good"}}}));
}

TEST(CstaCodec, Latin1AndUtf16DocumentsAreReadAsUtf8) {
  // A switch that declares ISO-8859-1 (German names in Latin-1), and a UTF-16 document with BOM.
  auto latin1 = decode("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><SnapshotDevice><snapshotObject>M\xfcller</snapshotObject></SnapshotDevice>");
  ASSERT_TRUE(latin1.has_value()) << latin1.error().message;
  EXPECT_EQ(std::get<SnapshotDevice>(latin1->message).device, "M\xc3\xbcller");
  const std::string ascii = "<SnapshotDevice><snapshotObject>101</snapshotObject></SnapshotDevice>";
  std::string utf16 = "\xff\xfe";
  for (char c : ascii) {
    utf16 += c;
    utf16 += '\0';
  }
  auto wide = decode(utf16);
  ASSERT_TRUE(wide.has_value()) << wide.error().message;
  EXPECT_EQ(std::get<SnapshotDevice>(wide->message).device, "101");
}

TEST(CstaCodec, UnknownServiceCarriesItsName) {
  auto r = decode(R"(<ns:ParkCall xmlns:ns="http://www.ecma-international.org/standards/ecma-323/csta/ed4"><x/></ns:ParkCall>)");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(std::get<UnknownService>(r->message).name, "ParkCall");
  EXPECT_EQ(r->edition, Edition::ed4);
  EXPECT_EQ(message_class(r->message), MessageClass::unknown);
}

TEST(CstaCodec, ClassesAndEventKinds) {
  EXPECT_EQ(message_class(MakeCall{}), MessageClass::request);
  EXPECT_EQ(message_class(MakeCallResponse{}), MessageClass::response);
  EXPECT_EQ(message_class(DeliveredEvent{}), MessageClass::event);
  EXPECT_EQ(message_class(CstaErrorCode{}), MessageClass::error);
  EXPECT_EQ(event_kind(DeliveredEvent{}), EventKind::delivered);
  EXPECT_EQ(event_kind(DoNotDisturbEvent{}), EventKind::do_not_disturb);
  EXPECT_EQ(event_kind(ServiceInitiatedEvent{}), EventKind::service_initiated);
  EXPECT_EQ(event_kind(MakeCall{}), std::nullopt);
  EXPECT_EQ(root_name(GetCstaFeatures{}), "GetCSTAFeatures");
  EXPECT_EQ(root_name(CstaErrorCode{}), "CSTAErrorCode");
}

}  // namespace
}  // namespace callbridge::protocols::csta
