#include "connectors/http/case_export.h"

#include <map>
#include <optional>
#include <vector>

#include "engine/calendar/german_time.h"
#include "engine/runtime/events.h"

namespace amtsweg::http {

namespace {

namespace rt = runtime;

// A scalar as text (strings without quotes), anything else as compact JSON.
std::string Text(const Value& v) {
  if (v.is_null()) return "";
  if (v.is_string()) return v.as_string();
  return v.ToJson();
}

// Member M of an event view as text: the views' members are read through the event types, so
// that a member renamed in events.h fails to compile here.
template <auto M>
std::string Field(const Value& e) {
  return Text(rt::ViewMember<M>(e));
}

std::optional<rt::DomainType> TypeOfView(const Value& e) {
  return rt::ParseDomainType(e["type"].as_string());
}

// The organisation an event view names (the one bound, told, asked or answering), or "".
std::string OrganisationOf(const Value& e) {
  switch (TypeOfView(e).value_or(rt::DomainType::kCaseOpened)) {
    case rt::DomainType::kParticipantResolved:
      return Field<&rt::ParticipantResolved::organisation>(e);
    case rt::DomainType::kNotificationDisclosed:
      return Field<&rt::NotificationDisclosed::organisation>(e);
    case rt::DomainType::kTaskRequested:
      return Field<&rt::TaskRequested::organisation>(e);
    case rt::DomainType::kResponseRecorded:
      return Field<&rt::ResponseRecorded::organisation>(e);
    default:
      return "";
  }
}

// Times: German civil time for readers, the UTC stamp of the record beside it.
std::string TimeHtml(const std::string& utc) {
  if (utc.empty()) return "–";
  Result<Timestamp> t = ParseTimestamp(utc);
  if (!t.ok()) return HtmlEscape(utc);
  return "<time datetime=\"" + HtmlEscape(utc) + "\">" +
         HtmlEscape(calendar::GermanDateTimeText(*t)) + "</time> <span class=\"utc\">" +
         HtmlEscape(utc) + "</span>";
}

// The end of a period: for a legal period (docs/legal-calendar.md: it ends at 24:00 German time
// of its last day, stored as the first instant of the next day) the day it ends with, else the
// moment.
std::string DueHtml(const std::string& utc, bool legal) {
  Result<Timestamp> t = ParseTimestamp(utc);
  if (!t.ok() || !legal) return TimeHtml(utc);
  std::optional<calendar::CivilDate> day = calendar::LegalDayEndingAt(*t);
  if (!day.has_value()) return TimeHtml(utc);
  return "<time datetime=\"" + HtmlEscape(utc) + "\">Ablauf des " +
         HtmlEscape(calendar::GermanDateText(*day)) + "</time> <span class=\"utc\">" +
         HtmlEscape(utc) + "</span>";
}

std::string_view OutcomeText(std::string_view outcome) {
  if (outcome == "approved") return "Genehmigt";
  if (outcome == "rejected") return "Abgelehnt";
  if (outcome == "deemed_approved") return "Genehmigungsfiktion (§ 42a VwVfG)";
  if (outcome == "withdrawn") return "Antrag zurückgenommen";
  if (outcome == "notified") return "Anzeige entgegengenommen";
  return outcome;
}

std::string_view DeadlineStatusText(std::string_view status) {
  if (status == "active") return "läuft";
  if (status == "expired") return "abgelaufen";
  if (status == "cancelled") return "aufgehoben";
  return status;
}

std::string_view EventTitle(std::optional<rt::DomainType> type, std::string_view raw) {
  if (!type.has_value()) return raw;
  switch (*type) {
    case rt::DomainType::kCaseOpened:
      return "Fall eröffnet";
    case rt::DomainType::kParticipantResolved:
      return "Beteiligte Stelle bestimmt";
    case rt::DomainType::kStateEntered:
      return "Verfahrensschritt";
    case rt::DomainType::kVariableSet:
      return "Angabe festgehalten";
    case rt::DomainType::kNotificationDisclosed:
      return "Mitteilung";
    case rt::DomainType::kTaskRequested:
      return "Anfrage";
    case rt::DomainType::kResponseRecorded:
      return "Antwort";
    case rt::DomainType::kTaskCompleted:
      return "Anfrage erledigt";
    case rt::DomainType::kDeadlineStarted:
      return "Frist beginnt";
    case rt::DomainType::kDeadlineExtended:
      return "Frist verlängert";
    case rt::DomainType::kDeadlineExpired:
      return "Frist abgelaufen";
    case rt::DomainType::kDeadlineCancelled:
      return "Frist aufgehoben";
    case rt::DomainType::kCertificateIssued:
      return "Bescheinigung ausgestellt";
    case rt::DomainType::kCaseClosed:
      return "Fall abgeschlossen";
    case rt::DomainType::kInputRejected:
      return "Eingabe zurückgewiesen";
    case rt::DomainType::kNotificationUndeliverable:
      return "Mitteilung nicht zustellbar";
    case rt::DomainType::kCaseErased:
      return "Personenbezogene Daten gelöscht";
    case rt::DomainType::kCaseMigrated:
      return "Fall auf neue Workflow-Version überführt";
  }
  return raw;
}

// "„text“": a quoted title or value in a sentence.
std::string Quoted(std::string_view text) {
  return "„" + std::string(text) + "“";
}

// A value for a sentence: scalars as text, lists joined, objects as "key: value" pairs; a
// removed (erased or sealed) value as "–".
void Flatten(const Value& v, const std::string& path, std::vector<std::string>* out) {
  if (v.is_object()) {
    for (const Member& m : v.members())
      Flatten(m.second, path.empty() ? m.first : path + "." + m.first, out);
    return;
  }
  std::string text;
  if (v.is_array()) {
    for (const Value& item : v.items()) {
      if (!text.empty()) text += ", ";
      text += item.is_object() || item.is_array() ? item.ToJson() : Text(item);
    }
  } else {
    text = v.is_null() ? "–" : Text(v);
  }
  out->push_back(path.empty() ? text : path + ": " + text);
}

std::string Joined(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (const std::string& p : parts) {
    if (!out.empty()) out += sep;
    out += p;
  }
  return out;
}

// The words of one case file: the workflow's titles, the directory's names of organisations
// (else the names the case's participant.resolved events recorded), and which of the case's
// deadlines are legal periods (their deadline.started events, else the definition).
class Words {
 public:
  explicit Words(const CaseFile& file) : file_(file) {
    for (const Value& e : file.events) {
      std::optional<rt::DomainType> type = TypeOfView(e);
      if (type == rt::DomainType::kParticipantResolved) {
        std::string name = Field<&rt::ParticipantResolved::name>(e);
        if (!name.empty()) names_.emplace(Field<&rt::ParticipantResolved::organisation>(e), name);
      } else if (type == rt::DomainType::kDeadlineStarted) {
        legal_[Field<&rt::DeadlineStarted::deadline>(e)] =
            Field<&rt::DeadlineStarted::calendar>(e) == "legal";
      }
    }
  }

