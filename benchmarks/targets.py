"""The targets of the issue, checked against a benchmark's summary and printed as PASS / FAIL / SKIP lines.

At latency L (50 ms in the issue) and w workers:
- fetch-only, async: at least 0.9 × w / L requests/s, for w up to 64;
- fetch-only, async / threads throughput: at least 2.0 at 64 workers and 3.5 at 256;
- CPU per request: async at most 0.3 × threads (at every worker count measured);
- end-to-end, async: at least 0.8 × the bare `op.upsert` rate of the same session (at the largest worker count,
  the one where fetching is least in the way);
- rate-limited, async: paced rate (requests after the first over the time after the first row) within 2% of the
  setting, and no 429 counted by the server (a fresh
  playground with a server-side token bucket per run), and an unpaced run against that server meets 429s (else
  the first check could not fail);
- memory: async peak RSS at 256 workers no higher than threads';
- start-up (time to the first row) under 10 % of every engine's fetch-only run at 256 workers (issue 13);
- issue 10: end to end, the connector with every resilience feature at most 1.10 x bare's time; against the
  rate-limited api-playground, the capacity-K playground and the clean one, the adaptive limit's rows (SKIP
  while the build lacks `concurrency`).

Ratios are judged on the median of the per-pair ratios; the detail gives their min-max.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from benchmarks import adaptive
from benchmarks.stats import find_ratio, fmt_spread

ABSOLUTE_SHARE = 0.9
ABSOLUTE_MAX_WORKERS = 64
RATIOS = {64: 2.0, 256: 3.5}
CPU_SHARE = 0.3
UPSERT_SHARE = 0.8
RATE_TOLERANCE = 0.02
MEMORY_WORKERS = 256
STARTUP_SHARE = 0.10
STARTUP_WORKERS = 256
OVERHEAD_RATIO = 1.10
API_MIN_RPS, API_MAX_429_SHARE = 9.0, 0.05
CAPACITY_TOLERANCE, CAPACITY_SHARE_OF_BEST = 0.30, 0.9
CLEAN_SHARE = 0.95


@dataclasses.dataclass(frozen=True)
class Target:
    name: str
    passed: bool | None  # None: not measured in this run (SKIP)
    detail: str

    info: bool = False  # a measurement shown beside the targets, judged by none (`passed` is None)

    @property
    def verdict(self) -> str:
        if self.info:
            return "INFO"
        return "SKIP" if self.passed is None else "PASS" if self.passed else "FAIL"

    def line(self) -> str:
        return f"{self.verdict} {self.name}: {self.detail}"


Lookup = Callable[..., dict[str, Any] | None]


def _lookup(summary: list[dict[str, Any]]) -> Lookup:
    index = {(r["scenario"], r["mode"], r["workers"], r["engine"]): r for r in summary}

    def find(scenario: str, mode: str, workers: int, engine: str) -> dict[str, Any] | None:
        return index.get((scenario, mode, workers, engine))

    return find


def check(results: dict[str, Any]) -> list[Target]:
    """Every target that applies to `results` (a `Benchmark.run()` result)."""
    summary: list[dict[str, Any]] = results["summary"]
    options = results["options"]
    find = _lookup(summary)
    latency = options["latency_ms"] / 1000
    workers = sorted({r["workers"] for r in summary if r["scenario"] == "clean" and r["mode"] == "fetch"})
    ratios = results.get("ratios", [])
    targets: list[Target] = []
    targets += _absolute(find, workers, latency)
    targets += _ratios(find, ratios)
    targets += _cpu(find, workers, ratios)
    targets += _end_to_end(find, summary, results.get("upsert_rate", {}))
    targets += _rate_limited(results, options)
    targets += _memory(find)
    targets += _startup(summary)
    targets += _overhead(ratios)
    targets += _api_playground(results)
    targets += _capacity(results)
    targets += _clean_adaptive(results)
    if "box" in results:
        targets += check_box(results["box"])
    return targets


def _absolute(find: Lookup, workers: list[int], latency: float) -> list[Target]:
    targets = []
    for w in workers:
        if w > ABSOLUTE_MAX_WORKERS:
            continue
        row = find("clean", "fetch", w, "async")
        name = f"fetch-only async throughput at {w} workers >= {ABSOLUTE_SHARE} x {w}/{latency * 1000:g} ms"
        if row is None or row["requests_per_second"] is None:
            targets.append(Target(name, None, "not measured"))
            continue
        need = ABSOLUTE_SHARE * w / latency
        got = row["requests_per_second"]
        targets.append(Target(name, got >= need, f"{got:.0f} req/s vs {need:.0f} ({got / (w / latency):.2f} x bound)"))
    return targets


def _ratios(find: Lookup, ratios: list[dict[str, Any]]) -> list[Target]:
    targets = []
    for w, need in RATIOS.items():
        name = f"fetch-only async/threads throughput at {w} workers >= {need}"
        ratio = find_ratio(ratios, "clean", "fetch", w, "async", "threads")
        if ratio is None or ratio["throughput"]["median"] is None:
            targets.append(Target(name, None, "not measured"))
            continue
        a, t = find("clean", "fetch", w, "async"), find("clean", "fetch", w, "threads")
        got = ratio["throughput"]["median"]
        rates = f" ({a['requests_per_second']:.0f} vs {t['requests_per_second']:.0f} req/s)" if a and t else ""
        targets.append(Target(name, got >= need, f"{fmt_spread(ratio['throughput'])} per pair{rates}"))
    return targets


def _cpu(find: Lookup, workers: list[int], ratios: list[dict[str, Any]]) -> list[Target]:
    targets = []
    for w in workers:
        name = f"CPU per request at {w} workers: async <= {CPU_SHARE} x threads"
        ratio = find_ratio(ratios, "clean", "fetch", w, "async", "threads")
        a, t = find("clean", "fetch", w, "async"), find("clean", "fetch", w, "threads")
        if ratio is None or ratio["cpu_per_request"]["median"] is None or not a or not t:
            targets.append(Target(name, None, "not measured"))
            continue
        share = ratio["cpu_per_request"]["median"]
        detail = (
            f"{a['cpu_ms_per_request']:.3f} vs {t['cpu_ms_per_request']:.3f} ms/request; per pair "
            f"{fmt_spread(ratio['cpu_per_request'])} x"
        )
        targets.append(Target(name, share <= CPU_SHARE, detail))
    return targets


def _end_to_end(find: Lookup, summary: list[dict[str, Any]], upsert: dict[str, Any]) -> list[Target]:
    e2e = sorted(r["workers"] for r in summary if r["scenario"] == "clean" and r["mode"] == "e2e")
    name = f"end-to-end async >= {UPSERT_SHARE} x bare op.upsert rate"
    rate = upsert.get("median")
    if not e2e or not rate:
        return [Target(name, None, "not measured")]
    w = e2e[-1]
    row = find("clean", "e2e", w, "async")
    if not row or not row["rows_per_second"]:
        return [Target(name, None, "not measured")]
    got = row["rows_per_second"]
    return [
        Target(
            f"{name} (at {w} workers)",
            got >= UPSERT_SHARE * rate,
            f"{got:.0f} rows/s vs bare {rate:.0f} rows/s ({got / rate:.2f} x)",
        )
    ]


def _rate_limited(results: dict[str, Any], options: dict[str, Any]) -> list[Target]:
    setting = options["rate_limit_rps"]
    runs = [r for r in results["runs"] if r["scenario"] == "rate_limited" and r["engine"] == "async"]
    name = f"rate-limited async: paced within {RATE_TOLERANCE:.0%} of {setting:g} req/s and no 429 from the server"
    targets = []
    if not runs:
        targets.append(Target(name, None, "not measured"))
    else:
        rates = sorted(r.get("paced_requests_per_second") or r["requests_per_second"] for r in runs)
        worst = max(rates, key=lambda rate: abs(rate - setting))
        throttled = [r.get("server_429") for r in runs]
        ok = abs(worst - setting) <= RATE_TOLERANCE * setting and all(t == 0 for t in throttled)
        threads = [
            r.get("server_429") for r in results["runs"] if r["scenario"] == "rate_limited" and r["engine"] == "threads"
        ]
        detail = (
            f"rates {', '.join(f'{x:.1f}' for x in rates)} req/s (worst {worst / setting - 1:+.1%}); 429s counted by "
            f"the server per run: {throttled} (threads: {threads})"
        )
        targets.append(Target(name, ok, detail))
    unpaced = [r for r in results["runs"] if r["scenario"] == "rate_limited_unpaced"]
    name = "the rate-limited server enforces its limit: an unpaced run is answered 429"
    if not unpaced:
        targets.append(Target(name, None, "not measured"))
    else:
        counts = [r.get("server_429") or 0 for r in unpaced]
        targets.append(Target(name, all(c > 0 for c in counts), f"429s counted by the server: {counts}"))
    return targets


def _count_429(run: dict[str, Any]) -> int:
    """429s a run met: from the server's own count when the run has it, else from what the client saw."""
    if run.get("server_429") is not None:
        return int(run["server_429"])
    statuses = run.get("http_statuses") or {}
    if statuses:
        return int(statuses.get("429", 0))
    return int(run.get("retries", 0) > 0 or run.get("gate_waits", 0) > 0)  # no 429 was seen unless one of these


