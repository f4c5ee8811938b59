"""Counters shared by worker threads (one lock), and each thread's own metrics (no lock: one writer each)."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections import Counter
from typing import Any


class SharedCounters:
    """The sync-wide counters; `add` is the only way to change them, under one lock (`+=` on an attribute is not
    atomic across threads)."""

    NAMES = (
        "requests",
        "retries",
        "retries_succeeded",
        "budget_refusals",
        "retries_deferred",
        "breaker_rejections",
        "gate_waits",
    )

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: Counter[str] = Counter()
        self.gate_wait_seconds = 0.0
        self.statuses: Counter[int] = Counter()  # HTTP statuses received, e.g. {200: 1182}

    def add(self, name: str, amount: int = 1) -> None:
        with self._lock:
            self._values[name] += amount

    def add_wait(self, seconds: float) -> None:
        with self._lock:
            self._values["gate_waits"] += 1
            self.gate_wait_seconds += seconds

    def note_status(self, status: int) -> None:
        with self._lock:
            self.statuses[status] += 1

    def __getitem__(self, name: str) -> int:
        return self._values[name]


@dataclasses.dataclass
class ThreadMetrics:
    """One worker thread's numbers, as in the threaded example's `ThreadMetrics`."""

    started: float = dataclasses.field(default_factory=time.monotonic)
    finished: float | None = None
    records_processed: int = 0
    errors_encountered: int = 0
    pages: int = 0

    def summary(self) -> dict[str, Any]:
        duration = (self.finished or time.monotonic()) - self.started
        return {
            "records_processed": self.records_processed,
            "errors_encountered": self.errors_encountered,
            "pages": self.pages,
            "duration_seconds": round(duration, 3),
            "records_per_second": round(self.records_processed / duration, 2) if duration > 0 else 0.0,
        }


class PerThread:
    """Each worker thread's `ThreadMetrics`, created on first use and kept for the summary."""

    def __init__(self) -> None:
        self._local = threading.local()
        self._lock = threading.Lock()
        self.by_thread: dict[str, ThreadMetrics] = {}

    def mine(self) -> ThreadMetrics:
        metrics: ThreadMetrics | None = getattr(self._local, "metrics", None)
        if metrics is None:
            metrics = ThreadMetrics()
            self._local.metrics = metrics
            with self._lock:
                self.by_thread[threading.current_thread().name] = metrics
        return metrics
