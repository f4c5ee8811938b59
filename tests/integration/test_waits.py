"""Every wait is bounded, over real loopback HTTP: a server whose announced quota would hold a table for hours
stops that table within `max_wait_seconds`, with a line naming the wait; the setup form's test returns too."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from async_core import StdLog, run_sync
from async_core.setup import test_connection as check_connection
from tests.devtools import pytest
from tests.integration.servers import paged, rows, serve
from tests.sinks import RecordingSink

FAST = {"base_delay": "0", "max_delay": "0", "retry_jitter": "none", "enable_circuit_breaker": "false"}


def pacing(reset: Any) -> Any:
    """json-server over 95 posts whose every response says one request is left until `reset()`."""
    inner = paged(rows("posts", 95))

    async def handler(request: web.Request) -> web.StreamResponse:
        response = await inner(request)
        response.headers["X-RateLimit-Remaining"] = "1"
        response.headers["X-RateLimit-Reset"] = str(reset())
        return response

    return handler


RESETS = {
    "epoch milliseconds, 200 s ahead": lambda: int((time.time() + 200) * 1000),
    "86400 seconds": lambda: 86400,
}


@pytest.mark.parametrize("reset", RESETS.values(), ids=RESETS.keys())
def test_a_pace_longer_than_max_wait_stops_the_table_promptly_and_says_why(reset: Any) -> None:
    """X-RateLimit-Remaining: 1 and a reset 200 s (in epoch ms) or a day away, max_wait_seconds 1: the pace
    would space requests 200 s or a day apart; the table stops at once, and its sync_errors row says so."""
    with serve(pacing(reset)) as (url, seen):
        sink = RecordingSink()
        started = time.monotonic()
        result = run_sync(
            {"base_url": url, "tables": "posts", "page_size": "10", "max_wait_seconds": "1", **FAST},
            None,
            sink=sink,
            log=StdLog(),
        )
        took = time.monotonic() - started
    assert took < 30  # not a timing target: a sync that sat the pace out would take 200 s or a day
    assert result.status != "succeeded"
    assert result.summary["processing_summary"]["table_summaries"]["posts"]["status"] == "stopped"
    messages = [row["message"] for row in sink.rows("sync_errors")]
    assert any("rate limit" in m and "more than max_wait_seconds (1 s)" in m for m in messages), messages
    assert len(seen.requests) < 10


def test_the_setup_test_against_a_pacing_server_returns_within_its_bound() -> None:
    """Test connection against a server whose quota resets in a day: the probe of three tables (posts, users, comments)
    returns, naming the wait, instead of hanging on the pace the first response set."""
    with serve(pacing(lambda: 86400)) as (url, _):
        started = time.monotonic()
        problem = check_connection({"base_url": url, "tables": "posts,users,comments", "page_size": "10", **FAST})
        took = time.monotonic() - started
    assert took < 30
    assert problem is not None
    assert "max_wait_seconds" in problem, problem
