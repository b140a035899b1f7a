#include "engine/calendar/german_time.h"

#include <cctz/civil_time.h>
#include <cctz/time_zone.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>

namespace amtsweg::calendar {

namespace {

constexpr int64_t kMsPerSecond = 1000;
constexpr int64_t kMsPerDay = 86400 * kMsPerSecond;

int64_t FloorDiv(int64_t a, int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

// Written once under g_mu, before g_loaded is set (release); read only after g_loaded is seen
// (acquire). A cctz::time_zone is a handle to an immutable, cached zone.
std::mutex g_mu;
std::atomic<bool> g_loaded{false};
cctz::time_zone g_zone;

const cctz::time_zone& Zone() {
  if (!g_loaded.load(std::memory_order_acquire)) {
    Status s = LoadGermanTime();
    if (!s.ok()) {
      // A deployment error: no legal day may be computed in another zone.
      std::fprintf(stderr, "amtsweg: fatal: %s\n", s.message().c_str());
      std::fflush(stderr);
      std::abort();
    }
  }
  return g_zone;
}

cctz::time_point<cctz::seconds> ToTimePoint(Timestamp t) {
  return cctz::time_point<cctz::seconds>(cctz::seconds(FloorDiv(t, kMsPerSecond)));
}

}  // namespace

Status LoadGermanTime() {
  if (g_loaded.load(std::memory_order_acquire)) return Status::OK();
  std::lock_guard<std::mutex> lock(g_mu);
  if (g_loaded.load(std::memory_order_relaxed)) return Status::OK();
  cctz::time_zone zone;
  // cctz falls back to UTC when the zone cannot be loaded; only the result tells.
  if (!cctz::load_time_zone(std::string(kGermanZone), &zone)) {
    const char* env = std::getenv("TZDIR");
    std::string dir = env != nullptr && *env != '\0' ? env : "/usr/share/zoneinfo";
    return Status::Unavailable("cannot load the time zone " + std::string(kGermanZone) +
                               " from the tz database in " + dir +
                               ": install tzdata (Debian package `tzdata`) or set TZDIR to its "
                               "directory; German legal days cannot be computed without it");
  }
  g_zone = zone;
  g_loaded.store(true, std::memory_order_release);
  return Status::OK();
}

int64_t GermanOffset(Timestamp t) {
  return static_cast<int64_t>(Zone().lookup(ToTimePoint(t)).offset) * kMsPerSecond;
}

CivilDate GermanDate(Timestamp t) {
  return CivilDate::FromDays(FloorDiv(t + GermanOffset(t), kMsPerDay));
}

Timestamp GermanStartOfDay(CivilDate d) {
  const cctz::time_zone::civil_lookup cl =
      Zone().lookup(cctz::civil_second(d.year(), d.month(), d.day(), 0, 0, 0));
  // Where a transition skips local midnight, the day starts at the transition; where local
  // midnight happens twice, at its first occurrence.
  const cctz::time_point<cctz::seconds> tp =
      cl.kind == cctz::time_zone::civil_lookup::SKIPPED ? cl.trans : cl.pre;
  return static_cast<Timestamp>(tp.time_since_epoch().count()) * kMsPerSecond;
}

std::string FormatGermanTime(Timestamp t) {
  const int64_t offset = GermanOffset(t);
  std::string out = FormatTimestamp(t + offset);
  out.pop_back();  // the 'Z'
  const int64_t minutes = (offset < 0 ? -offset : offset) / (60 * kMsPerSecond);
  char buf[16];
  std::snprintf(buf, sizeof buf, "%c%02d:%02d", offset < 0 ? '-' : '+',
                static_cast<int>(minutes / 60), static_cast<int>(minutes % 60));
  out += buf;
  return out;
}

std::string GermanDateTimeText(Timestamp t, bool with_seconds) {
  const int64_t local = t + GermanOffset(t);
  const CivilDate d = CivilDate::FromDays(FloorDiv(local, kMsPerDay));
  const int64_t ms = local - d.days_since_epoch() * kMsPerDay;
  char buf[64];
  if (with_seconds) {
    std::snprintf(buf, sizeof buf, "%02d.%02d.%04d, %02d:%02d:%02d Uhr", d.day(), d.month(),
                  d.year(), static_cast<int>(ms / 3600000), static_cast<int>(ms / 60000 % 60),
                  static_cast<int>(ms / 1000 % 60));
  } else {
    std::snprintf(buf, sizeof buf, "%02d.%02d.%04d, %02d:%02d Uhr", d.day(), d.month(), d.year(),
                  static_cast<int>(ms / 3600000), static_cast<int>(ms / 60000 % 60));
  }
  return buf;
}

std::string GermanDateText(CivilDate d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%02d.%02d.%04d", d.day(), d.month(), d.year());
  return std::string(buf) + " (" + std::string(WeekdayName(d.weekday())) + ")";
}

std::optional<CivilDate> LegalDayEndingAt(Timestamp due) {
  const CivilDate next = GermanDate(due);
  if (GermanStartOfDay(next) != due) return std::nullopt;
  return next.AddDays(-1);
}

}  // namespace amtsweg::calendar
