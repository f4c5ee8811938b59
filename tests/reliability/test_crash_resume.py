"""SIGKILL of `fivetran debug` in the middle of a large sync, six times; every rerun resumes, nothing is lost.

The sync: the embedded playground at scale 20 (118,200 rows in 1,182 pages of 100 over the six tables), no faults,
a checkpoint every 2,000 rows. Two cycles, each a fresh pass: the sync is killed at a random moment (seeded) after
a checkpoint, each rerun is killed again later, three times in all, and a fourth run completes. After each kill
the checkpoint covers only rows in the warehouse; each rerun resumes every open pass (same start) and photos gets
further; the completing run asks only for the pages the state had not covered, and per resumed pass its last
written page once more, the proof that the collection did not shift (a table whose pass completed before the kill
makes a new full pass: tables are independent); after each cycle the warehouse equals the
generator's data, every row rewritten in its table's last pass.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import random
import signal
import time
from pathlib import Path
from typing import Any

from async_core.playground import Dataset
from sources.jsonplaceholder import TABLES
from tests.devtools import pytest
from tests.e2e.project import Warehouse, make_project, run_debug, started_debug, state_of, wait_for
from tests.states import all_complete, entry, open_pass

pytestmark = pytest.mark.reliability

SCALE = 20
PAGE_SIZE = 100
NAMES = ("users", "posts", "comments", "albums", "photos", "todos")
DATASET = Dataset(SCALE)
SIZES = {name: DATASET.size(name) for name in NAMES}
PAGES = {name: math.ceil(SIZES[name] / PAGE_SIZE) for name in NAMES}
FULL_PASS_PAGES = sum(PAGES.values())
CONFIGURATION = {
    "base_url": "playground",
    "playground_scale": str(SCALE),
    "playground_faults": "none",
    "tables": ",".join(NAMES),
    "page_size": str(PAGE_SIZE),
    "checkpoint_every_rows": "2000",
    "max_workers": "4",
}
SEED = 20261129
CYCLES = 2
KILLS_PER_CYCLE = 3
# The slowest rate a healthy run may show: a quarter of the SDK's measured ceiling (7,900 upserts/s), for a
# machine under load, plus the start of the process (imports, pipreqs, the playground).
MIN_ROWS_PER_SECOND = 2000
START_SECONDS = 15.0


def progress(state: dict[str, Any] | None) -> int:
    """Pages the state says are written, over all tables: an open pass's next page less one, a completed pass
    all of its pages (once every pass is complete, none: each table begins a new pass)."""
    if not state or all_complete(state):
        return 0
    total = 0
    for name in NAMES:
        opened = open_pass(state, name)
        if opened is not None:
            total += opened["next_page"] - 1
        elif entry(state, name):
            total += PAGES[name]
    return total


def written_in_open_passes(state: dict[str, Any] | None) -> int:
    """Pages written by the open passes: what a rerun does not fetch again."""
    return sum(opened["next_page"] - 1 for name in NAMES if (opened := open_pass(state, name)) is not None)


def requests_to_finish(state: dict[str, Any] | None) -> int:
    """The requests a run resuming from `state` makes without faults: every page for a table whose pass completed
    (it begins a new one) or whose open pass is at page 1; an open pass further on first reads its last written
    page again (its proof, `proofs`: the collection did not shift under the saved page number, the page still ends
    with the key saved as `prev_key`), then every page from its next page to its last. A pass whose pages were all
    written before its end was recorded (killed between its last page and `settle`) reads, after its proof, the
    empty page after the last twice (an empty page is confirmed before it ends a walk)."""
    total = 0
    for name in NAMES:
        opened = open_pass(state, name)
        if not proofs(opened):
            total += PAGES[name]
            continue
        assert opened is not None
        assert opened.get("prev_key"), f"{name}: an open pass at page {opened['next_page']} cannot prove itself"
        remaining = PAGES[name] - opened["next_page"] + 1
        total += proofs(opened) + (remaining if remaining > 0 else 2)
    return total


def proofs(opened: dict[str, Any] | None) -> int:
    """1 for an open pass past its first page: its resume asks for its last written page again."""
    return int(opened is not None and opened["next_page"] > 1)


def unsettled(state: dict[str, Any] | None) -> int:
    """The open passes whose pages were all written (their end not yet recorded): each reads one empty page, twice."""
    return sum(
        1 for name in NAMES if (opened := open_pass(state, name)) is not None and opened["next_page"] > PAGES[name]
    )


def rows_to_finish(state: dict[str, Any] | None) -> int:
    total = 0
    for name in NAMES:
        opened = open_pass(state, name)
        total += (
            SIZES[name] if opened is None else SIZES[name] - min((opened["next_page"] - 1) * PAGE_SIZE, SIZES[name])
        )
    return total


def kill_after(project: Path, fraction: float, jitter: float) -> tuple[bool, dict[str, Any]]:
    """Starts `fivetran debug`, waits until a new checkpoint says `fraction` of the pass is written, waits `jitter`
    seconds more (to land between checkpoints), and SIGKILLs it. Returns (was it still running, the state)."""
    before = state_of(project)
    target = max(progress(before) + 1, math.ceil(fraction * FULL_PASS_PAGES))
    with started_debug(project) as process:

        def reached() -> bool:
            state = state_of(project)
            return state is not None and state != before and progress(state) >= target

        assert wait_for(reached, timeout=120, interval=0.01)
        time.sleep(jitter)
        alive = process.poll() is None
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    state = state_of(project)
    assert state is not None
    return alive, state


def assert_checkpoint_covers_only_written_rows(project: Path, state: dict[str, Any]) -> None:
    """Every row of every page before an open pass's next_page is in the warehouse, written in that pass; a
    completed pass's rows are all in the warehouse."""
    warehouse = Warehouse(project)
    for name in NAMES:
        opened = open_pass(state, name)
        if opened is None:
            if entry(state, name):
                assert warehouse.ids(name) == list(range(1, SIZES[name] + 1)), name
            continue
        covered = min((opened["next_page"] - 1) * PAGE_SIZE, SIZES[name])
        if covered == 0:
            continue
        since = opened["started_at"]
        [(count,)] = warehouse.query(
            f"select count(*) from tester.{name} where id <= {covered} and processed_at >= '{since}'::timestamptz"
        )
        assert count == covered, f"{name}: checkpoint covers {covered} rows, {count} written in its pass"