  // "Landeshauptstadt Kiel, Gewerbeamt", or the id when nothing names it.
  std::string Organisation(const std::string& id) const {
    if (file_.directory != nullptr) {
      if (const dsl::Organisation* org = file_.directory->Find(id); org != nullptr)
        return org->name;
    }
    auto it = names_.find(id);
    return it != names_.end() ? it->second : id;
  }
  std::string Role(const std::string& name) const {
    const dsl::Role* r = file_.workflow != nullptr ? file_.workflow->FindRole(name) : nullptr;
    return r != nullptr && !r->title.empty() ? r->title : name;
  }
  std::string State(const std::string& name) const {
    const dsl::State* s = file_.workflow != nullptr ? file_.workflow->FindState(name) : nullptr;
    return s != nullptr && !s->title.empty() ? s->title : name;
  }
  const dsl::Task* FindTask(const std::string& name) const {
    return file_.workflow != nullptr ? file_.workflow->FindTask(name) : nullptr;
  }
  std::string Task(const std::string& name) const {
    const dsl::Task* t = FindTask(name);
    return t != nullptr && !t->title.empty() ? t->title : name;
  }
  std::string Deadline(const std::string& name) const {
    const dsl::Deadline* d =
        file_.workflow != nullptr ? file_.workflow->FindDeadline(name) : nullptr;
    return d != nullptr && !d->title.empty() ? d->title : name;
  }
  bool Legal(const std::string& deadline) const {
    auto it = legal_.find(deadline);
    if (it != legal_.end()) return it->second;
    const dsl::Deadline* d =
        file_.workflow != nullptr ? file_.workflow->FindDeadline(deadline) : nullptr;
    return d != nullptr && d->legal_calendar;
  }
  // "Landeshauptstadt Kiel, Gewerbeamt (Gewerbeamt der Betriebsstätte)".
  std::string OrganisationInRole(const std::string& organisation, const std::string& role) const {
    std::string out = Organisation(organisation);
    if (!role.empty()) out += " (" + Role(role) + ")";
    return out;
  }

