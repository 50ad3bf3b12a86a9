#include "cluster/event_log.hpp"

#include <nats/nats.h>
#include <spdlog/spdlog.h>

#include <charconv>
#include <random>

namespace callbridge::cluster {

using base::Errc;
using base::Error;
using base::fail;

namespace {

constexpr const char* kSeqHeader = "Cb-Seq";
constexpr const char* kCountHeader = "Cb-Count";
constexpr const char* kOriginHeader = "Cb-Origin";
constexpr std::size_t kMaxRecordsPerMessage = 100'000;

std::uint64_t to_u64(const char* s) {
  if (!s) return 0;
  std::uint64_t v = 0;
  std::string_view t(s);
  auto r = std::from_chars(t.data(), t.data() + t.size(), v);
  return r.ec == std::errc() && r.ptr == t.data() + t.size() ? v : 0;
}

std::string random_instance() {
  std::random_device rd;
  std::uniform_int_distribution<std::uint64_t> d;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(d(rd)));
  return buf;
}

}  // namespace

JetStreamEventLog::JetStreamEventLog(NatsConnection& nats, EventLogOptions options, EventLogReader reader)
    : nats_(nats), options_(std::move(options)), reader_(std::move(reader)) {}

base::Result<std::unique_ptr<JetStreamEventLog>> JetStreamEventLog::open(NatsConnection& nats, EventLogOptions options,
                                                                         EventLogReader reader) {
  if (options.instance.empty()) options.instance = random_instance();
  if (options.max_batch_records == 0) options.max_batch_records = 1;
  std::unique_ptr<JetStreamEventLog> log(new JetStreamEventLog(nats, std::move(options), std::move(reader)));
  const auto& o = log->options_;
  jsCtx* js = nats.jetstream();
  const std::string subjects = o.subject_prefix + ".>";

  jsStreamInfo* si = nullptr;
  jsErrCode jerr{};
  natsStatus s = js_GetStreamInfo(&si, js, o.stream.c_str(), nullptr, &jerr);
  if (s == NATS_NOT_FOUND) {
    jsStreamConfig sc;
    jsStreamConfig_Init(&sc);
    const char* subj[] = {subjects.c_str()};
    sc.Name = o.stream.c_str();
    sc.Subjects = subj;
    sc.SubjectsLen = 1;
    sc.Storage = js_FileStorage;
    sc.Retention = js_LimitsPolicy;
    sc.Discard = js_DiscardOld;
    sc.MaxAge = std::chrono::duration_cast<std::chrono::nanoseconds>(o.max_age).count();
    sc.MaxMsgsPerSubject = o.max_msgs_per_tenant;
    // The duplicate window (retried publishes) within the age limit.
    sc.Duplicates = std::min<std::int64_t>(std::chrono::nanoseconds(std::chrono::minutes(2)).count(), sc.MaxAge);
    s = js_AddStream(&si, js, &sc, nullptr, &jerr);
    if (s != NATS_OK && jerr == JSStreamNameExistErr) s = js_GetStreamInfo(&si, js, o.stream.c_str(), nullptr, &jerr);
    if (s != NATS_OK) return fail(nats_error(Errc::unavailable, "cannot create the event stream " + o.stream, s));
    spdlog::info("cluster: created the event stream {} (subjects {}, at most {} messages per tenant, {} s)", o.stream,
                 subjects, o.max_msgs_per_tenant, o.max_age.count());
  } else if (s != NATS_OK) {
    return fail(nats_error(Errc::unavailable, "event stream " + o.stream, s));
  }
  bool subject_ok = false;
  for (int i = 0; si && si->Config && i < si->Config->SubjectsLen; ++i)
    subject_ok |= subjects == si->Config->Subjects[i];
  if (!subject_ok) {
    jsStreamInfo_Destroy(si);
    return fail(Error::invalid_argument("nats: the stream " + o.stream + " exists without the subjects " + subjects));
  }
  log->stats_.replay_until = si->State.LastSeq;
  log->stats_.caught_up = si->State.Msgs == 0;
  spdlog::info("cluster: event stream {}: {} messages ({} .. {}); reading all of them", o.stream, si->State.Msgs,
               si->State.FirstSeq, si->State.LastSeq);
  jsStreamInfo_Destroy(si);

  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Stream = o.stream.c_str();
  so.Ordered = true;
  so.Config.DeliverPolicy = js_DeliverAll;
  s = js_Subscribe(&log->sub_, js, subjects.c_str(), &JetStreamEventLog::on_msg, log.get(), nullptr, &so, &jerr);
  if (s != NATS_OK) return fail(nats_error(Errc::unavailable, "cannot read the event stream " + o.stream, s));
  natsSubscription_SetPendingLimits(log->sub_, -1, -1);  // the node reads everything; no slow-consumer drops
  log->publisher_ = std::thread([p = log.get()] { p->run(); });
  return log;
}

