"""How `updated_since` (the paging endpoints), `since` (/incremental/timestamp) and `scroll_param` (keyset) filter."""

from __future__ import annotations

import base64
from typing import Any

import aiohttp

from tests.api_playground_server import ApiPlaygroundServer
from tests.devtools import pytest
from tests.playground_real.support import get


async def by_updated_at(client: aiohttp.ClientSession, base_url: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = (await get(client, f"{base_url}/incremental/timestamp")).body["data"]
    return items


async def test_timestamp_returns_everything_at_once_in_updated_at_order(
    client: aiohttp.ClientSession, api_playground: ApiPlaygroundServer
) -> None:
    """Body {data} only: no count, no paging."""
    body = (await get(client, f"{api_playground.base_url}/incremental/timestamp")).body
    assert list(body) == ["data"]
    stamps = [item["updatedAt"] for item in body["data"]]
    assert stamps == sorted(stamps)
    assert len(stamps) == 200


async def test_since_is_inclusive(client: aiohttp.ClientSession, api_playground: ApiPlaygroundServer) -> None:
    """`since=T` returns the items with updatedAt >= T, the one at T first."""
    items = await by_updated_at(client, api_playground.base_url)
    boundary = items[150]["updatedAt"]
    data = (await get(client, f"{api_playground.base_url}/incremental/timestamp?since={boundary}")).body["data"]
    assert data == [item for item in items if item["updatedAt"] >= boundary]
    assert data[0]["updatedAt"] == boundary


@pytest.mark.parametrize(
    ("path", "count_key"),
    [
        ("/pagination/next_page_url?per_page=50", "total_items"),
        ("/pagination/page_number?per_page=50", "total_items"),
        ("/pagination/offset?limit=50", "total"),
    ],
)
async def test_updated_since_is_inclusive_and_the_count_follows_it(
    client: aiohttp.ClientSession, api_playground: ApiPlaygroundServer, path: str, count_key: str
) -> None:
    """`updated_since=T` keeps updatedAt >= T (so the boundary item comes back every time) and counts only those."""
    items = await by_updated_at(client, api_playground.base_url)
    boundary = items[180]["updatedAt"]
    expected = [item["id"] for item in items if item["updatedAt"] >= boundary]
    body = (await get(client, f"{api_playground.base_url}{path}&updated_since={boundary}")).body
    assert [item["id"] for item in body["data"]] == expected
    assert body[count_key] == len(expected)


async def test_keyset_updated_since_is_inclusive_but_scroll_param_is_strict(
    client: aiohttp.ClientSession, api_playground: ApiPlaygroundServer
) -> None:
    """The first request keeps updatedAt >= T; a scroll_param of T keeps only updatedAt > T."""
    items = await by_updated_at(client, api_playground.base_url)
    boundary = items[180]["updatedAt"]
    url = f"{api_playground.base_url}/pagination/keyset"
    first = (await get(client, url, params={"updated_since": boundary})).body["data"]
    assert first[0]["updatedAt"] == boundary
    scroll = base64.b64encode(boundary.encode()).decode()
    after = (await get(client, url, params={"scroll_param": scroll})).body["data"]
    assert [item["id"] for item in after] == [item["id"] for item in items if item["updatedAt"] > boundary]


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("2026-01-01T00:00:00", "Must end with 'Z' for UTC"),
        ("2026-01-01T00:00:00+00:00", "Must end with 'Z' for UTC"),
        ("2026-01-01T00:00:00.000Z", "Use 'YYYY-MM-DDTHH:MM:SSZ'"),
        ("2026-01-01Z", "Use 'YYYY-MM-DDTHH:MM:SSZ'"),
    ],
)
async def test_updated_since_takes_whole_seconds_ending_in_z_only(
    client: aiohttp.ClientSession, api_playground: ApiPlaygroundServer, value: str, error: str
) -> None:
    """Anything but `YYYY-MM-DDTHH:MM:SSZ` is a 400."""
    reply = await get(client, f"{api_playground.base_url}/pagination/offset", params={"updated_since": value})
    assert reply.status == 400
    assert error in reply.body["error"]


async def test_timestamp_takes_since_not_updated_since(
    client: aiohttp.ClientSession, api_playground: ApiPlaygroundServer
) -> None:
    """The incremental endpoint names its parameter `since`; `updated_since` there is an unknown parameter."""
    reply = await get(client, f"{api_playground.base_url}/incremental/timestamp?updated_since=2026-01-01T00:00:00Z")
    assert reply.status == 400
    assert reply.body == {"error": "Unexpected query parameters: updated_since"}
