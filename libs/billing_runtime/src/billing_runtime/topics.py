"""The Kafka topic catalogue (``schemas/topics.yaml``) and the command that creates its topics.

Usage::

    python -m billing_runtime.topics ensure [--prefix P] [--bootstrap HOST:PORT]
    python -m billing_runtime.topics list
    python -m billing_runtime.topics delete --prefix P      # test clean-up; refuses an empty prefix
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from aiokafka.admin import NewPartitions, NewTopic
from aiokafka.errors import for_code

from billing_runtime.kafka import create_admin
from billing_runtime.settings import ServiceSettings

_RETENTION = re.compile(r"^(\d+)([dh])$")
_TOPIC_ALREADY_EXISTS = 36
_UNKNOWN_TOPIC = 3
TOPICS_SERVED_TIMEOUT_SECONDS = 30.0


class CatalogueError(ValueError):
    """The topic catalogue file is malformed."""


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    key: str
    retention_ms: int
    cleanup: str
    types: tuple[str, ...]
    description: str

    def kafka_config(self) -> dict[str, str]:
        return {"retention.ms": str(self.retention_ms), "cleanup.policy": self.cleanup}


@dataclass(frozen=True)
class EnsureReport:
    created: tuple[str, ...]
    grown: tuple[str, ...]
    unchanged: tuple[str, ...]
    wider_than_catalogue: tuple[str, ...]


def _retention_ms(text: object, where: str) -> int:
    match = _RETENTION.match(str(text))
    if not match:
        raise CatalogueError(f"{where}: retention {text!r} must look like '7d' or '12h'")
    hours = int(match.group(1)) * (24 if match.group(2) == "d" else 1)
    return hours * 3_600_000


def _parse_topic(raw: Any, where: str) -> TopicSpec:
    if not isinstance(raw, dict):
        raise CatalogueError(f"{where}: expected a mapping, got {type(raw).__name__}")
    missing = {"name", "partitions", "key", "retention", "cleanup", "types"} - raw.keys()
    if missing:
        raise CatalogueError(f"{where}: missing {', '.join(sorted(missing))}")
    partitions = raw["partitions"]
    if not isinstance(partitions, int) or isinstance(partitions, bool) or partitions < 1:
        raise CatalogueError(f"{where}: partitions must be a positive integer, got {partitions!r}")
    if raw["cleanup"] not in ("delete", "compact"):
        raise CatalogueError(f"{where}: cleanup must be 'delete' or 'compact', got {raw['cleanup']!r}")
    types = raw["types"]
    if not isinstance(types, list) or not types or not all(isinstance(t, str) for t in types):
        raise CatalogueError(f"{where}: types must be a non-empty list of strings")
    return TopicSpec(
        name=str(raw["name"]),
        partitions=partitions,
        key=str(raw["key"]),
        retention_ms=_retention_ms(raw["retention"], where),
        cleanup=str(raw["cleanup"]),
        types=tuple(types),
        description=str(raw.get("description", "")),
    )


def parse_catalogue(text: str, source: str) -> tuple[TopicSpec, ...]:
    """Parse catalogue YAML; errors name ``source`` and the entry."""
    document = yaml.safe_load(text)
    if not isinstance(document, dict) or not isinstance(document.get("topics"), list):
        raise CatalogueError(f"{source}: expected a top-level 'topics' list")
    specs = tuple(
        _parse_topic(raw, f"{source}: topics[{index}]") for index, raw in enumerate(document["topics"])
    )
    names = [spec.name for spec in specs]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise CatalogueError(f"{source}: duplicate topic names {duplicates}")
    return specs


def load_catalogue(path: Path | None = None) -> tuple[TopicSpec, ...]:
    """The catalogue shipped with this package, or the one at ``path``."""
    if path is not None:
        return parse_catalogue(path.read_text(encoding="utf-8"), str(path))
    packaged = resources.files("billing_runtime").joinpath("topics.yaml")
    return parse_catalogue(packaged.read_text(encoding="utf-8"), "schemas/topics.yaml")


def catalogue_topic(name: str, catalogue: Sequence[TopicSpec] | None = None) -> TopicSpec:
    """The catalogue entry for ``name``; a KeyError names the known topics."""
    for spec in catalogue if catalogue is not None else load_catalogue():
        if spec.name == name:
            return spec
    raise KeyError(f"topic {name!r} is not in the catalogue (schemas/topics.yaml)")


def _raise_topic_errors(response: Any, tolerated: int, action: str) -> None:
    errors: Any = getattr(response, "topic_errors", None) or getattr(response, "topic_error_codes", ())
    for error in errors:
        topic, code = error[0], error[1]
        if code and code != tolerated:
            message = error[2] if len(error) > 2 else ""
            raise for_code(code)(f"could not {action} topic {topic}: {message}")


async def ensure_topics(
    settings: ServiceSettings, catalogue: Sequence[TopicSpec] | None = None
) -> EnsureReport:
    """Create missing topics and grow under-partitioned ones; never shrinks or deletes."""
    specs = tuple(catalogue) if catalogue is not None else load_catalogue()
    admin = create_admin(settings, client_id="billing-topics")
    await admin.start()
    try:
        wanted = {settings.topic_name(spec.name): spec for spec in specs}
        existing = {
            entry["topic"]: len(entry["partitions"])
            for entry in await admin.describe_topics(list(wanted))
            if entry["error_code"] == 0
        }
        missing = [name for name in wanted if name not in existing]
        if missing:
            response = await admin.create_topics(
                [
                    NewTopic(
                        name=name,
                        num_partitions=wanted[name].partitions,
                        replication_factor=settings.topic_replication_factor,
                        topic_configs=wanted[name].kafka_config(),
                    )
                    for name in missing
                ]
            )
            _raise_topic_errors(response, _TOPIC_ALREADY_EXISTS, "create")
        grow = {
            name: NewPartitions(total_count=wanted[name].partitions)
            for name, count in existing.items()
            if count < wanted[name].partitions
        }
        if grow:
            await admin.create_partitions(grow)
        if missing or grow:
            await _wait_until_served(admin, {name: wanted[name].partitions for name in [*missing, *grow]})
        return EnsureReport(
            created=tuple(missing),
            grown=tuple(grow),
            unchanged=tuple(n for n, c in existing.items() if c == wanted[n].partitions),
            wider_than_catalogue=tuple(n for n, c in existing.items() if c > wanted[n].partitions),
        )
    finally:
        await admin.close()


async def _wait_until_served(admin: Any, partitions: dict[str, int]) -> None:
    """Return once the broker describes every topic with all its partitions led.

    A created topic reaches the broker's metadata a moment after the controller accepted it; a
    consumer that subscribes in between is assigned none of it until its next metadata refresh
    (minutes), so provisioning is only done when the topics are served.
    """
    deadline = asyncio.get_running_loop().time() + TOPICS_SERVED_TIMEOUT_SECONDS
    while True:
        described = await admin.describe_topics(list(partitions))
        waiting = sorted(
            set(partitions)
            - {
                entry["topic"]
                for entry in described
                if entry["error_code"] == 0
                and len(entry["partitions"]) == partitions[entry["topic"]]
                and all(part["leader"] >= 0 for part in entry["partitions"])
            }
        )
        if not waiting:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise RuntimeError(
                f"topics not served by the broker {TOPICS_SERVED_TIMEOUT_SECONDS:g} s after creation: "
                + ", ".join(waiting)
            )
        await asyncio.sleep(0.05)


async def delete_prefixed_topics(settings: ServiceSettings) -> tuple[str, ...]:
    """Delete every topic that starts with the (non-empty) topic prefix; for test clean-up."""
    if not settings.topic_prefix:
        raise ValueError("refusing to delete topics without a topic prefix")
    admin = create_admin(settings, client_id="billing-topics")
    await admin.start()
    try:
        doomed = [name for name in await admin.list_topics() if name.startswith(settings.topic_prefix)]
        if doomed:
            _raise_topic_errors(await admin.delete_topics(doomed), _UNKNOWN_TOPIC, "delete")
        return tuple(doomed)
    finally:
        await admin.close()


def _settings_from_args(args: argparse.Namespace) -> ServiceSettings:
    overrides: dict[str, Any] = {}
    if args.prefix is not None:
        overrides["topic_prefix"] = args.prefix
    if args.bootstrap is not None:
        overrides["kafka_bootstrap"] = args.bootstrap
    return ServiceSettings(**overrides)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m billing_runtime.topics")
    parser.add_argument("command", choices=["ensure", "list", "delete"])
    parser.add_argument("--prefix", help="topic prefix (default: BILLING_TOPIC_PREFIX)")
    parser.add_argument("--bootstrap", help="Kafka bootstrap servers (default: BILLING_KAFKA_BOOTSTRAP)")
    args = parser.parse_args(argv)
    if args.command == "list":
        for spec in load_catalogue():
            print(f"{spec.name}\tpartitions={spec.partitions}\tkey={spec.key}\ttypes={','.join(spec.types)}")
        return 0
    settings = _settings_from_args(args)
    if args.command == "delete":
        deleted = asyncio.run(delete_prefixed_topics(settings))
        print(f"deleted {len(deleted)} topics with prefix {settings.topic_prefix!r}")
        return 0
    report = asyncio.run(ensure_topics(settings))
    print(
        f"topics (prefix {settings.topic_prefix!r}): created {len(report.created)}, "
        f"grown {len(report.grown)}, unchanged {len(report.unchanged)}"
    )
    for name in report.wider_than_catalogue:
        print(f"warning: {name} has more partitions than the catalogue lists", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
