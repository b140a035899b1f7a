#!/usr/bin/env python3
"""docs/workflow.schema.json against the shipped workflows and the documented example.

The schema is what editors validate with; the loader checks more (tests/dsl). This test keeps the
two from drifting: every shipped definition and the complete example of docs/workflow-language.md
must be valid by the schema, and a definition with an unknown key must not be. Needs jsonschema
and PyYAML (tests/dsl/schema-requirements.txt, in the venv of scripts/test); fails without them.
"""
import glob
import json
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

try:
    import jsonschema
    import yaml
except ImportError as e:
    print(f"workflow schema: FAILED: {e}; scripts/test installs tests/dsl/schema-requirements.txt "
          "into a venv and sets AMTSWEG_PYTHON", file=sys.stderr)
    sys.exit(1)


class Yaml12Loader(yaml.SafeLoader):
    """PyYAML reads YAML 1.1, where `on`, `yes`, `no` are booleans; amtsweg's yaml-cpp does not."""


for first in "oOyYnN":
    Yaml12Loader.yaml_implicit_resolvers.pop(first, None)


def load(text):
    return yaml.load(text, Loader=Yaml12Loader)


def main():
    with open(os.path.join(REPO, "docs", "workflow.schema.json"), encoding="utf-8") as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    documents = {}
    for path in sorted(glob.glob(os.path.join(REPO, "workflows", "*.yaml"))):
        with open(path, encoding="utf-8") as f:
            documents[os.path.relpath(path, REPO)] = load(f.read())
    with open(os.path.join(REPO, "docs", "workflow-language.md"), encoding="utf-8") as f:
        doc = f.read()
    begin = doc.index("```yaml\nname: gewerbeanmeldung") + len("```yaml\n")
    documents["docs/workflow-language.md (example)"] = load(doc[begin:doc.index("```", begin)])
    failed = 0
    for name, definition in documents.items():
        errors = sorted(validator.iter_errors(definition), key=lambda e: list(e.path))
        for e in errors:
            print(f"{name}: {'/'.join(map(str, e.path)) or '(top)'}: {e.message}")
        failed += len(errors) > 0
        print(f"{name}: {'ok' if not errors else f'{len(errors)} error(s)'}")
    # The schema must be able to fail: an unknown key is refused.
    broken = dict(documents["workflows/gewerbeanmeldung.yaml"], colour="red")
    if validator.is_valid(broken):
        print("the schema accepts an unknown top-level key")
        failed += 1
    print(f"workflow schema: {len(documents)} definitions, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
