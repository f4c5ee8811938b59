"""The four paging styles of the real playground: parameters, body keys, the last page, and what is refused."""

from __future__ import annotations

import base64
from typing import Any

import aiohttp

from tests.api_playground_server import ApiPlaygroundServer
from tests.devtools import pytest
from tests.playground_real.support import get


async def all_items(client: aiohttp.ClientSession, base_url: str) -> list[dict[str, Any]]:
    """Every item, ordered by updatedAt (what `/incremental/timestamp` returns in one response)."""
    items: list[dict[str, Any]] = (await get(client, f"{base_url}/incremental/timestamp")).body["data"]
    return items


async def test_next_page_url_walks_every_item_and_ends_with_null(
    client: aiohttp.ClientSession, api_playground: ApiPlaygroundServer
) -> None:
    """Body {data, total_items, page, per_page, next_page_url}; the link is absolute; null on the last page."""
    url: str | None = f"{api_playground.base_url}/pagination/next_page_url?per_page=50"
    pages = []
    while url is not None:
        body = (await get(client, url)).body
        assert set(body) == {"data", "total_items", "page", "per_page", "next_page_url"}
        pages.append(body)
        url = body["next_page_url"]
    assert [page["page"] for page in pages] == [1, 2, 3, 4]
    assert [len(page["data"]) for page in pages] == [50, 50, 50, 50]
    assert {page["total_items"] for page in pages} == {200}
    assert len({item["id"] for page in pages for item in page["data"]}) == 200
    assert pages[0]["next_page_url"] == (
        f"{api_playground.base_url}/pagination/next_page_url?page=2&per_page=50&order_by=updatedAt&order_type=asc"
    )


async def test_next_page_url_defaults_to_10_a_page_and_keeps_updated_since_in_the_link(
    client: aiohttp.ClientSession, api_playground: ApiPlaygroundServer
) -> None:
    """Without per_page a page holds 10; with updated_since the next link carries it (with its Z)."""
    assert len((await get(client, f"{api_playground.base_url}/pagination/next_page_url")).body["data"]) == 10
    since = (await all_items(client, api_playground.base_url))[100]["updatedAt"]
    body = (await get(client, f"{api_playground.base_url}/pagination/next_page_url?updated_since={since}")).body
    assert body["next_page_url"].endswith(f"&updated_since={since}")


@pytest.mark.parametrize(
    ("path", "size"),
    [
        ("/pagination/next_page_url", "per_page"),
        ("/pagination/page_number", "per_page"),
        ("/pagination/offset", "limit"),
    ],
)
@pytest.mark.parametrize("value", [0, 51])
async def test_a_page_size_outside_1_to_50_is_refused_not_capped(
    client: aiohttp.ClientSession, api_playground: ApiPlaygroundServer, path: str, size: str, value: int
) -> None:
    """400 with a JSON error, rather than a page of 50."""
    reply = await get(client, f"{api_playground.base_url}{path}?{size}={value}")
    assert reply.status == 400
    assert "between 1 and 50" in reply.body["error"]


async def test_page_number_answers_page_size_and_total_pages(
    client: aiohttp.ClientSession, api_playground: ApiPlaygroundServer
) -> None:
    """Asked with per_page, the body says page_size; total_pages = ceil(total_items / per_page)."""
    body = (await get(client, f"{api_playground.base_url}/pagination/page_number?per_page=30&page=7")).body
    assert set(body) == {"data", "page", "page_size", "total_pages", "total_items"}
    assert (body["page"], body["page_size"], body["total_pages"], body["total_items"]) == (7, 30, 7, 200)
    assert len(body["data"]) == 20


async def test_page_number_past_the_end_is_empty_and_page_0_is_refused(
    client: aiohttp.ClientSession, api_playground: ApiPlaygroundServer
) -> None:
    """Page 21 of 20: 200 with no data; page 0: 400."""
    past = await get(client, f"{api_playground.base_url}/pagination/page_number?page=21")
    assert (past.status, past.body["data"], past.body["total_items"]) == (200, [], 200)
    assert (await get(client, f"{api_playground.base_url}/pagination/page_number?page=0")).status == 400


async def test_offset_answers_offset_limit_and_total(
    client: aiohttp.ClientSession, api_playground: ApiPlaygroundServer
) -> None:
    """Body {data, offset, limit, total}; the last page is short, past the end is empty; a negative offset is 400."""
    last = (await get(client, f"{api_playground.base_url}/pagination/offset?offset=190&limit=50")).body
    assert set(last) == {"data", "offset", "limit", "total"}
    assert (last["offset"], last["limit"], last["total"], len(last["data"])) == (190, 50, 200, 10)
    past = (await get(client, f"{api_playground.base_url}/pagination/offset?offset=200")).body
    assert (past["data"], past["total"]) == ([], 200)
    assert (await get(client, f"{api_playground.base_url}/pagination/offset?offset=-1")).status == 400


async def test_keyset_pages_hold_50_and_scroll_param_is_the_base64_of_the_last_updated_at(
    client: aiohttp.ClientSession, api_playground: ApiPlaygroundServer
) -> None:
    """Body {data, scroll_param}; four pages of 50 in updatedAt order; scroll_param is null after the last."""
    url = f"{api_playground.base_url}/pagination/keyset"
    body = (await get(client, url)).body
    pages = [body]
    while body["scroll_param"] is not None:
        body = (await get(client, url, params={"scroll_param": body["scroll_param"]})).body
        pages.append(body)
    assert set(pages[0]) == {"data", "scroll_param"}
    assert [len(page["data"]) for page in pages] == [50, 50, 50, 50]
    first = pages[0]
    assert base64.b64decode(first["scroll_param"]).decode() == first["data"][-1]["updatedAt"]
    walked = [item["id"] for page in pages for item in page["data"]]
    assert walked == [item["id"] for item in await all_items(client, api_playground.base_url)]


async def test_keyset_takes_no_page_size_and_not_both_cursors(
    client: aiohttp.ClientSession, api_playground: ApiPlaygroundServer
) -> None:
    """per_page is an unknown parameter there; updated_since is for the first request only."""
    url = f"{api_playground.base_url}/pagination/keyset"
    assert (await get(client, f"{url}?per_page=10")).status == 400
    both = await get(client, f"{url}?updated_since=2020-01-01T00:00:00Z&scroll_param=MjAyMA==")
    assert both.status == 400
    assert "only use 'updated_since' in first request" in both.body["error"]
