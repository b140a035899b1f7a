#!/usr/bin/env python3
"""Writes the sample event streams in this folder (sample data, invented people and firms).

The streams are CloudEvents 1.0 in structured JSON, one per line, as a portal, the participants
and an operator would send them. They cover consecutive periods so that they can be read one
after the other in name order (the engine's clock follows event time in file mode):

  01-gewerbeanmeldung.jsonl  January - February 2026
  02-bauantrag.jsonl         March - June 2026
  03-handwerksrolle.jsonl    July - November 2026
  04-bimschg.jsonl           December 2026 - 2027 (and a Handwerksrolle case of 2027 whose
                             period ends over Whit Monday)
  05-bad-events.jsonl        2027: malformed and refused input of every kind

Deadlines that have not expired by the end of the last stream expire when the engine's clock is
moved past them (`amtsweg run --advance-to 2028-12-31T00:00:00Z`, as scripts/demo does).
Run with python3 (stdlib + PyYAML); the output is deterministic.
"""
import json
import os
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
DIRECTORY = yaml.safe_load(open(os.path.join(HERE, "..", "directory", "schleswig-holstein.yaml")))
PORTAL = "https://portal.example.schleswig-holstein.de/ozg"
PORTAL_ID = "ozg-portal-sh"  # the directory's portal with PORTAL among its sources
# A scanned paper application: its source is no portal, so the applicant has no reply channel.
SCAN = "urn:amtsweg:scan:poststelle-kiel"


def reply(case):
    """The applicant's postbox at the portal (sample values)."""
    return {"reference": "postfach-" + case.lower()}


def org(function, ags):
    """The organisation the engine will resolve: longest area prefix, then smallest id."""
    best = None
    for o in DIRECTORY["organisations"]:
        if function not in o.get("functions", []):
            continue
        areas = o.get("area") or [""]
        for a in areas:
            if ags.startswith(a) and (best is None or (len(a), "~" + o["id"]) > best[0]):
                best = ((len(a), "~" + o["id"]), o["id"])
    assert best, f"no {function} for {ags}"
    return best[1]


class Stream:
    def __init__(self, name):
        self.name = name
        self.lines = []
        self.n = 0

    def event(self, type_, subject, time, data=None, participant=None, source=None, eid=None,
              **extra):
        self.n += 1
        ev = {"specversion": "1.0",
              "id": eid or f"{self.name}-{self.n:04d}",
              "source": source or (f"urn:amtsweg:org:{participant}" if participant else PORTAL),
              "type": type_}
        if subject is not None:
            ev["subject"] = subject
        ev["time"] = time
        if participant:
            ev["participant"] = participant
        ev.update(extra)
        ev["datacontenttype"] = "application/json"
        ev["data"] = data if data is not None else {}
        self.lines.append((time, json.dumps(ev, ensure_ascii=False, separators=(",", ":"))))
        return ev["id"]

    def raw(self, line):
        self.lines.append((self.lines[-1][0] if self.lines else "", line))

    def submit(self, case, time, data, source=None):
        return self.event("de.amtsweg.application.submitted", case, time, data, source=source)

    def respond(self, case, time, participant, task, **fields):
        return self.event("de.amtsweg.task.responded", case, time, dict(task=task, **fields),
                          participant)

    def write(self):
        path = os.path.join(HERE, self.name + ".jsonl")
        # In time order, as the sources would deliver them (a stable sort keeps same-time order).
        lines = [line for _, line in sorted(self.lines, key=lambda tl: tl[0])]
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")


