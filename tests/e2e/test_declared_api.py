"""Issue 20's declarations in a project of their own, synced twice with the real `fivetran debug` against an inline
server: new fields, exact types, nested lists, deletes and time windows, each read back from the warehouse and
compared with what the server holds. Two `fivetran debug` runs serve every test of the module (a fixture)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import textwrap
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from aiohttp import web

from tests.devtools import pytest
from tests.e2e.project import Warehouse, make_project, run_debug
from tests.integration.servers import serve

pytestmark = pytest.mark.e2e

SOURCE = """
    from async_core.source import Column, NestedList, Reconcile, Source, TableSpec, Tombstone, Windows

    ID = Column("id", "id", "INT")
    SOURCE = Source(
        name="issue20",
        tables=(
            TableSpec(  # only the key declared: every other field lands as a column; lineItems as a child table
                name="orders",
                path="/orders",
                records="data",
                columns=(ID,),
                nested=(
                    NestedList("order_line_items", "lineItems", parent_key=("order_id",)),
                    NestedList("order_refunds", "refunds", key="refund_id",
                               columns=(Column("refund_id", "id", "STRING"),)),
                ),
            ),
            TableSpec(
                name="payments",
                path="/payments",
                undeclared="drop",
                columns=(
                    ID,
                    Column("amount", "amount", "DECIMAL", precision=38, scale=8),
                    Column("paid_at", "paidAt", "UTC_DATETIME", epoch="ms"),
                    Column("due", "due", "NAIVE_DATE"),
                    Column("attempts", "attempts", "SHORT"),
                    Column("receipt", "receipt", "BINARY"),
                ),
            ),
            TableSpec(name="contacts", path="/contacts", columns=(ID,), deletes=Reconcile()),
            TableSpec(name="deals", path="/deals", columns=(ID,), deletes=Tombstone("deleted_at", when_set=True)),
            TableSpec(name="notes", path="/notes", columns=(ID,)),
            TableSpec(name="notes_deleted", path="/notes/deleted", columns=(ID,), deletes_of="notes"),
            TableSpec(
                name="events",
                path="/events",
                columns=(ID,),
                windows=Windows(start_param="since", end_param="until", initial_value="2026-01-01T00:00:00Z",
                                step=30 * 86400, max_rows=3, min_step=3600),
            ),
        ),
    )
"""
TABLES = "orders,payments,contacts,deals,notes,notes_deleted,events"

PAYMENTS = (
    b'[{"id": 1, "amount": 1234567890.12345678, "paidAt": 1714564800123, "due": "2024-05-31",'
    b' "attempts": 3, "receipt": "AAH/"},'
    b' {"id": 2, "amount": 0.10, "paidAt": 1714564800000, "due": "2024-06-30", "attempts": -2, "receipt": ""},'
    b' {"id": 3, "amount": 1e40, "paidAt": 0, "due": "2024-06-30", "attempts": 0, "receipt": ""}]'
)


def orders_at(sync: int) -> list[dict[str, Any]]:
    orders: list[dict[str, Any]] = [
        {
            "id": i,
            "status": "paid",
            "customer": {"name": f"c{i}", "tags": ["a"]},
            "totalCents": 100 * i,
            "lineItems": [{"sku": f"s{i}{n}", "qty": n} for n in range(i)],
            "refunds": [{"id": f"r{i}"}] * (i % 2),
        }
        for i in range(1, 5)
    ]
    if sync == 2:  # a field the API starts sending
        for order in orders:
            order["couponCode"] = f"SAVE{order['id']}"
    return orders


@dataclasses.dataclass
class Run:
    warehouse: Warehouse
    orders: list[dict[str, Any]]
    events: list[dict[str, Any]]
    requests: list[list[str]]  # what the server saw in each sync


@pytest.fixture(scope="module")
def run(tmp_path_factory: Any) -> Iterator[Run]:
    served: dict[str, Any] = {
        "/orders": {"data": orders_at(1)},
        "/contacts": [{"id": i} for i in (1, 2, 3)],
        "/deals": [{"id": i, "deleted_at": None} for i in (1, 2, 3)],
        "/notes": [{"id": i} for i in (1, 2, 3)],
        "/notes/deleted": [],
    }
    events: list[dict[str, Any]] = [
        {"id": i, "at": f"2026-{1 + i % 11:02d}-{1 + i % 27:02d}T10:00:00Z"} for i in range(24)
    ]

    async def handler(request: web.Request) -> web.StreamResponse:
        if request.path == "/payments":
            return web.Response(body=PAYMENTS, content_type="application/json")
        if request.path == "/events":  # at most 3 events an answer: the API's cap
            start, end = request.query["since"], request.query["until"]
            return web.json_response(sorted((e for e in events if start <= e["at"] < end), key=str)[:3])
        return web.json_response(served[request.path])

    folder = tmp_path_factory.mktemp("issue20") / "project"
    requests: list[list[str]] = []
    with serve(handler) as (url, seen):
        project = make_project(folder, {"source": "issue20", "base_url": url, "tables": TABLES})
        (project / "sources" / "issue20.py").write_text(textwrap.dedent(SOURCE), encoding="utf-8")
        first = run_debug(project)
        assert first.returncode == 0, first.stdout[-3000:]
        requests.append(list(seen.requests))
        seen.requests.clear()
        served["/orders"] = {"data": orders_at(2)}
        served["/contacts"] = [{"id": 1}, {"id": 3}]
        served["/deals"] = [{"id": 2, "deleted_at": "2024-05-01T00:00:00Z"}]  # only what changed
        served["/notes"] = [{"id": 1}, {"id": 3}]
        served["/notes/deleted"] = [{"id": 2}]
        second = run_debug(project)
        assert second.returncode == 0, second.stdout[-3000:]
        requests.append(list(seen.requests))
    yield Run(Warehouse(project), orders_at(2), events, requests)


def columns_of(warehouse: Warehouse, table: str) -> list[str]:
    query = f"select column_name from information_schema.columns where table_name = '{table}' order by column_name"
    return [row[0] for row in warehouse.query(query)]


def test_fields_the_api_adds_later_land_as_columns(run: Run) -> None:
    """Only `id` is declared: the other fields land as columns (objects as JSON), and a field the server starts
    sending at the second sync becomes a column then, with exactly the server's values."""
    assert {"coupon_code", "customer", "id", "status", "total_cents"} <= set(columns_of(run.warehouse, "orders"))
    landed = run.warehouse.query("select id, status, customer, total_cents, coupon_code from tester.orders order by id")
    assert [(i, s, json.loads(c), t, k) for i, s, c, t, k in landed] == [
        (o["id"], o["status"], o["customer"], o["totalCents"], o["couponCode"]) for o in run.orders
    ]


