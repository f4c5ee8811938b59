"""Every endpoint checks its query parameters against a list: anything else is a 400, not ignored."""

from __future__ import annotations

import aiohttp

from tests.api_playground_server import ApiPlaygroundServer
from tests.devtools import pytest
from tests.playground_real.support import get

ENDPOINTS = [
    "/pagination/next_page_url",
    "/pagination/page_number",
    "/pagination/offset",
    "/pagination/keyset",
    "/incremental/timestamp",
    "/cursors/companies",
    "/cursors/1/departments",
]


@pytest.mark.parametrize("path", ENDPOINTS)
async def test_an_unknown_query_parameter_is_a_400_that_names_it(
    client: aiohttp.ClientSession, api_playground: ApiPlaygroundServer, path: str
) -> None:
    """{"error": "Unexpected query parameters: <names>"}."""
    reply = await get(client, f"{api_playground.base_url}{path}?_limit=5")
    assert (reply.status, reply.body) == (400, {"error": "Unexpected query parameters: _limit"})


@pytest.mark.parametrize("path", ["/pagination/next_page_url", "/cursors/companies"])
async def test_order_by_takes_created_at_or_updated_at_only(
    client: aiohttp.ClientSession, api_playground: ApiPlaygroundServer, path: str
) -> None:
    """order_by=id is a 400."""
    reply = await get(client, f"{api_playground.base_url}{path}?order_by=id")
    assert reply.status == 400
    assert "Use 'createdAt' or 'updatedAt'" in reply.body["error"]


async def test_a_non_integer_page_size_falls_back_to_the_default(
    client: aiohttp.ClientSession, api_playground: ApiPlaygroundServer
) -> None:
    """Flask's type=int: per_page=abc is not an error, it is 10."""
    reply = await get(client, f"{api_playground.base_url}/pagination/next_page_url?per_page=abc")
    assert (reply.status, reply.body["per_page"], len(reply.body["data"])) == (200, 10, 10)


async def test_an_unknown_path_is_a_404_in_html(
    client: aiohttp.ClientSession, api_playground: ApiPlaygroundServer
) -> None:
    """Flask's own error page."""
    reply = await get(client, f"{api_playground.base_url}/items")
    assert (reply.status, reply.content_type) == (404, "text/html")
