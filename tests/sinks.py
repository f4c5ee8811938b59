"""A stand-in for the SDK's operations that records every call, and the thread that made it."""

from __future__ import annotations

import threading
import time
from typing import Any


class RecordingSink:
    """Records `upsert` and `checkpoint` calls in order; `delay` makes each upsert slow, like a busy SDK."""

    def __init__(self, *, delay: float = 0.0) -> None:
        self.calls: list[tuple[str, str | None, Any]] = []
        self.threads: set[int] = set()
        self._delay = delay

    def upsert(self, table: str, data: dict[str, Any]) -> None:
        self.threads.add(threading.get_ident())
        if self._delay:
            time.sleep(self._delay)
        self.calls.append(("upsert", table, data))

    def checkpoint(self, state: dict[str, Any]) -> None:
        self.threads.add(threading.get_ident())
        self.calls.append(("checkpoint", None, state))

    def rows(self, table: str) -> list[dict[str, Any]]:
        return [data for kind, name, data in self.calls if kind == "upsert" and name == table]

    def ids(self, table: str) -> list[int]:
        return sorted(row["id"] for row in self.rows(table))

    def checkpoints(self) -> list[dict[str, Any]]:
        return [state for kind, _, state in self.calls if kind == "checkpoint"]
