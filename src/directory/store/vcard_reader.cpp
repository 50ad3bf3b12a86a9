#include "directory/store/vcard_reader.hpp"

#include <algorithm>
#include <cctype>
#include <optional>

namespace callbridge::directory {
namespace {

struct Line {
  std::size_t no;
  std::string text;
};

std::string upper(std::string_view s) {
  std::string o(s);
  for (auto& c : o) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return o;
}
std::string lower(std::string_view s) {
  std::string o(s);
  for (auto& c : o) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return o;
}
std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

// RFC 6350 3.4: "\n" or "\N" is a line break, "\\", "\," and "\;" the character itself.
std::string unescape(std::string_view v) {
  std::string o;
  o.reserve(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (v[i] == '\\' && i + 1 < v.size()) {
      char n = v[++i];
      o.push_back(n == 'n' || n == 'N' ? '\n' : n);
    } else {
      o.push_back(v[i]);
    }
  }
  return o;
}

// Splits a structured value (N, ORG) at unescaped ';' and unescapes each part.
std::vector<std::string> components(std::string_view v) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= v.size(); ++i) {
    if (i < v.size() && v[i] == '\\') {
      ++i;
      continue;
    }
    if (i == v.size() || v[i] == ';') {
      out.push_back(trim(unescape(v.substr(start, i - start))));
      start = i + 1;
    }
  }
  return out;
}

struct Property {
  std::string name;                     // upper case, group removed
  std::vector<std::string> types;       // lower case TYPE values and bare parameters
  std::optional<std::string> encoding;  // ENCODING=... upper case
  std::string value;                    // raw (still escaped)
};

// "item1.TEL;TYPE=\"work,voice\";PREF=1:+49 211 1" -> Property; nullopt when there is no ':'.
std::optional<Property> parse_property(std::string_view l) {
  bool quoted = false;
  std::size_t colon = std::string_view::npos;
  for (std::size_t i = 0; i < l.size(); ++i) {
    if (l[i] == '"') quoted = !quoted;
    if (!quoted && l[i] == ':') {
      colon = i;
      break;
    }
  }
  if (colon == std::string_view::npos) return std::nullopt;
  Property p;
  p.value = std::string(l.substr(colon + 1));
  std::string_view head = l.substr(0, colon);
  std::vector<std::string_view> parts;
  quoted = false;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= head.size(); ++i) {
    if (i < head.size() && head[i] == '"') quoted = !quoted;
    if (i == head.size() || (!quoted && head[i] == ';')) {
      parts.push_back(head.substr(start, i - start));
      start = i + 1;
    }
  }
  std::string_view name = parts[0];
  if (auto dot = name.find('.'); dot != std::string_view::npos) name.remove_prefix(dot + 1);
  p.name = upper(trim(name));
  for (std::size_t k = 1; k < parts.size(); ++k) {
    std::string_view prm = parts[k];
    auto eq = prm.find('=');
    std::string key = upper(trim(prm.substr(0, eq)));
    if (eq == std::string_view::npos) {
      p.types.push_back(lower(key));
      continue;
    }
    std::string val(prm.substr(eq + 1));
    val.erase(std::remove(val.begin(), val.end(), '"'), val.end());
    if (key == "TYPE") {
      std::size_t s = 0;
      for (std::size_t i = 0; i <= val.size(); ++i) {
        if (i == val.size() || val[i] == ',') {
          p.types.push_back(lower(trim(std::string_view(val).substr(s, i - s))));
          s = i + 1;
        }
      }
    } else if (key == "ENCODING") {
      p.encoding = upper(val);
    }
  }
  return p;
}

std::string phone_label(const std::vector<std::string>& types) {
  auto has = [&](const char* t) { return std::find(types.begin(), types.end(), t) != types.end(); };
  if (has("fax")) return "fax";
  if (has("cell")) return "mobile";
  if (has("main")) return "main";
  if (has("work")) return "work";
  if (has("home")) return "home";
  return "";
}

std::vector<Line> unfold(std::string_view text, std::size_t max_bytes,
                         std::vector<VCardProblem>& problems) {
  std::vector<Line> out;
  std::size_t no = 0;
  std::size_t pos = 0;
  bool last_too_long = false;
  while (pos < text.size()) {
    std::size_t end = text.find_first_of("\r\n", pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view phys = text.substr(pos, end - pos);
    ++no;
    pos = end;
    if (pos < text.size() && text[pos] == '\r') {
      ++pos;
      if (pos < text.size() && text[pos] == '\n') ++pos;
    } else if (pos < text.size() && text[pos] == '\n') {
      ++pos;
    }
    if (!phys.empty() && (phys[0] == ' ' || phys[0] == '\t')) {
      if (out.empty() || last_too_long) {
        if (!last_too_long)
          problems.push_back({no, "continuation line (starts with a space) with no line to continue: broken folding"});
        continue;
      }
      out.back().text.append(phys.substr(1));
      if (out.back().text.size() > max_bytes) {
        problems.push_back({out.back().no, "property longer than " + std::to_string(max_bytes) + " bytes"});
        out.back().text = "X-CALLBRIDGE-TOO-LONG:";
        last_too_long = true;
      }
      continue;
    }
    last_too_long = false;
    if (trim(phys).empty()) continue;
    if (phys.size() > max_bytes) {
      problems.push_back({no, "property longer than " + std::to_string(max_bytes) + " bytes"});
      out.push_back({no, "X-CALLBRIDGE-TOO-LONG:"});
      last_too_long = true;
      continue;
    }
    out.push_back({no, std::string(phys)});
  }
  return out;
}

}  // namespace

