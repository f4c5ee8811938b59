"""What the event loop hands the SDK thread through the bridge (`async_core.run.bridge`): a page's rows, a lost
page, what a walk learnt (its last page, a capped page size, a child table's parents), a truncate, an error worth
keeping, a rotated credential, the end of the sync; and the outcome the SDK thread returns."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any

from async_core.run.ledger import ErrorRecord
from async_core.source.incremental import Comparable
from async_core.source.pagination import PageRequest

Op = tuple[str, str, dict[str, Any]]  # ("upsert" | "delete", table, row or keys)


@dataclasses.dataclass(frozen=True)
class Rows:
    """A fetched page: its valid rows, and the records of its rows that failed validation.

    `unit` is the parent key of a child table's walk (None for a plain table); `high` the page's largest cursor
    value; `resume` the request of the next page, for walked paginators; `request` the page's own request,
    `last_key` the digest of its last record's primary key and `served_at` the server's time when it was served
    (what a resume proves the page by, and what caps an unsorted table's watermark).
    """

    table: str
    page: int
    rows: list[dict[str, Any]]
    rejected: list[ErrorRecord]
    unit: str | None = None
    high: Comparable | None = None
    resume: PageRequest | None = None
    request: PageRequest | None = None
    last_key: str | None = None
    served_at: dt.datetime | None = None
    # More operations of the page, after its rows: (kind, table, data), kind "upsert" (a nested list's row) or
    # "delete" (a tombstone's or a deleted-records table's key).
    ops: list[Op] = dataclasses.field(default_factory=list)
    size: int = 0  # the page's decoded body, in bytes: what it counts against the memory budget until a checkpoint


@dataclasses.dataclass(frozen=True)
class PageLost:
    """A page that could not be fetched: recorded in `sync_errors`; the watermark stays before it."""

    table: str
    page: int
    error: ErrorRecord
    unit: str | None = None


@dataclasses.dataclass(frozen=True)
class LastPage:
    """The walk's last page is now known (from a total, or a last page seen)."""

    table: str
    last_page: int
    unit: str | None = None


@dataclasses.dataclass(frozen=True)
class Replan:
    """The server caps the page size: the walk goes on at `size` from `next_page`."""

    table: str
    next_page: int
    size: int
    unit: str | None = None


@dataclasses.dataclass(frozen=True)
class Parents:
    """A child table's parents for this pass, once listed: the pass completes when each one's walk has."""

    table: str
    keys: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class Truncate:
    """A reconciled table's pass starts: if it opens this sync, its rows (and its nested lists') are marked deleted
    before any of its pages is written; the pass's upserts bring back what the server holds
    (`async_core.source.deletes`)."""

    table: str
    tables: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class Noted:
    """An error that cost no page or record (a skipped record, a recovered retry worth keeping): to `sync_errors`."""

    error: ErrorRecord


@dataclasses.dataclass(frozen=True)
class TokenKept:
    """A credential the server replaced (a rotated OAuth2 refresh token): kept in the state and checkpointed at
    once, since the one it replaces is dead. `repr` never shows it."""

    key: str
    value: str = dataclasses.field(repr=False)


@dataclasses.dataclass(frozen=True)
class Finish:
    """The end of the sync. `summary` is called on the SDK thread, after every earlier message is written."""

    status: str  # succeeded | partial | failed
    message: str | None
    summary: Callable[[], dict[str, Any]]


@dataclasses.dataclass(frozen=True)
class Crashed:
    """The event loop thread ended with an exception the engine did not handle."""

    error: BaseException


Message = Rows | PageLost | LastPage | Replan | Parents | Noted | TokenKept | Truncate | Finish | Crashed


@dataclasses.dataclass(frozen=True)
class Outcome:
    """How the sync ended, as the SDK thread saw it."""

    status: str
    message: str | None
    summary: dict[str, Any]
