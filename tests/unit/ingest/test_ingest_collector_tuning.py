"""The collector settings of a running service, and their return when it stops."""

from __future__ import annotations

import gc

from ingest.collector_tuning import OLDER_THRESHOLDS, YOUNG_THRESHOLD, collector_tuned_for_batches


def test_startup_objects_are_frozen_and_young_collections_rarer_until_exit() -> None:
    before = gc.get_threshold()
    frozen_before = gc.get_freeze_count()
    with collector_tuned_for_batches():
        assert gc.get_threshold() == (YOUNG_THRESHOLD, *OLDER_THRESHOLDS)
        assert gc.get_freeze_count() > frozen_before
        assert gc.isenabled()
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
