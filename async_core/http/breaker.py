"""The circuit breaker of one host, for a concurrent client: a failure rate over a sliding window, a fast trip on
an outage, and a half-open state that judges a few probes together.

    CLOSED --failure rate or an improbable streak--> OPEN --recovery_timeout passed, next acquire--> HALF_OPEN
    HALF_OPEN --probes pass--> CLOSED            HALF_OPEN --probes fail--> OPEN (the timer restarts)

Why not only consecutive failures: with 16 requests in flight to a server that fails 24 % of them at random, five
failures in a row happen every few hundred requests, and the breaker would stop a server that answers most
requests. The model is resilience4j's and Polly's: the outcomes of the last `window` calls (a count-based sliding
window) open the breaker when at least `minimum_calls` of them are recorded and the share of failures reaches
`failure_rate`. Two rules, the first one that holds trips:

- rate:   calls >= minimum_calls  and  failures / calls >= failure_rate        (a server failing most requests)
- streak: the last k outcomes all failed, with
              k = failure_threshold                                      while the window showed no failures
              k = min(2 · failure_threshold, max(failure_threshold,      when it showed a failure rate p (at the
                      ceil(log(STREAK_CHANCE) / log p)))                 last success after a success)
          so an outage trips after exactly `failure_threshold` failures on a healthy server, and a server already
          failing at random needs a streak that its own rate makes improbable (chance STREAK_CHANCE, 10⁻⁶, per
          call): 5 at p <= 6 %, 8 at 15 %, 10 at 24 %, never more than twice the threshold.
          And the streak must outnumber the requests still in flight (k + in flight), since each of them could
          come back with data and break it: errors often come back faster than data (a 503 is instant, a page
          takes 250 ms), so concurrent requests list their failures before their successes; with the streak
          alone, 16 workers at 30 % fast failures met a streak of 10 in 3 of 3 trial syncs. In an outage the
          requests in flight fail too, so it opens after at most failure_threshold + max_workers failures, and
          after exactly failure_threshold when they are sent one at a time.

While OPEN, requests are refused locally (`CircuitOpenError`, no network touched). After `recovery_timeout`,
HALF_OPEN lets `half_open_probes` requests through and every other request waits for their verdict instead of
piling onto a server that may still be down. The probes are judged together, as soon as the verdict is certain:
closed when the share of failed probes is below `failure_rate`, open again otherwise (with 3 probes and 50 %: two
successes close it, two failures reopen it). A probe whose outcome is not recorded (its task was cancelled, or the
response does not count, such as a 429 or a 404) frees its slot when its permit is released, and the next waiter
becomes a probe. Closing starts an empty window.

Usage, one permit per attempt, released in a finally:

    permit = await breaker.acquire()      # may raise CircuitOpenError
    try:
        ...request...; permit.success() or permit.failure()
    finally:
        permit.release()

Single event loop only: no locks, the state changes between awaits. The cost per call is a few integer operations
on a preallocated ring (no allocation but the permit).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import math
import time
from collections.abc import AsyncIterator, Callable

from async_core.errors import CircuitOpenError

# The chance per call, at the failure rate the window shows, of a streak long enough to trip the breaker.
STREAK_CHANCE = 1e-6


class CircuitState(enum.Enum):
    """The breaker's states."""

    CLOSED = "closed"  # requests flow; outcomes fill the sliding window
    OPEN = "open"  # requests are refused locally until recovery_timeout has passed since opening
    HALF_OPEN = "half_open"  # a few probes are in flight (or about to be); everyone else waits for their verdict


ALLOWED_TRANSITIONS: frozenset[tuple[CircuitState, CircuitState]] = frozenset(
    {
        (CircuitState.CLOSED, CircuitState.OPEN),
        (CircuitState.OPEN, CircuitState.HALF_OPEN),
        (CircuitState.HALF_OPEN, CircuitState.CLOSED),
        (CircuitState.HALF_OPEN, CircuitState.OPEN),
    }
)


class Permit:
    """Leave to make one request. Record at most one outcome (`success` or `failure`), then `release`.

    A normal permit (CLOSED) adds its outcome to the window, if the breaker is still in the period that issued it
    (late outcomes from before a transition are ignored). A probe permit (HALF_OPEN) counts toward the probes'
    verdict; released without an outcome, it frees its probe slot for the next waiter.
    """

    __slots__ = ("_breaker", "_epoch", "_recorded", "_released", "is_probe")

    def __init__(self, breaker: CircuitBreaker, *, is_probe: bool, epoch: int) -> None:
        self._breaker = breaker
        self._epoch = epoch
        self._recorded = False
        self._released = False
        self.is_probe = is_probe

    def success(self) -> None:
        """The server answered (data, or a 4xx: it is up)."""
        self._record(success=True)

    def failure(self) -> None:
        """The server failed (5xx, timeout, reset, bad body)."""
        self._record(success=False)

    def release(self) -> None:
        """Give the permit back; idempotent. A probe with no outcome recorded frees its probe slot."""
        if self._released:
            return
        self._released = True
        if not self._recorded:
            if self.is_probe:
                self._breaker._probe_abandoned(self._epoch)
            else:
                self._breaker._abandoned(self._epoch)

    def _record(self, *, success: bool) -> None:
        if self._released:
            raise RuntimeError("permit already released: its outcome can no longer be recorded")
        if self._recorded:
            raise RuntimeError("permit outcome already recorded: a permit settles once")
        self._recorded = True
        if self.is_probe:
            self._breaker._probe_settled(success=success, epoch=self._epoch)
        else:
            self._breaker._outcome(success=success, epoch=self._epoch)


