// The public status page: one self-contained HTML document in German for the public.
//
// Figures per service (LeiKa key), per municipality (AGS) and per month, computed by
// statistics.h; no personal data (only keys, counts, durations and shares), no external
// resources (inline CSS, inline SVG bar charts, each beside a table with its numbers). Every
// string that goes into the page is escaped. Pure function; thread-safe.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "engine/common/html.h"
#include "engine/common/time.h"
#include "engine/report/statistics.h"

namespace amtsweg::report {

struct StatusPageOptions {
  Timestamp as_of = 0;  // "Stand" shown on the page
  std::string title = "Öffentliches Monitoring der Verwaltungsleistungen";
  // Names of services by LeiKa key (e.g. workflow titles); a key without a name is shown with
  // its workflow's name.
  std::map<std::string, std::string> service_names;
  // Names of municipalities by AGS; a key without a name is shown as the key alone.
  std::map<std::string, std::string> region_names;
  // The table per month, service and municipality shows the latest this many months with cases
  // (0: all); it grows with every month, the other figures cover all months.
  size_t months_shown = 12;
};

// The page for these cases.
std::string RenderStatusPage(const std::vector<CaseFacts>& facts, const StatusPageOptions& options);

}  // namespace amtsweg::report
