"""The checkpointed state: per table, the contiguous prefix of pages whose rows were handed to the SDK.

Pages finish out of order; a table's `next_page` only moves past page N once pages 1..N are all written, so a
checkpoint never claims a page that is not. A page that could not be fetched holds the mark where it is: the next
sync fetches it again. A sync that ends with every table complete checkpoints a state with no cycle, so the next
sync makes a fresh full pass (JSONPlaceholder has no change cursor).

State format (version 1):
    {"version": 1,
     "cycle": {"started_at": "...", "page_size": 25,
               "tables": {"comments": {"next_page": 13, "complete": false}, ...}}}
or, after a complete pass:
    {"version": 1, "last_complete_sync": "..."}
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

STATE_VERSION = 1


@dataclasses.dataclass
class TableProgress:
    """The watermark of one table. Only the SDK thread touches it."""

    next_page: int = 1  # the first page not yet written; pages before it are all written
    complete: bool = False
    last_page: int | None = None  # known once the first response told the total, or the last page was seen
    written: set[int] = dataclasses.field(default_factory=set)  # pages written beyond the watermark
    lost: set[int] = dataclasses.field(default_factory=set)  # pages given up on this sync

    def mark_written(self, page: int) -> None:
        if page < self.next_page:
            return  # a page before the watermark was written in an earlier sync; nothing to move
        self.written.add(page)
        while self.next_page in self.written:
            self.written.discard(self.next_page)
            self.next_page += 1
        self._check_complete()

    def mark_lost(self, page: int) -> None:
        self.lost.add(page)

    def set_last_page(self, last_page: int) -> None:
        """The lowest claim wins: a total may overstate the collection, an empty page may not."""
        self.last_page = last_page if self.last_page is None else min(self.last_page, last_page)
        self._check_complete()

    def _check_complete(self) -> None:
        if self.last_page is not None and self.next_page > self.last_page:
            self.complete = True


class SyncState:
    """All tables' watermarks for the current cycle, and the dict the SDK checkpoints."""

    def __init__(self, *, started_at: str, page_size: int, tables: dict[str, TableProgress]) -> None:
        self.started_at = started_at
        self.page_size = page_size
        self.tables = tables

    @classmethod
    def resume(cls, state: Mapping[str, Any] | None, *, tables: Iterable[str], page_size: int, now: str) -> SyncState:
        """The progress to start from: the open cycle of `state` if it has one, else a fresh pass.

        A page size that changed since the cycle began is translated: the rows already written stay written and the
        next page is the one holding the first row not written (rows re-fetched are upserted again, harmlessly).
        """
        cycle = state.get("cycle") if isinstance(state, Mapping) else None
        if not isinstance(cycle, Mapping) or not isinstance(cycle.get("tables"), Mapping):
            return cls(started_at=now, page_size=page_size, tables={name: TableProgress() for name in tables})
        old_size = cycle.get("page_size")
        saved: Mapping[str, Any] = cycle["tables"]
        progress: dict[str, TableProgress] = {}
        for name in tables:
            entry = saved.get(name)
            if not isinstance(entry, Mapping):
                progress[name] = TableProgress()
                continue
            if entry.get("complete") is True:
                progress[name] = TableProgress(next_page=1, complete=True)
                continue
            next_page = entry.get("next_page")
            if not isinstance(next_page, int) or next_page < 1:
                next_page = 1
            progress[name] = TableProgress(next_page=_translate(next_page, old_size, page_size))
        started = cycle.get("started_at")
        return cls(started_at=started if isinstance(started, str) else now, page_size=page_size, tables=progress)

    @property
    def all_complete(self) -> bool:
        return all(progress.complete for progress in self.tables.values())

    def checkpoint(self) -> dict[str, Any]:
        """The state to checkpoint now: the open cycle."""
        return {
            "version": STATE_VERSION,
            "cycle": {
                "started_at": self.started_at,
                "page_size": self.page_size,
                "tables": {
                    name: {"next_page": progress.next_page, "complete": progress.complete}
                    for name, progress in sorted(self.tables.items())
                },
            },
        }

    @staticmethod
    def completed(finished_at: str) -> dict[str, Any]:
        """The state after a complete pass: the next sync starts a new one."""
        return {"version": STATE_VERSION, "last_complete_sync": finished_at}


def _translate(next_page: int, old_size: object, new_size: int) -> int:
    if not isinstance(old_size, int) or old_size == new_size:
        return next_page
    if old_size == 0 or new_size == 0:
        return 1  # one-request collections have no partial progress to keep
    rows_written = (next_page - 1) * old_size
    return rows_written // new_size + 1
