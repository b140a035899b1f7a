#!/usr/bin/env python3
"""The JSON Schemas in docs/ against the shipped files and the corpus of tests/schema-corpus.

docs/workflow.schema.json, docs/directory.schema.json and docs/principals.schema.json are what
editors validate with (the YAML language server); the loaders are what the engine runs. This
test and the loaders' corpus tests (tests/dsl/schema_corpus_test.cc, tests/http/principals_test.cc)
read the same documents, so the two cannot drift:

- tests/schema-corpus/<kind>/accepted: valid by the schema (and loaded by the loader);
- tests/schema-corpus/<kind>/refused: invalid by the schema (and refused by the loader);
- tests/schema-corpus/<kind>/loader-only: valid by the schema, refused by the loader, which
  checks what a schema cannot say (references, reachability, uniqueness).

Besides: every shipped definition, the complete example of docs/workflow-language.md, the
principals example of docs/api.md and the shipped directory are valid, and every shipped file names its schema in its first line.

YAML is read as YAML 1.2 (the core schema), as the YAML language server and amtsweg's loaders
read it: `yes` and `on` are strings, 01002 is the number 1002, 1e3 is a number, and a mapping's
keys are text. Needs jsonschema and PyYAML (tests/dsl/schema-requirements.txt, in the venv of
scripts/test); fails without them.
"""
import glob
import json
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPUS = os.path.join(REPO, "tests", "schema-corpus")
SCHEMAS = {
    "workflow": "docs/workflow.schema.json",
    "directory": "docs/directory.schema.json",
    "principals": "docs/principals.schema.json",
}

try:
    import jsonschema
    import yaml
    from yaml12 import load
except ImportError as e:
    print(f"workflow schema: FAILED: {e}; scripts/test installs tests/dsl/schema-requirements.txt "
          "into a venv and sets AMTSWEG_PYTHON", file=sys.stderr)
    sys.exit(1)


def self_test():
    """The YAML 1.2 reading the corpus relies on; returns the number of failures."""
    cases = {"yes": "yes", "on": "on", "True": True, "01002": 1002, "1e3": 1000.0, "1.0": 1.0,
             "0x1F": 31, "0o17": 15, "~": None, '"1"': "1", "P3M": "P3M", "1_000": "1_000"}
    failed = 0
    for text, want in cases.items():
        got = load(f"v: {text}")["v"]
        if got != want or type(got) is not type(want):
            print(f"YAML 1.2 reading: {text!r} read as {got!r}, expected {want!r}")
            failed += 1
    if load("{null: 1, true: 2}") != {"null": 1, "true": 2}:
        print("YAML 1.2 reading: keys are not read as text")
        failed += 1
    return failed


def validator(kind):
    with open(os.path.join(REPO, SCHEMAS[kind]), encoding="utf-8") as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def errors_of(v, text):
    """The schema's complaints about a YAML text (a text that is no YAML document is one)."""
    try:
        document = load(text)
    except yaml.YAMLError as e:
        return [f"not one YAML document: {str(e).splitlines()[0]}"]
    return [f"{'/'.join(map(str, e.path)) or '(top)'}: {e.message}"
            for e in sorted(v.iter_errors(document), key=lambda e: list(map(str, e.path)))]


def main():
    failed = self_test()
    validators = {kind: validator(kind) for kind in SCHEMAS}
    checked = 0

    # The shipped files: valid, and each names its schema first.
    shipped = [("workflow", p) for p in sorted(glob.glob(os.path.join(REPO, "workflows", "*.yaml")))]
    shipped += [("directory", p)
                for p in sorted(glob.glob(os.path.join(REPO, "workflows", "directory", "*.yaml")))]
    for kind, path in shipped:
        name = os.path.relpath(path, REPO)
        with open(path, encoding="utf-8") as f:
            text = f.read()
        schema = os.path.relpath(os.path.join(REPO, SCHEMAS[kind]), os.path.dirname(path))
        if not text.startswith(f"# yaml-language-server: $schema={schema}\n"):
            print(f"{name}: the first line is not '# yaml-language-server: $schema={schema}'")
            failed += 1
        errors = errors_of(validators[kind], text)
        for e in errors:
            print(f"{name}: {e}")
        failed += bool(errors)
        checked += 1
    with open(os.path.join(REPO, "docs", "workflow-language.md"), encoding="utf-8") as f:
        doc = f.read()
    begin = doc.index("```yaml\nname: gewerbeanmeldung") + len("```yaml\n")
    errors = errors_of(validators["workflow"], doc[begin:doc.index("```", begin)])
    for e in errors:
        print(f"docs/workflow-language.md (example): {e}")
    failed += bool(errors)
    checked += 1

    with open(os.path.join(REPO, "docs", "api.md"), encoding="utf-8") as f:
        doc = f.read()
    begin = doc.index("```yaml\nprincipals:") + len("```yaml\n")
    errors = errors_of(validators["principals"], doc[begin:doc.index("```", begin)])
    for e in errors:
        print(f"docs/api.md (principals example): {e}")
    failed += bool(errors)
    checked += 1

    # The corpus.
    counts = {}
    for kind in SCHEMAS:
        for verdict in ("accepted", "refused", "loader-only"):
            paths = sorted(glob.glob(os.path.join(CORPUS, kind, verdict, "*.yaml")))
            counts[f"{kind}/{verdict}"] = len(paths)
            for path in paths:
                with open(path, encoding="utf-8") as f:
                    text = f.read()
                errors = errors_of(validators[kind], text)
                name = os.path.relpath(path, REPO)
                if verdict == "refused" and not errors:
                    print(f"{name}: valid by {SCHEMAS[kind]}, but the corpus says it is refused")
                    failed += 1
                elif verdict != "refused" and errors:
                    for e in errors:
                        print(f"{name}: {e}")
                    failed += 1
                checked += 1
    for group, n in counts.items():
        if n == 0 and not group.endswith("loader-only"):
            print(f"tests/schema-corpus/{group}: empty")
            failed += 1
    print(f"schemas: {checked} documents ({', '.join(f'{k} {n}' for k, n in counts.items())}), "
          f"{failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
