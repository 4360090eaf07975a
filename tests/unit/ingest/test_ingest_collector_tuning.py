"""The collector settings of a running service, and their return when it stops."""

from __future__ import annotations

import gc

from ingest.collector_tuning import (
    OBJECTS_PER_RECORD,
    OLDER_THRESHOLDS,
    YOUNG_THRESHOLD_FLOOR,
    collector_tuned_for_batches,
    young_threshold,
)


def test_startup_objects_are_frozen_and_young_collections_rarer_until_exit() -> None:
    before = gc.get_threshold()
    frozen_before = gc.get_freeze_count()
    with collector_tuned_for_batches(10_000):
        assert gc.get_threshold() == (10_000 * OBJECTS_PER_RECORD, *OLDER_THRESHOLDS)
        assert gc.get_freeze_count() > frozen_before
        assert gc.isenabled()
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_the_young_threshold_grows_with_the_batch_and_never_drops_below_the_floor() -> None:
    assert young_threshold(1) == young_threshold(100) == YOUNG_THRESHOLD_FLOOR
    assert young_threshold(10_000) == 200_000
    assert young_threshold(20_000) == 2 * young_threshold(10_000)