def gewerbe():
    s = Stream("01-gewerbeanmeldung")
    firms = [
        # case, ags (or ARS), name, activity, craft (Anlage HwO), Handwerkskarte, scales,
        # HWK answer, decision
        ("GA-2026-0001", "01002000", "Bäckerei Jensen", "Bäckerei und Konditorei", "A",
         "HK-KI-2019-0815", True, "eingetragen", "accepted"),
        ("GA-2026-0002", "01003000", "Nordlicht IT-Beratung", "IT-Beratung und Softwareentwicklung",
         None, None, False, None, "accepted"),
        ("GA-2026-0003", "01001000", "Förde Kiosk", "Einzelhandel mit Zeitschriften und Tabakwaren",
         None, None, True, None, "rejected"),
        ("GA-2026-0004", "01054056", "Husumer Dachdeckerei Petersen", "Dachdeckerei", "A", None,
         False, None, None),
        ("GA-2026-0005", "01056015", "Elmshorner Fliesenlegerei", "Fliesen-, Platten- und "
         "Mosaiklegerei", "B1", None, False, None, "accepted"),
        # Kiel, given as its 12-digit ARS: a craft of Anlage A not entered in the Handwerksrolle.
        ("GA-2026-0006", "010020000000", "Elektro Lorenz", "Elektrotechnik", "A", None, False,
         "nicht_eingetragen", "accepted"),
        # A paper notification scanned by the post room: no portal, so no reply channel.
        ("GA-2026-0007", "01002000", "Kieler Buchbinderei", "Buchbinderei", None, None, False,
         None, "accepted"),
    ]
    names = ["Jensen", "Hansen", "Carstensen", "Petersen", "Lorenzen", "Lorenz", "Brodersen"]
    first = ["Anna", "Ole", "Maren", "Jan", "Fiete", "Lars", "Inken"]
    for i, (case, key, name, activity, craft, card, scales, hwk, decision) in enumerate(firms):
        day = 5 + 3 * i
        ags = key if len(key) == 8 else key[:5] + key[9:]
        data = {
            "leika": "99050012104000",
            "anmeldung": {"grund": "Neuerrichtung"},
            "betrieb": {"name": name, "anschrift": f"Hauptstraße {i + 1}, {ags[:5]} (Beispiel)",
                        "ags": key, "taetigkeit": activity, "wirtschaftszweig": "10.71",
                        "rechtsform": "Einzelunternehmen", "beginn": "2026-02-01",
                        "beschaeftigte": 2 + i, "register": None, "handwerk": craft,
                        "messgeraete": scales},
            "inhaber": {"name": names[i], "vorname": first[i],
                        "geburtsdatum": f"198{i}-0{i + 1}-15",
                        "anschrift": f"Wohnweg {i + 7}, {ags[:5]} (Beispiel)",
                        "staatsangehoerigkeit": "deutsch"},
        }
        if card:
            data["betrieb"]["handwerkskarte"] = card
        source = SCAN if case == "GA-2026-0007" else None
        if source is None:
            data["reply_channel"] = reply(case)
        s.submit(case, f"2026-01-{day:02d}T08:{10 + i:02d}:00Z", data, source=source)
        office = org("gewerbeamt", ags)
        if hwk == "eingetragen":
            s.respond(case, f"2026-01-{day:02d}T14:00:00Z", org("hwk", ags), "handwerksrolle",
                      decision="eingetragen", handwerkskarte=card)
        elif hwk == "nicht_eingetragen":
            s.respond(case, f"2026-01-{day:02d}T14:00:00Z", org("hwk", ags), "handwerksrolle",
                      decision="nicht_eingetragen")
        if decision == "accepted":
            s.respond(case, f"2026-01-{day + 1:02d}T10:00:00Z", office, "pruefung",
                      decision="accepted")
        elif decision == "rejected":
            s.respond(case, f"2026-01-{day + 1:02d}T10:00:00Z", office, "pruefung",
                      decision="rejected", reason="Angaben zur Betriebsstätte unvollständig")
        else:
            # The applicant withdraws before the office has checked the notification.
            s.event("de.amtsweg.application.withdrawn", case, f"2026-01-{day + 2:02d}T09:00:00Z",
                    {"reason": "Betriebsgründung verschoben"})
    s.write()


