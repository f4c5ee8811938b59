"""The targets of the issue, checked against a benchmark's summary and printed as PASS / FAIL / SKIP lines.

At latency L (50 ms in the issue) and w workers:
- fetch-only, async: at least 0.9 × w / L requests/s, for w up to 64;
- fetch-only, async / threads throughput: at least 2.0 at 64 workers and 3.5 at 256;
- CPU per request: async at most 0.3 × threads (at every worker count measured);
- end-to-end, async: at least 0.8 × the bare `op.upsert` rate of the same session (at the largest worker count,
  the one where fetching is least in the way);
- rate-limited, async: achieved rate within 2% of the setting, and no 429 from the server;
- memory: async peak RSS at 256 workers no higher than threads'.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

ABSOLUTE_SHARE = 0.9
ABSOLUTE_MAX_WORKERS = 64
RATIOS = {64: 2.0, 256: 3.5}
CPU_SHARE = 0.3
UPSERT_SHARE = 0.8
RATE_TOLERANCE = 0.02
MEMORY_WORKERS = 256


@dataclasses.dataclass(frozen=True)
class Target:
    name: str
    passed: bool | None  # None: not measured in this run (SKIP)
    detail: str

    @property
    def verdict(self) -> str:
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
    targets: list[Target] = []
    targets += _absolute(find, workers, latency)
    targets += _ratios(find)
    targets += _cpu(find, workers)
    targets += _end_to_end(find, summary, results.get("upsert_rate", {}))
    targets += _rate_limited(results, options)
    targets += _memory(find)
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


def _ratios(find: Lookup) -> list[Target]:
    targets = []
    for w, need in RATIOS.items():
        name = f"fetch-only async/threads throughput at {w} workers >= {need}"
        a, t = find("clean", "fetch", w, "async"), find("clean", "fetch", w, "threads")
        if not a or not t or not a["requests_per_second"] or not t["requests_per_second"]:
            targets.append(Target(name, None, "not measured"))
            continue
        ratio = a["requests_per_second"] / t["requests_per_second"]
        detail = f"{ratio:.2f} ({a['requests_per_second']:.0f} vs {t['requests_per_second']:.0f} req/s)"
        targets.append(Target(name, ratio >= need, detail))
    return targets


def _cpu(find: Lookup, workers: list[int]) -> list[Target]:
    targets = []
    for w in workers:
        name = f"CPU per request at {w} workers: async <= {CPU_SHARE} x threads"
        a, t = find("clean", "fetch", w, "async"), find("clean", "fetch", w, "threads")
        if not a or not t or not a["cpu_ms_per_request"] or not t["cpu_ms_per_request"]:
            targets.append(Target(name, None, "not measured"))
            continue
        share = a["cpu_ms_per_request"] / t["cpu_ms_per_request"]
        detail = f"{a['cpu_ms_per_request']:.3f} vs {t['cpu_ms_per_request']:.3f} ms/request ({share:.2f} x)"
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
    name = f"rate-limited async: within {RATE_TOLERANCE:.0%} of {setting:g} req/s and no 429"
    if not runs:
        return [Target(name, None, "not measured")]
    rates = sorted(r["requests_per_second"] for r in runs)
    worst = max(rates, key=lambda rate: abs(rate - setting))
    throttled = sum(_count_429(r) for r in runs)
    ok = abs(worst - setting) <= RATE_TOLERANCE * setting and throttled == 0
    detail = f"rates {', '.join(f'{x:.1f}' for x in rates)} req/s (worst {worst / setting - 1:+.1%}); 429s: {throttled}"
    return [Target(name, ok, detail)]


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
