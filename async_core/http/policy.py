"""What the HTTP client is told, and what it tells: a frozen `HttpPolicy` in, `Counters` out.

The client depends on nothing above it (no application settings, no run metrics): the caller builds the policy
(`async_core.settings.Settings.http_policy`, from the user's configuration and the source's declaration) and passes
any object with the counters' attributes (`async_core.run.metrics.Metrics` is one).
"""

from __future__ import annotations

import dataclasses
from typing import Protocol

from async_core.http.limit import LimitMode
from async_core.http.retry import Jitter, RetryStrategy


@dataclasses.dataclass(frozen=True, kw_only=True)
class HttpPolicy:
    """Every knob of one client. The defaults are the connector's (the threaded example's where it has one)."""

    max_workers: int = 3  # connections, and the ceiling of the concurrency limit
    requests_per_second: float = 0.0  # 0: no proactive limit (the server's announced pace is followed instead)
    api_timeout_seconds: float = 30.0  # one attempt, connect to last byte
    max_retries: int = 3
    retry_strategy: RetryStrategy = RetryStrategy.EXPONENTIAL_BACKOFF
    base_delay: float = 1.0
    max_delay: float = 30.0
    retry_jitter: Jitter = Jitter.FULL
    retry_budget_percent: float = 20.0
    max_wait_seconds: float = 300.0  # the longest server-asked wait, breaker outage or deferral a request sits through
    max_response_mb: float = 50.0
    memory_budget_mb: float = 48.0  # the sync's memory budget: a single response larger than it is refused too
    enable_circuit_breaker: bool = True
    failure_threshold: int = 5
    recovery_timeout: float = 30.0
    breaker_failure_percent: float = 50.0
    breaker_window: int = 100
    breaker_minimum_calls: int = 40
    breaker_half_open_probes: int = 3
    concurrency: LimitMode = LimitMode.ADAPTIVE
    concurrency_initial: int = 8
    concurrency_min_gain_percent: float = 3.0

    def __post_init__(self) -> None:
        if self.max_workers < 1:
            raise ValueError(f"max_workers must be at least 1, not {self.max_workers}")
        if self.max_delay < self.base_delay:
            raise ValueError(f"max_delay ({self.max_delay:g}) is below base_delay ({self.base_delay:g})")


FIELDS = tuple(field.name for field in dataclasses.fields(HttpPolicy))


class LimitTrace(Protocol):
    """Where the concurrency limit's path goes (`async_core.run.metrics.LimitPath`)."""

    mode: str

    def record(self, limit: float) -> None: ...


class Counters(Protocol):
    """What the client counts, for the caller's report. Written on the event loop thread only."""

    requests: int  # attempts that reached the network
    in_flight: int
    retries: int
    retries_succeeded: int
    budget_refusals: int  # retries given up because their deferrals would pass max_wait_seconds
    retries_deferred: int
    breaker_rejections: int
    gate_waits: int
    gate_wait_seconds: float

    @property
    def concurrency(self) -> LimitTrace: ...
