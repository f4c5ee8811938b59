"""A child table's state under many parents: the work per parent page stays constant, and an open pass's
parents done take a few ranges, not a key each."""

import json
import sys
from types import FrameType
from typing import Any

from async_core.run.state import SyncState
from tests.devtools import pytest


def work_to_close(parents: int) -> int:
    """The function calls the SDK thread's state makes while `parents` one-page parent walks complete in turn."""
    table = SyncState.resume(None, tables=[("departments", None, True)], now="T0").tables["departments"]
    keys = [str(n) for n in range(parents)]
    table.set_parents(keys)
    calls = 0

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        nonlocal calls
        if event in ("call", "c_call"):
            calls += 1

    sys.setprofile(profile)
    try:
        for key in keys:
            walk = table.walk_for(key)
            walk.set_last_page(1)
            walk.mark_written(1, None, None)
            table.after_page(key)
    finally:
        sys.setprofile(None)
    assert not table.open  # every parent done: the pass closed
    return calls


def test_closing_a_child_pass_does_not_scan_the_parents_after_every_page() -> None:
    """Twice the parents, at most 2.5 times the work (a scan of the done set after each page makes it 4)."""
    small, large = work_to_close(500), work_to_close(1000)
    assert large / small < 2.5, (small, large)


def test_a_parent_done_keeps_no_walk_for_the_rest_of_the_sync() -> None:
    table = SyncState.resume(None, tables=[("departments", None, True)], now="T0").tables["departments"]
    table.set_parents(["1", "2"])
    walk = table.walk_for("1")
    walk.set_last_page(1)
    walk.mark_written(1, None, None)
    table.after_page("1")
    assert (table.done, list(table.walks)) == ({"1"}, [])


def _open_child_state(done: list[str], parents: list[str]) -> dict[str, Any]:
    sync = SyncState.resume(None, tables=[("departments", None, True)], now="T0")
    table = sync.tables["departments"]
    table.set_parents(parents)
    for key in done:
        walk = table.walk_for(key)
        walk.set_last_page(1)
        walk.mark_written(1, None, None)
        table.after_page(key)
    return sync.checkpoint()


def _resumed_done(state: dict[str, Any]) -> set[str]:
    return SyncState.resume(state, tables=[("departments", None, True)], now="T1").tables["departments"].done


def test_an_open_pass_over_numbered_parents_keeps_them_as_ranges() -> None:
    """10,000 numbered parents done of 10,001 (and two keyed by text): the pass's state is a few ranges, not
    10,000 keys, and a resumed sync reads back exactly the parents done."""
    done = [str(n) for n in range(1, 10_001) if n != 5000] + ['"c1"', "[1, 2]"]
    state = _open_child_state(done, [*done, "5000", "10001"])
    opened = state["tables"]["departments"]["pass"]
    assert opened["done_ranges"] == [[1, 4999], [5001, 10_000]]
    assert opened["done"] == ['"c1"', "[1, 2]"]
    assert len(json.dumps(state)) < 300
    assert _resumed_done(state) == set(done)


@pytest.mark.parametrize(
    "ranges",
    [[[5, 1]], [["1", "2"]], [[1, 2, 3]], "1-5", [[1, 10**12]], [[True, 2]]],
    ids=["reversed", "text", "triple", "not-a-list", "too-many", "bool"],
)
def test_malformed_or_hostile_ranges_start_the_pass_afresh(ranges: Any) -> None:
    state = {
        "version": 2,
        "tables": {"departments": {"pass": {"started_at": "T0", "done": ['"c1"'], "done_ranges": ranges}}},
    }
    assert _resumed_done(state) == set()


def test_a_state_saved_before_ranges_reads_its_list_of_keys() -> None:
    state = {"version": 2, "tables": {"departments": {"pass": {"started_at": "T0", "done": ["1", "2", '"c1"']}}}}
    assert _resumed_done(state) == {"1", "2", '"c1"'}
