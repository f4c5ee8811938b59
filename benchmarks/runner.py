"""The benchmark matrix: the same workload for both engines, at each `max_workers`, repeated, alternating order.

    clean         playground `--faults none`: fetch-only and end-to-end, at every worker count; beside the
                  end-to-end runs, the rate of bare `op.upsert` calls measured in the same session
    rate_limited  the clean playground, `requests_per_second` below what the workers could do
    faulty        a fresh playground `--faults flaky` per run, the same seed for both engines

Every run is a child process (`benchmarks.workloads`): its CPU and memory are its own. Within a repetition the
engine that goes first alternates, from one worker count and one repetition to the next, so that neither engine
always runs on a warmer (or noisier) machine.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from benchmarks.server import ROOT, Playground, page_counts, row_counts, running_playground
from sources.jsonplaceholder import TABLES

ENGINES = ("async", "threads")
ALL_TABLES = tuple(TABLES)
# Lines of the SDK's output that mean it tried the network (or waited for it): a run that shows one is reported.
NETWORK_SIGNS = ("pipreqs", "unable to check for a newer version", "retrying after")


@dataclasses.dataclass(frozen=True, kw_only=True)
class Options:
    """What to run. The defaults are the full benchmark (about 10 minutes on 2 cores)."""

    name: str = "latest"
    results_dir: Path = ROOT / "benchmarks" / "results"
    workers: tuple[int, ...] = (4, 16, 64, 256)
    repetitions: int = 3
    modes: tuple[str, ...] = ("fetch", "e2e")
    tables: tuple[str, ...] = ALL_TABLES
    scale: int = 3  # 1,773 pages of 10 rows: 7 waves at 256 workers; the full run stays near 11 minutes
    page_size: int = 10
    latency_ms: int = 50
    seed: int = 1
    scenarios: bool = True
    rate_limit_rps: float = 100.0
    rate_limit_workers: int = 64
    faulty_workers: int = 64
    # Without photos: each of the flaky profile's 429s pauses every request for its Retry-After (1 s), so the
    # faulty runs' time grows with the number of requests; about 300 requests keep a run near 10 s.
    faulty_tables: tuple[str, ...] = ("users", "posts", "comments", "albums", "todos")
    smoke: bool = False
    child_timeout_seconds: float = 600.0


SMOKE = Options(
    name="smoke",
    workers=(4, 16),
    repetitions=1,
    tables=("users", "posts", "comments"),
    scale=1,
    rate_limit_rps=100.0,
    rate_limit_workers=16,
    faulty_workers=16,
    faulty_tables=("users", "posts", "comments"),
    smoke=True,
    child_timeout_seconds=60.0,
)


class ChildFailed(RuntimeError):
    """A child process ended without a result."""


def base_configuration(options: Options, base_url: str, workers: int) -> dict[str, str]:
    """The connector configuration of a run: every value a string, as configuration.json."""
    return {
        "base_url": base_url,
        "tables": ",".join(options.tables),
        "page_size": str(options.page_size),
        "max_workers": str(workers),
        "requests_per_second": "0",
        "api_timeout_seconds": "30",
        "retry_strategy": "exponential_backoff",
        "max_retries": "3",
        "base_delay": "1.0",
        "enable_circuit_breaker": "true",
        "error_threshold_per_thread": "5",
        "total_error_threshold": "15",
        "checkpoint_every_rows": "1000",
    }


def faulty_overrides() -> dict[str, str]:
    """The faulty scenario's settings, the same for both engines: the sync is allowed to go to the end (high
    thresholds) and retries are quick, so that what is measured is how each engine rides out the faults."""
    return {
        "api_timeout_seconds": "5",
        "base_delay": "0.2",
        "max_delay": "5",
        "max_retries": "5",
        "error_threshold_per_thread": "1000",
        "total_error_threshold": "1000",
        "recovery_timeout": "2",
        "max_wait_seconds": "60",
    }


class Children:
    """Runs `benchmarks.workloads` children and reads their results."""

    def __init__(self, workdir: Path, options: Options) -> None:
        self._workdir = workdir
        self._options = options
        self._count = 0
        self.env = self._environment(workdir / "home")

    @staticmethod
    def _environment(home: Path) -> dict[str, str]:
        """The children's environment. HOME is a scratch folder in which the SDK's version checks are marked as
        just done: offline, the SDK's check retries with sleeps of 1, 2 and 4 s on every run otherwise."""
        now = int(time.time())
        (home / ".fivetran" / "connector_sdk").mkdir(parents=True, exist_ok=True)
        (home / ".fivetran" / "connector_sdk" / "_last_version_check").write_text(str(now), encoding="utf-8")
        (home / ".fivetran" / "connector_sdk_core").mkdir(parents=True, exist_ok=True)
        (home / ".fivetran" / "connector_sdk_core" / "_config.json").write_text(
            json.dumps({"lastVersionCheck": now}), encoding="utf-8"
        )
        env = dict(os.environ)
        env.pop("PYTHONPATH", None)
        env.update(
            HOME=str(home),
            DO_NOT_TRACK="1",
            PYTHONUNBUFFERED="1",
            # The SDK runs `pipreqs` by name: the virtualenv's bin must come first.
            PATH=os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]),
        )
        return env

    def project(self, configuration: dict[str, str]) -> Path:
        """A fresh project folder for one run under the SDK: nothing in it for pipreqs to look up."""
        self._count += 1
        folder = self._workdir / f"project-{self._count}"
        folder.mkdir()
        (folder / "configuration.json").write_text(json.dumps(configuration, indent=2), encoding="utf-8")
        (folder / "requirements.txt").write_text("", encoding="utf-8")
        (folder / "connector.py").write_text(
            '"""Placeholder: the SDK reads <project>/connector.py before a run. The benchmark\'s connector is\n'
            "benchmarks/workloads.py, which runs Connector.debug(project_path=<this folder>); keeping the code\n"
            'out of this folder leaves pipreqs nothing to look up."""\n',
            encoding="utf-8",
        )
        return folder

    def run(self, spec: dict[str, Any]) -> dict[str, Any]:
        self._count += 1
        result_path = self._workdir / f"result-{self._count}.json"
        log_path = self._workdir / f"child-{self._count}.log"
        command = [sys.executable, "-m", "benchmarks.workloads", json.dumps(spec), str(result_path)]
        with log_path.open("w", encoding="utf-8") as log:
            try:
                completed = subprocess.run(
                    command,
                    cwd=ROOT,
                    env=self.env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    timeout=self._options.child_timeout_seconds,
                    check=False,
                )
                code: int | str = completed.returncode
            except subprocess.TimeoutExpired:
                code = "timeout"
        output = log_path.read_text(encoding="utf-8", errors="replace")
        if code != 0 or not result_path.exists():
            tail = "\n".join(output.splitlines()[-25:])
            raise ChildFailed(f"{spec['mode']} {spec.get('engine')} exited {code}:\n{tail}")
        result: dict[str, Any] = json.loads(result_path.read_text(encoding="utf-8"))
        if spec["mode"] in ("e2e", "upsert"):
            signs = [line.strip() for line in output.splitlines() if any(s in line.lower() for s in NETWORK_SIGNS)]
            result["sdk_network_signs"] = signs[:5]
        return result


