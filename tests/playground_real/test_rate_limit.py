"""The playground's token bucket, as a rate-limited client meets it: 429, Retry-After and X-RateLimit-*."""

from __future__ import annotations

import asyncio

import aiohttp

from tests.api_playground_server import RateLimit, api_playground_server
from tests.playground_real.support import get

LIMIT_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")


def limit_headers(headers: object) -> dict[str, str]:
    return {name: headers[name] for name in LIMIT_HEADERS if name in headers}  # type: ignore[index,operator]


async def test_past_capacity_a_request_gets_429_with_retry_after(client: aiohttp.ClientSession) -> None:
    """Capacity 3 at 1 token/s: three 200s counting down, then 429 {"error"} with Retry-After: 1."""
    with api_playground_server(rate_limit=RateLimit(capacity=3, per_second=1)) as playground:
        replies = [await get(client, f"{playground.base_url}/pagination/offset?limit=1") for _ in range(4)]
    assert [reply.status for reply in replies] == [200, 200, 200, 429]
    assert [reply.headers["X-RateLimit-Remaining"] for reply in replies] == ["2", "1", "0", "0"]
    assert {reply.headers["X-RateLimit-Limit"] for reply in replies} == {"3"}
    limited = replies[-1]
    assert limited.body == {"error": "Rate limit exceeded"}
    assert limited.headers["Retry-After"] == "1"


async def test_reset_counts_the_seconds_until_the_bucket_is_full_not_until_the_next_token(
    client: aiohttp.ClientSession,
) -> None:
    """Capacity 10 at 2 tokens/s, 10 requests spent: Reset is 5 (10 / 2), Retry-After 1 (a token in 0.5 s)."""
    with api_playground_server(rate_limit=RateLimit(capacity=10, per_second=2)) as playground:
        replies = [await get(client, f"{playground.base_url}/cursors/companies") for _ in range(11)]
    assert replies[-1].status == 429
    assert (replies[-1].headers["X-RateLimit-Reset"], replies[-1].headers["Retry-After"]) == ("5", "1")


async def test_retry_after_rounds_up_a_token_is_back_after_one_over_the_rate(client: aiohttp.ClientSession) -> None:
    """At 10 tokens/s Retry-After says 1 s, but 0.15 s later the next request passes."""
    with api_playground_server(rate_limit=RateLimit(capacity=1, per_second=10)) as playground:
        url = f"{playground.base_url}/pagination/keyset"
        statuses = [(await get(client, url)).status, (await get(client, url)).status]
        await asyncio.sleep(0.15)
        statuses.append((await get(client, url)).status)
    assert statuses == [200, 429, 200]


async def test_unknown_paths_and_bad_requests_spend_tokens_too(client: aiohttp.ClientSession) -> None:
    """The bucket is checked before routing: a 404 costs a token and carries the headers."""
    with api_playground_server(rate_limit=RateLimit(capacity=2, per_second=1)) as playground:
        not_found = await get(client, f"{playground.base_url}/nope")
        bad = await get(client, f"{playground.base_url}/pagination/offset?x=1")
        limited = await get(client, f"{playground.base_url}/pagination/offset")
    assert (not_found.status, not_found.headers["X-RateLimit-Remaining"]) == (404, "1")
    assert (bad.status, bad.headers["X-RateLimit-Remaining"]) == (400, "0")
    assert limited.status == 429


async def test_without_rate_limiting_there_are_no_rate_limit_headers(client: aiohttp.ClientSession) -> None:
    """Off (the package's default): no 429 however fast, and none of the X-RateLimit-* headers."""
    with api_playground_server() as playground:
        replies = [await get(client, f"{playground.base_url}/pagination/offset") for _ in range(30)]
    assert {reply.status for reply in replies} == {200}
    assert all(limit_headers(reply.headers) == {} for reply in replies)
