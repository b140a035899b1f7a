// LatencyHistogram: processing latency with fixed buckets, for the /metrics histogram.
//
// The engine loop (or its progress callback, see BatchLatencyRecorder) observes durations; a
// metrics scrape reads a consistent snapshot. Observe() and Read() are thread-safe and may run
// concurrently; the histogram is neither copyable nor movable.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>

#include "engine/core/engine_stats.h"

namespace amtsweg::report {

class LatencyHistogram {
 public:
  // Upper bounds of the buckets in seconds, ascending; a last, implicit bucket is +Inf.
  static constexpr std::array<double, 12> kBounds = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                     0.1,   0.25,   0.5,   1.0,  2.5,   5.0};

  struct Snapshot {
    // cumulative[i]: observations <= kBounds[i]; cumulative[kBounds.size()]: all (+Inf).
    std::array<uint64_t, kBounds.size() + 1> cumulative{};
    uint64_t count = 0;
    double sum_seconds = 0;
  };

  LatencyHistogram() = default;
  LatencyHistogram(const LatencyHistogram&) = delete;
  LatencyHistogram& operator=(const LatencyHistogram&) = delete;

  // Records one duration.
  void Observe(uint64_t micros);
  // A consistent copy of every bucket, the count and the sum.
  Snapshot Read() const;

 private:
  mutable std::mutex mu_;
  std::array<uint64_t, kBounds.size() + 1> buckets_{};  // per bucket, not cumulative
  uint64_t count_ = 0;
  uint64_t sum_micros_ = 0;
};

// Feeds a histogram from core::RunOptions::progress (called after each poll): a call after a
// committed batch (EngineStats::batches grew) observes the processing and commit time
// (EngineStats::process_us + commit_us) spent since the previous call, i.e. one batch's latency
// from decoding to its synced commit; a call after an idle poll observes nothing. Not
// thread-safe itself (one engine thread calls it); the histogram is borrowed.
class BatchLatencyRecorder {
 public:
  explicit BatchLatencyRecorder(LatencyHistogram& histogram) : histogram_(histogram) {}
  void operator()(const core::EngineStats& stats);

 private:
  LatencyHistogram& histogram_;
  uint64_t last_us_ = 0;
  uint64_t last_batches_ = 0;
};

}  // namespace amtsweg::report
