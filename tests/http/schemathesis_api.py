#!/usr/bin/env python3
"""Checks docs/api.yaml against a live server with Schemathesis, once per role.

Fills a temporary store from the shipped samples (`amtsweg run ... --until-idle`, as
scripts/demo does), writes a principals file with one token per role (admin, auditor, and a
participant bound to an organisation that takes part in cases), starts
`amtsweg run --listen 127.0.0.1:0` on that store (following the sample files, so it keeps
serving), waits for its "api: listening on HOST:PORT" line and for /readyz, then runs
`schemathesis run docs/api.yaml` with each role's token: bounded (examples per operation, a
hard time limit per run) and with a fixed seed, so that a finding reproduces. Fails on any
finding (a 5xx, or a status code, content type, header or body the spec does not allow) and
prints it. Builds nothing: it takes the amtsweg binary.

Usage: schemathesis_api.py --amtsweg PATH [--schemathesis PATH] [--seed N]
           [--max-examples N] [--seconds S] [--role ROLE ...] [--keep DIR]
Run by tests/http/schemathesis.sh, which installs Schemathesis first.
"""

import argparse
import json
import os
import queue
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SPEC = os.path.join(ROOT, "docs", "api.yaml")
WORKFLOWS = os.path.join(ROOT, "workflows")
DIRECTORY = os.path.join(WORKFLOWS, "directory", "schleswig-holstein.yaml")
SAMPLES = os.path.join(WORKFLOWS, "samples")

# The participant principal: an organisation that takes part in some sample cases and not in
# others (so the spec's example ids give both 200 and 404 for it).
PARTICIPANT_ORGANISATION = "ihk-kiel"

# What every run checks: any 5xx (`not_a_server_error`), and answers the spec does not allow; also
# that an operation needing a token answers 401 without one (`ignored_auth`), and that a method
# the spec does not list for a path is 405 with an `Allow` naming those it does.
CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "ignored_auth",
    "unsupported_method",
    "allow_header_conformance",
]

# Seconds to wait for the server's listening line, and tries of /readyz (10 ms apart).
LISTEN_SECONDS = 30
READY_TRIES = 200


def log(msg):
    print(msg, flush=True)


def run(cmd, **kw):
    """Runs `cmd`, returns its stdout; raises with its output when it fails."""
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, **kw)
    if p.returncode != 0:
        raise RuntimeError(
            "{} exited {}:\n{}{}".format(shlex.join(cmd), p.returncode, p.stdout, p.stderr))
    return p.stdout


def samples():
    # Name order: the files are numbered in the order they are meant to be read.
    files = sorted(f for f in os.listdir(SAMPLES) if f.endswith(".jsonl"))
    if not files:
        raise RuntimeError("no sample events in " + SAMPLES)
    return [a for f in files for a in ("--source", "file:" + os.path.join(SAMPLES, f))]


def make_principals(amtsweg, path):
    """One token per role; returns {role: token}."""
    specs = [
        ("admin", ["--name", "st-admin", "--role", "admin"]),
        ("auditor", ["--name", "st-auditor", "--role", "auditor"]),
        ("participant", ["--name", "st-" + PARTICIPANT_ORGANISATION, "--role", "participant",
                         "--organisation", PARTICIPANT_ORGANISATION]),
    ]
    tokens, lines = {}, []
    for role, args in specs:
        out = run([amtsweg, "token"] + args).splitlines()
        m = re.fullmatch(r"token: ([0-9a-f]+)", out[0].strip()) if out else None
        if m is None or len(out) < 2:
            raise RuntimeError("unexpected output of amtsweg token: {!r}".format(out))
        tokens[role] = m.group(1)
        lines.append(out[1])
    with open(path, "w") as f:
        f.write("principals:\n" + "\n".join(lines) + "\n")
    # For the curl commands of a finding (they print the token as [Filtered]): test tokens of a
    # temporary store, kept only with the work dir.
    with open(os.path.join(os.path.dirname(path), "tokens.json"), "w") as f:
        json.dump(tokens, f, indent=1)
    return tokens


