"""Child-process entry points: one engine, one mode, one run, measured from inside and written as one JSON object.

    python -m benchmarks.workloads SPEC_JSON RESULT_PATH

SPEC_JSON is {"mode": ..., "engine": one of `ENGINES`, "configuration": {...}, ...}; the modes:
- fetch:  the engine with a counting sink (nothing is written): the concurrency model alone;
- e2e:    the engine under the SDK's real runner (`Connector.debug`) into a DuckDB warehouse in `project`;
          update() is timed from inside, `debug()` as a whole around it;
- prefetch: the connector's rows for the configuration, pickled to `rows_path` (for the upsert mode);
- upsert: bare `op.upsert` calls under the same runner, of exactly the rows the workload produces (loaded from
          `rows_path`, outside the timing, in a process that has fetched nothing), with the connector's checkpoint
          cadence: the ceiling of any end-to-end row rate.

Each run is a fresh process, so its `resource.getrusage(RUSAGE_SELF)` belongs to that run alone: CPU is the
difference across the run, peak RSS (`ru_maxrss`) is the process's. Both engines are imported before anything is
measured, whichever runs, so that the two start from the same resident memory.
"""

from __future__ import annotations

import importlib
import json
import logging
import pickle
import resource
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from async_core import StdLog, run_sync, schema_for, schema_selection
from async_core.run.bridge import Sink
from async_core.settings import parse_settings
from async_core.source.sync_tables import SYNC_ERRORS, SYNC_RUNS
from async_core.sync import Log
from benchmarks.minimal import (
    run_bare,
    run_bare_rows,
    run_h11_async,
    run_h11_threads,
    run_httpx_async,
    run_httpx_threads,
)
from benchmarks.minimal.common import settings_of, tables_of, user_schema
from benchmarks.sinks import CollectingSink, CountingSink
from benchmarks.threaded import run_threaded

Engine = Callable[..., Any]
ENGINES: dict[str, Engine] = {
    "async": run_sync,  # this connector's stack: aiohttp + asyncio, every resilience feature
    "threads": run_threaded,  # the original's stack: requests + ThreadPoolExecutor, the same resilience
    "bare": run_bare,  # the floor: aiohttp fan-out, single-thread upserts, nothing else
    "bare-rows": run_bare_rows,  # the floor's fetching with the connector's rows and schema (the box's split)
    "h11-async": run_h11_async,  # the control: the same h11 exchange on asyncio ...
    "h11-threads": run_h11_threads,  # ... and on threads
    "httpx-async": run_httpx_async,  # httpx's two clients (not in the default matrix: their pools differ)
    "httpx-threads": run_httpx_threads,
}
META_TABLES = (SYNC_RUNS, SYNC_ERRORS)


def _usage() -> dict[str, float]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {"user": usage.ru_utime, "sys": usage.ru_stime, "max_rss_kb": float(usage.ru_maxrss)}  # KiB on Linux


def _engine(spec: Mapping[str, Any]) -> Engine:
    return ENGINES[spec["engine"]]


def _from_summary(summary: Mapping[str, Any]) -> dict[str, Any]:
    processing = summary.get("processing_summary", {})
    resilience = summary.get("resilience", {})
    return {
        "requests": resilience.get("requests", 0),
        "retries": resilience.get("retries", processing.get("total_retries", 0)),
        "errors": summary.get("error_summary", {}).get("total_errors", processing.get("total_errors", 0)),
        "records_processed": processing.get("total_records_processed", 0),
        "gate_waits": resilience.get("rate_gate_waits", 0),
        "breaker_opens": resilience.get("breaker_opens", 0),
        "http_statuses": resilience.get("http_statuses"),
        # issue 10's adaptive limit (start, min, max, final, samples of [t, limit]) when the build has it
        "concurrency": summary.get("concurrency"),
    }