def bauantrag():
    s = Stream("02-bauantrag")
    # A: a house in Elmshorn (§34 BauGB): documents missing first, the municipality stays
    # silent, so its consent is deemed given after two months; the hearing completes.
    a, ags_a = "BA-2026-0001", "01056015"
    s.submit(a, "2026-03-02T09:00:00Z", {
        "leika": "99066002000000",
        "grundstueck": {"ags": ags_a, "anschrift": "Rosenweg 4, 25335 Elmshorn",
                        "flurstueck": "Gemarkung Elmshorn, Flur 12, Flurstück 88/3"},
        "vorhaben": {"bezeichnung": "Neubau eines Einfamilienhauses mit Carport",
                     "art": "Wohngebäude", "planungsrecht": "34", "denkmal": False},
        "bauherr": {"name": "Thomsen", "vorname": "Kirsten", "anschrift": "Am Markt 1, 25335 Elmshorn"},
        "entwurfsverfasser": {"name": "Architekturbüro Nord", "anschrift": "Kiel"},
        "unterlagen": ["Lageplan", "Bauzeichnungen", "Baubeschreibung"],
        "reply_channel": reply(a)})
    ba = org("bauaufsicht", ags_a)
    s.event("de.amtsweg.documents.requested", a, "2026-03-09T10:00:00Z",
            {"missing": ["Standsicherheitsnachweis"]}, ba)
    s.event("de.amtsweg.documents.completed", a, "2026-03-20T10:00:00Z", {}, ba)
    s.respond(a, "2026-04-02T10:00:00Z", org("naturschutz", ags_a), "anhoerung",
              statement="Keine Bedenken")
    s.respond(a, "2026-04-08T10:00:00Z", org("brandschutz", ags_a), "anhoerung",
              statement="Keine Bedenken bei Einhaltung der Auflagen")
    # B: an extension in Pinneberg on a listed building (§35); the municipality refuses.
    b, ags_b = "BA-2026-0002", "01056039"
    s.submit(b, "2026-03-16T09:30:00Z", {
        "leika": "99066002000000",
        "grundstueck": {"ags": ags_b, "anschrift": "Dingstätte 20, 25421 Pinneberg",
                        "flurstueck": "Gemarkung Pinneberg, Flur 3, Flurstück 17"},
        "vorhaben": {"bezeichnung": "Anbau an ein denkmalgeschütztes Wohnhaus",
                     "art": "Erweiterung", "planungsrecht": "35", "denkmal": True},
        "bauherr": {"name": "Möller", "vorname": "Hauke", "anschrift": "Dingstätte 20, Pinneberg"},
        "entwurfsverfasser": {"name": "Ingenieurbüro West", "anschrift": "Pinneberg"},
        "unterlagen": ["Lageplan", "Bauzeichnungen", "Denkmalpflegerisches Gutachten"],
        "reply_channel": reply(b)})
    bb = org("bauaufsicht", ags_b)
    s.event("de.amtsweg.documents.completed", b, "2026-03-23T10:00:00Z", {}, bb)
    s.respond(b, "2026-04-10T10:00:00Z", org("gemeinde", ags_b), "einvernehmen",
              decision="refused", reason="Vorhaben im Außenbereich beeinträchtigt öffentliche Belange")
    for function, when in (("naturschutz", "2026-04-14"), ("denkmalschutz", "2026-04-20"),
                           ("brandschutz", "2026-04-21")):
        s.respond(b, f"{when}T10:00:00Z", org(function, ags_b), "anhoerung",
                  statement="Stellungnahme liegt vor")
    s.respond(b, "2026-05-04T10:00:00Z", bb, "bescheid", decision="rejected",
              reason="Einvernehmen der Gemeinde versagt")
    # A continues after the consent was deemed given (end of 20 May): the decision.
    s.respond(a, "2026-06-01T10:00:00Z", ba, "bescheid", decision="approved")
    s.write()