def _median(values: Iterable[float | None]) -> float | None:
    data = [v for v in values if v is not None]
    return statistics.median(data) if data else None


def _derived(run: dict[str, Any]) -> None:
    """Rates of one run, from its raw numbers."""
    wall = run.get("wall_seconds") or 0.0
    requests = run.get("requests") or 0
    run["requests_per_second"] = requests / wall if wall else None
    run["rows_per_second"] = run.get("rows", 0) / wall if wall else None
    cpu = (run.get("cpu_user") or 0.0) + (run.get("cpu_sys") or 0.0)
    run["cpu_ms_per_request"] = 1000 * cpu / requests if requests else None
    if run.get("server_cpu_seconds") is not None and requests:
        run["server_cpu_ms_per_request"] = 1000 * run["server_cpu_seconds"] / requests


class Benchmark:
    """One benchmark session: runs, raw results, and their summary."""

    def __init__(self, options: Options, progress: Callable[[str], None] | None = None) -> None:
        self.options = options
        self._say = progress or (lambda line: print(line, file=sys.stderr, flush=True))
        self.runs: list[dict[str, Any]] = []
        self.failures: list[str] = []
        self.upsert_samples: list[dict[str, Any]] = []
        self.workload: dict[str, Any] = {}

    # -- the session
    def run(self) -> dict[str, Any]:
        options = self.options
        started = time.monotonic()
        load_before = os.getloadavg()
        with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
            children = Children(Path(scratch), options)
            with running_playground(
                scale=options.scale, latency_ms=options.latency_ms, faults="none", seed=options.seed
            ) as server:
                self._describe_workload(server)
                for mode in options.modes:
                    for index, workers in enumerate(options.workers):
                        if mode == "e2e":
                            self._upsert_sample(children, server)
                        for repetition in range(options.repetitions):
                            order = ENGINES if (index + repetition) % 2 == 0 else ENGINES[::-1]
                            for position, engine in enumerate(order):
                                configuration = base_configuration(options, server.url, workers)
                                cell = ("clean", mode, engine, workers, repetition, position)
                                self._measure(children, server, *cell, configuration)
                if options.scenarios:
                    self._rate_limited(children, server)
            self._server_saw(server, "clean", "rate_limited")
            if options.scenarios:
                self._faulty(children)
        return {
            "name": options.name,
            "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "duration_seconds": round(time.monotonic() - started, 1),
            "machine": {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "platform": platform.platform(),
                "load_before": [round(x, 2) for x in load_before],
                "load_after": [round(x, 2) for x in os.getloadavg()],
            },
            "options": {k: (str(v) if isinstance(v, Path) else v) for k, v in dataclasses.asdict(options).items()},
            "workload": self.workload,
            "upsert_rate": {
                "samples": [s["upserts_per_second"] for s in self.upsert_samples],
                "median": _median(s["upserts_per_second"] for s in self.upsert_samples),
                "rows": self.upsert_samples[0]["rows"] if self.upsert_samples else None,
                "sdk_network_signs": sorted({x for s in self.upsert_samples for x in s.get("sdk_network_signs", [])}),
            },
            "runs": self.runs,
            "summary": summarize(self.runs, self.workload, options),
            "failures": self.failures,
        }

    def _describe_workload(self, server: Playground) -> None:
        options = self.options
        rows = row_counts(server.url, options.tables)
        pages = page_counts(rows, options.page_size)
        self.workload = {
            "tables": list(options.tables),
            "scale": options.scale,
            "page_size": options.page_size,
            "latency_ms": options.latency_ms,
            "rows_expected": rows,
            "rows_total": sum(rows.values()),
            "pages_by_table": pages,
            "pages": sum(pages.values()),
            "playground": server.arguments,
        }
        self._say(
            f"workload: {self.workload['rows_total']} rows in {self.workload['pages']} pages "
            f"({', '.join(f'{t} {n}' for t, n in rows.items())}); playground {server.url}"
        )

    def _spec(self, children: Children, mode: str, engine: str, configuration: dict[str, str]) -> dict[str, Any]:
        spec: dict[str, Any] = {"mode": mode, "engine": engine, "configuration": configuration}
        if mode in ("e2e", "upsert"):
            spec["project"] = str(children.project(configuration))
        return spec

    def _measure(
        self,
        children: Children,
        server: Playground,
        scenario: str,
        mode: str,
        engine: str,
        workers: int,
        repetition: int,
        position: int,
        configuration: dict[str, str],
        *,
        rows_expected: dict[str, int] | None = None,
    ) -> dict[str, Any] | None:
        label = f"{scenario} {mode} {engine} {workers} workers, repetition {repetition + 1}"
        spec = self._spec(children, mode, engine, configuration)
        server_cpu = server.cpu_seconds()
        try:
            result = children.run(spec)
        except ChildFailed as exc:
            self.failures.append(f"{label}: {exc}")
            self._say(f"FAILED {label}: {exc}")
            return None
        after = server.cpu_seconds()
        run = {
            "scenario": scenario,
            "mode": mode,
            "engine": engine,
            "workers": workers,
            "repetition": repetition,
            "position": position,
            "rows_expected": rows_expected if rows_expected is not None else self.workload["rows_expected"],
            "pages_expected": sum(page_counts(rows_expected, self.options.page_size).values())
            if rows_expected is not None
            else self.workload["pages"],
            "server_cpu_seconds": None if server_cpu is None or after is None else after - server_cpu,
            **result,
        }
        _derived(run)
        self.runs.append(run)
        self._say(
            f"{label}: {run['wall_seconds']:.2f} s, {run['requests_per_second'] or 0:.0f} req/s, "
            f"{run['rows']} rows, cpu {run['cpu_ms_per_request'] or 0:.2f} ms/req, "
            f"rss {run['max_rss_kb'] / 1024:.0f} MB"
        )
        return run

    def _upsert_sample(self, children: Children, server: Playground) -> None:
        """One measurement of bare `op.upsert` calls, between the end-to-end runs of the same session."""
        configuration = base_configuration(self.options, server.url, 64)
        spec = self._spec(children, "upsert", "sdk", configuration)
        spec["prefetch_configuration"] = configuration
        try:
            sample = children.run(spec)
        except ChildFailed as exc:
            self.failures.append(f"bare upsert: {exc}")
            self._say(f"FAILED bare upsert: {exc}")
            return
        self.upsert_samples.append(sample)
        self._say(f"bare op.upsert: {sample['upserts_per_second']:.0f} rows/s ({sample['rows']} rows)")

    def _rate_limited(self, children: Children, server: Playground) -> None:
        options = self.options
        for repetition in range(options.repetitions):
            order = ENGINES if repetition % 2 == 0 else ENGINES[::-1]
            for position, engine in enumerate(order):
                configuration = base_configuration(options, server.url, options.rate_limit_workers)
                configuration["requests_per_second"] = f"{options.rate_limit_rps:g}"
                self._measure(
                    children,
                    server,
                    "rate_limited",
                    "fetch",
                    engine,
                    options.rate_limit_workers,
                    repetition,
                    position,
                    configuration,
                )

    def _faulty(self, children: Children) -> None:
        """A fresh flaky playground per run, same seed: both engines meet the same fault schedule."""
        options = self.options
        for repetition in range(options.repetitions):
            order = ENGINES if repetition % 2 == 0 else ENGINES[::-1]
            for position, engine in enumerate(order):
                with running_playground(
                    scale=options.scale, latency_ms=options.latency_ms, faults="flaky", seed=options.seed
                ) as server:
                    configuration = base_configuration(options, server.url, options.faulty_workers)
                    tables = [name for name in options.faulty_tables if name in options.tables] or options.tables
                    configuration.update(faulty_overrides(), tables=",".join(tables))
                    cell = ("faulty", "fetch", engine, options.faulty_workers, repetition, position)
                    expected = {name: self.workload["rows_expected"][name] for name in tables}
                    run = self._measure(children, server, *cell, configuration, rows_expected=expected)
                if run is not None:
                    run["server_requests"] = server.served
                    run["server_faults"] = dict(server.faults)

    def _server_saw(self, server: Playground, *scenarios: str) -> None:
        """After the shared playground stopped: what it served, and the 429s it sent during these scenarios (its
        exit line counts them for its whole life, so every run of the scenarios gets that upper bound)."""
        throttled = sum(count for name, count in server.faults.items() if name.startswith("rate_limit"))
        self.workload["server_requests"] = server.served
        self.workload["server_faults"] = dict(server.faults)
        for run in self.runs:
            if run["scenario"] in scenarios and server.served is not None:
                run["server_429"] = throttled


