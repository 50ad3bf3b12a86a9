// AmiFeatures: ports::PbxFeatures on Asterisk — DND, call forwarding and follow-me kept in AstDB
// (family "callbridge", keys below) and carried out by the shipped dialplan include
// contrib/asterisk/callbridge.conf (docs/dialplan.md). After every login (once the resync is done)
// it checks that the include is loaded (ShowDialPlan Context: callbridge-version) and reads every
// key back (DBGetTree Family: callbridge); writes are DBPut/DBDel, one at a time; a write the PBX
// refuses is followed by DBGet of that line's keys, so line() says what the PBX really holds.
// Model thread only (the AmiDriver's).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.hpp"
#include "drivers/ami/ami_protocol.hpp"
#include "ports/pbx_features.hpp"

namespace callbridge::drivers::ami {

// The AstDB layout the dialplan reads (all under family "callbridge", one key per line EXT):
//   dnd/EXT = 1 | cfu/EXT, cfb/EXT, cfnr/EXT = destination | cfnrtime/EXT = seconds |
//   followme/EXT = E.164 number | fmmode/EXT = parallel|sequential|device | fmdesk/EXT = seconds
inline constexpr std::string_view kAstDbFamily = "callbridge";
inline constexpr std::string_view kDialplanVersionContext = "callbridge-version";
// The version this build writes keys for; the include's [callbridge-version] must say at least this.
inline constexpr int kDialplanVersion = 1;
// The version that added [callbridge-hold]: hold of calls on users' external devices (AnyDevice).
inline constexpr int kHoldDialplanVersion = 2;
inline constexpr std::string_view kMissingDialplan =
    "the PBX lacks callbridge's dialplan (contrib/asterisk/callbridge.conf; docs/dialplan.md)";
// At most this many lines are kept from a DBGetTree (a PBX with more is refused, not grown into).
inline constexpr std::size_t kMaxFeatureLines = 20'000;

// One AstDB key of a line: "dnd/101" -> value ("" = delete).
struct AstDbKey {
  std::string key;
  std::string value;
  bool operator==(const AstDbKey&) const = default;
};
// Every key of `f` for `line` (absent features: value ""), in the order they are written.
std::vector<AstDbKey> astdb_keys(std::string_view line, const ports::LineFeatures& f);
// The DBPut/DBDel actions that take the PBX from `from` to `to` for `line` (unchanged keys: none).
std::vector<AmiAction> astdb_writes(std::string_view line, const ports::LineFeatures& from,
                                    const ports::LineFeatures& to);
// Applies one AstDB entry ("cfu/101" = "+4989...") to `lines`; false: not a key of ours, or a value
// the dialplan would not use (ignored, logged by the caller).
bool apply_astdb_entry(std::map<std::string, ports::LineFeatures, std::less<>>& lines, std::string_view key,
                       std::string_view value);
// The answer to DBGetTree Family: callbridge (DBGetTreeResponse items, Key "/callbridge/dnd/101")
// as lines. Errors: Errc::conflict when the PBX refused the action, Errc::protocol for more than
// kMaxFeatureLines lines.
base::Result<std::map<std::string, ports::LineFeatures, std::less<>>> parse_astdb_tree(const AmiResponse& r);
// The answer to DBGet (a DBGetResponse item with Val): the value, nullopt when the PBX has no such
// entry ("Database entry not found"), Errc::conflict for another refusal, Errc::protocol for a
// success without a DBGetResponse.
base::Result<std::optional<std::string>> parse_astdb_get(const AmiResponse& r);
// The answer to ShowDialPlan Context: callbridge-version: the include's version (>= 1), or 0 when
// the PBX does not have that context ("Did not find context ...").
int parse_dialplan_version(const AmiResponse& r);

class AmiFeatures final : public ports::PbxFeatures {
 public:
  // Sends one action on the link (AmiLink::submit); the callback runs later on the model thread.
  using Submit = std::function<base::Result<std::string>(AmiAction, ActionCallback)>;
  // `changed(lines)`: what line() answers for `lines` changed, or (empty) ready() changed.
  AmiFeatures(std::string pbx, Submit submit, std::function<void(std::vector<std::string>)> changed);
  ~AmiFeatures() override;

  // A new session is up and its resync is done: check the include, read every key back.
  void on_session_ready();
  // The session is gone: not ready until the next one's checks; line() keeps the last known state.
  void on_session_end();

  base::Status ready() const override;
  ports::LineFeatures line(std::string_view line) const override;
  void set_line(const std::string& line, const ports::LineFeatures& features, ports::CommandDone done) override;

  std::size_t lines() const { return lines_.size(); }
  int dialplan_version() const { return version_; }

 private:
  enum class Phase : std::uint8_t { down, checking, missing, reading, ready };
  struct Write;
  void run(std::shared_ptr<Write> w);
  void reread(const std::string& line, std::function<void()> then);
  void publish(std::vector<std::string> lines);

  std::string pbx_;
  Submit submit_;
  std::function<void(std::vector<std::string>)> changed_;
  Phase phase_ = Phase::down;
  int version_ = 0;
  std::string read_error_;  // why the last read-back failed ("" when it did not)
  std::uint64_t epoch_ = 0;  // sessions: answers of an older one are ignored
  std::map<std::string, ports::LineFeatures, std::less<>> lines_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace callbridge::drivers::ami
