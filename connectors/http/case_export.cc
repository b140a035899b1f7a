#include "connectors/http/case_export.h"

#include <optional>

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

std::string Describe(const Value& e) {
  std::optional<rt::DomainType> type = TypeOfView(e);
  switch (type.value_or(rt::DomainType::kInputRejected)) {
    case rt::DomainType::kCaseOpened:
      return "Fall eröffnet: " + Field<&rt::CaseOpened::workflow>(e) + " Version " +
             Field<&rt::CaseOpened::version>(e);
    case rt::DomainType::kParticipantResolved:
      return Field<&rt::ParticipantResolved::role>(e) + ": " +
             Field<&rt::ParticipantResolved::organisation>(e) + " " +
             Field<&rt::ParticipantResolved::name>(e);
    case rt::DomainType::kStateEntered:
      return "Zustand " + Field<&rt::StateEntered::state>(e) + " (vorher " +
             Field<&rt::StateEntered::from>(e) + ")";
    case rt::DomainType::kNotificationDisclosed: {
      using T = rt::NotificationDisclosed;
      std::string t =
          "Mitteilung an " + Field<&T::organisation>(e) + " (" + Field<&T::role>(e) + ")";
      if (!rt::ViewMember<&T::basis>(e).is_null()) t += ", Rechtsgrundlage " + Field<&T::basis>(e);
      return t;
    }
    case rt::DomainType::kTaskRequested: {
      using T = rt::TaskRequested;
      std::string t = "Anfrage " + Field<&T::task>(e) + " an " + Field<&T::organisation>(e) + " (" +
                      Field<&T::role>(e) + ")";
      if (!rt::ViewMember<&T::basis>(e).is_null()) t += ", Rechtsgrundlage " + Field<&T::basis>(e);
      return t;
    }
    case rt::DomainType::kResponseRecorded:
      return "Antwort von " + Field<&rt::ResponseRecorded::organisation>(e) + " auf " +
             Field<&rt::ResponseRecorded::task>(e) + ": " +
             Field<&rt::ResponseRecorded::response>(e);
    case rt::DomainType::kDeadlineStarted:
      return "Frist " + Field<&rt::DeadlineStarted::deadline>(e) + " läuft bis " +
             Field<&rt::DeadlineStarted::due>(e);
    case rt::DomainType::kDeadlineExtended:
      return "Frist " + Field<&rt::DeadlineExtended::deadline>(e) + " verlängert bis " +
             Field<&rt::DeadlineExtended::due>(e) + ": " + Field<&rt::DeadlineExtended::reason>(e);
    case rt::DomainType::kDeadlineExpired:
      return "Frist " + Field<&rt::DeadlineExpired::deadline>(e) +
             " abgelaufen: " + Field<&rt::DeadlineExpired::effect>(e);
    case rt::DomainType::kDeadlineCancelled:
      return "Frist " + Field<&rt::DeadlineCancelled::deadline>(e) +
             " beendet: " + Field<&rt::DeadlineCancelled::reason>(e);
    case rt::DomainType::kCaseClosed:
      return "Fall abgeschlossen: " + Field<&rt::CaseClosed::outcome>(e);
    case rt::DomainType::kCaseErased:
      return "Personenbezogene Daten gelöscht (" + Field<&rt::CaseErased::basis>(e) +
             "): " + Field<&rt::CaseErased::reason>(e);
    default:
      return e["data"].ToJson();
  }
}

void Row(std::string* out, std::initializer_list<std::string> cells, const char* tag = "td") {
  out->append("<tr>");
  for (const std::string& c : cells) {
    out->append("<").append(tag).append(">");
    out->append(HtmlEscape(c));
    out->append("</").append(tag).append(">");
  }
  out->append("</tr>\n");
}

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
  const std::string id = Text(c["case"]);
  std::string out;
  out += "<!DOCTYPE html>\n<html lang=\"de\">\n<head>\n<meta charset=\"utf-8\">\n";
  out += "<title>Fallakte " + HtmlEscape(id) + "</title>\n";
  out +=
      "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:"
      "1.5em}td,th{border:1px solid #999;padding:.25em .5em;text-align:left;vertical-align:top}"
      "</style>\n</head>\n<body>\n";
  out += "<h1>Fallakte " + HtmlEscape(id) + "</h1>\n";
  out += "<p>Erstellt " + HtmlEscape(FormatTimestamp(file.generated_at)) + " für " +
         HtmlEscape(file.viewer) + "</p>\n";

  out += "<h2>Fall</h2>\n<table>\n";
  Row(&out, {"Verfahren", Text(c["workflow"]) + " Version " + Text(c["version"])});
  Row(&out, {"Leistungsschlüssel", Text(c["leika"])});
  Row(&out, {"Zustand", Text(c["state"])});
  Row(&out, {"Eröffnet", Text(c["opened_at"])});
  Row(&out, {"Ergebnis", c["outcome"].is_null() ? "offen" : Text(c["outcome"])});
  if (!c["closed_at"].is_null()) Row(&out, {"Abgeschlossen", Text(c["closed_at"])});
  out += "</table>\n";

  out += "<h2>Beteiligte</h2>\n<table>\n";
  Row(&out, {"Rolle", "Organisation"}, "th");
  for (const Value& p : c["participants"].items())
    Row(&out, {Text(p["role"]), Text(p["organisation"])});
  out += "</table>\n";

  out += "<h2>Fristen</h2>\n<table>\n";
  Row(&out, {"Frist", "Status", "Beginn", "Ende", "Verlängerungen"}, "th");
  for (const Value& d : c["deadlines"].items()) {
    Row(&out, {Text(d["deadline"]), Text(d["status"]), Text(d["started"]), Text(d["due"]),
               Text(d["extensions"])});
  }
  out += "</table>\n";

  out += "<h2>Mitteilungen (wer wurde wann worüber informiert)</h2>\n<table>\n";
  Row(&out, {"Zeit", "Organisation", "Rolle", "Art", "Felder", "Rechtsgrundlage"}, "th");
  for (const Value& e : file.events) {
    std::optional<rt::DomainType> type = TypeOfView(e);
    const bool request = type == rt::DomainType::kTaskRequested;
    if (type != rt::DomainType::kNotificationDisclosed && !request) continue;
    // A participant's view has the disclosed values (path -> value), the full view the paths.
    const Value f = request ? rt::ViewMember<&rt::TaskRequested::fields>(e)
                            : rt::ViewMember<&rt::NotificationDisclosed::fields>(e);
    std::string fields;
    if (f.is_object()) {
      for (const Member& m : f.members())
        fields += (fields.empty() ? "" : "; ") + m.first + " = " + Text(m.second);
    } else {
      for (const Value& p : f.items())
        fields += (fields.empty() ? "" : "; ") + Text(p);
    }
    Row(&out,
        {Text(e["time"]), OrganisationOf(e),
         request ? Field<&rt::TaskRequested::role>(e) : Field<&rt::NotificationDisclosed::role>(e),
         request ? "Anfrage " + Field<&rt::TaskRequested::task>(e) : "Mitteilung", fields,
         request ? Field<&rt::TaskRequested::basis>(e)
                 : Field<&rt::NotificationDisclosed::basis>(e)});
  }
  out += "</table>\n";

  out += "<h2>Verlauf</h2>\n<table>\n";
  Row(&out, {"Nr.", "Zeit", "Ereignis", "Beschreibung"}, "th");
  for (const Value& e : file.events)
    Row(&out, {Text(e["seq"]), Text(e["time"]), Text(e["type"]), Describe(e)});
  out += "</table>\n</body>\n</html>\n";
  return out;
}

}  // namespace amtsweg::http
