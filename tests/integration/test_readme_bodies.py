"""The README's "Request bodies and GraphQL" example, executed as written and synced against real servers: a POST
search (an inline handler that checks each body and the key in the query) and a GraphQL API (strawberry-graphql)
behind an OAuth2 authorization server (authlib)."""

from __future__ import annotations

import dataclasses
import sys
import types
from pathlib import Path
from typing import Any

from aiohttp import web

from async_core import StdLog, run_sync
from async_core.source import OAuth2ClientCredentials, Source
from async_core.sync import SyncResult
from tests.graphql_server import graphql_server
from tests.integration.declared import FAST
from tests.integration.servers import serve
from tests.oauth2_server import CLIENT_ID, CLIENT_SECRET, oauth2_server
from tests.sinks import RecordingSink

README = Path(__file__).resolve().parents[2] / "README.md"
KEY = "readme-search-key"
TICKETS = [{"id": n, "updated_at": f"2024-05-01T00:00:{n:02d}Z", "status": "open"} for n in range(1, 43)]


def example() -> dict[str, Any]:
    section = README.read_text(encoding="utf-8").split("### Request bodies and GraphQL", 1)[1].split("\n## ", 1)[0]
    namespace: dict[str, Any] = {}
    exec(compile(section.split("```python\n", 1)[1].split("```", 1)[0], "README.md", "exec"), namespace)
    return namespace


def sync(monkeypatch: Any, source: Source, url: str, sink: RecordingSink, state: Any = None, **keys: str) -> SyncResult:
    """One sync of `source`, reached as a user's is: `{"source": name}` imports `sources.<name>`."""
    module = types.ModuleType(f"sources.{source.name}")
    module.__dict__["SOURCE"] = source
    monkeypatch.setitem(sys.modules, module.__name__, module)
    configuration = {"source": source.name, "base_url": url, **FAST, **keys}
    return run_sync(configuration, state, sink=sink, log=StdLog())


def test_the_search_example_posts_its_paging_in_the_body_and_the_key_in_the_query(monkeypatch: Any) -> None:
    """42 tickets in pages of the configured size; the second sync sends its lower bound in the filter."""
    source = example()["TICKETS"]
    bodies: list[Any] = []

    async def search(request: web.Request) -> web.StreamResponse:
        if request.method != "POST" or request.path != "/v2/search" or request.query.get("api_key") != KEY:
            return web.json_response({"error": "not like this"}, status=400)
        body = await request.json()
        bodies.append(body)
        since = body["filter"].get("updated_after", "")
        rows = [t for t in TICKETS if t["status"] == body["filter"]["status"] and t["updated_at"] > since]
        number, size = body["page"]["number"], body["page"]["size"]
        return web.json_response({"results": rows[(number - 1) * size : number * size], "meta": {"total": len(rows)}})

    with serve(search) as (url, _):
        first = RecordingSink()
        result = sync(monkeypatch, source, url, first, page_size="10", api_key=KEY)
        assert result.status == "succeeded", result.message
        second = RecordingSink()
        again = sync(monkeypatch, source, url, second, first.checkpoints()[-1], page_size="10", api_key=KEY)
    assert again.status == "succeeded", again.message
    assert first.ids("tickets") == list(range(1, 43))
    assert sorted(b["page"]["number"] for b in bodies[:5]) == [1, 2, 3, 4, 5]
    assert bodies[-1] == {
        "filter": {"status": "open", "updated_after": "2024-05-01T00:00:42Z"},
        "page": {"number": 1, "size": 10},
    }


def test_the_graphql_example_walks_relay_pages_with_a_client_credentials_token(monkeypatch: Any) -> None:
    """Every order of the GraphQL server lands; one token for the sync, from the authorization server."""
    namespace = example()
    shop: Source = namespace["SHOP"]
    with oauth2_server() as auth, graphql_server(tokens=auth.tokens) as api:
        assert isinstance(shop.auth, OAuth2ClientCredentials)
        declared = dataclasses.replace(shop, auth=dataclasses.replace(shop.auth, token_url=auth.token_url))
        sink = RecordingSink()
        result = sync(monkeypatch, declared, api.base_url, sink, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
        assert result.status == "succeeded", result.message
        assert sink.ids("orders") == [o["id"] for o in api.orders]
        assert [seen["first"] for seen in api.seen] == [10, 10, 10]
        assert auth.tokens.grants == ["client_credentials"]
