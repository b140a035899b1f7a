// Case files for export: one case's view and its events, as JSON, CSV or a readable HTML
// document (timeline, who was told what and when, deadlines, outcome).
//
// The renderers take what the reader may see (full or participant views from
// engine/core/case_query.h) and add nothing of the case. The HTML case file reads the workflow's
// titles and the directory's names of organisations for its words, shows times in German civil
// time with the UTC stamp kept beside them, legal periods as the day they end with, and prints
// as a case file (a print stylesheet). Every text from the case is escaped for the target
// format. Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "engine/common/html.h"
#include "engine/common/time.h"
#include "engine/common/value.h"
#include "engine/dsl/directory.h"
#include "engine/dsl/workflow.h"

namespace amtsweg::http {

struct CaseFile {
  Value case_view;            // FullCaseView or ParticipantCaseView
  std::vector<Value> events;  // FullEventView or ParticipantEventView, in seq order
  std::string viewer;         // e.g. "auditor pruefer-1" or "participant ihk-kiel (ihk-kiel)"
  Timestamp generated_at = 0;
  // For the words of the HTML case file (borrowed, optional): the case's workflow definition
  // (titles of its states, roles, tasks, deadlines and variables) and the participant directory
  // (names of organisations). Without them, or where they name nothing, identifiers are shown.
  const dsl::Definition* workflow = nullptr;
  const dsl::Directory* directory = nullptr;
};

// {"case": ..., "events": [...], "viewer": ..., "generated_at": ...}
std::string ExportJson(const CaseFile& file);
// One line per event: seq,time,type,cause,organisation,data (data as compact JSON); RFC 4180
// quoting; cells starting with = + - @ are prefixed with ' so spreadsheets show, not run, them.
std::string ExportCsv(const CaseFile& file);
// A self-contained HTML5 document in German without scripts (inline CSS, with a print
// stylesheet): the case, its participants, deadlines, who was told what, and the history.
std::string ExportHtml(const CaseFile& file);

// A CSV cell: quoted when it contains a comma, quote or line break; a leading = + - @ TAB or CR
// (a formula to spreadsheets) gets a quote before it.
std::string CsvCell(std::string_view text);

}  // namespace amtsweg::http
