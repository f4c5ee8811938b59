"""What worker threads share before a request: the server's wait gate and the proactive rate limit.

Both hold their lock only to read and move a timestamp; the waiting itself is a plain `sleep` outside the lock, so
that a waiting thread never blocks another one's bookkeeping.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class ThreadedWaitGate:
    """A pause every request to the host sits through: set by a server's `Retry-After` (or RateLimit) hint."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._until = 0.0

    def pause_for(self, seconds: float) -> None:
        """Pauses every request for `seconds` from now (a longer pause already set is kept)."""
        with self._lock:
            self._until = max(self._until, self._clock() + seconds)

    def wait(self) -> float:
        """Sleeps until the gate is open; returns the seconds slept (0.0 when it was open)."""
        waited = 0.0
        while True:
            with self._lock:
                remaining = self._until - self._clock()
            if remaining <= 0:
                return waited
            self._sleep(remaining)
            waited += remaining


class PacedLimiter:
    """At most `rate` acquisitions per second, evenly spaced, with no initial burst.

    Each caller reserves the next free instant (`max(now, previous + 1/rate)`) under the lock and sleeps until it
    outside the lock: the rate is exact however many threads wait, and they are served in reservation order.
    """

    def __init__(
        self,
        rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self._interval = 1.0 / rate
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next = -float("inf")

    def acquire(self) -> None:
        with self._lock:
            now = self._clock()
            slot = max(now, self._next)
            self._next = slot + self._interval
        if slot > now:
            self._sleep(slot - now)


def make_paced_limiter(requests_per_second: float) -> PacedLimiter | None:
    """The limiter for `requests_per_second`, or None when it is 0 (off)."""
    return PacedLimiter(requests_per_second) if requests_per_second > 0 else None
