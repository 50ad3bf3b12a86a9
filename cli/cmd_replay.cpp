// `callbridge replay`: runs AMI captures / `callbridged --record` recordings through the real AMI
// protocol (drivers/ami AmiReplay) into the same AmiCallTracker the daemon uses (tracker options and
// dialing plan from --config, else the defaults) and prints the journal entries and CSTA events as
// JSON lines. Offline; single-threaded.
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "app/ami_wiring.hpp"
#include "app/config.hpp"
#include "cli/commands.hpp"
#include "drivers/ami/ami_call_tracker.hpp"
#include "drivers/ami/ami_replay.hpp"
#include "model/call_model.hpp"
#include "model/journal_entry.hpp"

namespace callbridge::cli {
namespace {

struct ReplayFlags {
  std::string config;
  std::string tenant;
  std::string journal_out;
  std::string events_out;
  std::string chunk = "whole";
  std::uint64_t seed = 1;
  bool no_cdr_cel = false;
  std::vector<std::string> files;
};

// A FILE* that is stdout or an opened file (closed, with the error checked, by close()).
class Output {
 public:
  base::Status open(const std::string& path) {
    path_ = path;
    if (path.empty() || path == "-") {
      f_ = stdout;
      return {};
    }
    f_ = std::fopen(path.c_str(), "wb");
    if (!f_) return base::fail(base::Error::io("cannot write " + path + ": " + std::strerror(errno)));
    owned_ = true;
    return {};
  }
  void line(const std::string& s) {
    if (!f_) return;
    std::fwrite(s.data(), 1, s.size(), f_);
    std::fputc('\n', f_);
  }
  base::Status close() {
    if (!f_) return {};
    bool bad = std::ferror(f_) != 0;
    if (owned_) bad = std::fclose(f_) != 0 || bad;
    else bad = std::fflush(f_) != 0 || bad;
    f_ = nullptr;
    if (bad) return base::fail(base::Error::io("write error on " + (path_.empty() ? "stdout" : path_)));
    return {};
  }
  ~Output() {
    if (owned_ && f_) std::fclose(f_);
  }

