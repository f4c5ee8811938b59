"""A seeded mutation campaign (issue 17): rows inserted, updated and deleted while syncs read them.

Every case serves a `Collection` (tests/integration/changing.py) in one paging style (page number, offset, next
link, keyset token), ordered by `updatedAt` (declared `sorted=True`) or by `id` (not sorted by the cursor), with an
inclusive (`>=`) or an exclusive (`>`) bound. While the first three syncs run, each page served may insert, update
(the cursor set to the server's clock, which moves a fraction of a second a page: ties within a second, and exact
ties, happen) or delete rows; the second sync is killed at a random upsert (the sink raises, as the SDK process
dying would: the rows since the last checkpoint are lost, the state is that checkpoint). Then the mutations stop.

Checked, per case: within 2 syncs of the mutations stopping, every row the server holds is in the warehouse with its
latest values (deleted rows may stay: deletes are issue 20's); no sync that reported the table `complete` missed a
row that existed, unchanged, throughout it; no sync hangs (each is held to a time bound, `checked_sync`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import random
import signal
from pathlib import Path
from typing import Any

from async_core.source import Column, Cursor, Incremental, JsonLink, Offset, PageNumber, Paginator, TableSpec
from tests.devtools import pytest
from tests.e2e.project import Warehouse as DebugWarehouse
from tests.e2e.project import make_project, run_debug, started_debug, state_of, wait_for
from tests.integration.changing import EPOCH, Collection, handler
from tests.integration.declared import FAST, ID, declare
from tests.integration.servers import serve
from tests.reliability.support import checked_sync, port_of
from tests.sinks import RecordingSink
from tests.states import open_pass

pytestmark = pytest.mark.reliability

SEEDS = (20261204, 20261205, 20261206)
STYLES = ("page_number", "offset", "json_link", "cursor")
CASES = [
    (seed, style, order, exclusive)
    for seed in SEEDS
    for style in STYLES
    for order in ("updatedAt", "id")
    for exclusive in (False, True)
]
ROWS = 40
PAGE_SIZE = "5"
COLUMNS = (ID, Column("updated_at", "updatedAt", "UTC_DATETIME"), Column("v", "v", "INT"))
SYNC_BOUND = 60.0  # seconds: a loopback sync of a few dozen pages takes well under one


class Killed(Exception):
    """The SDK process dying in the middle of a sync."""


class Warehouse(RecordingSink):
    """The destination as the SDK leaves it: upserts land at the next checkpoint; a kill drops those since."""

    def __init__(self) -> None:
        super().__init__()
        self.landed: dict[int, int] = {}
        self.pending: list[tuple[int, int]] = []
        self.state: dict[str, Any] | None = None
        self.kill_at: int | None = None
        self.upserts = 0

    def upsert(self, table: str, data: dict[str, Any]) -> None:
        if table == "t":
            self.upserts += 1
            if self.kill_at is not None and self.upserts >= self.kill_at:
                self.kill_at = None
                self.pending.clear()
                raise Killed(f"killed at upsert {self.upserts}")
            self.pending.append((int(data["id"]), int(data["v"])))
        super().upsert(table, data)

    def checkpoint(self, state: dict[str, Any]) -> None:
        for key, version in self.pending:
            self.landed[key] = version
        self.pending.clear()
        self.state = state
        super().checkpoint(state)


def paginator(style: str) -> Paginator:
    if style == "page_number":
        return PageNumber(total_path="total")
    if style == "offset":
        return Offset(total_path="total")
    if style == "json_link":
        return JsonLink(next_path="next", size_param="per_page", total_path="total")
    return Cursor(cursor_path="next_cursor", cursor_param="cursor", size_param="per_page")


def declared(style: str, order: str, exclusive: bool) -> TableSpec:
    cursor = Incremental(
        field="updatedAt",
        param="updated_since",
        sorted=order == "updatedAt",
        exclusive=exclusive,
        first_request_only=style == "cursor",
    )
    return TableSpec(name="t", path="/t", columns=COLUMNS, records="data", paginator=paginator(style), cursor=cursor)


@dataclasses.dataclass
class Mutator:
    """Changes the collection as pages are served, from a seeded generator."""

    collection: Collection
    rng: random.Random
    on: bool = True
    changes: int = 0

    def __call__(self, number: int) -> None:
        collection, rng = self.collection, self.rng
        if self.on and rng.random() < 0.6:
            for _ in range(rng.randint(1, 3)):
                roll, keys = rng.random(), list(collection.rows)
                if roll < 0.55 and keys:
                    collection.update(rng.choice(keys))
                elif roll < 0.8 or not keys:
                    collection.insert()
                else:
                    collection.delete(rng.choice(keys))
                self.changes += 1
        collection.tick(rng.choice((0.0, 0.2, 0.5, 0.9)))


def seeded_collection(rng: random.Random, order: str, exclusive: bool) -> Collection:
    collection = Collection(order=order, exclusive=exclusive, now=EPOCH + dt.timedelta(hours=1))
    for i in range(ROWS):
        collection.insert(at=EPOCH + dt.timedelta(seconds=i // 3, milliseconds=rng.choice((0, 0, 400))))
    return collection


def server_rows(collection: Collection) -> dict[int, int]:
    return {key: row["v"] for key, row in collection.rows.items()}


def table_status(result: Any) -> str:
    return str(result.summary["processing_summary"]["table_summaries"]["t"]["status"])


@pytest.mark.parametrize(("seed", "style", "order", "exclusive"), CASES)
def test_no_row_the_server_holds_is_lost_while_it_changes(
    monkeypatch: Any, seed: int, style: str, order: str, exclusive: bool
) -> None:
    rng = random.Random(f"{seed}:{style}:{order}:{exclusive}")
    declare(monkeypatch, declared(style, order, exclusive))
    collection = seeded_collection(rng, order, exclusive)
    mutator = Mutator(collection, rng)
    collection.after = mutator
    warehouse = Warehouse()
    outcome: dict[str, Any] = {"case": (seed, style, order, exclusive), "syncs": [], "complete_misses": 0}
    with serve(handler(collection, style)) as (url, _):
        configuration = {
            "source": "declared",
            "base_url": url,
            "page_size": PAGE_SIZE,
            "max_workers": "4",
            "checkpoint_every_rows": "7",
            **FAST,
        }
        for number in range(5):
            if number == 3:
                mutator.on = False  # the server stops changing: two syncs to land everything
            if number == 1:
                warehouse.kill_at = warehouse.upserts + rng.randint(1, 8)
            before = server_rows(collection)
            try:
                result = checked_sync(
                    configuration, warehouse.state, bound=SYNC_BOUND, ports=[port_of(url)], sink=warehouse
                ).result
            except Killed:
                warehouse.kill_at = None
                outcome["syncs"].append("killed")
                continue
            warehouse.kill_at = None
            status = table_status(result)
            outcome["syncs"].append(status)
            if status == "stopped":
                print("STOPPED", [r["message"][:300] for r in warehouse.rows("sync_errors")][-2:])
            after = server_rows(collection)
            unchanged = {key: version for key, version in before.items() if after.get(key) == version}
            missed = {key for key, version in unchanged.items() if warehouse.landed.get(key) != version}
            if status == "complete":
                outcome["complete_misses"] += len(missed)
                assert not missed, f"sync {number + 1} called the table complete and missed rows {sorted(missed)}"
    held = server_rows(collection)
    missing = sorted(set(held) - set(warehouse.landed))
    stale = sorted(key for key, version in held.items() if key in warehouse.landed and warehouse.landed[key] != version)
    outcome.update(changes=mutator.changes, rows=len(held), missing=len(missing), stale=len(stale))
    print("CAMPAIGN", outcome)
    assert (missing, stale) == ([], []), f"missing {missing}, stale {stale}"


# -- real SIGKILLs of `fivetran debug` in the middle of a changing pass

KILLED_CASES = [("page_number", "id", False), ("json_link", "updatedAt", True)]
KILLED_ROWS = 150
SOURCE_MODULE = '''"""The campaign's changing collection (written by tests/reliability/test_changing_campaign.py)."""

