// Body templates: the JSON shape a hook's receiver (a CRM) gets instead of the default event body
// (docs/webhooks.md "Body templates"). A template is a JSON document whose string values may hold
// placeholders, spelled as in the web client's URL templates ({name} or {{name}}; name = a dotted
// path into the event: id, type, tenant, created_at, data.call.id, data.entry.remote, ...,
// array elements by index: data.call.connections.0.device). A string that is one placeholder alone
// becomes that value with its JSON type (number, object, null when missing); placeholders inside
// longer text insert the value as text ("" when missing). Keys are never templated. Because the
// result is built as a JSON tree, event data cannot break out of its string. Pure functions; any thread.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstddef>
#include <string>
#include <string_view>

#include "base/error.hpp"

namespace callbridge::webhooks {

inline constexpr std::size_t kMaxBodyTemplateBytes = 16 * 1024;

// The template parsed and checked: valid JSON, at most kMaxBodyTemplateBytes, every placeholder
// rooted in the event (id, type, tenant, created_at, seq, data). Errors say what and where.
base::Result<boost::json::value> parse_body_template(std::string_view text);

// The template filled from `event` (the default body, {"id", "type", "tenant", "created_at", "data"}).
boost::json::value render_body(const boost::json::value& tpl, const boost::json::object& event);

}  // namespace callbridge::webhooks
