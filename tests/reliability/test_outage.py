"""A 30-second outage (every request 503) in the middle of a sync, counted on the server.

The breaker lets through at most failure_threshold + max_workers requests before it opens, then at most
breaker_half_open_probes probes per recovery_timeout; the sync completes after the outage. With max_wait_seconds
shorter than the outage, the sync stops cleanly and says why, and a rerun from its checkpoint completes the data.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import time
from typing import Any

from aiohttp import web

from async_core.run.walk import key_digest
from tests.devtools import pytest
from tests.integration.servers import paged, rows, serve
from tests.reliability.support import checked_sync, port_of, settings_of
from tests.sinks import RecordingSink
from tests.states import all_complete, open_pass

pytestmark = pytest.mark.reliability

OUTAGE_SECONDS = 30.0
POSTS = 2000
PAGE_SIZE = 10
PAGES = POSTS // PAGE_SIZE  # posts; users is one more page
START_AFTER_REQUESTS = 40


@dataclasses.dataclass
class Outage:
    """An outage window that opens at the request after `start_after` and lasts `seconds` (or until lifted)."""

    start_after: int
    seconds: float
    requests: int = 0
    started: float | None = None
    lifted: bool = False
    refused: list[float] = dataclasses.field(default_factory=list)  # arrival times of the 503s

    def active(self, now: float) -> bool:
        self.requests += 1
        if self.started is None and self.requests > self.start_after:
            self.started = now
        return self.started is not None and not self.lifted and now - self.started < self.seconds


def outage_server(outage: Outage) -> Any:
    posts = paged(rows("posts", POSTS))
    users = paged(rows("users", 10))

    async def handler(request: web.Request) -> web.StreamResponse:
        now = time.monotonic()
        if outage.active(now):
            outage.refused.append(now)
            return web.json_response({"error": "maintenance"}, status=503)
        await asyncio.sleep(0.005)
        return await (users if request.path == "/users" else posts)(request)

    return handler


def configuration(url: str, **overrides: str) -> dict[str, str]:
    return {
        "base_url": url,
        "tables": "users,posts",
        "page_size": str(PAGE_SIZE),
        "max_workers": "4",
        "failure_threshold": "3",
        "recovery_timeout": "5",
        "max_retries": "10",
        "retry_budget_percent": "100",
        "base_delay": "0.05",
        "max_delay": "0.2",
        "api_timeout_seconds": "2",
        "max_wait_seconds": "120",
        "error_threshold_per_thread": "100",
        "total_error_threshold": "100",
        **overrides,
    }


def request_bound(config: dict[str, str], seconds: float) -> int:
    """What an outage of `seconds` may cost: failure_threshold + max_workers, and the half-open probes of one
    recovery_timeout in each (plus one period)."""
    settings = settings_of(config)
    periods = math.ceil(seconds / settings.recovery_timeout) + 1
    return settings.failure_threshold + settings.max_workers + settings.breaker_half_open_probes * periods


def time_limit(config: dict[str, str], waited: float) -> float:
    """The outage (or the patience) waited, one recovery_timeout to notice its end, one request's worst case
    ((R + 1) · T + R · max_delay), and 5 s for the sync itself."""
    settings = settings_of(config)
    request = (settings.max_retries + 1) * settings.api_timeout_seconds + settings.max_retries * settings.max_delay
    return waited + settings.recovery_timeout + request + 5.0


def page_of(path: str) -> int:
    return int(path.split("_page=")[1].split("&")[0])


def test_an_outage_costs_a_bounded_number_of_requests_and_the_sync_completes_after_it() -> None:
    """30 s of 503s: at most threshold + workers + 3 probes per recovery_timeout; then all lands."""
    outage = Outage(start_after=START_AFTER_REQUESTS, seconds=OUTAGE_SECONDS)
    with serve(outage_server(outage)) as (url, seen):
        config = configuration(url)
        run = checked_sync(config, bound=time_limit(config, OUTAGE_SECONDS), ports=[port_of(url)])
    assert outage.started is not None
    assert len(outage.refused) <= request_bound(config, OUTAGE_SECONDS)
    assert run.elapsed >= OUTAGE_SECONDS
    assert run.result.status == "succeeded"
    assert run.sink.ids("posts") == list(range(1, POSTS + 1))
    assert len(run.sink.rows("posts")) == POSTS
    assert run.sink.rows("sync_errors") == []
    resilience = run.result.summary["resilience"]
    probes, opens = resilience["breaker_probes"], resilience["breaker_opens"]
    # The first opening, then one per half-open period whose probes failed; the last period closed it.
    assert 1 <= opens <= math.ceil(OUTAGE_SECONDS / 5) + 1
    assert opens <= probes <= 3 * opens
    # Before the breaker first opened: the threshold and the requests in flight; and at each reopening, requests
    # that held a permit from the half-open period can still reach the server (seen once in 3.13: 11 > 7).
    assert len(outage.refused) - probes <= 3 + 4 + 4 * (opens - 1)
    assert len(seen.requests) == PAGES + 1 + len(outage.refused)


def test_with_patience_shorter_than_the_outage_the_sync_stops_cleanly_and_a_rerun_completes() -> None:
    """max_wait_seconds 5 vs a 30 s outage: posts stops in seconds saying why; a rerun from the checkpoint completes."""
    outage = Outage(start_after=START_AFTER_REQUESTS, seconds=OUTAGE_SECONDS)
    sink = RecordingSink()
    with serve(outage_server(outage)) as (url, seen):
        config = configuration(url, max_wait_seconds="5", recovery_timeout="2")
        first = checked_sync(config, bound=time_limit(config, 5.0), sink=sink, ports=[port_of(url)])
        assert outage.started is not None
        stopped_after = time.monotonic() - outage.started
        refused_during_first = len(outage.refused)
        outage.lifted = True  # the outage ends (sooner than 30 s, so the test does not wait it out)
        state = sink.checkpoints()[-1]
        requests_before_rerun = len(seen.requests)
        second = checked_sync(config, state, bound=time_limit(config, 0.0), sink=sink, ports=[port_of(url)])
        rerun = seen.requests[requests_before_rerun:]
        rerun_pages = sorted(page_of(path) for path in rerun if path.startswith("/posts"))
        rerun_users = sorted(page_of(path) for path in rerun if path.startswith("/users"))
    assert stopped_after < OUTAGE_SECONDS / 2
    assert refused_during_first <= request_bound(config, stopped_after)
    assert first.result.status == "partial"
    message = "the API stayed unavailable (circuit breaker open) for more than max_wait_seconds (5 s)"
    # The requests that were waiting together give up together: one row per page that was waiting.
    errors = sink.rows("sync_errors")
    assert {(row["table_name"], row["severity"], row["error_type"], row["message"]) for row in errors} == {
        ("posts", "HIGH", "WaitTooLongError", message)
    }
    assert any("table posts stopped: the API stayed unavailable" in line for line in first.log.text().splitlines())
    opened = open_pass(state, "posts")
    assert opened is not None
    next_page = opened["next_page"]
    written_first = {row["id"] for row in sink.rows("posts")}
    assert set(range(1, (next_page - 1) * PAGE_SIZE + 1)) <= written_first  # the checkpoint covers written rows only
    assert min(row["page"] for row in errors) >= next_page  # and no page given up on lies before it
    assert open_pass(state, "users") is None  # users completed its pass
    # The rerun first reads the last page the checkpoint covers once more, to prove the collection did not shift
    # under its page number (it must still end with the row it ended with), then the pages the state had not covered.
    assert next_page > 1
    assert opened["prev_key"] == key_digest(((next_page - 1) * PAGE_SIZE,))
    assert rerun_pages == [next_page - 1, *range(next_page, PAGES + 1)]
    assert rerun_users == [1]  # and begins its next one at once (tables are independent)
    assert second.result.status == "succeeded"
    assert sorted(set(sink.ids("posts"))) == list(range(1, POSTS + 1))
    assert all_complete(sink.checkpoints()[-1])
