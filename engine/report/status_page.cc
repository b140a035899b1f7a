#include "engine/report/status_page.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iterator>
#include <set>

#include "engine/calendar/german_time.h"

namespace amtsweg::report {
namespace {

constexpr std::string_view kNone = "–";  // shown where a figure does not exist (no case)

std::string Int(uint64_t n) {
  std::string digits = std::to_string(n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += '.';  // German thousands separator
    out += digits[i];
  }
  return out;
}

std::string Decimal(double v, int places) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", places, v);
  std::string s = buf;
  std::replace(s.begin(), s.end(), '.', ',');
  return s;
}

std::string Days(const std::optional<double>& days) {
  return days.has_value() ? Decimal(*days, 1) + " Tage" : std::string(kNone);
}

std::string Percent(const std::optional<double>& share) {
  return share.has_value() ? std::to_string(std::lround(*share * 100)) + " %" : std::string(kNone);
}

std::string MonthName(std::string_view month) {
  static constexpr std::string_view kNames[] = {"Januar",    "Februar", "März",     "April",
                                                "Mai",       "Juni",    "Juli",     "August",
                                                "September", "Oktober", "November", "Dezember"};
  if (!IsMonth(month)) return std::string(month);
  int m = (month[5] - '0') * 10 + (month[6] - '0');
  return std::string(kNames[m - 1]) + " " + std::string(month.substr(0, 4));
}

struct Bar {
  std::string label;
  double value = 0;  // bar length relative to the chart's maximum
  std::string text;  // shown after the bar
};

// A horizontal bar chart in HTML: one row per bar, its label as text (it wraps, and is never cut
// off), the bar an inline SVG whose length is a percentage of the row, the figure after it. The
// chart is one image to assistive technology, named by `title` and `desc`; its numbers are in
// the table beside it. Rows sit beside their labels on wide screens and below them on narrow.
void BarChart(std::string* out, std::string_view id, std::string_view title, std::string_view desc,
              const std::vector<Bar>& bars, double max_value) {
  // The longest bar leaves room for its figure behind it.
  constexpr double kLongest = 78.0;
  *out += "<div id=\"" + HtmlEscape(id) + "\" class=\"balkendiagramm\" role=\"img\" aria-label=\"" +
          HtmlEscape(title) + ". " + HtmlEscape(desc) + "\">";
  if (bars.empty()) *out += "<p>Keine Daten</p>";
  for (const Bar& b : bars) {
    double share = max_value > 0 ? std::clamp(b.value / max_value, 0.0, 1.0) * kLongest : 0;
    std::string percent = Decimal(share, 1);
    std::replace(percent.begin(), percent.end(), ',', '.');
    *out += "<div class=\"zeile\"><span class=\"beschriftung\">" + HtmlEscape(b.label) +
            "</span><svg class=\"spur\" width=\"100%\" height=\"24\" focusable=\"false\">";
    if (share > 0)
      *out +=
          "<rect class=\"balken\" x=\"0\" y=\"2\" width=\"" + percent + "%\" height=\"20\"></rect>";
    *out += "<text class=\"wert\" x=\"" + percent + "%\" dx=\"" + (share > 0 ? "6" : "0") +
            "\" y=\"17\">" + HtmlEscape(b.text) + "</text></svg></div>";
  }
  *out += "</div>";
}

// A table in a container that scrolls sideways on its own when the table is wider than the
// screen (the page itself never does, WCAG 1.4.10); focusable, so that keyboards can scroll it.
void TableStart(std::string* out, std::string_view id, std::string_view caption) {
  *out += "<div class=\"tabelle\" role=\"region\" tabindex=\"0\" aria-labelledby=\"" +
          HtmlEscape(id) + "-titel\">\n<table id=\"" + HtmlEscape(id) + "\">\n<caption id=\"" +
          HtmlEscape(id) + "-titel\">" + HtmlEscape(caption) + "</caption>\n";
}

// One table cell with a figure; `kennzahl` names it for machines (tests, scrapers).
void Cell(std::string* out, std::string_view kennzahl, std::string_view text) {
  *out += "<td data-kennzahl=\"" + HtmlEscape(kennzahl) + "\">" + HtmlEscape(text) + "</td>";
}

void FigureCells(std::string* out, const Figures& f) {
  Cell(out, "eingang", Int(f.opened));
  Cell(out, "entschieden", Int(f.decided));
  Cell(out, "median", Days(f.median_lead_days));
  Cell(out, "fristgerecht", Percent(f.share_within_deadline()));
  Cell(out, "fiktionen", Int(f.deemed_approvals));
}

constexpr std::string_view kFigureHeads =
    "<th scope=\"col\">Eingegangene Anträge</th><th scope=\"col\">Entschieden</th>"
    "<th scope=\"col\">Bearbeitungs&shy;dauer (Median)</th>"
    "<th scope=\"col\">Frist&shy;gerecht entschieden</th>"
    "<th scope=\"col\">Genehmigungs&shy;fiktionen</th>";

constexpr std::string_view kStyle = R"(
:root { color-scheme: light; }
*, *::before, *::after { box-sizing: border-box; }
body { font-family: system-ui, "Segoe UI", Arial, sans-serif; margin: 0; color: #1a1a1a;
  background: #fff; line-height: 1.5; overflow-wrap: break-word; }
header, main, footer { max-width: 76rem; margin: 0 auto; padding: 1rem 1.5rem; }
header { border-bottom: 4px solid #0b5cab; }
h1 { font-size: 1.8rem; line-height: 1.25; margin: 0.5rem 0; hyphens: auto; }
h2 { font-size: 1.35rem; margin-top: 2rem; border-bottom: 1px solid #ccc; }
.kennzahlen { display: grid; grid-template-columns: repeat(auto-fit, minmax(11rem, 1fr));
  gap: 0.75rem; margin: 0; }
.kennzahlen div { border: 1px solid #ccc; border-radius: 4px; padding: 0.6rem 0.8rem; }
.kennzahlen dt { font-size: 0.9rem; }
.kennzahlen dd { margin: 0; font-size: 1.6rem; font-weight: 700; }
.paar { display: flex; flex-wrap: wrap; gap: 1.5rem; align-items: flex-start; }
.paar > figure { flex: 1 1 26rem; min-width: 0; }
.paar > .tabelle { flex: 1 1 100%; }
figure { margin: 0; }
figcaption, caption { font-weight: 600; text-align: left; padding: 0.3rem 0; }
.balkendiagramm { margin: 0.3rem 0; }
.zeile { display: grid; grid-template-columns: minmax(7rem, 15rem) minmax(0, 1fr); gap: 0 0.75rem;
  align-items: center; padding: 0.2rem 0; }
.beschriftung { font-size: 0.95rem; }
svg.spur { display: block; overflow: visible; font-size: 0.9rem; }
svg .balken { fill: #0b5cab; }
svg text { fill: #1a1a1a; }
.tabelle { max-width: 100%; overflow-x: auto; margin: 0.5rem 0; }
.tabelle:focus { outline: 2px solid #0b5cab; outline-offset: 2px; }
table { border-collapse: collapse; font-size: 0.9rem; }
th, td { border: 1px solid #bbb; padding: 0.3rem 0.5rem; text-align: left; vertical-align: top; }
td[data-kennzahl] { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
thead th { background: #e8eef6; }
dl.erlaeuterung dt { font-weight: 700; margin-top: 0.6rem; }
dl.erlaeuterung dd { margin-left: 1rem; }
footer { color: #444; font-size: 0.9rem; border-top: 1px solid #ccc; }
@media (max-width: 40rem) {
  header, main, footer { padding: 0.75rem 1rem; }
  h1 { font-size: 1.45rem; }
  .kennzahlen { grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 0.5rem; }
  .kennzahlen dd { font-size: 1.3rem; }
  .zeile { grid-template-columns: minmax(0, 1fr); }
  .paar > figure { flex-basis: 100%; }
  table { font-size: 0.85rem; }
}
@media print {
  .tabelle { overflow: visible; }
  h2 { break-after: avoid; }
  tr, .zeile { break-inside: avoid; }
}
)";

}  // namespace

std::string RenderStatusPage(const std::vector<CaseFacts>& facts,
                             const StatusPageOptions& options) {
  // Display names.
  std::map<std::string, std::string> service_name;
  for (const CaseFacts& f : facts) {
    if (service_name.count(f.leika) != 0) continue;
    auto named = options.service_names.find(f.leika);
    service_name[f.leika] = named != options.service_names.end() ? named->second : f.workflow;
  }
  // A municipality by its name where the directory has one: with its key in the table of
  // municipalities (`with_key`), by name alone in the charts and the month table.
  auto region_label = [&](const std::string& ags, bool with_key) {
    if (ags.empty()) return std::string("ohne Gemeindeschlüssel");
    auto named = options.region_names.find(ags);
    if (named == options.region_names.end()) return ags;
    return with_key ? named->second + " (" + ags + ")" : named->second;
  };

  Figures total = Total(facts);
  std::vector<Row> by_service = Compute(facts, Grouping{.leika = true});
  std::vector<Row> by_region = Compute(facts, Grouping{.region = true});
  std::vector<Row> by_month =
      Compute(facts, Grouping{.month = true, .leika = true, .region = true});
  std::set<std::string> months;
  for (const Row& r : by_month)
    months.insert(r.month);
  std::string caption_months = "";
  if (options.months_shown > 0 && months.size() > options.months_shown) {
    std::string first = *std::prev(months.end(), static_cast<long>(options.months_shown));
    std::erase_if(by_month, [&](const Row& r) { return r.month < first; });
    caption_months = ", die letzten " + std::to_string(options.months_shown) + " Monate";
  }
  uint64_t open = static_cast<uint64_t>(
      std::count_if(facts.begin(), facts.end(), [](const CaseFacts& f) { return f.open(); }));

  std::string out;
  out.reserve(size_t{32} * 1024);
  out += "<!DOCTYPE html>\n<html lang=\"de\">\n<head>\n<meta charset=\"utf-8\">\n";
  out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  out += "<title>" + HtmlEscape(options.title) + "</title>\n<style>";
  out += kStyle;
  out += "</style>\n</head>\n<body>\n<header>\n<h1>" + HtmlEscape(options.title) + "</h1>\n";
  out += "<p>Stand: <time id=\"stand\" datetime=\"" + HtmlEscape(FormatTimestamp(options.as_of)) +
         "\">" + HtmlEscape(calendar::GermanDateTimeText(options.as_of)) +
         "</time>. Alle Angaben ohne "
         "personenbezogene Daten, gezählt aus dem Verfahrensprotokoll.</p>\n</header>\n<main>\n";

  // Overview.
  out += "<section aria-labelledby=\"ueberblick\">\n<h2 id=\"ueberblick\">Überblick</h2>\n";
  out += "<dl class=\"kennzahlen\">\n";
  auto tile = [&](std::string_view id, std::string_view label, const std::string& value) {
    out += "<div><dt>" + HtmlEscape(label) + "</dt><dd id=\"" + HtmlEscape(id) + "\">" +
           HtmlEscape(value) + "</dd></div>\n";
  };
  tile("gesamt-eingang", "Eingegangene Anträge", Int(total.opened));
  tile("gesamt-entschieden", "Entschiedene Anträge", Int(total.decided));
  tile("gesamt-offen", "Offene Verfahren", Int(open));
  tile("gesamt-median", "Bearbeitungsdauer (Median)", Days(total.median_lead_days));
  tile("gesamt-fristgerecht", "Fristgerecht entschieden", Percent(total.share_within_deadline()));
  tile("gesamt-fiktionen", "Genehmigungs\u00adfiktionen", Int(total.deemed_approvals));
  out += "</dl>\n</section>\n";

  // Per service.
  out += "<section aria-labelledby=\"leistungen\">\n<h2 id=\"leistungen\">Nach Leistung</h2>\n";
  std::vector<Bar> opened_bars, share_bars;
  opened_bars.reserve(by_service.size());
  share_bars.reserve(by_service.size());
  double max_opened = 0;
  for (const Row& r : by_service) {
    opened_bars.push_back(
        {service_name[r.leika], static_cast<double>(r.figures.opened), Int(r.figures.opened)});
    max_opened = std::max(max_opened, static_cast<double>(r.figures.opened));
    std::optional<double> share = r.figures.share_within_deadline();
    share_bars.push_back({service_name[r.leika], share.value_or(0), Percent(share)});
  }
  out += "<div class=\"paar\">\n<figure>";
  out += "<figcaption>Abbildung 1: Eingegangene Anträge je Leistung</figcaption>";
  BarChart(&out, "diagramm-leistungen-eingang", "Eingegangene Anträge je Leistung",
           "Balkendiagramm: Zahl der eingegangenen Anträge je Leistung; die Zahlen stehen in "
           "Tabelle 1.",
           opened_bars, max_opened);
  out += "</figure>\n<figure>";
  out +=
      "<figcaption>Abbildung 2: Anteil fristgerecht entschiedener Anträge je Leistung "
      "(Leistungen ohne gesetzliche Frist: –)</figcaption>";
  BarChart(&out, "diagramm-leistungen-frist", "Anteil fristgerecht entschiedener Anträge",
           "Balkendiagramm: Anteil der Entscheidungen innerhalb der gesetzlichen Frist je "
           "Leistung (0 bis 100 Prozent); die Zahlen stehen in Tabelle 1.",
           share_bars, 1.0);
  out += "</figure>\n";
  TableStart(&out, "tabelle-leistungen",
             "Tabelle 1: Kennzahlen je Leistung (Zahlen zu Abbildung 1 und 2)");
  out += "<thead><tr><th scope=\"col\">Leistung</th><th scope=\"col\">LeiKa-Schlüssel</th>";
  out += kFigureHeads;
  out += "</tr></thead>\n<tbody>\n";
  for (const Row& r : by_service) {
    out += "<tr id=\"leistung-" + HtmlEscape(r.leika) + "\"><th scope=\"row\">" +
           HtmlEscape(service_name[r.leika]) + "</th><td>" + HtmlEscape(r.leika) + "</td>";
    FigureCells(&out, r.figures);
    out += "</tr>\n";
  }
  out += "</tbody>\n</table>\n</div>\n</div>\n</section>\n";

  // Per municipality.
  out += "<section aria-labelledby=\"gemeinden\">\n<h2 id=\"gemeinden\">Nach Gemeinde</h2>\n";
  std::vector<Bar> region_bars;
  region_bars.reserve(by_region.size());
  double max_region = 0;
  for (const Row& r : by_region) {
    region_bars.push_back({region_label(r.region, false), static_cast<double>(r.figures.opened),
                           Int(r.figures.opened)});
    max_region = std::max(max_region, static_cast<double>(r.figures.opened));
  }
  out += "<div class=\"paar\">\n<figure>";
  out += "<figcaption>Abbildung 3: Eingegangene Anträge je Gemeinde</figcaption>";
  BarChart(&out, "diagramm-gemeinden-eingang", "Eingegangene Anträge je Gemeinde",
           "Balkendiagramm: Zahl der eingegangenen Anträge je Gemeinde; die Zahlen stehen in "
           "Tabelle 2.",
           region_bars, max_region);
  out += "</figure>\n";
  TableStart(&out, "tabelle-gemeinden",
             "Tabelle 2: Kennzahlen je Gemeinde (Zahlen zu Abbildung 3)");
  out += "<thead><tr><th scope=\"col\">Gemeinde (Amtlicher Gemeindeschlüssel)</th>";
  out += kFigureHeads;
  out += "</tr></thead>\n<tbody>\n";
  for (const Row& r : by_region) {
    out += "<tr id=\"gemeinde-" + HtmlEscape(r.region) + "\"><th scope=\"row\">" +
           HtmlEscape(region_label(r.region, true)) + "</th>";
    FigureCells(&out, r.figures);
    out += "</tr>\n";
  }
  out += "</tbody>\n</table>\n</div>\n</div>\n</section>\n";

  // Per month, service and municipality.
  out +=
      "<section aria-labelledby=\"monate\">\n<h2 id=\"monate\">Nach Monat, Leistung und "
      "Gemeinde</h2>\n";
  TableStart(&out, "tabelle-monate",
             "Tabelle 3: Kennzahlen je Monat, Leistung und Gemeinde" + caption_months);
  out +=
      "<thead><tr><th scope=\"col\">Monat</th><th scope=\"col\">Leistung</th><th "
      "scope=\"col\">Gemeinde</th>";
  out += kFigureHeads;
  out += "</tr></thead>\n<tbody>\n";
  for (const Row& r : by_month) {
    out += "<tr id=\"monat-" + HtmlEscape(r.month) + "-" + HtmlEscape(r.leika) + "-" +
           HtmlEscape(r.region) + "\"><th scope=\"row\">" + HtmlEscape(MonthName(r.month)) +
           "</th><td>" + HtmlEscape(service_name[r.leika]) + "</td><td>" +
           HtmlEscape(region_label(r.region, false)) + "</td>";
    FigureCells(&out, r.figures);
    out += "</tr>\n";
  }
  out += "</tbody>\n</table>\n</div>\n</section>\n";

  // Definitions.
  out += R"(<section aria-labelledby="erlaeuterungen">
<h2 id="erlaeuterungen">Erläuterungen</h2>
<dl class="erlaeuterung">
<dt>Eingegangene Anträge</dt><dd>Verfahren, die eröffnet wurden (im jeweiligen Monat, nach deutscher Zeit).</dd>
<dt>Entschieden</dt><dd>Verfahren, die mit einer Entscheidung abgeschlossen wurden: genehmigt, abgelehnt, zur Kenntnis genommen (Anzeigen) oder durch Genehmigungsfiktion. Zurückgenommene Anträge zählen nicht. In der Monatstabelle zählt der Monat der Entscheidung.</dd>
<dt>Bearbeitungsdauer (Median)</dt><dd>Der mittlere Wert (Median) der Zeit vom Eingang bis zur Entscheidung, in Tagen, über die entschiedenen Verfahren.</dd>
<dt>Fristgerecht entschieden</dt><dd>Anteil der entschiedenen Verfahren mit gesetzlicher Frist, in denen keine Frist abgelaufen ist. Leistungen ohne gesetzliche Frist werden nicht bewertet (–).</dd>
<dt>Genehmigungsfiktion</dt><dd>Die Genehmigung gilt als erteilt, weil die Behörde nicht innerhalb der gesetzlichen Frist entschieden hat (§ 42a Verwaltungsverfahrensgesetz).</dd>
</dl>
</section>
</main>
<footer><p>Diese Seite enthält keine personenbezogenen Daten und lädt keine externen Inhalte.</p></footer>
</body>
</html>
)";
  return out;
}

}  // namespace amtsweg::report
