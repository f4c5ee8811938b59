"""From runs to what the report says: per-cell medians with their spread, the two bounds, and per-pair ratios.

Runs are paired within a repetition: the engines of one (scenario, mode, workers, repetition) ran back to back,
in an order that rotates, so each ratio below is taken between neighbours in time and its spread (min–max over
the repetitions) shows how much the machine's noise moves it.

Bounds at `w` workers, latency `L`, `P` pages:
- steady state: `P × L / w` seconds (`w / L` requests/s);
- reachable: `(1 + ceil(P / w)) × L`: the first page of each table comes alone (it tells the total), then the
  rest in waves of `w`. Nothing that keeps `w` requests in flight does better.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from typing import Any

SCENARIOS = ("clean", "overhead", "rate_limited", "rate_limited_unpaced", "faulty", "capacity", "api_playground")
MODES = ("fetch", "e2e")
ENGINE_ORDER = (
    "async",
    "threads",
    "bare",
    "h11-async",
    "h11-threads",
    "httpx-async",
    "httpx-threads",
    "async-adaptive",
    "async-fixed",
)
# (numerator, denominator, what the ratio isolates). Throughput ratios: > 1 means the numerator is faster.
PAIRS: tuple[tuple[str, str, str], ...] = (
    ("async", "threads", "this connector's stack (aiohttp, asyncio) over the original's (requests, threads)"),
    ("h11-async", "h11-threads", "the concurrency model, with the HTTP library fixed (h11)"),
    ("bare", "h11-async", "the HTTP library (aiohttp over h11), with asyncio and the minimal logic fixed"),
    ("async", "bare", "the connector over the floor (every feature vs none, same library and model)"),
)


def median(values: Iterable[float | None]) -> float | None:
    data = [v for v in values if v is not None]
    return statistics.median(data) if data else None


def spread(values: Sequence[float | None]) -> dict[str, float | None]:
    data = [v for v in values if v is not None]
    if not data:
        return {"median": None, "min": None, "max": None, "n": 0}
    return {"median": statistics.median(data), "min": min(data), "max": max(data), "n": len(data)}


def derive(run: dict[str, Any]) -> None:
    """Rates of one run, from its raw numbers."""
    wall = run.get("wall_seconds") or 0.0
    requests = run.get("requests") or 0
    run["requests_per_second"] = requests / wall if wall else None
    run["rows_per_second"] = run.get("rows", 0) / wall if wall else None
    cpu = (run.get("cpu_user") or 0.0) + (run.get("cpu_sys") or 0.0)
    run["cpu_ms_per_request"] = 1000 * cpu / requests if requests else None
    if run.get("server_cpu_seconds") is not None and requests:
        run["server_cpu_ms_per_request"] = 1000 * run["server_cpu_seconds"] / requests
    first = run.get("first_row_seconds")
    run["startup_share"] = first / wall if first is not None and wall else None
    # The pace once started: the requests after the first over the time after the first row (which arrives one
    # latency after the first request), so that session start-up does not count against a limiter.
    paced = wall - first if first is not None else 0.0
    run["paced_requests_per_second"] = (requests - 1) / paced if paced > 0 and requests > 1 else None


def bounds(pages: int, workers: int, latency: float, rate_limit: float | None = None) -> dict[str, float | None]:
    if not latency:
        return {"bound_seconds": None, "reachable_seconds": None, "bound_requests_per_second": None}
    rps = workers / latency
    steady = pages * latency / workers
    reachable = (1 + math.ceil(pages / workers)) * latency
    if rate_limit:
        rps = min(rps, rate_limit)
        steady = max(steady, pages / rate_limit)
        reachable = max(reachable, pages / rate_limit)
    return {"bound_seconds": steady, "reachable_seconds": reachable, "bound_requests_per_second": rps}


def summarize(runs: list[dict[str, Any]], latency: float, rate_limits: dict[str, float]) -> list[dict[str, Any]]:
    """One row per (scenario, mode, workers, engine): medians over the repetitions, spreads, the bounds."""
    groups: dict[tuple[str, str, int, str], list[dict[str, Any]]] = {}
    for run in runs:
        groups.setdefault((run["scenario"], run["mode"], run["workers"], run["engine"]), []).append(run)
    rows: list[dict[str, Any]] = []
    for (scenario, mode, workers, engine), group in sorted(groups.items(), key=lambda item: order(*item[0])):
        pages = group[0]["pages_expected"]
        rss = [r["max_rss_kb"] / 1024 for r in group if r.get("max_rss_kb")]
        rows.append(
            {
                "scenario": scenario,
                "mode": mode,
                "workers": workers,
                "engine": engine,
                "runs": len(group),
                "pages": pages,
                "wall_seconds": spread([r["wall_seconds"] for r in group]),
                "total_seconds": spread([r.get("total_seconds") for r in group]),
                "requests": median(r["requests"] for r in group),
                "requests_per_second": median(r["requests_per_second"] for r in group),
                "requests_per_second_spread": spread([r["requests_per_second"] for r in group]),
                "rows_per_second": median(r["rows_per_second"] for r in group),
                "rows_per_second_spread": spread([r["rows_per_second"] for r in group]),
                "cpu_ms_per_request": median(r["cpu_ms_per_request"] for r in group),
                "cpu_ms_per_request_spread": spread([r["cpu_ms_per_request"] for r in group]),
                "server_cpu_ms_per_request": median(r.get("server_cpu_ms_per_request") for r in group),
                "startup_share": spread([r.get("startup_share") for r in group]),
                "peak_rss_mb": median(rss),
                "peak_rss_mb_max": max(rss) if rss else None,
                "retries": median(r.get("retries", 0) for r in group),
                "errors": median(r.get("errors", 0) for r in group),
                "server_429": median(r.get("server_429") for r in group),
                "rows": min(r["rows"] for r in group),
                "rows_expected": sum(group[0]["rows_expected"].values()),
                "statuses": sorted({r.get("status", "?") for r in group}),
                **bounds(pages, workers, latency, rate_limits.get(scenario)),
            }
        )
    return rows


def order(scenario: str, mode: str, workers: int, engine: str) -> tuple[int, int, int, int]:
    return (
        SCENARIOS.index(scenario) if scenario in SCENARIOS else len(SCENARIOS),
        MODES.index(mode) if mode in MODES else len(MODES),
        workers,
        ENGINE_ORDER.index(engine) if engine in ENGINE_ORDER else len(ENGINE_ORDER),
    )


def pair_ratios(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """For each pair of `PAIRS` and each (scenario, mode, workers) where both ran: the per-repetition ratios of
    throughput (requests/s in fetch mode, rows/s end to end), of wall time and of CPU per request."""
    cells: dict[tuple[str, str, int], dict[int, dict[str, dict[str, Any]]]] = {}
    for run in runs:
        key = (run["scenario"], run["mode"], run["workers"])
        cells.setdefault(key, {}).setdefault(run["repetition"], {})[run["engine"]] = run
    out: list[dict[str, Any]] = []
    for (scenario, mode, workers), repetitions in sorted(
        cells.items(), key=lambda item: order(item[0][0], item[0][1], item[0][2], "")
    ):
        for numerator, denominator, isolates in PAIRS:
            pairs = [
                (r[numerator], r[denominator]) for r in repetitions.values() if numerator in r and denominator in r
            ]
            if not pairs:
                continue
            rate = "requests_per_second" if mode == "fetch" else "rows_per_second"
            out.append(
                {
                    "scenario": scenario,
                    "mode": mode,
                    "workers": workers,
                    "numerator": numerator,
                    "denominator": denominator,
                    "isolates": isolates,
                    "throughput": spread([_ratio(a.get(rate), b.get(rate)) for a, b in pairs]),
                    "wall": spread([_ratio(a.get("wall_seconds"), b.get("wall_seconds")) for a, b in pairs]),
                    "cpu_per_request": spread(
                        [_ratio(a.get("cpu_ms_per_request"), b.get("cpu_ms_per_request")) for a, b in pairs]
                    ),
                }
            )
    return out


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def find_ratio(
    ratios: list[dict[str, Any]], scenario: str, mode: str, workers: int, numerator: str, denominator: str
) -> dict[str, Any] | None:
    for ratio in ratios:
        if (ratio["scenario"], ratio["mode"], ratio["workers"], ratio["numerator"], ratio["denominator"]) == (
            scenario,
            mode,
            workers,
            numerator,
            denominator,
        ):
            return ratio
    return None


def fmt_spread(stats: dict[str, Any] | None, digits: int = 2) -> str:
    if not stats or stats.get("median") is None:
        return "–"
    return f"{stats['median']:.{digits}f} ({stats['min']:.{digits}f}–{stats['max']:.{digits}f})"