def _memory(find: Lookup) -> list[Target]:
    name = f"peak RSS at {MEMORY_WORKERS} workers: async <= threads"
    a, t = find("clean", "fetch", MEMORY_WORKERS, "async"), find("clean", "fetch", MEMORY_WORKERS, "threads")
    if not a or not t or a["peak_rss_mb"] is None or t["peak_rss_mb"] is None:
        return [Target(name, None, "not measured")]
    return [Target(name, a["peak_rss_mb"] <= t["peak_rss_mb"], f"{a['peak_rss_mb']:.1f} vs {t['peak_rss_mb']:.1f} MB")]


def _startup(summary: list[dict[str, Any]]) -> list[Target]:
    rows = [r for r in summary if (r["scenario"], r["mode"], r["workers"]) == ("clean", "fetch", STARTUP_WORKERS)]
    name = (
        f"start-up (time to the first row) < {STARTUP_SHARE:.0%} of the run at {STARTUP_WORKERS} workers, every engine"
    )
    shares = {r["engine"]: r["startup_share"]["max"] for r in rows if r["startup_share"]["max"] is not None}
    if not shares:
        return [Target(name, None, "not measured")]
    worst = max(shares.values())
    detail = "worst run per engine: " + ", ".join(f"{engine} {share:.1%}" for engine, share in shares.items())
    return [Target(name, worst < STARTUP_SHARE, detail)]


