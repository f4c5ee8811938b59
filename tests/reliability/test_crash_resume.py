"""SIGKILL of `fivetran debug` in the middle of a large sync, six times; every rerun resumes, nothing is lost.

The sync: the embedded playground at scale 20 (118,200 rows in 1,182 pages of 100 over the six tables), no faults,
a checkpoint every 2,000 rows. Two cycles, each a fresh pass: the sync is killed at a random moment (seeded) after
a checkpoint, each rerun is killed again later, three times in all, and a fourth run completes. After each kill
the checkpoint covers only rows in the warehouse; each rerun resumes the same cycle and gets further; the
completing run asks only for the pages the state had not covered; after each cycle the warehouse equals the
generator's data, every row rewritten in that cycle.
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
    """Pages the state says are written, over all tables (a complete pass counts as none: a new pass begins)."""
    if not state or "cycle" not in state:
        return 0
    tables = state["cycle"]["tables"]
    return sum(PAGES[name] if entry["complete"] else entry["next_page"] - 1 for name, entry in tables.items())


def requests_to_finish(state: dict[str, Any] | None) -> int:
    """The requests a run resuming from `state` makes without faults: from each open table's next page to its
    last (at least one: the first request tells whether there is more), none for a complete table."""
    if not state or "cycle" not in state:
        return FULL_PASS_PAGES
    tables = state["cycle"]["tables"]
    return sum(max(PAGES[name] - entry["next_page"] + 1, 1) for name, entry in tables.items() if not entry["complete"])


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
    """Every row of every page before a table's next_page is in the warehouse, written in this cycle."""
    warehouse = Warehouse(project)
    since = state["cycle"]["started_at"]
    for name, entry in state["cycle"]["tables"].items():
        covered = SIZES[name] if entry["complete"] else min((entry["next_page"] - 1) * PAGE_SIZE, SIZES[name])
        if covered == 0:
            continue
        [(count,)] = warehouse.query(
            f"select count(*) from tester.{name} where id <= {covered} and processed_at >= '{since}'::timestamptz"
        )
        assert count == covered, f"{name}: checkpoint covers {covered} rows, {count} written this cycle"


def expected_row(name: str, row_id: int) -> dict[str, Any]:
    record = DATASET.row(name, row_id)
    row = TABLES[name].transform(record, dt.datetime.now(dt.UTC))
    del row["processed_at"]
    return row


def assert_warehouse_is_the_ground_truth(project: Path, cycle_started: str, rng: random.Random) -> None:
    """Exact ids per table, as many live rows as the generator has, all written in this cycle, and a sample of
    rows equal field by field to the generator's."""
    warehouse = Warehouse(project)
    for name in NAMES:
        assert warehouse.ids(name) == list(range(1, SIZES[name] + 1)), name
        [(live, this_cycle)] = warehouse.query(
            f"select count(*) filter (where not coalesce(_fivetran_deleted, false)), "
            f"count(*) filter (where processed_at >= '{cycle_started}'::timestamptz) from tester.{name}"
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
                assert state["cycle"]["started_at"] == states[-1]["cycle"]["started_at"]  # the same cycle resumed
                assert progress(state) > progress(states[-1])
            states.append(state)
        cycle_started = states[0]["cycle"]["started_at"]
        state = states[-1]
        rows_left = sum(SIZES.values()) * (1 - progress(state) / FULL_PASS_PAGES)
        bound = rows_left / MIN_ROWS_PER_SECOND + START_SECONDS
        started = time.monotonic()
        result = run_debug(project, timeout=bound + 30)
        elapsed = time.monotonic() - started
        assert result.returncode == 0, result.stdout[-3000:]
        assert elapsed <= bound
        status, summary = last_sync_run(project)
        assert status == "succeeded"
        requests = summary["resilience"]["requests"]
        assert requests == requests_to_finish(state)
        assert requests <= FULL_PASS_PAGES - progress(state)
        assert "last_complete_sync" in (state_of(project) or {})
        assert_warehouse_is_the_ground_truth(project, cycle_started, rng)
        assert Warehouse(project).count("sync_errors") == 0
    assert kills == CYCLES * KILLS_PER_CYCLE
