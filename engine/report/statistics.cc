#include "engine/report/statistics.h"

#include <algorithm>
#include <cstdio>
#include <deque>
#include <map>
#include <tuple>

#include "engine/calendar/german_time.h"
#include "engine/common/identifiers.h"
#include "engine/runtime/events.h"

namespace amtsweg::report {
namespace {

constexpr int64_t kDayMs = int64_t{24} * 60 * 60 * 1000;

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

struct Accumulator {
  Figures figures;
  std::vector<double> lead_days;
};

void CsvField(std::string_view s, std::string* out) {
  if (s.find_first_of(",\"\r\n") == std::string_view::npos) {
    out->append(s);
    return;
  }
  out->push_back('"');
  for (char c : s) {
    if (c == '"') out->push_back('"');
    out->push_back(c);
  }
  out->push_back('"');
}

}  // namespace

bool CaseFacts::decided() const {
  return outcome == "approved" || outcome == "rejected" || outcome == "notified" ||
         outcome == "deemed_approved";
}

std::string RegionKeyOf(const Value& application) {
  std::deque<const Value*> level{&application};
  while (!level.empty()) {
    std::deque<const Value*> next;
    for (const Value* v : level) {
      if (!v->is_object()) continue;
      for (const auto& [key, member] : v->members()) {
        if (member.is_string()) {
          const std::string& s = member.as_string();
          // The municipality (AGS), also where the application gives the 12-digit ARS.
          if (key == "ags" || key == "ars") {
            if (ids::IsAgs(s)) return s;
            if (ids::IsArs(s)) return ids::AgsOfArs(s);
          }
        } else if (member.is_object()) {
          next.push_back(&member);
        }
      }
    }
    level = std::move(next);
  }
  return "";
}

Status AddEvent(CaseFacts* f, const runtime::DomainEvent& e) {
  const auto* opened = e.As<runtime::CaseOpened>();
  if ((e.seq == 1) != (opened != nullptr))
    return Status::Corruption("case.opened is not the first event (seq " + std::to_string(e.seq) +
                              ")");
  if (opened != nullptr) {
    f->workflow = opened->workflow;
    f->version = static_cast<int>(opened->version);
    f->leika = opened->leika;
    f->region = RegionKeyOf(opened->application);
    f->opened_at = e.time;
  } else if (e.As<runtime::DeadlineStarted>() != nullptr) {
    f->deadlines_started++;
  } else if (e.As<runtime::DeadlineExtended>() != nullptr) {
    f->deadlines_extended++;
  } else if (e.As<runtime::DeadlineExpired>() != nullptr) {
    f->deadlines_expired++;
  } else if (const auto* closed = e.As<runtime::CaseClosed>()) {
    f->outcome = closed->outcome;
    f->closed_at = e.time;
  }
  return Status::OK();
}

Result<CaseFacts> FactsOfEvents(const std::vector<std::string>& encoded_events) {
  if (encoded_events.empty()) return Status::Corruption("a case without events");
  CaseFacts f;
  uint64_t seq = 0;
  for (const std::string& encoded : encoded_events) {
    ASSIGN_OR_RETURN(runtime::DomainEvent e, runtime::DecodeEvent(encoded));
    if (e.seq != ++seq)
      return Status::Corruption("event seq " + std::to_string(e.seq) + " where " +
                                std::to_string(seq) + " was expected");
    RETURN_IF_ERROR(AddEvent(&f, e));
  }
  return f;
}

Status FactsCache::Refresh(const store::Store& store) {
  Status failed;
  RETURN_IF_ERROR(store.ScanCases([&](std::string_view id, const store::CaseRecord& record) {
    auto it = cases_.find(id);
    if (it == cases_.end()) it = cases_.emplace(std::string(id), Entry{}).first;
    Entry& entry = it->second;
    if (record.last_seq <= entry.seq) return true;
    // Folded into a copy: a failure leaves the cached facts as they were.
    Entry next = entry;
    Status scanned =
        store.ScanEvents(id, entry.seq + 1, record.last_seq, [&](const store::EventRecord& r) {
          Result<runtime::DomainEvent> e = runtime::DecodeEvent(r.payload);
          failed = e.ok() ? AddEvent(&next.facts, *e) : e.status();
          next.seq = r.seq;
          return failed.ok();
        });
    if (failed.ok()) failed = scanned;
    if (failed.ok() && next.seq != record.last_seq)
      failed = Status::Corruption("events missing up to seq " + std::to_string(record.last_seq));
    if (!failed.ok()) {
      failed = failed.WithContext("case " + std::string(id));
      return false;
    }
    entry = std::move(next);
    return true;
  }));
  return failed;
}

std::vector<CaseFacts> FactsCache::Facts() const {
  std::vector<CaseFacts> out;
  out.reserve(cases_.size());
  for (const auto& [id, entry] : cases_)
    if (entry.seq > 0) out.push_back(entry.facts);
  return out;
}

Result<std::vector<CaseFacts>> CollectCaseFacts(const store::Store& store) {
  FactsCache cache;
  RETURN_IF_ERROR(cache.Refresh(store));
  return cache.Facts();
}

std::string MonthOf(Timestamp t) {
  const calendar::CivilDate d = calendar::GermanDate(t);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02d", d.year(), d.month());
  return buf;
}

bool IsMonth(std::string_view month) {
  if (month.size() != 7 || month[4] != '-' || !AllDigits(month.substr(0, 4)) ||
      !AllDigits(month.substr(5)))
    return false;
  int m = (month[5] - '0') * 10 + (month[6] - '0');
  return m >= 1 && m <= 12;
}

std::optional<double> Figures::share_within_deadline() const {
  if (decided_with_deadline == 0) return std::nullopt;
  return static_cast<double>(within_deadline) / static_cast<double>(decided_with_deadline);
}

std::vector<Row> Compute(const std::vector<CaseFacts>& facts, const Grouping& grouping) {
  using Key = std::tuple<std::string, std::string, std::string>;
  std::map<Key, Accumulator> groups;
  auto key_at = [&](const CaseFacts& f, Timestamp t) {
    return Key{grouping.month ? MonthOf(t) : "", grouping.leika ? f.leika : "",
               grouping.region ? f.region : ""};
  };
  for (const CaseFacts& f : facts) {
    groups[key_at(f, f.opened_at)].figures.opened++;
    if (!f.decided()) continue;
    Accumulator& a = groups[key_at(f, f.closed_at)];
    a.figures.decided++;
    a.lead_days.push_back(static_cast<double>(f.closed_at - f.opened_at) / kDayMs);
    if (f.deadlines_started > 0) a.figures.decided_with_deadline++;
    if (f.within_deadline()) a.figures.within_deadline++;
    if (f.deemed_approval()) a.figures.deemed_approvals++;
  }
  std::vector<Row> rows;
  rows.reserve(groups.size());
  for (auto& [key, a] : groups) {
    if (!a.lead_days.empty()) a.figures.median_lead_days = Median(std::move(a.lead_days));
    rows.push_back(Row{std::get<0>(key), std::get<1>(key), std::get<2>(key), a.figures});
  }
  return rows;
}

Figures Total(const std::vector<CaseFacts>& facts) {
  std::vector<Row> rows = Compute(facts, Grouping{});
  return rows.empty() ? Figures{} : rows.front().figures;
}

std::vector<ExportRow> MonthlyExport(const std::vector<CaseFacts>& facts, std::string_view month) {
  std::map<std::pair<std::string, std::string>, uint64_t> counts;
  for (const CaseFacts& f : facts)
    if (MonthOf(f.opened_at) == month) counts[{f.region, f.leika}]++;
  std::vector<ExportRow> rows;
  rows.reserve(counts.size());
  for (const auto& [key, n] : counts)
    rows.push_back(ExportRow{std::string(month), key.first, key.second, n});
  return rows;
}

std::string ExportCsv(const std::vector<ExportRow>& rows) {
  std::string out = "month,region_key,leika_key,count\r\n";
  for (const ExportRow& r : rows) {
    CsvField(r.month, &out);
    out.push_back(',');
    CsvField(r.region, &out);
    out.push_back(',');
    CsvField(r.leika, &out);
    out += "," + std::to_string(r.count) + "\r\n";
  }
  return out;
}

std::string ExportJson(const std::vector<ExportRow>& rows) {
  std::vector<Value> items;
  items.reserve(rows.size());
  for (const ExportRow& r : rows) {
    ObjectBuilder b(4);
    b.Add("month", r.month).Add("region_key", r.region).Add("leika_key", r.leika);
    b.Add("count", static_cast<int64_t>(r.count));
    items.push_back(b.Build());
  }
  return Value::Array(std::move(items)).ToJson();
}

}  // namespace amtsweg::report
