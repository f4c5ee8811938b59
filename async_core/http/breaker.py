"""The circuit breaker of one host, with a probe gate.

    CLOSED --failure_threshold consecutive failures--> OPEN --recovery_timeout passed, next acquire--> HALF_OPEN
    HALF_OPEN --probe success--> CLOSED          HALF_OPEN --probe failure--> OPEN (the timer restarts)

While OPEN, requests are refused locally (`CircuitOpenError`, no network touched). In HALF_OPEN exactly one
request, the probe, goes to the server; every other request waits for its outcome instead of piling onto a server
that may still be down. A probe whose outcome is not recorded (its task was cancelled, or the response does not
count for the breaker, such as a 429 or a 404) frees the probe slot when its permit is released, and the next
waiter becomes the probe: the gate holds, one probe at a time, whatever happens to the probe's task.

Usage, one permit per attempt, released in a finally:

    permit = await breaker.acquire()      # may raise CircuitOpenError
    try:
        ...request...; permit.success() or permit.failure()
    finally:
        permit.release()

Single event loop only: no locks, the state changes between awaits.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import time
from collections.abc import AsyncIterator, Callable

from async_core.errors import CircuitOpenError


class CircuitState(enum.Enum):
    """The breaker's states."""

    CLOSED = "closed"  # requests flow; consecutive failures are counted
    OPEN = "open"  # requests are refused locally until recovery_timeout has passed since opening
    HALF_OPEN = "half_open"  # one probe request is in flight (or about to be); everyone else waits for its outcome


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

    A normal permit (CLOSED) counts its outcome toward the consecutive failures, if the breaker is still in the
    closed period that issued it (late outcomes from before an opening are ignored). A probe permit (HALF_OPEN)
    decides the state: success closes the breaker, failure opens it again; released without an outcome, it frees
    the probe slot for the next waiter.
    """

    __slots__ = ("_breaker", "_epoch", "_recorded", "_released", "is_probe")

    def __init__(self, breaker: CircuitBreaker, *, is_probe: bool, epoch: int) -> None:
        self._breaker = breaker
        self._epoch = epoch
        self._recorded = False
        self._released = False
        self.is_probe = is_probe

    def success(self) -> None:
        """The server answered well: resets the failure count, or closes the breaker if this is the probe."""
        self._record(success=True)

    def failure(self) -> None:
        """The server failed (5xx, timeout, reset): counts toward opening, or reopens if this is the probe."""
        self._record(success=False)

    def release(self) -> None:
        """Give the permit back; idempotent. A probe with no outcome recorded frees the probe slot."""
        if self._released:
            return
        self._released = True
        if self.is_probe and not self._recorded:
            self._breaker._probe_abandoned()

    def _record(self, *, success: bool) -> None:
        if self._released:
            raise RuntimeError("permit already released: its outcome can no longer be recorded")
        if self._recorded:
            raise RuntimeError("permit outcome already recorded: a permit settles once")
        self._recorded = True
        if self.is_probe:
            self._breaker._probe_settled(success=success)
        else:
            self._breaker._outcome(success=success, epoch=self._epoch)


class CircuitBreaker:
    """Counts consecutive failures of one host and stops sending it requests while it is down.

    `CircuitBreaker(*, failure_threshold=5, recovery_timeout=30.0, clock=time.monotonic, on_transition=None)`:
    `failure_threshold` consecutive failures open it; `recovery_timeout` seconds (of `clock`) after opening, the
    next `acquire` becomes the probe. `on_transition(old, new)` is called after each state change.
    Counters: `opens`, `probes`, `rejections` (CircuitOpenErrors raised); `state`; `consecutive_failures`.
    """

    def __init__(
        self,
        *,
        failure_threshold: int = 5,
        recovery_timeout: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        on_transition: Callable[[CircuitState, CircuitState], None] | None = None,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError(f"failure_threshold must be >= 1, got {failure_threshold}")
        if recovery_timeout < 0:
            raise ValueError(f"recovery_timeout must be >= 0, got {recovery_timeout}")
        self.failure_threshold = failure_threshold
        self.recovery_timeout = recovery_timeout
        self._clock = clock
        self._on_transition = on_transition
        self._state = CircuitState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._epoch = 0  # counts the closed periods, so that a stale permit's outcome is not counted
        self._probe_in_flight = False
        self._probe_settled_event: asyncio.Event | None = None
        self.opens = 0
        self.probes = 0
        self.rejections = 0

    @property
    def state(self) -> CircuitState:
        return self._state

    @property
    def consecutive_failures(self) -> int:
        return self._failures

    async def acquire(self) -> Permit:
        """A permit for one request, or `CircuitOpenError(retry_in)` when the breaker refuses it.

        CLOSED: a normal permit at once. OPEN before `recovery_timeout`: CircuitOpenError with `retry_in` the seconds
        until a probe may go (a rejection). OPEN after it: HALF_OPEN, and this caller gets the probe permit.
        HALF_OPEN with a probe in flight: waits for the probe to settle (no polling), then decides again: a normal
        permit if it closed, CircuitOpenError if it reopened, the probe permit if the probe was abandoned.
        """
        while True:
            if self._state is CircuitState.CLOSED:
                return Permit(self, is_probe=False, epoch=self._epoch)
            if self._state is CircuitState.OPEN:
                retry_in = self._opened_at + self.recovery_timeout - self._clock()
                if retry_in > 0:
                    self.rejections += 1
                    raise CircuitOpenError(retry_in=retry_in)
                self._transition(CircuitState.HALF_OPEN)
                return self._start_probe()
            if not self._probe_in_flight:
                return self._start_probe()
            settled = self._probe_settled_event
            assert settled is not None  # set whenever a probe is in flight
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
        self._probe_in_flight = True
        self._probe_settled_event = asyncio.Event()
        self.probes += 1
        return Permit(self, is_probe=True, epoch=self._epoch)

    def _end_probe(self) -> None:
        """Free the probe slot and wake the waiters (they decide again in FIFO order)."""
        if self._state is not CircuitState.HALF_OPEN or not self._probe_in_flight:
            raise RuntimeError(f"a probe settled while the breaker is {self._state.name} with no probe in flight")
        self._probe_in_flight = False
        assert self._probe_settled_event is not None
        self._probe_settled_event.set()

    def _probe_settled(self, *, success: bool) -> None:
        self._end_probe()
        if success:
            self._failures = 0
            self._epoch += 1
            self._transition(CircuitState.CLOSED)
        else:
            self._open()

    def _probe_abandoned(self) -> None:
        self._end_probe()  # state stays HALF_OPEN; the first waiter to run becomes the probe

    def _outcome(self, *, success: bool, epoch: int) -> None:
        if self._state is not CircuitState.CLOSED or epoch != self._epoch:
            return  # issued before the breaker last opened: the probe decides now, not stale requests
        if success:
            self._failures = 0
            return
        self._failures += 1
        if self._failures >= self.failure_threshold:
            self._open()

    def _open(self) -> None:
        self._opened_at = self._clock()
        self._failures = 0
        self._transition(CircuitState.OPEN)

    def _transition(self, new: CircuitState) -> None:
        old = self._state
        if (old, new) not in ALLOWED_TRANSITIONS:
            raise RuntimeError(f"impossible circuit breaker transition {old.name} -> {new.name}")
        self._state = new
        if new is CircuitState.OPEN:
            self.opens += 1
        if self._on_transition is not None:
            self._on_transition(old, new)
