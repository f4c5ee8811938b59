"""A source declared in a project of its own, run with the real `fivetran debug` against an inline server: what
the warehouse holds is what the server holds (undeclared fields, and the other declarations of issue 20)."""

from __future__ import annotations

import datetime as dt
import json
import textwrap
from decimal import Decimal
from pathlib import Path
from typing import Any

from aiohttp import web

from tests.devtools import pytest
from tests.e2e.project import Warehouse, make_project, run_debug
from tests.integration.servers import serve

pytestmark = pytest.mark.e2e


def project_with(tmp_path: Path, name: str, module: str, configuration: dict[str, str]) -> Path:
    """A project whose sources/ holds `module` as sources/<name>.py, configured with `source` = name."""
    folder = make_project(tmp_path / "project", {"source": name, **configuration})
    (folder / "sources" / f"{name}.py").write_text(textwrap.dedent(module), encoding="utf-8")
    return folder


def columns_of(warehouse: Warehouse, table: str) -> list[str]:
    query = f"select column_name from information_schema.columns where table_name = '{table}' order by column_name"
    return [row[0] for row in warehouse.query(query)]


UNDECLARED_SOURCE = """
    from async_core.source import Column, Source, TableSpec

    SOURCE = Source(
        name="shop",
        tables=(TableSpec(name="orders", path="/orders", records="data", columns=(Column("id", "id", "INT"),)),),
    )
"""


def test_fields_the_api_adds_later_land_as_columns(tmp_path: Path) -> None:
    """Only `id` is declared: the other fields land as columns (objects as JSON), and a field the server starts
    sending at the second sync becomes a column then, with exactly the server's values."""
    orders: list[dict[str, Any]] = [
        {"id": i, "status": "paid", "customer": {"name": f"c{i}", "tags": ["a"]}, "totalCents": 100 * i}
        for i in range(1, 4)
    ]

    async def handler(request: web.Request) -> web.StreamResponse:
        return web.json_response({"data": orders})

    with serve(handler) as (url, _):
        project = project_with(tmp_path, "shop", UNDECLARED_SOURCE, {"base_url": url, "tables": "orders"})
        first = run_debug(project)
        assert first.returncode == 0, first.stdout[-3000:]
        for order in orders:
            order["couponCode"] = f"SAVE{order['id']}"
        second = run_debug(project)
    assert second.returncode == 0, second.stdout[-3000:]
    warehouse = Warehouse(project)
    assert {"coupon_code", "customer", "id", "status", "total_cents"} <= set(columns_of(warehouse, "orders"))
    landed = warehouse.query("select id, status, customer, total_cents, coupon_code from tester.orders order by id")
    assert [(i, s, json.loads(c), t, k) for i, s, c, t, k in landed] == [
        (o["id"], o["status"], o["customer"], o["totalCents"], o["couponCode"]) for o in orders
    ]


TYPES_SOURCE = """
    from async_core.source import Column, Source, TableSpec

    SOURCE = Source(
        name="ledger",
        tables=(
            TableSpec(
                name="payments",
                path="/payments",
                undeclared="drop",
                columns=(
                    Column("id", "id", "INT"),
                    Column("amount", "amount", "DECIMAL", precision=38, scale=8),
                    Column("paid_at", "paidAt", "UTC_DATETIME", epoch="ms"),
                    Column("due", "due", "NAIVE_DATE"),
                    Column("attempts", "attempts", "SHORT"),
                    Column("receipt", "receipt", "BINARY"),
                ),
            ),
        ),
    )
"""


