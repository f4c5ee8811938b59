"""`fivetran debug` on the embedded playground, as `make debug` runs it, read back from the DuckDB warehouse."""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Any

from async_core.playground import generate_collection
from sources.jsonplaceholder import TABLES
from tests.devtools import pytest
from tests.e2e.project import ROOT, Warehouse, make_project, run_debug, started_debug, state_of, wait_for
from tests.states import all_complete, open_tables

pytestmark = pytest.mark.e2e


def expected_rows(table: str, scale: int = 1) -> dict[int, dict[str, Any]]:
    """The rows the connector should write for `table`, from the playground's own generator."""
    spec = TABLES[table]
    return {
        record["id"]: {column.name: record[column.source] for column in spec.columns}
        for record in generate_collection(table, scale)
    }


def landed_rows(warehouse: Warehouse, table: str) -> dict[int, dict[str, Any]]:
    spec = TABLES[table]
    names = [column.name for column in spec.columns]
    result = {}
    for row in warehouse.query(f"select {', '.join(names)} from tester.{table}"):
        values = {}
        for column, value in zip(spec.columns, row, strict=True):
            values[column.name] = json.loads(value) if column.type == "JSON" and isinstance(value, str) else value
        result[values["id"]] = values
    return result


def test_the_shipped_configuration_lands_every_record(tmp_path: Path) -> None:
    """configuration.json as shipped (flaky faults on): users 10, posts 100, comments 500 with exact values, one
    sync_runs row, and a clean run: no pipreqs trouble, no traceback."""
    configuration = json.loads((ROOT / "configuration.json").read_text(encoding="utf-8"))
    project = make_project(tmp_path / "project", configuration)
    result = run_debug(project)
    assert result.returncode == 0, result.stdout[-3000:]
    warehouse = Warehouse(project)
    for table, count in (("users", 10), ("posts", 100), ("comments", 500)):
        assert landed_rows(warehouse, table) == expected_rows(table), table
        assert warehouse.count(table) == count
    [(status, summary)] = warehouse.query("select status, summary from tester.sync_runs")
    assert status == "succeeded"
    assert json.loads(summary)["processing_summary"]["total_records_processed"] == 610
    assert warehouse.query("select count(*) from tester.users where processed_at is null") == [(0,)]
    for noise in ("pipreqs check failed", "Include the following dependency", "Traceback", "SEVERE"):
        assert noise not in result.stdout, noise
    assert all_complete(state_of(project))


def test_a_second_sync_makes_a_fresh_full_pass(tmp_path: Path) -> None:
    """After a complete sync the next one fetches everything again (no change cursor) and duplicates nothing."""
    project = make_project(tmp_path / "project", {"tables": "users,todos", "playground_faults": "none"})
    assert run_debug(project).returncode == 0
    assert run_debug(project).returncode == 0
    warehouse = Warehouse(project)
    assert (warehouse.count("users"), warehouse.count("todos")) == (10, 200)
    runs = warehouse.query("select summary from tester.sync_runs order by started_at")
    assert [json.loads(summary)["processing_summary"]["total_records_processed"] for (summary,) in runs] == [210, 210]


def test_a_sync_killed_with_sigkill_resumes_and_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    """SIGKILL after the first checkpoints, then a rerun: every record exactly once, and the rerun asks only for
    the pages the checkpoint did not cover (and, per open pass, its last written page again: the proof that the
    collection did not shift under the saved page number)."""
    configuration = {
        "tables": "users,posts,comments",
        "playground_faults": "none",
        "playground_scale": "10",
        "playground_latency_ms": "60",
        "page_size": "50",
        "max_workers": "4",
        "checkpoint_every_rows": "500",
    }
    project = make_project(tmp_path / "project", configuration)

    def progressed() -> bool:
        state = state_of(project) or {}
        return sum(opened["next_page"] - 1 for opened in open_tables(state).values()) >= 20

    with started_debug(project) as process:
        assert wait_for(progressed, timeout=60), "no checkpoint with progress appeared"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    killed_state = state_of(project)
    assert killed_state is not None
    assert open_tables(killed_state)
    # a table whose pass completed before the kill starts a new pass on the rerun (tables are independent)
    pages_done = sum(opened["next_page"] - 1 for opened in open_tables(killed_state).values())

    result = run_debug(project)
    assert result.returncode == 0, result.stdout[-3000:]
    warehouse = Warehouse(project)
    for table in ("users", "posts", "comments"):
        assert warehouse.ids(table) == sorted(expected_rows(table, 10)), table
    full_pass_pages = sum(-(-len(generate_collection(t, 10)) // 50) for t in ("users", "posts", "comments"))
    [(summary,)] = warehouse.query("select summary from tester.sync_runs where status = 'succeeded'")
    requests = json.loads(summary)["resilience"]["requests"]
    assert requests <= full_pass_pages - pages_done + len(open_tables(killed_state))
