"""One paginated walk: a table's pass, or one parent's share of a child table's. Pagination that never lies.

The paginator reads facts off each response; the walk decides, and does not believe a server blindly:
- addressable pages with a known total fan out at once (each page task under the client's semaphore); a page
  inside the total that comes back empty or short is a retryable error, not the end;
- a first page shorter than asked while more remain means the server caps the page size: the walk goes on at
  the server's size (`Replan`), so every row lands;
- an empty page that would end a walk is fetched once more before it is believed (a lagging replica, or the
  api-playground under concurrent requests, answers an empty page, even a total of 0, now and then);
- a walk that makes no progress (the same rows again, a next link or cursor seen before, more pages than the
  total allows, more than `max_pages_per_table`) stops with a clear error in `sync_errors`, after a bounded
  number of requests.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

from async_core.errors import FatalError
from async_core.run.bridge import LastPage, Replan, Slot
from async_core.source.incremental import Comparable
from async_core.source.pagination import PageFacts, PageRequest, Paginator
from async_core.source.records import compile_path, dig
from async_core.source.spec import TableSpec

DEFAULT_PAGE_SIZE = 100  # a page size for styles that must send one when `page_size` is 0
MAX_EMPTY_PAGES = 10  # empty pages in a row, each with a next link or cursor, before the walk is called stuck


class NoProgress(FatalError):
    """The server's pages do not move forward (it ignores the paging parameters, or loops)."""


@dataclasses.dataclass(frozen=True)
class Fetched:
    """One page as received: its records and what the response says about the rest."""

    records: list[Any]
    facts: PageFacts
    skipped: str | None = None  # the error rule that called the page expected-empty: it ends its walk as it is

    @property
    def doubtful(self) -> bool:
        """Empty, and no rule vouches for it: fetched once more before it may end a walk."""
        return not self.records and self.skipped is None


class Pages(Protocol):
    """What a walk needs from the engine: fetching a page, handing it over, recording a loss."""

    async def reserve(self) -> Slot: ...

    async def fetch(
        self, walk: Walk, number: int, request: PageRequest, slot: Slot, *, expect: int | None
    ) -> Fetched | None: ...

    def deliver(self, walk: Walk, number: int, fetched: Fetched, slot: Slot, *, resume: PageRequest | None) -> None: ...

    def lose(self, walk: Walk, number: int, slot: Slot, error: Exception) -> None: ...

    def put(self, message: LastPage | Replan) -> None: ...


@dataclasses.dataclass(frozen=True, kw_only=True)
class WalkStart:
    """Where a walk begins: a new pass at page 1, or the checkpointed point of an open one."""

    next_page: int = 1
    size: int | None = None
    resume: PageRequest | None = None
    since: Comparable | None = None


