// Body templates: typed whole-string placeholders, text placeholders, missing values, array
// indexes, both brace spellings, values that look like JSON staying inside their string, and the
// checks at creation (JSON, size, unknown roots).
#include "webhooks/delivery/body_template.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace callbridge::webhooks {
namespace {

namespace json = boost::json;

json::object event() {
  return json::parse(R"({"id":"ev_1","type":"call.ringing","tenant":"acme","created_at":"2026-12-07T01:00:00.000Z",
    "seq":42,"data":{"device":"101","call":{"id":"c-1","connections":[{"device":"101","remote":"+4989123"}]},
    "cause":null,"evil":"\",\"admin\":true,\"x\":\""}})")
      .as_object();
}

TEST(BodyTemplate, FillsTypedValuesTextAndIndexes) {
  auto t = parse_body_template(R"({"event":"{type}","seq":"{seq}","call":"{data.call}",
    "phone":"{{ data.call.connections.0.remote }}","line":"ext {data.device} of {tenant}",
    "nested":[{"who":"{data.device}"}],"missing":"{data.nope}","missing_text":"x{data.nope}y","keep":7})");
  ASSERT_TRUE(t) << t.error().message();
  auto out = render_body(*t, event());
  EXPECT_EQ(json::serialize(out),
            R"({"event":"call.ringing","seq":42,"call":{"id":"c-1","connections":[{"device":"101","remote":"+4989123"}]},)"
            R"("phone":"+4989123","line":"ext 101 of acme","nested":[{"who":"101"}],"missing":null,"missing_text":"xy","keep":7})");
}

TEST(BodyTemplate, EventDataCannotLeaveItsString) {
  auto t = parse_body_template(R"({"note":"said: {data.evil}"})");
  ASSERT_TRUE(t);
  auto out = render_body(*t, event());
  ASSERT_TRUE(out.is_object());
  EXPECT_EQ(out.as_object().size(), 1u);
  EXPECT_EQ(out.at("note").as_string(), R"(said: ","admin":true,"x":")");
}

TEST(BodyTemplate, RefusesNonJsonOversizedAndUnknownPlaceholders) {
  EXPECT_NE(parse_body_template("{\"a\": ").error().message().find("not JSON"), std::string::npos);
  std::string big = "\"" + std::string(kMaxBodyTemplateBytes, 'x') + "\"";
  EXPECT_NE(parse_body_template(big).error().message().find("at most"), std::string::npos);
  auto e = parse_body_template(R"({"a":{"b":["{secret}"]}})");
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().message(),
            "body_template.a.b[0]: unknown placeholder {secret} (placeholders start with id, type, tenant, "
            "created_at, seq or data)");
  // Braces that are no placeholder are text.
  auto ok = parse_body_template(R"({"a":"{ not one }","b":"{}"})");
  ASSERT_TRUE(ok);
  EXPECT_EQ(json::serialize(render_body(*ok, event())), R"({"a":"{ not one }","b":"{}"})");
}

}  // namespace
}  // namespace callbridge::webhooks
