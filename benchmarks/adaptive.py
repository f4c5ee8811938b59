"""Issue 10's done-when rows, measured by the benchmark; each runs only when this build has what it needs.

    clean_server    the clean playground: `concurrency` adaptive against fixed at the same max_workers
    capacity        the playground with capacity K (`--capacity`), max_workers 256: adaptive against a sweep of
                    fixed settings
    api_playground  Fivetran's api-playground with its rate limit on (10/s, bucket 20), max_workers 64, no
                    requests_per_second: adaptive against fixed

What each needs, and how its absence is detected (then the scenario is skipped with one line saying why, and its
targets print SKIP):
- the configuration key `concurrency`: `parse_settings` lists it among the unknown keys (the same list from
  which the connector warns "configuration key 'concurrency' is not known to this connector");
- the key `source` = `api_playground` with its credentials keys, the same way;
- the playground's `--capacity` option: its argument parser refuses it;
- the package `fivetran_api_playground` (a dev dependency).

The limit over time: a run's sync summary is read for `summary["concurrency"]` (`start`, `min`, `max`, `final`,
and `samples`, a list of `[seconds since the sync started, limit]` pairs); the report plots the samples of every
adaptive run (`report.plot`).
"""

from __future__ import annotations

import contextlib
import io
import math
import statistics
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Protocol

from async_core.settings import parse_settings
from benchmarks.devtools import optional
from benchmarks.plan import Cell, Options, base_configuration, rotation, tables_for

if TYPE_CHECKING:
    from benchmarks.server import Playground


class Benchmark(Protocol):
    """What a scenario needs of the session (`benchmarks.runner.Benchmark`)."""

    options: Options
    workload: dict[str, Any]
    skipped: list[str]

    def say(self, line: str) -> None: ...

    def measure(self, cell: Cell, server: Playground | None) -> dict[str, Any] | None: ...


CONCURRENCY_KEY = "concurrency"
SOURCE_KEY = "source"
API_PLAYGROUND_KEYS = (
    "basic_username",
    "basic_password",
    "bearer_token",
    "api_key",
    "session_username",
    "session_password",
)
CAPACITY = 32
CAPACITY_MAX_WORKERS = 256
# Fixed settings around K, up to 2K: past 2K the playground answers 503 to everything over it, so a fixed 128 or
# 256 only measures a collapse (a first try: fixed 128 landed 6,130 of 49,500 rows in 272 s) and the sweep's best
# is near K anyway.
CAPACITY_SWEEP = (16, 24, 32, 48, 64)
CAPACITY_TABLES = ("comments", "photos")
CLEAN_WORKERS = (64, 256)
API_RATE, API_BUCKET, API_WORKERS = 10.0, 20, 64


def unknown_keys(configuration: dict[str, str]) -> list[str]:
    """The keys the connector would warn about (and ignore)."""
    return parse_settings(configuration)[1]


def has_concurrency() -> bool:
    return CONCURRENCY_KEY not in unknown_keys({CONCURRENCY_KEY: "adaptive"})


def has_api_playground_source() -> bool:
    configuration = {SOURCE_KEY: "api_playground", **{key: "x" for key in API_PLAYGROUND_KEYS}}
    try:
        return SOURCE_KEY not in unknown_keys(configuration)
    except Exception:  # the key is known but refuses these values: the source exists
        return True


def has_capacity_knob() -> bool:
    main = optional("async_core.playground.__main__")
    if main is None:
        return False
    with contextlib.redirect_stderr(io.StringIO()):
        try:
            main.parse_arguments(["--capacity", str(CAPACITY)])
        except SystemExit:
            return False
    return True


def every_feature() -> dict[str, str]:
    """Every resilience feature on, with their defaults (and adaptive concurrency when this build has it)."""
    features = {
        "enable_circuit_breaker": "true",
        "max_retries": "3",
        "retry_budget_percent": "20",
        "max_wait_seconds": "300",
    }
    if has_concurrency():
        features[CONCURRENCY_KEY] = "adaptive"
    return features


def _skip(bench: Benchmark, scenario: str, why: str) -> None:
    line = f"{scenario}: not available in this build: {why}"
    bench.skipped.append(line)
    bench.say(f"SKIP {line}")


def clean_server(bench: Benchmark, server: Playground) -> None:
    """Adaptive against fixed at the same max_workers, on the clean playground."""
    if not has_concurrency():
        _skip(bench, "clean_server (issue 10)", f"configuration key {CONCURRENCY_KEY!r} is unknown to the connector")
        return

    options = bench.options
    for workers in CLEAN_WORKERS:
        tables = tables_for(options, workers)
        expected = {name: bench.workload["rows_expected"][name] for name in tables}
        for repetition in range(options.repetitions):
            for position, mode in enumerate(rotation(("adaptive", "fixed"), repetition)):
                configuration = base_configuration(options, server.url, workers, tables)
                configuration[CONCURRENCY_KEY] = mode
                cell = Cell(
                    "clean", "fetch", f"async-{mode}", workers, repetition, position, configuration, expected, "async"
                )
                bench.measure(cell, server)


