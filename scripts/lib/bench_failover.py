#!/usr/bin/env python3
"""Failover figures of `amtsweg run --source kafka` in a group of two (scripts/bench kafka).

Two instances (A, B) read a 4-partition input topic while a producer feeds it at a fixed rate.
Each round kills A with SIGKILL once the group has committed about half of the stream, restarts
it at once on its data directory, lets the stream finish and waits until the group's committed
offsets are at the end. Figures per round, medians printed as RESULT lines:

- failover_duplicates_pct: deliveries on the audit topic beyond the first of each id, in percent
  of the distinct ids (at least once: after a crash the unacknowledged outbox goes out again, and
  partitions that move are published again above the group's committed offset);
- failover_first_input_ms: from the SIGKILL to the first input on one of A's partitions that is
  processed (its case's first audit event is stamped by the broker), measured with marker cases
  produced to A's partitions every 50 ms from the kill on.

Run once with dynamic membership and once with static membership (--group-instance-id), the
two figures named ..._dynamic and ..._static. Needs confluent-kafka (AMTSWEG_PYTHON's venv).
"""
import argparse
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

PARTITIONS = 4


def murmur2_partition(key, n):
    # Java's default partitioner (Utils.murmur2), as the engine's `partitioner: murmur2`.
    data = key.encode("utf-8")
    length = len(data)
    seed, m, r = 0x9747B28C, 0x5BD1E995, 24
    h = (seed ^ length) & 0xFFFFFFFF
    for i in range(0, length - length % 4, 4):
        k = int.from_bytes(data[i:i + 4], "little")
        k = (k * m) & 0xFFFFFFFF
        k ^= k >> r
        k = (k * m) & 0xFFFFFFFF
        h = (h * m) & 0xFFFFFFFF
        h ^= k
    rest = length % 4
    tail = data[length - rest:]
    if rest == 3:
        h ^= tail[2] << 16
    if rest >= 2:
        h ^= tail[1] << 8
    if rest >= 1:
        h ^= tail[0]
        h = (h * m) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * m) & 0xFFFFFFFF
    h ^= h >> 15
    return (h & 0x7FFFFFFF) % n


