"""Companies and their departments: no paging, and each read changes what the next one sees."""

from __future__ import annotations

import datetime

import aiohttp

from tests.api_playground_server import ApiPlaygroundServer
from tests.playground_real.support import get


async def test_companies_and_departments_answer_data_and_total_items(
    client: aiohttp.ClientSession, api_playground: ApiPlaygroundServer
) -> None:
    """Body {data, total_items}, everything in one response."""
    companies = (await get(client, f"{api_playground.base_url}/cursors/companies")).body
    departments = (await get(client, f"{api_playground.base_url}/cursors/2/departments")).body
    assert (set(companies), companies["total_items"], len(companies["data"])) == ({"data", "total_items"}, 2, 2)
    assert (set(departments), departments["total_items"], len(departments["data"])) == ({"data", "total_items"}, 4, 4)


async def test_reading_companies_bumps_their_updated_at_to_now(
    client: aiohttp.ClientSession, api_playground: ApiPlaygroundServer
) -> None:
    """Each call sets updatedAt to the server's now on a random 0..2 companies, before filtering."""
    started = datetime.datetime.now().strftime("%Y-%m-%dT%H:%M:%SZ")  # the server's clock and format
    seen = set()
    for _ in range(20):  # all 20 calls bumping none: (1/3)**20
        for company in (await get(client, f"{api_playground.base_url}/cursors/companies")).body["data"]:
            if company["updatedAt"] >= started:
                seen.add(company["company_id"])
    assert seen


async def test_an_unknown_company_is_a_404_and_a_non_integer_a_400(
    client: aiohttp.ClientSession, api_playground: ApiPlaygroundServer
) -> None:
    """Both JSON errors."""
    unknown = await get(client, f"{api_playground.base_url}/cursors/3/departments")
    not_a_number = await get(client, f"{api_playground.base_url}/cursors/x/departments")
    assert (unknown.status, unknown.body) == (404, {"error": "company_id '3' not found"})
    assert not_a_number.status == 400