def test_exact_types_land_as_the_server_sent_them(run: Run) -> None:
    """DECIMAL keeps every digit of the JSON text (more than a double holds), epoch milliseconds land to the
    millisecond, NAIVE_DATE, SHORT and BINARY land as DATE, SMALLINT and BLOB; a record the destination cannot
    hold (an amount with too many digits) goes to sync_errors and the others land."""
    query = "select id, amount, epoch_ms(paid_at), due, attempts, receipt from tester.payments order by id"
    landed = run.warehouse.query(query)  # epoch_ms: a TIMESTAMPTZ fetched as such would need pytz
    assert landed == [
        (1, Decimal("1234567890.12345678"), 1714564800123, dt.date(2024, 5, 31), 3, b"\x00\x01\xff"),
        (2, Decimal("0.10"), 1714564800000, dt.date(2024, 6, 30), -2, b""),
    ]
    messages = run.warehouse.query("select message from tester.sync_errors where table_name = 'payments'")
    assert messages
    assert all("digits before the point" in message for (message,) in messages)


def test_nested_lists_land_as_child_tables_with_exactly_the_servers_items(run: Run) -> None:
    """Each order's lineItems land in order_line_items keyed (order_id, index), its refunds in order_refunds keyed
    (orders_id, refund_id): one request a sync, and every item the server holds, with its values."""
    assert [r for r in run.requests[0] if r.startswith("/orders")] == ["/orders"]
    assert "line_items" not in columns_of(run.warehouse, "orders")
    query = "select order_id, index, sku, qty from tester.order_line_items order by order_id, index"
    expected = [(o["id"], n, item["sku"], item["qty"]) for o in run.orders for n, item in enumerate(o["lineItems"])]
    assert run.warehouse.query(query) == expected
    refunds = run.warehouse.query("select orders_id, refund_id from tester.order_refunds order by orders_id")
    assert refunds == [(o["id"], r["id"]) for o in run.orders for r in o["refunds"]]


def test_deletes_land_as_fivetran_deleted_exactly_as_the_server_holds(run: Run) -> None:
    """Three ways: a contact the server dropped (reconciled), a deal with deleted_at set (tombstone), a note in the
    deleted-records endpoint: each is `_fivetran_deleted` in the warehouse, every row the server still holds is not."""
    for table in ("contacts", "deals", "notes"):
        landed = run.warehouse.query(f"select id, _fivetran_deleted from tester.{table} order by id")
        assert landed == [(1, False), (2, True), (3, False)], table


def test_time_windows_land_exactly_the_servers_events_and_the_second_sync_asks_only_from_the_mark(run: Run) -> None:
    """Monthly windows over 2026 against a server that caps an answer at 3 events: windows are split, every event
    lands once in the warehouse; the second sync asks only after the first one's mark."""
    first = [r for r in run.requests[0] if r.startswith("/events")]
    second = [r for r in run.requests[1] if r.startswith("/events")]
    assert len(first) > 12  # 12 months at least, and the splits
    assert all("since=2026-12" in r for r in second)  # from the mark (now), not from January
    assert run.warehouse.ids("events") == [e["id"] for e in run.events]