from async_core.source import Column, Cursor, Incremental, JsonLink, Offset, PageNumber, Source, TableSpec

PAGINATORS = {{
    "page_number": PageNumber(total_path="total"),
    "offset": Offset(total_path="total"),
    "json_link": JsonLink(next_path="next", size_param="per_page", total_path="total"),
    "cursor": Cursor(cursor_path="next_cursor", cursor_param="cursor", size_param="per_page"),
}}
SOURCE = Source(
    name="changing",
    tables=(
        TableSpec(
            name="t",
            path="/t",
            records="data",
            columns=(
                Column("id", "id", "INT"), Column("updated_at", "updatedAt", "UTC_DATETIME"), Column("v", "v", "INT")
            ),
            paginator=PAGINATORS[{style!r}],
            cursor=Incremental(
                field="updatedAt", param="updated_since", sorted={sorted_!r}, exclusive={exclusive!r},
                first_request_only={style!r} == "cursor",
            ),
        ),
    ),
)
'''


def slowly(inner: Any, delay: float) -> Any:
    """`inner` with `delay` seconds before each answer: a pass long enough to be killed in the middle of."""

    async def handler(request: Any) -> Any:
        await asyncio.sleep(delay)
        return await inner(request)

    return handler


@pytest.mark.parametrize(("style", "order", "exclusive"), KILLED_CASES)
def test_a_sync_killed_while_the_collection_changes_loses_no_row(
    tmp_path: Path, style: str, order: str, exclusive: bool
) -> None:
    """`fivetran debug` is SIGKILLed at a seeded point of a pass while rows change under it; then the mutations
    stop: the next two runs (the first resumes the killed pass) land every row the server holds with its latest
    version."""
    rng = random.Random(f"{SEEDS[0]}:killed:{style}:{order}:{exclusive}")
    collection = Collection(order=order, exclusive=exclusive, now=EPOCH + dt.timedelta(hours=1))
    for i in range(KILLED_ROWS):
        collection.insert(at=EPOCH + dt.timedelta(seconds=i // 3))
    mutator = Mutator(collection, rng)
    collection.after = mutator
    with serve(slowly(handler(collection, style), 0.02)) as (url, _):
        configuration = {
            "source": "changing",
            "base_url": url,
            "page_size": PAGE_SIZE,
            "max_workers": "2",
            "checkpoint_every_rows": "5",
            "base_delay": "0",
            "max_delay": "0",
            "enable_circuit_breaker": "false",
        }
        project = make_project(tmp_path / "project", configuration)
        module = SOURCE_MODULE.format(style=style, sorted_=order == "updatedAt", exclusive=exclusive)
        (project / "sources" / "changing.py").write_text(module, encoding="utf-8")
        written = rng.randint(5, 15)  # pages of the pass written before the kill

        def progressed() -> bool:
            opened = open_pass(state_of(project), "t")
            return opened is not None and int(opened.get("next_page", 1)) > written

        with started_debug(project) as process:
            assert wait_for(progressed, timeout=90), "no checkpoint with progress appeared"
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
        assert open_pass(state_of(project), "t") is not None  # killed in the middle of its pass
        mutator.on = False
        for _ in range(2):
            result = run_debug(project)
            assert result.returncode == 0, result.stdout[-3000:]
    landed = dict(DebugWarehouse(project).query("select id, v from tester.t"))
    held = server_rows(collection)
    missing = sorted(set(held) - set(landed))
    stale = sorted(key for key, version in held.items() if key in landed and landed[key] != version)
    print("CAMPAIGN-KILLED", {"case": (style, order, exclusive), "changes": mutator.changes, "rows": len(held)})
    assert (missing, stale) == ([], []), f"missing {missing}, stale {stale}"
