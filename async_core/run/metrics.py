"""Counters of a sync, and the per-table (per-"worker") metrics the report is made of.

The event loop thread writes every counter here except `TableMetrics.records_written`, which the SDK thread
writes; the loop only reads it (an int read is atomic), for progress lines.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

# The limit's path keeps at most this many points; past it, every other point is dropped (and the spacing
# between kept points doubles), so a sync of any length costs a bounded list.
MAX_LIMIT_SAMPLES = 512


@dataclasses.dataclass
class TableMetrics:
    """One table's stream: the async variant of the threaded example's per-thread metrics."""

    started: float = dataclasses.field(default_factory=time.monotonic)
    finished: float | None = None
    pages: int = 0
    records_fetched: int = 0
    records_written: int = 0  # rows handed to the SDK (written by the SDK thread)
    errors: int = 0
    status: str = "running"  # running | complete | incomplete | stopped | cancelled

    @property
    def duration(self) -> float:
        return (self.finished or time.monotonic()) - self.started


@dataclasses.dataclass
class LimitPath:
    """The concurrency limit over a sync: start, lowest, highest, current, and (seconds since start, limit) points
    for a plot, recorded by the limit's `on_change` hook each time its whole part changes."""

    mode: str = "adaptive"
    start: float | None = None
    low: float = 0.0
    high: float = 0.0
    current: float = 0.0
    started: float = dataclasses.field(default_factory=time.monotonic)
    samples: list[tuple[float, float]] = dataclasses.field(default_factory=list)
    _stride: int = 1  # record every `_stride`-th change once thinned
    _changes: int = 0

    def record(self, limit: float) -> None:
        if self.start is None:
            self.start = self.low = self.high = limit
        self.low = min(self.low, limit)
        self.high = max(self.high, limit)
        self.current = limit
        self._changes += 1
        if self._changes % self._stride:
            return
        self.samples.append((round(time.monotonic() - self.started, 3), round(limit, 2)))
        if len(self.samples) >= MAX_LIMIT_SAMPLES:
            del self.samples[1::2]
            self._stride *= 2

    def summary(self) -> dict[str, Any]:
        """For the sync report: whole requests for start/min/max/final, and the points as [seconds, limit]."""
        return {
            "mode": self.mode,
            "start": int(self.start or 0),
            "min": int(self.low),
            "max": int(self.high),
            "final": int(self.current),
            "samples": [[t, limit] for t, limit in self.samples],
        }


@dataclasses.dataclass
class Metrics:
    """Counters for the whole sync."""

    requests: int = 0  # HTTP attempts that reached the network
    in_flight: int = 0
    retries: int = 0
    retries_succeeded: int = 0  # requests that needed a retry and then succeeded
    budget_refusals: int = 0  # retries given up because their deferrals would pass max_wait_seconds
    retries_deferred: int = 0  # retries the budget refused that went after a deferral
    breaker_rejections: int = 0
    gate_waits: int = 0
    gate_wait_seconds: float = 0.0
    tables: dict[str, TableMetrics] = dataclasses.field(default_factory=dict)
    concurrency: LimitPath = dataclasses.field(default_factory=LimitPath)

    def table(self, name: str) -> TableMetrics:
        if name not in self.tables:
            self.tables[name] = TableMetrics()
        return self.tables[name]

    @property
    def records_written(self) -> int:
        return sum(table.records_written for table in self.tables.values())
