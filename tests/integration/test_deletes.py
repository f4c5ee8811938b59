"""Deletes, as a source sees them: tombstones, a deleted-records endpoint, reconciliation after full passes."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from async_core.source import Column, NestedList, PageNumber, Reconcile, TableSpec, Tombstone
from tests.integration.declared import ID, declare, sync
from tests.integration.servers import serve
from tests.sinks import RecordingSink
from tests.states import all_complete


def test_a_tombstone_deletes_its_row_with_only_its_key(monkeypatch: Any) -> None:
    """{"id": 2, "deleted": true} (no name: a tombstone carries only its key) is an op.delete of row 2; the others
    are upserted; `deleted: false` is not a deletion."""
    records = [{"id": 1, "name": "a", "deleted": False}, {"id": 2, "deleted": True}, {"id": 3, "name": "c"}]

    async def handler(request: web.Request) -> web.StreamResponse:
        return web.json_response(records)

    declare(
        monkeypatch,
        TableSpec(name="t", path="/t", columns=(ID, Column("name", "name", "STRING")), deletes=Tombstone("deleted")),
    )
    with serve(handler) as (url, _):
        sink = RecordingSink()
        sync(url, sink, tables="t")
    assert sink.ids("t") == [1, 3]
    assert sink.deleted("t") == [{"id": 2}]
    assert sink.rows("sync_errors") == []


def test_a_deleted_records_table_deletes_rows_of_its_target(monkeypatch: Any) -> None:
    """orders_deleted's records (keys of deleted orders, as STRING ids from integers) are op.delete on orders."""

    async def handler(request: web.Request) -> web.StreamResponse:
        if request.path == "/orders":
            return web.json_response([{"id": "1"}, {"id": "2"}])
        return web.json_response({"data": [{"id": 3, "deleted_at": "2024-05-01T00:00:00Z"}]})

    key = Column("id", "id", "STRING")
    declare(
        monkeypatch,
        TableSpec(name="orders", path="/orders", columns=(key,)),
        TableSpec(name="orders_deleted", path="/orders/deleted", records="data", deletes_of="orders", columns=(key,)),
    )
    with serve(handler) as (url, _):
        sink = RecordingSink()
        result = sync(url, sink, tables="orders,orders_deleted")
    assert result.status == "succeeded"
    assert sink.deleted("orders") == [{"id": "3"}]
    assert sink.rows("orders_deleted") == []


def pages(data: list[dict[str, Any]], failing: set[int] | None = None) -> Any:
    """Page-numbered `data` with its total; the pages in `failing` (changed by the test as it goes) answer 400."""

    async def handler(request: web.Request) -> web.StreamResponse:
        page, size = int(request.query["page"]), int(request.query["per_page"])
        if failing and page in failing:
            return web.json_response({"error": "gone"}, status=400)
        return web.json_response({"data": data[(page - 1) * size : page * size], "total": len(data)})

    return handler


def again(url: str, sink: RecordingSink, state: dict[str, Any] | None = None) -> dict[str, Any]:
    """One sync of table t from `state`; the state it checkpointed last."""
    sync(url, sink, state, tables="t")
    return sink.checkpoints()[-1]


RECONCILED = TableSpec(
    name="t",
    path="/t",
    records="data",
    columns=(ID,),
    paginator=PageNumber(page_param="page", size_param="per_page", total_path="total", page_size=2),
    deletes=Reconcile(),
)


def test_reconciliation_leaves_live_exactly_the_rows_the_server_holds(monkeypatch: Any) -> None:
    """Sync 1 lands 1..5; the server then drops 2 and 4: sync 2 truncates before its first page, and afterwards the
    live rows are 1, 3, 5 (each truncate comes before the pass's upserts)."""
    declare(monkeypatch, RECONCILED)
    data = [{"id": i} for i in range(1, 6)]
    with serve(pages(data)) as (url, _):
        sink = RecordingSink()
        state = again(url, sink)
        assert sorted(sink.live("t")) == [1, 2, 3, 4, 5]
        del data[3], data[1]
        again(url, sink, state)
    assert sorted(sink.live("t")) == [1, 3, 5]
    kinds = [kind for kind, name, _ in sink.calls if name == "t"]
    assert kinds.count("truncate") == 2
    assert kinds.index("truncate") == 0


def test_an_interrupted_pass_shows_unreached_rows_deleted_until_it_completes(monkeypatch: Any) -> None:
    """Page 2 of 3 fails: the pass stays open, rows 3 and 4 show deleted meanwhile; the next sync resumes the pass
    without a second truncate, and every row the server holds is live again."""
    declare(monkeypatch, RECONCILED)
    data = [{"id": i} for i in range(1, 6)]
    failing: set[int] = set()
    sink = RecordingSink()
    with serve(pages(data, failing)) as (url, _):  # one server: a state is bound to its origin
        state = again(url, sink)
        failing.add(2)
        state = again(url, sink, state)
        assert sorted(sink.live("t")) == [1, 2, 5]
        assert not all_complete(state)
        truncates = sum(kind == "truncate" for kind, _, _ in sink.calls)
        failing.clear()
        state = again(url, sink, state)
    assert sum(kind == "truncate" for kind, _, _ in sink.calls) == truncates  # a resumed pass: no truncate
    assert sorted(sink.live("t")) == [1, 2, 3, 4, 5]
    assert all_complete(state)


def test_reconciliation_clears_the_nested_items_a_list_no_longer_holds(monkeypatch: Any) -> None:
    """Order 1 had items a, b, c; the server now lists a, b: after the reconciled pass, item (1, 2) is deleted and
    the others are live (the nested table is truncated with its parent)."""
    orders: list[dict[str, Any]] = [{"id": 1, "items": [{"sku": "a"}, {"sku": "b"}, {"sku": "c"}]}]

    async def handler(request: web.Request) -> web.StreamResponse:
        return web.json_response(orders)

    lines = NestedList("order_items", "items", parent_key=("order_id",))
    declare(monkeypatch, TableSpec(name="orders", path="/orders", columns=(ID,), nested=(lines,), deletes=Reconcile()))
    sink = RecordingSink()
    with serve(handler) as (url, _):
        sync(url, sink, tables="orders")
        orders[0]["items"].pop()
        sync(url, sink, sink.checkpoints()[-1], tables="orders")
    live: dict[tuple[int, int], str] = {}
    for kind, name, data in sink.calls:
        if name == "order_items" and kind == "upsert":
            live[(data["order_id"], data["index"])] = data["sku"]
        elif name == "order_items" and kind == "truncate":
            live.clear()
    assert live == {(1, 0): "a", (1, 1): "b"}
