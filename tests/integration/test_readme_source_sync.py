"""The README's "Connecting your own API" example, a source module written against the documented API, executed as
written and synced unchanged against a loopback server that answers as the example describes."""

from __future__ import annotations

import sys
import types
from typing import Any

from aiohttp import web

from async_core import StdLog, run_sync
from tests.integration.declared import FAST
from tests.integration.servers import serve
from tests.sinks import RecordingSink
from tests.unit.test_readme_source import worked_example

TOKEN = "readme-token"
ORDERS = [
    {"id": f"o{n}", "amount": {"value": n + 0.5}, "updated_at": f"2024-05-01T00:{n // 60:02d}:{n % 60:02d}Z"}
    for n in range(1, 251)
]
USER_KEYS_OF_FAST = {key: FAST[key] for key in ("base_delay", "enable_circuit_breaker")}
CUSTOMERS = [{"id": n, "name": f"c{n}"} for n in range(1, 6)]


async def handler(request: web.Request) -> web.StreamResponse:
    if request.headers.get("Authorization") != f"Bearer {TOKEN}":
        return web.json_response({"error": "unauthorized"}, status=401)
    path = request.path
    if path == "/v1/orders":
        page, size = int(request.query["page"]), int(request.query["per_page"])
        chunk = ORDERS[(page - 1) * size : page * size]
        return web.json_response({"result": {"orders": chunk, "total": len(ORDERS)}})
    if path == "/v1/customers":
        start = int(request.query.get("from", "0"))
        listed = CUSTOMERS[start : start + 2]
        more = start + 2 < len(CUSTOMERS)
        next_url = str(request.url.with_query({"from": str(start + 2)})) if more else None
        return web.json_response({"data": listed, "links": {"next": next_url}})
    if path.startswith("/v1/customers/") and path.endswith("/addresses"):
        customer = int(path.split("/")[3])
        return web.json_response({"data": [{"id": customer * 10 + k, "city": f"city{k}"} for k in (1, 2)]})
    return web.json_response({"error": "not found"}, status=404)


def test_the_worked_example_syncs_unchanged(monkeypatch: Any) -> None:
    """orders in 3 pages of 100 (250 rows), customers walked by next link (5), two addresses each (10): every row,
    the token sent, the sync succeeded, with no warning about the configuration."""
    namespace: dict[str, Any] = {}
    exec(compile(worked_example(), "README.md", "exec"), namespace)
    module = types.ModuleType("sources.my_api")
    module.__dict__["SOURCE"] = namespace["SOURCE"]
    monkeypatch.setitem(sys.modules, module.__name__, module)
    warnings: list[str] = []
    log = StdLog()
    monkeypatch.setattr(log, "warning", warnings.append)
    sink = RecordingSink()
    with serve(handler) as (url, seen):
        # only the user's keys (instant retries, no breaker): a moved key would be a warning
        configuration = {"source": "my_api", "base_url": url, "my_api_token": TOKEN, **USER_KEYS_OF_FAST}
        result = run_sync(configuration, None, sink=sink, log=log)
    assert result.status == "succeeded", result.message
    assert len(sink.rows("orders")) == 250
    assert sorted(row["id"] for row in sink.rows("customers")) == [1, 2, 3, 4, 5]
    assert len(sink.rows("addresses")) == 10
    assert sum(1 for request in seen.requests if request.startswith("/v1/orders")) == 3
    assert warnings == []
