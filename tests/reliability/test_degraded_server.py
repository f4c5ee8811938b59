"""A degraded server is ridden through (issue 9's "done when"): JSONPlaceholder-like data behind the
fault-injecting proxy at 30 % mixed faults with stalls, 16 workers, max_retries 6, lands every record of all six
tables in ONE sync, without the breaker stopping traffic; and a full outage still trips the breaker within
failure_threshold failures, then probes as documented.

The origin answers in 250 ms, about what a public API takes, so that the time a fault costs (a Retry-After pause,
a 1 s timeout) is compared with requests of a realistic length.
"""

from __future__ import annotations

import dataclasses
import itertools
import time
from typing import Any

from async_core import StdLog, run_sync
from async_core.playground import Playground, generate_collection, profile
from sources.jsonplaceholder import TABLES
from tests.devtools import pytest
from tests.sinks import RecordingSink

pytestmark = pytest.mark.reliability

# 30 % of requests get a fault: 429s (1 %, in both Retry-After forms), 500s, 503s, invalid JSON, truncated bodies,
# resets, and stalls longer than the timeout.
THIRTY_PERCENT = dataclasses.replace(
    profile("none"),
    rate_limit_seconds=0.005,
    rate_limit_date=0.005,
    server_error=0.05,
    unavailable=0.05,
    stall=0.03,
    invalid_json=0.05,
    truncated=0.05,
    reset=0.06,
    retry_after_seconds=1,
    stall_seconds=3.0,
    seed=30,
)
ORIGIN = dataclasses.replace(profile("none"), latency_ms=250)


def configuration(url: str, **overrides: str) -> dict[str, str]:
    return {
        "base_url": url,
        "tables": ",".join(TABLES),
        "page_size": "25",
        "max_workers": "16",
        "max_retries": "6",
        "api_timeout_seconds": "1",
        "base_delay": "0.05",
        "max_delay": "0.5",
        "error_threshold_per_thread": "1000",
        "total_error_threshold": "1000",
        **overrides,
    }


def timed_sync(fault_profile: Any) -> tuple[Any, RecordingSink, float, int, int]:
    """One sync through a proxy with `fault_profile`: result, sink, seconds, requests and faults the proxy saw."""
    with (
        Playground(ORIGIN).in_thread() as origin,
        Playground(fault_profile, upstream=origin.base_url).in_thread() as proxy,
    ):
        sink = RecordingSink()
        started = time.monotonic()
        result = run_sync(configuration(proxy.base_url), None, sink=sink, log=StdLog())
        elapsed = time.monotonic() - started
        return result, sink, elapsed, len(proxy.requests), sum(proxy.requests.faults.values())


def test_thirty_percent_mixed_faults_land_every_record_in_one_sync_without_the_breaker_stopping_traffic() -> None:
    """All six tables complete in one sync; the breaker never opens; at most 4 x the time without faults (the
    target is 3 x: measured 2.2 to 3.2 x on a loaded 2-core machine; the README has the numbers)."""
    assert THIRTY_PERCENT.total_rate == pytest.approx(0.30)
    _, _, clean_seconds, _, _ = timed_sync(profile("none"))
    result, sink, faulty_seconds, requests, faults = timed_sync(THIRTY_PERCENT)
    assert result.status == "succeeded", result.message
    for name in TABLES:
        expected = sorted(row["id"] for row in generate_collection(name))
        assert sorted(set(sink.ids(name))) == expected, name
    assert faults >= 0.25 * requests
    resilience = result.summary["resilience"]
    assert resilience["breaker_opens"] == 0
    assert sink.rows("sync_errors") == []
    print(
        f"30 % faults: {faulty_seconds:.1f} s, without: {clean_seconds:.1f} s, {faulty_seconds / clean_seconds:.2f} x"
    )
    assert faulty_seconds <= 4 * clean_seconds


def test_a_full_outage_trips_the_breaker_after_failure_threshold_failures_then_probes_three_at_a_time() -> None:
    """Every request 503 from the start, one table: exactly failure_threshold (5) requests, then nothing for
    recovery_timeout (1 s), then half-open probes (at most 3 each time), until max_wait_seconds stops the table."""
    outage = dataclasses.replace(profile("none"), outages=((0.0, 3600.0),))
    with Playground("none").in_thread() as origin, Playground(outage, upstream=origin.base_url).in_thread() as proxy:
        config = configuration(
            proxy.base_url, tables="users", recovery_timeout="1", max_wait_seconds="3.5", max_retries="20"
        )
        result = run_sync(config, None, sink=RecordingSink(), log=StdLog())
        arrivals = sorted(record.time for record in proxy.requests)
    bursts: list[list[float]] = [[arrivals[0]]]
    for earlier, later in itertools.pairwise(arrivals):
        if later - earlier >= 0.9:  # the breaker's recovery_timeout (1 s) separates the bursts
            bursts.append([])
        bursts[-1].append(later)
    assert len(bursts[0]) == 5
    assert len(bursts) >= 3
    assert all(len(burst) <= 3 for burst in bursts[1:])
    resilience = result.summary["resilience"]
    assert resilience["breaker_opens"] == len(bursts)
    assert result.status == "partial"