def expected_row(name: str, row_id: int) -> dict[str, Any]:
    record = DATASET.row(name, row_id)
    row = TABLES[name].transform(record, dt.datetime.now(dt.UTC))
    del row["processed_at"]
    return row


def assert_warehouse_is_the_ground_truth(project: Path, pass_started: dict[str, str], rng: random.Random) -> None:
    """Exact ids per table, as many live rows as the generator has, all written in the table's last pass, and a
    sample of rows equal field by field to the generator's."""
    warehouse = Warehouse(project)
    for name in NAMES:
        assert warehouse.ids(name) == list(range(1, SIZES[name] + 1)), name
        [(live, this_cycle)] = warehouse.query(
            f"select count(*) filter (where not coalesce(_fivetran_deleted, false)), "
            f"count(*) filter (where processed_at >= '{pass_started[name]}'::timestamptz) from tester.{name}"
        )
        assert (live, this_cycle) == (SIZES[name], SIZES[name]), name
        columns = [column.name for column in TABLES[name].columns]
        casts = ", ".join(
            f"{column.name}::varchar" if column.type == "JSON" else column.name for column in TABLES[name].columns
        )
        for row_id in sorted(rng.sample(range(1, SIZES[name] + 1), 5)):
            [values] = warehouse.query(f"select {casts} from tester.{name} where id = {row_id}")
            got = dict(zip(columns, values, strict=True))
            for column in TABLES[name].columns:
                if column.type == "JSON":
                    got[column.name] = json.loads(got[column.name])
            assert got == expected_row(name, row_id)


def last_sync_run(project: Path) -> tuple[str, dict[str, Any]]:
    [(status, summary)] = Warehouse(project).query(
        "select status, summary::varchar from tester.sync_runs order by finished_at desc limit 1"
    )
    return status, json.loads(summary)


@pytest.mark.timeout(400)  # two full passes of 118,200 rows through the SDK, and six restarts
def test_killed_syncs_resume_from_their_checkpoint_and_land_every_row_once(tmp_path: Path) -> None:
    """Six SIGKILLs over two passes: checkpoints cover written rows, reruns resume, the warehouse is the truth."""
    rng = random.Random(SEED)
    project = make_project(tmp_path / "project", CONFIGURATION)
    kills = 0
    for _ in range(CYCLES):
        # Kill points spread over the pass: one in each third of 5 % .. 80 %, at a random place within it.
        fractions = [rng.uniform(0.05 + 0.25 * third, 0.3 + 0.25 * third) for third in range(KILLS_PER_CYCLE)]
        states: list[dict[str, Any]] = []
        for fraction in fractions:
            alive, state = kill_after(project, fraction, jitter=rng.uniform(0.0, 0.25))
            assert alive, "the sync ended before it could be killed"
            kills += 1
            print(f"KILL {kills}: after {progress(state)} of {FULL_PASS_PAGES} pages were checkpointed")
            assert_checkpoint_covers_only_written_rows(project, state)
            if states:
                for name in NAMES:  # a pass open before and after the rerun is the same pass, resumed
                    before, after = open_pass(states[-1], name), open_pass(state, name)
                    if before is not None and after is not None:
                        assert after["started_at"] == before["started_at"], name
                        assert after["next_page"] >= before["next_page"], name
                photos_before, photos_after = open_pass(states[-1], "photos"), open_pass(state, "photos")
                assert photos_before is not None
                assert photos_after is not None
                assert photos_after["next_page"] > photos_before["next_page"]
            states.append(state)
        state = states[-1]
        final_run_started = dt.datetime.now(dt.UTC).isoformat()
        pass_started = {
            name: opened["started_at"] if (opened := open_pass(state, name)) else final_run_started for name in NAMES
        }
        bound = rows_to_finish(state) / MIN_ROWS_PER_SECOND + START_SECONDS
        started = time.monotonic()
        result = run_debug(project, timeout=bound + 30)
        elapsed = time.monotonic() - started
        print(f"FINAL RUN: {rows_to_finish(state)} rows in {elapsed:.1f} s (bound {bound:.1f} s)")
        assert result.returncode == 0, result.stdout[-3000:]
        assert elapsed <= bound
        status, summary = last_sync_run(project)
        assert status == "succeeded"
        requests = summary["resilience"]["requests"]
        assert requests == requests_to_finish(state)
        # Only the pages the state had not covered, and per resumed pass its proof page (and, for a pass whose
        # pages were all written, the empty page after its last, confirmed).
        assert requests <= FULL_PASS_PAGES - written_in_open_passes(state) + 2 * unsettled(state) + sum(
            proofs(open_pass(state, name)) for name in NAMES
        )
        assert all_complete(state_of(project))
        assert_warehouse_is_the_ground_truth(project, pass_started, rng)
        assert Warehouse(project).count("sync_errors") == 0
    assert kills == CYCLES * KILLS_PER_CYCLE
