"""Pointed at a JSONPlaceholder-compatible server, all six tables land with exactly that server's rows and values.

The server here serves the public JSONPlaceholder data set (vendored in tests/fixtures, MIT licence) the way json-server
does; the connector runs under the real `fivetran debug` and the test reads the DuckDB warehouse it wrote.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aiohttp import web

from sources.jsonplaceholder import TABLES
from tests.devtools import pytest
from tests.e2e.project import ROOT, Warehouse, make_project, run_debug
from tests.integration.servers import paged, serve

pytestmark = pytest.mark.e2e

# The public JSONPlaceholder data set, vendored with its MIT licence beside it so that a fresh clone runs this test.
FIXTURE = ROOT / "tests" / "fixtures" / "jsonplaceholder.json"


def fixture_data() -> dict[str, list[dict[str, Any]]]:
    data: dict[str, list[dict[str, Any]]] = json.loads(FIXTURE.read_text(encoding="utf-8"))
    return data


def json_server(data: dict[str, list[dict[str, Any]]]) -> Any:
    collections = {f"/{name}": paged(rows) for name, rows in data.items()}

    async def handler(request: web.Request) -> web.StreamResponse:
        served = collections.get(request.path)
        if served is None:
            return web.json_response({}, status=404)
        response: web.StreamResponse = await served(request)
        return response

    return handler


def test_all_six_tables_land_with_the_servers_exact_values(tmp_path: Path) -> None:
    """users 10, posts 100, comments 500, albums 100, photos 5000, todos 200: every row equal to the source."""
    data = fixture_data()
    with serve(json_server(data)) as (url, seen):
        project = make_project(
            tmp_path / "project",
            {"base_url": url, "tables": ",".join(TABLES), "page_size": "100", "max_workers": "8"},
        )
        result = run_debug(project)
    assert result.returncode == 0, result.stdout[-3000:]
    warehouse = Warehouse(project)
    for name, spec in TABLES.items():
        expected = {record["id"]: record for record in data[name]}
        columns = [column.name for column in spec.columns]
        landed = warehouse.query(f"select {', '.join(columns)} from tester.{name} order by id")
        assert len(landed) == len(expected), name
        for row in landed:
            source = expected[row[0]]
            for column, value in zip(spec.columns, row, strict=True):
                if column.type == "JSON":
                    value = json.loads(value) if isinstance(value, str) else value
                assert value == source[column.source], (name, row[0], column.name)
    assert len(seen.requests) == sum(-(-len(rows) // 100) for rows in data.values())
    [(status,)] = warehouse.query("select status from tester.sync_runs")
    assert status == "succeeded"
