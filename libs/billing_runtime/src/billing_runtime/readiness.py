"""Reachability probes for Kafka and PostgreSQL, shared by ``/readyz`` and the stack scripts.

Usage (the stack script waits for the broker with it)::

    python -m billing_runtime.readiness kafka --bootstrap 127.0.0.1:9092 --wait 90
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Sequence

from aiokafka.admin import AIOKafkaAdminClient


class NotReady(RuntimeError):
    """A dependency did not answer in time."""


async def probe_kafka(bootstrap: str, *, timeout: float = 5.0) -> None:
    """Raise NotReady unless a broker answers a metadata request within ``timeout`` seconds."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, client_id="billing-readiness", request_timeout_ms=int(timeout * 1000)
    )
    try:
        await asyncio.wait_for(admin.start(), timeout)
        cluster = await asyncio.wait_for(admin.describe_cluster(), timeout)
        if not cluster.get("brokers"):
            raise NotReady(f"Kafka at {bootstrap} reports no brokers")
    except (TimeoutError, OSError) as exc:
        raise NotReady(f"Kafka at {bootstrap} did not answer within {timeout:g}s: {exc!r}") from exc
    except NotReady:
        raise
    except Exception as exc:  # aiokafka raises its own hierarchy for connection failures
        raise NotReady(f"Kafka at {bootstrap} is not reachable: {exc!r}") from exc
    finally:
        await admin.close()


async def wait_for_kafka(bootstrap: str, *, wait: float, interval: float = 1.0) -> None:
    """Probe until the broker answers or ``wait`` seconds have passed (then raise the last error)."""
    deadline = time.monotonic() + wait
    while True:
        try:
            await probe_kafka(bootstrap, timeout=min(5.0, max(wait, 1.0)))
            return
        except NotReady:
            if time.monotonic() + interval > deadline:
                raise
            await asyncio.sleep(interval)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m billing_runtime.readiness")
    parser.add_argument("component", choices=["kafka"])
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--wait", type=float, default=0.0, help="keep trying for this many seconds")
    args = parser.parse_args(argv)
    try:
        asyncio.run(wait_for_kafka(args.bootstrap, wait=args.wait))
    except NotReady as exc:
        print(f"not ready: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
