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

Data changes while it is read (issue 17):
- a table's pass is *torn* when a primary key comes twice, a total changes between pages, a page holds more rows
  than its total, or the pass (read from page 1 in this sync) holds fewer distinct keys than its total: rows moved
  between pages while they were read, and one may have slid past the walk. The pass is then not complete: its
  watermark stays, it starts over from page 1 at its bound in the next sync, and the table is `incomplete` (one
  `TornPass` error in `sync_errors`). The keys are tracked as a set of hashes, in memory, for this sync only.
  A pass announces its last page only once it has read clean (`settle`, after its pages are all in).
- a resumed pass does not trust its page number: it asks for the last page it wrote again and goes on only if
  that page still ends with the same key; otherwise it starts over at page 1 (same bound).
- a table whose cursor is `sorted` is walked by keyset (`_walk_sorted`): each request carries the last row's
  cursor value as its bound, so no page number is ever reused across a change.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import hashlib
import math
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

from async_core.errors import FatalError
from async_core.run.bridge import Slot
from async_core.run.messages import LastPage, Replan
from async_core.run.tears import PassEvidence, TornPass, fingerprint
from async_core.source.incremental import Comparable
from async_core.source.pagination import PageFacts, PageRequest, Paginator
from async_core.source.records import compile_path, dig
from async_core.source.spec import TableSpec

DEFAULT_PAGE_SIZE = 100  # a page size for styles that must send one when `page_size` is 0
MAX_TIE_PAGE = 1000  # the largest page a sorted walk asks for to read a tie at once, when the API states no maximum
MAX_EMPTY_PAGES = 10  # empty pages in a row, each with a next link or cursor, before the walk is called stuck


class NoProgress(FatalError):
    """The server's pages do not move forward (it ignores the paging parameters, or loops)."""