def capacity(bench: Benchmark) -> None:
    """The playground with capacity K: adaptive at max_workers 256 against fixed settings from 16 to 256."""
    if not has_concurrency():
        _skip(bench, "capacity (issue 10)", f"configuration key {CONCURRENCY_KEY!r} is unknown to the connector")
        return
    if not has_capacity_knob():
        _skip(bench, "capacity (issue 10)", "the playground has no --capacity option")
        return
    from async_core.playground.data import COLLECTION_SIZES
    from benchmarks.server import running_playground

    options = bench.options
    tables = [name for name in CAPACITY_TABLES if name in options.tables]
    expected = {name: COLLECTION_SIZES[name] * options.scale for name in tables}
    plan = [("adaptive", CAPACITY_MAX_WORKERS)] + [("fixed", workers) for workers in CAPACITY_SWEEP]
    for repetition in range(options.repetitions):
        order = plan if repetition % 2 == 0 else plan[::-1]
        for position, (mode, workers) in enumerate(order):
            with running_playground(
                scale=options.scale, latency_ms=options.latency_ms, extra=["--capacity", str(CAPACITY)]
            ) as server:
                configuration = base_configuration(options, server.url, workers, tables)
                configuration[CONCURRENCY_KEY] = mode
                cell = Cell(
                    "capacity",
                    "fetch",
                    f"async-{mode}",
                    workers,
                    repetition,
                    position,
                    configuration,
                    expected,
                    "async",
                )
                bench.measure(cell, server)


@contextlib.contextmanager
def _api_playground_server(rate: float, bucket: int) -> Iterator[tuple[str, Any, dict[int, int]]]:
    """fivetran_api_playground's app on 127.0.0.1 (werkzeug, threaded), its rate limit on; yields its URL, the
    module (for its credentials) and a live count of the statuses it sent."""
    module = optional("fivetran_api_playground")
    serving = optional("werkzeug.serving")
    if module is None or serving is None:
        raise RuntimeError("fivetran-api-playground (and werkzeug) must be installed")
    app = module.app
    app.config.update(RATE_LIMITING_ENABLED=True, RATE_LIMIT_CAPACITY=bucket, RATE_LIMIT_RPS=rate)
    statuses: dict[int, int] = {}
    lock = threading.Lock()

    def counted(environ: Any, start_response: Any) -> Any:
        def start(status: str, headers: Any, exc_info: Any = None) -> Any:
            with lock:
                code = int(status.split()[0])
                statuses[code] = statuses.get(code, 0) + 1
            return start_response(status, headers, exc_info)

        return app.wsgi_app(environ, start)

    server = serving.make_server("127.0.0.1", 0, counted, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="api-playground", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", module, statuses
    finally:
        server.shutdown()
        thread.join(10)


def api_playground(bench: Benchmark) -> None:
    """Fivetran's api-playground, rate-limited: adaptive against fixed at max_workers 64."""
    if optional("fivetran_api_playground") is None:
        _skip(bench, "api_playground (issue 10)", "the package fivetran-api-playground is not installed")
        return
    if not has_api_playground_source():
        _skip(bench, "api_playground (issue 10)", "configuration key 'source' (api_playground) is unknown")
        return
    if not has_concurrency():
        _skip(bench, "api_playground (issue 10)", f"configuration key {CONCURRENCY_KEY!r} is unknown to the connector")
        return

    options = bench.options
    for repetition in range(options.repetitions):
        for position, mode in enumerate(rotation(("adaptive", "fixed"), repetition)):
            with _api_playground_server(API_RATE, API_BUCKET) as (url, module, statuses):
                configuration = {
                    SOURCE_KEY: "api_playground",
                    "base_url": url,
                    "allow_insecure_http": "true",
                    "basic_username": module.HTTP_BASIC_USERNAME,
                    "basic_password": module.HTTP_BASIC_PASSWORD,
                    "bearer_token": module.HTTP_BEARER_TOKEN,
                    "api_key": module.API_KEY,
                    "session_username": module.SESSION_AUTH_USERNAME,
                    "session_password": module.SESSION_AUTH_PASSWORD,
                    "max_workers": str(API_WORKERS),
                    "requests_per_second": "0",
                    CONCURRENCY_KEY: mode,
                }
                cell = Cell(
                    "api_playground",
                    "fetch",
                    f"async-{mode}",
                    API_WORKERS,
                    repetition,
                    position,
                    configuration,
                    {},
                    "async",
                )
                run = bench.measure(cell, None)
                if run is not None:
                    run["server_statuses"] = dict(statuses)
                    run["server_429"] = statuses.get(429, 0)
                    run["server_requests"] = sum(statuses.values())


def settled(run: dict[str, Any]) -> float | None:
    """Where an adaptive run's limit settled: the median of the last third of its samples, else its final."""
    concurrency = run.get("concurrency") or {}
    samples = concurrency.get("samples") or []
    if samples:
        tail = [limit for _, limit in samples[len(samples) - max(1, math.ceil(len(samples) / 3)) :]]
        return float(statistics.median(tail))
    final = concurrency.get("final")
    return float(final) if final is not None else None
