"""The benchmark's smoke mode: every engine, both modes, every row of the playground landed, every result written.

One run of `python -m benchmarks --smoke` (a child process, as `make bench` would start it) is shared by the tests
of this module; it takes about 40 seconds.
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
ENGINES = {"async", "threads", "bare", "h11-async", "h11-threads"}
E2E_ENGINES = {"async", "threads", "bare"}
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


def test_smoke_runs_every_engine_in_both_modes(results: dict[str, Any]) -> None:
    """Every (engine, mode, workers) cell of the smoke matrix ran once, with every measurement."""
    clean = [run for run in results["runs"] if run["scenario"] == "clean"]
    cells = {(run["engine"], run["mode"], run["workers"]) for run in clean}
    fetch = {(engine, "fetch", 16) for engine in ENGINES}
    assert cells == fetch | {(engine, "e2e", 16) for engine in E2E_ENGINES}
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
            assert run["rows_by_table"] == {name: expected[name] for name in run["tables"]}, (
                run["engine"],
                run["mode"],
                run["workers"],
            )


def test_smoke_runs_the_scenarios(results: dict[str, Any]) -> None:
    """Rate-limited and faulty ran for async and threads, and landed rows."""
    for scenario, engines in (("rate_limited", {"async", "threads"}), ("faulty", {"async", "threads"})):
        runs = [run for run in results["runs"] if run["scenario"] == scenario]
        assert {run["engine"] for run in runs} == engines
        assert all(run["rows"] > 0 for run in runs)


def test_smoke_rate_limit_is_enforced_by_the_server(results: dict[str, Any]) -> None:
    """The server counts its 429s per run (whether the paced runs met none is a benchmark target, judged there);
    the unpaced run's first burst of 16 requests overflows the bucket of 10."""
    paced = [run for run in results["runs"] if run["scenario"] == "rate_limited"]
    unpaced = [run for run in results["runs"] if run["scenario"] == "rate_limited_unpaced"]
    assert [type(run["server_429"]) for run in paced] == [int, int]
    assert len(unpaced) == 1
    assert unpaced[0]["server_429"] > 0


def test_smoke_reports_per_pair_ratios_with_spread(results: dict[str, Any]) -> None:
    """Each pair that ran side by side has a throughput ratio with its min and max."""
    pairs = {(r["mode"], r["workers"], r["numerator"], r["denominator"]) for r in results["ratios"]}
    assert {("fetch", 16, "async", "threads"), ("fetch", 16, "h11-async", "h11-threads")} <= pairs
    assert {("fetch", 16, "bare", "h11-async"), ("fetch", 16, "async", "bare"), ("e2e", 16, "async", "bare")} <= pairs
    for ratio in results["ratios"]:
        assert ratio["throughput"]["min"] <= ratio["throughput"]["median"] <= ratio["throughput"]["max"]


def test_smoke_reports_issue_10s_targets_as_not_measured(results: dict[str, Any]) -> None:
    """The smoke run leaves out issue 10's adaptive scenarios (make bench runs them): their targets say SKIP, not
    measured, rather than passing or failing on nothing."""
    verdicts = {target["name"]: target for target in results["targets"]}
    adaptive = [target for name, target in verdicts.items() if "adaptive" in name]
    assert adaptive
    for target in adaptive:
        assert (target["verdict"], target["detail"]) == ("SKIP", "not measured")


def test_smoke_summarizes_and_checks_targets(results: dict[str, Any]) -> None:
    """The summary has a row per cell with the bound beside it; the targets and the upsert rate are reported."""
    for row in results["summary"]:
        assert row.keys() >= SUMMARY_KEYS, SUMMARY_KEYS - row.keys()
    assert {row["engine"] for row in results["summary"] if row["scenario"] == "clean"} == ENGINES
    assert results["upsert_rate"]["median"] > 0
    assert results["upsert_rate"]["n"] == 1
    assert {target["verdict"] for target in results["targets"]} <= {"PASS", "FAIL", "SKIP"}
    assert results["targets"]
