"""The collector's tuning during a sync (`async_core.run.collector`): set by the first sync, restored by the last."""

from __future__ import annotations

import gc

from async_core.run.collector import FIRST_GENERATION, quiet_collector


def test_the_collector_is_tuned_inside_and_restored_after() -> None:
    before, frozen = gc.get_threshold(), gc.get_freeze_count()
    with quiet_collector():
        assert gc.get_threshold() == (max(FIRST_GENERATION, before[0]), before[1], before[2])
        assert gc.get_freeze_count() > frozen  # what existed at the start is out of the collections' way
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == frozen


def test_overlapping_syncs_restore_the_collector_when_the_last_one_ends() -> None:
    before = gc.get_threshold()
    first, second = quiet_collector(), quiet_collector()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)  # the first to start ends first: the second still runs tuned
    assert gc.get_threshold()[0] == max(FIRST_GENERATION, before[0])
    second.__exit__(None, None, None)
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
