"""`fivetran debug` with `source` api_playground against Fivetran's real mock API, read back from DuckDB.

The server is the `fivetran-api-playground` package itself, served in this process; `fivetran debug` runs in a
child process and reaches it on 127.0.0.1. Every table must hold exactly the server's rows, with and without the
server's rate limiting, and a second sync must cost at most half the requests of the first.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sources.api_playground import SOURCE
from tests import devtools
from tests.api_playground_server import ApiPlaygroundServer, RateLimit, api_playground_server
from tests.devtools import pytest
from tests.e2e.project import Warehouse, make_project, run_debug

pytestmark = pytest.mark.e2e

ITEM_TABLES = ("items_next_page_url", "items_page_number", "items_offset", "items_keyset", "items_since")
AUTH_TABLES = ("items_basic_auth", "items_bearer_auth", "items_api_key_auth", "items_session_auth")
ALL_TABLES = (*ITEM_TABLES, *AUTH_TABLES, "companies", "departments")


def configuration(server: ApiPlaygroundServer, **extra: str) -> dict[str, str]:
    credentials = server.credentials
    return {
        "source": "api_playground",
        "base_url": server.base_url,
        "tables": ",".join(ALL_TABLES),
        "max_workers": "16",
        "basic_username": credentials.http_basic_username,
        "basic_password": credentials.http_basic_password,
        "bearer_token": credentials.http_bearer_token,
        "api_key": credentials.api_key,
        "session_username": credentials.session_username,
        "session_password": credentials.session_password,
        **extra,
    }


def server_ids() -> dict[str, set[Any]]:
    """What the server holds, read from the package's own data."""
    package: Any = devtools.api_playground()
    items = {item["id"] for item in package.items}
    first_twenty = {item["id"] for item in package.items[:20]}  # the auth endpoints serve items[:20]...
    expected: dict[str, set[Any]] = {name: items for name in ITEM_TABLES}
    expected.update({name: first_twenty for name in AUTH_TABLES})
    expected["companies"] = {company["company_id"] for company in package.companies}
    expected["departments"] = {
        (company_id, department["department_id"])
        for company_id, departments in package.departments_by_company.items()
        for department in departments
    }
    return expected


def landed_ids(warehouse: Warehouse, tables: tuple[str, ...] = ALL_TABLES) -> dict[str, set[Any]]:
    landed: dict[str, set[Any]] = {}
    for name in tables:
        key = SOURCE.table(name).primary_key
        rows = warehouse.query(f"select {', '.join(key)} from tester.{name}")
        landed[name] = {row[0] if len(row) == 1 else tuple(row) for row in rows}
    return landed


def runs(warehouse: Warehouse) -> list[tuple[str, dict[str, Any]]]:
    rows = warehouse.query("select status, summary from tester.sync_runs order by started_at")
    return [(status, json.loads(summary)) for status, summary in rows]


def test_every_table_lands_exactly_and_the_second_sync_costs_half(tmp_path: Path) -> None:
    """No rate limit, the source's default tables (those with a cursor): each items_* table holds the server's 200
    ids, companies 2, departments 8; the second sync (incremental) sends at most half the requests of the first,
    and the tables stay exact. (The auth tables have no cursor: their endpoints take no filter, so each sync reads
    their 20 rows again; with them the second sync costs 14 requests against 29.)"""
    default = ",".join(SOURCE.default_tables)
    with api_playground_server() as server:
        project = make_project(tmp_path / "project", configuration(server, tables=default))
        first = run_debug(project)
        assert first.returncode == 0, first.stdout[-3000:]
        ids_after_first = server_ids()
        assert landed_ids(Warehouse(project), SOURCE.default_tables) == select(ids_after_first, SOURCE.default_tables)
        second = run_debug(project)
        assert second.returncode == 0, second.stdout[-3000:]
        assert landed_ids(Warehouse(project), SOURCE.default_tables) == select(server_ids(), SOURCE.default_tables)
    [(status_1, summary_1), (status_2, summary_2)] = runs(Warehouse(project))
    assert (status_1, status_2) == ("succeeded", "succeeded")
    requests_1, requests_2 = summary_1["resilience"]["requests"], summary_2["resilience"]["requests"]
    assert requests_2 <= requests_1 / 2, (requests_1, requests_2)
    counts = {name: len(ids) for name, ids in ids_after_first.items()}
    assert counts == {
        **dict.fromkeys(ITEM_TABLES, 200),
        **dict.fromkeys(AUTH_TABLES, 20),
        "companies": 2,
        "departments": 8,
    }


def select(ids: dict[str, set[Any]], tables: tuple[str, ...]) -> dict[str, set[Any]]:
    return {name: ids[name] for name in tables}


def test_every_table_lands_exactly_under_the_servers_rate_limit(tmp_path: Path) -> None:
    """With the server's own token bucket (10 requests/s, burst 20) and 64 workers: every row lands, the sync
    succeeds, and the 429s it met were retried (LOW), none lost."""
    with api_playground_server(rate_limit=RateLimit(capacity=20, per_second=10)) as server:
        project = make_project(tmp_path / "project", configuration(server, max_workers="64", max_retries="8"))
        result = run_debug(project)
        assert result.returncode == 0, result.stdout[-3000:]
        assert landed_ids(Warehouse(project)) == server_ids()
    [(status, summary)] = runs(Warehouse(project))
    assert status == "succeeded"
    severities = summary["error_summary"]["errors_by_severity"]
    assert {severity for severity, count in severities.items() if count} <= {"LOW"}, severities


def test_a_wrong_credential_fails_the_sync_with_one_line(tmp_path: Path) -> None:
    """A refused API key is CRITICAL: the sync fails, and the key appears nowhere in the output or warehouse."""
    with api_playground_server() as server:
        settings = configuration(server, tables="items_api_key_auth", api_key="not-the-key-5f1e")
        project = make_project(tmp_path / "project", settings)
        result = run_debug(project)
    assert result.returncode != 0
    assert "not-the-key-5f1e" not in result.stdout
    warehouse = Warehouse(project)
    [(status, _summary)] = runs(warehouse)
    assert status == "failed"
    [(severity, message, raw)] = warehouse.query("select severity, message, raw_record from tester.sync_errors")
    assert severity == "CRITICAL"
    assert "not-the-key-5f1e" not in f"{message} {raw}"
    assert "not-the-key-5f1e" not in json.dumps(runs(warehouse))
