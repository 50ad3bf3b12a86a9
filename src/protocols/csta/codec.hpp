// CSTA XML documents <-> typed messages (ECMA-323 editions 3 to 6, ECMA-354 session messages).
// decode(): one pugixml DOM parse of one document (after the framing's size limit), root element
// by local name (any prefix, a default namespace or none), unknown optional elements and vendor
// <extensions> ignored. encode(): writes the document directly (no DOM), in the given edition.
// Free functions; thread-safe (no shared state). Used by the CSTA server and drivers/csta.
//
// A connection's read loop, and an answer in the client's edition:
//
//   FrameReader reader;                       // one per connection (framing.hpp)
//   reader.feed(bytes);
//   Frame f;
//   for (auto r = reader.next(f); ; r = reader.next(f)) {
//     if (!r) return close(r.error());        // framing errors are final
//     if (!*r) break;                         // need more bytes
//     auto d = decode(f.xml);
//     if (!d) { reply(f.invoke_id, CstaErrorCode{d.error().suggested_error()}, Edition::none); continue; }
//     std::visit(overloaded{
//         [&](const MonitorStart& m) { reply(f.invoke_id, MonitorStartResponse{start(m), {}}, d->edition); },
//         [&](const UnknownService& u) {
//           reply(f.invoke_id, CstaErrorCode{{ErrorCategory::operation,
//                                             std::string(error_value::kServiceNotSupported)}}, d->edition); },
//         [&](const auto&) { /* ... */ }}, d->message);
//   }
//   // reply(): std::string out; append_frame(out, reader.framing(), invoke_id.value_or(0),
//   //                                        encode(message, edition));  events: kUnsolicitedInvokeId
#pragma once

#include <cstddef>
#include <expected>
#include <string>
#include <string_view>

#include "base/error.hpp"
#include "protocols/csta/csta_types.hpp"
#include "protocols/csta/messages.hpp"

namespace callbridge::protocols::csta {

struct DecodeLimits {
  // Larger documents are refused before parsing (the frame reader normally enforces this first).
  std::size_t max_document_bytes = 64 * 1024;
  // Elements nested deeper than this are refused (no deep recursion on hostile input).
  std::size_t max_depth = 32;
};

struct Decoded {
  Message message;
  Edition edition = Edition::none;  // answer in this edition
};

// Why a document could not be decoded, and the CSTAErrorCode a server should answer a request
// with (the invoke id comes from the frame).
struct DecodeError {
  enum class Kind : std::uint8_t {
    too_large,        // document above DecodeLimits::max_document_bytes
    not_xml,          // not well-formed XML (pugixml's description and offset in `message`)
    too_deep,         // nesting above DecodeLimits::max_depth
    bad_namespace,    // a namespace that is not ECMA-323 ed3..ed6 or ECMA-354
    missing_element,  // a required element of a known service is absent
    bad_value,        // an element's text is not a valid value (enum token, boolean, number)
  };
  Kind kind;
  std::string service;  // the root element's local name when known
  std::string message;  // human-readable, names the element
  // operation/generic for not_xml and friends, operation/valueOutOfRange for bad_value, ...
  ErrorCode suggested_error() const;
  base::Error to_error() const { return base::Error::protocol(message); }
};

std::expected<Decoded, DecodeError> decode(std::string_view xml, const DecodeLimits& limits = {});

// Appends the XML document of `m` (with an XML declaration) to `out`. CSTA messages get the
// namespace of `edition` as the default namespace (none for Edition::none); ECMA-354 session
// messages always get kSessionNamespace. Text is escaped; never fails.
void encode(const Message& m, Edition edition, std::string& out);
inline std::string encode(const Message& m, Edition edition) {
  std::string out;
  encode(m, edition, out);
  return out;
}

}  // namespace callbridge::protocols::csta