class Server:
    """`amtsweg run --listen 127.0.0.1:0` on the store; its stderr goes to a log file."""

    def __init__(self, amtsweg, data_dir, principals, log_path):
        self.log_path = log_path
        self.lines = queue.Queue()
        self.log_file = open(log_path, "w")
        self.proc = subprocess.Popen(
            [amtsweg, "run", "--workflows", WORKFLOWS, "--directory", DIRECTORY,
             "--data-dir", data_dir] + samples() +
            ["--listen", "127.0.0.1:0", "--principals", principals,
             "--backup-dir", data_dir + ".backups"],
            stdin=subprocess.DEVNULL, stdout=self.log_file, stderr=subprocess.PIPE, text=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stderr:
            self.log_file.write(line)
            self.log_file.flush()
            self.lines.put(line)
        self.lines.put(None)

    def wait_listening(self):
        deadline = time.monotonic() + LISTEN_SECONDS
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError("no 'api: listening on' line within {}s".format(LISTEN_SECONDS))
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                raise RuntimeError("the server exited ({}) before listening".format(
                    self.proc.wait()))
            m = re.search(r"api: listening on (\S+):(\d+)", line)
            if m:
                return "http://{}:{}".format(m.group(1), m.group(2))

    def stop(self):
        """SIGTERM, then SIGKILL after 20 s; returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.reader.join(timeout=5)
        self.log_file.close()
        return self.proc.returncode

    def tail(self, n=30):
        with open(self.log_path, errors="replace") as f:
            return "".join(f.readlines()[-n:])


def get(url, token=None):
    req = urllib.request.Request(url)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def wait_ready(base):
    for _ in range(READY_TRIES):
        try:
            if get(base + "/readyz")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.01)
    raise RuntimeError("/readyz did not answer 200 in {} tries".format(READY_TRIES))


def check_examples(base, tokens):
    """The spec's example case ids must be cases of the store (else only 404s get tested), and
    the participant must see at least one of them."""
    with open(SPEC) as f:
        spec = yaml.safe_load(f)
    examples = spec["components"]["parameters"]["caseId"].get("examples", {})
    ids = [e["value"] for e in examples.values()]
    if not ids:
        raise RuntimeError("docs/api.yaml: the caseId parameter has no examples")
    seen = 0
    for case_id in ids:
        status, _ = get(base + "/api/v1/cases/" + case_id, tokens["admin"])
        if status != 200:
            raise RuntimeError("example case {} of docs/api.yaml: admin got {}, not 200 (the "
                               "samples changed? update the examples)".format(case_id, status))
        seen += get(base + "/api/v1/cases/" + case_id, tokens["participant"])[0] == 200
    if seen == 0:
        raise RuntimeError("{} takes part in none of the example cases {}".format(
            PARTICIPANT_ORGANISATION, ids))
    log("example cases {} (the participant {} sees {} of them)".format(
        ", ".join(ids), PARTICIPANT_ORGANISATION, seen))


def schemathesis(args, base, role, token, work):
    cmd = [
        args.schemathesis, "run", SPEC,
        "--url", base,
        "--header", "Authorization: Bearer " + token,
        "--checks", ",".join(CHECKS),
        "--phases", "examples,coverage,fuzzing",
        "--max-examples", str(args.max_examples),
        "--seed", str(args.seed),
        "--generation-database", "none",
        "--workers", "1",
        "--request-timeout", "10",
        "--continue-on-failure",
        "--no-color",
        "--output-sanitize", "true",
        "--report", "junit",
        "--report-junit-path", os.path.join(work, "schemathesis-{}.xml".format(role)),
    ]
    log("\n-- {} ({}): seed {}, at most {} examples per operation, {}s at most".format(
        role, PARTICIPANT_ORGANISATION if role == "participant" else "all cases", args.seed,
        args.max_examples, args.seconds))
    out_path = os.path.join(work, "schemathesis-{}.log".format(role))
    start = time.monotonic()
    timed_out = False
    with open(out_path, "w") as out:
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                             cwd=work, start_new_session=True)
        try:
            rc = p.wait(timeout=args.seconds)
        except subprocess.TimeoutExpired:
            timed_out = True
            os.killpg(p.pid, signal.SIGKILL)
            rc = p.wait()
        except BaseException:  # interrupted: its own session does not see the terminal's signal
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
            raise
    secs = time.monotonic() - start
    with open(out_path, errors="replace") as f:
        text = f.read().replace(token, "<token>")
    if timed_out:
        log(text[-4000:])
        log("FAILED: {}: Schemathesis did not finish within {}s (log: {})".format(
            role, args.seconds, out_path))
        return False
    if rc != 0:
        # From the findings (and errors) on; all of it when Schemathesis failed before them.
        marks = [text.find(m) for m in (" FAILURES ", " ERRORS ") if m in text]
        log(text[text.rfind("\n", 0, min(marks)) + 1:] if marks else text)
        log("FAILED: {}: Schemathesis exited {} after {:.1f}s (log: {})".format(
            role, rc, secs, out_path))
        return False
    # Of the closing summary: the operations tested, the warnings (which do not fail the run, e.g.
    # an operation only an other role may use), the test cases.
    summary = text[text.rfind("SUMMARY"):] if "SUMMARY" in text else text[-1500:]
    for line in summary.splitlines():
        if re.match(r"\s*(Tested:|⚠️|\d+ generated)", line):
            log("  " + line.strip())
    log("ok: {} in {:.1f}s".format(role, secs))
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--amtsweg", required=True, help="the amtsweg binary")
    ap.add_argument("--schemathesis",
                    default=os.path.join(os.path.dirname(sys.executable), "schemathesis"))
    ap.add_argument("--seed", type=int, default=int(os.environ.get("AMTSWEG_SCHEMATHESIS_SEED",
                                                                   "1")))
    ap.add_argument("--max-examples", type=int,
                    default=int(os.environ.get("AMTSWEG_SCHEMATHESIS_EXAMPLES", "100")))
    ap.add_argument("--seconds", type=int,
                    default=int(os.environ.get("AMTSWEG_SCHEMATHESIS_SECONDS", "120")),
                    help="hard time limit of one role's run")
    ap.add_argument("--role", action="append", choices=["admin", "auditor", "participant"],
                    help="only these roles (default: all three)")
    ap.add_argument("--keep", help="work in DIR and keep it (store, logs, reports)")
    args = ap.parse_args()
    amtsweg = os.path.abspath(args.amtsweg)
    if not os.access(amtsweg, os.X_OK):
        log("error: {} is not an executable".format(amtsweg))
        return 2
    roles = args.role or ["admin", "auditor", "participant"]
    # SIGTERM (scripts/test stopping) unwinds like an interrupt, so that the server is stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    if args.keep:
        work = os.path.abspath(args.keep)
        shutil.rmtree(work, ignore_errors=True)
        os.makedirs(work)
    else:
        work = tempfile.mkdtemp(prefix="amtsweg-schemathesis.")
    data_dir = os.path.join(work, "store")
    principals = os.path.join(work, "principals.yaml")
    log("Schemathesis {} against {} (work dir {})".format(
        run([args.schemathesis, "--version"]).strip().split()[-1], os.path.relpath(SPEC, ROOT),
        work))

    server = None
    ok = False
    failed = roles
    try:
        run([amtsweg, "run", "--workflows", WORKFLOWS, "--directory", DIRECTORY, "--data-dir",
             data_dir, "--until-idle", "--quiet"] + samples())
        tokens = make_principals(amtsweg, principals)
        server = Server(amtsweg, data_dir, principals, os.path.join(work, "server.log"))
        base = server.wait_listening()
        wait_ready(base)
        log("server: {} (amtsweg run --listen, on the store of the samples)".format(base))
        check_examples(base, tokens)
        failed = [role for role in roles
                  if not schemathesis(args, base, role, tokens[role], work)]
        ok = not failed
        if server.proc.poll() is not None:
            log("FAILED: the server exited ({}) during the runs".format(server.proc.returncode))
            ok = False
    except (RuntimeError, OSError) as e:
        log("FAILED: {}".format(e))
    finally:
        if server is not None:
            rc = server.stop()
            if rc != 0:
                log("FAILED: the server exited {} at SIGTERM".format(rc))
                ok = False
            if not ok:
                log("last lines of the server's log ({}):\n{}".format(server.log_path,
                                                                      server.tail()))
    if not ok:
        log("\nwork dir kept: {} (the logs, the store; tokens.json has the tokens for the curl "
            "commands)".format(work))
        log("run again with: tests/http/schemathesis.sh {} --seed {} --max-examples {}{}".format(
            args.amtsweg, args.seed, args.max_examples,
            "".join(" --role " + r for r in failed)))
    elif not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    log("schemathesis: {}".format("ok" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
