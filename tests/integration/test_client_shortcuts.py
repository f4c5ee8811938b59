"""The client's per-request shortcuts (issue 21's hot path) are taken by real requests, not only by the unit
under test: a page on the home origin is sent without parsing its URL, and aiohttp sets no timers of its own."""

from __future__ import annotations

import asyncio
import urllib.parse
from typing import Any

from aiohttp import web

from async_core.http import client as client_module
from async_core.http.client import ApiClient
from async_core.http.exchange import Request
from async_core.http.session import NO_TIMEOUT, make_session
from async_core.run.metrics import Metrics
from async_core.settings import Settings
from tests.integration.servers import serve


async def ok(request: web.Request) -> web.Response:
    return web.json_response([{"id": 1}])


def test_a_home_origin_page_is_sent_without_a_url_parse(monkeypatch: Any) -> None:
    parsed: list[str] = []

    def counting_urlsplit(url: str, *args: Any, **kwargs: Any) -> urllib.parse.SplitResult:
        parsed.append(url)
        return urllib.parse.urlsplit(url, *args, **kwargs)

    monkeypatch.setattr(client_module, "urlsplit", counting_urlsplit)

    async def main(url: str) -> None:
        policy = Settings().http_policy()
        async with make_session(policy) as session:
            api = ApiClient(policy, session, base_url=url, metrics=Metrics())
            parsed.clear()  # the client's construction parses base_url once
            for page in range(1, 4):
                request = Request(f"{url}/items?page={page}", credentials={"Authorization": "Bearer k"})
                response = await api.fetch(request)
                assert response.body == [{"id": 1}]

    with serve(ok) as (url, seen):
        asyncio.run(main(url))
    assert len(seen.requests) == 3
    assert parsed == []


def test_the_session_leaves_timeouts_to_the_attempt() -> None:
    async def main() -> None:
        async with make_session(Settings().http_policy()) as session:
            assert session.timeout == NO_TIMEOUT
            assert (NO_TIMEOUT.total, NO_TIMEOUT.connect, NO_TIMEOUT.sock_connect, NO_TIMEOUT.sock_read) == (None,) * 4

    asyncio.run(main())
