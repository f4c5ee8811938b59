"""The state (version 2): a checkpoint never claims a page that is not written, and a watermark never lies."""

import datetime as dt
from typing import Any

from async_core.errors import StateError
from async_core.run.state import SyncState, TableState, Walk
from async_core.source.incremental import Incremental
from async_core.source.pagination import PageRequest
from tests.devtools import pytest

CURSOR = Incremental(field="updatedAt", param="since", lookback=60)


def at(hour: int) -> dt.datetime:
    return dt.datetime(2026, 1, 1, hour, tzinfo=dt.UTC)


def plain(state: Any = None, *, cursor: Incremental | None = CURSOR, now: str = "T1") -> TableState:
    """The `posts` table resumed from `state`."""
    return SyncState.resume(state, tables=[("posts", cursor, False)], now=now).tables["posts"]


def saved(entry: dict[str, Any]) -> dict[str, Any]:
    return {"version": 2, "tables": {"posts": entry}}


# -- the contiguous prefix


def test_out_of_order_pages_move_the_mark_only_when_contiguous() -> None:
    """Pages 3 and 2 written before 1: the mark stays at 1 until page 1 lands, then jumps to 4."""
    walk = Walk()
    walk.mark_written(3, None, None)
    walk.mark_written(2, None, None)
    assert walk.next_page == 1
    walk.mark_written(1, None, None)
    assert (walk.next_page, walk.pending) == (4, {})


def test_a_lost_page_holds_the_mark() -> None:
    """Page 2 lost, pages 1 and 3 written: the mark stays at 2 and the walk is not complete."""
    walk = Walk()
    walk.set_last_page(3)
    walk.mark_written(1, None, None)
    walk.lost.add(2)
    walk.mark_written(3, None, None)
    assert walk.next_page == 2
    assert not walk.complete


def test_complete_once_every_page_up_to_the_last_is_written() -> None:
    """Complete means: the last page is known and the mark is past it."""
    walk = Walk()
    walk.mark_written(1, None, None)
    walk.mark_written(2, None, None)
    assert not walk.complete
    walk.set_last_page(2)
    assert walk.complete


def test_the_lowest_last_page_claim_wins() -> None:
    """Last page 5, then 3: the walk is complete after page 3."""
    walk = Walk()
    walk.set_last_page(5)
    walk.set_last_page(3)
    for page in (1, 2, 3):
        walk.mark_written(page, None, None)
    assert walk.complete


def test_a_page_before_the_mark_changes_nothing() -> None:
    """Page 1 written again (a re-fetch) after the mark passed it: the mark stays at 3."""
    walk = Walk(next_page=3)
    walk.mark_written(1, 99.0, None)
    assert (walk.next_page, walk.high, walk.pending) == (3, None, {})


def test_high_is_the_largest_cursor_of_the_written_prefix_only() -> None:
    """Page 3 (cursor 9) written past a hole at page 2: high is page 1's value (1), not 9."""
    walk = Walk()
    walk.mark_written(1, 1.0, None)
    walk.mark_written(3, 9.0, None)
    assert walk.high == 1.0
    walk.mark_written(2, 4.0, None)
    assert walk.high == 9.0


def test_the_resume_request_is_the_one_after_the_prefix() -> None:
    """A walked paginator's next request is kept for the first unwritten page."""
    walk = Walk()
    second, third = PageRequest(url="http://h/p?c=2"), PageRequest(url="http://h/p?c=3")
    walk.mark_written(2, None, third)
    walk.mark_written(1, None, second)
    assert (walk.next_page, walk.resume) == (3, third)


def test_replan_goes_on_at_the_servers_size_and_forgets_pending_pages() -> None:
    """A capped page size restarts the mark at the page the walk goes on from, at the new size."""
    walk = Walk(size=25)
    walk.mark_written(3, None, None)
    walk.replan(1, 10)
    assert (walk.next_page, walk.size, walk.pending, walk.resume) == (1, 10, {}, None)


