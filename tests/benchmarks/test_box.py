"""The production box (issue 21): the cgroup handling's pure parts, and a smoke run of `--scenario box` (tiny
sizes, a few `fivetran debug` processes in real cgroups; skipped where cgroups are not writable)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchmarks import cgroups, targets
from benchmarks.box.scenario import parents_rows
from tests.devtools import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_the_quota_is_the_cpu_share_of_each_period() -> None:
    assert cgroups.quota_us(0.5) == 50_000
    assert cgroups.quota_us(2) == 200_000
    assert cgroups.quota_us(0.001) == 1000  # the kernel's floor
    with pytest.raises(ValueError, match="cpus must be positive"):
        cgroups.quota_us(0)


def test_the_wrapped_command_joins_every_group_before_it_runs(tmp_path: Path) -> None:
    """The pid written to each group's cgroup.procs is the command's own (the shell execs it)."""
    files = [tmp_path / "memory.procs", tmp_path / "cpu.procs"]
    command = cgroups.wrap_command(files, [sys.executable, "-c", "import os; print(os.getpid())"])
    printed = subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()
    assert [path.read_text().strip() for path in files] == [printed, printed]


def test_usage_reads_the_counters_text() -> None:
    usage = cgroups.Usage.of(
        {
            "memory.max_usage_in_bytes": "734003200\n",
            "memory.failcnt": "12\n",
            "memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n",
            "cpu.stat": "nr_periods 40\nnr_throttled 31\nthrottled_time 2500000000\n",
        }
    )
    assert usage == cgroups.Usage(734003200, 12, 1, 31, 2.5)
    assert cgroups.Usage.of({}) == cgroups.Usage(0, 0, 0, 0, 0.0)


def test_a_machine_without_the_controllers_says_why_in_one_line(tmp_path: Path) -> None:
    assert cgroups.Box.unavailable(tmp_path) == f"no cgroup v1 'memory' controller at {tmp_path / 'memory'}"


def test_a_box_sets_its_limits(tmp_path: Path) -> None:
    for controller in cgroups.CONTROLLERS:
        (tmp_path / controller).mkdir()
    box = cgroups.Box.create("b", memory_bytes=1 << 30, cpus=0.5, root=tmp_path)
    assert (tmp_path / "memory" / "b" / "memory.limit_in_bytes").read_text() == str(1 << 30)
    assert (tmp_path / "cpu" / "b" / "cpu.cfs_quota_us").read_text() == "50000"
    assert box.wrap(["true"])[-1] == "true"


def test_the_box_targets_judge_peak_memory_oom_kills_and_linearity() -> None:
    """A big-pages run over 700 MB fails; 10 x the parents in 16 x the time of the small run fails (> 1.5 x)."""

    def row(workload: str, size: int, **values: Any) -> dict[str, Any]:
        base = {"workload": workload, "size": size, "workers": 16, "place": "box", "engine": "async", "runs": 1,
                "complete": True, "seconds": 10.0, "update_seconds": 9.0, "peak_rss_mb": 500.0, "box_peak_mb": 600.0,
                "oom_kills": 0, "state_bytes": 1000, "rows": size}  # fmt: skip
        return {**base, **values}

    summary = [
        row("big_pages", 200_000),
        row("big_pages", 200_000, workers=64, peak_rss_mb=900.0),
        row("parents", 10_000, update_seconds=10.0),
        row("parents", 100_000, update_seconds=160.0),
    ]
    verdicts = {t.name: t.passed for t in targets.check_box({"runs": [], "summary": summary})}
    assert [v for name, v in verdicts.items() if "big pages" in name] == [True, False]
    assert verdicts["box: 100,000 parents complete, state < 1 MB"] is True
    assert verdicts["box: 100,000 parents within 1.5 x linear from 10,000"] is False
    assert targets.check_box(None)[0].passed is None


def test_bare_rows_splits_the_ratio_to_bare_into_the_rows_and_the_engine() -> None:
    """async 30 s, bare-rows 24 s, bare 20 s: the rows cost 1.2 x, the engine 1.25 x; judged by no target."""

    def run(engine: str, seconds: float, cpu: float) -> dict[str, Any]:
        return {"workload": "end_to_end", "size": 50_000, "workers": 32, "place": "box", "repetition": 0,
                "engine": engine, "complete": True, "seconds": seconds, "cpu_ms_per_request": cpu}  # fmt: skip

    runs = [run("async", 30.0, 6.0), run("bare-rows", 24.0, 5.0), run("bare", 20.0, 4.0)]
    lines = {t.name: t for t in targets.check_box({"runs": runs, "summary": []}) if t.verdict == "INFO"}
    rows = lines["box: end_to_end 32 workers (box), the rows: bare-rows / bare time"]
    engine = lines["box: end_to_end 32 workers (box), the engine: async / bare-rows time"]
    assert (rows.detail, engine.detail, rows.passed) == ("1.20 (1.20–1.20) x", "1.25 (1.25–1.25) x", None)
    cpu = lines["box: end_to_end 32 workers (box), the engine: async / bare-rows CPU per request"]
    assert cpu.detail.startswith("1.20 ")
    failed = [t.name for t in targets.check_box({"runs": runs, "summary": []}) if t.passed is False]
    assert failed == ["box: end_to_end 32 workers (box), async time <= 1.1 x bare"]  # 1.5 x: the target still judges


def test_a_parents_workload_lands_the_parents_and_one_to_three_children_each() -> None:
    assert parents_rows(3) == {"parents": 3, "children": 2 + 3 + 1}


WHY_NOT = cgroups.Box.unavailable()


# Three whole `fivetran debug` processes in cgroups (15-25 s): in `make reliability`, so `make test` stays under 3 min.
@pytest.mark.reliability
@pytest.mark.skipif(WHY_NOT is not None, reason=f"the production box needs writable cgroups: {WHY_NOT}")
def test_the_box_smoke_runs_each_engine_as_fivetran_debug_in_a_cgroup(tmp_path: Path) -> None:
    """`--scenario box --smoke`: big pages and parents, each engine a whole `fivetran debug` in a box;
    every row landed, the box's counters read, its groups removed after."""
    with subprocess.Popen(
        [sys.executable, "-m", "benchmarks", "--scenario", "box", "--smoke", "--results-dir", str(tmp_path)],
        cwd=ROOT,
        env={**os.environ, "DO_NOT_TRACK": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        try:
            stdout, stderr = process.communicate(timeout=170)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            raise
    assert process.returncode == 0, stdout[-3000:] + stderr[-3000:]
    results = json.loads((tmp_path / "box-smoke.json").read_text(encoding="utf-8"))
    runs = results["box"]["runs"]
    assert {(r["workload"], r["engine"]) for r in runs} >= {
        ("big_pages", "async"), ("big_pages", "bare"), ("big_pages", "threads"), ("parents", "async"),
        ("parents", "bare"),
    }  # fmt: skip
    assert all(r["complete"] and r["rows"] == sum(r["rows_expected"].values()) for r in runs)
    assert all(r["box"]["max_usage_bytes"] > 0 and r["box"]["oom_kills"] == 0 for r in runs)
    assert all(r["state_bytes"] for r in runs)
    assert "## Production box" in (tmp_path / "box-smoke.md").read_text(encoding="utf-8")
    # This run's groups only (named bench-box-<pid of the benchmarks process>-<n>): another benchmark running at
    # the same time has groups of its own.
    leftovers = [p for c in cgroups.CONTROLLERS for p in (cgroups.ROOT / c).glob(f"bench-box-{process.pid}-*")]
    assert leftovers == []
