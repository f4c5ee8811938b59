"""The checkpointed state, per table: its watermark and its open pass. Only the SDK thread touches it.

Each table has a pass of its own (tables are independent: one whose page keeps failing does not hold back the
others). A pass fixes its incremental lower bound (`since`) and page size when it starts, so that page N means the
same thing after a resume. Within a pass, pages finish out of order; `next_page` only moves past page N once pages
1..N are all written, so a checkpoint never claims a page that is not. For walked paginators the pass also keeps
the request of `next_page` (the next link or cursor), and the largest cursor value of the written prefix (`high`).
When the pass completes, the watermark moves to `high` (never backwards) and the next sync starts a new pass.

A child table (one walk per parent row) keeps a watermark per parent and, in its open pass, the parents done
(integer keys as ranges, `async_core.run.ranges`, so that 100,000 numbered parents take a few bytes).

Data changes while it is read (issue 17), so a pass does not trust what a page number meant in an earlier sync:
it keeps the request of its last written page (`prev`) and a digest of that page's last primary key
(`prev_key`); a resumed pass first asks for that page again and goes on only if it still ends with that key
(otherwise it starts over from its bound). A sorted (keyset) pass resumes from `high`, never from a page number.
`began` is the server's time when the pass's first page was served: the watermark of a table whose API is not
sorted by its cursor never passes it.

Each entry is bound to what it describes (`binding`: the source, the base_url's origin and a fingerprint of the
table's declaration): an entry bound to another API, or to another declaration of the table, is not resumed (the
table starts a full pass; one log line says why). An entry saved before bindings existed is taken as belonging.

State format (version 2):
    {"version": 2,
     "tables": {"posts": {"watermark": "2024-05-01T00:00:00+00:00", "lost_streak": 0,
                          "binding": {"source": "jsonplaceholder", "origin": "https://host:443",
                                      "declaration": "3f2a..."},
                          "pass": {"started_at": "...", "since": null, "size": 25, "next_page": 13,
                                   "resume": null, "high": null, "prev": {...}, "prev_key": "9c1e...",
                                   "began": "2024-05-01T00:00:07+00:00"}},
                "departments": {"parents": {"1": "..."}, "lost_streak": 0,
                                "pass": {"started_at": "...", "done": ['"c7"'], "done_ranges": [[1, 5000]]}}}}
A version-1 state (the earlier format) starts a full pass; any other version is refused (`StateError`).

`refresh_tokens` (present only for a source with a rotating OAuth2 refresh token): the refresh token the server
last gave, by a digest of the grant it belongs to (`async_core.source.oauth2`), sealed with the OAuth2 client's
secret (`async_core.source.sealed`): the one secret the state holds, under this one key, never in the clear,
checkpointed as soon as it arrives; the README's Authentication section says why it is kept here.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from async_core.errors import StateError
from async_core.run.ranges import compact, expand
from async_core.source.incremental import Comparable, Incremental, later
from async_core.source.pagination import PageRequest
from async_core.source.windows import advance

STATE_VERSION = 2
_OLD_VERSIONS = (1,)


@dataclasses.dataclass
class _Mark:
    high: Comparable | None
    resume: PageRequest | None
    request: PageRequest | None = None
    last_key: str | None = None


@dataclasses.dataclass
class Walk:
    """One paginated walk: a table's pass, or one parent's share of a child table's pass."""

    next_page: int = 1  # the first page not yet written; pages before it are all written
    size: int | None = None  # the page size this walk asks for (fixed when it starts; smaller if the server caps)
    resume: PageRequest | None = None  # the request of `next_page`, for walked paginators
    high: Comparable | None = None  # the largest cursor value of pages 1..next_page-1
    last_page: int | None = None  # known once the total, or the last page, is known
    pending: dict[int, _Mark] = dataclasses.field(default_factory=dict)  # written beyond the watermark
    lost: set[int] = dataclasses.field(default_factory=set)  # pages given up on this sync
    prev: PageRequest | None = None  # the request of page next_page - 1 (to prove it on a resume)
    prev_key: str | None = None  # the digest of that page's last primary key
    began: dt.datetime | None = None  # the server's earliest time among the pass's written pages

    @property
    def complete(self) -> bool:
        return self.last_page is not None and self.next_page > self.last_page

    def mark_written(
        self,
        page: int,
        high: Comparable | None,
        resume: PageRequest | None,
        *,
        request: PageRequest | None = None,
        last_key: str | None = None,
        served_at: dt.datetime | None = None,
    ) -> None:
        if served_at is not None and (self.began is None or served_at < self.began):
            self.began = served_at  # any page written, even out of order: its rows are as new as its response
        if page < self.next_page:
            return  # written in an earlier sync; nothing to move
        self.pending[page] = _Mark(high, resume, request, last_key)
        while self.next_page in self.pending:
            mark = self.pending.pop(self.next_page)
            self.high = later(self.high, mark.high)
            self.resume = mark.resume
            self.prev, self.prev_key = mark.request, mark.last_key
            self.next_page += 1

    def set_last_page(self, last_page: int) -> None:
        """The lowest claim wins."""
        self.last_page = last_page if self.last_page is None else min(self.last_page, last_page)

    def replan(self, next_page: int, size: int) -> None:
        """The server capped the page size: the walk goes on at `size` from `next_page` (rows re-fetched are
        upserted again, harmlessly)."""
        self.next_page, self.size, self.pending, self.resume = next_page, size, {}, None
        self.prev, self.prev_key = None, None
        if next_page == 1:  # the pass is read again from its start: its start is the new first page's
            self.began = None


