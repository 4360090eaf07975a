"""``billing produce``: put a JSON Lines file of usage CloudEvents on Kafka, as the platform would.

Each line goes out as a structured-mode CloudEvent (billing_runtime's codec) keyed
``tenant_id/site_id``, the key the topic catalogue gives ``usage.events.v1``. The whole file is
checked first, so a file with an unreadable line sends nothing rather than half of it. Whether an
event is *usable* (quantity, category, ...) is ingest's decision, not this command's.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from cloudevents.core.base import BaseCloudEvent

from billing_runtime.cloudevents_codec import (
    CloudEventDecodeError,
    ContentMode,
    DecimalJSONFormat,
    encode_event,
    record_headers,
)

from .input_errors import EXIT_BAD_INPUT, EXIT_OK

__all__ = ["EXIT_KAFKA", "LineProblem", "add_produce_parser", "keyed_events", "produce"]

EXIT_KAFKA = 1
SHOWN_PROBLEMS = 20
"""A file that is wrong everywhere is reported by its first problems and a count, not in full."""


@dataclass(frozen=True)
class LineProblem:
    line: int
    message: str


def add_produce_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "produce",
        help="send a JSON Lines file of usage CloudEvents to Kafka (usage.events.v1)",
        description=(
            "Send every line of EVENTS to the usage topic as a structured CloudEvent keyed "
            "tenant_id/site_id. Broker and topic prefix come from BILLING_KAFKA_BOOTSTRAP and "
            "BILLING_TOPIC_PREFIX unless given here."
        ),
    )
    parser.add_argument("--events", required=True, type=Path, help="JSON Lines file, one CloudEvent a line")
    parser.add_argument("--topic", default="usage.events.v1", help="catalogue topic name, without prefix")
    parser.add_argument("--bootstrap", help="Kafka bootstrap servers, host:port")
    parser.add_argument("--topic-prefix", help="prefix of the topic names (test runs use one)")
    parser.set_defaults(handler=produce)


def keyed_events(path: Path) -> Iterator[tuple[int, BaseCloudEvent, str] | LineProblem]:
    """Per non-blank line: (line number, CloudEvent, key), or the problem that line has."""
    reader = DecimalJSONFormat()
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                event = reader.read(None, line)
            except CloudEventDecodeError as exc:
                yield LineProblem(number, str(exc))
                continue
            except ValueError as exc:  # the SDK's own attribute checks
                yield LineProblem(number, f"invalid_attributes: {exc}")
                continue
            data = event.get_data()
            tenant = data.get("tenant_id") if isinstance(data, dict) else None
            site = data.get("site_id") if isinstance(data, dict) else None
            if not isinstance(tenant, str) or not isinstance(site, str) or not tenant or not site:
                yield LineProblem(number, "data.tenant_id and data.site_id (the message key) must be strings")
                continue
            yield number, event, f"{tenant}/{site}"


def produce(args: argparse.Namespace, stdout: TextIO = sys.stdout, stderr: TextIO = sys.stderr) -> int:
    problems = [item for item in keyed_events(args.events) if isinstance(item, LineProblem)]
    if problems:
        for problem in problems[:SHOWN_PROBLEMS]:
            stderr.write(f"billing produce: {args.events}:{problem.line}: {problem.message}\n")
        stderr.write(f"billing produce: {len(problems)} bad lines in {args.events}; nothing was sent\n")
        return EXIT_BAD_INPUT
    # Imported here so the offline commands never load the Kafka client and settings machinery.
    from billing_runtime.settings import ServiceSettings

    overrides = {
        name: value
        for name, value in (("kafka_bootstrap", args.bootstrap), ("topic_prefix", args.topic_prefix))
        if value is not None
    }
    try:
        settings = ServiceSettings(**overrides)
    except ValueError as exc:  # pydantic names the variable or option it refuses
        stderr.write(f"billing produce: settings: {exc}\n")
        return EXIT_BAD_INPUT
    topic = settings.topic_name(args.topic)
    try:
        sent = asyncio.run(_send_all(settings, topic, args.events))
    except Exception as exc:  # the broker's refusal, told plainly instead of as a traceback
        stderr.write(f"billing produce: Kafka at {settings.kafka_bootstrap}, topic {topic}: {exc!r}\n")
        return EXIT_KAFKA
    stdout.write(f"{args.events}: {sent} events sent to {topic} at {settings.kafka_bootstrap}\n")
    return EXIT_OK


async def _send_all(settings: Any, topic: str, path: Path) -> int:
    from billing_runtime.kafka import create_producer

    producer = create_producer(settings, client_id="billing-produce")
    await producer.start()
    sent = 0
    try:
        pending: list[asyncio.Future[Any]] = []
        for item in keyed_events(path):
            if isinstance(item, LineProblem):  # the file changed since it was checked
                raise ValueError(f"{path}:{item.line}: {item.message}")
            _, event, key = item
            message = encode_event(event, mode=ContentMode.STRUCTURED, key=key)
            pending.append(
                await producer.send(
                    topic, value=message.value, key=key.encode("utf-8"), headers=record_headers(message)
                )
            )
            if len(pending) >= 1000:
                await asyncio.gather(*pending)
                sent += len(pending)
                pending.clear()
        await asyncio.gather(*pending)
        sent += len(pending)
    finally:
        await producer.stop()
    return sent
