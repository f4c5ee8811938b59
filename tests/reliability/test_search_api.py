"""`fivetran debug` with a POST search source whose key goes in the query string: the README's `TICKETS`
declaration, written into the project copy as `sources/tickets_api.py`, against an inline search handler.

Two syncs: the first lands every ticket; the second sends the watermark in the body's filter and lands only what
changed. The server sees every request with the key once and a JSON body; no output line and no saved state holds
the key (the local runner prints every checkpointed state).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aiohttp import web

from tests.devtools import pytest
from tests.e2e.project import Warehouse, make_project, run_debug, state_of
from tests.integration.servers import serve
from tests.integration.test_readme_bodies import README

pytestmark = pytest.mark.reliability

KEY = "e2e-search-key-0123456789"


def example_module() -> str:
    """The README's example, as a module whose SOURCE is its TICKETS."""
    section = README.read_text(encoding="utf-8").split("### Request bodies and GraphQL", 1)[1].split("\n## ", 1)[0]
    return section.split("```python\n", 1)[1].split("```", 1)[0] + "\nSOURCE = TICKETS\n"


def test_a_post_search_lands_exactly_twice_with_the_key_kept_out_of_everything(tmp_path: Path) -> None:
    tickets = [{"id": n, "updated_at": f"2024-05-01T00:00:{n:02d}Z", "subject": f"t{n}"} for n in range(1, 36)]
    bodies: list[Any] = []
    keys: list[list[str]] = []

    async def search(request: web.Request) -> web.StreamResponse:
        keys.append(request.query.getall("api_key", []))
        if request.method != "POST" or request.query.get("api_key") != KEY:
            return web.json_response({"error": "unauthorised"}, status=401)
        body = await request.json()
        bodies.append(body)
        since = body["filter"].get("updated_after", "")
        rows = [t for t in tickets if t["updated_at"] > since]
        number, size = body["page"]["number"], body["page"]["size"]
        return web.json_response({"results": rows[(number - 1) * size : number * size], "meta": {"total": len(rows)}})

    with serve(search) as (url, _):
        folder = make_project(
            tmp_path / "project",
            {"source": "tickets_api", "base_url": url, "api_key": KEY, "page_size": "10"},
        )
        (folder / "sources" / "tickets_api.py").write_text(example_module(), encoding="utf-8")
        first = run_debug(folder)
        assert first.returncode == 0, first.stdout[-3000:]
        warehouse = Warehouse(folder)
        assert warehouse.ids("tickets") == list(range(1, 36))
        tickets.append({"id": 36, "updated_at": "2024-05-02T00:00:00Z", "subject": "new"})
        second = run_debug(folder)
        assert second.returncode == 0, second.stdout[-3000:]
    assert warehouse.ids("tickets") == list(range(1, 37))
    assert warehouse.query("select subject from tester.tickets where id = 36") == [("new",)]  # undeclared, kept
    assert bodies[-1]["filter"] == {"status": "open", "updated_after": "2024-05-01T00:00:35Z"}
    assert keys == [[KEY]] * len(keys)
    assert KEY not in first.stdout + second.stdout
    assert KEY not in json.dumps(state_of(folder))