def test_exact_types_land_as_the_server_sent_them(tmp_path: Path) -> None:
    """DECIMAL keeps every digit of the JSON text (more than a double holds), epoch milliseconds land to the
    millisecond, NAIVE_DATE, SHORT and BINARY land as DATE, SMALLINT and BLOB; a record the destination cannot
    hold (an amount with too many digits) goes to sync_errors and the others land."""
    body = (
        b'[{"id": 1, "amount": 1234567890.12345678, "paidAt": 1714564800123, "due": "2024-05-31",'
        b' "attempts": 3, "receipt": "AAH/"},'
        b' {"id": 2, "amount": 0.10, "paidAt": 1714564800000, "due": "2024-06-30", "attempts": -2, "receipt": ""},'
        b' {"id": 3, "amount": 1e40, "paidAt": 0, "due": "2024-06-30", "attempts": 0, "receipt": ""}]'
    )

    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(body=body, content_type="application/json")

    with serve(handler) as (url, _):
        project = project_with(tmp_path, "ledger", TYPES_SOURCE, {"base_url": url, "tables": "payments"})
        result = run_debug(project)
    assert result.returncode == 0, result.stdout[-3000:]
    warehouse = Warehouse(project)
    query = "select id, amount, epoch_ms(paid_at), due, attempts, receipt from tester.payments order by id"
    landed = warehouse.query(query)  # epoch_ms: a TIMESTAMPTZ fetched as such would need pytz
    assert landed == [
        (
            1,
            Decimal("1234567890.12345678"),
            1714564800123,
            dt.date(2024, 5, 31),
            3,
            b"\x00\x01\xff",
        ),
        (2, Decimal("0.10"), 1714564800000, dt.date(2024, 6, 30), -2, b""),
    ]
    [(message,)] = warehouse.query("select message from tester.sync_errors where table_name = 'payments'")
    assert "digits before the point" in message


NESTED_SOURCE = """
    from async_core.source import Column, NestedList, Source, TableSpec

    SOURCE = Source(
        name="shop",
        tables=(
            TableSpec(
                name="orders",
                path="/orders",
                columns=(Column("id", "id", "INT"),),
                nested=(
                    NestedList("order_line_items", "lineItems", parent_key=("order_id",)),
                    NestedList("order_refunds", "refunds", key="refund_id",
                               columns=(Column("refund_id", "id", "STRING"),)),
                ),
            ),
        ),
    )
"""


def test_nested_lists_land_as_child_tables_with_exactly_the_servers_items(tmp_path: Path) -> None:
    """Each order's lineItems land in order_line_items keyed (order_id, index), its refunds in order_refunds keyed
    (orders_id, refund_id): one request, and every item the server holds, with its values."""
    orders: list[dict[str, Any]] = [
        {
            "id": i,
            "lineItems": [{"sku": f"s{i}{n}", "qty": n} for n in range(i)],
            "refunds": [{"id": f"r{i}"}] * (i % 2),
        }
        for i in range(1, 5)
    ]

    async def handler(request: web.Request) -> web.StreamResponse:
        return web.json_response(orders)

    with serve(handler) as (url, seen):
        project = project_with(tmp_path, "shop", NESTED_SOURCE, {"base_url": url, "tables": "orders"})
        result = run_debug(project)
    assert result.returncode == 0, result.stdout[-3000:]
    assert len(seen.requests) == 1
    warehouse = Warehouse(project)
    assert "line_items" not in columns_of(warehouse, "orders")
    landed = warehouse.query("select order_id, index, sku, qty from tester.order_line_items order by order_id, index")
    assert landed == [(o["id"], n, item["sku"], item["qty"]) for o in orders for n, item in enumerate(o["lineItems"])]
    refunds = warehouse.query("select orders_id, refund_id from tester.order_refunds order by orders_id")
    assert refunds == [(o["id"], r["id"]) for o in orders for r in o["refunds"]]


DELETES_SOURCE = """
    from async_core.source import Column, Reconcile, Source, TableSpec, Tombstone

    ID = Column("id", "id", "INT")
    SOURCE = Source(
        name="crm",
        tables=(
            TableSpec(name="contacts", path="/contacts", columns=(ID,), deletes=Reconcile()),
            TableSpec(name="deals", path="/deals", columns=(ID,), deletes=Tombstone("deleted_at", when_set=True)),
            TableSpec(name="notes", path="/notes", columns=(ID,)),
            TableSpec(name="notes_deleted", path="/notes/deleted", columns=(ID,), deletes_of="notes"),
        ),
    )
"""


