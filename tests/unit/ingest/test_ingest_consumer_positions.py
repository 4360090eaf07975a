from __future__ import annotations

from dataclasses import dataclass, field

from aiokafka import TopicPartition
from ingest_fakes import MemoryLedger

from ingest.consumer import SeekToStoredPositions
from ingest.ledger_port import LedgerBatch, PartitionPosition


@dataclass
class SeekRecorder:
    """Records where the listener tells the consumer to read from."""

    seeks: dict[TopicPartition, int] = field(default_factory=dict)
    from_start: list[TopicPartition] = field(default_factory=list)

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.seeks[tp] = offset

    async def seek_to_beginning(self, *partitions: TopicPartition) -> None:
        self.from_start.extend(partitions)


async def test_assigned_partitions_resume_at_stored_positions_and_unknown_ones_from_the_start() -> None:
    ledger = MemoryLedger()
    await ledger.record(
        LedgerBatch(
            [],
            positions=[PartitionPosition("usage", 0, 120), PartitionPosition("usage", 2, 7)],
            consumer_group="g",
        )
    )
    await ledger.record(LedgerBatch([], positions=[PartitionPosition("usage", 0, 90)], consumer_group="g"))
    await ledger.record(
        LedgerBatch([], positions=[PartitionPosition("usage", 1, 55)], consumer_group="other")
    )
    consumer = SeekRecorder()
    listener = SeekToStoredPositions(consumer, ledger, "g")
    await listener.on_partitions_assigned(
        [TopicPartition("usage", 0), TopicPartition("usage", 1), TopicPartition("usage", 2)]
    )
    assert consumer.seeks == {TopicPartition("usage", 0): 120, TopicPartition("usage", 2): 7}
    assert consumer.from_start == [TopicPartition("usage", 1)]