class CircuitBreaker:
    """Watches the outcomes of one host's requests and stops sending it requests while it is down.

    `CircuitBreaker(*, failure_threshold=5, recovery_timeout=30.0, failure_rate=0.5, window=100, minimum_calls=40,
    half_open_probes=3, clock=time.monotonic, on_transition=None)`:
    `failure_threshold` is the streak that opens it on a healthy server (see the module docstring for the streak
    on a server already failing at random); `failure_rate` of the last `window` calls opens it once
    `minimum_calls` are recorded; `recovery_timeout` seconds (of `clock`) after opening, `half_open_probes`
    probes go and are judged together. `on_transition(old, new)` is called after each state change.
    Counters: `opens`, `probes`, `rejections` (CircuitOpenErrors raised); `state`; `consecutive_failures`;
    `window_calls`, `window_failures`.
    """

    def __init__(
        self,
        *,
        failure_threshold: int = 5,
        recovery_timeout: float = 30.0,
        failure_rate: float = 0.5,
        window: int = 100,
        minimum_calls: int = 40,
        half_open_probes: int = 3,
        clock: Callable[[], float] = time.monotonic,
        on_transition: Callable[[CircuitState, CircuitState], None] | None = None,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError(f"failure_threshold must be >= 1, got {failure_threshold}")
        if recovery_timeout < 0:
            raise ValueError(f"recovery_timeout must be >= 0, got {recovery_timeout}")
        if not 0 < failure_rate <= 1:
            raise ValueError(f"failure_rate must be > 0 and <= 1, got {failure_rate}")
        if window < 1 or not 1 <= minimum_calls <= window:
            raise ValueError(f"window must be >= 1 and minimum_calls >= 1 and <= window, got {window}, {minimum_calls}")
        if half_open_probes < 1:
            raise ValueError(f"half_open_probes must be >= 1, got {half_open_probes}")
        self.failure_threshold = failure_threshold
        self.recovery_timeout = recovery_timeout
        self.failure_rate = failure_rate
        self.window = window
        self.minimum_calls = minimum_calls
        self.half_open_probes = half_open_probes
        # Probe failures that reopen it: the least f with f / probes >= failure_rate.
        self._probe_failures_to_open = math.ceil(half_open_probes * failure_rate - 1e-9)
        self._clock = clock
        self._on_transition = on_transition
        self._state = CircuitState.CLOSED
        self._ring = bytearray(window)  # 1 = failure; the last `window` outcomes
        self._ring_index = 0
        self._calls = 0
        self._failures = 0
        self._streak = 0
        self._streak_needed = failure_threshold
        self._in_flight = 0  # normal permits of this closed period not yet settled or given back
        self._base_calls = 0  # the window's calls and failures at the last success after a success
        self._base_failures = 0
        self._opened_at = 0.0
        self._epoch = 0  # counts the transitions, so that a stale permit's outcome is not counted
        self._probes_in_flight = 0
        self._probe_successes = 0
        self._probe_failures = 0
        self._probe_settled_event: asyncio.Event | None = None
        self.opens = 0
        self.probes = 0
        self.rejections = 0

    def __repr__(self) -> str:
        return (
            f"<CircuitBreaker {self._state.name} window {self._failures}/{self._calls} failed, "
            f"streak {self._streak}/{self._streak_needed}, opens {self.opens}, probes {self.probes}>"
        )

    @property
    def state(self) -> CircuitState:
        return self._state

    @property
    def consecutive_failures(self) -> int:
        return self._streak

    @property
    def window_calls(self) -> int:
        return self._calls

    @property
    def window_failures(self) -> int:
        return self._failures

    async def acquire(self) -> Permit:
        """A permit for one request, or `CircuitOpenError(retry_in)` when the breaker refuses it.

        CLOSED: a normal permit at once. OPEN before `recovery_timeout`: CircuitOpenError with `retry_in` the seconds
        until a probe may go (a rejection). OPEN after it: HALF_OPEN, and this caller gets a probe permit.
        HALF_OPEN: a probe permit while fewer than `half_open_probes` are in flight and undecided; else waits for
        a probe to settle (no polling), then decides again: a normal permit if it closed, CircuitOpenError if it
        reopened, a probe permit if a slot was freed.
        """
        while True:
            if self._state is CircuitState.CLOSED:
                self._in_flight += 1
                return Permit(self, is_probe=False, epoch=self._epoch)
            if self._state is CircuitState.OPEN:
                retry_in = self._opened_at + self.recovery_timeout - self._clock()
                if retry_in > 0:
                    self.rejections += 1
                    raise CircuitOpenError(retry_in=retry_in)
                self._transition(CircuitState.HALF_OPEN)
                self._probe_successes = self._probe_failures = 0
                self._probe_settled_event = asyncio.Event()
                return self._start_probe()
            if self._probes_in_flight + self._probe_successes + self._probe_failures < self.half_open_probes:
                return self._start_probe()
            settled = self._probe_settled_event
            assert settled is not None  # set for every half-open period
            await settled.wait()

    @contextlib.asynccontextmanager
    async def permit(self) -> AsyncIterator[Permit]:
        """`async with breaker.permit() as p:` acquires, and releases on exit; the body records the outcome."""
        permit = await self.acquire()
        try:
            yield permit
        finally:
            permit.release()

    def _start_probe(self) -> Permit:
        self._probes_in_flight += 1
        self.probes += 1
        return Permit(self, is_probe=True, epoch=self._epoch)

    def _wake_waiters(self) -> None:
        """Wake every waiter (they decide again in FIFO order); the next wait uses a fresh event."""
        event = self._probe_settled_event
        assert event is not None
        event.set()
        self._probe_settled_event = asyncio.Event()

    def _probe_settled(self, *, success: bool, epoch: int) -> None:
        if epoch != self._epoch:
            return  # a probe of a half-open period already decided
        if self._state is not CircuitState.HALF_OPEN or self._probes_in_flight < 1:
            raise RuntimeError(f"a probe settled while the breaker is {self._state.name} with no probe in flight")
        self._probes_in_flight -= 1
        if success:
            self._probe_successes += 1
        else:
            self._probe_failures += 1
        if self._probe_failures >= self._probe_failures_to_open:
            self._open()
        elif self._probe_successes > self.half_open_probes - self._probe_failures_to_open:
            self._close()
        self._wake_waiters()

    def _probe_abandoned(self, epoch: int) -> None:
        if epoch != self._epoch:
            return
        if self._state is not CircuitState.HALF_OPEN or self._probes_in_flight < 1:
            raise RuntimeError(f"a probe was abandoned while the breaker is {self._state.name} with none in flight")
        self._probes_in_flight -= 1  # state stays HALF_OPEN; the first waiter to run becomes a probe
        self._wake_waiters()

    def _abandoned(self, epoch: int) -> None:
        """A normal permit given back without an outcome: one fewer request that could break the streak."""
        if self._state is not CircuitState.CLOSED or epoch != self._epoch:
            return
        self._in_flight -= 1
        if self._streak and self._streak_due():
            self._open()

    def _streak_due(self) -> bool:
        # Every request still in flight could come back with data and break the streak: it must outnumber them.
        return self._streak >= self._streak_needed + self._in_flight

    def _outcome(self, *, success: bool, epoch: int) -> None:
        if self._state is not CircuitState.CLOSED or epoch != self._epoch:
            return  # issued before the breaker last changed state: the probes decide now, not stale requests
        self._in_flight -= 1
        index = self._ring_index
        self._failures -= self._ring[index] if self._calls == self.window else 0
        self._ring[index] = 0 if success else 1
        self._ring_index = index + 1 if index + 1 < self.window else 0
        if self._calls < self.window:
            self._calls += 1
        if success:
            if self._streak == 0:  # a success after a success: the rate a new streak is judged against
                self._base_calls, self._base_failures = self._calls, self._failures
            self._streak = 0
            return
        if self._streak == 0:
            self._streak_needed = self._streak_to_trip()
        self._failures += 1
        self._streak += 1
        if self._streak_due() or (
            self._calls >= self.minimum_calls and self._failures >= self.failure_rate * self._calls
        ):
            self._open()

    def _streak_to_trip(self) -> int:
        """The streak that trips now, from the failure rate the window showed at the last success that followed a
        success (not at a success that only interrupted failures: in an outage, a request sent before it began
        may still succeed, and the outage's first failures must not make the next streak look like chance)."""
        calls, failures = self._base_calls, self._base_failures
        if calls <= 0 or failures == 0:
            return self.failure_threshold
        rate = failures / calls
        if rate >= 1.0:
            return self.failure_threshold
        needed = math.ceil(math.log(STREAK_CHANCE) / math.log(rate))
        return min(2 * self.failure_threshold, max(self.failure_threshold, needed))

    def _reset_window(self) -> None:
        self._ring = bytearray(self.window)
        self._ring_index = self._calls = self._failures = self._streak = 0
        self._streak_needed = self.failure_threshold
        self._in_flight = 0
        self._base_calls = self._base_failures = 0

    def _open(self) -> None:
        self._opened_at = self._clock()
        self._reset_window()
        self._transition(CircuitState.OPEN)

    def _close(self) -> None:
        self._reset_window()
        self._transition(CircuitState.CLOSED)

    def _transition(self, new: CircuitState) -> None:
        old = self._state
        if (old, new) not in ALLOWED_TRANSITIONS:
            raise RuntimeError(f"impossible circuit breaker transition {old.name} -> {new.name}")
        self._state = new
        self._epoch += 1
        if new is CircuitState.OPEN:
            self.opens += 1
        if self._on_transition is not None:
            self._on_transition(old, new)
