// Tests of torq/hw/isolation.hpp: cpu-list parsing, kernel command line, sysfs detection.
#include "torq/hw/isolation.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace torq::hw {
namespace {

using V = std::vector<int>;

TEST(CpuList, ShouldParseSinglesAndRanges) {
  const auto r = parse_cpu_list("2-5,8,10-11");
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.cpus, (V{2, 3, 4, 5, 8, 10, 11}));
}

TEST(CpuList, ShouldTreatEmptyAndBlankTextAsEmptyValidList) {
  for (const char* s : {"", "\n", "  \t\n"}) {
    const auto r = parse_cpu_list(s);
    EXPECT_TRUE(r.ok()) << '"' << s << "\": " << r.error;
    EXPECT_TRUE(r.cpus.empty());
  }
}

TEST(CpuList, ShouldIgnoreTrailingNewlineAsInSysfsFiles) {
  const auto r = parse_cpu_list("0-1\n");
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.cpus, (V{0, 1}));
}

TEST(CpuList, ShouldSortAndDeduplicateOverlappingItems) {
  const auto r = parse_cpu_list("9,3-6,5,4-7,0");
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.cpus, (V{0, 3, 4, 5, 6, 7, 9}));
}

TEST(CpuList, ShouldAcceptSingleElementRange) {
  const auto r = parse_cpu_list("7-7");
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.cpus, (V{7}));
}

TEST(CpuList, ShouldExpandGroupedRanges) {
  // Kernel syntax: in each group of 4 starting at 0, take the first 2.
  const auto r = parse_cpu_list("0-11:2/4");
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.cpus, (V{0, 1, 4, 5, 8, 9}));
}

TEST(CpuList, ShouldExpandLastCpuSymbolOnlyWhenCpuCountKnown) {
  const auto with = parse_cpu_list("2-N", 8);
  ASSERT_TRUE(with.ok()) << with.error;
  EXPECT_EQ(with.cpus, (V{2, 3, 4, 5, 6, 7}));
  EXPECT_FALSE(parse_cpu_list("2-N").ok());
}

TEST(CpuList, ShouldRejectMalformedInputWithAnErrorAndNoCpus) {
  const char* bad[] = {"1,,2", ",1", "1,", "5-2", "-3", "2-", "-", "a", "1a", "1 2", "1, 2", "+1",
                       "0x3", "1-3-5", "3:1/2", "0-7:0/4", "0-7:5/4", "0-7:2", "0-7:2/", "0-7:/4",
                       "99999", "0-4000000000", "1.5"};
  for (const char* s : bad) {
    const auto r = parse_cpu_list(s);
    EXPECT_FALSE(r.ok()) << "accepted \"" << s << '"';
    EXPECT_TRUE(r.cpus.empty()) << s;
  }
}

TEST(CpuList, ShouldAcceptLargestAllowedCpuNumber) {
  const auto r = parse_cpu_list(std::to_string(kMaxCpuNumber));
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.cpus, (V{kMaxCpuNumber}));
}

TEST(CpuList, ShouldFormatCompactlyAndRoundTrip) {
  EXPECT_EQ(format_cpu_list({8, 2, 3, 4, 5, 10, 11, 3}), "2-5,8,10-11");
  EXPECT_EQ(format_cpu_list({}), "");
  EXPECT_EQ(format_cpu_list({0}), "0");
  const V cpus{0, 1, 2, 7, 9, 10, 63, 64};
  EXPECT_EQ(parse_cpu_list(format_cpu_list(cpus)).cpus, cpus);
}

TEST(KernelCmdline, ShouldExtractIsolationParametersWithFlags) {
  const auto k = parse_kernel_cmdline(
      "BOOT_IMAGE=/vmlinuz root=/dev/sda1 isolcpus=nohz,domain,managed_irq,2-5 nohz_full=2-5 rcu_nocbs=2-5,7 quiet\n");
  ASSERT_TRUE(k.isolcpus.present);
  EXPECT_EQ(k.isolcpus.flags, (std::vector<std::string>{"nohz", "domain", "managed_irq"}));
  EXPECT_EQ(k.isolcpus.list.cpus, (V{2, 3, 4, 5}));
  ASSERT_TRUE(k.nohz_full.present);
  EXPECT_EQ(k.nohz_full.list.cpus, (V{2, 3, 4, 5}));
  ASSERT_TRUE(k.rcu_nocbs.present);
  EXPECT_EQ(k.rcu_nocbs.list.cpus, (V{2, 3, 4, 5, 7}));
}

TEST(KernelCmdline, ShouldReportAbsentParametersAsNotPresent) {
  const auto k = parse_kernel_cmdline("console=ttyS0 quiet nohz=on");
  EXPECT_FALSE(k.isolcpus.present);
  EXPECT_FALSE(k.nohz_full.present);
  EXPECT_FALSE(k.rcu_nocbs.present);
}

