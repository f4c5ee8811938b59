"""Any JSONPlaceholder-compatible server behind a fault-injecting proxy: about 15 % mixed faults, all six tables,
every record lands exactly once within three runs (the resilience issue's "done when")."""

from __future__ import annotations

import dataclasses
from typing import Any

from async_core import StdLog, run_sync
from async_core.playground import Playground, generate_collection, profile
from sources.jsonplaceholder import TABLES
from tests.devtools import pytest
from tests.sinks import RecordingSink
from tests.states import all_complete

pytestmark = pytest.mark.reliability

# About 15 % of requests get a fault, every kind at once; stalls are short but longer than the timeout.
MIXED = dataclasses.replace(
    profile("flaky"),
    rate_limit_seconds=0.02,
    rate_limit_date=0.02,
    server_error=0.025,
    unavailable=0.025,
    stall=0.01,
    invalid_json=0.02,
    truncated=0.02,
    reset=0.02,
    stall_seconds=3.0,
    seed=15,
)


def test_six_tables_through_a_proxy_with_fifteen_percent_faults_land_within_three_runs() -> None:
    """Runs go on from each other's state; together they land every row once and the last one completes the pass."""
    assert MIXED.total_rate == pytest.approx(0.16)
    sink = RecordingSink()
    state: dict[str, Any] | None = None
    statuses = []
    with Playground("none").in_thread() as origin, Playground(MIXED, upstream=origin.base_url).in_thread() as proxy:
        configuration = {
            "base_url": proxy.base_url,
            "tables": ",".join(TABLES),
            "page_size": "100",
            "max_workers": "16",
            "api_timeout_seconds": "1",
            "base_delay": "0.05",
            "max_delay": "0.5",
        }
        for _ in range(3):
            result = run_sync(configuration, state, sink=sink, log=StdLog())
            statuses.append(result.status)
            state = sink.checkpoints()[-1]
            if all_complete(state):
                break
        faults = proxy.requests.faults
    assert state is not None
    assert all_complete(state), statuses
    for name in TABLES:
        expected = sorted(row["id"] for row in generate_collection(name))
        assert sorted(set(sink.ids(name))) == expected, name
    assert sum(faults.values()) > 0.1 * len(proxy.requests)
