#include "connectors/http/case_export.h"

namespace amtsweg::http {

namespace {

// A scalar as text (strings without quotes), anything else as compact JSON.
std::string Text(const Value& v) {
  if (v.is_null()) return "";
  if (v.is_string()) return v.as_string();
  return v.ToJson();
}

std::string Describe(const Value& e) {
  const std::string& type = e["type"].as_string();
  const Value& d = e["data"];
  auto s = [&](const char* key) { return Text(d[key]); };
  if (type == "case.opened") return "Fall eröffnet: " + s("workflow") + " Version " + s("version");
  if (type == "participant.resolved") return s("role") + ": " + s("organisation") + " " + s("name");
  if (type == "state.entered") return "Zustand " + s("state") + " (vorher " + s("from") + ")";
  if (type == "notification.disclosed" || type == "task.requested") {
    std::string t =
        (type == "task.requested" ? "Anfrage " + s("task") + " an " : "Mitteilung an ") +
        s("organisation") + " (" + s("role") + ")";
    if (!d["basis"].is_null()) t += ", Rechtsgrundlage " + s("basis");
    return t;
  }
  if (type == "response.recorded")
    return "Antwort von " + s("organisation") + " auf " + s("task") + ": " + s("response");
  if (type == "deadline.started") return "Frist " + s("deadline") + " läuft bis " + s("due");
  if (type == "deadline.extended")
    return "Frist " + s("deadline") + " verlängert bis " + s("due") + ": " + s("reason");
  if (type == "deadline.expired") return "Frist " + s("deadline") + " abgelaufen: " + s("effect");
  if (type == "deadline.cancelled") return "Frist " + s("deadline") + " beendet: " + s("reason");
  if (type == "case.closed") return "Fall abgeschlossen: " + s("outcome");
  return d.ToJson();
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
  if (!text.empty() && (text[0] == '=' || text[0] == '+' || text[0] == '-' || text[0] == '@')) {
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
           CsvCell(Text(d["organisation"])) + "," + CsvCell(d.ToJson()) + "\r\n";
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
    const std::string& type = e["type"].as_string();
    if (type != "notification.disclosed" && type != "task.requested") continue;
    const Value& d = e["data"];
    std::string fields;
    const Value& f = d["fields"];
    if (f.is_object()) {
      for (const Member& m : f.members())
        fields += (fields.empty() ? "" : "; ") + m.first + " = " + Text(m.second);
    } else {
      for (const Value& p : f.items())
        fields += (fields.empty() ? "" : "; ") + Text(p);
    }
    Row(&out, {Text(e["time"]), Text(d["organisation"]), Text(d["role"]),
               type == "task.requested" ? "Anfrage " + Text(d["task"]) : "Mitteilung", fields,
               Text(d["basis"])});
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
