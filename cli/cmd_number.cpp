// `callbridge number normalize|dial`: the dialing plan (src/core/dialing_plan.hpp) for people and
// scripts. Works offline (no server needed): the plan is the daemon's, read from --config /
// $CALLBRIDGE_CONFIG by the daemon's own parser (cli/plan_flags.hpp), with flags on top.
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "cli/plan_flags.hpp"
#include "core/dialing_plan.hpp"

namespace callbridge::cli {
namespace {

struct NumberFlags : PlanFlags {
  std::string source = "user";
  bool details = false;
  std::vector<std::string> numbers;
};

void add_number_flags(CLI::App* cmd, NumberFlags& f) {
  add_plan_flags(cmd, f);
  cmd->add_option("--source", f.source,
                  "where inputs come from: user (typed/stored), pbx (caller ids, see "
                  "--pbx-outside-prefix), dialed (dialed by internal phones: outside code stripped)")
      ->check(CLI::IsMember({"user", "pbx", "dialed"}))
      ->capture_default_str();
}

// The config file's plan (if any) with the flags on top.
base::Result<std::shared_ptr<const core::DialingPlan>> build_plan(const PlanFlags& f) {
  auto loaded = load_plan(f);
  if (!loaded) return base::fail(loaded.error());
  return std::move(loaded->plan);
}

// Inputs from the arguments, else one per line from stdin (lines capped at 4 KiB).
template <typename Fn>
void for_each_input(const NumberFlags& f, Fn&& fn) {
  if (!f.numbers.empty()) {
    for (const auto& n : f.numbers) fn(std::string_view(n));
    return;
  }
  constexpr std::size_t kMaxLine = 4096;
  std::string line;
  bool truncated = false;
  int c;
  while ((c = std::getchar()) != EOF) {
    if (c == '\n') {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      fn(truncated ? std::string_view("<line too long>") : std::string_view(line));
      line.clear();
      truncated = false;
    } else if (line.size() < kMaxLine) {
      line.push_back(static_cast<char>(c));
    } else {
      truncated = true;
    }
  }
  if (!line.empty() || truncated) fn(truncated ? std::string_view("<line too long>") : line);
}

// Tabs/newlines in an input would break the TSV output.
std::string printable(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    if (c == '\t' || c == '\n' || c == '\r') c = ' ';
  }
  return out;
}

int run_normalize(const NumberFlags& f) {
  auto built = build_plan(f);
  if (!built) {
    std::fprintf(stderr, "callbridge number: %s\n", built.error().to_string().c_str());
    return 2;
  }
  const core::DialingPlan* plan = built->get();
  auto source = f.source == "pbx"      ? core::NumberSource::pbx
                : f.source == "dialed" ? core::NumberSource::dialed
                                       : core::NumberSource::user;
  std::string out;
  for_each_input(f, [&](std::string_view input) {
    core::CanonicalNumber c = plan->canonicalize(input, source);
    out.assign(printable(input));
    out += '\t';
    out += c.e164.empty() ? "invalid" : c.e164;
    out += '\t';
    out += core::to_string(c.kind);
    if (c.kind == core::CanonicalNumber::Kind::internal) out += " " + c.extension;
    if (f.details) {
      out += '\t';
      out += plan->display(c, plan->region());
      out += '\t';
      if (c.kind == core::CanonicalNumber::Kind::invalid) {
        out += c.reason;
      } else if (!c.e164.empty()) {
        auto facts = core::phone::describe_e164(c.e164);
        out += facts.region + " " + facts.type + (facts.valid ? "" : " (not valid)");
      }
      if (!c.remote_extension.empty()) out += "\text " + c.remote_extension;
    }
    out += '\n';
    std::fwrite(out.data(), 1, out.size(), stdout);
  });
  return 0;
}

int run_dial(const NumberFlags& f) {
  auto built = build_plan(f);
  if (!built) {
    std::fprintf(stderr, "callbridge number: %s\n", built.error().to_string().c_str());
    return 2;
  }
  const core::DialingPlan* plan = built->get();
  int rc = 0;
  for_each_input(f, [&](std::string_view input) {
    auto dial = plan->dial_string(input);
    std::string in = printable(input);
    if (dial) {
      std::printf("%s\t%s\n", in.c_str(), dial->c_str());
    } else {
      std::printf("%s\tinvalid\n", in.c_str());
      std::fprintf(stderr, "callbridge number dial: '%s': %s\n", in.c_str(),
                   dial.error().message().c_str());
      rc = 1;
    }
  });
  return rc;
}

}  // namespace

Command register_number(CLI::App& app) {
  auto flags = std::make_shared<NumberFlags>();
  CLI::App* cmd = app.add_subcommand(
      "number",
      "Normalize numbers to E.164 and build dial strings with a tenant's dialing plan: the daemon's "
      "(--config FILE, as callbridged reads it, also a [demo] file), with plan flags on top");
  cmd->require_subcommand(1);
  // Also before the subcommand (`callbridge number --config FILE normalize ...`).
  cmd->add_option("--config", flags->config,
                  "callbridged config file whose dialing plan to use (default: $CALLBRIDGE_CONFIG)")
      ->option_text("FILE");

  CLI::App* norm = cmd->add_subcommand(
      "normalize",
      "Print INPUT<TAB>E164-or-invalid<TAB>internal EXT|external|withheld|invalid per input "
      "(inputs from the arguments, else one per line from stdin). The plan: --config FILE (the "
      "daemon's [tenant.<tenant>.dialing]; a [demo] file: the demo PBX's plan) and/or the plan flags");
  add_number_flags(norm, *flags);
  norm->add_flag("--details", flags->details,
                 "add columns: display form, region + number type (or why invalid)");
  norm->add_option("NUMBER", flags->numbers, "numbers, tel: URIs, caller ids");

  CLI::App* dial = cmd->add_subcommand(
      "dial", "Print INPUT<TAB>DIALSTRING: what the PBX must dial (exit 1 if any input is invalid)");
  add_number_flags(dial, *flags);
  dial->add_option("NUMBER", flags->numbers, "E.164 numbers or tel: URIs");

  return Command{cmd, [flags, norm, dial]() {
                   if (norm->parsed()) return run_normalize(*flags);
                   if (dial->parsed()) return run_dial(*flags);
                   return 2;
                 }};
}

}  // namespace callbridge::cli
