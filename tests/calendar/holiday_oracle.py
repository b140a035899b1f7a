#!/usr/bin/env python3
"""The oracle cross-check of the legal calendar (docs/legal-calendar.md).

Runs `amtsweg holidays --json` for every Land and every year 1995..2100, with each local holiday,
and compares the set of dates exactly with PyPI's `holidays` package (the version pinned in
oracle-requirements.txt beside this file): PUBLIC for the Land-wide holidays, PUBLIC + CATHOLIC
where a local holiday is configured (CATHOLIC holds Bavaria's Mariä Himmelfahrt and Fronleichnam
in Sachsen and Thüringen), and the subdivision "Augsburg" for Bavaria with Mariä Himmelfahrt and
the Augsburger Friedensfest. Prints every difference (Land, date, ours vs theirs); differences
where the law decides against the oracle are listed in KNOWN (and in docs/legal-calendar.md) and
must occur exactly as listed. Exit 0 when all agree, 1 otherwise (also when the oracle is not
installed: run scripts/test, which sets AMTSWEG_PYTHON, or install it yourself).
"""

import argparse
import json
import os
import subprocess
import sys

FIRST_YEAR, LAST_YEAR = 1995, 2100
LAENDER = ["SH", "HH", "NI", "HB", "NW", "HE", "RP", "BW", "BY", "SL", "BE", "BB", "MV", "SN",
           "ST", "TH"]

# (what is compared, date) -> why the law and the oracle differ (docs/legal-calendar.md,
# "Differences from the oracle"). None known.
KNOWN = {}


def pinned_version():
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "oracle-requirements.txt")
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line.startswith("holidays=="):
                return line.split("==", 1)[1]
    raise SystemExit(f"holiday oracle: no holidays==VERSION line in {path}")


def load_oracle():
    want = pinned_version()
    try:
        import holidays  # noqa: PLC0415
    except ImportError:
        print(f"holiday oracle: FAILED: the Python package holidays=={want} is not installed for "
              f"{sys.executable}; scripts/test installs it into a venv and sets AMTSWEG_PYTHON, "
              f"or: python3 -m venv V && V/bin/pip install holidays=={want} && "
              f"AMTSWEG_PYTHON=V/bin/python ctest -R calendar_holiday_oracle", file=sys.stderr)
        sys.exit(1)
    if holidays.__version__ != want:
        print(f"holiday oracle: FAILED: holidays {holidays.__version__} is installed, the pin is "
              f"{want} (tests/calendar/oracle-requirements.txt)", file=sys.stderr)
        sys.exit(1)
    return holidays


def ours(amtsweg, land, local):
    args = [amtsweg, "holidays", "--land", land, "--year", str(FIRST_YEAR), "--to-year",
            str(LAST_YEAR), "--json"]
    for l in local:
        args += ["--local", l]
    run = subprocess.run(args, capture_output=True, text=True, check=False)
    if run.returncode != 0:
        print(f"holiday oracle: FAILED: {' '.join(args)} exited {run.returncode}: {run.stderr}",
              file=sys.stderr)
        sys.exit(1)
    out = {}
    for line in run.stdout.splitlines():
        h = json.loads(line)
        out.setdefault(h["date"], []).append(h["name"])
    return out


def theirs(holidays, subdiv, categories):
    cal = holidays.country_holidays("DE", subdiv=subdiv, years=range(FIRST_YEAR, LAST_YEAR + 1),
                                    categories=categories)
    out = {}
    for day, name in sorted(cal.items()):
        out.setdefault(day.isoformat(), []).extend(name.split("; "))
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--amtsweg", required=True, help="the amtsweg binary")
    args = parser.parse_args()
    holidays = load_oracle()
    public = (holidays.PUBLIC,)
    catholic = (holidays.PUBLIC, holidays.CATHOLIC)

    # (label, Land, local holidays, oracle subdivision, oracle categories)
    checks = [(land, land, [], land, public) for land in LAENDER]
    checks += [
        ("SN+fronleichnam", "SN", ["fronleichnam"], "SN", catholic),
        ("TH+fronleichnam", "TH", ["fronleichnam"], "TH", catholic),
        ("BY+mariae_himmelfahrt", "BY", ["mariae_himmelfahrt"], "BY", catholic),
        ("BY+augsburger_friedensfest+mariae_himmelfahrt", "BY",
         ["augsburger_friedensfest", "mariae_himmelfahrt"], "Augsburg", public),
    ]
    years = LAST_YEAR - FIRST_YEAR + 1
    differences, known_seen = 0, set()
    for label, land, local, subdiv, categories in checks:
        a = ours(args.amtsweg, land, local)
        b = theirs(holidays, subdiv, categories)
        for date in sorted(set(a) | set(b)):
            if date in a and date in b:
                continue
            line = (f"{label} {date}: ours {', '.join(a.get(date, ['-']))}; "
                    f"theirs {', '.join(b.get(date, ['-']))}")
            if (label, date) in KNOWN:
                known_seen.add((label, date))
                print(f"known difference, {line} ({KNOWN[(label, date)]})")
            else:
                differences += 1
                print(f"DIFFERENCE {line}")
    stale = sorted(set(KNOWN) - known_seen)
    for label, date in stale:
        print(f"STALE: the known difference {label} {date} no longer occurs; remove it from KNOWN "
              f"and docs/legal-calendar.md")
    print(f"holiday oracle: holidays {holidays.__version__}, {len(checks)} calendars x {years} "
          f"years = {len(checks) * years} calendar-years ({len(LAENDER) * years} Land-years), "
          f"{differences} unexpected difference(s), {len(known_seen)} known")
    return 1 if differences or stale else 0


if __name__ == "__main__":
    sys.exit(main())
