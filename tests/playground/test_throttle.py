"""The playground's server-side rate limit: the token bucket as a pure state machine, and the 429s it makes."""

from __future__ import annotations

from typing import Any

import aiohttp

from async_core.playground.__main__ import parse_arguments
from async_core.playground.throttle import ThrottledPlayground, TokenBucket
from tests.devtools import pytest


class FakeClock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


def test_bucket_starts_full_then_refuses_with_the_wait_for_one_token() -> None:
    """burst tokens at once, then a refusal that says when the next token comes."""
    clock = FakeClock()
    bucket = TokenBucket(10, 2, clock=clock)
    assert [bucket.take(), bucket.take()] == [0.0, 0.0]
    assert bucket.take() == pytest.approx(0.1)


def test_bucket_refills_at_its_rate_up_to_its_size() -> None:
    """After 0.25 s at 10/s: 2 tokens (the size), not 2.5."""
    clock = FakeClock()
    bucket = TokenBucket(10, 2, clock=clock)
    bucket.take(), bucket.take()
    clock.now += 0.25
    assert [bucket.take(), bucket.take()] == [0.0, 0.0]
    assert bucket.take() > 0


def test_bucket_refuses_impossible_settings() -> None:
    """A rate of 0 or a bucket of 0 tokens is refused."""
    with pytest.raises(ValueError, match="rate"):
        TokenBucket(0, 1)
    with pytest.raises(ValueError, match="burst"):
        TokenBucket(1, 0)


async def test_throttled_playground_answers_429_with_retry_after_and_counts_them() -> None:
    """Past the bucket, 429 with Retry-After >= 1 s; every 429 counted; every response says the limit."""
    playground = ThrottledPlayground(rate=1, burst=2)
    async with playground, aiohttp.ClientSession() as session:
        statuses, retry_after, limits = [], [], []
        for _ in range(4):
            async with session.get(f"{playground.base_url}/users?_page=1&_limit=1") as response:
                statuses.append(response.status)
                retry_after.append(response.headers.get("Retry-After"))
                limits.append(response.headers.get("X-RateLimit-Limit"))
    assert statuses == [200, 200, 429, 429]
    assert retry_after[2:] == ["1", "1"]
    assert limits == ["1"] * 4
    assert playground.throttled == 2


def test_cli_takes_a_rate_limit_and_refuses_a_bad_one(capsys: Any) -> None:
    """--rate-limit and --burst parse; a rate of 0 exits 2 with a message."""
    arguments = parse_arguments(["--rate-limit", "100", "--burst", "10"])
    assert (arguments.rate_limit, arguments.burst) == (100.0, 10)
    with pytest.raises(SystemExit) as exited:
        parse_arguments(["--rate-limit", "0"])
    assert exited.value.code == 2
    assert "--rate-limit" in capsys.readouterr().err
