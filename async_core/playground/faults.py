"""Fault profiles, and the pure decision of which fault (if any) a request gets.

Contract:
- `FaultProfile` is frozen: per-fault rates (fractions of requests, 0 to 1, summing to at most 1), the knobs of
  the faults (`retry_after_seconds`, `stall_seconds`), outage windows, the seed, `latency_ms`, and `capacity`
  (above it latency grows, above twice it 503s: see `capacity_delay`). Derive
  variants with `dataclasses.replace(profile("flaky"), server_error=0.2)`.
- `FaultDecider.decide(elapsed)` draws one number from `random.Random(seed)` per request outside an outage, so a
  run's fault sequence depends only on the seed and the order of arrival. It is deliberately not keyed on the
  URL: a retried request draws again and usually succeeds, as with a real flaky server.
- Inside an outage window (seconds since the server started, start inclusive, end exclusive) every request gets
  `OUTAGE` (a 503), and no number is drawn.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Mapping
from typing import Final, Literal

FaultKind = Literal[
    "rate_limit_seconds",  # 429 + Retry-After: <seconds>
    "rate_limit_date",  # 429 + Retry-After: <HTTP-date>
    "server_error",  # 500
    "unavailable",  # 503
    "stall",  # sleeps stall_seconds, then answers normally
    "invalid_json",  # 200, application/json, a body that is not JSON
    "truncated",  # 200, Content-Length larger than the bytes sent, then the connection is closed
    "reset",  # the connection is aborted without a response
    "outage",  # 503: the request arrived inside an outage window
]
# The drawn faults, in the order their rates are stacked on [0, 1) (so a seed means the same thing across runs).
RANDOM_FAULTS: Final[tuple[FaultKind, ...]] = (
    "rate_limit_seconds",
    "rate_limit_date",
    "server_error",
    "unavailable",
    "stall",
    "invalid_json",
    "truncated",
    "reset",
)
OUTAGE: Final[FaultKind] = "outage"


@dataclasses.dataclass(frozen=True)
class FaultProfile:
    """Which faults the playground injects, how often, and how they behave. Validated on construction."""

    rate_limit_seconds: float = 0.0
    rate_limit_date: float = 0.0
    server_error: float = 0.0
    unavailable: float = 0.0
    stall: float = 0.0
    invalid_json: float = 0.0
    truncated: float = 0.0
    reset: float = 0.0
    retry_after_seconds: int = 1  # the wait a 429 asks for, as seconds or as a date that far ahead
    stall_seconds: float = 60.0  # longer than any sensible client timeout
    outages: tuple[tuple[float, float], ...] = ()  # (start_s, end_s) since the server started: every request 503
    seed: int = 0
    latency_ms: float = 0.0  # added to every response
    # Requests served at once at full speed (0: unbounded). With n requests in flight on arrival, above it each
    # waits max(latency_ms, 20) · 4 · (n − capacity) / capacity more (twice the base time at 1.25 × capacity),
    # and above twice it the request is refused with a 503 (no Retry-After: an overloaded server's answer).
    capacity: int = 0

    def __post_init__(self) -> None:
        for kind in RANDOM_FAULTS:
            rate = getattr(self, kind)
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"fault rate {kind} must be between 0 and 1, got {rate!r}")
        if self.total_rate > 1.0 + 1e-9:
            raise ValueError(f"fault rates add up to {self.total_rate:g}, more than 1")
        if self.retry_after_seconds < 0 or self.stall_seconds < 0 or self.latency_ms < 0 or self.capacity < 0:
            raise ValueError("retry_after_seconds, stall_seconds, latency_ms and capacity must not be negative")
        for window in self.outages:
            if len(window) != 2 or not 0 <= window[0] < window[1]:
                raise ValueError(f"an outage window is (start_s, end_s) with 0 <= start < end, got {window!r}")

    def rates(self) -> dict[FaultKind, float]:
        """The rate of each drawn fault, in stacking order."""
        return {kind: float(getattr(self, kind)) for kind in RANDOM_FAULTS}

    @property
    def total_rate(self) -> float:
        """The fraction of requests (outside outages) that get some fault."""
        return sum(self.rates().values())

    def with_rates(self, rates: Mapping[str, float]) -> FaultProfile:
        """A copy with these rates changed (names from `RANDOM_FAULTS`); ValueError for another name."""
        unknown = set(rates) - set(RANDOM_FAULTS)
        if unknown:
            raise ValueError(f"unknown fault {sorted(unknown)[0]!r}; expected one of {', '.join(RANDOM_FAULTS)}")
        return dataclasses.replace(self, **{name: float(rate) for name, rate in rates.items()})  # type: ignore[arg-type]

    def forcing(self, kind: FaultKind) -> FaultProfile:
        """A copy in which every request gets `kind`: its rate 1, the others 0; knobs, seed, latency, outages kept."""
        if kind not in RANDOM_FAULTS:
            raise ValueError(f"only a drawn fault can be forced, not {kind!r}: outages are windows of time")
        return self.with_rates({name: 1.0 if name == kind else 0.0 for name in RANDOM_FAULTS})

    def in_outage(self, elapsed: float) -> bool:
        """Whether `elapsed` seconds since the server started fall inside an outage window."""
        return any(start <= elapsed < end for start, end in self.outages)


PROFILES: Final[dict[str, FaultProfile]] = {
    "none": FaultProfile(),
    # About 9% of requests: every kind shows up in a sync of a few hundred requests. Stalls are rare because each
    # costs a client a whole timeout.
    "flaky": FaultProfile(
        rate_limit_seconds=0.015,
        rate_limit_date=0.01,
        server_error=0.015,
        unavailable=0.015,
        stall=0.005,
        invalid_json=0.01,
        truncated=0.01,
        reset=0.01,
        retry_after_seconds=1,
        stall_seconds=60.0,
    ),
}


def profile(name: str) -> FaultProfile:
    """The named profile; ValueError naming the allowed names otherwise."""
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown fault profile {name!r}; expected one of {', '.join(PROFILES)}") from None


# The base time of the capacity model when the profile adds no latency of its own.
CAPACITY_BASE_MS: Final = 20.0


def capacity_delay(fault_profile: FaultProfile, in_flight: int) -> float | None:
    """The extra seconds a request waits when it arrives with `in_flight` requests in flight (itself included);
    None when it is refused (more than twice the capacity). Pure; 0.0 at or below capacity, or without one."""
    capacity = fault_profile.capacity
    if capacity <= 0 or in_flight <= capacity:
        return 0.0
    if in_flight > 2 * capacity:
        return None
    base = max(fault_profile.latency_ms, CAPACITY_BASE_MS) / 1000
    return base * 4 * (in_flight - capacity) / capacity


def choose_fault(fault_profile: FaultProfile, draw: float, elapsed: float) -> FaultKind | None:
    """The fault of a request that arrived `elapsed` seconds after start, given a uniform `draw` in [0, 1).

    Pure: an outage wins; otherwise the rates are stacked in `RANDOM_FAULTS` order and `draw` picks one or none.
    """
    if fault_profile.in_outage(elapsed):
        return OUTAGE
    threshold = 0.0
    for kind in RANDOM_FAULTS:
        threshold += float(getattr(fault_profile, kind))
        if draw < threshold:
            return kind
    return None


class FaultDecider:
    """A profile and its random stream: one draw per request outside an outage. Not thread-safe by itself (the
    server calls it from its event loop only)."""

    __slots__ = ("_random", "_rate", "profile")

    def __init__(self, fault_profile: FaultProfile) -> None:
        self.profile = fault_profile
        self._random = random.Random(fault_profile.seed)
        self._rate = fault_profile.total_rate

    def decide(self, elapsed: float) -> FaultKind | None:
        """The fault for the next request, which arrived `elapsed` seconds after the server started."""
        if self.profile.outages and self.profile.in_outage(elapsed):
            return OUTAGE
        if self._rate <= 0.0:
            return None  # no draw: a fault-free profile costs nothing per request
        return choose_fault(self.profile, self._random.random(), elapsed)
