"""A source declared in a project of its own, run with the real `fivetran debug` against an inline server: what
the warehouse holds is what the server holds (undeclared fields, and the other declarations of issue 20)."""

from __future__ import annotations

import json
import textwrap
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
