#include "engine/report/latency.h"

namespace amtsweg::report {

void LatencyHistogram::Observe(uint64_t micros) {
  double seconds = static_cast<double>(micros) / 1e6;
  size_t i = 0;
  while (i < kBounds.size() && seconds > kBounds[i])
    ++i;
  std::lock_guard<std::mutex> lock(mu_);
  buckets_[i]++;
  count_++;
  sum_micros_ += micros;
}

LatencyHistogram::Snapshot LatencyHistogram::Read() const {
  Snapshot s;
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t running = 0;
  for (size_t i = 0; i < buckets_.size(); ++i) {
    running += buckets_[i];
    s.cumulative[i] = running;
  }
  s.count = count_;
  s.sum_seconds = static_cast<double>(sum_micros_) / 1e6;
  return s;
}

void BatchLatencyRecorder::operator()(const core::EngineStats& stats) {
  uint64_t now = stats.process_us + stats.commit_us;
  // A smaller total means a new engine's statistics: start over from zero.
  uint64_t spent = now >= last_us_ ? now - last_us_ : now;
  last_us_ = now;
  // Called after idle polls too (RunOptions::progress): only a committed batch is observed, and
  // the idle polls' time before it is not part of its latency.
  bool batch = stats.batches != last_batches_;
  last_batches_ = stats.batches;
  if (batch) histogram_.Observe(spent);
}

}  // namespace amtsweg::report
