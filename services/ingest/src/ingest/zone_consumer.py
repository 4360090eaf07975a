"""The Kafka side of tenant zones: billing.config.changed.v1 records applied one at a time, in order.

The consumer has its own group; each record's position is stored in the transaction that applies it
(``ZoneChanges.apply``) and the consumer seeks to the stored positions on assignment, so Kafka's
committed offsets are informational only. A record that cannot be used is logged and passed over
(its position still moves); a failed transaction is retried until it succeeds or the service stops.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from aiokafka import TopicPartition
from aiokafka.errors import KafkaError

from billing_runtime.cloudevents_codec import CloudEventDecodeError, decode_record
from ingest.ledger_port import PartitionPosition
from ingest.zone_changes import Applied, ZoneChange, ZoneChanges, zone_change

log = logging.getLogger(__name__)
RETRY_CEILING_SECONDS = 5.0


def readable_change(record: Any) -> ZoneChange | None:
    """The zone change a record carries; None (logged) when it carries none or cannot be read."""
    where = f"{record.topic}/{record.partition}@{record.offset}"
    try:
        return zone_change(decode_record(record).get_data())
    except (CloudEventDecodeError, ValueError) as error:
        log.warning("config change %s passed over: %s", where, error)
        return None


class ZoneConsumer:
    def __init__(
        self,
        consumer: Any,
        changes: ZoneChanges,
        *,
        group: str,
        max_wait_ms: int,
        after_commit: Callable[[], None] = lambda: None,
    ) -> None:
        self._consumer = consumer
        self._changes = changes
        self._group = group
        self._max_wait_ms = max_wait_ms
        self._after_commit = after_commit

    async def run(self, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            fetched = await self._consumer.getmany(timeout_ms=self._max_wait_ms, max_records=500)
            for tp, records in fetched.items():
                for record in records:
                    position = PartitionPosition(record.topic, record.partition, record.offset + 1)
                    applied = await self._apply(readable_change(record), position, stopping)
                    if applied is None:
                        return
                    if applied.periods:
                        log.info(
                            "tenant zone applied from %s@%d: %s, periods %s",
                            tp.topic, record.offset, applied.outcome, ", ".join(applied.periods),
                        )  # fmt: skip
                        self._after_commit()
                await self._commit_to_kafka(tp, records[-1].offset + 1)

    async def _apply(
        self, change: ZoneChange | None, position: PartitionPosition, stopping: asyncio.Event
    ) -> Applied | None:
        delay = 0.1
        while True:
            try:
                return await self._changes.apply(change, position, self._group)
            except asyncio.CancelledError:
                raise
            except Exception:
                if stopping.is_set():
                    log.warning("config change at %s abandoned at shutdown (rolled back)", position)
                    return None
                log.exception("applying the config change at %s failed; retrying in %.1fs", position, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_CEILING_SECONDS)

    async def _commit_to_kafka(self, tp: TopicPartition, next_offset: int) -> None:
        try:
            await self._consumer.commit({tp: next_offset})
        except KafkaError as error:  # informational only: the database holds the real positions
            log.info("kafka offset commit skipped: %r", error)