 private:
  const CaseFile& file_;
  std::map<std::string, std::string> names_;
  std::map<std::string, bool> legal_;
};

// A response as a sentence: the task's answer first, then the other members it carried.
std::string ResponseText(const Value& e, const Words& w) {
  using T = rt::ResponseRecorded;
  const std::string task = Field<&T::task>(e);
  std::string t = w.OrganisationInRole(Field<&T::organisation>(e), Field<&T::role>(e)) +
                  " antwortet auf die Anfrage " + Quoted(w.Task(task));
  const Value response = rt::ViewMember<&T::response>(e);
  const dsl::Task* def = w.FindTask(task);
  std::vector<std::string> rest;
  std::string answer;
  if (response.is_object()) {
    for (const Member& m : response.members()) {
      if (m.first == "task") continue;  // named above
      if (def != nullptr && !def->answer.empty() && m.first == def->answer) {
        answer = m.second.is_null() ? "–" : Text(m.second);
      } else {
        Flatten(m.second, m.first, &rest);
      }
    }
  } else if (!response.is_null()) {
    Flatten(response, "", &rest);
  }
  if (!answer.empty()) t += ": " + Quoted(answer);
  t += ".";
  if (!rest.empty()) t += " Angaben: " + Joined(rest, "; ") + ".";
  return t;
}

std::string CertificateText(const Value& e, const Words& w) {
  using T = rt::CertificateIssued;
  std::string t = "Bescheinigung über den Eintritt der Genehmigungsfiktion ausgestellt";
  const std::string by = Field<&T::requested_by>(e);
  if (!by.empty()) t += ", beantragt von " + w.Organisation(by);
  t += ".";
  const std::string deadline = Field<&T::deadline>(e);
  if (!deadline.empty()) t += " Abgelaufen ist die Frist " + Quoted(w.Deadline(deadline)) + ".";
  const std::string effect = Field<&T::effect>(e);
  if (!effect.empty()) t += " Wirkung: " + effect + ".";
  const std::string basis = Field<&T::basis>(e);
  if (!basis.empty()) t += " Rechtsgrundlage: " + basis + ".";
  return t;
}

// One event of the history as HTML: a sentence, with its times in German time.
std::string DescribeHtml(const Value& e, const Words& w) {
  std::optional<rt::DomainType> type = TypeOfView(e);
  auto esc = [](const std::string& s) { return HtmlEscape(s); };
  switch (type.value_or(rt::DomainType::kInputRejected)) {
    case rt::DomainType::kCaseOpened:
      return esc("Fall eröffnet im Verfahren " + Field<&rt::CaseOpened::workflow>(e) +
                 ", Version " + Field<&rt::CaseOpened::version>(e) + ".");
    case rt::DomainType::kParticipantResolved: {
      using T = rt::ParticipantResolved;
      return esc("Beteiligt als " + w.Role(Field<&T::role>(e)) + ": " +
                 w.Organisation(Field<&T::organisation>(e)) + ".");
    }
    case rt::DomainType::kStateEntered: {
      using T = rt::StateEntered;
      std::string t = "Das Verfahren ist im Schritt " + Quoted(w.State(Field<&T::state>(e)));
      const std::string from = Field<&T::from>(e);
      if (!from.empty()) t += " (vorher " + Quoted(w.State(from)) + ")";
      return esc(t + ".");
    }
    case rt::DomainType::kVariableSet: {
      using T = rt::VariableSet;
      std::vector<std::string> parts;
      Flatten(rt::ViewMember<&T::value>(e), "", &parts);
      return esc("Festgehalten: " + Field<&T::name>(e) + " = " + Joined(parts, "; ") + ".");
    }
    case rt::DomainType::kNotificationDisclosed: {
      using T = rt::NotificationDisclosed;
      std::string t =
          "Mitteilung an " + w.OrganisationInRole(Field<&T::organisation>(e), Field<&T::role>(e));
      const std::string message = Field<&T::message>(e);
      if (!message.empty()) t += ": " + Quoted(message);
      t += ".";
      const std::string basis = Field<&T::basis>(e);
      if (!basis.empty()) t += " Rechtsgrundlage: " + basis + ".";
      return esc(t);
    }
    case rt::DomainType::kTaskRequested: {
      using T = rt::TaskRequested;
      std::string t = "Anfrage " + Quoted(w.Task(Field<&T::task>(e))) + " an " +
                      w.OrganisationInRole(Field<&T::organisation>(e), Field<&T::role>(e)) + ".";
      const std::string basis = Field<&T::basis>(e);
      if (!basis.empty()) t += " Rechtsgrundlage: " + basis + ".";
      return esc(t);
    }
    case rt::DomainType::kResponseRecorded:
      return esc(ResponseText(e, w));
    case rt::DomainType::kTaskCompleted:
      return esc("Die Anfrage " + Quoted(w.Task(Field<&rt::TaskCompleted::task>(e))) +
                 " ist erledigt.");
    case rt::DomainType::kDeadlineStarted: {
      using T = rt::DeadlineStarted;
      const std::string d = Field<&T::deadline>(e);
      const bool legal = Field<&T::calendar>(e) == "legal";
      std::string t =
          esc("Die Frist " + Quoted(w.Deadline(d)) + " (" + Field<&T::duration>(e) +
              (legal ? ", gesetzliche Fristberechnung" : ", genau gerechnet") + ") läuft bis ") +
          DueHtml(Field<&T::due>(e), legal) + ".";
      // The days the end was moved over (the legal calendar's members, flattened into the data).
      std::vector<std::string> skipped;
      for (const Value& day : e["data"]["skipped"].items())
        skipped.push_back(Text(day));
      if (!skipped.empty()) t += esc(" Verschoben über: " + Joined(skipped, ", ") + ".");
      return t;
    }
    case rt::DomainType::kDeadlineExtended: {
      using T = rt::DeadlineExtended;
      const std::string d = Field<&T::deadline>(e);
      std::string t = esc("Die Frist " + Quoted(w.Deadline(d)) + " ist verlängert bis ") +
                      DueHtml(Field<&T::due>(e), w.Legal(d)) + ".";
      const std::string reason = Field<&T::reason>(e);
      if (!reason.empty()) t += esc(" Grund: " + reason + ".");
      const std::string by = Field<&T::by>(e);
      if (!by.empty()) t += esc(" Verlängert von " + w.Organisation(by) + ".");
      return t;
    }
    case rt::DomainType::kDeadlineExpired: {
      using T = rt::DeadlineExpired;
      const std::string d = Field<&T::deadline>(e);
      std::string t = esc("Die Frist " + Quoted(w.Deadline(d)) + " ist abgelaufen (") +
                      DueHtml(Field<&T::due>(e), w.Legal(d)) + ").";
      const std::string effect = Field<&T::effect>(e);
      if (!effect.empty()) t += esc(" Wirkung: " + effect + ".");
      return t;
    }
    case rt::DomainType::kDeadlineCancelled: {
      using T = rt::DeadlineCancelled;
      std::string t = "Die Frist " + Quoted(w.Deadline(Field<&T::deadline>(e))) + " ist aufgehoben";
      const std::string reason = Field<&T::reason>(e);
      if (!reason.empty()) t += ": " + reason;
      return esc(t + ".");
    }
    case rt::DomainType::kCertificateIssued:
      return esc(CertificateText(e, w));
    case rt::DomainType::kCaseClosed: {
      using T = rt::CaseClosed;
      return esc("Der Fall ist abgeschlossen: " + std::string(OutcomeText(Field<&T::outcome>(e))) +
                 ", im Schritt " + Quoted(w.State(Field<&T::state>(e))) + ".");
    }
    case rt::DomainType::kInputRejected: {
      if (!type.has_value()) return esc(e["data"].ToJson());
      using T = rt::InputRejected;
      std::string t =
          "Eine Eingabe (" + Field<&T::input_type>(e) + ", " + Field<&T::input>(e) + ")";
      const std::string from = Field<&T::participant>(e);
      if (!from.empty()) t += " von " + w.Organisation(from);
      return esc(t + " wurde nicht angenommen (" + Field<&T::kind>(e) +
                 "): " + Field<&T::reason>(e));
    }
    case rt::DomainType::kNotificationUndeliverable: {
      using T = rt::NotificationUndeliverable;
      std::string t = "Die Mitteilung an " + w.Role(Field<&T::role>(e));
      const std::string message = Field<&T::message>(e);
      if (!message.empty()) t += " (" + Quoted(message) + ")";
      return esc(t + " war nicht zustellbar: " + Field<&T::reason>(e));
    }
    case rt::DomainType::kCaseErased:
      return esc("Die personenbezogenen Daten des Falls sind gelöscht (Rechtsgrundlage: " +
                 Field<&rt::CaseErased::basis>(e) + "): " + Field<&rt::CaseErased::reason>(e));
    case rt::DomainType::kCaseMigrated: {
      using T = rt::CaseMigrated;
      return esc("Der Fall ist von Version " + Field<&T::from_version>(e) + " auf Version " +
                 Field<&T::to_version>(e) + " überführt, im Schritt " +
                 Quoted(w.State(Field<&T::to_state>(e))) + ".");
    }
  }
  return esc(e["data"].ToJson());
}

// A table row of HTML cells (already escaped).
void RowHtml(std::string* out, std::initializer_list<std::string> cells) {
  out->append("<tr>");
  for (const std::string& c : cells)
    out->append("<td>").append(c).append("</td>");
  out->append("</tr>\n");
}

void HeadRow(std::string* out, std::initializer_list<std::string_view> heads) {
  out->append("<thead><tr>");
  for (std::string_view h : heads)
    out->append("<th scope=\"col\">").append(HtmlEscape(h)).append("</th>");
  out->append("</tr></thead>\n");
}

// A wide table in a region of its own that scrolls sideways on a narrow screen (the page does
// not, WCAG 1.4.10), focusable so that a keyboard can scroll it, named by its section heading.
void TableStart(std::string* out, std::string_view heading_id) {
  out->append("<div class=\"tabelle\" role=\"region\" tabindex=\"0\" aria-labelledby=\"")
      .append(heading_id)
      .append("\">\n<table>\n");
}

constexpr std::string_view kCaseFileStyle = R"(
:root { color-scheme: light; }
*, *::before, *::after { box-sizing: border-box; }
body { font-family: system-ui, "Segoe UI", Arial, sans-serif; margin: 0; color: #1a1a1a;
  background: #fff; line-height: 1.45; overflow-wrap: break-word; }
header, main { max-width: 72rem; margin: 0 auto; padding: 1rem 1.5rem; }
header { border-bottom: 3px solid #1a1a1a; }
.art { margin: 0; font-size: 0.95rem; text-transform: uppercase; letter-spacing: 0.08em; }
h1 { font-size: 1.7rem; margin: 0.1rem 0 0.3rem; }
h2 { font-size: 1.25rem; margin: 1.8rem 0 0.4rem; border-bottom: 1px solid #999; }
.verfahren { font-size: 1.1rem; margin: 0 0 0.5rem; }
.erstellt { font-size: 0.9rem; margin: 0.3rem 0; }
.utc { font-size: 0.8rem; color: #4a4a4a; white-space: nowrap; font-variant-numeric: tabular-nums; }
time { white-space: nowrap; }
.tabelle { max-width: 100%; overflow-x: auto; }
.tabelle:focus { outline: 2px solid #0b5cab; outline-offset: 2px; }
table { border-collapse: collapse; margin: 0.3rem 0 1rem; font-size: 0.95rem; }
th, td { border: 1px solid #999; padding: 0.3rem 0.5rem; text-align: left; vertical-align: top; }
thead th { background: #eee; }
table.fakten th { width: 13rem; background: #f4f4f4; font-weight: 600; }
td.nr { text-align: right; font-variant-numeric: tabular-nums; }
@media (max-width: 40rem) {
  header, main { padding: 0.75rem 1rem; }
  h1 { font-size: 1.4rem; }
  table { font-size: 0.88rem; }
  table.fakten th { width: auto; }
  time { white-space: normal; }
}
@page { size: A4; margin: 18mm 15mm 20mm;
  @bottom-right { content: "Seite " counter(page) " von " counter(pages); font-size: 8pt; } }
@media print {
  body { font-family: "DejaVu Serif", Georgia, "Times New Roman", serif; font-size: 9.5pt;
    line-height: 1.3; color: #000; }
  header, main { max-width: none; margin: 0; padding: 0; }
  header { padding-bottom: 4mm; margin-bottom: 4mm; }
  h1 { font-size: 16pt; }
  h2 { font-size: 12pt; break-after: avoid; border-bottom-color: #000; }
  .tabelle { overflow: visible; }
  table { width: 100%; font-size: 8.5pt; }
  th, td { border-color: #000; }
  thead th, table.fakten th { background: none; }
  thead { display: table-header-group; }
  tr { break-inside: avoid; }
  .utc { color: #000; font-size: 7.5pt; }
  .tabelle:focus { outline: none; }
}
)";
}  // namespace

std::string CsvCell(std::string_view text) {
  std::string cell;
  // What a spreadsheet may start a formula with (OWASP "CSV injection"): defused by a quote.
  if (!text.empty() && std::string_view("=+-@\t\r").find(text[0]) != std::string_view::npos) {
    cell.push_back('\'');
  }
  cell.append(text);
  if (cell.find_first_of(",\"\r\n") == std::string::npos) return cell;
  std::string quoted = "\"";
  for (char c : cell) {
    if (c == '"') quoted.push_back('"');
    quoted.push_back(c);
  }
  quoted.push_back('"');
  return quoted;
}

std::string ExportJson(const CaseFile& file) {
  return ObjectBuilder()
      .Add("case", file.case_view)
      .Add("events", Value::Array(file.events))
      .Add("viewer", file.viewer)
      .Add("generated_at", FormatTimestamp(file.generated_at))
      .Build()
      .ToJson();
}

std::string ExportCsv(const CaseFile& file) {
  std::string out = "seq,time,type,cause,organisation,data\r\n";
  for (const Value& e : file.events) {
    const Value& d = e["data"];
    out += CsvCell(Text(e["seq"])) + "," + CsvCell(Text(e["time"])) + "," +
           CsvCell(Text(e["type"])) + "," + CsvCell(Text(e["cause"])) + "," +
           CsvCell(OrganisationOf(e)) + "," + CsvCell(d.ToJson()) + "\r\n";
  }
  return out;
}

std::string ExportHtml(const CaseFile& file) {
  const Value& c = file.case_view;
  const Words w(file);
  const std::string id = Text(c["case"]);
  const std::string workflow_title = file.workflow != nullptr && !file.workflow->title.empty()
                                         ? file.workflow->title
                                         : Text(c["workflow"]);
  std::string out;
  out.reserve(size_t{16} * 1024);
  out += "<!DOCTYPE html>\n<html lang=\"de\">\n<head>\n<meta charset=\"utf-8\">\n";
  out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  out += "<title>Fallakte " + HtmlEscape(id) + " – " + HtmlEscape(workflow_title) + "</title>\n";
  out += "<style>";
  out += kCaseFileStyle;
  out += "</style>\n</head>\n<body>\n<header>\n<p class=\"art\">Fallakte</p>\n";
  out += "<h1>" + HtmlEscape(id) + "</h1>\n";
  out += "<p class=\"verfahren\">" + HtmlEscape(workflow_title) + "</p>\n";
  out += "<p class=\"erstellt\">Erstellt am " + TimeHtml(FormatTimestamp(file.generated_at)) +
         " für " + HtmlEscape(file.viewer) +
         ".</p>\n<p class=\"erstellt\">Zeiten in deutscher Zeit (Europe/Berlin), daneben der "
         "Zeitstempel des Verfahrensprotokolls in UTC. Gesetzliche Fristen enden mit Ablauf "
         "(24:00 Uhr) des genannten Tages.</p>\n</header>\n<main>\n";

  out += "<section aria-labelledby=\"fall\">\n<h2 id=\"fall\">Fall</h2>\n";
  out += "<table class=\"fakten\">\n<tbody>\n";
  auto fact = [&](std::string_view head, const std::string& html) {
    out += "<tr><th scope=\"row\">" + HtmlEscape(head) + "</th><td>" + html + "</td></tr>\n";
  };
  fact("Verfahren", HtmlEscape(workflow_title + " (" + Text(c["workflow"]) + ", Version " +
                               Text(c["version"]) + ")"));
  fact("Leistungsschlüssel (LeiKa)", HtmlEscape(Text(c["leika"])));
  fact("Verfahrensschritt", HtmlEscape(w.State(Text(c["state"]))));
  fact("Eröffnet", TimeHtml(Text(c["opened_at"])));
  fact("Ergebnis", c["outcome"].is_null()
                       ? std::string("offen")
                       : HtmlEscape(std::string(OutcomeText(Text(c["outcome"]))) + ": " +
                                    w.State(Text(c["state"]))));
  if (!c["closed_at"].is_null()) fact("Abgeschlossen", TimeHtml(Text(c["closed_at"])));
  if (!c["erased_at"].is_null())
    fact("Personenbezogene Daten gelöscht", TimeHtml(Text(c["erased_at"])));
  out += "</tbody>\n</table>\n</section>\n";

  out += "<section aria-labelledby=\"beteiligte\">\n<h2 id=\"beteiligte\">Beteiligte</h2>\n";
  TableStart(&out, "beteiligte");
  HeadRow(&out, {"Rolle", "Stelle", "Kennung"});
  out += "<tbody>\n";
  for (const Value& p : c["participants"].items()) {
    const std::string org = Text(p["organisation"]);
    RowHtml(&out, {HtmlEscape(w.Role(Text(p["role"]))), HtmlEscape(w.Organisation(org)),
                   HtmlEscape(org)});
  }
  out += "</tbody>\n</table>\n</div>\n</section>\n";

  out += "<section aria-labelledby=\"fristen\">\n<h2 id=\"fristen\">Fristen</h2>\n";
  TableStart(&out, "fristen");
  HeadRow(&out, {"Frist", "Stand", "Beginn", "Ende", "Verlängerungen"});
  out += "<tbody>\n";
  for (const Value& d : c["deadlines"].items()) {
    const std::string name = Text(d["deadline"]);
    RowHtml(&out, {HtmlEscape(w.Deadline(name)),
                   HtmlEscape(std::string(DeadlineStatusText(Text(d["status"])))),
                   TimeHtml(Text(d["started"])), DueHtml(Text(d["due"]), w.Legal(name)),
                   HtmlEscape(Text(d["extensions"]))});
  }
  out += "</tbody>\n</table>\n</div>\n</section>\n";

  out +=
      "<section aria-labelledby=\"mitteilungen\">\n<h2 id=\"mitteilungen\">Mitteilungen und "
      "Anfragen: wer wann worüber informiert wurde</h2>\n";
  TableStart(&out, "mitteilungen");
  HeadRow(&out, {"Zeit", "Empfänger", "Art", "Übermittelte Angaben", "Rechtsgrundlage"});
  out += "<tbody>\n";
  for (const Value& e : file.events) {
    std::optional<rt::DomainType> type = TypeOfView(e);
    const bool request = type == rt::DomainType::kTaskRequested;
    if (type != rt::DomainType::kNotificationDisclosed && !request) continue;
    // A participant's view has the disclosed values (path -> value), the full view the paths.
    const Value f = request ? rt::ViewMember<&rt::TaskRequested::fields>(e)
                            : rt::ViewMember<&rt::NotificationDisclosed::fields>(e);
    std::vector<std::string> fields;
    if (f.is_object()) {
      Flatten(f, "", &fields);
    } else {
      for (const Value& p : f.items())
        fields.push_back(Text(p));
    }
    const std::string role =
        request ? Field<&rt::TaskRequested::role>(e) : Field<&rt::NotificationDisclosed::role>(e);
    const std::string message = Field<&rt::NotificationDisclosed::message>(e);
    const std::string kind =
        request ? "Anfrage " + Quoted(w.Task(Field<&rt::TaskRequested::task>(e)))
                : (message.empty() ? std::string("Mitteilung") : "Mitteilung " + Quoted(message));
    RowHtml(&out,
            {TimeHtml(Text(e["time"])), HtmlEscape(w.OrganisationInRole(OrganisationOf(e), role)),
             HtmlEscape(kind), HtmlEscape(Joined(fields, "; ")),
             HtmlEscape(request ? Field<&rt::TaskRequested::basis>(e)
                                : Field<&rt::NotificationDisclosed::basis>(e))});
  }
  out += "</tbody>\n</table>\n</div>\n</section>\n";

  out += "<section aria-labelledby=\"verlauf\">\n<h2 id=\"verlauf\">Verlauf</h2>\n";
  TableStart(&out, "verlauf");
  HeadRow(&out, {"Nr.", "Zeit", "Ereignis", "Beschreibung"});
  out += "<tbody>\n";
  for (const Value& e : file.events) {
    const std::string type = Text(e["type"]);
    out += "<tr><td class=\"nr\">" + HtmlEscape(Text(e["seq"])) + "</td><td>" +
           TimeHtml(Text(e["time"])) + "</td><td>" + HtmlEscape(EventTitle(TypeOfView(e), type)) +
           "</td><td>" + DescribeHtml(e, w) + "</td></tr>\n";
  }
  out += "</tbody>\n</table>\n</div>\n</section>\n</main>\n</body>\n</html>\n";
  return out;
}

}  // namespace amtsweg::http
