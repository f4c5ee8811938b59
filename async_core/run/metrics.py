"""Counters of a sync, and the per-table (per-"worker") metrics the report is made of.

The event loop thread writes every counter here except `TableMetrics.records_written`, which the SDK thread
writes; the loop only reads it (an int read is atomic), for progress lines.
"""

from __future__ import annotations

import dataclasses
import time


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
class Metrics:
    """Counters for the whole sync."""

    requests: int = 0  # HTTP attempts that reached the network
    in_flight: int = 0
    retries: int = 0
    retries_succeeded: int = 0  # requests that needed a retry and then succeeded
    budget_refusals: int = 0
    breaker_rejections: int = 0
    gate_waits: int = 0
    gate_wait_seconds: float = 0.0
    tables: dict[str, TableMetrics] = dataclasses.field(default_factory=dict)

    def table(self, name: str) -> TableMetrics:
        if name not in self.tables:
            self.tables[name] = TableMetrics()
        return self.tables[name]

    @property
    def records_written(self) -> int:
        return sum(table.records_written for table in self.tables.values())
