// See ami_gap.hpp. The channel/bridge picture is rebuilt from Newchannel, Newstate, NewCallerid,
// NewConnectedLine, Newexten, DialBegin, Rename, BridgeCreate/Enter/Leave/Destroy and Hangup.
#include "support/ami_gap.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <stdexcept>

namespace callbridge::testing {
namespace {

std::string field(std::string_view msg, std::string_view key) {
  std::string k = std::string(key) + ": ";
  std::size_t pos = 0;
  while (pos < msg.size()) {
    auto eol = msg.find("\r\n", pos);
    if (eol == std::string_view::npos) eol = msg.size();
    std::string_view line = msg.substr(pos, eol - pos);
    if (line.starts_with(k)) return std::string(line.substr(k.size()));
    pos = eol + 2;
  }
  return {};
}

struct Chan {
  std::string uid, name, state, state_desc, cid_num, cid_name, cl_num, cl_name, context, exten,
      linkedid, app, app_data, bridge;
  double created = 0;
  std::size_t order = 0;
};

struct Bridge {
  std::string type = "basic", tech = "simple_bridge";
  std::size_t members = 0;
};

}  // namespace

AmiCapture AmiCapture::parse(const std::string& bytes) {
  AmiCapture c;
  auto eol = bytes.find("\r\n");
  if (eol == std::string::npos) throw std::runtime_error("capture without a banner");
  c.banner = bytes.substr(0, eol + 2);
  std::size_t pos = eol + 2;
  while (pos < bytes.size()) {
    auto end = bytes.find("\r\n\r\n", pos);
    if (end == std::string::npos) break;
    c.messages.push_back(bytes.substr(pos, end + 4 - pos));
    pos = end + 4;
  }
  return c;
}

std::optional<std::size_t> AmiCapture::find(std::vector<std::string_view> needles,
                                            std::size_t from) const {
  for (std::size_t i = from; i < messages.size(); ++i) {
    bool all = true;
    for (auto n : needles) all = all && messages[i].find(n) != std::string::npos;
    if (all) return i;
  }
  return std::nullopt;
}

std::size_t AmiCapture::after(std::vector<std::string_view> needles, std::size_t from) const {
  auto i = find(needles, from);
  if (!i) throw std::runtime_error("capture has no message with " + std::string(needles.front()));
  return *i + 1;
}

GapSessions cut_with_gap(const AmiCapture& c, std::size_t cut, std::size_t resume,
                         GapOptions options) {
  const std::size_t listed_at = resume + options.live_before_lists;
  if (cut > resume || listed_at > c.messages.size()) throw std::runtime_error("bad gap");
  GapSessions out;
  out.lost_messages = resume - cut;
  out.first = c.banner;
  for (std::size_t i = 0; i < cut; ++i) out.first += c.messages[i];

  std::map<std::string, Chan> chans;
  std::map<std::string, Bridge> bridges;
  std::size_t order = 0;
  double now = 0, login_at = 0;
  for (std::size_t i = 0; i < listed_at; ++i) {
    if (i == resume) login_at = now;
    const std::string& m = c.messages[i];
    std::string ev = field(m, "Event");
    if (auto ts = field(m, "Timestamp"); !ts.empty()) now = std::stod(ts);
    if (ev.empty()) continue;
    std::string uid = field(m, "Uniqueid");
    auto known = chans.find(uid);
    auto update = [&](Chan& ch) {
      for (auto [key, dst] : {std::pair{"Channel", &ch.name}, {"ChannelState", &ch.state},
                              {"ChannelStateDesc", &ch.state_desc}, {"CallerIDNum", &ch.cid_num},
                              {"CallerIDName", &ch.cid_name}, {"ConnectedLineNum", &ch.cl_num},
                              {"ConnectedLineName", &ch.cl_name}, {"Context", &ch.context},
                              {"Exten", &ch.exten}, {"Linkedid", &ch.linkedid}}) {
        std::string v = field(m, key);
        if (!v.empty()) *dst = v;
      }
    };
    if (ev == "Newchannel" && !uid.empty()) {
      Chan ch;
      ch.uid = uid;
      ch.created = now;
      ch.order = order++;
      update(ch);
      chans[uid] = ch;
    } else if (known != chans.end() &&
               (ev == "Newstate" || ev == "NewCallerid" || ev == "NewConnectedLine")) {
      update(known->second);
    } else if (known != chans.end() && ev == "Newexten") {
      update(known->second);
      known->second.app = field(m, "Application");
      known->second.app_data = field(m, "AppData");
    } else if (ev == "DialBegin") {
      auto d = chans.find(field(m, "DestUniqueid"));
      // Dial's outgoing channels show AppDial; a queue's members keep the AppQueue their
      // Newexten named (as Asterisk lists them).
      if (d != chans.end() && d->second.app != "AppQueue") {
        d->second.app = "AppDial";
        d->second.app_data = "(Outgoing Line)";
      }
    } else if (known != chans.end() && ev == "Rename") {
      known->second.name = field(m, "Newname");
    } else if (ev == "BridgeCreate") {
      Bridge& b = bridges[field(m, "BridgeUniqueid")];
      b.type = field(m, "BridgeType");
      b.tech = field(m, "BridgeTechnology");
    } else if (known != chans.end() && ev == "BridgeEnter") {
      known->second.bridge = field(m, "BridgeUniqueid");
      ++bridges[known->second.bridge].members;
    } else if (known != chans.end() && ev == "BridgeLeave") {
      auto b = bridges.find(known->second.bridge);
      if (b != bridges.end() && b->second.members > 0) --b->second.members;
      known->second.bridge.clear();
    } else if (ev == "BridgeDestroy") {
      bridges.erase(field(m, "BridgeUniqueid"));
    } else if (known != chans.end() && ev == "Hangup") {
      if (auto b = bridges.find(known->second.bridge); b != bridges.end() && b->second.members > 0)
        --b->second.members;
      chans.erase(known);
    }
  }

  if (options.asterisk_restarted) {
    chans.clear();
    bridges.clear();
  }
  if (listed_at == resume) login_at = now;
  std::vector<const Chan*> live;
  for (const auto& [uid, ch] : chans) live.push_back(&ch);
  std::sort(live.begin(), live.end(), [](const Chan* a, const Chan* b) { return a->order < b->order; });
  out.listed_channels = live.size();
  char ts[64];
  std::snprintf(ts, sizeof ts, "%.6f", login_at);
  auto age = [&](const Chan& ch) { return static_cast<int>(std::floor(now - ch.created)); };
  std::string s = c.banner;
  s += "Response: Success\r\nActionID: login\r\nMessage: Authentication accepted\r\n\r\n";
  s += "Event: SuccessfulAuth\r\nPrivilege: security,all\r\nTimestamp: " + std::string(ts) +
       "\r\nService: AMI\r\nAccountID: cti\r\n\r\n";
  // Responses to the first session's actions would not come on the new connection.
  auto live_message = [&](std::size_t i) {
    if (!c.messages[i].starts_with("Response:")) s += c.messages[i];
  };
  for (std::size_t i = resume; i < listed_at; ++i) live_message(i);
  auto common = [&](const Chan& ch) {
    return "Channel: " + ch.name + "\r\nChannelState: " + ch.state + "\r\nChannelStateDesc: " +
           ch.state_desc + "\r\nCallerIDNum: " + ch.cid_num + "\r\nCallerIDName: " + ch.cid_name +
           "\r\nConnectedLineNum: " + ch.cl_num + "\r\nConnectedLineName: " + ch.cl_name +
           "\r\nLanguage: en\r\nAccountCode: \r\nContext: " + ch.context + "\r\nExten: " + ch.exten +
           "\r\nPriority: 1\r\nUniqueid: " + ch.uid + "\r\nLinkedid: " + ch.linkedid + "\r\n";
  };
  s += "Response: Success\r\nActionID: resync-CoreShowChannels\r\nEventList: start\r\n"
       "Message: Channels will follow\r\n\r\n";
  for (const Chan* ch : live) {
    int a = age(*ch);
    char dur[32];
    std::snprintf(dur, sizeof dur, "%02d:%02d:%02d", a / 3600, a / 60 % 60, a % 60);
    s += "Event: CoreShowChannel\r\nActionID: resync-CoreShowChannels\r\n" + common(*ch) +
         "Application: " + ch->app + "\r\nApplicationData: " + ch->app_data + "\r\nDuration: " +
         dur + "\r\nBridgeId: " + ch->bridge + "\r\n\r\n";
  }
  s += "Event: CoreShowChannelsComplete\r\nActionID: resync-CoreShowChannels\r\nEventList: Complete\r\n"
       "ListItems: " + std::to_string(live.size()) + "\r\n\r\n";
  s += "Response: Success\r\nActionID: resync-Status\r\nEventList: start\r\n"
       "Message: Channel status will follow\r\n\r\n";
  for (const Chan* ch : live) {
    s += "Event: Status\r\nPrivilege: Call\r\n" + common(*ch) + "BridgeID: " + ch->bridge +
         "\r\nApplication: " + ch->app + "\r\nData: " + ch->app_data +
         "\r\nSeconds: " + std::to_string(age(*ch)) + "\r\nActionID: resync-Status\r\n\r\n";
  }
  s += "Event: StatusComplete\r\nActionID: resync-Status\r\nEventList: Complete\r\nListItems: " +
       std::to_string(live.size()) + "\r\n\r\n";
  s += "Response: Success\r\nActionID: resync-BridgeList\r\nEventList: start\r\n"
       "Message: Bridge listing will follow\r\n\r\n";
  std::size_t nb = 0;
  for (const auto& [id, b] : bridges) {
    if (b.members == 0) continue;
    ++nb;
    s += "Event: BridgeListItem\r\nActionID: resync-BridgeList\r\nBridgeUniqueid: " + id +
         "\r\nBridgeType: " + b.type + "\r\nBridgeTechnology: " + b.tech +
         "\r\nBridgeNumChannels: " + std::to_string(b.members) + "\r\n\r\n";
  }
  s += "Event: BridgeListComplete\r\nActionID: resync-BridgeList\r\nEventList: Complete\r\n"
       "ListItems: " + std::to_string(nb) + "\r\n\r\n";
  for (std::size_t i = listed_at; options.rest && i < c.messages.size(); ++i) live_message(i);
  out.second = std::move(s);
  return out;
}

}  // namespace callbridge::testing