class Round:
    def __init__(self, args, name, static):
        self.args = args
        self.name = name
        self.static = static
        self.prefix = f"failover-{os.getpid()}-{name}"
        self.topic = self.prefix + ".input"
        self.audit = self.prefix + ".audit"
        self.group = self.prefix + ".engine"
        self.dir = os.path.join(args.tmp, name)
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        self.children = {}

    def start(self, who):
        cmd = [self.args.binary, "run", "-q", "--workflows", self.args.workflows, "--directory",
               self.args.directory, "--no-encryption", "--data-dir",
               os.path.join(self.dir, who), "--source", "kafka", "--bootstrap",
               self.args.bootstrap, "--topic", self.topic, "--group", self.group,
               "--audit-topic", self.audit, "--dead-letter-topic", self.prefix + ".dead",
               "-X", "client.id=" + who]
        if self.static:
            cmd += ["--group-instance-id", who]
        log = open(os.path.join(self.dir, who + ".log"), "ab")
        self.children[who] = subprocess.Popen(cmd, stdout=log, stderr=log)

    def committed(self, consumer):
        tps = consumer.committed([TopicPartition(self.topic, p) for p in range(PARTITIONS)],
                                 timeout=10)
        return {tp.partition: max(tp.offset, 0) for tp in tps}

    def owned_by(self, who):
        admin = AdminClient({"bootstrap.servers": self.args.bootstrap})
        desc = admin.describe_consumer_groups([self.group])[self.group].result(timeout=10)
        for m in desc.members:
            if m.client_id == who:
                return {tp.partition for tp in m.assignment.topic_partitions
                        if tp.topic == self.topic}
        return set()

    def run(self, lines, templates):
        admin = AdminClient({"bootstrap.servers": self.args.bootstrap})
        created = admin.create_topics([NewTopic(t, PARTITIONS, 1)
                                       for t in (self.topic, self.audit)])
        for f in created.values():
            f.result(timeout=30)
        producer = Producer({"bootstrap.servers": self.args.bootstrap,
                             "partitioner": "murmur2_random", "linger.ms": 5})
        self.start("A")
        self.start("B")
        observer = Consumer({"bootstrap.servers": self.args.bootstrap, "group.id": self.group})
        deadline = time.monotonic() + 120
        while (len(self.owned_by("A")) == 0 or len(self.owned_by("B")) == 0):
            if time.monotonic() > deadline:
                raise SystemExit(f"{self.name}: the group of two did not form")
            time.sleep(0.2)
        a_parts = self.owned_by("A")

        stop_feed = threading.Event()
        sent = [0]

        def feed():
            interval = 1.0 / self.args.rate
            t = time.monotonic()
            for line in lines:
                if stop_feed.is_set():
                    break
                producer.produce(self.topic, value=line.encode(),
                                 key=json.loads(line)["subject"].encode())
                producer.poll(0)
                sent[0] += 1
                t += interval
                time.sleep(max(0.0, t - time.monotonic()))
            producer.flush(60)

        feeder = threading.Thread(target=feed)
        feeder.start()
        half = len(lines) // 2
        while sum(self.committed(observer).values()) < half:
            if time.monotonic() > deadline + 600:
                raise SystemExit(f"{self.name}: the group never committed half of the stream")
            time.sleep(0.1)

        # Kill A, restart it at once, and send marker cases to A's partitions every 50 ms.
        self.children["A"].send_signal(signal.SIGKILL)
        killed_at = time.time()
        self.children["A"].wait()
        self.start("A")
        markers = {}
        rng = random.Random(self.args.seed)
        marker_stop = threading.Event()

        def mark():
            n = 0
            while not marker_stop.is_set():
                template = rng.choice(templates)
                while True:
                    n += 1
                    case = f"FO-{self.name}-{n:06d}"
                    if murmur2_partition(case, PARTITIONS) in a_parts:
                        break
                event = json.loads(template)
                event["subject"] = case
                event["id"] = case
                producer.produce(self.topic, value=json.dumps(event).encode(), key=case.encode())
                producer.poll(0)
                markers[case] = time.time()
                time.sleep(0.05)

        marker_thread = threading.Thread(target=mark)
        marker_thread.start()
        feeder.join()
        # Markers go on until one was processed (or two minutes passed).
        reader = Consumer({"bootstrap.servers": self.args.bootstrap,
                           "group.id": self.prefix + ".reader", "auto.offset.reset": "earliest",
                           "enable.auto.commit": False})
        reader.subscribe([self.audit])
        first_ms = None
        ids = {}
        total = 0
        end = time.monotonic() + 180
        done_at = None
        while time.monotonic() < end:
            m = reader.poll(0.5)
            if m is not None and m.error() is None:
                total += 1
                event_id = json.loads(m.value())["id"]
                ids[event_id] = ids.get(event_id, 0) + 1
                key = m.key().decode() if m.key() else ""
                if first_ms is None and key in markers and event_id == key + "/1":
                    first_ms = (m.timestamp()[1] / 1000.0 - killed_at) * 1000.0
                    marker_stop.set()
            if first_ms is None and time.monotonic() > end - 60:
                marker_stop.set()
            if marker_stop.is_set() and done_at is None:
                marker_thread.join()
                producer.flush(60)
                done_at = time.monotonic()
            if done_at is not None and m is None:
                ends = {p: reader.get_watermark_offsets(TopicPartition(self.topic, p),
                                                        timeout=10)[1] for p in range(PARTITIONS)}
                if self.committed(observer) == ends:
                    # Everything is committed; read the audit topic to its end.
                    audit_ends = [reader.get_watermark_offsets(TopicPartition(self.audit, p),
                                                               timeout=10)[1]
                                  for p in range(PARTITIONS)]
                    positions = reader.position([TopicPartition(self.audit, p)
                                                 for p in range(PARTITIONS)])
                    if all(tp.offset >= audit_ends[tp.partition] for tp in positions):
                        break
        for child in self.children.values():
            child.send_signal(signal.SIGTERM)
        for child in self.children.values():
            try:
                child.wait(timeout=60)
            except subprocess.TimeoutExpired:
                child.kill()
        reader.close()
        observer.close()
        admin.delete_topics([self.topic, self.audit, self.prefix + ".dead"])
        distinct = len(ids)
        duplicates = total - distinct
        print(f"{self.name}: {sent[0]} inputs, {len(markers)} markers, {distinct} audit ids, "
              f"{duplicates} repeated deliveries ({100.0 * duplicates / max(distinct, 1):.1f} %), "
              f"first input on A's partitions {a_parts} after the kill: "
              f"{first_ms if first_ms is None else round(first_ms)} ms", flush=True)
        shutil.rmtree(self.dir, ignore_errors=True)
        return 100.0 * duplicates / max(distinct, 1), first_ms


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--binary", required=True)
    p.add_argument("--events", required=True)
    p.add_argument("--bootstrap", required=True)
    p.add_argument("--tmp", required=True)
    p.add_argument("--workflows", required=True)
    p.add_argument("--directory", required=True)
    p.add_argument("--events-per-round", type=int, default=20000)
    p.add_argument("--rate", type=float, default=2000.0, help="inputs per second")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--seed", type=int, default=42)
    args = p.parse_args()
    with open(args.events, encoding="utf-8") as f:
        lines = [line.rstrip("\n") for line in f if line.strip()]
    def subject(line):  # gen-events mixes in bad input; the rounds use the keyed events only
        try:
            event = json.loads(line)
        except ValueError:
            return None
        return event.get("subject") if isinstance(event, dict) else None

    lines = [line for line in lines if isinstance(subject(line), str)]
    lines = lines[:args.events_per_round]
    templates = [line for line in lines
                 if json.loads(line)["type"] == "de.amtsweg.application.submitted"]
    print(f"failover: seed {args.seed}, {len(lines)} inputs per round at {args.rate:.0f}/s, "
          f"{args.runs} runs each", flush=True)
    for static in (False, True):
        kind = "static" if static else "dynamic"
        dups, firsts = [], []
        for i in range(args.runs):
            d, f = Round(args, f"{kind}{i}", static).run(lines, templates)
            dups.append(d)
            if f is not None:
                firsts.append(f)
        print(f"RESULT failover_duplicates_pct_{kind} {statistics.median(dups):.1f} %")
        if firsts:
            print(f"RESULT failover_first_input_ms_{kind} {statistics.median(firsts):.0f} ms")
        else:
            print(f"failover_first_input_ms_{kind}: no marker was processed in time")
    return 0


if __name__ == "__main__":
    sys.exit(main())
