"""A server simulated in virtual time, driven by a closed loop of requests through a `ConcurrencyLimit`: no clock,
no sleep, no network. Each request takes `latency(n)` seconds, where n is the number in flight when it started,
and answers `signal(n)`. The loop always has another request to send (a long sync), so the limit is the bound.
"""

from __future__ import annotations

import asyncio
import heapq
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from async_core.http.limit import ConcurrencyLimit, LimitMode
from async_core.http.signals import Signal


@dataclass
class VirtualClock:
    now: float = 0.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Run:
    """What one simulated sync did."""

    answers: int
    seconds: float
    path: list[tuple[float, int]] = field(default_factory=list)  # (time, limit) at each change

    @property
    def throughput(self) -> float:
        return self.answers / self.seconds

    def limit_at(self, when: float) -> int:
        """The limit in force at `when` seconds."""
        return [limit for at, limit in self.path if at <= when][-1]

    def limits_between(self, start: float, end: float) -> list[int]:
        """The limit at each 10 ms from `start` to `end` seconds."""
        return [self.limit_at(start + i / 100) for i in range(int((end - start) * 100))]


def capacity_latency(capacity: int, base: float = 0.05) -> Callable[[int], float]:
    """The embedded playground's capacity model: `base` up to `capacity` in flight, then 4 · base · (n − K) / K more
    (twice the base at 1.25 K)."""
    return lambda n: base * (1 + 4 * max(0, n - capacity) / capacity)


def queue_latency(rate: float, base: float = 0.05) -> Callable[[int], float]:
    """A server that answers at most `rate` requests per second: past its knee (rate · base), a queue."""
    return lambda n: max(base, n / rate)


def simulate(
    latency: Callable[[int], float],
    *,
    maximum: int = 256,
    initial: int = 8,
    mode: LimitMode = LimitMode.ADAPTIVE,
    requests: int = 20_000,
    signal: Callable[[int], Signal] = lambda n: Signal.OK,
    jitter: float = 0.0,
    seed: int = 1,
    change_at: float | None = None,
    latency_after: Callable[[int], float] | None = None,
) -> Run:
    """Sends `requests` through a limit against the simulated server; `jitter` multiplies each latency by
    (1 + jitter · N(0, 1)), at least 0.2; from `change_at` seconds on, `latency_after` replaces `latency`."""
    clock = VirtualClock()
    run = Run(answers=0, seconds=0.0)
    limit = ConcurrencyLimit(
        maximum=maximum,
        initial=initial,
        mode=mode,
        clock=clock,
        on_change=lambda value: run.path.append((clock.now, int(value))),
    )
    rng = random.Random(seed)
    pending: list[tuple[float, int, float, Signal]] = []
    sequence = 0

    def settle_one() -> None:
        finish, _, ticket, answer = heapq.heappop(pending)
        clock.now = finish
        limit.release(ticket, answer)
        if answer is Signal.OK:
            run.answers += 1

    async def loop() -> None:
        nonlocal sequence
        for _ in range(requests):
            while limit.in_flight >= limit.limit:
                settle_one()
            ticket = await limit.acquire()
            n = limit.in_flight
            model = (
                latency_after
                if latency_after is not None and change_at is not None and clock.now >= change_at
                else latency
            )
            seconds = model(n) * max(0.2, 1 + jitter * rng.gauss(0, 1)) if jitter else model(n)
            sequence += 1
            heapq.heappush(pending, (clock.now + seconds, sequence, ticket, signal(n)))
        while pending:
            settle_one()

    asyncio.run(loop())
    run.seconds = clock.now
    return run
