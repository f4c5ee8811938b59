"""A child table's state under many parents: the work per parent page stays constant."""

import sys
from types import FrameType
from typing import Any

from async_core.run.state import SyncState


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
