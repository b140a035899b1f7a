// German civil time (Europe/Berlin) from the tz database, through cctz.
//
// The zone is loaded once per process from the system's tz database (Debian package `tzdata`,
// /usr/share/zoneinfo, or $TZDIR). Programs call LoadGermanTime() at start-up and stop cleanly
// when it fails. The other functions load the zone on first use; if it cannot be loaded they
// print the reason to standard error and call std::abort(): computing a legal day in the wrong
// zone would be worse than not running (a deployment error, not an input error).
// All functions are thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "engine/calendar/civil_date.h"
#include "engine/common/status.h"
#include "engine/common/time.h"

namespace amtsweg::calendar {

// The tz database name of German civil time.
inline constexpr std::string_view kGermanZone = "Europe/Berlin";

// Loads Europe/Berlin. Idempotent: after the first success it returns OK at once. Unavailable
// (naming the zone, the directory searched and "install tzdata") when the zone cannot be loaded;
// a later call tries again.
Status LoadGermanTime();

// The German civil date at `t`.
CivilDate GermanDate(Timestamp t);

// The first instant of German civil day `d` (local 00:00), in ms since the epoch, UTC.
Timestamp GermanStartOfDay(CivilDate d);

// The offset of German civil time from UTC at `t`, in ms (3600000 in winter, 7200000 in summer).
int64_t GermanOffset(Timestamp t);

// `t` as RFC 3339 in German civil time, with its offset: "2027-05-19T00:00:00+02:00"
// (milliseconds only when non-zero).
std::string FormatGermanTime(Timestamp t);

// For readers: `t` in German civil time as Germans write it, "12.10.2026, 14:05 Uhr" (to the
// minute; `with_seconds`: "12.10.2026, 14:05:09 Uhr").
std::string GermanDateTimeText(Timestamp t, bool with_seconds = false);

// For readers: date `d` with its weekday, "12.10.2026 (Montag)".
std::string GermanDateText(CivilDate d);

// The German civil day at whose end (24:00) a period ending at `due` ends: the day before `due`
// when `due` is a German midnight (how the legal calendar stores an end of day, legal-calendar.md),
// else nullopt (an exact end inside a day).
std::optional<CivilDate> LegalDayEndingAt(Timestamp due);

}  // namespace amtsweg::calendar
