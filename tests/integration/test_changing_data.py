"""Data that changes while it is read (issue 17): the five reproductions, over real loopback HTTP.

Each test serves a `Collection` (tests/integration/changing.py) whose rows change in the middle of a pass or
between syncs, runs the real engine with `run_sync`, and checks the rule: when the server stops changing, the next
sync (at most two) lands every row it holds with its latest values, and no sync calls a table `complete` after
missing a row that existed, unchanged, throughout it. Every test failed on the code before the fix.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from aiohttp import web

from async_core.source import Column, Incremental, JsonServer, PageNumber, TableSpec
from tests.integration.changing import EPOCH, Collection, handler, latest, stamp
from tests.integration.declared import ID, declare, errors, statuses, sync
from tests.integration.servers import serve
from tests.sinks import RecordingSink
from tests.states import entry, open_pass

COLUMNS = (ID, Column("updated_at", "updatedAt", "UTC_DATETIME"), Column("v", "v", "INT"))
ORDER = {"order_by": "updatedAt"}


def table(*, sorted_: bool = False, **options: Any) -> TableSpec:
    keyset: dict[str, Any] = {"sorted": True} if sorted_ else {}  # only when asked: the tests ran on the old code
    cursor = Incremental(field="updatedAt", param="updated_since", **keyset)
    paginator = options.pop("paginator", PageNumber(total_path="total"))
    return TableSpec(
        name="t", path="/t", columns=COLUMNS, records="data", paginator=paginator, cursor=cursor, **options
    )


def server_rows(collection: Collection) -> dict[int, int]:
    return {key: row["v"] for key, row in collection.rows.items()}


def three_syncs(url: str, sink: RecordingSink, state: dict[str, Any] | None = None) -> list[Any]:
    results = []
    for _ in range(3):
        results.append(sync(url, sink, state, page_size="2"))
        state = sink.checkpoints()[-1]
    return results


# -- (1) an update during a pass shifts another row out


def move_row_1_after_page_1(collection: Collection) -> None:
    moved: list[int] = []

    def after(number: int) -> None:
        if number == 1 and not moved:
            moved.append(1)
            collection.update(1, at=EPOCH + dt.timedelta(hours=1))

    collection.after = after


def test_an_update_during_a_page_number_pass_is_a_torn_pass_read_again(monkeypatch: Any) -> None:
    """6 rows, 2 a page, ordered by updatedAt, `>=`: right after page 1, row 1 moves to the end and row 3 slides
    into page 1. Sync 1 sees row 1 twice: torn, the table incomplete, the watermark stays; sync 2 reads clean."""
    declare(monkeypatch, table(params=ORDER))
    collection = Collection.of(6)
    move_row_1_after_page_1(collection)
    with serve(handler(collection, "page_number")) as (url, _):
        sink = RecordingSink()
        first, second, third = three_syncs(url, sink)
    assert latest(sink.rows("t")) == server_rows(collection) == {1: 1, 2: 0, 3: 0, 4: 0, 5: 0, 6: 0}
    assert statuses(first) == {"t": "incomplete"}
    assert first.status == "partial"
    assert ("t", None, "TornPass") in [(t, None, kind) for t, _, kind in errors(sink)]
    assert (statuses(second), statuses(third)) == ({"t": "complete"}, {"t": "complete"})
    assert entry(sink.checkpoints()[-1], "t")["watermark"] == "2026-01-01T01:00:00+00:00"


def test_an_update_during_a_sorted_keyset_pass_moves_ahead_of_the_walk(monkeypatch: Any) -> None:
    """The same server, declared `sorted=True`: each request sends the last written row's updatedAt; row 1's
    update lands ahead of the walk, and sync 1 itself lands all six rows with their latest values, complete."""
    declare(monkeypatch, table(sorted_=True, params=ORDER))
    collection = Collection.of(6)
    move_row_1_after_page_1(collection)
    with serve(handler(collection, "page_number")) as (url, seen):
        sink = RecordingSink()
        first = sync(url, sink, page_size="2")
    assert latest(sink.rows("t")) == server_rows(collection)
    assert statuses(first) == {"t": "complete"}
    assert all("page=1" in path for path in seen.requests)  # never a page number past a change


# -- (2) a resumed pass after the collection changed


def test_a_resumed_page_number_pass_after_a_delete_proves_its_page_or_starts_over(monkeypatch: Any) -> None:
    """Sync 1 is partial (page 2 answers 500; the pass stays open at page 2). Row 1 is deleted. Sync 2 does not
    trust page 2 (it now starts one row later): page 1 no longer ends with row 2, so the pass is read again from
    its bound, and row 3 lands."""
    declare(monkeypatch, table(params=ORDER))
    collection = Collection.of(6)
    failing = [True]
    with serve(handler(collection, "page_number", fail=lambda r: failing[0] and r.query["page"] == "2")) as (
        url,
        _,
    ):
        sink = RecordingSink()
        first = sync(url, sink, page_size="2")
        assert open_pass(sink.checkpoints()[-1], "t") is not None
        failing[0] = False
        collection.delete(1)
        results = three_syncs(url, sink, sink.checkpoints()[-1])
    assert first.status == "partial"
    assert set(latest(sink.rows("t"))) >= set(collection.rows) == {2, 3, 4, 5, 6}
    assert [statuses(r) for r in results] == [{"t": "complete"}] * 3


def test_a_resumed_page_number_pass_over_an_unchanged_collection_goes_on_at_its_page(monkeypatch: Any) -> None:
    """Nothing changed: page 1 still ends with the row it ended with, so the pass goes on at page 2 (one request
    to prove it, not a full pass again)."""
    declare(monkeypatch, table(params=ORDER))
    collection = Collection.of(6)
    failing = [True]
    with serve(handler(collection, "page_number", fail=lambda r: failing[0] and r.query["page"] == "2")) as (
        url,
        seen,
    ):
        sink = RecordingSink()
        sync(url, sink, page_size="2")
        failing[0] = False
        before = len(seen.requests)
        second = sync(url, sink, sink.checkpoints()[-1], page_size="2")
        pages = sorted(path.split("page=")[1].split("&")[0] for path in seen.requests[before:])
    assert statuses(second) == {"t": "complete"}
    assert pages == ["1", "2", "3"]
    assert set(latest(sink.rows("t"))) == {1, 2, 3, 4, 5, 6}


# -- (3) the watermark passes an update made during the pass


def test_an_update_made_during_an_unsorted_pass_is_read_again(monkeypatch: Any) -> None:
    """Ordered by id, not by the cursor. The server's clock says 00:30 when page 1 is served; right after it, row 1
    is updated (01:00) and row 5, on a later page, too (02:00). Before, the watermark became 02:00 and row 1 kept
    its old version for good. Now row 5's value, after the pass began by the server's clock, tears the pass (a row
    changed while it was read): the watermark stays, the next pass reads both again."""
    declare(monkeypatch, table())
    collection = Collection.of(6, order="id", now=EPOCH + dt.timedelta(minutes=30))
    done: list[int] = []

    def after(number: int) -> None:
        if number == 1 and not done:
            done.append(1)
            collection.update(1, at=EPOCH + dt.timedelta(hours=1))
            collection.update(5, at=EPOCH + dt.timedelta(hours=2))
            collection.tick(3 * 3600)

    collection.after = after
    with serve(handler(collection, "page_number")) as (url, _):
        sink = RecordingSink()
        results = three_syncs(url, sink)
    assert latest(sink.rows("t")) == server_rows(collection) == {1: 1, 2: 0, 3: 0, 4: 0, 5: 1, 6: 0}
    assert [statuses(r) for r in results] == [{"t": "incomplete"}, {"t": "complete"}, {"t": "complete"}]
    assert entry(sink.checkpoints()[-1], "t")["watermark"] == "2026-01-01T02:00:00+00:00"


def test_the_watermark_of_an_unsorted_api_never_passes_the_passs_start(monkeypatch: Any) -> None:
    """A row whose cursor is ahead of the server's clock (a skewed writer: 05:00 while the server says 00:30)
    does not move the watermark past the pass's start (its Date less a second): the next pass asks from
    00:29:59, and a row updated meanwhile at 01:00 is read; before, the bound 05:00 left it out for good."""
    declare(monkeypatch, table())
    collection = Collection.of(6, order="id", now=EPOCH + dt.timedelta(minutes=30))
    collection.update(6, at=EPOCH + dt.timedelta(hours=5))
    with serve(handler(collection, "page_number")) as (url, seen):
        sink = RecordingSink()
        first = sync(url, sink, page_size="2")
        collection.update(2, at=EPOCH + dt.timedelta(hours=1))
        second = sync(url, sink, sink.checkpoints()[-1], page_size="2")
    assert statuses(first) == statuses(second) == {"t": "complete"}
    assert any("updated_since=2026-01-01T00:30:00Z" in path for path in seen.requests), seen.requests
    assert latest(sink.rows("t"))[2] == 1


# -- (4) a total contradicted by its own page


def lying_total(total: int, *, header: bool) -> Any:
    data = [{"id": i, "updatedAt": stamp(EPOCH + dt.timedelta(seconds=i)), "v": 0} for i in range(1, 101)]

    async def serve_page(request: web.Request) -> web.StreamResponse:
        if header:
            page, size = int(request.query["_page"]), int(request.query["_limit"])
            body = {"data": data[(page - 1) * size : page * size]}
            return web.json_response(body, headers={"X-Total-Count": str(total)})
        page, size = int(request.query["page"]), int(request.query["per_page"])
        return web.json_response({"data": data[(page - 1) * size : page * size], "total": total})

    return serve_page


def test_a_page_with_more_rows_than_its_total_is_not_complete(monkeypatch: Any) -> None:
    """100 rows; page 1 returns 25 with `"total": 4`: the total is contradicted by its own page, the table is
    incomplete (not `complete` after one request), the watermark stays."""
    declare(monkeypatch, table())
    with serve(lying_total(4, header=False)) as (url, _):
        sink = RecordingSink()
        result = sync(url, sink, page_size="25")
    assert statuses(result) == {"t": "incomplete"}
    assert result.status == "partial"
    assert entry(sink.checkpoints()[-1], "t")["watermark"] is None
    assert [kind for _, _, kind in errors(sink)] == ["TornPass"]


def test_a_page_with_rows_and_an_x_total_count_of_0_is_not_complete(monkeypatch: Any) -> None:
    """json-server style, `X-Total-Count: 0` on a page of 25 rows: incomplete, not complete."""
    declare(monkeypatch, table(paginator=JsonServer()))
    with serve(lying_total(0, header=True)) as (url, _):
        sink = RecordingSink()
        result = sync(url, sink, page_size="25")
    assert statuses(result) == {"t": "incomplete"}
    assert result.status == "partial"
    assert [kind for _, _, kind in errors(sink)] == ["TornPass"]


# -- (5) the state is not tied to the API


def dated(day: str, count: int) -> Collection:
    collection = Collection()
    for i in range(count):
        collection.insert(at=dt.datetime.fromisoformat(f"{day}T00:00:{i:02d}+00:00"))
    return collection


def test_a_watermark_is_never_sent_to_another_api(monkeypatch: Any) -> None:
    """A watermark saved against one base_url (2025-06-03) is not sent to another after a reconfiguration: the
    other origin starts a full pass (one log line), and its 5 rows (2025-01-01) land."""
    declare(monkeypatch, table())
    with serve(handler(dated("2025-06-03", 3), "page_number")) as (first_url, _):
        sink = RecordingSink()
        sync(first_url, sink, page_size="10")
        state = sink.checkpoints()[-1]
    assert entry(state, "t")["watermark"] == "2025-06-03T00:00:02+00:00"
    other = dated("2025-01-01", 5)
    with serve(handler(other, "page_number")) as (second_url, seen):
        sink = RecordingSink()
        result = sync(second_url, sink, state, page_size="10")
    assert result.status == "succeeded"
    assert len(sink.rows("t")) == 5
    assert not any("updated_since" in path for path in seen.requests)


def test_a_changed_declaration_starts_a_full_pass(monkeypatch: Any) -> None:
    """The same API, the table now read from another path: its saved watermark is not applied to it."""
    declare(monkeypatch, table())
    collection = dated("2025-06-03", 3)
    with serve(handler(collection, "page_number")) as (url, seen):
        sink = RecordingSink()
        sync(url, sink, page_size="10")
        state = sink.checkpoints()[-1]
        declare(monkeypatch, table(params={"order_by": "id"}))
        before = len(seen.requests)
        sync(url, sink, state, page_size="10")
        again = seen.requests[before:]
    assert not any("updated_since" in path for path in again)


def test_a_state_without_a_binding_is_taken_as_this_apis(monkeypatch: Any) -> None:
    """A state saved before states were bound (no `binding`): it belongs, so a deployed connection goes on
    incrementally instead of a full resync."""
    declare(monkeypatch, table())
    collection = dated("2025-06-03", 3)
    with serve(handler(collection, "page_number")) as (url, seen):
        sink = RecordingSink()
        sync(url, sink, page_size="10")
        state = sink.checkpoints()[-1]
        for value in state["tables"].values():
            value.pop("binding", None)
        before = len(seen.requests)
        sync(url, sink, state, page_size="10")
        again = seen.requests[before:]
    assert all("updated_since=2025-06-03T00:00:02Z" in path for path in again), again
