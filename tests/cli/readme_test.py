#!/usr/bin/env python3
"""Runs the README's commands as a new user would, and fails when one of them fails.

The README marks each tested fenced block with an HTML comment on the line before it:

  <!-- readme-test: SECTION -->          the block's commands, run in order by one bash
                                          (set -euo pipefail), so `eval`/`export` carry on
  <!-- readme-test: SECTION server -->   one command that serves until stopped: started, waited
                                          for ("listening on HOST:PORT"), asked once over HTTP,
                                          then stopped with SIGTERM; it must exit 0

Sections: `own-data` ("Using it on your own data") and `kafka` (its Kafka part, which follows
the own-data section and runs after it, as a reader would). The commands run in a fresh
temporary directory laid out like the repository root: `workflows/` and `scripts/` link to the
repository's, `build/engine/cli/amtsweg` to the binary under test, so the README's relative paths
hold as written. The one change to a command: the server's `--listen 127.0.0.1:8080` becomes
port 0 (any free port), so that the test does not depend on port 8080 being free.

The kafka section needs the test broker (AMTSWEG_KAFKA_HOME, AMTSWEG_KAFKA_PORT of a broker that
scripts/kafka started, as scripts/test does): `scripts/kafka start` then finds it running.

  readme_test.py --repo DIR --binary PATH --section own-data|kafka [--readme FILE]
  readme_test.py --repo DIR --binary PATH --self-test    a README whose case id does not exist
                                                         must make the test fail

Python 3 standard library only.
"""

import argparse
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

MARKER = re.compile(r"^<!-- readme-test: ([a-z-]+)( server)? -->$")
SERVER_TIMEOUT_S = 60
COMMAND_TIMEOUT_S = 600


def blocks(readme_text):
    """[(section, is_server, text)] of every marked fenced block, in README order."""
    out = []
    lines = readme_text.splitlines()
    i = 0
    while i < len(lines):
        m = MARKER.match(lines[i].strip())
        if not m:
            i += 1
            continue
        if i + 1 >= len(lines) or not lines[i + 1].startswith("```"):
            raise SystemExit(f"README line {i + 1}: a readme-test marker must be followed by a fenced block")
        body = []
        j = i + 2
        while j < len(lines) and not lines[j].startswith("```"):
            body.append(lines[j])
            j += 1
        if j == len(lines):
            raise SystemExit(f"README line {i + 2}: the fenced block is not closed")
        out.append((m.group(1), m.group(2) is not None, "\n".join(body) + "\n"))
        i = j + 1
    return out


def commands(text):
    """The logical commands of a block (continuation lines joined), for the log."""
    out, current = [], ""
    for line in text.splitlines():
        current += line
        if current.endswith("\\"):
            current = current[:-1] + " "
            continue
        if current.strip():
            out.append(current.strip())
        current = ""
    return out


def lay_out(workdir, repo, binary):
    for name in ("workflows", "scripts"):
        os.symlink(os.path.join(repo, name), os.path.join(workdir, name))
    os.makedirs(os.path.join(workdir, "build", "engine", "cli"))
    os.symlink(os.path.abspath(binary), os.path.join(workdir, "build", "engine", "cli", "amtsweg"))


def run_block(text, workdir, env):
    """Runs the block's commands in one bash; raises on the first that fails, naming it."""
    script = ["set -euo pipefail"]
    for cmd in commands(text):
        script.append("printf '%s\\n' " + shlex.quote("$ " + cmd) + " >&2")
        script.append(cmd)
    # The environment a block leaves (eval, export) is handed to the next block.
    script.append("env -0 > .readme-test-env")
    p = subprocess.run(["bash", "-c", "\n".join(script)], cwd=workdir, env=env,
                       timeout=COMMAND_TIMEOUT_S, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True)
    sys.stdout.write(p.stdout)
    if p.returncode != 0:
        ran = [line[2:] for line in p.stdout.splitlines() if line.startswith("$ ")]
        failed = ran[-1] if ran else "(before the first command)"
        raise RuntimeError(f"README command failed with exit code {p.returncode}: {failed}")
    with open(os.path.join(workdir, ".readme-test-env"), "rb") as f:
        pairs = [item.split(b"=", 1) for item in f.read().split(b"\0") if b"=" in item]
    return {k.decode(): v.decode() for k, v in pairs}


