"""Fivetran's real mock API behind the fault-injecting proxy: every pagination style but body links, a child table
and three kinds of auth, at about 15 % mixed faults; every row lands exactly once within three runs.

Not through the proxy: `items_next_page_url` (its next links name the upstream server: the connector refuses to
follow a link to another origin, as it must) and `items_session_auth` (the proxy forwards GET only).
"""

from __future__ import annotations

from typing import Any

from async_core import StdLog, run_sync
from async_core.playground import Playground
from tests import devtools
from tests.api_playground_server import api_playground_server
from tests.devtools import pytest
from tests.reliability.test_proxy_faults import MIXED
from tests.sinks import RecordingSink

pytestmark = pytest.mark.reliability

TABLES = (
    "items_page_number",
    "items_offset",
    "items_keyset",
    "items_since",
    "items_basic_auth",
    "items_bearer_auth",
    "items_api_key_auth",
    "companies",
    "departments",
)


def test_the_api_playground_through_fifteen_percent_faults_lands_every_row_within_three_runs() -> None:
    """Runs go on from each other's state; together they hold exactly the server's rows, and the last run leaves
    every table's pass closed."""
    sink = RecordingSink()
    state: dict[str, Any] | None = None
    statuses = []
    with api_playground_server() as server, Playground(MIXED, upstream=server.base_url).in_thread() as proxy:
        credentials = server.credentials
        configuration = {
            "source": "api_playground",
            "base_url": proxy.base_url,
            "tables": ",".join(TABLES),
            "max_workers": "16",
            "api_timeout_seconds": "1",
            "base_delay": "0.05",
            "max_delay": "0.5",
            "basic_username": credentials.http_basic_username,
            "basic_password": credentials.http_basic_password,
            "bearer_token": credentials.http_bearer_token,
            "api_key": credentials.api_key,
        }
        for _ in range(3):
            result = run_sync(configuration, state, sink=sink, log=StdLog())
            statuses.append(result.status)
            state = sink.checkpoints()[-1]
            if all(entry["pass"] is None for name, entry in state["tables"].items() if name in TABLES):
                break
        faults = proxy.requests.faults
    assert sum(faults.values()) > 0  # the proxy did inject faults
    assert state is not None
    assert all(state["tables"][name]["pass"] is None for name in TABLES), statuses
    package: Any = devtools.api_playground()
    items = sorted(item["id"] for item in package.items)
    for name in ("items_page_number", "items_offset", "items_keyset", "items_since"):
        assert sorted(set(sink.ids(name))) == items, name
    for name in ("items_basic_auth", "items_bearer_auth", "items_api_key_auth"):
        assert len(set(sink.ids(name))) == 20, name
    assert sorted({row["company_id"] for row in sink.rows("companies")}) == [1, 2]
    departments = {(row["company_id"], row["department_id"]) for row in sink.rows("departments")}
    assert len(departments) == 8
