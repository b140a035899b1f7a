#!/usr/bin/env python3
"""An independent reader of what amtsweg writes to Kafka: the CloudEvents Python SDK
(cloudevents==2.2.0, its Kafka binding cloudevents.core.bindings.kafka) over confluent-kafka
(its own bundled librdkafka), both pinned in tests/kafka/client-requirements.txt.

It reads every message of the given topics from the beginning to their end and fails (exit 1,
naming topic, partition, offset and what is wrong) on any message that:

- on a participant or the audit topic: does not parse as a CloudEvent 1.0 in structured mode with
  exactly one content-type header, `application/cloudevents+json` (CloudEvents Kafka protocol
  binding 3.1 and 3.3: the mode is told by the content-type header), or shares its `source` +
  `id` with another event of other data (CloudEvents 1.0: source + id identify one event;
  deliveries again of the same event are fine);
- on the dead-letter topic: lacks one of the error headers (docs/operations.md, "Dead letters"),
  or is not the original message of the input topic at the offset it names: the same value bytes
  (an oversized one: its first 64 KiB) and the same headers in the same order, the error headers
  after them. So an original that was a CloudEvent (in either mode) parses the same way from its
  dead letter, and a value that was none gets no content-type.

Usage: cloudevents_reader.py --bootstrap HOST:PORT --input T --audit T --dead-letters T
           --participant T [--participant T ...]
Prints one line per topic and `cloudevents reader: N messages, all parse`.
"""

import argparse
import json
import sys

from confluent_kafka import Consumer, KafkaException, TopicPartition
from cloudevents.core.bindings import kafka as ce_kafka
from cloudevents.core.formats.json import JSONFormat

ERROR_PREFIX = "__amtsweg.errors."
REQUIRED_ERROR_HEADERS = ["kind", "reason", "source", "position", "topic", "partition", "offset",
                          "size"]
OVERSIZED_KEEP = 64 * 1024
STRUCTURED = "application/cloudevents+json"