JetStreamEventLog::~JetStreamEventLog() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (publisher_.joinable()) publisher_.join();
  if (sub_) {
    // The reader must not run once this object is gone: wait until nats.c says the subscription's
    // last callback returned (bounded: a connection that is closing completes it too).
    const bool notified = natsSubscription_SetOnCompleteCB(sub_, &JetStreamEventLog::on_complete, this) == NATS_OK;
    natsSubscription_Unsubscribe(sub_);
    if (notified) {
      std::unique_lock lk(mu_);
      cv_.wait_for(lk, std::chrono::seconds(5), [&] { return sub_done_; });
    }
    natsSubscription_Destroy(sub_);
  }
}

void JetStreamEventLog::on_complete(void* self) {
  auto* log = static_cast<JetStreamEventLog*>(self);
  std::lock_guard lk(log->mu_);
  log->sub_done_ = true;
  log->cv_.notify_all();
}

void JetStreamEventLog::append(const base::TenantId& tenant, std::string record) {
  {
    std::lock_guard lk(mu_);
    if (stats_.queued >= options_.max_queued) {
      if (stats_.dropped++ % 1000 == 0)
        spdlog::warn("cluster: event log queue full ({} records): events of tenant {} are dropped (NATS: {})",
                     stats_.queued, tenant.str(), stats_.last_error);
      return;
    }
    auto& q = queues_[tenant.str()];
    if (q.empty()) ready_.push_back(tenant.str());
    q.push_back(std::move(record));
    ++stats_.queued;
    ++stats_.appended;
  }
  cv_.notify_one();
}

JetStreamEventLog::Stats JetStreamEventLog::stats() const {
  std::lock_guard lk(mu_);
  return stats_;
}

bool JetStreamEventLog::caught_up() const {
  std::lock_guard lk(mu_);
  return stats_.caught_up;
}

bool JetStreamEventLog::wait_stop(std::chrono::milliseconds d) {
  std::unique_lock lk(mu_);
  return cv_.wait_for(lk, d, [&] { return stop_; });
}

void JetStreamEventLog::on_msg(natsConnection*, natsSubscription*, natsMsg* msg, void* self) {
  static_cast<JetStreamEventLog*>(self)->handle(msg);
  natsMsg_Destroy(msg);
}

