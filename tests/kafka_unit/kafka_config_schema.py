#!/usr/bin/env python3
"""docs/kafka-config.schema.json against the documented examples and the loader's corpus.

Every `kafka:` example in docs/operations.md and connectors/kafka/README.md must be valid by the
schema, and the schema must accept exactly the documents of tests/kafka_unit/config-corpus/accepted
and refuse those of refused/; the loader is held to the same corpus by kafka_config_test.cc
(KafkaConfigCorpusTest), so the two cannot drift apart. Needs jsonschema and PyYAML
(tests/dsl/schema-requirements.txt, in the venv of scripts/test); fails without them.
"""
import glob
import json
import os
import re
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

try:
    import jsonschema
    sys.path.insert(0, os.path.join(REPO, "tests", "dsl"))
    from yaml12 import load  # the loaders' YAML 1.2 reading, as the workflow schema check
except ImportError as e:
    print(f"kafka config schema: FAILED: {e}; scripts/test installs "
          "tests/dsl/schema-requirements.txt into a venv and sets AMTSWEG_PYTHON", file=sys.stderr)
    sys.exit(1)



def main():
    with open(os.path.join(REPO, "docs", "kafka-config.schema.json"), encoding="utf-8") as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    failed = 0
    checked = 0
    for doc in ("docs/operations.md", "connectors/kafka/README.md"):
        with open(os.path.join(REPO, doc), encoding="utf-8") as f:
            text = f.read()
        examples = re.findall(r"```yaml\n(kafka:.*?)```", text, re.S)
        if not examples:
            print(f"{doc}: no ```yaml block starting with kafka:")
            failed += 1
        for i, example in enumerate(examples, 1):
            checked += 1
            errors = list(validator.iter_errors(load(example)))
            for e in errors:
                print(f"{doc} example {i}: {'/'.join(map(str, e.path)) or '(top)'}: {e.message}")
            failed += len(errors) > 0
            print(f"{doc} example {i}: {'ok' if not errors else 'INVALID'}")
    corpus = os.path.join(REPO, "tests", "kafka_unit", "config-corpus")
    for verdict in ("accepted", "refused"):
        paths = sorted(glob.glob(os.path.join(corpus, verdict, "*.yaml")))
        if not paths:
            print(f"config-corpus/{verdict}: empty")
            failed += 1
        for path in paths:
            checked += 1
            with open(path, encoding="utf-8") as f:
                valid = validator.is_valid(load(f.read()))
            ok = valid == (verdict == "accepted")
            failed += not ok
            print(f"config-corpus/{verdict}/{os.path.basename(path)}: "
                  f"{'ok' if ok else ('accepted by the schema' if valid else 'refused by the schema')}")
    print(f"kafka config schema: {checked} documents, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
