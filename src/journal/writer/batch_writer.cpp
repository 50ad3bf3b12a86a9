#include "journal/writer/batch_writer.hpp"

#include <spdlog/spdlog.h>

#include "model/journal_entry.hpp"

namespace callbridge::journal {

JournalBatchWriter::JournalBatchWriter(Options options, WriteFn write)
    : options_(std::move(options)), write_(std::move(write)), thread_([this] { run(); }) {}

JournalBatchWriter::~JournalBatchWriter() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  wake_writer_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void JournalBatchWriter::append(model::JournalEntry entry) { enqueue(JournalWrite{std::move(entry), std::nullopt}, true); }

void JournalBatchWriter::put_state(std::string scope, std::string key, std::string text) {
  JournalWrite w;
  w.state = JournalWrite::StateRow{std::move(scope), std::move(key), std::move(text)};
  enqueue(std::move(w), false);
}

void JournalBatchWriter::enqueue(JournalWrite w, bool is_entry) {
  {
    std::lock_guard lk(mu_);
    if (queue_.size() >= options_.max_queued) {
      if (dropped_++ % 1000 == 0)
        spdlog::error("{}: write queue full ({} writes); dropping entries", options_.location, queue_.size());
      return;
    }
    queue_.push_back(std::move(w));
    if (is_entry) ++appended_;
    ++writes_queued_;
    // The writer waits for the first write of an empty queue, or (group commit) for a full
    // batch; while it writes, it finds the rest under the lock: no wake-up per write.
    if (queue_.size() != 1 && queue_.size() != options_.max_batch) return;
  }
  wake_writer_.notify_one();
}

base::Status JournalBatchWriter::flush() {
  std::unique_lock lk(mu_);
  const auto target = writes_queued_;
  const auto attempts = failed_attempts_;
  ++flushes_waiting_;
  wake_writer_.notify_one();
  committed_cv_.wait(lk, [&] { return writes_committed_ >= target || failed_attempts_ != attempts; });
  --flushes_waiting_;
  if (writes_committed_ >= target) return {};
  return base::fail(base::Error::io(options_.location + ": write failed: " + last_error_));
}

bool JournalBatchWriter::set_on_committed(ports::JournalStore::CommittedFn fn) {
  std::lock_guard lk(mu_);
  on_committed_ = std::move(fn);
  return true;
}

JournalWriterStats JournalBatchWriter::stats() const {
  std::lock_guard lk(mu_);
  return JournalWriterStats{appended_, committed_, dropped_, write_errors_, queue_.size(), last_write_failed_, skipped_};
}

void JournalBatchWriter::run() {
  std::unique_lock lk(mu_);
  for (;;) {
    wake_writer_.wait(lk, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) break;  // stopping and drained
    if (options_.min_commit_interval.count() > 0) {
      // Group commit (Options::min_commit_interval): let the writes of the next moments join.
      wake_writer_.wait_until(lk, last_commit_ + options_.min_commit_interval, [&] {
        return stopping_ || flushes_waiting_ > 0 || queue_.size() >= options_.max_batch;
      });
    }
    std::deque<JournalWrite> batch;
    if (queue_.size() <= options_.max_batch) {
      batch.swap(queue_);  // O(1) under the lock: append() never waits for a batch to be copied
    } else {
      for (std::size_t i = 0; i < options_.max_batch; ++i) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    lk.unlock();
    std::vector<std::int64_t> ids;
    auto st = write_(batch, ids);
    lk.lock();
    last_write_failed_ = !st;
    if (st) {
      last_commit_ = std::chrono::steady_clock::now();
      std::size_t entries = 0;
      for (const auto& w : batch) entries += w.state ? 0 : 1;
      if (on_committed_ && entries > 0 && ids.size() == entries) {
        // Before committed_ moves: whoever flush()es has also seen the entries handed on.
        auto fn = on_committed_;
        std::vector<ports::StoredEntry> done;
        done.reserve(entries);
        std::size_t i = 0;
        for (auto& w : batch) {
          if (w.state) continue;
          // Id 0: the store had this entry already (its idempotent key) and did not write it again.
          if (const auto id = ids[i++]; id != 0) done.push_back({id, std::move(*w.entry), std::move(w.resolved)});
        }
        lk.unlock();
        if (!done.empty()) fn(std::move(done));
        lk.lock();
      }
      for (auto id : ids) skipped_ += id == 0 ? 1 : 0;
      committed_ += entries;
      writes_committed_ += batch.size();
      committed_cv_.notify_all();
      continue;
    }
    ++write_errors_;
    ++failed_attempts_;
    last_error_ = st.error().message();
    spdlog::error("{} ({} entries pending; retrying)", last_error_, batch.size() + queue_.size());
    // Keep order: the failed batch goes back in front of what arrived meanwhile.
    for (auto it = batch.rbegin(); it != batch.rend(); ++it) queue_.push_front(std::move(*it));
    committed_cv_.notify_all();
    if (stopping_) {
      // The disk stays unwritable (full, read-only) until the end: what cannot be written is
      // not dropped silently. Each entry goes to the log as its JSON line, so it can be
      // recovered from there (the open-call state rows are rebuilt from the PBX on the next start).
      std::size_t entries = 0;
      for (const auto& w : queue_) entries += w.entry ? 1 : 0;
      spdlog::error("{}: shutting down with {} unwritten entries (and {} open-call state rows); the entries follow",
                    options_.location, entries, queue_.size() - entries);
      for (const auto& w : queue_) {
        if (w.entry) spdlog::error("{}: unwritten entry: {}", options_.location, model::to_json_line(*w.entry));
      }
      break;
    }
    wake_writer_.wait_for(lk, options_.retry_interval, [&] { return stopping_; });
  }
}

}  // namespace callbridge::journal
