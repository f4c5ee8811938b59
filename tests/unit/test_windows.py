"""Time windows: the plan, the split, the mark over the contiguous prefix, the bounds as written. No I/O."""

from __future__ import annotations

import datetime as dt

from async_core.source import Column, Incremental, Parent, Source, TableSpec, Windows
from async_core.source.windows import Window, advance
from tests.devtools import pytest

UTC = dt.UTC
DAYS = Windows(start_param="from", end_param="to", initial_value="2024-01-01T00:00:00Z", step=86400, lag=3600)


def at(day: int, hour: int = 0) -> dt.datetime:
    return dt.datetime(2024, 1, day, hour, tzinfo=UTC)


def test_the_plan_runs_from_the_mark_to_now_less_lag_in_steps() -> None:
    """From Jan 1 to Jan 3 13:00 less an hour: two whole days and the start of the third, to the second."""
    plan = DAYS.plan(None, dt.datetime(2024, 1, 3, 13, 0, 0, 500000, tzinfo=UTC))
    assert plan == [Window(at(1), at(2)), Window(at(2), at(3)), Window(at(3), at(3, 12))]
    assert DAYS.plan(at(3, 12), at(3, 12)) == []  # nothing before now less lag


def test_the_mark_is_the_end_of_the_contiguous_prefix_of_finished_windows() -> None:
    """Windows 1 and 3 done, 2 lost: the mark stays at the end of 1; once 2 is done it jumps past 3."""
    one, two, three = (Window(at(d), at(d + 1)) for d in (1, 2, 3))
    mark = at(1).isoformat()
    assert advance(mark, {one.key, three.key}) == at(2).isoformat()
    assert advance(mark, {one.key, two.key, three.key}) == at(4).isoformat()
    halves = DAYS.split(two)
    assert halves == (Window(at(2), at(2, 12)), Window(at(2, 12), at(3)))
    assert advance(mark, {one.key, halves[0].key, three.key}) == at(2, 12).isoformat()


def test_a_window_splits_down_to_min_step() -> None:
    """A window min_step long cannot be split again."""
    assert (
        Windows("a", "b", "2024-01-01T00:00:00Z", step=2, min_step=1).split(
            Window(at(1), at(1) + dt.timedelta(seconds=1))
        )
        is None
    )


def test_bounds_are_written_in_the_declared_format() -> None:
    """ISO (the default), epoch seconds, epoch milliseconds."""
    window = Window(at(1), at(2))
    assert DAYS.params(window) == {"from": "2024-01-01T00:00:00Z", "to": "2024-01-02T00:00:00Z"}
    ms = Windows("from", "to", "2024-01-01T00:00:00Z", format="%ms")
    assert ms.params(window) == {"from": "1704067200000", "to": "1704153600000"}
    assert Windows("from", "to", "2024-01-01T00:00:00Z", format="%s").params(window)["to"] == "1704153600"


def test_declaration_mistakes_are_refused() -> None:
    """A bad initial value, a zero step, the same parameter twice, windows with a cursor."""
    with pytest.raises(ValueError, match="initial_value 'yesterday'"):
        Windows("a", "b", "yesterday")
    with pytest.raises(ValueError, match="step and min_step must be > 0"):
        Windows("a", "b", "2024-01-01T00:00:00Z", step=0)
    with pytest.raises(ValueError, match="start_param and end_param must differ"):
        Windows("a", "a", "2024-01-01T00:00:00Z")
    with pytest.raises(ValueError, match="windows are its incremental sync"):
        TableSpec(name="t", path="/t", columns=(Column("id", "id", "INT"),), windows=DAYS, cursor=Incremental("u", "s"))


def test_a_windowed_table_cannot_be_a_parent() -> None:
    """A child table lists its parents with one full walk; a windowed parent has none: refused at import."""
    parent = TableSpec(name="p", path="/p", columns=(Column("id", "id", "INT"),), windows=DAYS)
    child = TableSpec(
        name="c",
        path="/p/{pid}/c",
        parent=Parent("p"),
        primary_key=("pid", "id"),
        columns=(Column("pid", "id", "INT", from_parent=True), Column("id", "id", "INT")),
    )
    with pytest.raises(ValueError, match="its parent 'p' is read in time windows"):
        Source(name="s", tables=(parent, child))