def handwerksrolle():
    s = Stream("03-handwerksrolle")

    def application(ags, name, gewerk, ausnahme=None, case=None):
        return {"leika": "99052004000000",
                "reply_channel": reply(case),
                "antragsteller": {"name": name, "vorname": "Sönke", "geburtsdatum": "1979-05-05",
                                  "anschrift": "Beispielweg 3"},
                "betrieb": {"name": f"{gewerk} {name}", "anschrift": "Werkstraße 9", "ags": ags,
                            "rechtsform": "Einzelunternehmen"},
                "handwerk": {"gewerk": gewerk, "anlage": "A",
                             "qualifikation": "Meisterprüfung" if ausnahme is None else "Gesellenprüfung und Berufserfahrung",
                             "nachweise": ["Meisterbrief"] if ausnahme is None else ["Gesellenbrief", "Arbeitszeugnisse"],
                             "betriebsleiter": name, "ausnahme": ausnahme}}

    # A: Kiel; the IHK objects, the HWK enters the business nevertheless.
    a, ags = "HR-2026-0001", "01002000"
    s.submit(a, "2026-07-01T08:00:00Z", application(ags, "Rathje", "Tischler", case=a))
    hwk, ihk = org("hwk", ags), org("ihk", ags)
    s.event("de.amtsweg.documents.completed", a, "2026-07-06T09:00:00Z", {}, hwk)
    s.respond(a, "2026-07-20T09:00:00Z", ihk, "ihk_anhoerung", objection=True,
              reason="Tätigkeit überwiegend handelsbezogen")
    s.respond(a, "2026-08-03T09:00:00Z", hwk, "eintragung", decision="approved")
    # B: Rendsburg; the HWK stays silent: the entry is deemed made after three months, and a
    # certificate of the deemed entry is requested afterwards.
    b, ags_b = "HR-2026-0002", "01058135"
    s.submit(b, "2026-07-07T08:00:00Z", application(ags_b, "Voss", "Elektrotechniker", case=b))
    hwk_b, ihk_b = org("hwk", ags_b), org("ihk", ags_b)
    s.event("de.amtsweg.documents.completed", b, "2026-07-10T09:00:00Z", {}, hwk_b)
    s.respond(b, "2026-07-24T09:00:00Z", ihk_b, "ihk_anhoerung", objection=False)
    # C: Lübeck; the HWK extends the period once with reasons, then decides.
    c, ags_c = "HR-2026-0003", "01003000"
    s.submit(c, "2026-07-13T08:00:00Z", application(ags_c, "Brandt", "Friseur", case=c))
    hwk_c, ihk_c = org("hwk", ags_c), org("ihk", ags_c)
    # The master craftsman's certificate is missing at first (§71b Abs. 4 VwVfG).
    s.event("de.amtsweg.documents.requested", c, "2026-07-14T09:00:00Z",
            {"missing": ["Meisterbrief (beglaubigte Kopie)"]}, hwk_c)
    s.event("de.amtsweg.documents.completed", c, "2026-07-15T09:00:00Z", {}, hwk_c)
    s.respond(c, "2026-07-29T09:00:00Z", ihk_c, "ihk_anhoerung", objection=False)
    s.event("de.amtsweg.deadline.extended", c, "2026-09-01T09:00:00Z",
            {"deadline": "eintragung", "duration": "P1M",
             "reason": "Gleichwertigkeit der ausländischen Qualifikation wird geprüft"}, hwk_c)
    # D: Schleswig; an exception under §8 HwO, granted by the Land authority.
    d, ags_d = "HR-2026-0004", "01059075"
    s.submit(d, "2026-07-20T08:00:00Z",
             application(ags_d, "Jessen", "Kfz-Techniker", "8", case=d))
    hwk_d, ihk_d = org("hwk", ags_d), org("ihk", ags_d)
    s.event("de.amtsweg.documents.completed", d, "2026-07-22T09:00:00Z", {}, hwk_d)
    s.respond(d, "2026-08-19T09:00:00Z", "wirtschaftsministerium-sh", "ausnahme",
              decision="granted")
    s.respond(d, "2026-08-26T09:00:00Z", ihk_d, "ihk_anhoerung", objection=False)
    s.respond(d, "2026-09-14T09:00:00Z", hwk_d, "eintragung", decision="approved")
    # C's decision within the extended period (3 months from 15 July end 15 October, + 1 month).
    s.respond(c, "2026-11-02T09:00:00Z", hwk_c, "eintragung", decision="approved")
    # B's period ended with 12 October: the applicant requests the certificate through the
    # portal in November.
    s.event("de.amtsweg.certificate.requested", b, "2026-11-16T09:00:00Z",
            {"reason": "Nachweis gegenüber der Bank"}, PORTAL_ID, source=PORTAL)
    s.write()


