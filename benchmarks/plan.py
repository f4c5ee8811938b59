"""What a benchmark session measures, as data: its options, the configuration of a run, the cells, their order.

Shared by the session (`benchmarks.runner`) and the scenarios it runs (`benchmarks.adaptive`,
`benchmarks.box.scenario`), which would otherwise import each other.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

from async_core.playground.data import COLLECTION_SIZES
from benchmarks.server import ROOT, page_counts
from sources.jsonplaceholder import TABLES

ALL_TABLES = tuple(TABLES)
ENGINES = ("async", "threads", "bare", "h11-async", "h11-threads")


@dataclasses.dataclass(frozen=True, kw_only=True)
class Options:
    """What to run. The defaults are the full benchmark (about 20 minutes on 2 cores, more on a loaded machine)."""

    name: str = "latest"
    results_dir: Path = ROOT / "benchmarks" / "results"
    engines: tuple[str, ...] = ENGINES
    workers: tuple[int, ...] = (4, 16, 64, 256)
    repetitions: int = 3
    modes: tuple[str, ...] = ("fetch", "e2e")
    e2e_engines: tuple[str, ...] = ("async", "threads", "bare")
    e2e_workers: tuple[int, ...] = (16, 64)
    # End to end the SDK sets the pace (a few thousand rows/s): without photos a run stays near 10 s.
    e2e_tables: tuple[str, ...] = ("users", "posts", "comments", "albums", "todos")
    tables: tuple[str, ...] = ALL_TABLES
    scale: int = 9  # 5,319 pages of 10 rows in all six tables: 21 waves at 256 workers
    min_waves: int = 20  # a cell's tables give at least min_waves x workers pages
    page_size: int = 10
    latency_ms: int = 50
    seed: int = 1
    upsert_repetitions: int = 5
    scenarios: bool = True
    overhead: bool = True  # issue 10's end-to-end row (with scenarios, and e2e among the modes)
    overhead_rows: int = 50_000  # issue 10: 50,000 comments in 2,000 pages, 32 workers
    overhead_page_size: int = 25
    overhead_workers: int = 32
    rate_limit_rps: float = 100.0
    rate_limit_burst: int = 10
    rate_limit_workers: int = 64
    faulty_workers: int = 64
    # Without photos: each of the flaky profile's 429s pauses every request for its Retry-After (1 s), so the
    # faulty runs' time grows with the number of requests; about 300 requests keep a run near 10 s.
    faulty_tables: tuple[str, ...] = ("users", "posts", "comments", "albums", "todos")
    faulty_scale: int = 3
    adaptive: bool = True
    profiles: bool = True
    profile_workers: int = 64
    smoke: bool = False
    child_timeout_seconds: float = 600.0


SMOKE = Options(
    name="smoke",
    workers=(16,),
    repetitions=1,
    e2e_workers=(16,),
    tables=("users", "posts", "comments"),
    scale=1,
    min_waves=1,
    upsert_repetitions=1,
    overhead=False,
    rate_limit_rps=100.0,
    rate_limit_workers=16,
    faulty_workers=16,
    faulty_tables=("users", "posts", "comments"),
    faulty_scale=1,
    adaptive=False,  # issue 10's scenarios sweep up to 256 workers: the full run's (make bench), not make test's
    profiles=False,
    smoke=True,
    child_timeout_seconds=60.0,
)


def base_configuration(options: Options, base_url: str, workers: int, tables: Sequence[str]) -> dict[str, str]:
    """The connector configuration of a run: every value a string, as configuration.json."""
    return {
        "base_url": base_url,
        "tables": ",".join(tables),
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


def rotation(engines: Sequence[str], turn: int) -> list[str]:
    """The order of the engines at `turn`: rotated by `turn`, reversed every other turn."""
    if not engines:
        return []
    shift = turn % len(engines)
    rotated = list(engines[shift:]) + list(engines[:shift])
    return rotated if turn % 2 == 0 else rotated[::-1]


def tables_for(options: Options, workers: int, mode: str = "fetch") -> tuple[str, ...]:
    """The fewest of `options.tables` (of `e2e_tables` end to end), smallest first, with at least
    `min_waves × workers` pages, or all of them."""
    among = [name for name in options.tables if mode != "e2e" or name in options.e2e_tables] or list(options.tables)
    rows = {name: COLLECTION_SIZES[name] * options.scale for name in among}
    chosen: list[str] = []
    for name in sorted(among, key=lambda table: rows[table]):
        chosen.append(name)
        if sum(page_counts({t: rows[t] for t in chosen}, options.page_size).values()) >= options.min_waves * workers:
            break
    return tuple(name for name in options.tables if name in chosen)


@dataclasses.dataclass(frozen=True)
class Cell:
    """One measurement to make: where, what, which engine (its label and the engine the child runs)."""

    scenario: str
    mode: str
    engine: str
    workers: int
    repetition: int
    position: int
    configuration: dict[str, str]
    rows_expected: dict[str, int]
    runs_engine: str = ""  # the child's engine, when `engine` is a label (e.g. async-adaptive runs async)
