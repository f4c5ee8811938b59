"""The README's "Nested lists, deletes, exact numbers and new fields" example, executed as written and synced twice
against a shop server: it does what the README says."""

from __future__ import annotations

import datetime as dt
import sys
import types
from pathlib import Path
from typing import Any

from aiohttp import web

from tests.integration.declared import sync
from tests.integration.servers import serve
from tests.sinks import RecordingSink

README = Path(__file__).resolve().parents[2] / "README.md"
HEADING = "### Nested lists, deletes, exact numbers and new fields"


def shop_module() -> types.ModuleType:
    section = README.read_text(encoding="utf-8").split(HEADING, 1)[1].split("\n## ", 1)[0]
    module = types.ModuleType("sources.shop")
    exec(compile(section.split("```python\n", 1)[1].split("```", 1)[0], "README.md", "exec"), module.__dict__)
    return module


def test_the_shop_example_lands_what_the_server_holds(monkeypatch: Any) -> None:
    """Sync 1: orders with exact totals, epoch-ms times, undeclared status and customer, line items keyed
    (order_id, index); refunds' extras in _undeclared. Sync 2: order 2's tombstone, refund r1 in the deleted
    endpoint and customer 2 gone from the listing are deletes; customers 1 and 3 stay live. Payouts: 30-day windows
    from 2024, every payout landed; the second sync asks only from the first one's mark."""
    served: dict[str, Any] = {
        "/orders": (  # JSON text as the API writes it: 19.90, not 19.9
            '[{"id": 1, "total": 19.90, "placedAt": 1714564800123, "status": "paid", "customer": {"id": 1},'
            ' "lineItems": [{"sku": "a", "price": 9.95}, {"sku": "b", "price": 9.95}]},'
            ' {"id": 2, "total": 5, "placedAt": 1714564800000, "status": "open", "customer": {"id": 2},'
            ' "lineItems": []}]'
        ),
        "/refunds": [{"id": "r1", "amount": 1.5, "reason": "damaged"}],
        "/refunds/deleted": [],
        "/customers": [{"id": 1}, {"id": 2}, {"id": 3}],
    }

    payouts: list[dict[str, Any]] = [
        {"id": i, "at": f"2025-{1 + i % 12:02d}-10T00:00:00Z"} for i in range(12)
    ]  # one a month, 2025
    windows_asked: list[str] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        if request.path == "/api/payouts":
            start, end = request.query["from"], request.query["to"]
            windows_asked.append(start)
            return web.json_response([p for p in payouts if start <= p["at"] < end][:100])
        body = served[request.path.removeprefix("/api")]
        if isinstance(body, str):
            return web.Response(text=body, content_type="application/json")
        return web.json_response(body)

    monkeypatch.setitem(sys.modules, "sources.shop", shop_module())
    tables = "orders,refunds,refunds_deleted,customers,payouts"
    sink = RecordingSink()
    with serve(handler) as (url, _):
        first = sync(f"{url}/api", sink, source="shop", tables=tables)
        state = sink.checkpoints()[-1]
        first_windows = len(windows_asked)
        served["/orders"] = [{"id": 2, "deleted": True}]
        served["/refunds/deleted"] = [{"id": "r1"}]
        served["/customers"] = [{"id": 1}, {"id": 3}]
        second = sync(f"{url}/api", sink, state, source="shop", tables=tables)
    assert (first.status, second.status) == ("succeeded", "succeeded")
    order = sink.live("orders")[1]
    assert order["total"] == "19.90"
    assert order["placed_at"] == dt.datetime(2024, 5, 1, 12, 0, 0, 123000, tzinfo=dt.UTC)
    assert (order["status"], order["customer"]) == ("paid", {"id": 1})
    items = sorted((r["order_id"], r["index"], r["sku"], r["price"]) for r in sink.rows("order_line_items"))
    assert items == [(1, 0, "a", "9.95"), (1, 1, "b", "9.95")]
    assert sink.rows("refunds")[0]["_undeclared"] == {"amount": 1.5, "reason": "damaged"}
    assert sorted(sink.live("orders")) == [1]
    assert sink.deleted("orders") == [{"id": 2}]
    assert sink.live("refunds") == {}
    assert sorted(sink.live("customers")) == [1, 3]
    assert sorted(sink.live("payouts")) == list(range(12))
    assert min(windows_asked) == "2024-01-01T00:00:00Z"
    assert all(start > "2026-11" for start in windows_asked[first_windows:])  # the second sync: from the mark only
