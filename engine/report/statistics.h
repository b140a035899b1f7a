// Case statistics for public monitoring: per service (LeiKa key), municipality (AGS region key)
// and month, without personal data.
//
// CollectCaseFacts() folds each case's domain events into a CaseFacts: the few figures the
// reports need (workflow, LeiKa key, region key, when it was opened and decided, its outcome,
// what happened to its legal deadlines). Nothing of the application is kept but the region key.
// Everything else here is a pure function over facts. Thread-safe: no shared state.
//
// Definitions (docs/monitoring.md):
// - month: the calendar month in German civil time (Europe/Berlin), "YYYY-MM";
// - decided: closed with outcome approved, rejected, notified or deemed_approved (withdrawn
//   cases are not decided); lead time: case.opened to case.closed;
// - decided within the legal deadline: decided, at least one deadline ran on the case, and none
//   of them expired (a deemed approval is never within: its deadline expired);
// - deemed approval (Genehmigungsfiktion, §42a VwVfG): closed with outcome deemed_approved.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/common/status.h"
#include "engine/common/time.h"
#include "engine/common/value.h"
#include "engine/runtime/events.h"
#include "engine/store/store.h"

namespace amtsweg::report {

// What the reports know of one case. No personal data.
struct CaseFacts {
  std::string workflow;
  int version = 0;
  std::string leika;   // LeiKa service key of the workflow
  std::string region;  // AGS of the case (see RegionKeyOf); empty when the application has none
  Timestamp opened_at = 0;
  Timestamp closed_at = 0;  // 0 while open
  std::string outcome;      // empty while open
  int deadlines_started = 0;
  int deadlines_extended = 0;
  int deadlines_expired = 0;

  bool open() const { return outcome.empty(); }
  bool decided() const;
  bool deemed_approval() const { return outcome == "deemed_approved"; }
  bool within_deadline() const {
    return decided() && deadlines_started > 0 && deadlines_expired == 0;
  }
};

// The region key (AGS, 8 digits) of an application: the value of the shallowest member named
// "ags" (members in order, breadth first) that is 8 digits, or the first 8 digits of a 12-digit
// ARS in a member named "ars". The shipped workflows keep it in betrieb.ags (Gewerbeanmeldung,
// Handwerksrolle), grundstueck.ags (Bauantrag) or standort.ags (BImSchG). Empty if none.
std::string RegionKeyOf(const Value& application);

// Facts of one case from its domain events in order (the first must be case.opened).
// Corruption when the events do not decode or do not start with case.opened.
Result<CaseFacts> FactsOfEvents(const std::vector<std::string>& encoded_events);

// Folds one domain event of a case into its facts (events in seq order, from seq 1).
// Corruption when case.opened is not the first event.
Status AddEvent(CaseFacts* facts, const runtime::DomainEvent& e);

// Facts of every case in the store, in case id order. Reads every case's event log.
Result<std::vector<CaseFacts>> CollectCaseFacts(const store::Store& store);

// The facts of every case, kept up to date cheaply: Refresh() reads the case records and only the
// events added since the previous refresh. For a process that serves metrics or the status page
// while the engine writes (store reads may run beside the one writer). Counting from the log
// rather than in the engine keeps the figures exact across restarts and replays. Not
// thread-safe: one thread refreshes and reads.
class FactsCache {
 public:
  // Brings every case up to date. On error (Corruption, IOError) cases already refreshed keep
  // their new facts, the failing case its old ones.
  Status Refresh(const store::Store& store);
  // Facts of every case with events, in case id order.
  std::vector<CaseFacts> Facts() const;

 private:
  struct Entry {
    uint64_t seq = 0;  // last event folded
    CaseFacts facts;
  };
  std::map<std::string, Entry, std::less<>> cases_;
};

// "YYYY-MM" of a moment in German civil time.
std::string MonthOf(Timestamp t);
// True for "YYYY-MM" with a month 01..12.
bool IsMonth(std::string_view month);

// Figures of one group of cases.
struct Figures {
  uint64_t opened = 0;   // cases opened (in the group's month, if grouped by month)
  uint64_t decided = 0;  // cases decided (in the group's month, if grouped by month)
  std::optional<double> median_lead_days;  // of the decided cases; none when none was decided
  uint64_t decided_with_deadline = 0;      // decided cases on which a legal deadline ran
  uint64_t within_deadline = 0;            // of those, decided within every deadline
  uint64_t deemed_approvals = 0;           // decided by deemed approval
  // within_deadline / decided_with_deadline; none when no decided case had a deadline.
  std::optional<double> share_within_deadline() const;
};

// Which dimensions a statistic is grouped by; a dimension left out is "" in every row.
struct Grouping {
  bool month = false;
  bool leika = false;
  bool region = false;
};

struct Row {
  std::string month;
  std::string leika;
  std::string region;
  Figures figures;
};

// Groups the cases: a case counts as opened in the group of its opening (month of opened_at) and
// as decided in the group of its decision (month of closed_at). Rows sorted by (month, leika,
// region); only groups with a case opened or decided.
std::vector<Row> Compute(const std::vector<CaseFacts>& facts, const Grouping& grouping);

// The figures of all cases together.
Figures Total(const std::vector<CaseFacts>& facts);

// The monthly export for the central statistics component: (month, region key, LeiKa key,
// count), count = cases opened in that month for that service and municipality. Sorted by
// region key, then LeiKa key; rows with count 0 are left out.
struct ExportRow {
  std::string month;
  std::string region;
  std::string leika;
  uint64_t count = 0;
};
std::vector<ExportRow> MonthlyExport(const std::vector<CaseFacts>& facts, std::string_view month);
// "month,region_key,leika_key,count\r\n" and one line per row (RFC 4180).
std::string ExportCsv(const std::vector<ExportRow>& rows);
// [{"month":"2026-03","region_key":"01056015","leika_key":"99066002000000","count":1}, ...]
std::string ExportJson(const std::vector<ExportRow>& rows);

}  // namespace amtsweg::report