class TableState:
    """One table's watermark and open pass."""

    def __init__(
        self, name: str, cursor: Incremental | None, *, child: bool, binding: Mapping[str, str] | None = None
    ) -> None:
        self.name = name
        self.cursor = cursor
        self.child = child
        self.binding = dict(binding) if binding is not None else None
        self.watermark: Comparable | None = None
        self.lost_streak = 0
        self.pass_started_at: str | None = None
        self.fresh = False  # the open pass was opened by this sync (not resumed from the state)
        self.window_mark: str | None = None  # a windowed table's: the end of its finished windows' prefix
        self.since: Comparable | None = None
        self.walk: Walk | None = None  # plain tables
        self.parent_marks: dict[str, Comparable] = {}  # child tables
        self.done: set[str] = set()
        self.walks: dict[str, Walk] = {}  # child tables: parents walked this sync (not checkpointed)
        self.parents: tuple[str, ...] | None = None  # child tables: the parents of this pass, once listed
        self._remaining: set[str] | None = None  # child tables: the parents listed and not done yet
        self.completed_this_sync = False
        self.lost_this_sync = 0

    # -- the pass
    def begin(self, now: str) -> None:
        """Opens a pass if none is open (a new one takes its lower bound from the watermark)."""
        if self.pass_started_at is not None:
            return
        self.pass_started_at = now
        self.fresh = True
        self.since = self.cursor.since(self.watermark) if self.cursor and self.watermark is not None else None
        self.walk = None if self.child else Walk()
        self.done = set()

    def take_fresh(self) -> bool:
        """Whether the pass opened in this sync (not resumed from the state), once: a reconciled table's truncate."""
        fresh, self.fresh = self.fresh, False
        return fresh

    def walk_for(self, unit: str | None) -> Walk:
        if unit is None:
            if self.walk is None:
                self.walk = Walk()
            return self.walk
        return self.walks.setdefault(unit, Walk())

    def unit_since(self, unit: str) -> Comparable | None:
        mark = self.parent_marks.get(unit)
        return self.cursor.since(mark) if self.cursor and mark is not None else None

    def after_page(self, unit: str | None) -> None:
        """Closes what completed: a parent's walk, or the pass."""
        if unit is not None:
            walk = self.walks[unit]
            if walk.complete and unit not in self.done:
                self.done.add(unit)
                if self.window_mark is not None:  # a windowed table: the mark moves over the finished prefix
                    self.window_mark = advance(self.window_mark, self.done)
                del self.walks[unit]  # nothing more comes for a parent done: its walk is not kept for the sync
                high = later(self.parent_marks.get(unit), walk.high)
                if high is not None:
                    self.parent_marks[unit] = high
                if self._remaining is not None:
                    self._remaining.discard(unit)
                self._close_child_pass()
        elif self.walk is not None and self.walk.complete:
            self.watermark = later(self.watermark, self._capped(self.walk.high, self.walk.began))
            self._close()

    def _capped(self, high: Comparable | None, began: dt.datetime | None) -> Comparable | None:
        """The pass's high mark, at most its start for an API not sorted by the cursor: a row changed during the
        pass, on a page read before the change, is then read again by the next pass."""
        if self.cursor is None or self.cursor.sorted or began is None or not isinstance(high, dt.datetime):
            return high
        return min(high, began)

    def set_parents(self, parents: Iterable[str]) -> None:
        self.parents = tuple(parents)
        self._remaining = set(self.parents) - self.done
        self._close_child_pass()

    def _close_child_pass(self) -> None:
        """Closes the pass once every parent listed is done: a count kept as they finish, not a scan of the
        done set after every page (quadratic in the parents)."""
        if self._remaining is not None and not self._remaining and self.open:
            self._close()

    def _close(self) -> None:
        self.pass_started_at, self.since, self.walk, self.done = None, None, None, set()
        self.completed_this_sync = True

    @property
    def open(self) -> bool:
        return self.pass_started_at is not None

    # -- persistence
    def to_state(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"lost_streak": self.lost_streak}
        if self.binding is not None:
            entry["binding"] = self.binding
        if self.window_mark is not None:
            entry["window_mark"] = self.window_mark
        if self.child:
            entry["parents"] = {key: self._out(value) for key, value in sorted(self.parent_marks.items())}
        else:
            entry["watermark"] = self._out(self.watermark)
        if not self.open:
            entry["pass"] = None
        elif self.child:
            ranges, others = compact(self.done)  # numbered parents as ranges: a bounded state
            entry["pass"] = {"started_at": self.pass_started_at, "done": others}
            if ranges:
                entry["pass"]["done_ranges"] = ranges
        else:
            walk = self.walk or Walk()
            entry["pass"] = {
                "started_at": self.pass_started_at,
                "since": self._out(self.since),
                "size": walk.size,
                "next_page": walk.next_page,
                "resume": walk.resume.to_state() if walk.resume else None,
                "high": self._out(walk.high),
            }
            # what proves the pass on a resume, and caps its watermark: written only once known
            if walk.prev is not None and walk.prev_key is not None:
                entry["pass"].update(prev=walk.prev.to_state(), prev_key=walk.prev_key)
            if walk.began is not None:
                entry["pass"]["began"] = walk.began.isoformat()
        return entry

    def _out(self, value: Comparable | None) -> Any:
        return None if value is None or self.cursor is None else self.cursor.to_state(value)

    def _in(self, value: object) -> Comparable | None:
        return None if self.cursor is None else self.cursor.from_state(value)

    def load(self, entry: Mapping[str, Any]) -> None:
        """Reads back what `to_state` wrote; anything malformed starts that part afresh (never a crash)."""
        streak = entry.get("lost_streak")
        self.lost_streak = streak if isinstance(streak, int) and streak >= 0 else 0
        mark = entry.get("window_mark")
        self.window_mark = mark if isinstance(mark, str) else None
        if self.child:
            marks = entry.get("parents")
            if isinstance(marks, Mapping):
                for key, value in marks.items():
                    mark = self._in(value)
                    if isinstance(key, str) and mark is not None:
                        self.parent_marks[key] = mark
        else:
            self.watermark = self._in(entry.get("watermark"))
        opened = entry.get("pass")
        if not isinstance(opened, Mapping) or not isinstance(opened.get("started_at"), str):
            return
        self.pass_started_at = opened["started_at"]
        if self.child:
            done = expand(opened.get("done_ranges", []), opened.get("done", []))
            self.done = done if done is not None else set()
            return
        self.since = self._in(opened.get("since"))
        walk = Walk()
        next_page, size = opened.get("next_page"), opened.get("size")
        walk.next_page = next_page if isinstance(next_page, int) and next_page >= 1 else 1
        walk.size = size if isinstance(size, int) and size >= 1 else None
        walk.resume = PageRequest.from_state(opened.get("resume"))
        walk.high = self._in(opened.get("high"))
        walk.prev = PageRequest.from_state(opened.get("prev"))
        prev_key = opened.get("prev_key")
        walk.prev_key = prev_key if isinstance(prev_key, str) else None
        walk.began = _moment(opened.get("began"))
        if walk.next_page > 1 and walk.resume is None and walk.size is None:
            walk.next_page = 1  # nothing says what page N was: start the pass again
        self.walk = walk


