"""The concurrency limit of one host: how many requests may be in flight at once, adapted to what the server takes.

It replaces a fixed `asyncio.Semaphore(max_workers)`: `max_workers` becomes the ceiling, and in `adaptive` mode the
limit moves between 1 and that ceiling on the signals of `http/signals.py`.

The algorithm is TCP's congestion control (Reno's slow start and AIMD), with a latency guard in the manner of
TCP Vegas and Netflix's Gradient limit:

    slow start       from `initial`, +1 per good response (the limit doubles every round trip) until the first
                     decrease: a connector meets a healthy server at full speed within a few round trips
    additive         afterwards +1/limit per good response: +1 per round trip, probing slowly for more
    multiplicative   on THROTTLED (429, 503 with a wait hint): limit × 0.5 (the server said so, as a packet loss
                     says so to TCP); on TIMEOUT and UNAVAILABLE (503 without
                     a hint, 502, 504) the same, but only while they are more than OVERLOAD_SHARE (25 %) of the
                     last ~32 outcomes (an average of weight 1/32): a few timeouts or 503s at random say the server
                     is flaky, not overloaded, and halving on each would sink the limit to ~2 on a server failing
                     10 % at random (TCP's trouble on lossy links); on rising latency, and when the retry budget
                     runs out: limit × 0.9 (noisier or derived signals, so a gentler step)
    one per window   a request that started before the last decrease cannot decrease again: a burst of 429s
                     from one window of requests halves the limit once, not down to 1

Rising latency: `recent` is an exponential average of the last ~10 good responses' latency (weight 0.1), and
`baseline` the latency without a queue, TCP Vegas's BaseRTT: it follows lower samples (weight 0.05, robust to one
fast outlier) and never higher ones, so it cannot drift up with the queue it is meant to detect, except at the
minimum limit, where the client queues nothing and a server that became slower for good is learnt again. The
server is queueing when recent > latency_tolerance · baseline and recent − baseline > LATENCY_NOISE_SECONDS (5 ms:
the jitter of a loaded event loop is not a queue); after such a decrease `recent` restarts from the baseline, so
the smaller window is judged on its own samples. The default
tolerance, 1.5, is Netflix's Gradient2 default. The limit grows only while it is in use
(never past twice the most requests in flight at once since the last decrease), so an idle connector does not
claim a limit it never tested.

Why AIMD and not Gradient2 or Vegas alone: the signals a REST API sends are mostly explicit (429, 503,
Retry-After, RateLimit headers), and AIMD reacts to them directly and provably converges (Chiu and Jain, 1989);
latency alone is a noisy signal on a shared 2-core machine, so it only gives the gentler step.

`fixed` mode is the semaphore of old: always `maximum`. The cost per request is one comparison on acquire and a
few float operations on release; a future is allocated only when a request has to wait for a slot.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import enum
from collections.abc import Callable

from async_core.http.signals import OVERLOAD, Signal

THROTTLE_BACKOFF = 0.5
LATENCY_BACKOFF = 0.9
RECENT_WEIGHT = 0.1
BASELINE_WEIGHT = 0.05
LATENCY_NOISE_SECONDS = 0.005
OVERLOAD_WEIGHT = 1 / 32
OVERLOAD_SHARE = 0.25


class LimitMode(enum.StrEnum):
    """How the concurrency limit behaves."""

    ADAPTIVE = "adaptive"  # between 1 and max_workers, on the server's signals
    FIXED = "fixed"  # always max_workers


class ConcurrencyLimit:
    """A semaphore whose size follows the server (see the module docstring).

        `ConcurrencyLimit(*, maximum, initial=8, minimum=1, mode=ADAPTIVE, latency_tolerance=1.5, on_change=None)`:
        the limit starts at min(initial, maximum) (at `maximum` in FIXED mode) and stays in [minimum, maximum];
        `on_change(limit)` is called with the new (fractional) limit each time its whole part changes.

            epoch = await limit.acquire()          # waits while `in_flight` >= the limit
            ... the request ...
            limit.release(epoch, signal, latency)  # always, in a finally (Signal.NONE when it says nothing)

    Single event loop only.
    """

    __slots__ = (
        "_baseline",
        "_epoch",
        "_in_flight",
        "_limit",
        "_on_change",
        "_overload_epoch",
        "_overload_share",
        "_peak",
        "_recent",
        "_size",
        "_slow_start",
        "_waiters",
        "latency_tolerance",
        "maximum",
        "minimum",
        "mode",
    )

    def __init__(
        self,
        *,
        maximum: int,
        initial: int = 8,
        minimum: int = 1,
        mode: LimitMode = LimitMode.ADAPTIVE,
        latency_tolerance: float = 1.5,
        on_change: Callable[[float], None] | None = None,
    ) -> None:
        if not 1 <= minimum <= maximum:
            raise ValueError(f"expected 1 <= minimum <= maximum, got minimum={minimum}, maximum={maximum}")
        if initial < 1:
            raise ValueError(f"initial must be >= 1, got {initial}")
        if latency_tolerance <= 1:
            raise ValueError(f"latency_tolerance must be > 1, got {latency_tolerance}")
        self.maximum = maximum
        self.minimum = minimum
        self.mode = LimitMode(mode)
        self.latency_tolerance = latency_tolerance
        start = maximum if self.mode is LimitMode.FIXED else max(minimum, min(initial, maximum))
        self._limit = float(start)
        self._size = start  # the whole part of the limit: slots that may be in flight
        self._in_flight = 0
        self._peak = 0  # the most in flight at once since the last decrease
        self._epoch = 0  # counts the decreases
        self._overload_epoch = -1  # the epoch the last `overload` call produced
        self._overload_share = 0.0  # the share of TIMEOUT and UNAVAILABLE among recent outcomes (~32)
        self._slow_start = True
        self._recent = 0.0
        self._baseline = 0.0
        self._waiters: collections.deque[asyncio.Future[int]] = collections.deque()
        self._on_change = on_change
        if on_change is not None:
            on_change(self._limit)

    def __repr__(self) -> str:
        return (
            f"<ConcurrencyLimit {self.mode.value} {self._limit:.1f} in [{self.minimum}, {self.maximum}], "
            f"{self._in_flight} in flight, {len(self._waiters)} waiting, recent {self._recent * 1000:.1f} ms, "
            f"baseline {self._baseline * 1000:.1f} ms>"
        )

    @property
    def limit(self) -> float:
        """The current limit (fractional: it grows by 1/limit per response in congestion avoidance)."""
        return self._limit

    @property
    def in_flight(self) -> int:
        return self._in_flight

    async def acquire(self) -> int:
        """Waits for a slot (FIFO); returns the epoch to hand back to `release`."""
        if self._in_flight < self._size and not self._waiters:
            self._in_flight += 1
            if self._in_flight > self._peak:
                self._peak = self._in_flight
            return self._epoch
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._waiters.append(future)
        try:
            return await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self._in_flight -= 1  # granted, then cancelled before it ran: give the slot on
                self._wake()
            else:
                with contextlib.suppress(ValueError):  # already popped (and skipped) by a wake-up
                    self._waiters.remove(future)
            raise

    def release(self, epoch: int, signal: Signal, latency: float) -> None:
        """Frees the slot and learns from the attempt: its signal and its latency in seconds (ignored unless OK or
        REFUSED)."""
        self._in_flight -= 1
        if self.mode is LimitMode.ADAPTIVE:
            if signal is Signal.THROTTLED:
                self._decrease(epoch, THROTTLE_BACKOFF)
            elif signal in OVERLOAD:  # TIMEOUT, UNAVAILABLE: overload only when they are a share, not a few
                self._overload_share += (1.0 - self._overload_share) * OVERLOAD_WEIGHT
                if self._overload_share > OVERLOAD_SHARE:
                    self._decrease(epoch, THROTTLE_BACKOFF)
            else:
                self._overload_share -= self._overload_share * OVERLOAD_WEIGHT
                if signal is Signal.OK or signal is Signal.REFUSED:
                    self._sample(epoch, latency)
        if self._waiters:
            self._wake()

    def overload(self) -> None:
        """A signal from outside an attempt (the retry budget ran out): shrink by the gentle step, at most once
        until some other signal has shrunk the limit (the budget stays spent for a while; one step is the news,
        and the failures that spent it have already been judged on their own)."""
        if self.mode is LimitMode.ADAPTIVE and self._overload_epoch != self._epoch:
            self._decrease(self._epoch, LATENCY_BACKOFF)
            self._overload_epoch = self._epoch

    @property
    def epoch(self) -> int:
        return self._epoch

    def _sample(self, epoch: int, latency: float) -> None:
        baseline = self._baseline
        if baseline == 0.0:
            self._recent = self._baseline = baseline = latency
        self._recent += (latency - self._recent) * RECENT_WEIGHT
        if latency < baseline or self._limit <= self.minimum:
            self._baseline = baseline + (latency - baseline) * BASELINE_WEIGHT
        recent, baseline = self._recent, self._baseline
        if recent > self.latency_tolerance * baseline and recent - baseline > LATENCY_NOISE_SECONDS:
            self._recent = baseline  # judge the smaller window on its own samples (~10 of them), as Vegas per RTT
            self._decrease(epoch, LATENCY_BACKOFF)
            return
        limit = self._limit
        if limit >= self.maximum or 2 * self._peak < limit:
            return  # at the ceiling, or not using half of it: nothing learned about more
        limit = limit + 1.0 if self._slow_start else limit + 1.0 / limit
        self._set(min(float(self.maximum), limit))

    def _decrease(self, epoch: int, factor: float) -> None:
        if epoch != self._epoch:
            return  # started before the last decrease: that window has already been answered
        self._epoch += 1
        self._slow_start = False
        self._peak = self._in_flight
        self._set(max(float(self.minimum), self._limit * factor))

    def _set(self, limit: float) -> None:
        self._limit = limit
        size = int(limit)
        if size != self._size:
            self._size = size
            if self._on_change is not None:
                self._on_change(limit)

    def _wake(self) -> None:
        waiters = self._waiters
        while waiters and self._in_flight < self._size:
            future = waiters.popleft()
            if not future.done():
                self._in_flight += 1
                if self._in_flight > self._peak:
                    self._peak = self._in_flight
                future.set_result(self._epoch)
