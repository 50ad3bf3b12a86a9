#include "audit/common/audit_writer.hpp"

#include <spdlog/spdlog.h>

namespace callbridge::audit {

using base::Error;
using base::fail;
using base::Status;

namespace {

// Cut at a UTF-8 character boundary.
std::string cut(std::string s, std::size_t max) {
  if (s.size() <= max) return s;
  std::size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  s.resize(n);
  return s;
}

}  // namespace

ports::AuditRecord clean(ports::AuditRecord r) {
  auto field = [](std::string& s) { s = cut(ports::redact_secrets(s), kMaxFieldBytes); };
  field(r.actor);
  field(r.source);
  field(r.action);
  field(r.target);
  field(r.outcome);
  r.details_json = ports::redact_secrets(r.details_json);
  if (r.details_json.empty() || r.details_json.front() != '{' || r.details_json.back() != '}')
    r.details_json = "{}";  // writers build objects; anything else is a bug, not data to keep
  if (r.details_json.size() > kMaxDetailsBytes)
    r.details_json = R"({"truncated":true})";  // a cut JSON text would not parse
  return r;
}

AuditBatchWriter::AuditBatchWriter(Options options, WriteFn write, PruneFn prune)
    : options_(std::move(options)), write_(std::move(write)), prune_(std::move(prune)) {
  thread_ = std::thread([this] { run(); });
}

AuditBatchWriter::~AuditBatchWriter() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void AuditBatchWriter::append(ports::AuditRecord record) {
  {
    std::lock_guard lk(mu_);
    if (queue_.size() >= options_.max_queued) {
      if (stats_.dropped++ % 1000 == 0)
        spdlog::error("{}: write queue full ({} records); dropping records", options_.location, queue_.size());
      return;
    }
    queue_.push_back(std::move(record));
    ++stats_.appended;
    ++queued_total_;
  }
  wake_.notify_one();
}

Status AuditBatchWriter::flush() {
  std::unique_lock lk(mu_);
  const auto target = queued_total_;
  const auto attempts = failed_attempts_;
  wake_.notify_one();
  written_.wait(lk, [&] { return stats_.committed >= target || failed_attempts_ != attempts; });
  if (stats_.committed >= target) return {};
  return fail(Error::io(options_.location + ": write failed: " + last_error_));
}

AuditLogStats AuditBatchWriter::stats() const {
  std::lock_guard lk(mu_);
  auto s = stats_;
  s.queued = queue_.size();
  return s;
}

void AuditBatchWriter::add_pruned(std::size_t n) {
  std::lock_guard lk(mu_);
  stats_.pruned += n;
}

void AuditBatchWriter::run() {
  std::unique_lock lk(mu_);
  auto next_prune = std::chrono::steady_clock::now() + options_.prune_interval;
  for (;;) {
    wake_.wait_until(lk, next_prune, [&] { return stopping_ || !queue_.empty(); });
    if (std::chrono::steady_clock::now() >= next_prune) {
      // Retention on a timer, on this thread: pruning never waits in front of a request.
      lk.unlock();
      prune_();
      lk.lock();
      next_prune = std::chrono::steady_clock::now() + options_.prune_interval;
      continue;
    }
    if (queue_.empty()) {
      if (stopping_) break;
      continue;
    }
    std::deque<ports::AuditRecord> batch;
    if (queue_.size() <= options_.max_batch) {
      batch.swap(queue_);
    } else {
      for (std::size_t i = 0; i < options_.max_batch; ++i) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    lk.unlock();
    std::deque<ports::AuditRecord> cleaned;
    for (const auto& r : batch) cleaned.push_back(clean(r));
    auto st = write_(cleaned);
    lk.lock();
    if (st) {
      stats_.committed += batch.size();
      written_.notify_all();
      continue;
    }
    ++stats_.write_errors;
    ++failed_attempts_;
    last_error_ = st.error().message();
    spdlog::error("{} ({} audit records pending; retrying)", last_error_, batch.size() + queue_.size());
    for (auto it = batch.rbegin(); it != batch.rend(); ++it) queue_.push_front(std::move(*it));
    written_.notify_all();
    if (stopping_) {
      // Not dropped silently: each record goes to the log, so it can be recovered from there.
      for (const auto& r : queue_)
        spdlog::error("{}: unwritten record: {} {} {} {} {} {} {}", options_.location, base::format_rfc3339_ms(r.at),
                      r.tenant.str(), r.actor, r.action, r.target, r.outcome, r.details_json);
      break;
    }
    wake_.wait_for(lk, options_.retry_interval, [&] { return stopping_; });
  }
}

}  // namespace callbridge::audit
