"""The sink of the fetch-only mode: counts rows instead of writing them, so that only the concurrency model is
measured. Thread-safe (the threaded engine calls it from every worker, as it would call `op.upsert`)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any


class CountingSink:
    """`upsert(table, data)` and `checkpoint(state)`, counted."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.rows: Counter[str] = Counter()
        self.checkpoints = 0
        self.first_row_at: float | None = None  # time.perf_counter() of the first upsert: the end of start-up

    def upsert(self, table: str, data: dict[str, Any]) -> None:
        with self._lock:
            if self.first_row_at is None:
                self.first_row_at = time.perf_counter()
            self.rows[table] += 1

    def checkpoint(self, state: dict[str, Any]) -> None:
        with self._lock:
            self.checkpoints += 1

    def delete(self, table: str, keys: dict[str, Any]) -> None:
        pass  # the benchmark's sources declare no deletes

    def truncate(self, table: str) -> None:
        pass


class CollectingSink(CountingSink):
    """Keeps every upserted row, in order (to replay the same rows as bare `op.upsert` calls)."""

    def __init__(self) -> None:
        super().__init__()
        self.upserts: list[tuple[str, dict[str, Any]]] = []

    def upsert(self, table: str, data: dict[str, Any]) -> None:
        with self._lock:
            self.rows[table] += 1
            self.upserts.append((table, data))