# -- the state's format and the pass


def test_a_fresh_state_opens_a_pass_at_page_one() -> None:
    """No state: each table opens a pass at page 1, with no watermark and no lower bound."""
    state = SyncState.resume(None, tables=[("posts", None, False), ("users", CURSOR, False)], now="T0")
    fresh = {
        "lost_streak": 0,
        "watermark": None,
        "pass": {"started_at": "T0", "since": None, "size": None, "next_page": 1, "resume": None, "high": None},
    }
    assert state.checkpoint() == {"version": 2, "tables": {"posts": fresh, "users": fresh}}


def test_an_open_pass_is_resumed_as_it_was() -> None:
    """An interrupted pass keeps its start, its lower bound, its page size and its next page."""
    table = plain(
        saved(
            {
                "watermark": "2026-01-01T01:00:00+00:00",
                "lost_streak": 1,
                "pass": {
                    "started_at": "T0",
                    "since": "2026-01-01T00:59:00+00:00",
                    "size": 25,
                    "next_page": 13,
                    "resume": None,
                    "high": "2026-01-01T03:00:00+00:00",
                },
            }
        )
    )
    assert table.pass_started_at == "T0"
    assert table.since == dt.datetime(2026, 1, 1, 0, 59, tzinfo=dt.UTC)
    assert table.walk is not None
    assert (table.walk.next_page, table.walk.size, table.walk.high) == (13, 25, at(3))
    assert (table.watermark, table.lost_streak) == (at(1), 1)


def test_a_completed_pass_is_saved_as_null() -> None:
    """Every page up to the last written: the pass closes and the state says "pass": null."""
    table = plain(None)
    walk = table.walk_for(None)
    walk.set_last_page(1)
    walk.mark_written(1, at(5), None)
    table.after_page(None)
    assert table.to_state() == {"lost_streak": 0, "watermark": "2026-01-01T05:00:00+00:00", "pass": None}
    assert table.completed_this_sync


def test_the_next_pass_starts_at_the_watermark_less_the_lookback() -> None:
    """A completed pass with watermark 05:00 and a lookback of 60 s: the next pass sends since 04:59."""
    table = plain(saved({"watermark": "2026-01-01T05:00:00+00:00", "pass": None}), now="T2")
    assert table.pass_started_at == "T2"
    assert table.since == dt.datetime(2026, 1, 1, 4, 59, tzinfo=dt.UTC)
    assert table.walk is not None
    assert table.walk.next_page == 1


def test_the_watermark_moves_only_when_the_pass_completes() -> None:
    """Pages 1 and 2 written (high 05:00) but the last page unknown: the watermark stays at 01:00."""
    table = plain(saved({"watermark": "2026-01-01T01:00:00+00:00", "pass": None}))
    walk = table.walk_for(None)
    walk.mark_written(1, at(3), None)
    walk.mark_written(2, at(5), None)
    table.after_page(None)
    entry = table.to_state()
    assert entry["watermark"] == "2026-01-01T01:00:00+00:00"
    assert entry["pass"]["high"] == "2026-01-01T05:00:00+00:00"


def test_the_watermark_stops_before_a_lost_page() -> None:
    """Page 2 lost, page 3 (high 09:00) written: the pass stays open and its high is page 1's 01:00."""
    table = plain(None)
    walk = table.walk_for(None)
    walk.set_last_page(3)
    walk.mark_written(1, at(1), None)
    walk.lost.add(2)
    walk.mark_written(3, at(9), None)
    table.after_page(None)
    entry = table.to_state()
    assert entry["watermark"] is None
    assert (entry["pass"]["next_page"], entry["pass"]["high"]) == (2, "2026-01-01T01:00:00+00:00")