def bimschg():
    s = Stream("04-bimschg")
    # A: a wind farm near Husum. The municipality refuses its consent, the Kreis replaces it,
    # three of four bodies are heard, the public participation ends, the decision period is
    # extended once, and the Landesamt approves.
    a, ags = "BI-2026-0001", "01054056"
    app = {"leika": "99106006000000",
           "standort": {"ags": ags, "gemarkung": "Husum", "flurstueck": "Flur 4, Flurstücke 10-14",
                        "koordinaten": "54.4858 N, 9.0524 E"},
           "anlage": {"typ": "Windenergieanlage", "anzahl": 3, "nabenhoehe": 120,
                      "rotordurchmesser": 150, "gesamthoehe": 195, "leistung_mw": 5.6},
           "vorhabentraeger": {"name": "Bürgerwindpark Nordsee GmbH & Co. KG",
                               "anschrift": "Deichstraße 2, 25813 Husum"},
           "unterlagen": ["Schallgutachten", "Schattenwurfgutachten", "Artenschutzgutachten"],
           "reply_channel": reply(a)}
    s.submit(a, "2026-12-01T08:00:00Z", app)
    s.event("de.amtsweg.documents.completed", a, "2026-12-15T09:00:00Z", {}, "lfu-sh")
    s.respond(a, "2027-01-12T09:00:00Z", org("gemeinde", ags), "einvernehmen", decision="refused",
              reason="Abstand zur Wohnbebauung")
    s.respond(a, "2027-01-20T09:00:00Z", org("naturschutz", ags), "anhoerung",
              statement="Auflagen zum Fledermausschutz")
    s.respond(a, "2027-01-27T09:00:00Z", "luftfahrtbehoerde-sh", "anhoerung",
              statement="Kennzeichnungspflicht")
    s.respond(a, "2027-02-03T09:00:00Z", "baiudbw", "anhoerung", statement="Keine Einwände")
    s.respond(a, "2027-02-17T09:00:00Z", org("kommunalaufsicht", ags), "ersetzung",
              decision="replaced", reason="Versagung rechtswidrig (§36 Abs. 2 Satz 3 BauGB)")
    s.event("de.amtsweg.public-participation.completed", a, "2027-03-10T09:00:00Z",
            {"erorterungstermin": "2027-03-03"}, "lfu-sh")
    s.event("de.amtsweg.deadline.extended", a, "2027-06-01T09:00:00Z",
            {"deadline": "entscheidungsfrist", "duration": "P3M",
             "reason": "Komplexität des Vorhabens, ergänzendes Artenschutzgutachten"}, "lfu-sh")
    s.respond(a, "2027-08-02T09:00:00Z", "lfu-sh", "bescheid", decision="approved")
    # B: a second wind farm near Schleswig where no decision is made in time: the period
    # expires and the supervisory authority is told (no deemed approval under the BImSchG).
    b, ags_b = "BI-2026-0002", "01059075"
    app_b = json.loads(json.dumps(app))
    app_b["standort"] = {"ags": ags_b, "gemarkung": "Schleswig", "flurstueck": "Flur 9, Flurstück 2",
                         "koordinaten": "54.5153 N, 9.5697 E"}
    app_b["vorhabentraeger"] = {"name": "Schleiwind GmbH", "anschrift": "Schleswig"}
    app_b["reply_channel"] = reply(b)
    s.submit(b, "2026-12-07T08:00:00Z", app_b)
    s.event("de.amtsweg.documents.completed", b, "2026-12-21T09:00:00Z", {}, "lfu-sh")
    s.respond(b, "2027-01-18T09:00:00Z", org("gemeinde", ags_b), "einvernehmen", decision="granted")
    # A Handwerksrolle case of 2027 (in this stream, which covers 2027): the documents are
    # complete on Wednesday 17 February 2027; three months end on Monday 17 May, Whit Monday, so
    # the entry is deemed made at the end of Tuesday 18 May (§31 Abs. 3 VwVfG).
    h, ags_h = "HR-2027-0001", "01002000"
    s.submit(h, "2027-02-10T08:00:00Z", {
        "leika": "99052004000000", "reply_channel": reply(h),
        "antragsteller": {"name": "Kruse", "vorname": "Meike", "geburtsdatum": "1988-03-03",
                          "anschrift": "Holstenstraße 5, Kiel"},
        "betrieb": {"name": "Kruse Metallbau", "anschrift": "Werftstraße 12, Kiel", "ags": ags_h,
                    "rechtsform": "Einzelunternehmen"},
        "handwerk": {"gewerk": "Metallbauer", "anlage": "A", "qualifikation": "Meisterprüfung",
                     "nachweise": ["Meisterbrief"], "betriebsleiter": "Kruse", "ausnahme": None}})
    s.event("de.amtsweg.documents.completed", h, "2027-02-17T09:00:00Z", {}, org("hwk", ags_h))
    s.respond(h, "2027-03-01T09:00:00Z", org("ihk", ags_h), "ihk_anhoerung", objection=False)
    s.write()