def _overhead(ratios: list[dict[str, Any]]) -> list[Target]:
    name = f"end to end, every resilience feature on: connector <= {OVERHEAD_RATIO} x bare's time (issue 10)"
    found = [
        r for r in ratios if r["scenario"] == "overhead" and (r["numerator"], r["denominator"]) == ("async", "bare")
    ]
    if not found or found[0]["wall"]["median"] is None:
        return [Target(name, None, "not measured")]
    ratio = found[0]
    return [
        Target(
            f"{name} at {ratio['workers']} workers",
            ratio["wall"]["median"] <= OVERHEAD_RATIO,
            f"async / bare wall per pair {fmt_spread(ratio['wall'])}",
        )
    ]


def _skipped(results: dict[str, Any], scenario: str) -> str:
    lines = [line for line in results.get("skipped", []) if line.startswith(scenario)]
    return lines[0] if lines else "not measured"


def _api_playground(results: dict[str, Any]) -> list[Target]:
    name = (
        f"api-playground rate-limited (10/s, bucket 20), 64 workers, adaptive: every row, >= {API_MIN_RPS:g} "
        f"req/s answered 2xx, <= {API_MAX_429_SHARE:.0%} answered 429"
    )
    runs = [r for r in results["runs"] if r["scenario"] == "api_playground"]
    adaptive_runs = [r for r in runs if r["engine"] == "async-adaptive"]
    if not adaptive_runs:
        return [Target(name, None, _skipped(results, "api_playground"))]
    details, ok = [], True
    for run in adaptive_runs:
        statuses = run.get("server_statuses") or {}
        served = sum(statuses.values()) or 1
        good = sum(n for code, n in statuses.items() if 200 <= int(code) < 300)
        rate, share = good / run["wall_seconds"], statuses.get(429, 0) / served
        ok = ok and run.get("status") == "succeeded" and rate >= API_MIN_RPS and share <= API_MAX_429_SHARE
        details.append(f"{run.get('status')} {rate:.1f} req/s {share:.1%} 429")
    fixed = [f"{r.get('status')} {r.get('server_429')} 429s" for r in runs if r["engine"] == "async-fixed"]
    return [Target(name, ok, f"adaptive: {'; '.join(details)}; fixed 64 beside it: {'; '.join(fixed)}")]


