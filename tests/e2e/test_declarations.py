"""Issue 18 under the real `fivetran debug`: the cases that are about the SDK itself.

Case 5: a primary key declared `required=False` let one null key make the SDK raise ("Null primary key"): traceback,
exit 1, nothing landed, nothing in sync_errors, every sync. Case 8: the SDK's "checkpoint recorded" line printed
a next link with the token an API echoed in it (and `files/state.json` held it).
"""

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

TOKEN = "EAAB-e2e-s3cr3t-41c7"


def with_source(folder: Path, name: str, code: str) -> None:
    (folder / "sources" / f"{name}.py").write_text(textwrap.dedent(code), encoding="utf-8")


def test_a_nullable_primary_key_is_refused_in_one_line_before_anything_is_fetched(tmp_path: Path) -> None:
    """The declaration is refused when the source is imported, naming the table and the fix; no request, no
    SDK traceback."""

    async def handler(request: web.Request) -> web.StreamResponse:
        return web.json_response([{"id": None, "name": "a"}, {"id": 2, "name": "b"}])

    with serve(handler) as (url, seen):
        project = make_project(tmp_path / "project", {"source": "nullable", "base_url": url})
        with_source(
            project,
            "nullable",
            """
            from async_core.source import Column, Source, TableSpec

            SOURCE = Source(
                name="nullable",
                tables=(TableSpec(name="items", path="/items", columns=(Column("id", "id", "INT", required=False),)),),
            )
            """,
        )
        result = run_debug(project)
    assert result.returncode != 0, result.stdout[-3000:]
    assert "table 'items': primary key column 'id' is declared required=False" in result.stdout
    assert "drop required=False" in result.stdout
    assert "Null primary key" not in result.stdout
    assert seen.requests == []
    assert Warehouse(project).tables() == set()


def test_the_checkpoint_log_line_and_the_state_hold_no_echoed_token(tmp_path: Path) -> None:
    """A Graph-API-like server echoes the token in its next links; page 3 fails, so the pass stays open with its
    link saved. Neither the SDK's log nor files/state.json holds the token; the saved link is there without it."""

    async def handler(request: web.Request) -> web.StreamResponse:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}" and request.query.get("access_token") != TOKEN:
            return web.json_response({"error": {"code": 190}}, status=401)
        after = int(request.query.get("after", 0))
        if after == 10:
            return web.json_response({"error": "busy"}, status=500)
        following = f"{request.url.origin()}/items?after={after + 5}&access_token={TOKEN}"
        data: list[dict[str, Any]] = [{"id": i} for i in range(after + 1, after + 6)]
        return web.json_response({"data": data, "next": following})

    with serve(handler) as (url, _):
        configuration = {"source": "graph", "base_url": url, "bearer_token": TOKEN, "max_retries": "0"}
        project = make_project(tmp_path / "project", configuration)
        with_source(
            project,
            "graph",
            """
            from async_core.source import BearerAuth, Column, JsonLink, Policy, Source, TableSpec

            SOURCE = Source(
                name="graph",
                auth=BearerAuth(),
                policy=Policy(checkpoint_every_rows=1),
                tables=(
                    TableSpec(
                        name="items",
                        path="/items",
                        records="data",
                        paginator=JsonLink(),
                        columns=(Column("id", "id", "INT"),),
                    ),
                ),
            )
            """,
        )
        result = run_debug(project)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "checkpoint recorded" in result.stdout
    assert TOKEN not in result.stdout
    state = (project / "files" / "state.json").read_text(encoding="utf-8")
    assert TOKEN not in state
    resume = json.loads(state)["tables"]["items"]["pass"]["resume"]
    assert resume["url"].endswith("/items?after=10")
    assert resume["signed"] == [["access_token", "bearer_token"]]
    assert Warehouse(project).ids("items") == list(range(1, 11))