def test_the_watermark_never_moves_backwards() -> None:
    """Watermark 05:00, a pass whose rows are all older (high 03:00): the watermark stays 05:00."""
    table = plain(saved({"watermark": "2026-01-01T05:00:00+00:00", "pass": None}))
    walk = table.walk_for(None)
    walk.set_last_page(1)
    walk.mark_written(1, at(3), None)
    table.after_page(None)
    assert table.to_state()["watermark"] == "2026-01-01T05:00:00+00:00"


def test_a_pass_with_no_cursor_values_keeps_the_watermark() -> None:
    """An empty pass (no rows, high None) completes without touching the watermark."""
    table = plain(saved({"watermark": "2026-01-01T05:00:00+00:00", "pass": None}))
    walk = table.walk_for(None)
    walk.set_last_page(1)
    walk.mark_written(1, None, None)
    table.after_page(None)
    assert table.to_state() == {"lost_streak": 0, "watermark": "2026-01-01T05:00:00+00:00", "pass": None}


def test_a_table_without_a_cursor_saves_no_watermark() -> None:
    """No cursor: the watermark is null whatever the pages said."""
    table = plain(None, cursor=None)
    walk = table.walk_for(None)
    walk.set_last_page(1)
    walk.mark_written(1, at(5), None)
    table.after_page(None)
    assert table.to_state() == {"lost_streak": 0, "watermark": None, "pass": None}


def test_a_walked_pass_saves_its_resume_request() -> None:
    """A cursor-paginated pass saves the request of its next page with its parameters."""
    table = plain(None, cursor=None)
    table.walk_for(None).mark_written(1, None, PageRequest(params=(("cursor", "abc"),)))
    assert table.to_state()["pass"]["resume"] == {"params": [["cursor", "abc"]], "url": None}
    resumed = plain(saved(table.to_state()), cursor=None)
    assert resumed.walk is not None
    assert (resumed.walk.next_page, resumed.walk.resume) == (2, PageRequest(params=(("cursor", "abc"),)))


def test_tables_not_synced_now_are_carried_as_they_were() -> None:
    """A table left out of this sync's selection keeps its entry in every checkpoint."""
    users = {"lost_streak": 0, "watermark": None, "pass": None}
    state = SyncState.resume({"version": 2, "tables": {"users": users}}, tables=[("posts", None, False)], now="T")
    assert state.checkpoint()["tables"]["users"] == users


def test_all_complete_once_every_pass_closed() -> None:
    """all_complete is false while a pass is open, true once each closed."""
    state = SyncState.resume(None, tables=[("posts", None, False)], now="T")
    assert not state.all_complete
    walk = state.tables["posts"].walk_for(None)
    walk.set_last_page(1)
    walk.mark_written(1, None, None)
    state.tables["posts"].after_page(None)
    assert state.all_complete


# -- child tables


def child(state: Any = None) -> TableState:
    return SyncState.resume(state, tables=[("departments", CURSOR, True)], now="T1").tables["departments"]


def finish_unit(table: TableState, unit: str, high: dt.datetime | None) -> None:
    walk = table.walk_for(unit)
    walk.set_last_page(1)
    walk.mark_written(1, high, None)
    table.after_page(unit)


def test_a_child_table_keeps_a_mark_per_parent() -> None:
    """Parent "a" done (high 03:00), "b" not yet: the pass stays open with "a" done and a's mark saved."""
    table = child()
    table.set_parents(("a", "b"))
    finish_unit(table, "a", at(3))
    assert table.to_state() == {
        "lost_streak": 0,
        "parents": {"a": "2026-01-01T03:00:00+00:00"},
        "pass": {"started_at": "T1", "done": ["a"]},
    }


def test_a_child_pass_completes_when_every_parent_is_done() -> None:
    """Both parents walked: the pass closes, each parent keeps its own mark."""
    table = child()
    table.set_parents(("a", "b"))
    finish_unit(table, "a", at(3))
    finish_unit(table, "b", at(7))
    assert table.to_state() == {
        "lost_streak": 0,
        "parents": {"a": "2026-01-01T03:00:00+00:00", "b": "2026-01-01T07:00:00+00:00"},
        "pass": None,
    }