void JetStreamEventLog::handle(natsMsg* msg) {
  jsMsgMetaData* meta = nullptr;
  std::uint64_t stream_seq = 0, pending = 1;
  if (natsMsg_GetMetaData(&meta, msg) == NATS_OK) {
    stream_seq = meta->Sequence.Stream;
    pending = meta->NumPending;
    jsMsgMetaData_Destroy(meta);
  }
  const std::string_view subject = natsMsg_GetSubject(msg);
  const std::string_view prefix = options_.subject_prefix;
  const char *seq_h = nullptr, *count_h = nullptr, *origin_h = nullptr;
  natsMsgHeader_Get(msg, kSeqHeader, &seq_h);
  natsMsgHeader_Get(msg, kCountHeader, &count_h);
  natsMsgHeader_Get(msg, kOriginHeader, &origin_h);
  const std::uint64_t first = to_u64(seq_h), count = to_u64(count_h);
  std::string_view body(natsMsg_GetData(msg), static_cast<std::size_t>(natsMsg_GetDataLength(msg)));
  bool ok = subject.size() > prefix.size() + 1 && subject.starts_with(prefix) && subject[prefix.size()] == '.' &&
            first > 0 && count > 0 && count <= kMaxRecordsPerMessage;
  const std::string_view tenant_text = ok ? subject.substr(prefix.size() + 1) : std::string_view{};
  ok = ok && base::TenantId::valid(tenant_text);
  // The records: "<len>\n<bytes>" each, exactly `count` of them.
  std::vector<std::string_view> records;
  while (ok && !body.empty()) {
    const auto nl = body.find('\n');
    std::uint64_t n = 0;
    auto r = std::from_chars(body.data(), body.data() + (nl == std::string_view::npos ? 0 : nl), n);
    if (nl == std::string_view::npos || nl == 0 || r.ec != std::errc() || r.ptr != body.data() + nl ||
        body.size() - nl - 1 < n) {
      ok = false;
      break;
    }
    records.push_back(body.substr(nl + 1, n));
    body.remove_prefix(nl + 1 + n);
  }
  ok = ok && records.size() == count;
  const bool own = origin_h && options_.instance == origin_h;
  {
    std::lock_guard lk(mu_);
    if (stream_seq > stats_.stream_seq) stats_.stream_seq = stream_seq;
    if (stream_seq >= stats_.replay_until || pending == 0) stats_.caught_up = true;
    if (!ok) {
      ++stats_.bad;
    } else {
      const std::string t(tenant_text);
      auto& k = known_[t];
      if (!k.valid || stream_seq > k.stream_seq) k = Known{true, first + count - 1, stream_seq};
      auto& h = highest_[t];
      h = std::max(h, k.last_seq);
      stats_.received += count;
    }
  }
  if (!ok) {
    spdlog::warn("cluster: event stream message {} on {} is no batch of records; ignored", stream_seq, subject);
    return;
  }
  const base::TenantId tenant(tenant_text);
  for (std::size_t i = 0; i < records.size(); ++i) reader_(tenant, first + i, records[i], own);
}

bool JetStreamEventLog::lookup_last(const std::string& tenant, Known& out) {
  const std::string subject = options_.subject_prefix + "." + tenant;
  natsMsg* msg = nullptr;
  jsErrCode jerr{};
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Wait = options_.publish_timeout.count();
  natsStatus s = js_GetLastMsg(&msg, nats_.jetstream(), options_.stream.c_str(), subject.c_str(), &jo, &jerr);
  if (s == NATS_NOT_FOUND || jerr == JSNoMessageFoundErr) {
    std::lock_guard lk(mu_);
    // No message of the tenant in the stream (new tenant, or all aged out / the stream was lost):
    // continue after the highest number this node saw, so that no number is used twice.
    out = Known{true, highest_[tenant], 0};
    return true;
  }
  if (s != NATS_OK) {
    std::lock_guard lk(mu_);
    stats_.last_error = nats_error(Errc::unavailable, "last event of " + tenant, s).message();
    return false;
  }
  const char *seq_h = nullptr, *count_h = nullptr;
  natsMsgHeader_Get(msg, kSeqHeader, &seq_h);
  natsMsgHeader_Get(msg, kCountHeader, &count_h);
  const std::uint64_t first = to_u64(seq_h), count = to_u64(count_h);
  out = Known{true, first > 0 && count > 0 ? first + count - 1 : 0, natsMsg_GetSequence(msg)};
  natsMsg_Destroy(msg);
  return true;
}

