"""Nested lists land as child tables from the parent's pages: no request of their own, rejected with their parent."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from async_core.source import Column, JsonLink, NestedList, TableSpec
from tests.integration.declared import declare, errors, sync
from tests.integration.servers import serve
from tests.sinks import RecordingSink

ORDERS: list[dict[str, Any]] = [
    {"id": 1, "lines": [{"sku": "a", "qty": 1}, {"sku": "b", "qty": 2}]},
    {"id": 2, "lines": []},
    {"id": 3, "lines": [{"sku": "c", "qty": "three"}]},  # qty is declared INT: the order is rejected whole
    {"id": 4, "lines": [{"sku": "d", "qty": 4}]},
]


def test_items_land_with_their_parents_page_and_a_bad_item_rejects_its_order(monkeypatch: Any) -> None:
    """Two pages of orders, two requests: the items of orders 1 and 4 land keyed (order_id, index); order 3,
    whose item has a bad qty, lands neither itself nor its items, and is in sync_errors."""

    async def handler(request: web.Request) -> web.StreamResponse:
        page = int(request.query.get("page", "1"))
        body: dict[str, Any] = {"data": ORDERS[(page - 1) * 2 : page * 2]}
        if page == 1:
            body["next"] = "/orders?page=2"
        return web.json_response(body)

    lines = NestedList("order_lines", "lines", parent_key=("order_id",), columns=(Column("qty", "qty", "INT"),))
    declare(
        monkeypatch,
        TableSpec(
            name="orders",
            path="/orders",
            records="data",
            paginator=JsonLink(next_path="next"),
            columns=(Column("id", "id", "INT"),),
            nested=(lines,),
        ),
    )
    with serve(handler) as (url, seen):
        sink = RecordingSink()
        result = sync(url, sink, tables="orders")
    assert len(seen.requests) == 2
    assert result.status == "succeeded"
    assert sink.ids("orders") == [1, 2, 4]
    assert sorted((r["order_id"], r["index"], r["sku"], r["qty"]) for r in sink.rows("order_lines")) == [
        (1, 0, "a", 1),
        (1, 1, "b", 2),
        (4, 0, "d", 4),
    ]
    assert errors(sink) == [("orders", 2, "RecordError")]
