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

    def delete(self, table: str, keys: dict[str, Any]) -> None:
        self.threads.add(threading.get_ident())
        self.calls.append(("delete", table, keys))

    def truncate(self, table: str) -> None:
        self.threads.add(threading.get_ident())
        self.calls.append(("truncate", table, None))

    def deleted(self, table: str) -> list[dict[str, Any]]:
        return [data for kind, name, data in self.calls if kind == "delete" and name == table]

    def live(self, table: str) -> dict[Any, dict[str, Any]]:
        """The rows of `table` the calls leave live, by `id`, as the destination would hold them: upserts replace,
        deletes and truncates mark deleted (a later upsert brings a row back)."""
        rows: dict[Any, dict[str, Any]] = {}
        for kind, name, data in self.calls:
            if name != table:
                continue
            if kind == "upsert":
                rows[data["id"]] = data
            elif kind == "delete":
                rows.pop(data["id"], None)
            elif kind == "truncate":
                rows.clear()
        return rows

    def rows(self, table: str) -> list[dict[str, Any]]:
        return [data for kind, name, data in self.calls if kind == "upsert" and name == table]

    def ids(self, table: str) -> list[int]:
        return sorted(row["id"] for row in self.rows(table))

    def checkpoints(self) -> list[dict[str, Any]]:
        return [state for kind, _, state in self.calls if kind == "checkpoint"]