def _stats(values: Sequence[float | None]) -> dict[str, float | None]:
    data = [v for v in values if v is not None]
    if not data:
        return {"median": None, "min": None, "max": None}
    return {"median": statistics.median(data), "min": min(data), "max": max(data)}


def summarize(runs: list[dict[str, Any]], workload: dict[str, Any], options: Options) -> list[dict[str, Any]]:
    """One row per (scenario, mode, workers, engine): medians over the repetitions, with the bound beside them.

    The bound of a fetch at `w` workers and latency `L`: `pages × L / w` seconds, i.e. `w / L` requests/s (lower
    when a rate limit is set)."""
    groups: dict[tuple[str, str, int, str], list[dict[str, Any]]] = {}
    for run in runs:
        groups.setdefault((run["scenario"], run["mode"], run["workers"], run["engine"]), []).append(run)
    latency = options.latency_ms / 1000
    rows: list[dict[str, Any]] = []
    for (scenario, mode, workers, engine), group in sorted(groups.items(), key=_group_order):
        pages = group[0].get("pages_expected", workload.get("pages", 0))
        bound_rps = workers / latency if latency else float("inf")
        if scenario == "rate_limited":
            bound_rps = min(bound_rps, options.rate_limit_rps)
        rss = [r["max_rss_kb"] / 1024 for r in group if r.get("max_rss_kb")]
        rows.append(
            {
                "scenario": scenario,
                "mode": mode,
                "workers": workers,
                "engine": engine,
                "runs": len(group),
                "wall_seconds": _stats([r["wall_seconds"] for r in group]),
                "total_seconds": _stats([r.get("total_seconds") for r in group]),
                "requests": _median(r["requests"] for r in group),
                "requests_per_second": _median(r["requests_per_second"] for r in group),
                "rows_per_second": _median(r["rows_per_second"] for r in group),
                "cpu_ms_per_request": _median(r["cpu_ms_per_request"] for r in group),
                "server_cpu_ms_per_request": _median(r.get("server_cpu_ms_per_request") for r in group),
                "peak_rss_mb": _median(rss),
                "peak_rss_mb_max": max(rss) if rss else None,
                "retries": _median(r.get("retries", 0) for r in group),
                "errors": _median(r.get("errors", 0) for r in group),
                "rows": min(r["rows"] for r in group),
                "rows_expected": sum(group[0]["rows_expected"].values()),
                "statuses": sorted({r.get("status", "?") for r in group}),
                "bound_seconds": pages / bound_rps if bound_rps else None,
                "bound_requests_per_second": bound_rps,
            }
        )
    return rows


def _group_order(item: tuple[tuple[str, str, int, str], Any]) -> tuple[int, int, int, int]:
    scenario, mode, workers, engine = item[0]
    return (
        ["clean", "rate_limited", "faulty"].index(scenario),
        ["fetch", "e2e"].index(mode),
        workers,
        ENGINES.index(engine),
    )
