"""The async client and the threaded baseline drive one retry decision: against the same failures, with the same
random stream, they sleep the same schedule (budget deferrals included) and give up at the same attempt."""

from __future__ import annotations

import asyncio
import random

from aiohttp import web

from async_core.errors import RetryableError
from async_core.http.client import ApiClient
from async_core.http.retry import Jitter, RetryStrategy
from async_core.http.session import make_session
from async_core.run.metrics import Metrics
from async_core.settings import Settings
from benchmarks.threaded.client import ThreadedApiClient
from benchmarks.threaded.counters import SharedCounters
from tests.devtools import pytest
from tests.integration.servers import serve

# 12 retries against a budget of 0 % (a floor of 10 retries at once): the 11th and 12th are deferred.
SETTINGS = Settings(
    max_retries=12,
    retry_strategy=RetryStrategy.FIXED_INTERVAL,
    base_delay=1.0,
    max_delay=4.0,
    retry_jitter=Jitter.NONE,
    retry_budget_percent=0.0,
    enable_circuit_breaker=False,
)


async def unavailable(request: web.Request) -> web.Response:
    return web.Response(status=503, text="down")


def async_schedule(url: str) -> tuple[list[float], int]:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    async def main() -> int:
        policy = SETTINGS.http_policy()
        async with make_session(policy) as session:
            client = ApiClient(policy, session, base_url=url, metrics=Metrics(), sleep=sleep, rng=random.Random(7))
            with pytest.raises(RetryableError) as caught:
                await client.fetch(f"{url}/posts")
            return caught.value.attempts

    return slept, asyncio.run(main())


def threaded_schedule(url: str) -> tuple[list[float], int]:
    slept: list[float] = []
    counters = SharedCounters()
    client = ThreadedApiClient(SETTINGS, base_url=url, counters=counters, sleep=slept.append, rng=random.Random(7))
    try:
        with pytest.raises(RetryableError) as caught:
            client.fetch(f"{url}/posts")
    finally:
        client.close()
    assert counters["retries_deferred"] == 2
    return slept, caught.value.attempts


def test_both_drivers_sleep_the_same_schedule_and_defer_a_budget_refused_retry() -> None:
    """Ten retries 1 s apart, then two deferred retries of U(2, 4) s drawn from the same stream, then the error
    after 13 attempts: the same for asyncio and for threads."""
    with serve(unavailable) as (url, seen):
        async_slept, async_attempts = async_schedule(url)
        threaded_slept, threaded_attempts = threaded_schedule(url)
    draws = random.Random(7)
    deferred = [draws.uniform(2.0, 4.0) for _ in range(2)]
    assert async_slept == [1.0] * 10 + deferred
    assert threaded_slept == async_slept
    assert async_attempts == threaded_attempts == 13
    assert len(seen.requests) == 26
