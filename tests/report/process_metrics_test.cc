// The process metrics: /proc/<pid>/stat parsed as proc(5) says, and this process's own figures.
#include "engine/report/process_metrics.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cmath>

namespace amtsweg::report {
namespace {

// A stat line whose command name holds spaces and a ')' (proc(5): the fields start after the
// last ')'). utime 250 + stime 50 ticks, starttime 1000 ticks, vsize 123456789, rss 300 pages.
constexpr char kStat[] =
    "4242 (amts weg) x) S 1 4242 4242 0 -1 4194560 500 0 0 0 250 50 0 0 20 0 3 0 1000 123456789 "
    "300 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";

TEST(ProcessMetrics, ParsesTheFieldsAfterTheCommandName) {
  ProcessFigures f;
  ASSERT_TRUE(ParseProcStat(kStat, 100, 4096, 1767225600, &f).ok());
  EXPECT_DOUBLE_EQ(f.cpu_seconds, 3.0);
  EXPECT_DOUBLE_EQ(f.start_time_seconds, 1767225610.0);
  EXPECT_EQ(f.virtual_bytes, 123456789u);
  EXPECT_EQ(f.resident_bytes, 300u * 4096u);
}

TEST(ProcessMetrics, RefusesALineThatIsNotAStatLine) {
  ProcessFigures f;
  Status no_name = ParseProcStat("4242 amtsweg S 1", 100, 4096, 0, &f);
  EXPECT_EQ(no_name.code(), Status::Code::kInvalidArgument);
  Status short_line = ParseProcStat("4242 (amtsweg) S 1 2 3", 100, 4096, 0, &f);
  EXPECT_EQ(short_line.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(short_line.message().find("field 14 (utime)"), std::string::npos)
      << short_line.ToString();
  std::string bad = kStat;
  bad.replace(bad.find(" 1000 "), 6, " 1e3 ");
  Status not_number = ParseProcStat(bad, 100, 4096, 0, &f);
  EXPECT_NE(not_number.message().find("field 22 (starttime)"), std::string::npos)
      << not_number.ToString();
}

TEST(ProcessMetrics, ReadsThisProcesssFigures) {
  Result<ProcessFigures> before = ReadProcessFigures();
  ASSERT_TRUE(before.ok()) << before.status().ToString();
  EXPECT_GT(before->resident_bytes, 0u);
  EXPECT_GE(before->virtual_bytes, before->resident_bytes);
  ASSERT_TRUE(before->open_fds.has_value());
  // Started before now, and (a test process) within the last day.
  double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  EXPECT_LE(before->start_time_seconds, now + 1);
  EXPECT_GT(before->start_time_seconds, now - 86400);

  // One more open file is one more descriptor.
  int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  Result<ProcessFigures> opened = ReadProcessFigures();
  close(fd);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(*opened->open_fds, *before->open_fds + 1);
  if (opened->max_fds.has_value()) {
    EXPECT_GE(*opened->max_fds, *opened->open_fds);
  }

  // CPU time grows while this thread computes (a tick is 10 ms; the deadline bounds the wait).
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  double cpu = before->cpu_seconds;
  volatile double sink = 0;
  while (cpu <= before->cpu_seconds && std::chrono::steady_clock::now() < deadline) {
    for (int i = 0; i < 1000000; ++i)
      sink = sink + std::sqrt(static_cast<double>(i));
    Result<ProcessFigures> now_figures = ReadProcessFigures();
    ASSERT_TRUE(now_figures.ok());
    cpu = now_figures->cpu_seconds;
  }
  EXPECT_GT(cpu, before->cpu_seconds) << "no CPU time counted within 20 s";
}

}  // namespace
}  // namespace amtsweg::report
