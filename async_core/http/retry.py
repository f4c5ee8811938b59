"""How long to wait before a retry, and whether a retry is allowed at all.

Pure strategy objects in the manner of tenacity's `wait` module: a schedule is a function of the retry number, the
randomness comes from an injected `random.Random`, and nothing here sleeps. The client does the sleeping.

    base_backoff   the deterministic schedule: exponential, fixed or linear, capped at `max_delay`
    Backoff        the schedule with jitter applied (AWS "Exponential Backoff and Jitter")
    server_delay   combines the backoff with a server's wait hint: the hint is never shortened
    RetryBudget    the share of retries to first attempts (gRPC / Finagle retry budget), so that a struggling
                   server is not sent a multiple of its normal load
"""

from __future__ import annotations

import dataclasses
import enum
import random


class RetryStrategy(enum.StrEnum):
    """The deterministic shape of the schedule (before jitter)."""

    EXPONENTIAL_BACKOFF = "exponential_backoff"  # base · 2^n
    FIXED_INTERVAL = "fixed_interval"  # base
    LINEAR_BACKOFF = "linear_backoff"  # base · (n + 1)


class Jitter(enum.StrEnum):
    """How randomness spreads the retries of many clients (see `Backoff.delay` for the formulas)."""

    NONE = "none"
    FULL = "full"
    EQUAL = "equal"
    DECORRELATED = "decorrelated"


# 2.0 ** 1000 is still a finite float; beyond it every schedule is at max_delay anyway.
_MAX_EXPONENT = 1000


def base_backoff(strategy: RetryStrategy, retry_number: int, *, base_delay: float, max_delay: float) -> float:
    """The delay before retry `retry_number` (0 for the first retry), without jitter. Pure.

    d(n) = min(max_delay, base_delay · 2^n)       EXPONENTIAL_BACKOFF
    d(n) = min(max_delay, base_delay)             FIXED_INTERVAL
    d(n) = min(max_delay, base_delay · (n + 1))   LINEAR_BACKOFF

    With base 1 and max 30, exponential gives 1, 2, 4, 8, 16, 30, 30, ...
    Raises ValueError for a negative retry number or delay.
    """
    if retry_number < 0:
        raise ValueError(f"retry_number must be >= 0, got {retry_number}")
    if base_delay < 0 or max_delay < 0:
        raise ValueError(f"delays must be >= 0, got base_delay={base_delay}, max_delay={max_delay}")
    strategy = RetryStrategy(strategy)
    if strategy is RetryStrategy.EXPONENTIAL_BACKOFF:
        delay = base_delay * 2.0 ** min(retry_number, _MAX_EXPONENT)
    elif strategy is RetryStrategy.FIXED_INTERVAL:
        delay = base_delay
    else:
        delay = base_delay * (retry_number + 1)
    return min(max_delay, delay)


@dataclasses.dataclass(frozen=True)
class Backoff:
    """A backoff schedule with jitter. Frozen configuration; the only state is the injected random generator.

    `Backoff(strategy, jitter, *, base_delay, max_delay, rng=None)`; `rng` defaults to a fresh `random.Random()`
    (pass a seeded one for a reproducible schedule). Every delay lies in [0, max_delay].
    """

    strategy: RetryStrategy
    jitter: Jitter
    _: dataclasses.KW_ONLY
    base_delay: float
    max_delay: float
    rng: random.Random | None = dataclasses.field(default=None, repr=False, compare=False)
    _random: random.Random = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.base_delay < 0 or self.max_delay < 0:
            raise ValueError(f"delays must be >= 0, got base_delay={self.base_delay}, max_delay={self.max_delay}")
        # Accept the enums' string values too; frozen, hence object.__setattr__.
        object.__setattr__(self, "strategy", RetryStrategy(self.strategy))
        object.__setattr__(self, "jitter", Jitter(self.jitter))
        object.__setattr__(self, "_random", self.rng if self.rng is not None else random.Random())

    def delay(self, retry_number: int, previous: float | None = None) -> float:
        """The delay before retry `retry_number` (0 for the first), in seconds, in [0, max_delay].

        With d = base_backoff(strategy, retry_number) and U(a, b) uniform on [a, b]:

            NONE          d
            FULL          U(0, d)
            EQUAL         d/2 + U(0, d/2)
            DECORRELATED  min(max_delay, U(base_delay, max(base_delay, 3 · previous)))

        DECORRELATED is its own schedule: it ignores `strategy` and `retry_number` and grows from `previous`, the
        delay actually used before the previous retry (base_delay when None, i.e. before the first retry).
        """
        if self.jitter is Jitter.DECORRELATED:
            if retry_number < 0:
                raise ValueError(f"retry_number must be >= 0, got {retry_number}")
            last = self.base_delay if previous is None else max(0.0, previous)
            high = max(self.base_delay, 3.0 * last)
            value = self._random.uniform(self.base_delay, high)
        else:
            d = base_backoff(self.strategy, retry_number, base_delay=self.base_delay, max_delay=self.max_delay)
            if self.jitter is Jitter.NONE:
                return d
            if self.jitter is Jitter.FULL:
                value = self._random.uniform(0.0, d)
            else:
                value = d / 2 + self._random.uniform(0.0, d / 2)
        # uniform() may round one ulp past its upper bound; keep the documented range exact.
        return min(self.max_delay, max(0.0, value))