def test_a_parent_mark_never_moves_backwards() -> None:
    """A parent whose mark is 05:00 walked again with rows of 02:00 keeps 05:00; its next bound is 04:59."""
    table = child({"version": 2, "tables": {"departments": {"parents": {"a": "2026-01-01T05:00:00+00:00"}}}})
    assert table.unit_since("a") == dt.datetime(2026, 1, 1, 4, 59, tzinfo=dt.UTC)
    table.set_parents(("a",))
    finish_unit(table, "a", at(2))
    assert table.to_state()["parents"] == {"a": "2026-01-01T05:00:00+00:00"}


def test_a_resumed_child_pass_remembers_the_parents_done() -> None:
    """An open child pass resumes with its done parents: only the others are walked."""
    table = child({"version": 2, "tables": {"departments": {"pass": {"started_at": "T0", "done": ["a"]}}}})
    assert (table.pass_started_at, table.done) == ("T0", {"a"})


def test_a_child_table_without_parents_completes_at_once() -> None:
    """A parent table with no rows: no walk to make, the child's pass is complete."""
    table = child()
    table.set_parents(())
    assert table.to_state()["pass"] is None


# -- versions and malformed states


def test_a_version_1_state_starts_a_full_pass() -> None:
    """The earlier format's open cycle is not resumed: page 1, no watermark."""
    old = {"version": 1, "cycle": {"started_at": "T0", "page_size": 25, "tables": {"posts": {"next_page": 13}}}}
    table = plain(old, now="T1")
    assert table.walk is not None
    assert (table.pass_started_at, table.walk.next_page, table.watermark) == ("T1", 1, None)


def test_a_completed_version_1_state_starts_a_full_pass() -> None:
    """{"version": 1, "last_complete_sync": ...} starts a full pass too."""
    table = plain({"version": 1, "last_complete_sync": "T0"}, now="T1")
    assert table.walk is not None
    assert table.walk.next_page == 1


def test_an_unversioned_cycle_state_starts_a_full_pass() -> None:
    """The earliest states had a cycle and no version: a full pass."""
    table = plain({"cycle": {"tables": {"posts": {"next_page": 4}}}})
    assert table.walk is not None
    assert table.walk.next_page == 1


@pytest.mark.parametrize("state", [{"version": 3, "tables": {}}, {"version": "2"}, {"tables": {}}, {"foo": 1}])
def test_an_unknown_version_is_refused(state: dict[str, Any]) -> None:
    """A state this connector did not write is never resumed as if it were ours."""
    with pytest.raises(StateError, match="does not know"):
        plain(state)


MALFORMED = [
    {"version": 2, "tables": "nope"},
    {"version": 2, "tables": {"posts": "nope"}},
    saved({"pass": "nope"}),
    saved({"pass": {"started_at": 5}}),
    saved({"watermark": "not a time", "lost_streak": -3, "pass": None}),
    saved({"watermark": {"a": 1}, "lost_streak": "x"}),
    saved({"pass": {"started_at": "T0", "next_page": "x", "size": -1, "resume": "x", "high": [1]}}),
    saved({"pass": {"started_at": "T0", "next_page": 0, "size": 0, "resume": {"params": [[1, 2]], "url": None}}}),
    saved({"pass": {"started_at": "T0", "next_page": 7, "size": None, "resume": {"params": "x"}}}),
]


@pytest.mark.parametrize("state", MALFORMED)
def test_a_malformed_entry_starts_that_part_afresh(state: dict[str, Any]) -> None:
    """Garbage in a version-2 state never crashes: the table resumes at page 1, streak 0, no watermark."""
    table = plain(state)
    assert table.walk is not None
    assert (table.walk.next_page, table.walk.resume, table.lost_streak, table.watermark) == (1, None, 0, None)


