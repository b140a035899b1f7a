#!/usr/bin/env python3
"""Checks a /metrics text (the file named first) against the Prometheus text format 0.0.4.

Parsed by the Prometheus Python client (prometheus-client, tests/report/exposition-requirements.txt),
whose parser refuses malformed lines, plus the rules promtool's `check metrics` lints and the
parser lets through: every sample's family has # HELP and # TYPE before its first sample, once;
the families are not interleaved; counters end in _total; histograms have cumulative buckets
ending in le="+Inf" equal to _count. Names given after the file must be present. Exit 0 when the
text passes, 1 with the problems otherwise.
"""
import re
import sys

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError as e:
    print(f"exposition check: FAILED: {e}; scripts/test installs "
          "tests/report/exposition-requirements.txt into a venv and sets AMTSWEG_PYTHON",
          file=sys.stderr)
    sys.exit(1)

NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        text = f.read()
    required = sys.argv[2:]
    problems = []
    if not text.endswith("\n"):
        problems.append("the text does not end with a line feed")
    # Line rules first: HELP then TYPE once per family, samples only of the current family.
    helped, typed, done = set(), {}, set()
    current = None
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith("# HELP "):
            name = line.split(" ", 3)[2]
            if name in helped:
                problems.append(f"line {number}: second # HELP for {name}")
            helped.add(name)
            if current is not None:
                done.add(current)
            current = name
        elif line.startswith("# TYPE "):
            parts = line.split(" ")
            if len(parts) != 4 or parts[2] != current:
                problems.append(f"line {number}: # TYPE not right after its # HELP: {line}")
                continue
            typed[parts[2]] = parts[3]
        elif line.startswith("#") or not line:
            problems.append(f"line {number}: unexpected line {line!r}")
        else:
            name = re.split(r"[{ ]", line, maxsplit=1)[0]
            if not NAME.match(name):
                problems.append(f"line {number}: bad metric name {name!r}")
            family = current
            kind = typed.get(family)
            allowed = {family}
            if kind == "histogram":
                allowed = {family + "_bucket", family + "_sum", family + "_count"}
            if family is None or kind is None or name not in allowed:
                problems.append(f"line {number}: sample {name} outside its family "
                                f"(current family {family})")
    for name, kind in typed.items():
        if kind == "counter" and not name.endswith("_total"):
            problems.append(f"counter {name} does not end in _total")
        if kind not in ("counter", "gauge", "histogram", "summary", "untyped"):
            problems.append(f"{name}: unknown type {kind}")
    # Then the client's parser, which refuses what is not the format.
    families = {}
    try:
        for family in text_string_to_metric_families(text):
            families[family.name] = family
    except Exception as e:  # the parser raises ValueError (and others) on a malformed line
        problems.append(f"the Prometheus client's parser refuses the text: {e!r}")
    for family in families.values():
        if family.type != "histogram":
            continue
        buckets = [s for s in family.samples if s.name.endswith("_bucket")]
        counts = [s.value for s in family.samples if s.name.endswith("_count")]
        values = [s.value for s in buckets]
        if values != sorted(values):
            problems.append(f"{family.name}: buckets not cumulative: {values}")
        if not buckets or buckets[-1].labels.get("le") != "+Inf":
            problems.append(f"{family.name}: the last bucket is not le=\"+Inf\"")
        elif counts != [buckets[-1].value]:
            problems.append(f"{family.name}: _count {counts} differs from the +Inf bucket")
    seen = {s.name for f in families.values() for s in f.samples}
    for name in required:
        if name not in seen:
            problems.append(f"no sample {name}")
    for p in problems:
        print(p)
    print(f"exposition check: {len(families)} families, {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
