"""`async_core.http.breaker.CircuitBreaker` for worker threads: the same states and rules, a lock instead of the loop.

    CLOSED --failure_threshold consecutive failures--> OPEN --recovery_timeout passed, next acquire--> HALF_OPEN
    HALF_OPEN --probe success--> CLOSED          HALF_OPEN --probe failure--> OPEN (the timer restarts)

The lock guards the state transitions only, never a request: the original example checked its breaker, made the
request, then updated the breaker, and a lock around the request would serialize the threads and measure the lock.
In HALF_OPEN one thread holds the probe; the others wait on a condition for its outcome (no polling), as the async
breaker's waiters wait on an event. Outcomes of permits issued before the breaker last opened are ignored (epochs).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from async_core.errors import CircuitOpenError
from async_core.http.breaker import ALLOWED_TRANSITIONS, CircuitState


class Permit:
    """Leave to make one request: record at most one outcome (`success` or `failure`), then `release`."""

    __slots__ = ("_breaker", "_epoch", "_recorded", "_released", "is_probe")

    def __init__(self, breaker: ThreadedCircuitBreaker, *, is_probe: bool, epoch: int) -> None:
        self._breaker = breaker
        self._epoch = epoch
        self._recorded = False
        self._released = False
        self.is_probe = is_probe

    def success(self) -> None:
        self._record(success=True)

    def failure(self) -> None:
        self._record(success=False)

    def release(self) -> None:
        """Give the permit back; idempotent. A probe with no outcome recorded frees the probe slot."""
        if self._released:
            return
        self._released = True
        if self.is_probe and not self._recorded:
            self._breaker._settle_probe(None)

    def _record(self, *, success: bool) -> None:
        if self._released or self._recorded:
            raise RuntimeError("a permit settles once, before it is released")
        self._recorded = True
        if self.is_probe:
            self._breaker._settle_probe(success)
        else:
            self._breaker._outcome(success=success, epoch=self._epoch)


class ThreadedCircuitBreaker:
    """One breaker per host, shared by every worker thread. Counters: `opens`, `probes`, `rejections`."""

    def __init__(
        self,
        *,
        failure_threshold: int = 5,
        recovery_timeout: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError(f"failure_threshold must be >= 1, got {failure_threshold}")
        if recovery_timeout < 0:
            raise ValueError(f"recovery_timeout must be >= 0, got {recovery_timeout}")
        self.failure_threshold = failure_threshold
        self.recovery_timeout = recovery_timeout
        self._clock = clock
        self._lock = threading.Lock()
        self._probe_settled = threading.Condition(self._lock)
        self._state = CircuitState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._epoch = 0
        self._probe_in_flight = False
        self.opens = 0
        self.probes = 0
        self.rejections = 0

    @property
    def state(self) -> CircuitState:
        return self._state

    def acquire(self) -> Permit:
        """A permit, or `CircuitOpenError(retry_in)`; in HALF_OPEN with a probe out, waits for its outcome."""
        with self._lock:
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
                self._probe_settled.wait()  # releases the lock while waiting

    def _start_probe(self) -> Permit:
        self._probe_in_flight = True
        self.probes += 1
        return Permit(self, is_probe=True, epoch=self._epoch)

    def _settle_probe(self, success: bool | None) -> None:
        with self._lock:
            if self._state is not CircuitState.HALF_OPEN or not self._probe_in_flight:
                raise RuntimeError(f"a probe settled while the breaker is {self._state.name} with no probe in flight")
            self._probe_in_flight = False
            if success is True:
                self._failures = 0
                self._epoch += 1
                self._transition(CircuitState.CLOSED)
            elif success is False:
                self._open()
            self._probe_settled.notify_all()

    def _outcome(self, *, success: bool, epoch: int) -> None:
        with self._lock:
            if self._state is not CircuitState.CLOSED or epoch != self._epoch:
                return  # issued before the breaker last opened: the probe decides now
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