@dataclasses.dataclass(frozen=True)
class Fetched:
    """One page as received: its records and what the response says about the rest."""

    records: list[Any]
    facts: PageFacts
    skipped: str | None = None  # the error rule that called the page expected-empty: it ends its walk as it is
    request: PageRequest | None = None  # what was asked for
    served_at: dt.datetime | None = None  # the server's time when it answered (see page_flow.served_at)
    size: int = 0  # the decoded body's bytes, counted against the memory budget

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
    prev: PageRequest | None = None  # the request of page next_page - 1, to prove it on a resume
    prev_key: str | None = None  # the digest of that page's last key
    began: dt.datetime | None = None  # the server's time when the open pass's first page was served


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
        log: Callable[[str], None] | None = None,
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
        self._log = log
        self._sorted = spec.cursor is not None and spec.cursor.sorted
        self._inner = 1  # a sorted walk's page inside its current bound (a tie longer than a page)
        self._asked = self.size  # a sorted walk's page size now (grown to read a long tie in one response)
        # Tear detection (a plain table's pass, not a keyset walk: that one reads its tie rows again by design).
        self._tracks = unit is None and not self._sorted and paginator.style != "single"
        # A row changed while the pass read it: the collection may have shifted under page numbers or links (a
        # delete whose gap an insert filled keeps every total and key single). Not for cursor tokens (keysets).
        changes_seen = (
            self._tracks and paginator.style != "cursor" and spec.cursor is not None and spec.cursor.kind == "timestamp"
        )
        self._evidence = PassEvidence(self._key_paths, spec.cursor if changes_seen else None, began=start.began)
        self._from_start = False  # this walk read its pass from page 1: the distinct keys must reach the total
        self._lost = False
        self._last_pages: list[int] = []

    @property
    def name(self) -> str:
        return self.spec.name

    async def run(self, group: asyncio.TaskGroup) -> None:
        """Fetches every page. Fanned-out pages are tasks of `group`; the caller waits for the group, then calls
        `settle`."""
        paginator, start = self.paginator, self._start
        if paginator.sends_size() and self.size == 0:
            await self._walk_single()
            return
        if self._sorted:
            await self._walk_sorted()
            return
        if start.size is None and paginator.sends_size():
            self._pages.put(Replan(self.name, start.next_page, self.size, self.unit))  # the pass's page size
        number = start.next_page
        request = start.resume if start.resume is not None and number > 1 else self._request(number)
        if number > 1 and self.unit is None:
            proven = await self._prove(number)
            if proven is _LOST:
                return
            if proven is None:  # the page before it no longer ends where it did: the pass starts over
                self._pages.put(Replan(self.name, 1, self.size, self.unit))
                number, request, self._evidence.began = 1, self._request(1), None
            elif isinstance(proven, PageRequest):
                request = proven
            else:
                return  # the proven page is now the last: nothing follows it
        self._from_start = number == 1
        await self._walk(number, request, group)

    async def _prove(self, number: int) -> PageRequest | object | None:
        """A resumed pass asks for its last written page again: if it still ends with the same key, the pass goes
        on (with that page's fresh next request; `_DONE` if it is now the last); otherwise None (start over).
        `_LOST` when the page cannot be fetched (the pass stays open)."""
        start = self._start
        previous = start.prev if start.prev is not None else None
        if previous is None and self.paginator.addressable:
            previous = self._request(number - 1)
        if previous is None or start.prev_key is None:
            self._note(
                f"table {self.name}: the open pass cannot prove page {number} still starts where it did; "
                "it starts over at page 1"
            )
            return None
        slot = await self._pages.reserve()
        try:
            fetched = await self._fetch(number - 1, previous, slot, expect=None)
            if fetched is None:
                return _LOST
            if not fetched.records or self.digest(fetched.records[-1]) != start.prev_key:
                self._note(
                    f"table {self.name}: page {number - 1} no longer ends with the row it ended with when it was "
                    f"written (the collection changed); the open pass starts over at page 1"
                )
                return None
            if self.paginator.addressable:
                return self._request(number)
            following = self._next(number - 1, fetched, size_known=True)
            if following is None:
                self._announce_last(number - 1)
                return _DONE
            return following
        finally:
            slot.release()

    def _note(self, line: str) -> None:
        if self._log is not None:
            self._log(line)

    def bound(self, number: int, request: PageRequest) -> Comparable | None:
        """The cursor's lower bound to send with page `number`'s request, if any."""
        cursor = self.spec.cursor
        if cursor is None or self.since is None:
            return None
        if self._sorted:  # every new bound is a first request; a page inside a tie follows the server's link
            return self.since if request.url is None and (self._inner == 1 or not cursor.first_request_only) else None
        return self.since if number == 1 or not cursor.first_request_only else None

    def digest(self, record: Any) -> str | None:
        """A stable digest of a record's primary key (what a resume proves its page by), None without one."""
        if not isinstance(record, Mapping) or not self._key_paths:
            return None
        return key_digest(tuple(dig(record, path) for path in self._key_paths))

    def _announce_last(self, number: int) -> None:
        """The walk's last page. A plain table's pass announces it in `settle`, once it is known to be clean."""
        if self.unit is None:
            self._last_pages.append(number)
        else:
            self._pages.put(LastPage(self.name, number, self.unit))

    def _deliver(self, number: int, fetched: Fetched, slot: Slot, *, resume: PageRequest | None) -> None:
        if self._tracks:
            self._track(number, fetched)
        self._pages.deliver(self, number, fetched, slot, resume=resume)

    def _track(self, number: int, fetched: Fetched) -> None:
        """Adds the page to the pass's evidence (`async_core.run.tears`)."""
        if fetched.skipped is not None:
            self._lost = True  # a page a rule called expected-empty: its rows are not counted against the total
        self._evidence.page(number, fetched.records, fetched.facts.total_items, fetched.served_at)

    async def settle(self) -> None:
        """After every page of the walk is in: a clean pass announces its last page (and may complete); a torn
        one starts over at page 1 next sync, and the table is incomplete."""
        evidence = self._evidence
        torn = evidence.torn
        if torn is None and self._tracks and self._from_start and not self._lost and self._last_pages:
            torn = evidence.short()
        if torn is None:
            for number in self._last_pages:
                self._pages.put(LastPage(self.name, number, self.unit))
            return
        evidence.forget()
        self._pages.put(Replan(self.name, 1, self.size, self.unit))
        await self._lose(
            1,
            TornPass(
                f"table {self.name}: the collection changed while it was read ({torn}); the pass is not complete, "
                "its watermark stays, and it is read again from its bound next sync"
            ),
        )

    def _request(self, number: int) -> PageRequest:
        return self.paginator.request(number, self.size)

    def _sorted_request(self, number: int) -> PageRequest:
        return self.paginator.request(number, self._asked)

    async def _walk_single(self) -> None:
        slot = await self._pages.reserve()
        try:
            fetched = await self._fetch_confirmed(1, PageRequest(), slot)
            if fetched is not None:
                self._announce_last(1)
                self._deliver(1, fetched, slot, resume=None)
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
                        self._announce_last(max(plan.last, number))
                        self._deliver(number, fetched, slot, resume=None)
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
                    self._deliver(number, fetched, slot, resume=None)
                    shortfall = f"the walk ended with {rows_seen} of the {announced} records its first page announced"
                    await self._lose(number + 1, FatalError(shortfall))
                    return
                if following is None:
                    self._announce_last(number)
                    self._deliver(number, fetched, slot, resume=None)
                    return
                empty_run = 0 if fetched.records else empty_run + 1
                if following in seen or empty_run >= MAX_EMPTY_PAGES:
                    self._deliver(number, fetched, slot, resume=None)
                    why = "repeats a request" if following in seen else f"follows {empty_run} empty pages in a row"
                    await self._lose(number + 1, NoProgress(f"pagination loop: page {number + 1} {why}"))
                    return
                seen.add(following)
                self._deliver(number, fetched, slot, resume=following)
            finally:
                slot.release()
            number, request = number + 1, following

    async def _walk_sorted(self) -> None:
        """A keyset walk over an API sorted by the cursor: every request asks from the last row's cursor value
        (its first page again), so a row updated during the walk moves ahead of it, never behind it. A page that
        would not move the bound (one tie value at the parameter's resolution) is paged inside: the next page at
        the same bound, or the server's own link or token. Pages are numbered on from the pass's written prefix."""
        cursor = self.spec.cursor
        assert cursor is not None
        first = self._start.next_page
        request = self._sorted_request(1)
        probed = False  # a short page without a total was probed once at the server's size
        for number in range(first, first + self._max_pages + 1):
            if number - first >= self._max_pages:
                break
            slot = await self._pages.reserve()
            try:
                fetched = await self._fetch(number, request, slot, expect=None, repeats=self._inner == 1)
                if fetched is not None and fetched.doubtful:
                    await self._sleep(self._confirm_delay)
                    fetched = await self._fetch(number, request, slot, expect=None, repeats=True)
                if fetched is None:
                    return
                values = [v for v in (cursor.value_of(r) for r in fetched.records) if v is not None]
                disorder = next((i for i in range(1, len(values)) if values[i] < values[i - 1]), None)  # type: ignore[operator]
                if disorder is not None:
                    self._pages.lose(
                        self,
                        number,
                        slot,
                        NoProgress(
                            f"table {self.name} is declared sorted by {cursor.field!r}, but page {number} is not in "
                            f"ascending order ({values[disorder - 1]!r} before {values[disorder]!r}); declare its "
                            "cursor without sorted=True"
                        ),
                    )
                    return
                more, probe = self._sorted_more(fetched, number == first and not probed)
                probed = probed or probe
                if not more:
                    self._announce_last(number)
                    self._deliver(number, fetched, slot, resume=None)
                    return
                request = self._sorted_next(fetched, values[-1] if values else None)
                self._deliver(number, fetched, slot, resume=None)
            finally:
                slot.release()
        await self._lose(
            first + self._max_pages, NoProgress(f"more than max_pages_per_table ({self._max_pages}) pages")
        )

    def _sorted_more(self, fetched: Fetched, first: bool) -> tuple[bool, bool]:
        """Whether rows remain after this page of a sorted walk; and whether that is a probe (a short first page
        without a total: the server may cap the page size, so the walk goes on at the size it got)."""
        facts, count = fetched.facts, len(fetched.records)
        if count == 0 or facts.last:
            return False, False
        if not self.paginator.addressable:
            return facts.next is not None, False
        offset = (self._inner - 1) * self._asked
        if facts.total_items is not None:
            return facts.total_items > offset + count, False
        if facts.total_pages is not None:
            return facts.total_pages > self._inner, False
        if facts.next is not None:
            return True, False
        if count < self._asked and first:
            self.size = self._asked = count
            return True, True
        return count >= self._asked, False

    def _sorted_next(self, fetched: Fetched, last: Comparable | None) -> PageRequest:
        """The request after a page of a sorted walk: from the page's last cursor value, or the next page inside
        the same bound when that value would not move it."""
        cursor = self.spec.cursor
        assert cursor is not None
        if last is not None:
            bound = cursor.lower(last)
            if self.since is None or cursor.param_value(bound) != cursor.param_value(self.since):
                self.since, self._inner, self._asked = bound, 1, self.size
                return self._sorted_request(1)
        # One tie value (or no cursor values) fills the page. Read the tie in one response if the API serves a
        # page that large (a page is atomic: nothing shifts inside it); else page inside the bound.
        limit = self.paginator.max_page_size or max(MAX_TIE_PAGE, self.size)
        if (
            self._inner == 1
            and self.paginator.sends_size()
            and len(fetched.records) >= self._asked
            and self._asked < limit
        ):
            self._asked = min(limit, self._asked * 2)
            return self._sorted_request(1)
        self._inner += 1
        if self.paginator.addressable:
            return self._sorted_request(self._inner)
        following = fetched.facts.next
        assert following is not None  # `_sorted_more` said more follows
        if following.url is None and self.paginator.sends_size():
            return PageRequest(params=following.params + self._sorted_request(1).params)
        return following

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

    async def _fetch(
        self, number: int, request: PageRequest, slot: Slot, *, expect: int | None, repeats: bool = False
    ) -> Fetched | None:
        """One page; `repeats`: the same rows as another page are expected (a keyset walk's next bound may return
        its last page again: it then reads the tie at once or pages inside it, where repeats are checked)."""
        fetched = await self._pages.fetch(self, number, request, slot, expect=expect)
        if fetched is None:
            self._lost = True
            return None
        if repeats:
            return fetched
        try:
            self.check_progress(number, fetched.records)
        except NoProgress as exc:
            self._lost = True
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
                self._deliver(number, fetched, slot, resume=None)
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
        self._lost = True
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
        seen_as = (len(rows), *(fingerprint(dig(first, k)) for k in keys), *(fingerprint(dig(last, k)) for k in keys))
        seen = self._fingerprints.setdefault(seen_as, number)
        if seen != number:
            raise NoProgress(
                f"page {number} holds the same rows as page {seen}: the server ignores the paging parameters"
            )


def key_digest(values: tuple[Any, ...]) -> str:
    """A stable digest of a primary key's values (saved in the state: the same in every process)."""
    text = repr(tuple(fingerprint(value) for value in values))
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def _releasing(slot: Slot) -> Callable[[asyncio.Task[None]], None]:
    """A done callback that gives `slot` back (a no-op once the page was sent)."""
    return lambda _: slot.release()


_LOST = object()  # `_prove`: the page could not be fetched
_DONE = object()  # `_prove`: the proven page is the pass's last


@dataclasses.dataclass(frozen=True)
class _Plan:
    last: int | None = None  # the last page, when the total is known
    restart: int | None = None  # start over at this page (the server capped the page size)