 private:
  std::FILE* f_ = nullptr;
  bool owned_ = false;
  std::string path_;
};

int fail_with(int code, const std::string& msg) {
  std::fprintf(stderr, "callbridge replay: %s\n", msg.c_str());
  return code;
}

int run_replay(const ReplayFlags& f) {
  namespace ami = drivers::ami;
  // The configuration: the tracker options of the daemon (tenant dialing plan), else defaults.
  app::Config config;
  if (!f.config.empty()) {
    auto loaded = app::load_config_file(f.config);
    if (!loaded) return fail_with(2, loaded.error().message());
    config = std::move(*loaded);
  }
  std::string tenant_text = f.tenant;
  if (tenant_text.empty())
    tenant_text = config.pbx.empty() ? std::string(app::kSingleCompanyTenant) : config.pbx.front().tenant;
  auto tenant = base::TenantId::parse(tenant_text, "--tenant");
  if (!tenant) return fail_with(2, tenant.error().message());
  auto topt = app::tracker_options(config, *tenant);
  if (!topt) return fail_with(2, topt.error().message());

  ami::AmiReplayOptions ro;
  ro.drop_cdr_cel = f.no_cdr_cel;
  ro.seed = f.seed;
  if (f.chunk == "whole") {
    ro.chunking = ami::ReplayChunking::whole;
  } else if (f.chunk == "random") {
    ro.chunking = ami::ReplayChunking::random;
    ro.chunk_bytes = 700;
  } else {
    std::size_t n = 0;
    auto* end = f.chunk.data() + f.chunk.size();
    auto [p, ec] = std::from_chars(f.chunk.data(), end, n);
    if (ec != std::errc() || p != end || n == 0 || n > (64u << 20)) {
      return fail_with(2, "--chunk: expected whole, random or a byte count 1..67108864, got \"" + f.chunk + "\"");
    }
    ro.chunking = ami::ReplayChunking::fixed;
    ro.chunk_bytes = n;
  }

  // Every input must be a readable regular file before anything is replayed or written.
  std::vector<std::filesystem::path> paths;
  for (const auto& name : f.files) {
    std::error_code ec;
    auto st = std::filesystem::status(name, ec);
    if (ec || !std::filesystem::exists(st)) return fail_with(1, "cannot read " + name + ": no such file");
    if (!std::filesystem::is_regular_file(st)) return fail_with(1, "cannot read " + name + ": not a regular file");
    std::FILE* probe = std::fopen(name.c_str(), "rb");
    if (!probe) return fail_with(1, "cannot read " + name + ": " + std::strerror(errno));
    std::fclose(probe);
    paths.emplace_back(name);
  }

  Output journal_out, events_out;
  if (auto st = journal_out.open(f.journal_out); !st) return fail_with(1, st.error().message());
  bool want_events = !f.events_out.empty();
  if (want_events) {
    if (auto st = events_out.open(f.events_out); !st) return fail_with(1, st.error().message());
  }

  std::size_t entries = 0, events = 0;
  ami::TrackerOutputs outputs;
  outputs.on_journal = [&](model::JournalEntry e) {
    ++entries;
    journal_out.line(model::to_json_line(e));
  };
  if (want_events) {
    outputs.on_event = [&](const model::CallEvent& e) {
      ++events;
      events_out.line(model::to_json_line(e));
    };
  }
  ami::AmiCallTracker tracker(std::move(*topt), std::move(outputs));
  ami::AmiReplay replay(tracker, ro);
  auto stats = replay.run(paths);
  if (!stats) return fail_with(1, stats.error().message());
  tracker.flush(tracker.last_event_time());  // calls still open at the end of the last file

  int rc = 0;
  for (const auto& file : stats->files) {
    if (!file.error) continue;
    bool fatal = !file.logged_in || file.messages == 0;
    std::fprintf(stderr, "callbridge replay: %s: %s%s\n", file.name.c_str(), file.error->message().c_str(),
                 fatal ? " (not an AMI capture or recording?)" : "");
    if (fatal) rc = 1;
  }
  for (const auto& file : stats->files) {
    if (file.truncated) std::fprintf(stderr, "callbridge replay: %s: recording cut short\n", file.name.c_str());
  }
  if (auto st = journal_out.close(); !st) return fail_with(1, st.error().message());
  if (auto st = events_out.close(); !st) return fail_with(1, st.error().message());

  const auto& ts = tracker.stats();
  std::fprintf(stderr,
               "callbridge replay: %zu file(s), %zu session(s), %zu messages (%zu Cdr/CEL dropped), "
               "%zu journal entries, %zu events; tracker: %llu handled, %llu unknown channel\n",
               stats->files.size(), stats->sessions_started, stats->messages_delivered, stats->messages_dropped,
               entries, events, static_cast<unsigned long long>(ts.handled),
               static_cast<unsigned long long>(ts.unknown_channel));
  return rc;
}

}  // namespace

Command register_replay(CLI::App& app) {
  auto f = std::make_shared<ReplayFlags>();
  CLI::App* cmd = app.add_subcommand(
      "replay",
      "Replay AMI captures or `callbridged --record` recordings through the AMI driver and print the "
      "call journal (JSON lines). Several files are consecutive sessions (a reconnect between them), "
      "e.g. `callbridge replay ami.log ami-reconnect.log`.");
  cmd->add_option("--config", f->config,
                  "callbridged config file: the tenant's [tenant.X.dialing] plan decides internal "
                  "numbers and E.164 (default: built-in defaults, country 49)")
      ->type_name("FILE");
  cmd->add_option("--tenant", f->tenant, "tenant whose dialing plan to use (default: the first [[pbx]]'s, "
                                        "else \"default\")")
      ->type_name("ID");
  cmd->add_option("--journal-out", f->journal_out, "write journal entries here (default: stdout)")
      ->type_name("FILE.jsonl");
  cmd->add_option("--events-out", f->events_out, "also write the CSTA call events (JSON lines) here")
      ->type_name("FILE.jsonl");
  cmd->add_option("--chunk", f->chunk,
                  "how input bytes reach the protocol: whole (default), random (1..700-byte pieces "
                  "from --seed) or N (pieces of N bytes)")
      ->type_name("whole|random|N")
      ->capture_default_str();
  cmd->add_option("--seed", f->seed, "seed for --chunk random")->type_name("S")->capture_default_str();
  cmd->add_flag("--no-cdr-cel", f->no_cdr_cel,
                "drop Event: Cdr / Event: CEL before the tracker (it must not need them)");
  cmd->add_option("AMI_LOG", f->files, "plain AMI captures (ami.log) or recordings (*.amirec), in order")
      ->required();
  cmd->footer(
      "Exit status: 0 ok; 1 a file is unreadable or is no AMI session; 2 bad flags or configuration.\n"
      "A one-line summary (files, sessions, messages, entries) goes to stderr.");
  return Command{cmd, [f] { return run_replay(*f); }};
}

}  // namespace callbridge::cli
