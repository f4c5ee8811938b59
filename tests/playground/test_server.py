"""The playground over real loopback HTTP: data, json-server pagination, every fault, the log, the proxy."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import email.utils
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp

from async_core.playground import (
    COLLECTION_SIZES,
    RANDOM_FAULTS,
    Dataset,
    FaultKind,
    FaultProfile,
    Playground,
    generate_collection,
    profile,
)
from tests.devtools import pytest

JSON_UTF8 = "application/json; charset=utf-8"


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


@pytest.fixture
async def playground() -> AsyncIterator[Playground]:
    async with Playground() as server:
        yield server


async def fetch(session: aiohttp.ClientSession, url: str) -> tuple[int, Any, Any]:
    """(status, headers, decoded JSON body)."""
    async with session.get(url) as response:
        return response.status, response.headers, await response.json(content_type=None)


def links(base: str, path: str, limit: int, **pages: int) -> str:
    return ", ".join(f'<{base}{path}?_page={n}&_limit={limit}>; rel="{rel}"' for rel, n in pages.items())


# --- data and pagination ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("scale", [1, 3])
async def test_each_collection_serves_all_its_rows(session: aiohttp.ClientSession, scale: int) -> None:
    async with Playground(scale=scale) as server:
        for name, size in COLLECTION_SIZES.items():
            async with session.get(f"{server.base_url}/{name}") as response:
                assert response.status == 200
                assert response.headers["Content-Type"] == JSON_UTF8
                assert "X-Total-Count" not in response.headers  # like json-server, without _page or _limit
                rows = await response.json()
            assert len(rows) == size * scale
            assert rows == generate_collection(name, scale)


async def test_non_ascii_goes_out_as_utf8(session: aiohttp.ClientSession, playground: Playground) -> None:
    async with session.get(f"{playground.base_url}/users/4") as response:
        raw = await response.read()
    assert "Åsa Howell".encode() in raw
    assert json.loads(raw) == Dataset().row("users", 4)


async def test_items_and_not_found(session: aiohttp.ClientSession, playground: Playground) -> None:
    base = playground.base_url
    status, headers, body = await fetch(session, f"{base}/posts/7")
    assert (status, headers["Content-Type"], body) == (200, JSON_UTF8, Dataset().row("posts", 7))
    for path in ("/posts/101", "/posts/0", "/posts/abc", "/nothing", "/", "/users/1/comments"):
        status, headers, body = await fetch(session, base + path)
        assert (status, body, headers["Content-Type"]) == (404, {}, JSON_UTF8), path


async def test_first_middle_last_and_past_the_end_pages(session: aiohttp.ClientSession, playground: Playground) -> None:
    base = playground.base_url
    first = await fetch(session, f"{base}/comments?_page=1&_limit=30")
    assert first[0] == 200
    assert [row["id"] for row in first[2]] == list(range(1, 31))
    assert first[1]["X-Total-Count"] == "500"
    assert first[1]["Link"] == links(base, "/comments", 30, first=1, next=2, last=17)
    assert first[1]["Access-Control-Expose-Headers"] == "X-Total-Count, Link"

    middle = await fetch(session, f"{base}/comments?_page=5&_limit=30")
    assert [row["id"] for row in middle[2]] == list(range(121, 151))
    assert middle[1]["Link"] == links(base, "/comments", 30, first=1, prev=4, next=6, last=17)

    last = await fetch(session, f"{base}/comments?_page=17&_limit=30")
    assert [row["id"] for row in last[2]] == list(range(481, 501))
    assert last[1]["Link"] == links(base, "/comments", 30, first=1, prev=16, last=17)
    assert last[1]["X-Total-Count"] == "500"

    past = await fetch(session, f"{base}/comments?_page=18&_limit=30")
    assert (past[0], past[2], past[1]["X-Total-Count"]) == (200, [], "500")


async def test_links_are_followable_and_absolute(session: aiohttp.ClientSession, playground: Playground) -> None:
    url: str | None = f"{playground.base_url}/posts?_page=1&_limit=7"
    seen: list[int] = []
    while url:
        async with session.get(url) as response:
            seen += [row["id"] for row in await response.json()]
            next_link = response.links.get("next")
            url = str(next_link["url"]) if next_link else None
    assert seen == list(range(1, 101))


async def test_limit_alone_page_alone_and_bad_values(session: aiohttp.ClientSession, playground: Playground) -> None:
    base = playground.base_url
    status, headers, rows = await fetch(session, f"{base}/todos?_limit=3")
    assert (status, [row["id"] for row in rows], headers["X-Total-Count"]) == (200, [1, 2, 3], "200")
    assert "Link" not in headers
    status, headers, rows = await fetch(session, f"{base}/todos?_page=2")  # json-server's default limit: 10
    assert [row["id"] for row in rows] == list(range(11, 21))
    assert headers["Link"] == links(base, "/todos", 10, first=1, prev=1, next=3, last=20)
    for query in ("_page=x", "_limit=0", "_limit=-2", "_page=1&_limit=ten"):
        status, _, body = await fetch(session, f"{base}/todos?{query}")
        assert status == 400, query
        assert "_" in body["error"]


async def test_filters_and_nested_collections(session: aiohttp.ClientSession, playground: Playground) -> None:
    base = playground.base_url
    _, headers, rows = await fetch(session, f"{base}/posts?userId=3&_page=1&_limit=4")
    assert [row["id"] for row in rows] == [21, 22, 23, 24]
    assert headers["X-Total-Count"] == "10"
    assert headers["Link"] == (
        f'<{base}/posts?_page=1&_limit=4&userId=3>; rel="first", '
        f'<{base}/posts?_page=2&_limit=4&userId=3>; rel="next", '
        f'<{base}/posts?_page=3&_limit=4&userId=3>; rel="last"'
    )
    _, _, todos = await fetch(session, f"{base}/todos?completed=true&userId=1")
    assert todos == [row for row in generate_collection("todos") if row["completed"] and row["userId"] == 1]
    _, _, comments = await fetch(session, f"{base}/posts/2/comments")
    assert [row["id"] for row in comments] == [6, 7, 8, 9, 10]
    _, _, photos = await fetch(session, f"{base}/albums/100/photos?_limit=2")
    assert [row["id"] for row in photos] == [4951, 4952]


@pytest.mark.parametrize(
    ("mode", "total", "link"), [("full", True, True), ("link_only", False, True), ("no_headers", False, False)]
)
async def test_header_modes(session: aiohttp.ClientSession, mode: Any, total: bool, link: bool) -> None:
    async with Playground(header_mode=mode) as server:
        _, headers, rows = await fetch(session, f"{server.base_url}/albums?_page=2&_limit=40")
    assert [row["id"] for row in rows] == list(range(41, 81))
    assert ("X-Total-Count" in headers, "Link" in headers) == (total, link)


# --- faults ------------------------------------------------------------------------------------------------------


def forced(kind: FaultKind, **extra: Any) -> FaultProfile:
    return FaultProfile(**extra).forcing(kind)


async def test_rate_limit_with_seconds(session: aiohttp.ClientSession) -> None:
    async with Playground(forced("rate_limit_seconds", retry_after_seconds=3)) as server:
        status, headers, body = await fetch(session, f"{server.base_url}/posts?_page=1&_limit=10")
    assert (status, headers["Retry-After"], body) == (429, "3", {"error": "rate limited"})


async def test_rate_limit_with_an_http_date(session: aiohttp.ClientSession) -> None:
    async with Playground(forced("rate_limit_date", retry_after_seconds=2)) as server:
        status, headers, _ = await fetch(session, f"{server.base_url}/posts")
    assert status == 429
    when = email.utils.parsedate_to_datetime(headers["Retry-After"]).timestamp()
    assert time.time() + 1 <= when <= time.time() + 3.1
    assert headers["Retry-After"].endswith(" GMT")


@pytest.mark.parametrize(("kind", "status"), [("server_error", 500), ("unavailable", 503)])
async def test_server_errors(session: aiohttp.ClientSession, kind: FaultKind, status: int) -> None:
    async with Playground(forced(kind)) as server:
        assert (await fetch(session, f"{server.base_url}/users"))[0] == status
        assert [(r.fault, r.status) for r in server.requests] == [(kind, status)]


async def test_stall_outlasts_a_client_timeout(session: aiohttp.ClientSession) -> None:
    async with Playground(forced("stall", stall_seconds=0.5)) as server:
        started = time.monotonic()
        with pytest.raises(asyncio.TimeoutError):
            async with session.get(f"{server.base_url}/users", timeout=aiohttp.ClientTimeout(total=0.2)):
                pass
        assert time.monotonic() - started < 0.4
        server.set_profile(profile("none"))
        assert (await fetch(session, f"{server.base_url}/users"))[0] == 200


async def test_stall_then_answers(session: aiohttp.ClientSession) -> None:
    async with Playground(forced("stall", stall_seconds=0.3)) as server:
        started = time.monotonic()
        status, _, rows = await fetch(session, f"{server.base_url}/users")
        assert time.monotonic() - started >= 0.3
        assert (status, len(rows)) == (200, 10)
        assert [(r.fault, r.status) for r in server.requests] == [("stall", 200)]


async def test_invalid_json(session: aiohttp.ClientSession) -> None:
    async with Playground(forced("invalid_json")) as server, session.get(f"{server.base_url}/posts") as response:
        assert (response.status, response.headers["Content-Type"]) == (200, JSON_UTF8)
        with pytest.raises(json.JSONDecodeError):
            json.loads(await response.read())


async def test_truncated_body(session: aiohttp.ClientSession) -> None:
    async with Playground(forced("truncated")) as server:
        async with session.get(f"{server.base_url}/comments?_page=1&_limit=20") as response:
            assert response.status == 200
            assert response.headers["X-Total-Count"] == "500"  # the real headers, a short body
            declared = response.content_length
            with pytest.raises(aiohttp.ClientPayloadError):
                await response.read()
        assert declared == len(json.dumps(Dataset().rows("comments", range(1, 21)), ensure_ascii=False).encode())
        assert [(r.fault, r.status) for r in server.requests] == [("truncated", 200)]


async def test_reset_is_a_connection_error_not_a_hang(session: aiohttp.ClientSession) -> None:
    async with Playground(forced("reset")) as server:
        started = time.monotonic()
        with pytest.raises(aiohttp.ClientConnectionError):
            async with session.get(f"{server.base_url}/users", timeout=aiohttp.ClientTimeout(total=5)):
                pass
        assert time.monotonic() - started < 1
        # aiohttp retries a GET once by itself after a disconnection: the server may see two requests.
        assert {(r.fault, r.status) for r in server.requests} == {("reset", 0)}
        assert 1 <= len(server.requests) <= 2


async def test_outage_window_is_503_inside_and_200_outside(session: aiohttp.ClientSession) -> None:
    async with Playground(FaultProfile(outages=((0.3, 0.6),))) as server:
        url = f"{server.base_url}/albums/1"
        assert (await fetch(session, url))[0] == 200
        await asyncio.sleep(0.4)
        assert (await fetch(session, url))[0] == 503
        await asyncio.sleep(0.3)
        assert (await fetch(session, url))[0] == 200
        assert [(r.fault, r.status) for r in server.requests] == [(None, 200), ("outage", 503), (None, 200)]


async def test_latency_is_added_to_every_response(session: aiohttp.ClientSession) -> None:
    async with Playground(FaultProfile(latency_ms=150, server_error=0.5, seed=1)) as server:
        for _ in range(3):
            started = time.monotonic()
            await fetch(session, f"{server.base_url}/users/1")
            assert time.monotonic() - started >= 0.15


async def test_the_log_records_what_the_server_saw(session: aiohttp.ClientSession, playground: Playground) -> None:
    before = time.monotonic()
    await fetch(session, f"{playground.base_url}/posts?_page=2&_limit=5")
    await fetch(session, f"{playground.base_url}/posts/999")
    playground.set_profile(forced("server_error"))
    await fetch(session, f"{playground.base_url}/users")
    records = playground.requests.records()
    assert [(r.method, r.path, r.query, r.fault, r.status) for r in records] == [
        ("GET", "/posts", "_page=2&_limit=5", None, 200),
        ("GET", "/posts/999", "", None, 404),
        ("GET", "/users", "", "server_error", 500),
    ]
    assert before <= records[0].time <= records[1].time <= records[2].time <= time.monotonic()
    assert (playground.requests.total, dict(playground.requests.faults)) == (3, {"server_error": 1})
    playground.reset_log()
    assert (len(playground.requests), playground.requests.total) == (0, 0)


async def test_same_seed_same_fault_sequence(session: aiohttp.ClientSession) -> None:
    heavy = FaultProfile().with_rates({kind: 0.05 for kind in RANDOM_FAULTS if kind != "stall"})

    async def run(seed: int) -> list[str | None]:
        async with Playground(dataclasses.replace(heavy, seed=seed)) as server:
            for page in range(1, 101):
                with contextlib.suppress(aiohttp.ClientError, json.JSONDecodeError):
                    await fetch(session, f"{server.base_url}/photos?_page={page}&_limit=5")
            # aiohttp repeats a GET once after a reset; that is deterministic too, so the sequences still match.
            return [r.fault for r in server.requests]

    first, again, other = await run(11), await run(11), await run(12)
    assert first == again
    assert first != other
    assert len({fault for fault in first if fault}) >= 5


async def test_every_fault_is_recorded_under_concurrency(session: aiohttp.ClientSession) -> None:
    fault_profile = dataclasses.replace(profile("flaky"), stall=0.0, seed=5)
    async with Playground(fault_profile) as server:

        async def one(page: int) -> None:
            with contextlib.suppress(aiohttp.ClientError, json.JSONDecodeError):
                await fetch(session, f"{server.base_url}/comments?_page={page}&_limit=2")

        await asyncio.gather(*(one(page) for page in range(1, 251)))
        assert server.requests.total >= 250
        assert sum(server.requests.faults.values()) == sum(1 for r in server.requests if r.fault)


# --- proxy ---------------------------------------------------------------------------------------------------------


async def test_the_proxy_passes_data_and_headers_and_rewrites_links(session: aiohttp.ClientSession) -> None:
    async with Playground() as upstream, Playground(upstream=upstream.base_url) as proxy:
        direct = await fetch(session, f"{upstream.base_url}/posts?_page=2&_limit=10")
        proxied = await fetch(session, f"{proxy.base_url}/posts?_page=2&_limit=10")
        assert (proxied[0], proxied[2]) == (direct[0], direct[2])
        assert proxied[1]["X-Total-Count"] == "100"
        assert proxied[1]["Content-Type"] == JSON_UTF8
        assert proxied[1]["Link"] == links(proxy.base_url, "/posts", 10, first=1, prev=1, next=3, last=10)
        assert (await fetch(session, f"{proxy.base_url}/posts/500"))[:3:2] == (404, {})
        assert [(r.path, r.query) for r in upstream.requests] == [
            ("/posts", "_page=2&_limit=10"),
            ("/posts", "_page=2&_limit=10"),
            ("/posts/500", ""),
        ]
        assert len(proxy.requests) == 2


async def test_the_proxy_can_hide_pagination_headers(session: aiohttp.ClientSession) -> None:
    async with Playground() as upstream:
        async with Playground(upstream=upstream.base_url, header_mode="link_only") as proxy:
            _, headers, _ = await fetch(session, f"{proxy.base_url}/todos?_page=1&_limit=50")
            assert "X-Total-Count" not in headers
            assert headers["Link"] == links(proxy.base_url, "/todos", 50, first=1, next=2, last=4)
        async with Playground(upstream=upstream.base_url, header_mode="no_headers") as proxy:
            _, headers, rows = await fetch(session, f"{proxy.base_url}/todos?_page=1&_limit=50")
            assert ("X-Total-Count" in headers, "Link" in headers, len(rows)) == (False, False, 50)


async def test_the_proxy_injects_faults_before_the_upstream(session: aiohttp.ClientSession) -> None:
    async with Playground() as upstream, Playground(forced("unavailable"), upstream=upstream.base_url) as proxy:
        assert (await fetch(session, f"{proxy.base_url}/users"))[0] == 503
        proxy.set_profile(forced("truncated"))
        async with session.get(f"{proxy.base_url}/users") as response:
            with pytest.raises(aiohttp.ClientPayloadError):
                await response.read()
        assert [r.fault for r in proxy.requests] == ["unavailable", "truncated"]
        assert [r.path for r in upstream.requests] == ["/users"]  # the 503 never reached it


async def test_the_proxy_answers_502_when_the_upstream_is_down(session: aiohttp.ClientSession) -> None:
    async with Playground() as gone:
        dead_url = gone.base_url
    async with Playground(upstream=dead_url) as proxy:
        status, _, body = await fetch(session, f"{proxy.base_url}/users")
    assert status == 502
    assert body["error"].startswith("upstream failed")
