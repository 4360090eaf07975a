"""Pausing the cyclic garbage collector around allocation-heavy work that creates no cycles.

A rating run allocates hundreds of thousands of small acyclic values (lines, sections,
ledger entries), all freed by reference counting. The collector's passes over them find
nothing yet cost about a fifth of a year's run for a large tenant, growing with the heap.

Pausing alone leaves all the values a run keeps in the young generation, and the first
allocation after the collector is enabled again walks every one of them (about a sixth of a
large run, finding nothing), then the middle generation walks them once more. So when a
paused block leaves many young objects, they are handed to the oldest generation, which only
full collections look at: ``gc.freeze()`` then ``gc.unfreeze()`` moves every tracked object
there without walking any. That is skipped when the process holds frozen objects of its own
(``unfreeze`` would release them) and when the block raised (its traceback's cycles are left
to the young generation's next pass).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["collector_paused"]

PROMOTE_AT = 10_000
"""Young objects left by a paused block from which they go to the oldest generation."""


@contextmanager
def collector_paused() -> Iterator[None]:
    """Disable automatic collection for the block and restore the previous state after it,
    even on error; many objects left by a block that ended normally go to the oldest
    generation (see the module). Leaves a collector that was already disabled alone."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    except BaseException:
        gc.enable()
        raise
    if gc.get_count()[0] >= PROMOTE_AT and not gc.get_freeze_count():
        gc.freeze()
        gc.unfreeze()
    gc.enable()
