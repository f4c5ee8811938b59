"""The package itself: importing it stays offline, and what it generates at import (shape, not values)."""

from __future__ import annotations

import json
import subprocess
import sys

import aiohttp

from tests.api_playground_server import ApiPlaygroundServer
from tests.playground_real.support import ITEM_KEYS, TIMESTAMP, get

# Imports the package with an audit hook that records every attempt to resolve a name or open a connection.
IMPORT_WATCHING_THE_NETWORK = """
import json, sys
attempts = []
WATCHED = ("socket.getaddrinfo", "socket.connect")
sys.addaudithook(lambda event, args: attempts.append(event) if event in WATCHED else None)
import fivetran_api_playground
print(json.dumps(attempts))
"""


def test_importing_the_package_opens_no_connection() -> None:
    """The PyPI version check lives in the CLI (`playground start`), not in the import."""
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_WATCHING_THE_NETWORK], capture_output=True, text=True, timeout=60, check=True
    )
    assert json.loads(result.stdout) == []


async def test_200_items_with_eight_keys_and_second_precision_utc_timestamps(
    client: aiohttp.ClientSession, api_playground: ApiPlaygroundServer
) -> None:
    """Items: `id` a UUID string, createdAt/updatedAt as `%Y-%m-%dT%H:%M:%SZ`, in the past, updatedAt >= createdAt."""
    reply = await get(client, f"{api_playground.base_url}/incremental/timestamp")
    items = reply.body["data"]
    assert len(items) == 200
    assert len({item["id"] for item in items}) == 200
    for item in items:
        assert list(item) == ITEM_KEYS
        assert len(item["id"]) == 36
        assert TIMESTAMP.match(item["createdAt"])
        assert TIMESTAMP.match(item["updatedAt"])
        assert item["createdAt"] <= item["updatedAt"]


async def test_two_companies_of_four_departments_keyed_by_company_and_department(
    client: aiohttp.ClientSession, api_playground: ApiPlaygroundServer
) -> None:
    """company_id is 1 and 2 (integers); department_id is 1..4 within each company, so the key is both ids."""
    companies = (await get(client, f"{api_playground.base_url}/cursors/companies")).body["data"]
    assert sorted(company["company_id"] for company in companies) == [1, 2]
    assert all(list(company) == ["company_id", "company_name", "createdAt", "updatedAt"] for company in companies)
    for company_id in (1, 2):
        departments = (await get(client, f"{api_playground.base_url}/cursors/{company_id}/departments")).body["data"]
        assert sorted(department["department_id"] for department in departments) == [1, 2, 3, 4]
        assert {department["company_id"] for department in departments} == {company_id}
        assert list(departments[0]) == ["department_id", "company_id", "department_name", "createdAt", "updatedAt"]
        assert {department["department_name"] for department in departments} == {
            "Engineering",
            "HR",
            "Finance",
            "Sales",
        }