def server_delay(backoff_delay: float, wait_hint: float | None) -> float:
    """The delay to sleep before a retry when the server may have said how long to wait.

    Returns max(wait_hint, backoff_delay), or backoff_delay when there is no hint. The server's wait is honoured
    exactly when our (jittered) backoff is shorter, and our backoff lengthens it when it is longer; the result is
    never below the hint. The backoff is not *added* to the hint: that would double long waits for no benefit,
    since the shared wait gate and the rate limiter already spread the requests that resume together.
    A negative hint counts as 0.
    """
    if wait_hint is None:
        return backoff_delay
    return max(max(0.0, wait_hint), backoff_delay)


class RetryBudget:
    """Caps retries to a share of first attempts, so that retries cannot multiply the load on a sick server.

    A retry is allowed while  retries < floor + percent / 100 · requests,  where `requests` counts first
    attempts (`note_request`) and `retries` the retries granted so far (the gRPC / Finagle retry budget; the floor
    lets a small sync retry at all). With the defaults (20 %, floor 10): 10 retries before any request, 30 after
    100 requests. A refused retry is not a lost page: the client defers it (waits, and lowers its concurrency
    limit) and then counts it with `spend_deferred`, so the budget sets the pace of retries, not their number.

    Not locked: it is meant for one event loop, where no other task runs between the check and the count.
    """

    def __init__(self, *, percent: float = 20.0, floor: int = 10) -> None:
        if percent < 0 or floor < 0:
            raise ValueError(f"percent and floor must be >= 0, got percent={percent}, floor={floor}")
        self.percent = percent
        self.floor = floor
        self._requests = 0
        self._retries = 0
        self._refusals = 0
        self._deferrals = 0

    def note_request(self) -> None:
        """Count one first attempt (not a retry)."""
        self._requests += 1

    def try_spend(self) -> bool:
        """True, and counts the retry, if the budget allows one more; else False, and counts a refusal."""
        # Multiplied out by 100 so that whole percentages compare exactly (7 / 100 · 100 is 7.000000000000001).
        if 100 * self._retries < 100 * self.floor + self.percent * self._requests:
            self._retries += 1
            return True
        self._refusals += 1
        return False

    def spend_deferred(self) -> None:
        """Count a retry that the budget refused but that goes anyway after a deferral: it is owed, so the budget
        stays spent (and further retries are deferred too) until first attempts have paid for it."""
        self._retries += 1
        self._deferrals += 1

    @property
    def deferrals(self) -> int:
        """Retries that went after a deferral (see `spend_deferred`)."""
        return self._deferrals

    @property
    def requests(self) -> int:
        """First attempts noted so far."""
        return self._requests

    @property
    def retries(self) -> int:
        """Retries granted so far."""
        return self._retries

    @property
    def refusals(self) -> int:
        """Retries refused so far."""
        return self._refusals