def run_server(text, workdir, env):
    """Starts the block's one command, waits until it listens, asks it once, stops it."""
    cmds = commands(text)
    if len(cmds) != 1:
        raise RuntimeError(f"a server block holds one command, not {len(cmds)}")
    cmd = cmds[0].replace("--listen 127.0.0.1:8080", "--listen 127.0.0.1:0")
    print("$ " + cmd, flush=True)
    p = subprocess.Popen(["bash", "-c", "exec " + cmd], cwd=workdir, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + SERVER_TIMEOUT_S
        port = None
        while port is None:
            if time.monotonic() > deadline:
                raise RuntimeError(f"no 'listening on' within {SERVER_TIMEOUT_S} s: {cmd}")
            line = p.stdout.readline()
            if not line:
                raise RuntimeError(f"README server command exited with {p.wait()} before listening: {cmd}")
            sys.stdout.write(line)
            m = re.search(r"listening on (?:https?://)?127\.0\.0\.1:(\d+)", line)
            if m:
                port = int(m.group(1))
        # Without a token the API answers 401: it is the API, and it is up.
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/cases", timeout=10)
            raise RuntimeError("GET /api/v1/cases without a token was not refused")
        except urllib.error.HTTPError as e:
            if e.code != 401:
                raise RuntimeError(f"GET /api/v1/cases without a token: {e.code}, expected 401")
        p.send_signal(signal.SIGTERM)
        rest, _ = p.communicate(timeout=SERVER_TIMEOUT_S)
        sys.stdout.write(rest)
        if p.returncode != 0:
            raise RuntimeError(f"README server command exited with {p.returncode} after SIGTERM: {cmd}")
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def run_sections(readme_text, sections, repo, binary):
    found = blocks(readme_text)
    for section in sections:
        if not any(s == section for s, _, _ in found):
            raise RuntimeError(f"the README has no block marked readme-test: {section}")
    with tempfile.TemporaryDirectory(prefix="amtsweg-readme-") as workdir:
        lay_out(workdir, repo, binary)
        env = dict(os.environ)
        for section, is_server, text in found:
            if section not in sections:
                continue
            if is_server:
                run_server(text, workdir, env)
            else:
                env = run_block(text, workdir, env)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repo", required=True)
    ap.add_argument("--binary", required=True)
    ap.add_argument("--section", choices=["own-data", "kafka"])
    ap.add_argument("--readme")
    ap.add_argument("--self-test", action="store_true")
    args = ap.parse_args()
    readme = args.readme or os.path.join(args.repo, "README.md")
    with open(readme, encoding="utf-8") as f:
        text = f.read()

    if args.self_test:
        broken = text.replace("case show GA-2026-0000001", "case show GA-2026-9999999")
        if broken == text:
            print("self-test: the README no longer shows `case show GA-2026-0000001`", file=sys.stderr)
            return 1
        try:
            run_sections(broken, ["own-data"], args.repo, args.binary)
        except RuntimeError as e:
            if "case show GA-2026-9999999" not in str(e):
                print(f"self-test: failed, but not at the broken command: {e}", file=sys.stderr)
                return 1
            print(f"self-test: a failing README command fails the test, as it should: {e}")
            return 0
        print("self-test: a README command that fails did not fail the test", file=sys.stderr)
        return 1

    if args.section is None:
        ap.error("--section or --self-test")
    sections = ["own-data"] if args.section == "own-data" else ["own-data", "kafka"]
    if args.section == "kafka":
        for var in ("AMTSWEG_KAFKA_HOME", "AMTSWEG_KAFKA_PORT"):
            if not os.environ.get(var):
                print(f"{var} is not set: the kafka section runs against the test broker that "
                      "scripts/kafka started (scripts/test sets both)", file=sys.stderr)
                return 1
    try:
        run_sections(text, sections, args.repo, args.binary)
    except (RuntimeError, subprocess.TimeoutExpired) as e:
        print(f"FAILED: {e}", file=sys.stderr)
        return 1
    print(f"every README command of {', '.join(sections)} worked as written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