def _capacity(results: dict[str, Any]) -> list[Target]:
    names = (
        f"capacity K={adaptive.CAPACITY}, max_workers {adaptive.CAPACITY_MAX_WORKERS}: the adaptive limit settles "
        f"within +-{CAPACITY_TOLERANCE:.0%} of K",
        f"capacity K={adaptive.CAPACITY}: adaptive throughput >= {CAPACITY_SHARE_OF_BEST} x the best fixed setting",
    )
    runs = [r for r in results["runs"] if r["scenario"] == "capacity"]
    adaptive_runs = [r for r in runs if r["engine"] == "async-adaptive"]
    if not adaptive_runs:
        why = _skipped(results, "capacity")
        return [Target(name, None, why) for name in names]
    limits = [adaptive.settled(r) for r in adaptive_runs]
    within = all(x is not None and abs(x - adaptive.CAPACITY) <= CAPACITY_TOLERANCE * adaptive.CAPACITY for x in limits)
    fixed: dict[int, list[float]] = {}
    for run in runs:
        if run["engine"] == "async-fixed" and run["requests_per_second"]:
            fixed.setdefault(run["workers"], []).append(run["requests_per_second"])
    best_workers, best = max(
        ((w, sorted(v)[len(v) // 2]) for w, v in fixed.items()), key=lambda p: p[1], default=(0, 0.0)
    )
    rates = sorted(r["requests_per_second"] or 0 for r in adaptive_runs)
    got = rates[len(rates) // 2]
    return [
        Target(names[0], within, f"settled at {limits}"),
        Target(
            names[1],
            bool(best) and got >= CAPACITY_SHARE_OF_BEST * best,
            f"adaptive {got:.0f} req/s (runs {', '.join(f'{x:.0f}' for x in rates)}) vs best fixed {best:.0f} at "
            f"{best_workers} workers ({got / best if best else 0:.2f} x)",
        ),
    ]


def _clean_adaptive(results: dict[str, Any]) -> list[Target]:
    targets = []
    for workers in adaptive.CLEAN_WORKERS:
        name = f"clean server, {workers} workers: adaptive >= {CLEAN_SHARE} x fixed throughput"
        runs = [r for r in results["runs"] if r["scenario"] == "clean" and r["workers"] == workers]
        pairs: dict[int, dict[str, float]] = {}
        for run in runs:
            if run["engine"] in ("async-adaptive", "async-fixed") and run["requests_per_second"]:
                pairs.setdefault(run["repetition"], {})[run["engine"]] = run["requests_per_second"]
        ratios = sorted(p["async-adaptive"] / p["async-fixed"] for p in pairs.values() if len(p) == 2)
        if not ratios:
            targets.append(Target(name, None, _skipped(results, "clean_server")))
            continue
        got = ratios[len(ratios) // 2]
        detail = f"per pair {got:.2f} ({ratios[0]:.2f}-{ratios[-1]:.2f})"
        targets.append(Target(name, got >= CLEAN_SHARE, detail))
    return targets


# Issue 21: the production box (1 GiB, half a CPU; `benchmarks.box`).
BOX_PEAK_MB = 700
BOX_LINEAR_SLACK = 1.5
BOX_STATE_BYTES = 1_000_000
BOX_E2E_RATIO = 1.10
BOX_FETCH_RATIO = 1.15
BOX_FETCH_WORKERS = 256
BOX_CPU_RATIO = 1.3
BOX_CPU_WORKERS = (64, 256)


def check_box(box: dict[str, Any] | None) -> list[Target]:
    """Issue 21's "Done when" for the box scenario (SKIP where it did not run)."""
    if not box:
        return [Target("box: the production-box scenario", None, "not run (python -m benchmarks --scenario box)")]
    if box.get("skipped") and not box.get("runs"):
        return [Target("box: the production-box scenario", None, "; ".join(box["skipped"]))]
    runs: list[dict[str, Any]] = box["runs"]
    summary: list[dict[str, Any]] = box["summary"]
    return _box_big_pages(summary) + _box_parents(summary) + _box_speed(runs)


def _box_big_pages(summary: list[dict[str, Any]]) -> list[Target]:
    targets = []
    for row in sorted((r for r in summary if r["workload"] == "big_pages" and r["engine"] == "async"),
                      key=lambda r: r["workers"]):  # fmt: skip
        ok = row["complete"] and not row["oom_kills"] and row["peak_rss_mb"] < BOX_PEAK_MB
        targets.append(
            Target(
                f"box: big pages ({row['size']:,} rows) at {row['workers']} workers complete, no OOM kill, "
                f"peak RSS < {BOX_PEAK_MB} MB",
                ok,
                f"complete {row['complete']}, OOM kills {row['oom_kills']}, peak RSS {row['peak_rss_mb']:.0f} MB "
                f"(box peak with page cache {row['box_peak_mb'] or 0:.0f} MB), {row['seconds']:.1f} s",
            )
        )
    return targets


def _box_parents(summary: list[dict[str, Any]]) -> list[Target]:
    rows = sorted((r for r in summary if r["workload"] == "parents" and r["engine"] == "async"),
                  key=lambda r: r["size"])  # fmt: skip
    if not rows:
        return []
    largest = rows[-1]
    targets = [
        Target(
            f"box: {largest['size']:,} parents complete, state < {BOX_STATE_BYTES / 1e6:g} MB",
            largest["complete"] and largest["state_bytes"] < BOX_STATE_BYTES,
            f"complete {largest['complete']} ({largest['rows']:,} rows), state {largest['state_bytes']:,} bytes, "
            f"update {largest['update_seconds'] or 0:.1f} s, peak RSS {largest['peak_rss_mb']:.0f} MB",
        )
    ]
    if len(rows) > 1 and rows[0]["complete"] and largest["complete"]:
        small = rows[0]
        linear = (small["update_seconds"] or 0) * largest["size"] / small["size"]
        took = largest["update_seconds"] or 0
        targets.append(
            Target(
                f"box: {largest['size']:,} parents within {BOX_LINEAR_SLACK} x linear from {small['size']:,}",
                took <= BOX_LINEAR_SLACK * linear,
                f"{took:.1f} s against linear {linear:.1f} s ({took / linear if linear else 0:.2f} x)",
            )
        )
    elif len(rows) > 1:
        targets.append(Target("box: parents linear", False, "a parents run did not complete"))
    return targets


def _box_speed(runs: list[dict[str, Any]]) -> list[Target]:
    from benchmarks.box.scenario import pair_ratios

    targets = []
    seconds = pair_ratios(runs, "async", "bare", "seconds")
    cpu = pair_ratios(runs, "async", "bare", "cpu_ms_per_request")
    for cell, spread in sorted(seconds.items()):
        workload, workers, place = cell.split()
        limit = BOX_E2E_RATIO if workload == "end_to_end" else BOX_FETCH_RATIO
        if workload == "fetch_heavy" and int(workers) != BOX_FETCH_WORKERS:
            continue
        if workload not in ("end_to_end", "fetch_heavy"):
            continue
        targets.append(
            Target(
                f"box: {workload} {workers} workers ({place}), async time <= {limit} x bare",
                spread["median"] is not None and spread["median"] <= limit,
                f"{fmt_spread(spread)} x (whole fivetran debug processes)",
            )
        )
    for cell, spread in sorted(cpu.items()):
        workload, workers, place = cell.split()
        if workload != "fetch_heavy" or int(workers) not in BOX_CPU_WORKERS:
            continue
        targets.append(
            Target(
                f"box: {workload} {workers} workers ({place}), async CPU per request <= {BOX_CPU_RATIO} x bare",
                spread["median"] is not None and spread["median"] <= BOX_CPU_RATIO,
                f"{fmt_spread(spread)} x (update()'s CPU over its requests)",
            )
        )
    return targets + _box_split(runs)


def _box_split(runs: list[dict[str, Any]]) -> list[Target]:
    """Where the ratio to `bare` goes, where `bare-rows` ran: the rows (bare-rows / bare: the same fetching, the
    connector's rows and typed schema) and the engine (async / bare-rows: the same rows). Judged by no target."""
    from benchmarks.box.scenario import pair_ratios

    lines = []
    for numerator, denominator, what in (("bare-rows", "bare", "the rows"), ("async", "bare-rows", "the engine")):
        for key, unit in (("seconds", "time"), ("cpu_ms_per_request", "CPU per request")):
            for cell, spread in sorted(pair_ratios(runs, numerator, denominator, key).items()):
                workload, workers, place = cell.split()
                lines.append(
                    Target(
                        f"box: {workload} {workers} workers ({place}), {what}: {numerator} / {denominator} {unit}",
                        None,
                        f"{fmt_spread(spread)} x",
                        info=True,
                    )
                )
    return lines
