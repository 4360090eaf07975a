"""Bring shared infrastructure to the state the services expect, in one process.

Waits for the Kafka broker, creates the catalogue topics, then runs every service's Alembic
migrations (each ``<services-dir>/<name>/alembic.ini``) in order. The stack script, the compose
``migrate`` step and the Helm migration hook all run this, so they cannot drift apart; one interpreter
start instead of one per step keeps a repeated ``make up`` fast.

    python -m billing_runtime.provision [--services-dir services] [--wait 90]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

from billing_runtime.migrations import upgrade
from billing_runtime.readiness import NotReady, wait_for_kafka
from billing_runtime.settings import ServiceSettings
from billing_runtime.topics import ensure_topics


def service_dirs(services_dir: Path) -> list[Path]:
    """Service folders that carry Alembic migrations, in name order."""
    return sorted(ini.parent for ini in services_dir.glob("*/alembic.ini"))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m billing_runtime.provision")
    parser.add_argument("--services-dir", type=Path, default=Path("services"))
    parser.add_argument("--wait", type=float, default=90.0, help="seconds to wait for the broker")
    args = parser.parse_args(argv)
    settings = ServiceSettings()
    try:
        asyncio.run(wait_for_kafka(settings.kafka_bootstrap, wait=args.wait))
    except NotReady as exc:
        print(f"provision: Kafka not ready: {exc}", file=sys.stderr)
        return 1
    report = asyncio.run(ensure_topics(settings))
    print(
        f"topics (prefix {settings.topic_prefix!r}): created {len(report.created)}, "
        f"grown {len(report.grown)}, unchanged {len(report.unchanged)}",
        flush=True,
    )
    for service_dir in service_dirs(args.services_dir):
        try:
            upgrade(service_dir, settings)
        except Exception as exc:
            print(f"provision: migrations of {service_dir.name} failed: {exc!r}", file=sys.stderr)
            raise
        print(f"migrations of {service_dir.name} at head", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
