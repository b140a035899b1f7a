// bench_runtime: the pure runtime, single thread, on pre-decoded input events.
//
//   bench_runtime --events FILE [--runs 5]
//
// Figure: input events/s (and domain events/s) through Runtime::Handle with the case states in
// a hash map, median of --runs passes over the whole stream (fresh states each pass).
// Ceiling: the same loop doing only what any runtime must do with the same result -- look the
// case up and fold the already-known domain events into it with Apply (they are produced once
// beforehand). The ratio is the cost of deciding (routing, expressions, building events) on top
// of the state fold. Timers never fire here: no clock runs outside the engine.
#include <cinttypes>
#include <map>
#include <unordered_map>

#include "engine/core/cloudevent.h"
#include "engine/runtime/runtime.h"
#include "tests/bench/bench_util.h"

namespace amtsweg::bench {
namespace {

using runtime::CaseState;
using runtime::DomainEvent;
using runtime::InputEvent;

int Main(int argc, char** argv) {
  std::string path = Flag(argc, argv, "--events", "");
  if (path.empty()) Die("usage: bench_runtime --events FILE [--runs N]");
  int runs = std::atoi(Flag(argc, argv, "--runs", "5").c_str());
  Workflows w = LoadWorkflows(argc, argv);
  runtime::Runtime rt(w.registry, *w.directory);

  std::vector<std::string> lines = ReadLines(path);
  std::vector<InputEvent> inputs;
  inputs.reserve(lines.size());
  std::vector<double> decode_times;
  for (int r = 0; r < runs; ++r) {
    double t0 = Seconds();
    size_t ok = 0;
    for (const std::string& line : lines) {
      Result<InputEvent> in = core::DecodeCloudEvent(line);
      if (!in.ok()) continue;
      ++ok;
      if (r == 0) inputs.push_back(std::move(*in));
    }
    decode_times.push_back(Seconds() - t0);
    if (ok != inputs.size()) Die("decode is not deterministic");
  }
  std::printf("runtime: %zu lines, %zu decoded inputs, %zu undecodable\n", lines.size(),
              inputs.size(), lines.size() - inputs.size());

  // Reference pass: the domain events each input produces.
  std::vector<std::vector<DomainEvent>> produced(inputs.size());
  uint64_t domain_events = 0, rejections = 0;
  std::map<std::string, uint64_t> rejection_kinds;
  {
    std::unordered_map<std::string, CaseState> states;
    for (size_t i = 0; i < inputs.size(); ++i) {
      runtime::StepResult res = rt.Handle(inputs[i], &states[inputs[i].subject]);
      domain_events += res.events.size();
      if (res.rejection) {
        ++rejections;
        ++rejection_kinds[res.rejection->kind];
      }
      produced[i] = std::move(res.events);
    }
  }
  std::printf("runtime: %" PRIu64 " domain events, %" PRIu64 " rejections (", domain_events,
              rejections);
  for (const auto& [kind, n] : rejection_kinds)
    std::printf(" %s=%" PRIu64, kind.c_str(), n);
  std::printf(" )\n");

  std::vector<double> handle_times, apply_times;
  for (int r = 0; r < runs; ++r) {
    std::unordered_map<std::string, CaseState> states;
    states.reserve(inputs.size() / 2);
    uint64_t n = 0;
    double t0 = Seconds();
    for (const InputEvent& in : inputs)
      n += rt.Handle(in, &states[in.subject]).events.size();
    handle_times.push_back(Seconds() - t0);
    if (n != domain_events) Die("runtime is not deterministic");
  }
  for (int r = 0; r < runs; ++r) {
    std::unordered_map<std::string, CaseState> states;
    states.reserve(inputs.size() / 2);
    double t0 = Seconds();
    for (size_t i = 0; i < inputs.size(); ++i) {
      CaseState& s = states[inputs[i].subject];
      for (const DomainEvent& e : produced[i]) {
        if (!runtime::Apply(&s, e).ok()) Die("apply failed");
      }
    }
    apply_times.push_back(Seconds() - t0);
  }

  // Per input type: the same loop timing each call (adds ~20 ns per call).
  struct PerType {
    double seconds = 0;
    uint64_t count = 0, events = 0;
  };
  std::map<std::string, PerType> per_type;
  {
    std::unordered_map<std::string, CaseState> states;
    for (const InputEvent& in : inputs) {
      CaseState& s = states[in.subject];
      auto t0 = std::chrono::steady_clock::now();
      size_t produced_now = rt.Handle(in, &s).events.size();
      auto t1 = std::chrono::steady_clock::now();
      PerType& p = per_type[in.type];
      p.seconds += std::chrono::duration<double>(t1 - t0).count();
      ++p.count;
      p.events += produced_now;
    }
  }

  double n = static_cast<double>(inputs.size());
  double handle = n / Median(handle_times);
  double apply = n / Median(apply_times);
  std::printf("runtime: Handle  %10.0f inputs/s  %10.0f domain events/s  (median of %d)\n", handle,
              static_cast<double>(domain_events) / Median(handle_times), runs);
  std::printf("runtime: ceiling %10.0f inputs/s  (map lookup + Apply of the same events)\n", apply);
  std::printf("runtime: decode  %10.0f lines/s   (DecodeCloudEvent, for reference)\n",
              static_cast<double>(lines.size()) / Median(decode_times));
  std::printf("runtime: per input type (ns/input, domain events/input):\n");
  for (const auto& [type, p] : per_type) {
    std::printf("  %-46s %8" PRIu64 " inputs %8.0f ns %5.1f ev\n", type.c_str(), p.count,
                p.seconds * 1e9 / static_cast<double>(p.count),
                static_cast<double>(p.events) / static_cast<double>(p.count));
  }
  Report("runtime_inputs_per_s", handle, "events/s", apply);
  Report("runtime_domain_events_per_s", static_cast<double>(domain_events) / Median(handle_times),
         "events/s");
  Report("decode_per_s", static_cast<double>(lines.size()) / Median(decode_times), "events/s");
  return 0;
}

}  // namespace
}  // namespace amtsweg::bench

int main(int argc, char** argv) {
  return amtsweg::bench::Main(argc, argv);
}
