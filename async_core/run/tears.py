"""Whether a pass read a collection that held still (issue 17): the evidence a plain table's walk gathers, page by
page, that rows moved while it was read.

A pass is *torn* when a primary key comes twice, the total changes between pages, a page holds more rows than its
total, a row of a page was changed between the pass's start and the moment that page was served (by the server's
clock; unsorted page, offset and link styles with a timestamp cursor), or the pass, read from page 1, ends with
fewer distinct keys than its total. Keys are kept as hashes, in memory, for this sync only; they compare as JSON
values (`true` and `14.0` are not the records keyed 1 and 14, though Python's True == 1 and 14.0 == 14).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Any

from async_core.errors import FatalError
from async_core.source.incremental import Incremental
from async_core.source.records import dig


class TornPass(FatalError):
    """The collection changed while a pass read it: the pass is not complete (see the module docstring)."""


@dataclasses.dataclass
class PassEvidence:
    """What one pass has read: its keys (as hashes), its total, the earliest time a page was served; the first
    contradiction found (`torn`). `cursor` is set only when rows changed during the pass can be seen (`page`)."""

    key_paths: tuple[tuple[str, ...], ...]
    cursor: Incremental | None = None
    began: dt.datetime | None = None  # the pass's start by the server's clock (the earliest page served)
    torn: str | None = None
    total: int | None = None
    unkeyed: int = 0  # records read without a whole key (not an object, a key field missing or null)
    keys: set[int] = dataclasses.field(default_factory=set)

    def page(self, number: int, records: list[Any], total: int | None, served_at: dt.datetime | None) -> None:
        """Records one page's keys and total; the first contradiction tears the pass."""
        if self.cursor is not None and served_at is not None:
            self._changed_during(number, records, served_at)
        if self.torn is not None:
            return
        count = len(records)
        if total is not None and count:  # an empty page's total is a lagging replica's (the walk confirms it)
            if self.total is None:
                self.total = total
            elif total != self.total:
                self.torn = f"the total changed from {self.total} to {total} at page {number}"
                return
            if count > total:
                self.torn = f"page {number} holds {count} records, more than the total of {total}"
                return
        if self.key_paths:
            self._keys_of(number, records)

    def _keys_of(self, number: int, records: list[Any]) -> None:
        # A record without a whole key is refused as a row (sync_errors) and cannot be told from another: it counts
        # as read (against the total), never as a repeat.
        paths, keys = self.key_paths, self.keys
        for record in records:
            if not isinstance(record, Mapping):
                self.unkeyed += 1
                continue
            if len(paths) == 1:  # the usual key, one field: no list, no generator (a hot path: every record)
                value = dig(record, paths[0])
                if value is None:
                    self.unkeyed += 1
                    continue
                key = hash((value.__class__, fingerprint(value)))
            else:
                values = [dig(record, path) for path in paths]
                if any(value is None for value in values):
                    self.unkeyed += 1
                    continue
                key = hash(tuple((value.__class__, fingerprint(value)) for value in values))
            if key in keys:
                shown = ", ".join(repr(dig(record, path)) for path in paths)
                self.torn = f"the record with key {shown} came twice (again at page {number})"
                return
            keys.add(key)

    def _changed_during(self, number: int, records: list[Any], served: dt.datetime) -> None:
        """Tears the pass when a row of this page was changed after the pass began and before the page was served
        (a value beyond the page's own time is a clock skew or a sentinel, not a change)."""
        assert self.cursor is not None
        self.began = served if self.began is None else min(self.began, served)
        if self.torn is not None:
            return
        began, upper, cursor = self.began, served + dt.timedelta(seconds=2), self.cursor
        for record in records:
            value = cursor.value_of(record)
            if isinstance(value, dt.datetime) and began <= value <= upper:
                self.torn = (
                    f"a record of page {number} was changed at {value.isoformat()}, while the pass was read (it "
                    f"began at {began.isoformat()} by the server's clock)"
                )
                return

    def short(self) -> str | None:
        """Why a whole pass (read from page 1, every page in) is torn though no page contradicted another: fewer
        distinct records than its total. None when it holds them all, or when that cannot be told."""
        if self.total is None or not self.key_paths:
            return None
        read = len(self.keys) + self.unkeyed
        if read >= self.total:
            return None
        return f"the pass read {read} distinct records of the {self.total} its total announced"

    def forget(self) -> None:
        """The pass starts over: its keys are not this next pass's."""
        self.keys.clear()
        self.unkeyed = 0


def fingerprint(value: Any) -> Any:
    """A key field's value as a hashable part (lists and objects by their text)."""
    return repr(value) if isinstance(value, dict | list) else value
