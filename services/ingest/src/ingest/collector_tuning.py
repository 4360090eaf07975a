"""The cyclic garbage collector's settings while the service runs.

A Kafka batch keeps tens of thousands of container objects alive from fetch to commit (records,
their header tuples, events), so with the interpreter's defaults the collector ran about every 700
allocations and kept promoting the batch into the oldest generation, whose full collections
walked the whole heap — libraries, app, clients — each time: about a quarter of the process's
CPU per event. Nearly all of that garbage is freed by reference counting anyway. So while the
service runs, the objects that exist once it has started are frozen (never walked again; they
live as long as the process) and the youngest generation is collected only after more objects
than two batches in flight hold (one being written, the next being prepared).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

OBJECTS_PER_RECORD = 20
"""Containers a record can keep alive while its batch is in flight, two batches' worth: a
binary-mode record is the record, its header tuple and its six (name, value) pairs, then its event."""
YOUNG_THRESHOLD_FLOOR = 50_000
OLDER_THRESHOLDS = (20, 20)


def young_threshold(batch_max_records: int) -> int:
    """Allocations (minus deallocations) of container objects between two young collections."""
    return max(YOUNG_THRESHOLD_FLOOR, OBJECTS_PER_RECORD * batch_max_records)


@contextmanager
def collector_tuned_for_batches(batch_max_records: int) -> Iterator[None]:
    """Freeze what exists now and collect less often; the previous settings are back on exit."""
    previous = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(young_threshold(batch_max_records), *OLDER_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*previous)
        gc.unfreeze()