def fetch_only(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The engine against a counting sink."""
    sink = CountingSink()
    before = _usage()
    started = time.perf_counter()
    result = _engine(spec)(spec["configuration"], None, sink=sink, log=StdLog("benchmark"))
    wall = time.perf_counter() - started
    after = _usage()
    rows = {table: n for table, n in sink.rows.items() if table not in META_TABLES}
    return {
        "status": result.status,
        "message": result.message,
        "wall_seconds": wall,
        "first_row_seconds": None if sink.first_row_at is None else sink.first_row_at - started,
        "rows": sum(rows.values()),
        "rows_by_table": rows,
        "dead_letters": sink.rows.get(SYNC_ERRORS, 0),
        "checkpoints": sink.checkpoints,
        "cpu_user": after["user"] - before["user"],
        "cpu_sys": after["sys"] - before["sys"],
        "rss_before_kb": before["max_rss_kb"],
        "max_rss_kb": after["max_rss_kb"],
        **_from_summary(result.summary),
    }


def _sdk() -> Any:
    # The SDK is imported only by the modes that run under it; the fetch-only children never load it.
    return importlib.import_module("fivetran_connector_sdk")


def schema_of(configuration: dict[str, Any]) -> list[dict[str, Any]]:
    return schema_for(*schema_selection(configuration))


def _user_schema(configuration: dict[str, Any]) -> list[dict[str, Any]]:
    """`bare`'s: what a user declares, each table and its primary key (the SDK infers the columns)."""
    return user_schema(tables_of(settings_of(configuration)))


# The schema each engine's connector declares (the connector's by default).
SCHEMAS: dict[str, Callable[[dict[str, Any]], list[dict[str, Any]]]] = {"bare": _user_schema}


def _debug(
    sdk: Any, update: Callable[[dict[str, Any], dict[str, Any]], None], spec: Mapping[str, Any]
) -> tuple[float, int]:
    """Runs `update` under the SDK's runner in `spec["project"]`; returns the seconds `debug()` took and its exit
    code (0, or what `debug()` exits with when the sync failed)."""
    connector = sdk.Connector(update=update, schema=SCHEMAS.get(spec.get("engine") or "", schema_of))
    started = time.perf_counter()
    code = 0
    try:
        connector.debug(project_path=spec["project"], configuration=dict(spec["configuration"]))
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    return time.perf_counter() - started, code


def _warehouse_counts(project: str, tables: list[str]) -> dict[str, int]:
    # duckdb by name: the test and benchmark files must not import it statically (pipreqs; see README).
    duckdb = importlib.import_module("duckdb")
    connection = duckdb.connect(str(Path(project) / "files" / "warehouse.db"), read_only=True)
    try:
        present = {row[0] for row in connection.execute("select table_name from information_schema.tables").fetchall()}
        return {
            table: int(connection.execute(f"select count(*) from tester.{table}").fetchone()[0])
            for table in tables
            if table in present
        }
    finally:
        connection.close()


def end_to_end(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The engine under the SDK's runner: `op` is the sink, `Logging` the log, DuckDB the warehouse."""
    sdk = _sdk()
    engine = _engine(spec)
    measured: dict[str, Any] = {}

    def update(configuration: dict[str, Any], state: dict[str, Any]) -> None:
        log: Log = sdk.Logging
        sink: Sink = sdk.Operations
        before = _usage()
        started = time.perf_counter()
        result = engine(configuration, state, sink=sink, log=log)
        seconds = time.perf_counter() - started
        after = _usage()
        sdk.Logging.info(f"benchmark: update() with the {spec['engine']} engine took {seconds:.3f} s")
        measured.update(
            update_seconds=seconds,
            status=result.status,
            message=result.message,
            cpu_user=after["user"] - before["user"],
            cpu_sys=after["sys"] - before["sys"],
            **_from_summary(result.summary),
        )

    rss_before = _usage()["max_rss_kb"]
    total, code = _debug(sdk, update, spec)
    if "update_seconds" not in measured:
        raise RuntimeError(f"the SDK runner did not complete update() (exit {code}); see the log above")
    tables = list(parse_settings(spec["configuration"])[0].tables)
    landed = _warehouse_counts(spec["project"], tables)
    return {
        **measured,
        "sdk_exit": code,
        "status": measured["status"] if code == 0 else "failed",
        "wall_seconds": measured["update_seconds"],
        "total_seconds": total,
        "rows": sum(landed.values()),
        "rows_by_table": landed,
        "rss_before_kb": rss_before,
        "max_rss_kb": _usage()["max_rss_kb"],
    }


def prefetch(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The connector's rows for `configuration`, pickled to `rows_path` (replayed by the upsert mode)."""
    collector = CollectingSink()
    run_sync(spec["configuration"], None, sink=collector, log=StdLog("benchmark"))
    rows = [(table, row) for table, row in collector.upserts if table not in META_TABLES]
    Path(spec["rows_path"]).write_bytes(pickle.dumps(rows, protocol=pickle.HIGHEST_PROTOCOL))
    return {"status": "succeeded", "rows": len(rows)}


def bare_upsert(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The rate of bare `op.upsert` calls under the SDK's runner, for the workload's own rows."""
    sdk = _sdk()
    rows: list[tuple[str, dict[str, Any]]] = pickle.loads(Path(spec["rows_path"]).read_bytes())
    every = parse_settings(spec["configuration"])[0].checkpoint_every_rows
    measured: dict[str, Any] = {}

    def update(configuration: dict[str, Any], state: dict[str, Any]) -> None:
        upsert, checkpoint = sdk.Operations.upsert, sdk.Operations.checkpoint
        started = time.perf_counter()
        for index, (table, row) in enumerate(rows, 1):
            upsert(table, row)
            if index % every == 0:
                checkpoint({"upserts": index})
        checkpoint({"upserts": len(rows)})
        measured["update_seconds"] = time.perf_counter() - started
        sdk.Logging.info(f"benchmark: {len(rows)} bare upserts took {measured['update_seconds']:.3f} s")

    total, code = _debug(sdk, update, spec)
    if code or "update_seconds" not in measured:
        raise RuntimeError(f"the SDK runner failed (exit {code}); see the log above")
    return {
        "status": "succeeded",
        "rows": len(rows),
        "update_seconds": measured["update_seconds"],
        "wall_seconds": measured["update_seconds"],
        "total_seconds": total,
        "upserts_per_second": len(rows) / measured["update_seconds"],
    }


MODES: dict[str, Callable[[Mapping[str, Any]], dict[str, Any]]] = {
    "fetch": fetch_only,
    "e2e": end_to_end,
    "upsert": bare_upsert,
    "prefetch": prefetch,
}


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m benchmarks.workloads SPEC_JSON RESULT_PATH", file=sys.stderr)
        return 2
    spec = json.loads(argv[0])
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    result = MODES[spec["mode"]](spec)
    result.update(mode=spec["mode"], engine=spec.get("engine"))
    Path(argv[1]).write_text(json.dumps(result, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
