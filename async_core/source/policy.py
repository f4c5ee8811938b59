"""How a source is read, as opposed to what a user decides: page size, retry details, waits, limits, cadence.

A user's configuration holds the threaded example's keys (workers, thresholds, timeout, breaker, retries) and the
secrets; everything an API's owner would tune once for that API is declared with the source, in a `Policy`:

    Source(name="my_api", ..., policy=Policy(page_size=100, max_wait_seconds=60))

Every field has the default the connector had as a configuration key, so a source that declares nothing behaves as
before. Until the next release the old configuration keys are still accepted and win over the source's `Policy`,
with a warning that names this home (see `async_core.settings.MOVED_KEYS`).
"""

from __future__ import annotations

import dataclasses
import math

from async_core.http.limit import LimitMode
from async_core.http.retry import Jitter

# (low, high, low excluded): the range of each numeric field, shared with the deprecated configuration keys.
RANGES: dict[str, tuple[float, float, bool]] = {
    "page_size": (0, 10_000, False),
    "max_delay": (0, 3600, False),
    "retry_budget_percent": (0, 100, False),
    "max_wait_seconds": (0, 86_400, False),
    "max_response_mb": (0, 4096, True),
    "memory_budget_mb": (1, 65_536, False),
    "checkpoint_every_rows": (1, 10_000_000, False),
    "max_pages_per_table": (1, 100_000_000, False),
    "lost_page_syncs": (1, 1000, False),
    "breaker_failure_percent": (0, 100, True),
    "breaker_window": (1, 10_000, False),
    "breaker_minimum_calls": (1, 10_000, False),
    "breaker_half_open_probes": (1, 100, False),
    "concurrency_initial": (1, 512, False),
    "concurrency_min_gain_percent": (0, 50, True),
}
WHOLE = frozenset(
    {
        "page_size",
        "checkpoint_every_rows",
        "max_pages_per_table",
        "lost_page_syncs",
        "breaker_window",
        "breaker_minimum_calls",
        "breaker_half_open_probes",
        "concurrency_initial",
    }
)


def written(number: float) -> str:
    """A bound as a user types it: 10000000, not 1e+07."""
    return str(int(number)) if float(number).is_integer() else f"{number}"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Policy:
    """A source's tuning. Frozen and validated: a bad value raises `ValueError` naming the field when the source
    module is imported, like every other declaration mistake."""

    page_size: int = 25  # rows per request for a paginator that sets none; 0 asks for a collection in one request
    max_delay: float = 30.0  # cap on one backoff, seconds
    retry_jitter: Jitter = Jitter.FULL  # randomisation of the backoff
    retry_budget_percent: float = 20.0  # retries at once, as a share of requests (plus 10); beyond: deferred
    max_wait_seconds: float = 300.0  # the longest wait (a hint or pace, a pause, an outage) a table sits through
    max_response_mb: float = 50.0  # decoded body size refused while streaming
    # Decoded MB of pages in flight, queued, and held by the SDK until its next checkpoint: fetching waits when it
    # is spent. 48 MB of JSON is 250 to 500 MB of Python objects, within a deployed connection's 1 GB with margin;
    # a source run where there is more memory (Hybrid Deployment) may declare more.
    memory_budget_mb: float = 48.0
    checkpoint_every_rows: int = 5000  # each checkpoint costs the SDK a flush
    max_pages_per_table: int = 100_000  # a walk that goes further stops the table: no paging without bound
    lost_page_syncs: int = 3  # a page lost in this many syncs in a row fails the sync, so that someone looks
    allow_insecure_http: bool = False  # plain http to a non-loopback host
    breaker_failure_percent: float = 50.0  # failure share of the window that opens the breaker
    breaker_window: int = 100  # calls in the breaker's sliding window
    breaker_minimum_calls: int = 40  # calls in the window before the rate may open it
    breaker_half_open_probes: int = 3  # requests let through after recovery_timeout, judged together
    concurrency: LimitMode = LimitMode.ADAPTIVE  # adaptive between 1 and max_workers, or fixed at max_workers
    concurrency_initial: int = 8  # where the adaptive limit starts (at most max_workers)
    concurrency_min_gain_percent: float = 3.0  # the throughput a step up of the adaptive limit must add

    def __post_init__(self) -> None:
        problems = [problem for name in RANGES if (problem := self._check(name))]
        for name, kind in (("retry_jitter", Jitter), ("concurrency", LimitMode)):
            try:
                object.__setattr__(self, name, kind(getattr(self, name)))
            except ValueError:
                allowed = ", ".join(member.value for member in kind)
                problems.append(f"{name} is {getattr(self, name)!r}; expected one of {allowed}")
        if not isinstance(self.allow_insecure_http, bool):  # a string "false" would be true
            problems.append(f"allow_insecure_http must be True or False, not {self.allow_insecure_http!r}")
        if self.breaker_minimum_calls > self.breaker_window:
            problems.append(f"breaker_minimum_calls ({self.breaker_minimum_calls}) exceeds breaker_window")
        if problems:
            raise ValueError("policy: " + "; ".join(problems))

    def _check(self, name: str) -> str | None:
        value = getattr(self, name)
        low, high, low_open = RANGES[name]
        whole = name in WHOLE
        if isinstance(value, bool) or not isinstance(value, int | float) or (whole and not isinstance(value, int)):
            return f"{name} must be a {'whole number' if whole else 'number'}, not {value!r}"
        if not math.isfinite(value) or value > high or value < low or (low_open and value == low):
            bound = "more than" if low_open else "at least"
            return f"{name} is {value!r}; expected {bound} {written(low)}, at most {written(high)}"
        return None
