"""The benchmark's pure parts (order, cells, statistics, profile categories) and its minimal engines over HTTP."""

from __future__ import annotations

from typing import Any

from async_core import StdLog, run_sync
from async_core.playground import Playground
from benchmarks import adaptive, profiling, stats, workloads
from benchmarks.devtools import requests
from benchmarks.minimal import run_bare, run_h11_async, run_h11_threads, run_httpx_async, run_httpx_threads
from benchmarks.runner import Options, rotation, tables_for
from tests.devtools import pytest
from tests.sinks import RecordingSink


def test_rotation_puts_each_engine_first_in_turn_and_reverses_every_other_turn() -> None:
    """Over len(engines) turns, every engine goes first once or last once."""
    engines = ("a", "b", "c")
    assert [rotation(engines, turn) for turn in range(3)] == [["a", "b", "c"], ["a", "c", "b"], ["c", "a", "b"]]


def test_a_cell_takes_the_fewest_smallest_tables_that_give_enough_waves() -> None:
    """At scale 9 and 10 rows a page: 4 workers need 80 pages (users and posts), 256 need all six tables."""
    options = Options()
    assert tables_for(options, 4) == ("users", "posts")
    assert tables_for(options, 16) == ("users", "posts", "albums", "todos")
    assert tables_for(options, 256) == ("users", "posts", "comments", "albums", "photos", "todos")


def test_bounds_steady_and_reachable() -> None:
    """100 pages, 16 workers, 50 ms: steady 0.3125 s; reachable (1 + 7) x 50 ms = 0.4 s."""
    bounds = stats.bounds(100, 16, 0.05)
    assert bounds["bound_seconds"] == pytest.approx(0.3125)
    assert bounds["reachable_seconds"] == pytest.approx(0.4)
    assert bounds["bound_requests_per_second"] == pytest.approx(320)


def _run(engine: str, repetition: int, rps: float, cpu: float) -> dict[str, Any]:
    return {
        "scenario": "clean",
        "mode": "fetch",
        "workers": 4,
        "engine": engine,
        "repetition": repetition,
        "requests_per_second": rps,
        "wall_seconds": 100 / rps,
        "cpu_ms_per_request": cpu,
    }


def test_ratios_are_taken_per_pair_with_their_spread() -> None:
    """Each repetition's async run is divided by the same repetition's threads run: median, min, max."""
    runs = [_run("async", 0, 200, 0.5), _run("threads", 0, 100, 1.0), _run("async", 1, 150, 0.5)]
    runs += [_run("threads", 1, 100, 2.0), _run("async", 2, 300, 1.0), _run("threads", 2, 100, 1.0)]
    (ratio,) = stats.pair_ratios(runs)
    assert (ratio["numerator"], ratio["denominator"]) == ("async", "threads")
    assert ratio["throughput"] == {"median": 2.0, "min": 1.5, "max": 3.0, "n": 3}
    assert ratio["cpu_per_request"] == {"median": 0.5, "min": 0.25, "max": 1.0, "n": 3}


def test_profile_samples_go_to_the_caller_that_owns_them() -> None:
    """An SDK frame anywhere wins; between the event loop and the connector, the innermost frame decides."""
    loop = "run (/x/asyncio/base_events.py:1)"
    connector = "fetch (/w/async_core/http/client.py:2)"
    assert profiling.categorize([loop, connector]) == "connector"
    assert profiling.categorize([connector, "wait (/x/asyncio/tasks.py:3)"]) == "runtime"
    assert profiling.categorize([loop, connector, "get (/v/aiohttp/client.py:4)"]) == "http"
    assert (
        profiling.categorize(["consume (/w/async_core/run/bridge.py:5)", "upsert (/v/fivetran_connector_sdk/x.py:6)"])
        == "sdk"
    )
    assert profiling.categorize([loop, "EpollSelector.select (/x/selectors.py:468)"]) == "poll"
    shares = profiling.shares(f"{loop};{connector} 3\n{loop} 1\n")
    assert shares["connector"] == 0.75
    assert shares["runtime"] == 0.25


def test_this_build_lacks_the_concurrency_key_or_says_it_has_it() -> None:
    """Detection follows the connector's own list of unknown keys."""
    assert adaptive.has_concurrency() == ("concurrency" not in adaptive.unknown_keys({"concurrency": "adaptive"}))
    assert adaptive.settled({"concurrency": {"samples": [[0, 64], [1, 40], [2, 32], [3, 30], [4, 33], [5, 31]]}}) == 32
    assert adaptive.settled({"concurrency": {"final": 30}}) == 30
    assert adaptive.settled({}) is None


CONTROLS = {
    "h11-async": run_h11_async,
    "h11-threads": run_h11_threads,
    "httpx-async": run_httpx_async,
    "httpx-threads": run_httpx_threads,
}
CONFIGURATION = {"tables": "posts,comments", "page_size": "7", "max_workers": "4", "checkpoint_every_rows": "100"}


@pytest.mark.parametrize("name", sorted(CONTROLS))
def test_minimal_engines_write_the_connectors_rows_from_one_thread(name: str) -> None:
    """Every row of posts and comments, equal to the connector's but for processed_at, upserted from one thread."""
    with Playground("none").in_thread() as playground:
        configuration = {"base_url": playground.base_url, **CONFIGURATION}
        connector, minimal = RecordingSink(), RecordingSink()
        run_sync(configuration, None, sink=connector, log=StdLog("test"))
        result = CONTROLS[name](configuration, None, sink=minimal, log=None)
    assert result.status == "succeeded"
    assert result.summary["resilience"]["requests"] == 15 + 72  # ceil(100 / 7) + ceil(500 / 7)
    assert len(minimal.threads) == 1
    for table in ("posts", "comments"):
        expected = sorted((drop(row) for row in connector.rows(table)), key=lambda row: row["id"])
        assert sorted((drop(row) for row in minimal.rows(table)), key=lambda row: row["id"]) == expected
    assert len(minimal.checkpoints()) == 6  # every 100 rows (6 times in 600), then at the end


def test_bare_upserts_the_records_as_a_user_would_with_the_connectors_checkpoint_cadence() -> None:
    """`bare` is what a user writes: the API's records as they come (no column mapping, no processed_at), from
    one thread, a checkpoint every checkpoint_every_rows rows; its schema is each table's primary key alone."""
    with Playground("none").in_thread() as playground:
        configuration = {"base_url": playground.base_url, **CONFIGURATION}
        bare = RecordingSink()
        result = run_bare(configuration, None, sink=bare, log=None)
        served = {
            table: requests.get(f"{playground.base_url}/{table}", timeout=10).json() for table in ("posts", "comments")
        }
    assert result.status == "succeeded"
    assert result.summary["resilience"]["requests"] == 15 + 72
    assert len(bare.threads) == 1
    for table in ("posts", "comments"):
        assert sorted(bare.rows(table), key=lambda row: row["id"]) == served[table]
    assert len(bare.checkpoints()) == 6
    schema = workloads.SCHEMAS["bare"](configuration)
    assert schema == [{"table": "posts", "primary_key": ["id"]}, {"table": "comments", "primary_key": ["id"]}]


def drop(row: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in row.items() if key != "processed_at"}
