// Case files for export: one case's view and its events, as JSON, CSV or a readable HTML
// document (timeline, who was told what and when, deadlines, outcome).
//
// The renderers take what the reader may see (full or participant views from
// engine/core/case_query.h) and add nothing. Every text from the case is escaped for the
// target format. Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "engine/common/html.h"
#include "engine/common/time.h"
#include "engine/common/value.h"

namespace amtsweg::http {

struct CaseFile {
  Value case_view;            // FullCaseView or ParticipantCaseView
  std::vector<Value> events;  // FullEventView or ParticipantEventView, in seq order
  std::string viewer;         // e.g. "auditor pruefer-1" or "participant ihk-kiel (ihk-kiel)"
  Timestamp generated_at = 0;
};

// {"case": ..., "events": [...], "viewer": ..., "generated_at": ...}
std::string ExportJson(const CaseFile& file);
// One line per event: seq,time,type,cause,organisation,data (data as compact JSON); RFC 4180
// quoting; cells starting with = + - @ are prefixed with ' so spreadsheets show, not run, them.
std::string ExportCsv(const CaseFile& file);
// A self-contained HTML5 document without scripts.
std::string ExportHtml(const CaseFile& file);

// A CSV cell: quoted when it contains a comma, quote or line break; a leading = + - @ TAB or CR
// (a formula to spreadsheets) gets a quote before it.
std::string CsvCell(std::string_view text);

}  // namespace amtsweg::http
