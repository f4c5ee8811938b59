"""Micro-benchmark of the HTTP layer's per-request bookkeeping: what the adaptive concurrency limit, the breaker's
sliding window and the signal classification cost on the hot path, against the semaphore they replaced.

    PYTHONPATH=. .venv/bin/python tools/microbench_http.py [requests]

Prints microseconds per request for each variant (the best of 5 runs, on one event loop, no I/O).
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable, Coroutine
from typing import Any

from aiohttp import web

from async_core.http.breaker import CircuitBreaker
from async_core.http.hints import has_rate_headers
from async_core.http.limit import ConcurrencyLimit, LimitMode
from async_core.http.signals import BREAKER_FAILURES, BREAKER_SUCCESSES, Signal, classify

# aiohttp's case-insensitive headers, as a response has them.
HEADERS = web.Response(headers={"Content-Type": "application/json", "X-Total-Count": "5000", "Link": "<x>"}).headers


async def semaphore(n: int) -> None:
    gate = asyncio.Semaphore(64)
    for _ in range(n):
        async with gate:
            pass


async def limit_only(n: int, mode: LimitMode = LimitMode.ADAPTIVE) -> None:
    limit = ConcurrencyLimit(maximum=64, initial=64, mode=mode)
    for _ in range(n):
        ticket = await limit.acquire()
        limit.release(ticket, Signal.OK)


async def attempt_bookkeeping(n: int) -> None:
    """Everything `ApiClient._attempt` adds around a request: limit, breaker permit, signal, headers check."""
    limit = ConcurrencyLimit(maximum=64, initial=64)
    breaker = CircuitBreaker()
    for _ in range(n):
        ticket = await limit.acquire()
        permit = await breaker.acquire()
        signal = classify(None)
        if has_rate_headers(HEADERS):
            raise AssertionError("no rate headers here")
        if signal in BREAKER_SUCCESSES:
            permit.success()
        elif signal in BREAKER_FAILURES:
            permit.failure()
        permit.release()
        limit.release(ticket, signal)


def best_of(runs: int, n: int, body: Callable[[int], Coroutine[Any, Any, None]]) -> float:
    """Microseconds per request, the best of `runs`."""
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        asyncio.run(body(n))
        best = min(best, time.perf_counter() - started)
    return best / n * 1e6


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    base = best_of(5, n, semaphore)
    rows = [
        ("asyncio.Semaphore (before)", base),
        ("ConcurrencyLimit fixed", best_of(5, n, lambda k: limit_only(k, LimitMode.FIXED))),
        ("ConcurrencyLimit adaptive", best_of(5, n, limit_only)),
        ("limit + breaker + signal + header check", best_of(5, n, attempt_bookkeeping)),
    ]
    for name, micros in rows:
        print(f"{name:42} {micros:6.2f} µs/request  (+{micros - base:5.2f} over the semaphore)")


if __name__ == "__main__":
    main()