class Walk:
    """Walks one table (or one parent's child rows) from its start to its last page."""

    def __init__(
        self,
        spec: TableSpec,
        *,
        pages: Pages,
        start: WalkStart,
        page_size: int,
        max_pages: int,
        confirm_delay: float,
        unit: str | None = None,
        parent: Mapping[str, Any] | None = None,
        owner: str | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.spec = spec
        self.owner = owner or spec.name  # the table the walk is for (a child's, when it lists the parent's rows)
        self.unit = unit
        self.parent = parent  # a child walk's parent values (fill the path, add columns)
        self.since = start.since
        self._pages = pages
        self._start = start
        self._max_pages = max_pages
        self._confirm_delay = confirm_delay
        self._sleep = sleep
        self._fingerprints: dict[tuple[Any, ...], int] = {}
        paginator: Paginator = spec.paginator
        self.paginator = paginator
        size = start.size or paginator.page_size or page_size
        if size == 0 and not paginator.zero_size_fetches_all:
            size = paginator.max_page_size or DEFAULT_PAGE_SIZE  # 0 means "all at once" only to json-server
        if paginator.max_page_size:
            size = min(size, paginator.max_page_size)
        self.size = size  # 0 = the whole collection in one request (json-server's `page_size` 0)
        self._key_paths = tuple(
            compile_path(c.source) for c in spec.columns if c.name in spec.primary_key and not c.from_parent
        )

    @property
    def name(self) -> str:
        return self.spec.name

    async def run(self, group: asyncio.TaskGroup) -> None:
        """Fetches every page. Fanned-out pages are tasks of `group`; the caller waits for the group."""
        paginator, start = self.paginator, self._start
        if paginator.sends_size() and self.size == 0:
            await self._walk_single()
            return
        if start.size is None and paginator.sends_size():
            self._pages.put(Replan(self.name, start.next_page, self.size, self.unit))  # the pass's page size
        number = start.next_page
        request = start.resume if start.resume is not None and number > 1 else self._request(number)
        await self._walk(number, request, group)

    def _request(self, number: int) -> PageRequest:
        return self.paginator.request(number, self.size)

    async def _walk_single(self) -> None:
        slot = await self._pages.reserve()
        try:
            fetched = await self._fetch_confirmed(1, PageRequest(), slot)
            if fetched is not None:
                self._pages.put(LastPage(self.name, 1, self.unit))
                self._pages.deliver(self, 1, fetched, slot, resume=None)
        finally:
            slot.release()

    async def _walk(self, number: int, request: PageRequest, group: asyncio.TaskGroup) -> None:
        first = number
        seen: set[PageRequest] = {request}
        size_known = False  # the server gave a full page at this size: a short page is then the last one
        rows_seen, announced, empty_run = 0, None, 0  # records walked; the total of page 1; empty pages in a row
        while True:
            if number - first >= self._max_pages:
                await self._lose(number, NoProgress(f"more than max_pages_per_table ({self._max_pages}) pages"))
                return
            slot = await self._pages.reserve()
            try:
                fetched = await self._fetch(number, request, slot, expect=None)
                if fetched is None:
                    return  # lost: the pass stays open before it
                if self.paginator.addressable and number == first:
                    plan = self._plan(number, fetched)
                    if plan.restart is not None:  # capped on a resumed page: start over at the server's size
                        slot.release()
                        await self._walk(plan.restart, self._request(plan.restart), group)
                        return
                    if plan.last is not None:
                        if not fetched.records:  # an empty collection (or a lie): believe it only if confirmed
                            fetched = await self._confirm(number, request, slot)
                            if fetched is None:
                                return
                            if fetched.records:
                                continue  # not empty after all: plan again from this page
                        self._pages.put(LastPage(self.name, max(plan.last, number), self.unit))
                        self._pages.deliver(self, number, fetched, slot, resume=None)
                        slot.release()
                        await self._fan_out(number + 1, plan.last, fetched.facts, group)
                        return
                following = self._next(number, fetched, size_known)
                if following is None and fetched.doubtful:
                    fetched = await self._confirm(number, request, slot)
                    if fetched is None:
                        return
                    following = self._next(number, fetched, size_known)
                count = len(fetched.records)
                rows_seen += count
                if number == first == 1 and fetched.facts.total_items is not None:
                    announced = fetched.facts.total_items
                if self.paginator.addressable and count >= self.size:
                    size_known = True
                elif self._maybe_capped(number, first, count, fetched.facts, size_known):
                    self.size = count  # go on at the server's size: the next page says whether it was the last
                    self._pages.put(Replan(self.name, number, count, self.unit))
                    following = self._request(number + 1)
                if following is None and announced is not None and rows_seen < announced:
                    # The walk ended short of the total its first page announced: not complete. The next sync
                    # walks again from page 1 (a walked page N cannot be asked for on its own).
                    self._pages.deliver(self, number, fetched, slot, resume=None)
                    shortfall = f"the walk ended with {rows_seen} of the {announced} records its first page announced"
                    await self._lose(number + 1, FatalError(shortfall))
                    return
                if following is None:
                    self._pages.put(LastPage(self.name, number, self.unit))
                    self._pages.deliver(self, number, fetched, slot, resume=None)
                    return
                empty_run = 0 if fetched.records else empty_run + 1
                if following in seen or empty_run >= MAX_EMPTY_PAGES:
                    self._pages.deliver(self, number, fetched, slot, resume=None)
                    why = "repeats a request" if following in seen else f"follows {empty_run} empty pages in a row"
                    await self._lose(number + 1, NoProgress(f"pagination loop: page {number + 1} {why}"))
                    return
                seen.add(following)
                self._pages.deliver(self, number, fetched, slot, resume=following)
            finally:
                slot.release()
            number, request = number + 1, following

    def _maybe_capped(
        self,
        number: int,
        first: int,
        count: int,
        facts: PageFacts,
        size_known: bool,
    ) -> bool:
        """A short first page of a numbered walk without a total: the last page, or a capped page size? Going on
        at the server's size finds out (an empty next page, confirmed, ends it). Asking for page 2 at the size
        first asked would skip rows on an offset API (offset 25 after 10 rows), so the walk goes on at `count`."""
        return (
            self.paginator.addressable
            and number == first == 1
            and 0 < count < self.size
            and not size_known
            and facts.next is None
            and not facts.last
        )

    async def _fetch(self, number: int, request: PageRequest, slot: Slot, *, expect: int | None) -> Fetched | None:
        fetched = await self._pages.fetch(self, number, request, slot, expect=expect)
        if fetched is not None:
            try:
                self.check_progress(number, fetched.records)
            except NoProgress as exc:
                self._pages.lose(self, number, slot, exc)
                return None
        return fetched

    def _plan(self, number: int, fetched: Fetched) -> _Plan:
        """For the first page fetched of an addressable walk: its last page when the total is known, or the page
        to start over at when the server capped the page size on a resumed page."""
        total_items, total_pages = fetched.facts.total_items, fetched.facts.total_pages
        if total_items is None and total_pages is None:
            return _Plan()
        count, size = len(fetched.records), self.size
        if total_items is None:
            assert total_pages is not None
            if number == 1 and 0 < count < size and total_pages > 1:  # pages counted at the server's capped size
                self.size = count
                self._pages.put(Replan(self.name, 1, count, self.unit))
            return _Plan(last=total_pages if total_pages else number - 1)
        expected = max(0, min(size, total_items - (number - 1) * size))
        if 0 < count < expected:  # the server caps the page size
            restart = (number - 1) * size // count + 1
            self.size = count
            self._pages.put(Replan(self.name, restart, count, self.unit))
            if number > 1:
                return _Plan(restart=restart)
            return _Plan(last=math.ceil(total_items / count))
        return _Plan(last=math.ceil(total_items / size) if total_items else number - 1)

    async def _fan_out(self, first: int, last: int, facts: PageFacts, group: asyncio.TaskGroup) -> None:
        """Pages `first`..`last`, each a task of `group`, created as bridge slots free up (so a huge total costs
        tasks only as fast as pages are written). Each page must hold what the total says it holds."""
        if last - first + 1 > self._max_pages:
            await self._lose(first, NoProgress(f"the total announces {last} pages, more than max_pages_per_table"))
            return
        total = facts.total_items
        for number in range(first, last + 1):
            if total is not None:
                expect: int | None = max(0, min(self.size, total - (number - 1) * self.size))
            else:  # a count of pages: every page but the last is full, and the last is not empty
                expect = self.size if number < last else 1
            slot = await self._pages.reserve()
            task = group.create_task(self._fan_out_page(number, expect, slot), name=f"{self.name}:{number}")
            # A task cancelled before its first step never enters its `finally` (a sibling failing in the same
            # loop turn cancels it so): the slot goes back when the task ends, however it ends.
            task.add_done_callback(_releasing(slot))

    async def _fan_out_page(self, number: int, expect: int | None, slot: Slot) -> None:
        try:
            fetched = await self._fetch(number, self._request(number), slot, expect=expect)
            if fetched is not None:
                self._pages.deliver(self, number, fetched, slot, resume=None)
        finally:
            slot.release()

    def _next(self, number: int, fetched: Fetched, size_known: bool) -> PageRequest | None:
        """The request after page `number`, or None when it was the last."""
        facts, count = fetched.facts, len(fetched.records)
        if facts.next is not None:
            if facts.next.url is None and self.paginator.sends_size():  # a cursor: the page size goes along
                return PageRequest(params=facts.next.params + self._request(number + 1).params)
            return facts.next
        if facts.last or not self.paginator.addressable:
            return None
        if count == 0 or (count < self.size and size_known):
            return None
        return self._request(number + 1)

    async def _confirm(self, number: int, request: PageRequest, slot: Slot) -> Fetched | None:
        """An empty page that would end the walk, fetched once more before it is believed."""
        await self._sleep(self._confirm_delay)
        return await self._fetch(number, request, slot, expect=None)

    async def _fetch_confirmed(self, number: int, request: PageRequest, slot: Slot) -> Fetched | None:
        fetched = await self._fetch(number, request, slot, expect=None)
        if fetched is not None and fetched.doubtful:
            return await self._confirm(number, request, slot)
        return fetched

    async def _lose(self, number: int, error: Exception) -> None:
        slot = await self._pages.reserve()
        self._pages.lose(self, number, slot, error)

    def check_progress(self, number: int, rows: list[Any]) -> None:
        """Raises `NoProgress` when page `number` holds the same records as another page of this walk (compared
        by the count and the key fields of the first and last record)."""
        if not rows:
            return
        keys = self._key_paths
        first, last = rows[0], rows[-1]
        if not isinstance(first, Mapping) or not isinstance(last, Mapping):
            return
        fingerprint = (len(rows), *(_key(dig(first, k)) for k in keys), *(_key(dig(last, k)) for k in keys))
        seen = self._fingerprints.setdefault(fingerprint, number)
        if seen != number:
            raise NoProgress(
                f"page {number} holds the same rows as page {seen}: the server ignores the paging parameters"
            )


def _releasing(slot: Slot) -> Callable[[asyncio.Task[None]], None]:
    """A done callback that gives `slot` back (a no-op once the page was sent)."""
    return lambda _: slot.release()


def _key(value: Any) -> Any:
    """A key field's value as a fingerprint part (lists and objects by their text, so they hash)."""
    return repr(value) if isinstance(value, dict | list) else value


@dataclasses.dataclass(frozen=True)
class _Plan:
    last: int | None = None  # the last page, when the total is known
    restart: int | None = None  # start over at this page (the server capped the page size)