bool looks_like_vcard(std::string_view text) {
  // A BEGIN:VCARD at the start of one of the first lines (a broken first line must not turn a
  // vCard file into a CSV one).
  std::string head = upper(text.substr(0, 4096));
  for (std::size_t pos = 0; pos != std::string::npos;) {
    std::size_t i = pos;
    while (i < head.size() && (head[i] == ' ' || head[i] == '\t')) ++i;
    if (head.compare(i, 11, "BEGIN:VCARD") == 0) return true;
    pos = head.find('\n', pos);
    if (pos != std::string::npos) ++pos;
  }
  return false;
}

VCardResult read_vcards(std::string_view text, VCardLimits limits) {
  VCardResult r;
  std::vector<Line> lines = unfold(text, limits.max_line_bytes, r.problems);
  std::optional<VCardEntry> card;
  bool broken = false;  // the open card already has a reported problem
  bool stray_reported = false;
  auto break_card = [&](std::size_t line, std::string msg) {
    if (!broken) r.problems.push_back({line, std::move(msg)});
    broken = true;
  };
  for (const auto& l : lines) {
    if (l.text == "X-CALLBRIDGE-TOO-LONG:") {
      // Already reported by unfold(); a card containing it is incomplete.
      if (card) broken = true;
      continue;
    }
    auto p = parse_property(l.text);
    if (!p) {
      if (card) {
        break_card(l.no, "no ':' in property line (broken line folding?)");
      } else if (!stray_reported) {
        r.problems.push_back({l.no, "text outside BEGIN:VCARD ... END:VCARD"});
        stray_reported = true;
      }
      continue;
    }
    std::string value_upper = upper(trim(p->value));
    if (p->name == "BEGIN" && value_upper == "VCARD") {
      if (card && !broken)
        r.problems.push_back({card->line, "card has no END:VCARD (next BEGIN:VCARD on line " + std::to_string(l.no) + ")"});
      if (r.cards.size() >= limits.max_cards) {
        r.problems.push_back({l.no, "more than " + std::to_string(limits.max_cards) + " cards; rest ignored"});
        return r;
      }
      card.emplace();
      card->line = l.no;
      broken = false;
      stray_reported = false;
      continue;
    }
    if (!card) {
      if (!stray_reported) {
        r.problems.push_back({l.no, p->name == "END" ? "END:VCARD without BEGIN:VCARD"
                                                     : "property outside BEGIN:VCARD ... END:VCARD"});
        stray_reported = true;
      }
      continue;
    }
    if (p->name == "END") {
      if (!broken) {
        if (card->version.empty()) card->version = "3.0";
        r.cards.push_back(std::move(*card));
      }
      card.reset();
      continue;
    }
    if (broken) continue;
    if (p->encoding && (*p->encoding == "QUOTED-PRINTABLE")) {
      break_card(l.no, "QUOTED-PRINTABLE values (vCard 2.1) are not supported; export as vCard 3.0 or 4.0");
      continue;
    }
    const std::string& n = p->name;
    if (n == "VERSION") {
      std::string v = trim(p->value);
      if (v != "3.0" && v != "4.0" && v != "2.1") break_card(l.no, "unsupported vCard version '" + v + "'");
      card->version = v;
    } else if (n == "FN") {
      card->display_name = trim(unescape(p->value));
    } else if (n == "N") {
      auto c = components(p->value);
      if (!c.empty()) card->family_name = c[0];
      if (c.size() > 1) card->given_name = c[1];
    } else if (n == "ORG") {
      auto c = components(p->value);
      if (!c.empty()) card->company = c[0];
    } else if (n == "EMAIL") {
      if (card->email.empty()) card->email = trim(unescape(p->value));
    } else if (n == "NOTE") {
      card->note = unescape(p->value);
    } else if (n == "KIND") {
      card->is_company = value_upper == "ORG";
    } else if (n == "X-ABSHOWAS") {
      card->is_company = value_upper == "COMPANY";
    } else if (n == "TEL") {
      std::string v = trim(p->value);
      if (lower(v.substr(0, 4)) == "tel:") {
        v = v.substr(4);
        if (auto semi = v.find(';'); semi != std::string::npos) v.resize(semi);
      }
      card->phones.push_back({l.no, phone_label(p->types), unescape(v)});
    }
  }
  if (card && !broken) r.problems.push_back({card->line, "card has no END:VCARD (file ends)"});
  std::stable_sort(r.problems.begin(), r.problems.end(),
                   [](const VCardProblem& a, const VCardProblem& b) { return a.line < b.line; });
  return r;
}

}  // namespace callbridge::directory
