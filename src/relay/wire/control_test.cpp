#include "relay/wire/control.hpp"

#include <gtest/gtest.h>

namespace callbridge::relay::wire {
namespace {

ClientId some_client() {
  ClientId id{};
  for (std::size_t i = 0; i < id.size(); ++i) id[i] = static_cast<std::uint8_t>(i * 17);
  return id;
}

void expect_round_trip(const Control& m) {
  const std::string text = render_control(m);
  auto back = parse_control(text);
  ASSERT_TRUE(back) << text << ": " << back.error().to_string();
  EXPECT_EQ(*back, m) << text;
}

TEST(RelayControl, EveryTypeRoundTrips) {
  expect_round_trip(Challenge{"bm9uY2U", "node-1"});
  expect_round_trip(Hello{"acme", "cGs", "c2ln", std::nullopt, std::nullopt});
  expect_round_trip(Hello{"acme-2", "cGs", "c2ln", std::string("am9pbg"), std::nullopt});
  expect_round_trip(Hello{"acme", "cGs", "c2ln", std::nullopt, std::string("relaxed")});
  expect_round_trip(Hello{"acme", "cGs", "c2ln", std::nullopt, std::string("strict")});
  expect_round_trip(Welcome{"node-1", std::nullopt, std::nullopt});
  expect_round_trip(Welcome{"node-2", true, false});
  expect_round_trip(ErrorMessage{"unknown-edge", "no edge \"x\" is registered"});
  expect_round_trip(ClientState{some_client(), true});
  expect_round_trip(ClientState{some_client(), false});
  expect_round_trip(DropClient{some_client(), "revoked"});
  expect_round_trip(EdgeState{true});
  expect_round_trip(EdgeState{false});
  expect_round_trip(CallSummary{"c7", "ringing", "default", "+4989123456", "Max M\xc3\xbcller", "100,101"});
  expect_round_trip(CallSummary{"c8", "ended", "", "", "", ""});
}

TEST(RelayControl, CallSummaryShape) {
  EXPECT_EQ(render_control(CallSummary{"c1", "connected", "acme", "+4989123456", "Max", "100"}),
            R"({"type":"call","call":"c1","state":"connected","tenant":"acme","number":"+4989123456","name":"Max","devices":"100"})");
}

TEST(RelayControl, RendersTheDocumentedShape) {
  EXPECT_EQ(render_control(ClientState{some_client(), false}),
            R"({"type":"client","client":"00112233445566778899aabbccddeeff","state":"gone"})");
  EXPECT_EQ(render_control(EdgeState{true}), R"({"type":"edge","state":"online"})");
}

TEST(RelayControl, ParsesWhatAPeerWrites) {
  auto m = parse_control(R"({"type":"drop-client","client":"00112233445566778899AABBCCDDEEFF","extra":[1,2]})");
  ASSERT_TRUE(m) << m.error().to_string();
  auto* d = std::get_if<DropClient>(&*m);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->client, some_client());
  EXPECT_EQ(d->reason, "");
}

TEST(RelayControl, BadInputIsAProtocolError) {
  const char* bad[] = {
      "",
      "not json",
      "[1,2]",
      R"("hello")",
      R"({})",
      R"({"type":7})",
      R"({"type":"bogus"})",
      R"({"type":"hello","edge":"acme","pk":"x"})",
      R"({"type":"hello","edge":"Acme","pk":"x","sig":"y"})",
      R"({"type":"hello","edge":"-acme","pk":"x","sig":"y"})",
      R"({"type":"hello","edge":"acme","pk":"x","sig":"y","join":5})",
      R"({"type":"client","client":"0011","state":"gone"})",
      R"({"type":"client","client":"00112233445566778899aabbccddeeff","state":"maybe"})",
      R"({"type":"welcome","node":"n","gap":"yes"})",
      R"({"type":"edge","state":"up"})",
      R"({"type":"challenge","nonce":"x"})",
      R"({"type":"error","code":"x"})",
      R"({"a":[[[[[[[[[[[[1]]]]]]]]]]]]})",
      R"({"type":"hello","edge":"acme","pk":"x","sig":"y","privacy":"open"})",
      R"({"type":"hello","edge":"acme","pk":"x","sig":"y","privacy":true})",
      R"({"type":"call","call":"","state":"ringing","tenant":"t","number":"1","name":"n","devices":""})",
      R"({"type":"call","call":"c1","state":"","tenant":"t","number":"1","name":"n","devices":""})",
      R"({"type":"call","call":"c1","state":"ringing","tenant":"t","number":1,"name":"n","devices":""})",
      R"({"type":"call","call":"c1","state":"ringing","tenant":"t","number":"1","devices":""})",
  };
  for (const char* text : bad) {
    auto m = parse_control(text);
    EXPECT_FALSE(m) << text;
    if (!m) {
      EXPECT_EQ(m.error().code(), base::Errc::protocol) << text;
    }
  }
}

TEST(RelayControl, OversizedIsRejectedBeforeParsing) {
  std::string big = R"({"type":"error","code":"x","message":")" + std::string(kMaxControlBytes, 'a') + "\"}";
  auto m = parse_control(big);
  ASSERT_FALSE(m);
  EXPECT_NE(m.error().message().find("exceed the limit"), std::string::npos);
}

TEST(RelayControl, EdgeIds) {
  EXPECT_TRUE(valid_edge_id("a"));
  EXPECT_TRUE(valid_edge_id("acme-gmbh-2"));
  EXPECT_TRUE(valid_edge_id("0"));
  EXPECT_TRUE(valid_edge_id(std::string(63, 'a')));
  EXPECT_FALSE(valid_edge_id(std::string(64, 'a')));
  EXPECT_FALSE(valid_edge_id(""));
  EXPECT_FALSE(valid_edge_id("-a"));
  EXPECT_FALSE(valid_edge_id("a_b"));
  EXPECT_FALSE(valid_edge_id("a.b"));
  EXPECT_FALSE(valid_edge_id("A"));
  EXPECT_FALSE(valid_edge_id("a/b"));
}

}  // namespace
}  // namespace callbridge::relay::wire
