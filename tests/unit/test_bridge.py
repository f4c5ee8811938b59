"""The bridge's SDK side: what it upserts and checkpoints, in which order."""

import datetime as dt
from typing import Any

from async_core.errors import Severity
from async_core.run.bridge import Bridge
from async_core.run.ledger import ErrorRecord
from async_core.run.messages import Crashed, Finish, LastPage, Noted, PageLost, Parents, Replan, Rows
from async_core.run.metrics import Metrics
from async_core.run.state import SyncState
from tests.devtools import pytest
from tests.sinks import RecordingSink
from tests.states import entry, next_page, open_pass

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _bridge(
    sink: RecordingSink,
    every: int = 1000,
    tables: tuple[str, ...] = ("posts",),
    *,
    state: dict[str, Any] | None = None,
    lost_page_syncs: int = 3,
) -> Bridge:
    resumed = SyncState.resume(state, tables=[(name, None, name == "departments") for name in tables], now="T0")
    return Bridge(
        sink,
        resumed,
        sync_id="S1",
        started_at=T0,
        metrics=Metrics(),
        capacity=4,
        checkpoint_every_rows=every,
        lost_page_syncs=lost_page_syncs,
    )


def _rows(page: int) -> Rows:
    return Rows("posts", page, [{"id": 2 * page - 1}, {"id": 2 * page}], [])


def _finish(status: str = "succeeded") -> Finish:
    return Finish(status=status, message=None, summary=lambda: {"processing_summary": {}})


def test_checkpoints_cover_only_contiguous_written_pages() -> None:
    """Pages 2 then 1 then 3, checkpoint every 2 rows: the states say next_page 1, 3, 4."""
    sink = RecordingSink()
    bridge = _bridge(sink, every=2)
    for message in (_rows(2), _rows(1), _rows(3)):
        bridge.put(message)
    bridge.put(_finish("partial"))
    bridge.consume()
    pages = [next_page(state, "posts") for state in sink.checkpoints()]
    assert pages == [1, 3, 4, 4]


def test_every_checkpoint_follows_the_upserts_it_covers() -> None:
    """In call order, a checkpoint claiming page N comes after the upserts of pages 1..N."""
    sink = RecordingSink()
    bridge = _bridge(sink, every=1)
    for page in (3, 1, 2):
        bridge.put(_rows(page))
    bridge.put(_finish())
    bridge.consume()
    upserted: set[int] = set()
    for kind, table, data in sink.calls:
        if kind == "upsert" and table == "posts":
            upserted.add(data["id"])
        elif kind == "checkpoint":
            claimed = next_page(data, "posts")
            assert set(range(1, 2 * (claimed - 1) + 1)) <= upserted


def test_a_complete_sync_ends_with_a_state_that_starts_a_fresh_pass() -> None:
    """All pages written and the last page known: the final state's pass is null (the next sync opens one)."""
    sink = RecordingSink()
    bridge = _bridge(sink)
    bridge.put(_rows(1))
    bridge.put(LastPage("posts", 1))
    bridge.put(_finish())
    outcome = bridge.consume()
    assert outcome.status == "succeeded"
    assert sink.checkpoints()[-1] == {
        "version": 2,
        "tables": {"posts": {"lost_streak": 0, "watermark": None, "pass": None}},
    }


def test_a_lost_page_is_dead_lettered_and_holds_the_watermark() -> None:
    """Page 1 lost, page 2 written: one sync_errors row, and the final state resumes at page 1."""
    sink = RecordingSink()
    bridge = _bridge(sink)
    error = ErrorRecord(table="posts", severity=Severity.HIGH, error_type="RetryableError", message="HTTP 503", page=1)
    bridge.put(PageLost("posts", 1, error))
    bridge.put(_rows(2))
    bridge.put(LastPage("posts", 2))
    bridge.put(_finish("partial"))
    bridge.consume()
    dead = [data for kind, table, data in sink.calls if table == "sync_errors"]
    assert len(dead) == 1
    assert (dead[0]["table_name"], dead[0]["page"], dead[0]["severity"]) == ("posts", 1, "HIGH")
    final = sink.checkpoints()[-1]
    assert (next_page(final, "posts"), entry(final, "posts")["lost_streak"]) == (1, 1)


def test_rejected_records_keep_their_raw_form() -> None:
    """A record that failed validation lands in sync_errors with the record as JSON."""
    sink = RecordingSink()
    bridge = _bridge(sink)
    rejected = ErrorRecord(
        table="posts",
        severity=Severity.MEDIUM,
        error_type="RecordError",
        message="field 'id' is missing or null",
        page=1,
        raw_record={"title": "no id"},
    )
    bridge.put(Rows("posts", 1, [{"id": 2}], [rejected]))
    bridge.put(_finish("partial"))
    bridge.consume()
    dead = [data for kind, table, data in sink.calls if table == "sync_errors"]
    assert dead[0]["raw_record"] == {"title": "no id"}
    assert dead[0]["record_id"] is None


def test_finish_writes_one_sync_runs_row() -> None:
    """The report lands as one row of sync_runs, with its status and summary."""
    sink = RecordingSink()
    bridge = _bridge(sink)
    bridge.put(_finish("failed"))
    bridge.consume()
    runs = [data for kind, table, data in sink.calls if table == "sync_runs"]
    assert len(runs) == 1
    assert (runs[0]["sync_id"], runs[0]["status"]) == ("S1", "failed")
    assert runs[0]["summary"] == {"processing_summary": {}}


