"""The benchmark session: the same workloads for every engine, repeated, the order rotating, in child processes.

    clean         playground `--faults none`: fetch-only at every worker count for every engine of `engines`,
                  end to end for `e2e_engines` at `e2e_workers`; the tables of a cell are the fewest (smallest
                  first) that give at least `min_waves` waves of requests, so that start-up stays a small part
                  of every run (it is measured: time to the first row); end to end, among `e2e_tables`
    upsert rate   bare `op.upsert` of the largest end-to-end cell's rows, in fresh processes that fetched nothing
    overhead      issue 10's end-to-end row: comments only, 50,000 rows in 2,000 pages, 32 workers, every
                  resilience feature on, against `bare`, in the same session
    rate_limited  a fresh playground per run with a server-side token bucket; the engines pace themselves at its
                  rate, and the server counts every 429 it sends; one unpaced run shows that it does send them
    faulty        a fresh playground `--faults flaky` per run, the same seed for every engine
    issue 10      the adaptive-concurrency scenarios (`benchmarks.adaptive`), skipped with a line when this build
                  lacks what they need
    profiles      one run per engine under py-spy (`benchmarks.profiling`)

Every run is a child process (`benchmarks.workloads`): its CPU and memory are its own. Within a repetition the
engines run back to back in an order that rotates (and reverses) from one cell and repetition to the next, so that
no engine always runs first, or always after the same one.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from async_core.playground.data import COLLECTION_SIZES
from benchmarks import adaptive, profiling, stats
from benchmarks.plan import (
    Cell,
    Options,
    base_configuration,
    faulty_overrides,
    rotation,
    tables_for,
)
from benchmarks.server import ROOT, Playground, page_counts, row_counts, running_playground

# Lines of the SDK's output that mean it tried the network (or waited for it): a run that shows one is reported.
NETWORK_SIGNS = ("pipreqs", "unable to check for a newer version", "retrying after")


class ChildFailed(RuntimeError):
    """A child process ended without a result."""


class Children:
    """Runs `benchmarks.workloads` children and reads their results."""

    def __init__(self, workdir: Path, options: Options) -> None:
        self.workdir = workdir
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
        folder = self.workdir / f"project-{self._count}"
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

    def run(self, spec: dict[str, Any], *, wrap: Callable[[list[str]], list[str]] | None = None) -> dict[str, Any]:
        """Runs one child; `wrap` may put a command in front of it (a profiler)."""
        self._count += 1
        result_path = self.workdir / f"result-{self._count}.json"
        log_path = self.workdir / f"child-{self._count}.log"
        command = [sys.executable, "-m", "benchmarks.workloads", json.dumps(spec), str(result_path)]
        if wrap is not None:
            command = wrap(command)
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
        result["unknown_key_warnings"] = [
            line.strip() for line in output.splitlines() if "is not known to this connector" in line
        ][:5]
        return result


class Benchmark:
    """One benchmark session: runs, raw results, and their summary."""

    def __init__(self, options: Options, progress: Callable[[str], None] | None = None) -> None:
        self.options = options
        self.say = progress or (lambda line: print(line, file=sys.stderr, flush=True))
        self.runs: list[dict[str, Any]] = []
        self.failures: list[str] = []
        self.upsert_samples: list[dict[str, Any]] = []
        self.workload: dict[str, Any] = {}
        self.profiles: list[dict[str, Any]] = []
        self.skipped: list[str] = []
        self.children: Children | None = None

    # -- the session
    def run(self) -> dict[str, Any]:
        options = self.options
        started = time.monotonic()
        load_before = os.getloadavg()
        with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
            self.children = Children(Path(scratch), options)
            with running_playground(
                scale=options.scale, latency_ms=options.latency_ms, faults="none", seed=options.seed
            ) as server:
                self._describe_workload(server)
                if "fetch" in options.modes:
                    self._matrix(server, "fetch", options.workers, options.engines)
                if "e2e" in options.modes:
                    self._upsert_rate(server)
                    self._matrix(server, "e2e", options.e2e_workers, options.e2e_engines)
                if options.profiles:
                    self._profiles(server)
                if options.adaptive:
                    adaptive.clean_server(self, server)
            if options.scenarios:
                if options.overhead and "e2e" in options.modes:
                    self._overhead()
                self._rate_limited()
                self._faulty()
            if options.adaptive:
                adaptive.capacity(self)
                adaptive.api_playground(self)
        latency = options.latency_ms / 1000
        rate_limits = {"rate_limited": options.rate_limit_rps}
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
                **stats.spread([s["upserts_per_second"] for s in self.upsert_samples]),
                "rows": self.upsert_samples[0]["rows"] if self.upsert_samples else None,
                "tables": self.workload.get("upsert_tables"),
                "sdk_network_signs": sorted({x for s in self.upsert_samples for x in s.get("sdk_network_signs", [])}),
            },
            "runs": self.runs,
            "summary": stats.summarize(self.runs, latency, rate_limits),
            "ratios": stats.pair_ratios(self.runs),
            "profiles": self.profiles,
            "skipped": self.skipped,
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
            "tables_by_workers": {str(w): list(tables_for(options, w)) for w in options.workers},
            "e2e_tables_by_workers": {str(w): list(tables_for(options, w, "e2e")) for w in options.e2e_workers},
            "playground": server.arguments,
        }
        self.say(
            f"workload: {self.workload['rows_total']} rows in {self.workload['pages']} pages "
            f"({', '.join(f'{t} {n}' for t, n in rows.items())}); playground {server.url}; tables by workers: "
            f"{self.workload['tables_by_workers']}"
        )

    def _expected(self, tables: Sequence[str]) -> dict[str, int]:
        return {name: self.workload["rows_expected"][name] for name in tables}

    def _matrix(self, server: Playground, mode: str, workers: Sequence[int], engines: Sequence[str]) -> None:
        options = self.options
        for index, count in enumerate(workers):
            tables = tables_for(options, count, mode)
            for repetition in range(options.repetitions):
                for position, engine in enumerate(rotation(engines, index + repetition)):
                    configuration = base_configuration(options, server.url, count, tables)
                    cell = Cell(
                        "clean", mode, engine, count, repetition, position, configuration, self._expected(tables)
                    )
                    self.measure(cell, server)

    def spec(self, mode: str, engine: str, configuration: dict[str, str]) -> dict[str, Any]:
        assert self.children is not None
        spec: dict[str, Any] = {"mode": mode, "engine": engine, "configuration": configuration}
        if mode in ("e2e", "upsert"):
            spec["project"] = str(self.children.project(configuration))
        return spec

    def measure(self, cell: Cell, server: Playground | None) -> dict[str, Any] | None:
        """Runs one cell in a child; records and returns the run (None when the child failed)."""
        assert self.children is not None
        label = f"{cell.scenario} {cell.mode} {cell.engine} {cell.workers} workers, repetition {cell.repetition + 1}"
        spec = self.spec(cell.mode, cell.runs_engine or cell.engine, cell.configuration)
        server_cpu = server.cpu_seconds() if server else None
        try:
            result = self.children.run(spec)
        except ChildFailed as exc:
            self.failures.append(f"{label}: {exc}")
            self.say(f"FAILED {label}: {exc}")
            return None
        after = server.cpu_seconds() if server else None
        run = {
            "scenario": cell.scenario,
            "mode": cell.mode,
            "engine": cell.engine,
            "workers": cell.workers,
            "repetition": cell.repetition,
            "position": cell.position,
            "tables": list(cell.rows_expected),
            "rows_expected": cell.rows_expected,
            "pages_expected": sum(
                page_counts(cell.rows_expected, int(cell.configuration.get("page_size", "10"))).values()
            ),
            "server_cpu_seconds": None if server_cpu is None or after is None else after - server_cpu,
            **result,
        }
        run["engine"] = cell.engine  # the cell's label (e.g. async-adaptive), not the child's engine (async)
        stats.derive(run)
        self.runs.append(run)
        self.say(
            f"{label}: {run['wall_seconds']:.2f} s, {run['requests_per_second'] or 0:.0f} req/s, "
            f"{run['rows']} rows, cpu {run['cpu_ms_per_request'] or 0:.2f} ms/req, "
            f"rss {run['max_rss_kb'] / 1024:.0f} MB"
        )
        return run

    def _upsert_rate(self, server: Playground) -> None:
        """Bare `op.upsert` of the rows of the largest end-to-end cell, each repetition in a fresh process."""
        assert self.children is not None
        options = self.options
        tables = tables_for(options, max(options.e2e_workers), "e2e")
        self.workload["upsert_tables"] = list(tables)
        rows_path = self.children.workdir / "upsert-rows.pickle"
        configuration = base_configuration(options, server.url, 64, tables)
        try:
            self.children.run({"mode": "prefetch", "configuration": configuration, "rows_path": str(rows_path)})
        except ChildFailed as exc:
            self.failures.append(f"prefetch for bare upsert: {exc}")
            return
        for _ in range(options.upsert_repetitions):
            spec = self.spec("upsert", "sdk", configuration)
            spec["rows_path"] = str(rows_path)
            try:
                sample = self.children.run(spec)
            except ChildFailed as exc:
                self.failures.append(f"bare upsert: {exc}")
                self.say(f"FAILED bare upsert: {exc}")
                continue
            self.upsert_samples.append(sample)
            self.say(f"bare op.upsert: {sample['upserts_per_second']:.0f} rows/s ({sample['rows']} rows)")

    def _overhead(self) -> None:
        """Issue 10's end-to-end row: the connector with every resilience feature on against `bare`."""
        options = self.options
        scale = max(1, options.overhead_rows // COLLECTION_SIZES["comments"])
        with running_playground(scale=scale, latency_ms=options.latency_ms, faults="none", seed=options.seed) as server:
            expected = row_counts(server.url, ["comments"])
            for repetition in range(options.repetitions):
                for position, engine in enumerate(rotation(("async", "bare"), repetition)):
                    configuration = base_configuration(options, server.url, options.overhead_workers, ["comments"])
                    # bare reads only what it uses (base_url, tables, page_size, max_workers, checkpoint cadence)
                    configuration.update(adaptive.every_feature(), page_size=str(options.overhead_page_size))
                    cell = Cell(
                        "overhead",
                        "e2e",
                        engine,
                        options.overhead_workers,
                        repetition,
                        position,
                        configuration,
                        expected,
                    )
                    self.measure(cell, server)

    def _rate_limited(self) -> None:
        """A fresh throttled playground per run, so that each run's 429s are its own; the engines pace at the
        server's rate. Then one unpaced run: it must meet 429s, or the check above could not fail."""
        options = self.options
        # ~8 s a run at 100/s: long enough that the pace, not the start, decides the measured rate
        tables = tables_for(options, options.rate_limit_workers, "e2e")
        expected = {name: COLLECTION_SIZES[name] * options.scale for name in tables}
        extra = ["--rate-limit", f"{options.rate_limit_rps:g}", "--burst", str(options.rate_limit_burst)]
        plan = [
            (repetition, position, engine, f"{options.rate_limit_rps:g}")
            for repetition in range(options.repetitions)
            for position, engine in enumerate(rotation(("async", "threads"), repetition))
        ]
        plan.append((0, 0, "async", "0"))
        for repetition, position, engine, pace in plan:
            scenario = "rate_limited" if pace != "0" else "rate_limited_unpaced"
            with running_playground(
                scale=options.scale, latency_ms=options.latency_ms, faults="none", seed=options.seed, extra=extra
            ) as server:
                configuration = base_configuration(options, server.url, options.rate_limit_workers, tables)
                configuration.update(requests_per_second=pace, max_retries="8", max_wait_seconds="60")
                cell = Cell(
                    scenario, "fetch", engine, options.rate_limit_workers, repetition, position, configuration, expected
                )
                run = self.measure(cell, server)
            if run is not None:
                run["server_429"] = server.throttled
                run["server_requests"] = server.served

    def _faulty(self) -> None:
        """A fresh flaky playground per run, same seed: both engines meet the same fault schedule."""
        options = self.options
        tables = [name for name in options.faulty_tables if name in options.tables] or list(options.tables)
        expected = {name: COLLECTION_SIZES[name] * options.faulty_scale for name in tables}
        for repetition in range(options.repetitions):
            for position, engine in enumerate(rotation(("async", "threads"), repetition)):
                with running_playground(
                    scale=options.faulty_scale, latency_ms=options.latency_ms, faults="flaky", seed=options.seed
                ) as server:
                    configuration = base_configuration(options, server.url, options.faulty_workers, tables)
                    configuration.update(faulty_overrides())
                    cell = Cell(
                        "faulty", "fetch", engine, options.faulty_workers, repetition, position, configuration, expected
                    )
                    run = self.measure(cell, server)
                if run is not None:
                    run["server_requests"] = server.served
                    run["server_faults"] = dict(server.faults)

    def _profiles(self, server: Playground) -> None:
        """One fetch-only run per engine under py-spy, and one end-to-end run of async, threads and bare."""
        assert self.children is not None
        options = self.options
        py_spy = profiling.available()
        if py_spy is None:
            self.skipped.append("profiles: py-spy is not installed (pip install -r requirements-dev.txt)")
            return
        plan = [("fetch", engine, options.profile_workers) for engine in options.engines]
        if "e2e" in options.modes:
            plan += [("e2e", engine, options.profile_workers) for engine in options.e2e_engines]
        for index, (mode, engine, workers) in enumerate(plan):
            tables = tables_for(options, workers, mode)
            output = self.children.workdir / f"profile-{index}.txt"
            spec = self.spec(mode, engine, base_configuration(options, server.url, workers, tables))

            def wrap(child: list[str], out: Path = output) -> list[str]:
                return profiling.command(py_spy, out, child)

            try:
                result = self.children.run(spec, wrap=wrap)
                raw = output.read_text(encoding="utf-8")
            except (ChildFailed, OSError) as exc:
                self.failures.append(f"profile {mode} {engine}: {exc}")
                continue
            run = {"mode": mode, "engine": engine, "workers": workers, **result}
            stats.derive(run)
            shares = profiling.shares(raw)
            cpu = run.get("cpu_ms_per_request") or 0.0
            self.profiles.append(
                {
                    "mode": mode,
                    "engine": engine,
                    "workers": workers,
                    "cpu_ms_per_request": cpu,
                    "shares": shares,
                    "split_ms_per_request": {name: share * cpu for name, share in shares.items()},
                }
            )
            self.say(
                f"profile {mode} {engine}: {cpu:.3f} ms/req; " + ", ".join(f"{k} {v:.0%}" for k, v in shares.items())
            )