def test_deletes_land_as_fivetran_deleted_exactly_as_the_server_holds(tmp_path: Path) -> None:
    """Three ways, two syncs: a contact the server dropped (reconciled), a deal with deleted_at set (tombstone), a
    note in the deleted-records endpoint: each is `_fivetran_deleted` in the warehouse, every row the server still
    holds is not."""
    served: dict[str, list[dict[str, Any]]] = {
        "/contacts": [{"id": i} for i in (1, 2, 3)],
        "/deals": [{"id": i, "deleted_at": None} for i in (1, 2, 3)],
        "/notes": [{"id": i} for i in (1, 2, 3)],
        "/notes/deleted": [],
    }

    async def handler(request: web.Request) -> web.StreamResponse:
        return web.json_response(served[request.path])

    with serve(handler) as (url, _):
        project = project_with(
            tmp_path, "crm", DELETES_SOURCE, {"base_url": url, "tables": "contacts,deals,notes,notes_deleted"}
        )
        first = run_debug(project)
        assert first.returncode == 0, first.stdout[-3000:]
        served["/contacts"] = [{"id": 1}, {"id": 3}]
        served["/deals"] = [{"id": 2, "deleted_at": "2024-05-01T00:00:00Z"}]  # only what changed
        served["/notes"] = [{"id": 1}, {"id": 3}]
        served["/notes/deleted"] = [{"id": 2}]
        second = run_debug(project)
    assert second.returncode == 0, second.stdout[-3000:]
    warehouse = Warehouse(project)
    for table in ("contacts", "deals", "notes"):
        landed = warehouse.query(f"select id, _fivetran_deleted from tester.{table} order by id")
        assert landed == [(1, False), (2, True), (3, False)], table


WINDOWS_SOURCE = """
    from async_core.source import Column, Source, TableSpec, Windows

    SOURCE = Source(
        name="events",
        tables=(
            TableSpec(
                name="events",
                path="/events",
                columns=(Column("id", "id", "INT"),),
                windows=Windows(start_param="since", end_param="until", initial_value="2026-01-01T00:00:00Z",
                                step=30 * 86400, max_rows=3, min_step=3600),
            ),
        ),
    )
"""


def test_time_windows_land_exactly_the_servers_events_and_the_second_sync_asks_only_from_the_mark(
    tmp_path: Path,
) -> None:
    """Monthly windows over 2026 against a server that caps a request at 3 events: windows are split, every event
    lands once in the warehouse; the second sync asks only after the first one's mark."""
    events: list[dict[str, Any]] = [
        {"id": i, "at": f"2026-{1 + i % 11:02d}-{1 + i % 27:02d}T10:00:00Z"} for i in range(24)
    ]

    async def handler(request: web.Request) -> web.StreamResponse:
        start, end = request.query["since"], request.query["until"]
        inside = sorted((e for e in events if start <= e["at"] < end), key=lambda e: e["at"])
        return web.json_response(inside[:3])

    with serve(handler) as (url, seen):
        project = project_with(tmp_path, "events", WINDOWS_SOURCE, {"base_url": url, "tables": "events"})
        first = run_debug(project)
        assert first.returncode == 0, first.stdout[-3000:]
        asked = len(seen.requests)
        second = run_debug(project)
    assert second.returncode == 0, second.stdout[-3000:]
    assert asked > 12  # 12 months at least, and the splits
    assert all("since=2026-12" in r for r in seen.requests[asked:])  # from the mark (now), not from January
    warehouse = Warehouse(project)
    assert warehouse.ids("events") == [e["id"] for e in events]
