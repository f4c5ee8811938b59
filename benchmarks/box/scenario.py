"""The production-box scenario: each engine as a whole `fivetran debug` process in a box of 1 GiB and half a CPU
(`benchmarks.cgroups`), the API servers outside it, one fresh project folder per run.

    big_pages   200,000 rows of about 2 KB in pages of 2,000, at 3, 16 and 64 workers (the box server)
    parents     N parents with 1-3 child rows each, N = 10,000 and 100,000 (the linearity ratio), 16 workers
    fetch_heavy 2,000 pages of 5 rows, 100 ms latency, at 64 and 256 workers (the playground's comments)
    end_to_end  50,000 rows in pages of 25, 50 ms latency, 32 workers (the playground's comments)

fetch_heavy and end_to_end run in the box and on the whole machine (`place` "machine": the same command, no box).
Per run: the time of the process (outside) and of update() (inside), CPU of both, peak RSS (`wait4`), the box's
peak usage (RSS and page cache, as the limit counts it), hits of the limit and OOM kills, the CPU quota's
throttling, the rows landed (the DuckDB warehouse), the size of the state the SDK saved. Engines run in an order
that rotates from one repetition to the next. Where cgroups are not writable the scenario is skipped with one line.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks import cgroups, stats
from benchmarks.box import entry
from benchmarks.box.server import children_of
from benchmarks.runner import Children, base_configuration, rotation
from benchmarks.server import ROOT, Playground, running_playground

FIVETRAN = Path(sys.executable).parent / "fivetran"
MB = 1 << 20


@dataclasses.dataclass(frozen=True, kw_only=True)
class BoxOptions:
    """The box and its workloads; `scale` multiplies every row count (for a shorter run)."""

    memory_bytes: int = 1 << 30
    cpus: float = 0.5
    engines: tuple[str, ...] = ("async", "bare", "bare-rows", "threads")
    repetitions: int = 1
    scale: float = 1.0
    workloads: tuple[str, ...] = ("big_pages", "parents", "fetch_heavy", "end_to_end")
    big_rows: int = 200_000
    big_row_bytes: int = 2000
    big_page_size: int = 2000
    big_workers: tuple[int, ...] = (3, 16, 64)
    parents: tuple[int, ...] = (10_000, 100_000)
    parents_page_size: int = 100
    parents_workers: int = 16
    fetch_pages: int = 2000
    fetch_page_size: int = 5
    fetch_latency_ms: int = 100
    fetch_workers: tuple[int, ...] = (64, 256)
    e2e_rows: int = 50_000
    e2e_page_size: int = 25
    e2e_latency_ms: int = 50
    e2e_workers: int = 32
    places: tuple[str, ...] = ("box", "machine")  # fetch_heavy and end_to_end; the others run in the box only
    run_timeout_seconds: float = 900.0
    smoke: bool = False


SMOKE_BOX = BoxOptions(
    big_rows=400,
    big_row_bytes=2000,
    big_page_size=100,
    big_workers=(4,),
    parents=(50,),
    parents_page_size=25,
    parents_workers=4,
    workloads=("big_pages", "parents"),  # a few fivetran debug processes: make test's budget
    places=("box",),
    run_timeout_seconds=120.0,
    smoke=True,
)


# Engines that only the speed workloads (fetch heavy, end to end) run: `bare-rows` splits the connector's ratio to
# `bare` into what its rows cost the SDK and what its engine costs; memory and parents need no such split.
SPEED_ONLY = ("bare-rows",)


@dataclasses.dataclass(frozen=True)
class Run:
    """One run to make: a workload's configuration for one engine at one place."""

    workload: str
    engine: str
    workers: int
    place: str
    repetition: int
    size: int  # the workload's size: rows (big_pages, end_to_end), pages (fetch_heavy), parents (parents)
    configuration: dict[str, str]
    rows_expected: dict[str, int]


def scaled(value: int, scale: float) -> int:
    return max(1, round(value * scale))


def parents_rows(parents: int) -> dict[str, int]:
    """What a parents workload lands: the parents and their 1-3 children each."""
    return {"parents": parents, "children": sum(children_of(i) for i in range(1, parents + 1))}