def _moment(value: object) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _unbound(saved: object, binding: Mapping[str, str] | None) -> list[str]:
    """What of `binding` the saved entry's differs in (empty: it belongs; an entry without one belongs)."""
    if binding is None or not isinstance(saved, Mapping):
        return []
    return [part for part in ("source", "origin", "declaration") if saved.get(part) != binding.get(part)]


class SyncState:
    """Every table's state, and the dict the SDK checkpoints."""

    def __init__(
        self,
        tables: dict[str, TableState],
        *,
        carried: Mapping[str, Any] | None = None,
        refresh_tokens: Mapping[str, str] | None = None,
    ) -> None:
        self.tables = tables
        self._carried = dict(carried or {})  # entries of tables not synced now, kept as they were
        self.notes: list[str] = []  # what the resume decided that the log should say (one line each)
        self.refresh_tokens = dict(refresh_tokens or {})  # rotated OAuth2 refresh tokens, by grant digest

    @classmethod
    def resume(
        cls,
        state: Mapping[str, Any] | None,
        *,
        tables: Iterable[tuple[str, Incremental | None, bool]],
        now: str,
        bindings: Mapping[str, Mapping[str, str]] | None = None,
    ) -> SyncState:
        """The state to start from: each table's saved entry, or a fresh one; an open pass per table.

        `tables`: (name, cursor, is a child table); `bindings`: per table, what its entry must be bound to (see
        the module docstring). Raises `StateError` for a state of an unknown version.
        """
        saved: Mapping[str, Any] = {}
        tokens: dict[str, str] = {}
        if isinstance(state, Mapping) and state:
            version = state.get("version")
            if version == STATE_VERSION:
                entries = state.get("tables")
                saved = entries if isinstance(entries, Mapping) else {}
                kept = state.get("refresh_tokens")
                if isinstance(kept, Mapping):
                    tokens = {k: v for k, v in kept.items() if isinstance(k, str) and isinstance(v, str) and v}
            elif version not in _OLD_VERSIONS and not (version is None and "cycle" in state):
                raise StateError(
                    f"the saved state has version {version!r}, which this connector does not know (it writes "
                    f"version {STATE_VERSION}); it was not written by this connector, or by a newer one. Reset the "
                    "connection's state to start over with a full sync."
                )
        result: dict[str, TableState] = {}
        rebound: dict[str, list[str]] = {}
        unbound: list[str] = []
        for name, cursor, child in tables:
            binding = (bindings or {}).get(name)
            table = TableState(name, cursor, child=child, binding=binding)
            entry = saved.get(name)
            if isinstance(entry, Mapping):
                differs = _unbound(entry.get("binding"), binding)
                if differs:
                    rebound[name] = differs
                else:
                    if binding is not None and entry.get("binding") is None:
                        unbound.append(name)
                    table.load(entry)
            table.begin(now)
            result[name] = table
        carried = {name: entry for name, entry in saved.items() if name not in result}
        resumed = cls(result, carried=carried, refresh_tokens=tokens)
        if rebound:
            what = "; ".join(f"{name} ({', '.join(parts)})" for name, parts in sorted(rebound.items()))
            resumed.notes.append(
                f"the saved state of {what} was written for another API or another declaration of the table: "
                "not resumed (no watermark is sent to another API); a full pass starts"
            )
        if unbound:
            resumed.notes.append(
                f"the saved state of {', '.join(sorted(unbound))} predates state bindings: taken as this API's, "
                "and bound to it from now on"
            )
        return resumed

    @property
    def all_complete(self) -> bool:
        return all(not table.open for table in self.tables.values())

    def checkpoint(self) -> dict[str, Any]:
        """The state to checkpoint now."""
        entries = dict(self._carried)
        entries.update({name: table.to_state() for name, table in self.tables.items()})
        state: dict[str, Any] = {"version": STATE_VERSION, "tables": dict(sorted(entries.items()))}
        if self.refresh_tokens:
            state["refresh_tokens"] = dict(self.refresh_tokens)
        return state
