#include "engine/report/metrics.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>

namespace amtsweg::report {
namespace {

// Shortest text that reads back as the same double; "+Inf" for infinity.
std::string FormatDouble(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  for (int precision = 6; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

class Writer {
 public:
  // Starts a metric family.
  void Family(std::string_view name, std::string_view type, std::string_view help) {
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    for (char c : help) {
      if (c == '\\')
        out_ += "\\\\";
      else if (c == '\n')
        out_ += "\\n";
      else
        out_ += c;
    }
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
  }
  void Sample(std::string_view name,
              const std::vector<std::pair<std::string_view, std::string_view>>& labels,
              std::string_view value) {
    out_ += name;
    if (!labels.empty()) {
      out_ += '{';
      for (size_t i = 0; i < labels.size(); ++i) {
        if (i > 0) out_ += ',';
        out_ += labels[i].first;
        out_ += "=\"";
        out_ += EscapeLabelValue(labels[i].second);
        out_ += '"';
      }
      out_ += '}';
    }
    out_ += ' ';
    out_ += value;
    out_ += '\n';
  }
  void Sample(std::string_view name, uint64_t value) { Sample(name, {}, std::to_string(value)); }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

// One counter or gauge family with a sample per workflow.
void PerWorkflow(Writer& w, const StoreTotals& t, std::string_view name, std::string_view type,
                 std::string_view help, const std::function<uint64_t(const WorkflowTotals&)>& get) {
  w.Family(name, type, help);
  for (const auto& [workflow, wt] : t.workflows)
    w.Sample(name, {{"workflow", workflow}, {"leika", wt.leika}}, std::to_string(get(wt)));
}

}  // namespace

std::string EscapeLabelValue(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

StoreTotals TotalsOf(const std::vector<CaseFacts>& facts, uint64_t dead_letters) {
  StoreTotals t;
  t.dead_letters = dead_letters;
  for (const CaseFacts& f : facts) {
    WorkflowTotals& w = t.workflows[f.workflow];
    if (w.leika.empty()) w.leika = f.leika;
    w.opened++;
    if (f.open())
      w.open++;
    else
      w.closed[f.outcome]++;
    w.deadlines_started += static_cast<uint64_t>(f.deadlines_started);
    w.deadlines_extended += static_cast<uint64_t>(f.deadlines_extended);
    w.deadlines_expired += static_cast<uint64_t>(f.deadlines_expired);
    if (f.deemed_approval()) w.deemed_approvals++;
  }
  return t;
}

Result<uint64_t> CountDeadLetters(const store::Store& store) {
  uint64_t dead = 0;
  RETURN_IF_ERROR(store.ScanDeadLetters([&](const store::DeadLetter&) {
    ++dead;
    return true;
  }));
  return dead;
}

Result<StoreTotals> ScanTotals(const store::Store& store) {
  ASSIGN_OR_RETURN(std::vector<CaseFacts> facts, CollectCaseFacts(store));
  ASSIGN_OR_RETURN(uint64_t dead, CountDeadLetters(store));
  return TotalsOf(facts, dead);
}

std::string RenderMetrics(const MetricsInput& in) {
  Writer w;
  if (in.build != nullptr) {
    w.Family("amtsweg_build_info", "gauge",
             "Always 1; the labels say which version and commit this process runs.");
    w.Sample("amtsweg_build_info", {{"version", in.build->version}, {"commit", in.build->commit}},
             "1");
  }
  if (in.stats != nullptr) {
    const core::EngineStats& s = *in.stats;
    w.Family("amtsweg_events_consumed_total", "counter",
             "Input events read from the sources by this process: accepted + rejected + "
             "duplicate.");
    w.Sample("amtsweg_events_consumed_total", s.inputs);
    w.Family("amtsweg_events_accepted_total", "counter",
             "Input events taken by this process: they changed a case or the clock (a clock "
             "event before the clock is taken and changes nothing).");
    w.Sample("amtsweg_events_accepted_total", s.accepted);
    w.Family("amtsweg_events_rejected_total", "counter",
             "Input events refused by this process (each is dead-lettered).");
    w.Sample("amtsweg_events_rejected_total", s.rejected);
    w.Family("amtsweg_events_duplicate_total", "counter",
             "Input events skipped as already processed by this process (dead-lettered too).");
    w.Sample("amtsweg_events_duplicate_total", s.duplicates);
    w.Family("amtsweg_timers_fired_total", "counter",
             "Deadline timers fired by this process (not input events): expired + stale + "
             "refused.");
    w.Sample("amtsweg_timers_fired_total", s.timers_fired);
    w.Family("amtsweg_timers_expired_total", "counter",
             "Fired deadline timers whose deadline expired, by this process.");
    w.Sample("amtsweg_timers_expired_total", s.timers_expired);
    w.Family("amtsweg_timers_stale_total", "counter",
             "Fired deadline timers that changed nothing (the deadline was extended, cancelled or "
             "its case closed), by this process.");
    w.Sample("amtsweg_timers_stale_total", s.timers_stale);
    w.Family("amtsweg_timers_refused_total", "counter",
             "Fired deadline timers refused because their case's workflow version is not "
             "deployed, by this process.");
    w.Sample("amtsweg_timers_refused_total", s.timers_refused);
    w.Family("amtsweg_published_total", "counter",
             "Outbound messages acknowledged by the sink, by this process.");
    w.Sample("amtsweg_published_total", s.published);
    w.Family("amtsweg_batches_total", "counter", "Input batches committed by this process.");
    w.Sample("amtsweg_batches_total", s.batches);
  }
  const StoreTotals& t = *in.totals;
  w.Family("amtsweg_dead_letters_total", "counter",
           "Refused input events stored as dead letters, since the store was created.");
  w.Sample("amtsweg_dead_letters_total", t.dead_letters);
  PerWorkflow(w, t, "amtsweg_cases_opened_total", "counter", "Cases opened, per workflow.",
              [](const WorkflowTotals& x) { return x.opened; });
  w.Family("amtsweg_cases_closed_total", "counter", "Cases closed, per workflow and outcome.");
  for (const auto& [workflow, wt] : t.workflows)
    for (const auto& [outcome, n] : wt.closed)
      w.Sample("amtsweg_cases_closed_total",
               {{"workflow", workflow}, {"leika", wt.leika}, {"outcome", outcome}},
               std::to_string(n));
  PerWorkflow(w, t, "amtsweg_cases_open", "gauge", "Cases not closed yet, per workflow.",
              [](const WorkflowTotals& x) { return x.open; });
  PerWorkflow(w, t, "amtsweg_deadlines_started_total", "counter",
              "Legal deadlines started, per workflow.",
              [](const WorkflowTotals& x) { return x.deadlines_started; });
  PerWorkflow(w, t, "amtsweg_deadlines_extended_total", "counter",
              "Legal deadlines extended (with reasons), per workflow.",
              [](const WorkflowTotals& x) { return x.deadlines_extended; });
  PerWorkflow(w, t, "amtsweg_deadlines_expired_total", "counter",
              "Legal deadlines that expired without a decision, per workflow.",
              [](const WorkflowTotals& x) { return x.deadlines_expired; });
  PerWorkflow(w, t, "amtsweg_deemed_approvals_total", "counter",
              "Cases closed by deemed approval (Genehmigungsfiktion, section 42a VwVfG), per "
              "workflow.",
              [](const WorkflowTotals& x) { return x.deemed_approvals; });
  w.Family("amtsweg_outbox_backlog", "gauge",
           "Outbox entries committed and not yet acknowledged by the sink.");
  w.Sample("amtsweg_outbox_backlog", in.outbox_backlog);
  if (in.webhook_backlog.has_value()) {
    w.Family("amtsweg_webhook_backlog", "gauge", "Webhook deliveries waiting to be sent.");
    w.Sample("amtsweg_webhook_backlog", *in.webhook_backlog);
  }
  if (in.latency != nullptr) {
    LatencyHistogram::Snapshot h = in.latency->Read();
    constexpr std::string_view kName = "amtsweg_batch_processing_seconds";
    w.Family(kName, "histogram",
             "Time to process one input batch: decoding, the workflows, the synced commit.");
    std::string bucket = std::string(kName) + "_bucket";
    for (size_t i = 0; i < LatencyHistogram::kBounds.size(); ++i)
      w.Sample(bucket, {{"le", FormatDouble(LatencyHistogram::kBounds[i])}},
               std::to_string(h.cumulative[i]));
    w.Sample(bucket, {{"le", "+Inf"}}, std::to_string(h.count));
    w.Sample(std::string(kName) + "_sum", {}, FormatDouble(h.sum_seconds));
    w.Sample(std::string(kName) + "_count", {}, std::to_string(h.count));
  }
  if (in.process != nullptr) {
    // The names, types and units of the Prometheus clients' process collectors.
    const ProcessFigures& p = *in.process;
    w.Family("process_cpu_seconds_total", "counter",
             "Total user and system CPU time spent in seconds.");
    w.Sample("process_cpu_seconds_total", {}, FormatDouble(p.cpu_seconds));
    w.Family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
    w.Sample("process_resident_memory_bytes", p.resident_bytes);
    w.Family("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
    w.Sample("process_virtual_memory_bytes", p.virtual_bytes);
    w.Family("process_start_time_seconds", "gauge",
             "Start time of the process since unix epoch in seconds.");
    w.Sample("process_start_time_seconds", {}, FormatDouble(p.start_time_seconds));
    if (p.open_fds.has_value()) {
      w.Family("process_open_fds", "gauge", "Number of open file descriptors.");
      w.Sample("process_open_fds", *p.open_fds);
    }
    if (p.max_fds.has_value()) {
      w.Family("process_max_fds", "gauge", "Maximum number of open file descriptors.");
      w.Sample("process_max_fds", *p.max_fds);
    }
  }
  return w.Take();
}

}  // namespace amtsweg::report
