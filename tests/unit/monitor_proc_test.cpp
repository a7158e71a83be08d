// ProcReader on a made-up /proc, and the point between two readings: every group read,
// shares and rates computed as docs/monitoring.md says, resets and odd files handled.
#include "monitor/proc_reader.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fake_proc.hpp"
#include "test_folder.hpp"

namespace bm::monitor {
namespace {

using ::testing::DoubleNear;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;
using testing::FakeProc;

class Proc : public ::testing::Test {
 protected:
  bm::testing::TestFolder folder_{"monitor_proc_test"};
  FakeProc proc_{folder_.path()};
};

TEST_F(Proc, ReadsEveryGroup) {
  proc_.cores[0] = {10, 1, 2, 100, 3, 0.5, 0.5, 0.25};
  proc_.cores[1] = {20, 0, 4, 200, 0, 0, 0, 0};
  proc_.write();
  std::string error;
  const std::optional<HostCounters> c = ProcReader(proc_.root(), {}).read(42, &error);
  ASSERT_TRUE(c) << error;
  EXPECT_EQ(c->t_us, 42);
  ASSERT_TRUE(c->cpu);
  EXPECT_NEAR(c->cpu->user, 30, 0.02);
  EXPECT_NEAR(c->cpu->idle, 300, 0.02);
  EXPECT_NEAR(c->cpu->steal, 0.25, 0.02);
  ASSERT_EQ(c->cores.size(), 2u);
  EXPECT_NEAR(c->cores[1].system, 4, 0.02);
  ASSERT_TRUE(c->load);
  EXPECT_THAT(*c->load, ElementsAre(0.5, 0.25, 0.125));
  ASSERT_TRUE(c->memory);
  EXPECT_EQ(c->memory->total, 4ull << 30);
  EXPECT_EQ(c->memory->available, 3ull << 30);
  EXPECT_EQ(c->memory->used, 1ull << 30);
  EXPECT_EQ(c->memory->buffers, 1024u * 1024);
  EXPECT_EQ(c->memory->swap_used, 512u * 1024);
  // Every interface but lo by default.
  ASSERT_EQ(c->interfaces.size(), 1u);
  EXPECT_EQ(c->interfaces.at("eth0").rx_bytes, 50u);
  EXPECT_EQ(c->interfaces.at("eth0").tx_errors, 2u);
  // Whole disks only: sda, not sda1 or loop0; sectors of 512 bytes.
  ASSERT_TRUE(c->disk);
  EXPECT_EQ(c->disk->reads, 1u);
  EXPECT_EQ(c->disk->read_bytes, 8u * 512);
  EXPECT_EQ(c->disk->write_bytes, 16u * 512);
  // IPv4 and IPv6 tables together.
  EXPECT_THAT(c->tcp, ElementsAre(Pair("established", 3), Pair("listen", 1), Pair("time_wait", 1)));
}

TEST_F(Proc, WatchesOnlyTheInterfacesNamed) {
  proc_.write();
  std::string error;
  const std::optional<HostCounters> c = ProcReader(proc_.root(), {"lo"}).read(1, &error);
  ASSERT_TRUE(c) << error;
  ASSERT_EQ(c->interfaces.size(), 1u);
  EXPECT_EQ(c->interfaces.at("lo").tx_bytes, 2000u);
  EXPECT_THAT(ProcReader(proc_.root(), {}).available_interfaces(&error), ElementsAre("lo", "eth0"));
}

TEST_F(Proc, MissingOrBrokenFilesGiveOneLine) {
  proc_.write();
  std::string error;
  proc_.put("stat", "cpu 1 2 x 4\n");
  EXPECT_FALSE(ProcReader(proc_.root(), {}).read(1, &error));
  EXPECT_THAT(error, HasSubstr("stat: cannot read the line 'cpu 1 2 x 4'"));
  proc_.remove("stat");
  EXPECT_FALSE(ProcReader(proc_.root(), {}).read(1, &error));
  EXPECT_THAT(error, HasSubstr("stat: cannot read: No such file or directory"));
  // The optional groups are left out quietly.
  proc_.write();
  proc_.remove("diskstats");
  proc_.remove("net/tcp");
  proc_.remove("net/tcp6");
  const std::optional<HostCounters> c = ProcReader(proc_.root(), {}).read(1, &error);
  ASSERT_TRUE(c) << error;
  EXPECT_FALSE(c->disk);
  EXPECT_TRUE(c->tcp.empty());
}

TEST_F(Proc, PointBetweenTwoReadingsHasSharesAndRates) {
  ProcReader reader(proc_.root(), {"eth0"});
  proc_.cores[0] = {10, 0, 0, 10, 0, 0, 0, 0};
  proc_.cores[1] = {10, 0, 0, 10, 0, 0, 0, 0};
  proc_.write();
  std::string error;
  const std::optional<HostCounters> a = reader.read(1'000'000, &error);
  ASSERT_TRUE(a) << error;
  // Over 2 s: core 0 spends 1 s user + 0.5 nice + 0.5 system; core 1 1 s iowait, 1 s idle.
  proc_.cores[0] = {11, 0.5, 0.5, 10, 0, 0, 0, 0};
  proc_.cores[1] = {10, 0, 0, 11, 1, 0, 0, 0};
  proc_.eth_rx += 2000;
  proc_.eth_tx += 4000;
  proc_.sda_sectors_read += 4;
  proc_.sda_reads += 2;
  proc_.write();
  const std::optional<HostCounters> b = reader.read(3'000'000, &error);
  ASSERT_TRUE(b) << error;
  const stats::MonitorPoint p = point_between(*a, *b);
  EXPECT_EQ(p.t_us, 3'000'000);
  EXPECT_EQ(p.interval_us, 2'000'000);
  ASSERT_TRUE(p.cpu);
  EXPECT_NEAR(p.cpu->user, 0.375, 0.01);   // 1.5 of 4 core-seconds
  EXPECT_NEAR(p.cpu->system, 0.125, 0.01);
  EXPECT_NEAR(p.cpu->iowait, 0.25, 0.01);
  EXPECT_NEAR(p.cpu->idle, 0.25, 0.01);
  EXPECT_NEAR(p.cpu->user + p.cpu->system + p.cpu->iowait + p.cpu->steal + p.cpu->idle, 1.0, 1e-9);
  EXPECT_THAT(p.cores, ElementsAre(DoubleNear(1.0, 0.01), DoubleNear(0.0, 0.01)));
  ASSERT_TRUE(p.network);
  EXPECT_DOUBLE_EQ(p.network->rx_bytes, 1000);
  EXPECT_DOUBLE_EQ(p.network->tx_bytes, 2000);
  ASSERT_TRUE(p.disk);
  EXPECT_DOUBLE_EQ(p.disk->read_bytes, 1024);
  EXPECT_DOUBLE_EQ(p.disk->reads, 1);
  EXPECT_EQ(p.memory, b->memory);
  EXPECT_EQ(p.tcp, b->tcp);
}

TEST_F(Proc, ACounterThatWentDownCountsFromZero) {
  HostCounters a, b;
  a.t_us = 0;
  b.t_us = 1'000'000;
  a.interfaces["eth0"].rx_bytes = 5000;
  b.interfaces["eth0"].rx_bytes = 300;  // the interface was reset
  const stats::MonitorPoint p = point_between(a, b);
  ASSERT_TRUE(p.network);
  EXPECT_DOUBLE_EQ(p.network->rx_bytes, 300);
  EXPECT_FALSE(p.cpu);  // neither reading had CPU times
}

TEST(WholeDisk, FollowsNodeExportersRule) {
  for (const char* disk : {"sda", "vdb", "nvme0n1", "dm-0", "md0", "mmcblk0", "xvda"}) EXPECT_TRUE(is_whole_disk(disk)) << disk;
  for (const char* part : {"sda1", "vdb2", "nvme0n1p1", "mmcblk0p2", "loop0", "ram1", "zram0", "fd0", "xvda1"}) {
    EXPECT_FALSE(is_whole_disk(part)) << part;
  }
}

}  // namespace
}  // namespace bm::monitor