def read_topic(bootstrap, topic):
    """Every message of `topic`, partition by partition, from the start to the current end."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "cloudevents-reader",
                         "enable.auto.commit": False, "enable.partition.eof": True})
    try:
        metadata = consumer.list_topics(topic, timeout=30)
        info = metadata.topics.get(topic)
        if info is None or info.error is not None:
            raise SystemExit(f"topic {topic}: {info.error if info else 'not found'}")
        ends = {}
        assignment = []
        for p in sorted(info.partitions):
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=30)
            if high > low:
                ends[p] = high
                assignment.append(TopicPartition(topic, p, low))
        messages = []
        if not assignment:
            return messages
        consumer.assign(assignment)
        left = dict(ends)
        idle = 0
        while left:
            m = consumer.poll(1.0)
            if m is None:
                idle += 1
                if idle > 60:
                    raise SystemExit(f"topic {topic}: no message for 60 s; still to read: {left}")
                continue
            idle = 0
            if m.error() is not None:
                if m.error().code() == -191:  # _PARTITION_EOF
                    continue
                raise KafkaException(m.error())
            messages.append(m)
            if m.offset() + 1 >= ends.get(m.partition(), 0):
                left.pop(m.partition(), None)
        return messages
    finally:
        consumer.close()


def where(m):
    return f"{m.topic()} partition {m.partition()} offset {m.offset()}"


def headers_of(m):
    return [(name, b"" if value is None else value) for name, value in (m.headers() or [])]


def content_types(headers):
    return [v.decode("utf-8", "replace") for n, v in headers if n.lower() == "content-type"]


def parse(m):
    """The message as a CloudEvent by the binding's rule (3.1): structured when the content-type
    names a CloudEvents format, else binary. Raises on anything the SDK refuses, and on a header
    name that repeats (a dict of headers, as the SDK takes them, would hide one)."""
    headers = headers_of(m)
    names = [n.lower() for n, _ in headers]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"repeated headers {repeated}")
    message = ce_kafka.KafkaMessage(headers=dict(headers), key=m.key(), value=m.value() or b"")
    types = content_types(headers)
    if types and types[0].strip().lower().startswith("application/cloudevents"):
        return "structured", ce_kafka.from_structured(message, JSONFormat())
    return "binary", ce_kafka.from_binary(message, JSONFormat())


def check_events(messages, failures, identities):
    for m in messages:
        try:
            mode, event = parse(m)
        except Exception as e:  # the SDK raises several kinds
            failures.append(f"{where(m)}: not a CloudEvent: {type(e).__name__}: {e}")
            continue
        types = content_types(headers_of(m))
        if mode != "structured" or types != [STRUCTURED]:
            failures.append(f"{where(m)}: {mode} mode with content-type {types}; expected one "
                            f"content-type {STRUCTURED}")
        if event.get_specversion() != "1.0":
            failures.append(f"{where(m)}: specversion {event.get_specversion()}")
        identity = (event.get_source(), event.get_id())
        data = event.get_data()
        if identity in identities and identities[identity][1] != data:
            failures.append(f"{where(m)}: source {identity[0]!r} + id {identity[1]!r} also names "
                            f"the event at {identities[identity][0]}, with other data")
        identities.setdefault(identity, (where(m), data))


def has_id(mode, message, headers):
    """Whether the message itself carries a CloudEvents id (the SDK invents one otherwise)."""
    if mode == "binary":
        return "ce_id" in [n.lower() for n, _ in headers]
    try:
        return "id" in json.loads(message.value() or b"")
    except ValueError:
        return False


def check_dead_letters(messages, originals, failures):
    for m in messages:
        headers = headers_of(m)
        errors = {n[len(ERROR_PREFIX):]: v.decode("utf-8", "replace")
                  for n, v in headers if n.startswith(ERROR_PREFIX)}
        missing = [h for h in REQUIRED_ERROR_HEADERS if h not in errors]
        if missing:
            failures.append(f"{where(m)}: dead letter without the error headers "
                            f"{[ERROR_PREFIX + h for h in missing]}")
            continue
        if not errors["reason"].startswith(errors["kind"] + ": "):
            failures.append(f"{where(m)}: reason {errors['reason']!r} is not of kind "
                            f"{errors['kind']!r}")
        key = (errors["topic"], int(errors["partition"]), int(errors["offset"]))
        original = originals.get(key)
        if original is None:
            failures.append(f"{where(m)}: names {key}, which is no message of the input")
            continue
        value = original.value() or b""
        if int(errors["size"]) != len(value):
            failures.append(f"{where(m)}: size {errors['size']}, the original has {len(value)}")
        kept = value[:OVERSIZED_KEEP] if errors["kind"] == "oversized" else value
        if (m.value() or b"") != kept:
            failures.append(f"{where(m)}: the value is not the original's at {where(original)}")
        own = [(n, v) for n, v in headers if not n.startswith(ERROR_PREFIX)]
        if own != headers_of(original) or headers[:len(own)] != own:
            failures.append(f"{where(m)}: headers {own} are not the original's "
                            f"{headers_of(original)}, in order, before the error headers")
        # Whatever the original was, its dead letter is the same thing (an oversized one has
        # only its start).
        if errors["kind"] == "oversized":
            continue
        try:
            original_mode, original_event = parse(original)
        except Exception:
            original_mode = None
        if original_mode is not None:
            try:
                mode, event = parse(m)
            except Exception as e:
                failures.append(f"{where(m)}: the original parses as a CloudEvent, its dead "
                                f"letter does not: {e}")
                continue
            got, want = dict(event.get_attributes()), dict(original_event.get_attributes())
            if not has_id(original_mode, original, own):
                # The SDK makes up an id where a message has none (in either mode).
                got.pop("id", None)
                want.pop("id", None)
            if mode != original_mode or got != want or event.get_data() != original_event.get_data():
                failures.append(f"{where(m)}: reads as {mode} mode {got}, the original as "
                                f"{original_mode} mode {want}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--input", required=True)
    parser.add_argument("--audit", required=True)
    parser.add_argument("--dead-letters", required=True)
    parser.add_argument("--participant", action="append", required=True)
    args = parser.parse_args()

    failures = []
    identities = {}
    total = 0
    for topic in [args.audit] + args.participant:
        messages = read_topic(args.bootstrap, topic)
        total += len(messages)
        print(f"{topic}: {len(messages)} messages")
        check_events(messages, failures, identities)
    originals = {(m.topic(), m.partition(), m.offset()): m
                 for m in read_topic(args.bootstrap, args.input)}
    dead = read_topic(args.bootstrap, args.dead_letters)
    total += len(dead)
    print(f"{args.dead_letters}: {len(dead)} messages (originals: {len(originals)} in "
          f"{args.input})")
    check_dead_letters(dead, originals, failures)
    for f in failures[:50]:
        print("FAIL " + f)
    if failures:
        print(f"cloudevents reader: {len(failures)} of {total} messages do not parse as they must")
        return 1
    if total == 0:
        print("cloudevents reader: no messages at all")
        return 1
    print(f"cloudevents reader: {total} messages, all parse")
    return 0


if __name__ == "__main__":
    sys.exit(main())