def bad_events():
    s = Stream("05-bad-events")
    t = "2027-09-01T09:00:00Z"
    s.raw('{"specversion":"1.0","id":"bad-1","source":"' + PORTAL + '","type":')  # cut off
    s.raw("this is not JSON at all")
    s.raw('["a", "JSON", "array"]')
    s.raw(json.dumps({"specversion": "1.0", "source": PORTAL,
                      "type": "de.amtsweg.application.submitted", "subject": "X-1", "time": t,
                      "data": {}}))  # no id
    s.raw(json.dumps({"specversion": "0.3", "id": "bad-5", "source": PORTAL,
                      "type": "de.amtsweg.application.submitted", "subject": "X-1", "time": t}))
    s.raw(json.dumps({"specversion": "1.0", "id": "bad-6", "source": PORTAL,
                      "type": "de.amtsweg.application.submitted", "subject": "X-1",
                      "time": "gestern"}))
    s.event("de.example.unbekannt", "X-1", t, {"x": 1})  # unknown type
    s.event("de.amtsweg.documents.completed", "GIBT-ES-NICHT", t, {}, "lfu-sh")  # unknown case
    s.event("de.amtsweg.task.responded", "GA-2026-0002", t, {"task": "pruefung",
            "decision": "accepted"}, org("gewerbeamt", "01003000"))  # closed case
    s.event("de.amtsweg.task.responded", "BI-2026-0002", t, {"task": "anhoerung",
            "statement": "Wir sind nicht gefragt"}, "ihk-kiel")  # not a participant
    s.submit("GA-2027-0001", t, {"leika": "99999999999999", "betrieb": {"ags": "01002000"}})
    s.submit("GA-2027-0002", t, {"leika": "99050012104000",
                                 "betrieb": {"name": "Bayerischer Biergarten", "ags": "09162000",
                                             "handwerk": False}})  # outside Schleswig-Holstein
    dup = s.event("de.amtsweg.application.submitted", "GA-2027-0003", t,
                  {"leika": "99050012104000",
                   "betrieb": {"name": "Doppelt GmbH", "ags": "01004000", "handwerk": False,
                               "messgeraete": False},
                   "inhaber": {"name": "Doppelt", "vorname": "Dora"}})
    s.lines.append(s.lines[-1])  # the same event delivered twice
    s.event("de.amtsweg.deadline.extended", "BI-2026-0002", t,
            {"deadline": "entscheidungsfrist", "reason": "zu spät"}, "lfu-sh")  # expired already
    # The municipality of BI-2026-0002 takes part, but may not extend the LfU's period.
    s.event("de.amtsweg.deadline.extended", "BI-2026-0002", t,
            {"deadline": "entscheidungsfrist", "reason": "Wir brauchen mehr Zeit"},
            org("gemeinde", "01059075"))  # wrong role
    # Refusals recorded in the history of the open case BI-2026-0002:
    s.event("de.example.unbekannt", "BI-2026-0002", t, {"x": 2})  # unknown type, open case
    s.respond("BI-2026-0002", t, org("naturschutz", "01059075"), "anhoerung",
              bemerkung="ohne Stellungnahme")  # the task requires a statement
    s.respond("BI-2026-0002", t, "lfu-sh", "bescheid",
              decision="genehmigt")  # not an answer the task declares
    s.respond("BI-2026-0002", t, "lfu-sh", "bescheid",
              decision="approved")  # declared, but not possible before the hearing is complete
    # Identifiers in the wrong form:
    s.submit("GA-2027-0005", t, {"leika": "99050012104000",
                                 "betrieb": {"name": "Zahl GmbH", "ags": 1002000}})  # a number
    s.submit("GA-2027-0006", t, {"leika": "99050012104000",
                                 "betrieb": {"name": "Kurz GmbH", "ags": "0100200"}})  # 7 digits
    s.submit("GA-2027-0007", t, {"leika": "99050012104000",
                                 "betrieb": {"name": "Land 17 GmbH", "ags": "17002000"}})
    s.submit("GA-2027-0008", t, {"leika": "9905001210400",  # 13 digits
                                 "betrieb": {"name": "LeiKa GmbH", "ags": "01002000"}})
    s.event("de.amtsweg.task.responded", "GA-2027-0003", t, {"decision": "accepted"},
            org("gewerbeamt", "01004000"))  # no task named
    big = {"leika": "99050012104000", "betrieb": {"ags": "01002000"},
           "anlagen": ["x" * 1000] * 300}
    s.submit("GA-2027-0004", t, big)  # over the 256 KiB limit
    s.write()
    return dup


if __name__ == "__main__":
    gewerbe()
    bauantrag()
    handwerksrolle()
    bimschg()
    bad_events()