@pytest.mark.parametrize(
    "entry",
    [
        {"parents": "x", "pass": {"started_at": "T0", "done": "x"}},
        {"parents": {"a": "not a time", "b": None}, "pass": 1},
    ],
)
def test_a_malformed_child_entry_starts_afresh(entry: dict[str, Any]) -> None:
    """A child table's garbled marks and done list are dropped, not trusted."""
    table = child({"version": 2, "tables": {"departments": entry}})
    assert (table.parent_marks, table.done) == ({}, set())


# -- data that changes while it is read (issue 17)

BOUND = {"source": "s", "origin": "https://api.example.com:443", "declaration": "d1"}


def bound_resume(state: Any, binding: dict[str, str]) -> SyncState:
    return SyncState.resume(state, tables=[("posts", CURSOR, False)], now="T1", bindings={"posts": binding})


def test_an_entry_bound_to_another_origin_or_declaration_starts_a_full_pass() -> None:
    """A watermark saved for another base_url origin (or another declaration of the table) is not resumed: the
    pass starts with no bound, and one note says why."""
    entry = {"watermark": at(5).isoformat(), "lost_streak": 0, "pass": None, "binding": BOUND}
    for other in ({**BOUND, "origin": "https://other.example.com:443"}, {**BOUND, "declaration": "d2"}):
        resumed = bound_resume(saved(entry), other)
        table = resumed.tables["posts"]
        assert (table.watermark, table.since) == (None, None)
        assert len(resumed.notes) == 1
        assert "not resumed" in resumed.notes[0]
        assert table.to_state()["binding"] == other
    same = bound_resume(saved(entry), BOUND)
    assert (same.tables["posts"].watermark, same.notes) == (at(5), [])


def test_an_entry_saved_before_bindings_is_taken_as_this_apis() -> None:
    """No `binding` in the entry (an older state): it belongs; the note says so, and the entry is bound now."""
    entry = {"watermark": at(5).isoformat(), "lost_streak": 0, "pass": None}
    resumed = bound_resume(saved(entry), BOUND)
    assert resumed.tables["posts"].watermark == at(5)
    assert len(resumed.notes) == 1
    assert "predates state bindings" in resumed.notes[0]
    assert resumed.checkpoint()["tables"]["posts"]["binding"] == BOUND


def test_an_unsorted_watermark_is_capped_at_the_passs_start() -> None:
    """The pass began at 03:00 by the server's clock and saw a row of 05:00: the watermark is 03:00."""
    table = plain()
    walk = table.walk_for(None)
    walk.mark_written(1, at(5), None, served_at=at(3))
    walk.set_last_page(1)
    table.after_page(None)
    assert table.watermark == at(3)


def test_a_sorted_watermark_is_not_capped() -> None:
    """A keyset walk's high mark is its last row: the watermark goes there."""
    table = plain(cursor=Incremental(field="updatedAt", param="since", sorted=True))
    walk = table.walk_for(None)
    walk.mark_written(1, at(5), None, served_at=at(3))
    walk.set_last_page(1)
    table.after_page(None)
    assert table.watermark == at(5)


def test_the_proof_of_an_open_pass_is_saved_and_read_back() -> None:
    """The request of the last written page, the digest of its last key and the pass's start go into the state;
    a pass read again from page 1 forgets its start."""
    table = plain()
    request = PageRequest(params=(("page", "2"),))
    walk = table.walk_for(None)
    walk.size = 10
    walk.mark_written(1, None, None, request=PageRequest(params=(("page", "1"),)), last_key="k1", served_at=at(2))
    walk.mark_written(2, None, None, request=request, last_key="k2", served_at=at(1))
    back = plain(saved(table.to_state())).walk_for(None)
    assert (back.next_page, back.prev, back.prev_key, back.began) == (3, request, "k2", at(1))
    back.replan(1, 10)
    assert (back.prev, back.prev_key, back.began) == (None, None, None)