def test_a_crash_checkpoints_what_was_written_then_raises() -> None:
    """The loop crashed: the state still covers exactly what was handed over, and the error reaches the caller."""
    sink = RecordingSink()
    bridge = _bridge(sink)
    bridge.put(_rows(1))
    bridge.put(Crashed(RuntimeError("loop died")))
    with pytest.raises(RuntimeError, match="loop died"):
        bridge.consume()
    assert next_page(sink.checkpoints()[-1], "posts") == 2


def _lost(page: int) -> PageLost:
    error = ErrorRecord(table="posts", severity=Severity.HIGH, error_type="FatalError", message="HTTP 404", page=page)
    return PageLost("posts", page, error)


def test_a_replan_restarts_the_mark_at_the_servers_size() -> None:
    """Replan to 10 rows from page 1, then page 1 written: the pass is at page 2 with size 10."""
    sink = RecordingSink()
    bridge = _bridge(sink)
    bridge.put(Replan("posts", 1, 25))
    bridge.put(Replan("posts", 1, 10))
    bridge.put(_rows(1))
    bridge.put(_finish("partial"))
    bridge.consume()
    opened = open_pass(sink.checkpoints()[-1], "posts")
    assert opened is not None
    assert (opened["next_page"], opened["size"]) == (2, 10)


def test_a_child_pass_closes_when_its_listed_parents_are_walked() -> None:
    """Parents (1, 2) listed, both walks complete: the departments pass is null."""
    sink = RecordingSink()
    bridge = _bridge(sink, tables=("departments",))
    bridge.put(Parents("departments", ("1", "2")))
    for unit in ("1", "2"):
        bridge.put(LastPage("departments", 1, unit=unit))
        bridge.put(Rows("departments", 1, [{"id": unit}], [], unit=unit))
    bridge.put(_finish())
    bridge.consume()
    assert entry(sink.checkpoints()[-1], "departments") == {"lost_streak": 0, "parents": {}, "pass": None}


def test_a_noted_error_lands_in_sync_errors_without_touching_the_state() -> None:
    """A recovered retry is written to sync_errors; the pass stays at page 1."""
    sink = RecordingSink()
    bridge = _bridge(sink)
    noted = ErrorRecord(table="posts", severity=Severity.LOW, error_type="RetryableError", message="HTTP 503", page=1)
    bridge.put(Noted(noted))
    bridge.put(_finish())
    bridge.consume()
    dead = [data for kind, table, data in sink.calls if table == "sync_errors"]
    assert [(row["severity"], row["message"]) for row in dead] == [("LOW", "HTTP 503")]
    assert next_page(sink.checkpoints()[-1], "posts") == 1


def test_a_lost_page_in_lost_page_syncs_syncs_in_a_row_fails_the_sync() -> None:
    """lost_page_syncs 2: the second sync in a row that loses a page of posts ends failed, naming posts."""
    state: dict[str, Any] | None = None
    statuses = []
    for _ in range(2):
        sink = RecordingSink()
        bridge = _bridge(sink, state=state, lost_page_syncs=2)
        bridge.put(_lost(1))
        bridge.put(_finish("partial"))
        outcome = bridge.consume()
        statuses.append(outcome.status)
        state = sink.checkpoints()[-1]
    assert statuses == ["partial", "failed"]
    assert entry(state, "posts")["lost_streak"] == 2
    assert "pages of posts were lost in 2 syncs in a row" in (outcome.message or "")


def test_a_completed_pass_ends_the_lost_streak() -> None:
    """A table with a streak of 2 whose pass completes starts again at 0."""
    sink = RecordingSink()
    state = {"version": 2, "tables": {"posts": {"lost_streak": 2, "pass": None}}}
    bridge = _bridge(sink, state=state)
    bridge.put(LastPage("posts", 1))
    bridge.put(_rows(1))
    bridge.put(_finish())
    assert bridge.consume().status == "succeeded"
    assert entry(sink.checkpoints()[-1], "posts")["lost_streak"] == 0


def test_a_dead_letter_is_clipped_to_its_documented_size() -> None:
    """A 1 MB record and a 1 MB message: raw_record becomes a clipped head, the message MAX_MESSAGE_CHARS + 1."""
    from async_core.run.dead_letters import MAX_MESSAGE_CHARS, MAX_RAW_RECORD_CHARS, dead_letter_row

    huge = {"id": 1, "body": "x" * 1_000_000}
    error = ErrorRecord(
        table="posts", severity=Severity.MEDIUM, error_type="RecordError", message="m" * 1_000_000, raw_record=huge
    )
    row = dead_letter_row("S1", 1, error)
    assert len(row["message"]) == MAX_MESSAGE_CHARS + 1  # the cut, and an ellipsis
    raw = row["raw_record"]
    assert raw["clipped"] is True
    assert raw["json_chars"] > 1_000_000
    assert len(raw["head"]) == MAX_RAW_RECORD_CHARS
    small_error = ErrorRecord(
        table="posts", severity=Severity.MEDIUM, error_type="RecordError", message="m", raw_record={"id": 2}
    )
    small = dead_letter_row("S1", 2, small_error)
    assert small["raw_record"] == {"id": 2}
