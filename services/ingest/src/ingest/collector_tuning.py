"""The cyclic garbage collector's settings while the service runs.

A Kafka batch keeps tens of thousands of container objects alive from fetch to commit (records,
decoded data, events), so with the interpreter's defaults the collector ran about every 700
allocations and kept promoting the batch into the oldest generation, whose full collections
walked the whole heap — libraries, app, clients — each time: about a quarter of the process's
CPU per event. Nearly all of that garbage is freed by reference counting anyway. So while the
service runs, the objects that exist once it has started are frozen (never walked again; they
live as long as the process) and the youngest generation is collected less often.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

YOUNG_THRESHOLD = 50_000
"""Allocations (minus deallocations) of container objects between two young collections."""
OLDER_THRESHOLDS = (20, 20)


@contextmanager
def collector_tuned_for_batches() -> Iterator[None]:
    """Freeze what exists now and collect less often; the previous settings are back on exit."""
    previous = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, *OLDER_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*previous)
        gc.unfreeze()
