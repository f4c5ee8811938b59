"""The benchmark's smoke mode: both engines, both modes, every row of the playground landed, every result written.

One run of `python -m benchmarks --smoke` (a child process, as `make bench` would start it) is shared by the tests
of this module; it takes about 20 seconds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.devtools import pytest

ROOT = Path(__file__).resolve().parents[2]
ENGINES = {"async", "threads"}
RUN_KEYS = {
    "scenario",
    "mode",
    "engine",
    "workers",
    "status",
    "wall_seconds",
    "requests",
    "requests_per_second",
    "rows",
    "rows_by_table",
    "rows_per_second",
    "cpu_user",
    "cpu_sys",
    "cpu_ms_per_request",
    "max_rss_kb",
    "retries",
    "errors",
}
SUMMARY_KEYS = {
    "wall_seconds",
    "requests_per_second",
    "rows_per_second",
    "cpu_ms_per_request",
    "peak_rss_mb",
    "retries",
    "errors",
    "bound_seconds",
    "bound_requests_per_second",
}


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: Any) -> tuple[subprocess.CompletedProcess[str], Path]:
    results = tmp_path_factory.mktemp("bench")
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--smoke", "--results-dir", str(results)],
        cwd=ROOT,
        env={**os.environ, "DO_NOT_TRACK": "1"},
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
    )
    return completed, results


@pytest.fixture(scope="module")
def results(smoke: tuple[subprocess.CompletedProcess[str], Path]) -> dict[str, Any]:
    completed, directory = smoke
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-4000:]
    loaded: dict[str, Any] = json.loads((directory / "smoke.json").read_text(encoding="utf-8"))
    return loaded


def test_smoke_writes_json_markdown_and_plot(smoke: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    """The three result files are written, the plot is a PNG."""
    completed, directory = smoke
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-4000:]
    assert (directory / "smoke.md").read_text(encoding="utf-8").startswith("# Threads vs async")
    assert (directory / "smoke.png").read_bytes().startswith(b"\x89PNG")


def test_smoke_runs_both_engines_in_both_modes(results: dict[str, Any]) -> None:
    """Every (engine, mode, workers) cell of the smoke matrix ran once, with every measurement."""
    clean = [run for run in results["runs"] if run["scenario"] == "clean"]
    cells = {(run["engine"], run["mode"], run["workers"]) for run in clean}
    assert cells == {(engine, mode, workers) for engine in ENGINES for mode in ("fetch", "e2e") for workers in (4, 16)}
    for run in clean:
        assert run.keys() >= RUN_KEYS, RUN_KEYS - run.keys()
    assert results["failures"] == []


def test_smoke_lands_the_playground_row_counts(results: dict[str, Any]) -> None:
    """Each clean run, fetch-only or in the warehouse, has exactly the rows the playground serves."""
    expected = results["workload"]["rows_expected"]
    assert set(expected) == {"users", "posts", "comments"}
    assert all(count > 0 for count in expected.values())
    for run in results["runs"]:
        if run["scenario"] == "clean":
            assert run["rows_by_table"] == expected, (run["engine"], run["mode"], run["workers"])


def test_smoke_runs_the_scenarios_for_both_engines(results: dict[str, Any]) -> None:
    """The rate-limited and faulty scenarios ran for both engines and landed rows."""
    for scenario in ("rate_limited", "faulty"):
        runs = [run for run in results["runs"] if run["scenario"] == scenario]
        assert {run["engine"] for run in runs} == ENGINES
        assert all(run["rows"] > 0 for run in runs)


def test_smoke_summarizes_and_checks_targets(results: dict[str, Any]) -> None:
    """The summary has a row per cell with the bound beside it; the targets and the upsert rate are reported."""
    for row in results["summary"]:
        assert row.keys() >= SUMMARY_KEYS, SUMMARY_KEYS - row.keys()
    assert {row["engine"] for row in results["summary"]} == ENGINES
    assert results["upsert_rate"]["median"] > 0
    assert {target["verdict"] for target in results["targets"]} <= {"PASS", "FAIL", "SKIP"}
    assert results["targets"]
