"""Tear detection judges the records a pass read by their keys as JSON values: a record without a whole key (not
an object, its id missing or null) or with an id of another JSON type (`true` beside 1, `14.0` beside 14) is a bad
record for sync_errors, not a sign that the collection shifted. A real repeat, or a record missing from the
total, still tears the pass."""

from __future__ import annotations

import asyncio
import datetime as dt
import math
from typing import Any

from async_core.run.bridge import Bridge, Slot
from async_core.run.messages import LastPage, Replan
from async_core.run.metrics import Metrics
from async_core.run.state import SyncState
from async_core.run.walk import Fetched, TornPass, Walk, WalkStart
from async_core.source import Column, PageNumber, TableSpec
from async_core.source.pagination import PageFacts, PageRequest
from tests.devtools import pytest
from tests.sinks import RecordingSink

POSTS = TableSpec(
    name="posts", path="/posts", columns=(Column("id", "id", "INT"),), paginator=PageNumber(total_path="total")
)
BAD = [{"title": "no id"}, {"id": None}, {"id": "12"}, {"id": True}, {"id": 14.0}, 42, ["a", "list"], "a string"]


class Served:
    """Pages of 10 over `records`, every response announcing their count (or `total`) as its total; records what
    the walk hands over, loses and announces."""

    def __init__(self, records: list[Any], total: int | None) -> None:
        self.records = records
        self.total = len(records) if total is None else total
        self.bridge = Bridge(
            RecordingSink(),
            SyncState.resume(None, tables=[("posts", None, False)], now="T0"),
            sync_id="S1",
            started_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
            metrics=Metrics(),
            capacity=4,
            checkpoint_every_rows=1000,
        )
        self.delivered: list[int] = []
        self.lost: list[Exception] = []
        self.last_pages: list[int] = []

    async def reserve(self) -> Slot:
        return await self.bridge.reserve()

    async def fetch(
        self, walk: Walk, number: int, request: PageRequest, slot: Slot, *, expect: int | None
    ) -> Fetched | None:
        page = self.records[(number - 1) * 10 : number * 10]
        return Fetched(page, PageFacts(total_items=self.total))

    def deliver(self, walk: Walk, number: int, fetched: Fetched, slot: Slot, *, resume: PageRequest | None) -> None:
        self.delivered.append(number)

    def lose(self, walk: Walk, number: int, slot: Slot, error: Exception) -> None:
        self.lost.append(error)
        slot.release()

    def put(self, message: LastPage | Replan) -> None:
        if isinstance(message, LastPage):
            self.last_pages.append(message.last_page)


def walk_all(records: list[Any], *, total: int | None = None) -> Served:
    served = Served(records, total)

    async def main() -> None:
        served.bridge.bind(asyncio.get_running_loop())
        walk = Walk(POSTS, pages=served, start=WalkStart(), page_size=10, max_pages=100, confirm_delay=0)
        async with asyncio.TaskGroup() as group:
            await walk.run(group)
        await walk.settle()

    asyncio.run(main())
    return served


@pytest.mark.parametrize(
    "bad",
    [[{"id": True}], [{"id": 14.0}], [{"title": "no id"}, {"id": None}], [42, ["a", "list"], "a string"], BAD],
    ids=["true-beside-1", "14.0-beside-14", "two-without-an-id", "not-objects", "all-of-them"],
)
def test_records_without_a_whole_key_or_with_an_id_of_another_type_do_not_tear_the_pass(bad: list[Any]) -> None:
    """Ids 1..14 on pages 1 and 2, then bad records: the pass is clean and announces its last page (on the code
    before, `true` was the record keyed 1 again, two records without an id were one key twice, and records that
    are not objects fell short of the total)."""
    served = walk_all([{"id": n} for n in range(1, 15)] + bad)
    assert served.lost == []
    assert served.delivered == list(range(1, math.ceil((14 + len(bad)) / 10) + 1))
    assert served.last_pages == [served.delivered[-1]]


@pytest.mark.parametrize(
    ("records", "torn"),
    [
        ([{"id": n} for n in (*range(1, 15), 3)] + BAD, "the record with key 3 came twice (again at page 2)"),
        ([{"id": n} for n in range(1, 15)] + BAD + [{"id": 1}], "the record with key 1 came twice (again at page 3)"),
    ],
    ids=["an-integer-id-twice", "after-the-bad-records"],
)
def test_a_record_that_comes_twice_still_tears_the_pass_beside_bad_records(records: list[Any], torn: str) -> None:
    served = walk_all(records)
    assert [type(error) for error in served.lost] == [TornPass]
    assert torn in str(served.lost[0])
    assert served.last_pages == []


def test_a_pass_that_read_fewer_records_than_its_total_still_tears_beside_bad_records() -> None:
    """22 records read (14 keyed, 8 without a usable key) of the 23 the total announces: one slid past the walk."""
    served = walk_all([{"id": n} for n in range(1, 15)] + BAD, total=23)
    assert [type(error) for error in served.lost] == [TornPass]
    assert "the pass read 22 distinct records of the 23 its total announced" in str(served.lost[0])
    assert served.last_pages == []
