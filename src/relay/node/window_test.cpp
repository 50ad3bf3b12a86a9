#include "relay/node/window.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace callbridge::relay::node {
namespace {

wire::ClientId client(std::uint8_t n) {
  wire::ClientId id{};
  id[0] = n;
  return id;
}

struct Frame {
  wire::FrameHeader h;
  FrameBytes bytes;
};

Frame frame(std::uint8_t c, std::uint64_t seq, std::uint64_t tag = 0, bool end = false, std::size_t size = 10) {
  wire::FrameHeader h;
  h.client = client(c);
  h.seq = seq;
  h.call_tag = tag;
  h.flags = end ? wire::kFlagCallEnd : 0;
  return {h, std::make_shared<const std::string>(wire::encode_frame(h, std::string(size, 'x')))};
}

std::vector<std::uint64_t> seqs(const Window& w, std::uint8_t c, std::uint64_t since = 0) {
  std::vector<std::uint64_t> out;
  w.for_client(client(c), since, [&](const wire::FrameHeader& h, const FrameBytes&) { out.push_back(h.seq); });
  return out;
}

const Clock::time_point t0{};

Window::Added add(Window& w, const Frame& f, Clock::time_point at = t0) { return w.add(f.h, f.bytes, at); }

TEST(RelayWindow, KeepsFramesPerClientInOrderAndResumesAfterSince) {
  Window w(WindowLimits{});
  for (std::uint64_t s = 1; s <= 5; ++s) add(w, frame(1, s));
  add(w, frame(2, 100));
  EXPECT_EQ(seqs(w, 1), (std::vector<std::uint64_t>{1, 2, 3, 4, 5}));
  EXPECT_EQ(seqs(w, 1, 3), (std::vector<std::uint64_t>{4, 5}));
  EXPECT_EQ(seqs(w, 2), (std::vector<std::uint64_t>{100}));
  EXPECT_TRUE(seqs(w, 3).empty());
  EXPECT_EQ(w.frames(), 6u);
  EXPECT_EQ(w.newest_seq(client(1)), 5u);
  EXPECT_EQ(w.newest_seq(client(9)), 0u);
}

TEST(RelayWindow, RefusesDuplicatesAndOldSeqs) {
  Window w(WindowLimits{});
  EXPECT_EQ(add(w, frame(1, 5)), Window::Added::added);
  EXPECT_EQ(add(w, frame(1, 5)), Window::Added::duplicate);
  EXPECT_EQ(add(w, frame(1, 4)), Window::Added::duplicate);
  EXPECT_EQ(add(w, frame(2, 4)), Window::Added::added);  // another client's numbering
  EXPECT_EQ(add(w, frame(1, 6)), Window::Added::added);
  EXPECT_EQ(w.frames(), 3u);
}

TEST(RelayWindow, CallEndDropsTheCallsEarlierFrames) {
  Window w(WindowLimits{});
  add(w, frame(1, 1, 7));
  add(w, frame(2, 1, 7));
  add(w, frame(1, 2, 8));
  add(w, frame(1, 3, 0));
  add(w, frame(1, 4, 7, true));
  EXPECT_EQ(seqs(w, 1), (std::vector<std::uint64_t>{2, 3, 4}));  // the call_end frame stays
  EXPECT_TRUE(seqs(w, 2).empty());
  EXPECT_EQ(w.call_end_dropped(), 2u);
  // A client resuming from before a removed frame cannot be served whole (it resumes its streams
  // from the edge's API); from after it, it can.
  EXPECT_TRUE(w.gap_after(client(1), 0));
  EXPECT_FALSE(w.gap_after(client(1), 1));
  EXPECT_FALSE(w.gap_after(client(1), 3));
  EXPECT_TRUE(w.gap_after(client(2), 0));
  EXPECT_FALSE(w.gap_after(client(2), 1));
  // Frames replayed by the edge after the call ended are duplicates, not back in the window.
  EXPECT_EQ(add(w, frame(1, 1, 7)), Window::Added::duplicate);
  EXPECT_EQ(w.bytes(), 3 * (wire::kHeaderSize + 10));
}

TEST(RelayWindow, BoundsEvictOldestAndReportAGap) {
  Window w(WindowLimits{.max_frames = 3, .max_bytes = 1 << 20});
  for (std::uint64_t s = 1; s <= 5; ++s) add(w, frame(1, s));
  EXPECT_EQ(seqs(w, 1), (std::vector<std::uint64_t>{3, 4, 5}));
  EXPECT_EQ(w.evicted(), 2u);
  EXPECT_TRUE(w.gap_after(client(1), 0));
  EXPECT_TRUE(w.gap_after(client(1), 1));
  EXPECT_FALSE(w.gap_after(client(1), 2));
  EXPECT_FALSE(w.gap_after(client(2), 0));

  Window b(WindowLimits{.max_frames = 100, .max_bytes = 3 * (wire::kHeaderSize + 10)});
  for (std::uint64_t s = 1; s <= 4; ++s) add(b, frame(1, s));
  EXPECT_EQ(b.frames(), 3u);
  EXPECT_LE(b.bytes(), 3 * (wire::kHeaderSize + 10));
  // One frame larger than the byte bound leaves nothing behind.
  add(b, frame(1, 9, 0, false, 1000));
  EXPECT_EQ(b.frames(), 0u);
  EXPECT_EQ(b.bytes(), 0u);
}

TEST(RelayWindow, ExpiresByAge) {
  Window w(WindowLimits{.max_age = std::chrono::seconds(10)});
  add(w, frame(1, 1), t0);
  add(w, frame(1, 2), t0 + std::chrono::seconds(5));
  w.expire(t0 + std::chrono::seconds(10));
  EXPECT_EQ(w.frames(), 2u);
  w.expire(t0 + std::chrono::seconds(11));
  EXPECT_EQ(seqs(w, 1), (std::vector<std::uint64_t>{2}));
  w.expire(t0 + std::chrono::seconds(16));
  EXPECT_EQ(w.frames(), 0u);
  EXPECT_TRUE(w.gap_after(client(1), 1));
}

TEST(RelayWindow, RemembersABoundedNumberOfClients) {
  Window w(WindowLimits{.max_frames = 2, .max_clients = 4});
  for (std::uint8_t c = 1; c <= 50; ++c) add(w, frame(c, 1));
  EXPECT_EQ(w.frames(), 2u);
  // The clients with kept frames are still known; forgotten ones would be accepted again.
  EXPECT_EQ(w.newest_seq(client(50)), 1u);
  EXPECT_EQ(add(w, frame(50, 1)), Window::Added::duplicate);
}

}  // namespace
}  // namespace callbridge::relay::node
