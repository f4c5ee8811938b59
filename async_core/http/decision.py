"""One request's retry decision, free of I/O: told what an attempt came to, it says what to do next.

The shape of tenacity's `iter()`: the driver sends the request, tells the decision what happened, and gets back an
action (`DoSleep`, then attempt again; or `GiveUp`). Two drivers share it: the async client
(`async_core.http.client.ApiClient.fetch`, which awaits its sleeps) and the benchmark's threaded baseline
(`benchmarks.threaded.client.ThreadedApiClient.fetch`, which blocks in them). The decision never sleeps, sends,
counts or locks: the drivers do, so that each runs it under its own concurrency model.

    refused(CircuitOpenError)  the breaker refused locally: not an attempt; sleep until its probe, within
                               `max_wait_seconds` of such waits in all (else `WaitTooLongError`)
    failed(RetryableError)     an attempt failed and may be retried: a server's wait hint longer than
                               `max_wait_seconds` is `WaitTooLongError`; after `max_retries` retries, give up;
                               else sleep the backoff (never less than the hint). A retry the budget refuses is
                               deferred, not dropped: it sleeps max(backoff, U(max_delay / 2, max_delay)), unless
                               its deferrals would pass `max_wait_seconds` (then give up)
    fatal(FetchError)          not retryable: counted as an attempt, given up
    succeeded()                the attempt gave data: how many attempts it took and what it recovered from
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable

from async_core.errors import CircuitOpenError, FetchError, RetryableError, WaitTooLongError
from async_core.http.retry import Backoff, server_delay


@dataclasses.dataclass(frozen=True, kw_only=True)
class RetryRules:
    """The knobs of the decision (from the client's `HttpPolicy`); `backoff` holds the strategy and jitter."""

    backoff: Backoff
    max_retries: int
    max_delay: float
    max_wait_seconds: float
    rng: random.Random = dataclasses.field(default_factory=random.Random, compare=False)


@dataclasses.dataclass(frozen=True)
class DoSleep:
    """Sleep `seconds`, then attempt again. `retry`: it is a retry (False: a wait for an open breaker);
    `deferred`: the retry budget was spent, so the driver marks the deferral (budget, concurrency limit)."""

    seconds: float
    retry: bool = True
    deferred: bool = False


@dataclasses.dataclass(frozen=True)
class GiveUp:
    """Raise the error that was reported. `budget_spent`: given up because deferring would wait too long."""

    budget_spent: bool = False


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What a success says about its request: attempts it took, and the last error recovered from."""

    attempts: int
    recovered_from: str | None
    recovered_rule: str | None
    retried: bool


FIRST_TRY = Outcome(attempts=1, recovered_from=None, recovered_rule=None, retried=False)  # the common case


class RetryDecision:
    """The decision for one request. `spend` asks the shared retry budget for a retry (True: it may go now); the
    threaded driver takes its lock around it. Made once per request: kept small (slots, a shared first outcome)."""

    __slots__ = (
        "_breaker_waited",
        "_deferred",
        "_last_error",
        "_previous_delay",
        "_rules",
        "_spend",
        "attempts",
        "retries",
    )

    def __init__(self, rules: RetryRules, *, spend: Callable[[], bool]) -> None:
        self._rules = rules
        self._spend = spend
        self.attempts = 0
        self.retries = 0
        self._previous_delay: float | None = None
        self._breaker_waited = 0.0
        self._deferred = 0.0
        self._last_error: FetchError | None = None

    def refused(self, error: CircuitOpenError) -> DoSleep:
        """The breaker refused the request locally. Raises `WaitTooLongError` past `max_wait_seconds` of waits."""
        limit = self._rules.max_wait_seconds
        if self._breaker_waited + error.retry_in > limit:
            raise WaitTooLongError(
                f"the API stayed unavailable (circuit breaker open) for more than max_wait_seconds ({limit:g} s)"
            ) from error
        self._breaker_waited += error.retry_in
        return DoSleep(error.retry_in, retry=False)

    def failed(self, error: RetryableError) -> DoSleep | GiveUp:
        """An attempt failed with a retryable error (its `attempts` is set). Raises `WaitTooLongError` for a wait
        hint longer than `max_wait_seconds`; the driver pauses its wait gate for a shorter one first."""
        rules = self._rules
        self.attempts += 1
        error.attempts = self.attempts
        self._last_error = error
        if error.wait_hint is not None and error.wait_hint > rules.max_wait_seconds:
            raise WaitTooLongError(
                f"the server asked to wait {error.wait_hint:g} s, more than max_wait_seconds "
                f"({rules.max_wait_seconds:g} s)"
            ) from error
        if self.retries >= rules.max_retries:
            return GiveUp()
        delay = server_delay(rules.backoff.delay(self.retries, self._previous_delay), error.wait_hint)
        deferred = not self._spend()
        if deferred:
            delay = max(delay, rules.rng.uniform(rules.max_delay / 2, rules.max_delay))
            if self._deferred + delay > rules.max_wait_seconds:
                return GiveUp(budget_spent=True)
            self._deferred += delay
        self._previous_delay = delay
        self.retries += 1
        return DoSleep(delay, deferred=deferred)

    def fatal(self, error: FetchError) -> GiveUp:
        """An attempt failed for good (its `attempts` is set)."""
        error.attempts = self.attempts + 1
        return GiveUp()

    def succeeded(self) -> Outcome:
        self.attempts += 1
        last = self._last_error
        if last is None and self.attempts == 1:
            return FIRST_TRY
        return Outcome(
            attempts=self.attempts,
            recovered_from=f"{type(last).__name__}: {last}" if last else None,
            recovered_rule=last.rule if last else None,
            retried=self.retries > 0,
        )
