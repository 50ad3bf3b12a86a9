// cluster_lease_probe URL NODE KEY TTL_MS RENEW_MS MARGIN_MS: holds KEY's lease like a callbridged
// node would (tests of src/cluster in their own processes: SIGSTOP, kill -9). Prints, one line
// each, with the monotonic clock in nanoseconds (shared by every process of the machine):
//   ready <instance>            connected, contending
//   gained <t> <token>          a term began
//   lost <t> <token> <reason>   it ended
//   act <t> <token>             every 5 ms while the fence is valid: what an owner would do
// Runs until killed.
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>

#include "cluster/lease_manager.hpp"
#include "cluster/nats_connection.hpp"

using namespace callbridge::cluster;
using std::chrono::milliseconds;

namespace {
std::mutex out_mu;
long long mono_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

int main(int argc, char** argv) {
  if (argc != 7) {
    std::fprintf(stderr, "usage: %s URL NODE KEY TTL_MS RENEW_MS MARGIN_MS\n", argv[0]);
    return 2;
  }
  setvbuf(stdout, nullptr, _IOLBF, 0);
  NatsOptions no;
  no.url = argv[1];
  no.name = argv[2];
  no.request_timeout = milliseconds(300);
  auto nats = NatsConnection::connect(no);
  if (!nats) {
    std::printf("error %s\n", nats.error().to_string().c_str());
    return 1;
  }
  LeaseOptions lo;
  lo.node = argv[2];
  lo.ttl = milliseconds(std::atoi(argv[4]));
  lo.renew_every = milliseconds(std::atoi(argv[5]));
  lo.margin = milliseconds(std::atoi(argv[6]));
  if (auto st = check_lease_options(lo, no.request_timeout); !st) {
    std::printf("error %s\n", st.error().to_string().c_str());
    return 1;
  }
  auto bucket = (*nats)->key_value(lo.bucket, lo.ttl);
  if (!bucket) {
    std::printf("error %s\n", bucket.error().to_string().c_str());
    return 1;
  }
  LeaseManager leases(**nats, **bucket, lo, [](const LeaseChange& c) {
    std::lock_guard lk(out_mu);
    if (c.gained)
      std::printf("gained %lld %llu\n", mono_ns(), static_cast<unsigned long long>(c.token));
    else
      std::printf("lost %lld %llu %s\n", mono_ns(), static_cast<unsigned long long>(c.token), c.reason.c_str());
  });
  auto fence = leases.want(argv[3]);
  {
    std::lock_guard lk(out_mu);
    std::printf("ready %s\n", leases.instance().c_str());
  }
  for (;;) {
    auto t = mono_ns();
    if (fence->valid()) {
      std::lock_guard lk(out_mu);
      std::printf("act %lld %llu\n", t, static_cast<unsigned long long>(fence->token()));
    }
    std::this_thread::sleep_for(milliseconds(5));
  }
}