class BoxScenario:
    """Runs the box's workloads; `results()` is the JSON the report and the targets read."""

    def __init__(self, options: BoxOptions, say: Callable[[str], None], progress: Path | None = None) -> None:
        self.options = options
        self.say = say
        self.progress = progress  # rewritten after every run: what a long session measured if it is cut short
        self.runs: list[dict[str, Any]] = []
        self.failures: list[str] = []
        self.skipped: list[str] = []
        self._count = 0

    def run(self) -> dict[str, Any]:
        started = time.monotonic()
        load_before = os.getloadavg()
        why = cgroups.Box.unavailable()
        if why is not None:
            self.skipped.append(f"box: skipped, cgroups are not writable here ({why})")
            self.say(self.skipped[-1])
        else:
            with tempfile.TemporaryDirectory(prefix="bench-box-") as scratch:
                workdir = Path(scratch)
                env = Children._environment(workdir / "home")
                for workload in self.options.workloads:
                    getattr(self, f"_{workload}")(workdir, env)
        return {
            "options": dataclasses.asdict(self.options),
            "duration_seconds": round(time.monotonic() - started, 1),
            "load_before": [round(x, 2) for x in load_before],
            "load_after": [round(x, 2) for x in os.getloadavg()],
            "runs": self.runs,
            "summary": summarize(self.runs),
            "failures": self.failures,
            "skipped": self.skipped,
        }

    # -- the workloads
    def _big_pages(self, workdir: Path, env: dict[str, str]) -> None:
        o = self.options
        rows = scaled(o.big_rows, o.scale)
        arguments = ["--items", str(rows), "--row-bytes", str(o.big_row_bytes)]
        with box_server(arguments) as server:
            for workers in o.big_workers:
                configuration = box_configuration(server.url, "items", o.big_page_size, workers)
                self._repeat(
                    workdir, env, "big_pages", workers, "box", rows, configuration, {"items": rows},
                    self._engines_except(SPEED_ONLY),
                )  # fmt: skip

    def _parents(self, workdir: Path, env: dict[str, str]) -> None:
        o = self.options
        for count in o.parents:
            parents = scaled(count, o.scale)
            with box_server(["--parents", str(parents)]) as server:
                configuration = box_configuration(
                    server.url, "parents,children", o.parents_page_size, o.parents_workers
                )
                # the threaded baseline has no child tables
                engines = self._engines_except(("threads", *SPEED_ONLY))
                self._repeat(
                    workdir, env, "parents", o.parents_workers, "box", parents, configuration,
                    parents_rows(parents), engines,
                )  # fmt: skip

    def _fetch_heavy(self, workdir: Path, env: dict[str, str]) -> None:
        o = self.options
        pages = scaled(o.fetch_pages, o.scale)
        rows = pages * o.fetch_page_size
        self._on_playground(workdir, env, "fetch_heavy", rows, pages, o.fetch_page_size, o.fetch_latency_ms,
                            o.fetch_workers)  # fmt: skip

    def _end_to_end(self, workdir: Path, env: dict[str, str]) -> None:
        o = self.options
        rows = scaled(o.e2e_rows, o.scale)
        self._on_playground(workdir, env, "end_to_end", rows, rows, o.e2e_page_size, o.e2e_latency_ms,
                            (o.e2e_workers,))  # fmt: skip

    def _on_playground(
        self,
        workdir: Path,
        env: dict[str, str],
        workload: str,
        rows: int,
        size: int,
        page_size: int,
        latency_ms: int,
        workers: Sequence[int],
    ) -> None:
        """Comments of the playground: scale s serves 500 × s of them; the workload takes the first `rows`."""
        scale = max(1, -(-rows // 500))
        with running_playground(scale=scale, latency_ms=latency_ms) as server:
            for count in workers:
                configuration = playground_configuration(server, page_size, count)
                expected = {"comments": 500 * scale}
                for place in self.options.places:
                    self._repeat(workdir, env, workload, count, place, size, configuration, expected)

    def _engines_except(self, left_out: Sequence[str]) -> tuple[str, ...]:
        return tuple(e for e in self.options.engines if e not in left_out)

    # -- one cell, repeated, the engines rotating
    def _repeat(
        self,
        workdir: Path,
        env: dict[str, str],
        workload: str,
        workers: int,
        place: str,
        size: int,
        configuration: dict[str, str],
        expected: dict[str, int],
        engines: Sequence[str] | None = None,
    ) -> None:
        for repetition in range(self.options.repetitions):
            for engine in rotation(engines or self.options.engines, repetition + len(self.runs)):
                run = Run(workload, engine, workers, place, repetition, size, configuration, expected)
                self.runs.append(self._measure(workdir, env, run))
                if self.progress is not None:
                    self.progress.parent.mkdir(parents=True, exist_ok=True)
                    self.progress.write_text(json.dumps({"runs": self.runs}, indent=1, default=str), encoding="utf-8")

    def _measure(self, workdir: Path, env: dict[str, str], run: Run) -> dict[str, Any]:
        self._count += 1
        folder = workdir / f"box-{self._count}"
        folder.mkdir()
        result_path = folder / "result.json"
        (folder / "configuration.json").write_text(json.dumps(run.configuration, indent=2), encoding="utf-8")
        (folder / "requirements.txt").write_text("", encoding="utf-8")
        (folder / "connector.py").write_text(entry.connector_py(ROOT, run.engine, result_path), encoding="utf-8")
        command = [str(FIVETRAN), "debug", "--configuration", "configuration.json"]
        label = f"box {run.workload} {run.engine} {run.workers} workers ({run.place}, size {run.size})"
        box = None
        if run.place == "box":
            name = f"bench-box-{os.getpid()}-{self._count}"
            box = cgroups.Box.create(name, memory_bytes=self.options.memory_bytes, cpus=self.options.cpus)
        try:
            outcome = launch(box.wrap(command) if box else command, folder, env, self.options.run_timeout_seconds)
            usage = box.usage() if box else None
        finally:
            if box is not None:
                for problem in box.remove():
                    self.failures.append(f"{label}: could not remove the box: {problem}")
        inside: dict[str, Any] = {}
        if result_path.exists():
            inside = json.loads(result_path.read_text(encoding="utf-8"))
        state = folder / "files" / "state.json"
        landed = warehouse_counts(folder, list(run.rows_expected))
        record: dict[str, Any] = {
            **dataclasses.asdict(run),
            **inside,
            **outcome,
            "engine": run.engine,
            "rows_by_table": landed,
            "rows": sum(landed.values()),
            "complete": landed == run.rows_expected and outcome["exit"] == 0 and inside.get("status") == "succeeded",
            "state_bytes": state.stat().st_size if state.exists() else None,
            "box": dataclasses.asdict(usage) if usage else None,
        }
        record.pop("configuration")
        requests = record.get("requests") or 0
        record["cpu_ms_per_request"] = 1000 * record["update_cpu_seconds"] / requests if requests else None
        record["process_cpu_ms_per_request"] = 1000 * record["cpu_seconds"] / requests if requests else None
        if not record["complete"]:
            tail = outcome.pop("output_tail", "")
            self.failures.append(f"{label}: incomplete (exit {outcome['exit']}, rows {landed}):\n{tail}")
        record.pop("output_tail", None)
        peak = record["box"]["max_usage_bytes"] / MB if record["box"] else None
        self.say(
            f"{label}: {record['seconds']:.1f} s (update {record.get('update_seconds') or 0:.1f} s), "
            f"rss {record['max_rss_kb'] / 1024:.0f} MB, box peak {peak or 0:.0f} MB, "
            f"oom kills {record['box']['oom_kills'] if record['box'] else '-'}, "
            f"cpu {record['cpu_ms_per_request'] or 0:.2f} ms/req, rows {record['rows']}, "
            f"state {record['state_bytes']} B{'' if record['complete'] else ', INCOMPLETE'}"
        )
        return record


def box_configuration(base_url: str, tables: str, page_size: int, workers: int) -> dict[str, str]:
    configuration = base_configuration_for(base_url, tables, page_size, workers)
    configuration["source"] = "box"
    return configuration


def playground_configuration(server: Playground, page_size: int, workers: int) -> dict[str, str]:
    return base_configuration_for(server.url, "comments", page_size, workers)


def base_configuration_for(base_url: str, tables: str, page_size: int, workers: int) -> dict[str, str]:
    from benchmarks.runner import Options

    configuration = base_configuration(Options(), base_url, workers, tables.split(","))
    configuration["page_size"] = str(page_size)
    # A deployed connection checkpoints at the connector's default cadence (`Policy.checkpoint_every_rows`, and
    # the memory budget's share); the minimal engines read the same default. The other scenarios' 1,000 rows
    # makes every engine flush five times as often as a deployed one, each flush costing the SDK's runner more
    # the more tables are declared.
    configuration.pop("checkpoint_every_rows", None)
    return configuration


@contextmanager
def box_server(arguments: Sequence[str]) -> Iterator[Playground]:
    command = [sys.executable, "-m", "benchmarks.box.server", "--host", "127.0.0.1", "--port", "0", *arguments]
    with running_playground(scale=1, latency_ms=0, command=command) as server:
        yield server


def launch(command: Sequence[str], folder: Path, env: dict[str, str], timeout: float) -> dict[str, Any]:
    """Runs `command` in `folder` to its end (killed at `timeout`): wall time, CPU and peak RSS (`wait4`)."""
    log_path = folder / "output.log"
    started = time.monotonic()
    with log_path.open("w", encoding="utf-8") as log:
        process = subprocess.Popen(
            list(command), cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        deadline = started + timeout
        timed_out = False
        try:
            while True:
                pid, status, usage = os.wait4(process.pid, os.WNOHANG)
                if pid:
                    break
                if time.monotonic() > deadline and not timed_out:
                    timed_out = True
                    process.kill()
                time.sleep(0.05)
        except BaseException:  # interrupted: the process must end, or its box cannot be removed
            process.kill()
            os.wait4(process.pid, 0)
            raise
        process.returncode = os.waitstatus_to_exitcode(status)
    output = log_path.read_text(encoding="utf-8", errors="replace")
    return {
        "exit": "timeout" if timed_out else process.returncode,
        "seconds": time.monotonic() - started,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "max_rss_kb": usage.ru_maxrss,
        "output_tail": "\n".join(output.splitlines()[-15:]),
    }


def warehouse_counts(folder: Path, tables: list[str]) -> dict[str, int]:
    import importlib

    path = folder / "files" / "warehouse.db"
    if not path.exists():
        return {}
    duckdb = importlib.import_module("duckdb")  # by name: pipreqs (see benchmarks/devtools.py)
    connection = duckdb.connect(str(path), read_only=True)
    try:
        present = {row[0] for row in connection.execute("select table_name from information_schema.tables").fetchall()}
        return {
            table: int(connection.execute(f"select count(distinct id) from tester.{table}").fetchone()[0])
            for table in tables
            if table in present
        }
    finally:
        connection.close()


def summarize(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per (workload, size, workers, place, engine): medians of time, CPU per request, peaks; the worst of OOM
    kills and completeness."""
    cells: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for run in runs:
        cells.setdefault((run["workload"], run["size"], run["workers"], run["place"], run["engine"]), []).append(run)
    summary = []
    for (workload, size, workers, place, engine), group in cells.items():
        box = [r["box"] for r in group if r["box"]]
        summary.append(
            {
                "workload": workload,
                "size": size,
                "workers": workers,
                "place": place,
                "engine": engine,
                "runs": len(group),
                "complete": all(r["complete"] for r in group),
                "seconds": stats.median(r["seconds"] for r in group),
                "update_seconds": stats.median(r.get("update_seconds") for r in group),
                "cpu_ms_per_request": stats.median(r["cpu_ms_per_request"] for r in group),
                "process_cpu_ms_per_request": stats.median(r["process_cpu_ms_per_request"] for r in group),
                "peak_rss_mb": max(r["max_rss_kb"] for r in group) / 1024,
                "box_peak_mb": max(b["max_usage_bytes"] for b in box) / MB if box else None,
                "oom_kills": sum(b["oom_kills"] for b in box) if box else None,
                "limit_hits": sum(b["failcnt"] for b in box) if box else None,
                "state_bytes": max((r["state_bytes"] or 0) for r in group),
                "rows": min(r["rows"] for r in group),
            }
        )
    return summary


def pair_ratios(runs: list[dict[str, Any]], numerator: str, denominator: str, key: str) -> dict[str, Any]:
    """Per cell, the median (min-max) over repetitions of numerator's `key` over denominator's, same repetition."""
    out: dict[str, Any] = {}
    index = {(r["workload"], r["size"], r["workers"], r["place"], r["repetition"], r["engine"]): r for r in runs}
    cells: dict[str, list[float]] = {}
    for (workload, size, workers, place, repetition, engine), run in index.items():
        if engine != numerator:
            continue
        other = index.get((workload, size, workers, place, repetition, denominator))
        if other is None or not run["complete"] or not other["complete"]:
            continue
        a, b = run.get(key), other.get(key)
        if a and b:
            cells.setdefault(f"{workload} {workers} {place}", []).append(a / b)
    for cell, values in cells.items():
        out[cell] = stats.spread(values)
    return out