TEST(KernelCmdline, ShouldIgnoreParametersAfterDoubleDashAndPrefixLookalikes) {
  const auto k = parse_kernel_cmdline("xisolcpus=1 isolcpus_foo=2 quiet -- isolcpus=3 nohz_full=3");
  EXPECT_FALSE(k.isolcpus.present);
  EXPECT_FALSE(k.nohz_full.present);
}

TEST(KernelCmdline, ShouldLetLastOccurrenceWin) {
  const auto k = parse_kernel_cmdline("nohz_full=1 nohz_full=3-4");
  EXPECT_EQ(k.nohz_full.list.cpus, (V{3, 4}));
  EXPECT_EQ(k.nohz_full.raw, "3-4");
}

TEST(KernelCmdline, ShouldFlagMalformedValueButKeepIt) {
  const auto k = parse_kernel_cmdline("isolcpus=domain,4-2");
  ASSERT_TRUE(k.isolcpus.present);
  EXPECT_FALSE(k.isolcpus.list.ok());
  EXPECT_EQ(k.isolcpus.raw, "domain,4-2");
}

TEST(KernelCmdline, ShouldExpandAllWhenCpuCountKnown) {
  EXPECT_EQ(parse_kernel_cmdline("rcu_nocbs=all", 4).rcu_nocbs.list.cpus, (V{0, 1, 2, 3}));
  EXPECT_FALSE(parse_kernel_cmdline("rcu_nocbs=all").rcu_nocbs.list.ok());
  const auto bare = parse_kernel_cmdline("rcu_nocbs");
  EXPECT_TRUE(bare.rcu_nocbs.present);
  EXPECT_TRUE(bare.rcu_nocbs.list.ok());
}

class FakeSysfs : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/torq-hw-isolation-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    std::filesystem::create_directories(root_ / "sys/devices/system/cpu");
    std::filesystem::create_directories(root_ / "proc");
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  void write(const std::string& rel, const std::string& text) { std::ofstream(root_ / rel) << text; }
  IsolationInfo detect() { return detect_isolation((root_ / "sys").string(), (root_ / "proc").string()); }
  std::filesystem::path root_;
};

TEST_F(FakeSysfs, ShouldReadIsolatedNohzAndCmdlineFromTheTree) {
  write("sys/devices/system/cpu/online", "0-7\n");
  write("sys/devices/system/cpu/isolated", "2-5\n");
  write("sys/devices/system/cpu/nohz_full", "3-5\n");
  write("proc/cmdline", "root=/dev/vda isolcpus=2-5 nohz_full=3-5 rcu_nocbs=4-N\n");
  const auto info = detect();
  EXPECT_TRUE(info.warnings.empty()) << info.warnings.front();
  EXPECT_EQ(info.online, (V{0, 1, 2, 3, 4, 5, 6, 7}));
  EXPECT_EQ(info.isolated, (V{2, 3, 4, 5}));
  EXPECT_EQ(info.nohz_full, (V{3, 4, 5}));
  EXPECT_TRUE(info.is_isolated(2));
  EXPECT_FALSE(info.is_isolated(6));
  EXPECT_FALSE(info.is_nohz_full(2));
  EXPECT_EQ(info.cmdline.rcu_nocbs.list.cpus, (V{4, 5, 6, 7}));  // N expanded from `online`
  EXPECT_EQ(info.fully_isolated(), (V{4, 5}));
}

TEST_F(FakeSysfs, ShouldDegradeGracefullyOnAnUntunedVm) {
  write("sys/devices/system/cpu/online", "0-1\n");
  write("sys/devices/system/cpu/isolated", "\n");
  write("proc/cmdline", "console=ttyS0 quiet\n");  // and no nohz_full file at all
  const auto info = detect();
  EXPECT_TRUE(info.warnings.empty());
  EXPECT_TRUE(info.isolated_file_present);
  EXPECT_FALSE(info.nohz_full_file_present);
  EXPECT_TRUE(info.isolated.empty());
  EXPECT_TRUE(info.nohz_full.empty());
  EXPECT_TRUE(info.fully_isolated().empty());
}

TEST_F(FakeSysfs, ShouldWarnAboutMalformedOrMissingFiles) {
  write("sys/devices/system/cpu/online", "0-1\n");
  write("sys/devices/system/cpu/isolated", "1-0\n");
  const auto info = detect();  // no proc/cmdline
  EXPECT_TRUE(info.isolated.empty());
  ASSERT_EQ(info.warnings.size(), 2u);
  EXPECT_NE(info.warnings[0].find("isolated"), std::string::npos);
  EXPECT_NE(info.warnings[1].find("cmdline"), std::string::npos);
}

TEST(IsolationOnThisHost, ShouldListOnlyOnlineCpusAsIsolated) {
  const auto info = detect_isolation();
  ASSERT_FALSE(info.online.empty());
  for (int c : info.isolated) EXPECT_TRUE(std::binary_search(info.online.begin(), info.online.end(), c)) << c;
  for (int c : info.nohz_full) EXPECT_TRUE(std::binary_search(info.online.begin(), info.online.end(), c)) << c;
}

}  // namespace
}  // namespace torq::hw