void JetStreamEventLog::run() {
  for (;;) {
    std::string tenant;
    std::deque<std::string> batch;
    {
      std::unique_lock lk(mu_);
      cv_.wait(lk, [&] { return stop_ || !ready_.empty(); });
      if (stop_) return;
      tenant = ready_.front();
      ready_.pop_front();
      auto& q = queues_[tenant];
      std::size_t bytes = 0;
      while (!q.empty() && batch.size() < options_.max_batch_records &&
             (batch.empty() || bytes + q.front().size() <= options_.max_batch_bytes)) {
        bytes += q.front().size() + 12;
        batch.push_back(std::move(q.front()));
        q.pop_front();
      }
      stats_.queued -= batch.size();
      if (!q.empty()) ready_.push_back(tenant);  // its next batch after the other tenants'
      else queues_.erase(tenant);
    }
    publish(tenant, batch, batch.size());
  }
}

void JetStreamEventLog::publish(const std::string& tenant, std::deque<std::string>& records, std::size_t count) {
  const std::string subject = options_.subject_prefix + "." + tenant;
  std::string body;
  for (const auto& r : records) {
    body += std::to_string(r.size());
    body += '\n';
    body += r;
  }
  const std::string count_text = std::to_string(count);
  std::string msg_id;
  Known k;
  bool stamped = false;
  for (int attempt = 0;; ++attempt) {
    {
      std::lock_guard lk(mu_);
      if (stop_) return;
    }
    if (!stamped) {
      {
        std::lock_guard lk(mu_);
        k = known_[tenant];
      }
      if (!k.valid && !lookup_last(tenant, k)) {
        if (wait_stop(std::chrono::milliseconds(200))) return;
        continue;
      }
      std::lock_guard lk(mu_);
      msg_id = options_.instance + "-" + std::to_string(next_msg_id_++);
      stamped = true;
    }
    natsMsg* m = nullptr;
    natsStatus s = natsMsg_Create(&m, subject.c_str(), nullptr, body.data(), static_cast<int>(body.size()));
    const std::string first = std::to_string(k.last_seq + 1);
    const std::string expect = std::to_string(k.stream_seq);
    if (s == NATS_OK) s = natsMsgHeader_Set(m, kSeqHeader, first.c_str());
    if (s == NATS_OK) s = natsMsgHeader_Set(m, kCountHeader, count_text.c_str());
    if (s == NATS_OK) s = natsMsgHeader_Set(m, kOriginHeader, options_.instance.c_str());
    if (s == NATS_OK) s = natsMsgHeader_Set(m, "Nats-Msg-Id", msg_id.c_str());
    if (s == NATS_OK) s = natsMsgHeader_Set(m, "Nats-Expected-Last-Subject-Sequence", expect.c_str());
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = options_.publish_timeout.count();
    jsPubAck* ack = nullptr;
    jsErrCode jerr{};
    if (s == NATS_OK) s = js_PublishMsg(&ack, nats_.jetstream(), m, &po, &jerr);
    natsMsg_Destroy(m);
    if (s == NATS_OK && ack) {
      std::lock_guard lk(mu_);
      auto& kn = known_[tenant];
      // The reader may have seen it (or later ones) already: never move back.
      if (!kn.valid || kn.stream_seq < ack->Sequence) kn = Known{true, k.last_seq + count, ack->Sequence};
      auto& h = highest_[tenant];
      h = std::max(h, k.last_seq + count);
      stats_.published += count;
      ++stats_.batches;
      jsPubAck_Destroy(ack);
      return;
    }
    if (ack) jsPubAck_Destroy(ack);
    if (jerr == JSStreamWrongLastSequenceErr) {
      // Another node published to the tenant first: number the batch after its message.
      std::lock_guard lk(mu_);
      ++stats_.conflicts;
      known_[tenant].valid = false;
      stamped = false;
      continue;
    }
    {
      std::lock_guard lk(mu_);
      ++stats_.retries;
      stats_.last_error = nats_error(Errc::unavailable, "publish to " + subject, s).message();
      if (attempt % 50 == 0)
        spdlog::warn("cluster: events of tenant {} not published yet: {}; retrying", tenant, stats_.last_error);
    }
    if (wait_stop(std::chrono::milliseconds(std::min(50 * (attempt + 1), 500)))) return;
  }
}

}  // namespace callbridge::cluster
