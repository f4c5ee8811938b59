"""A benchmark's results as `<name>.json` (everything), `<name>.md` (the tables and the targets) and `<name>.png`
(throughput against max_workers for both engines, with the bound drawn in)."""

from __future__ import annotations

import importlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks import profiling
from benchmarks.targets import Target

ENGINE_STYLE = {
    "async": ("tab:blue", "o"),
    "threads": ("tab:orange", "s"),
    "bare": ("tab:green", "^"),
    "h11-async": ("tab:purple", "D"),
    "h11-threads": ("tab:brown", "v"),
    "httpx-async": ("tab:pink", "P"),
    "httpx-threads": ("tab:gray", "X"),
}


def write_all(results: dict[str, Any], targets: Sequence[Target], directory: Path) -> list[Path]:
    """Writes the three files; returns their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    name = results["name"]
    results = {**results, "targets": [{"name": t.name, "verdict": t.verdict, "detail": t.detail} for t in targets]}
    json_path = directory / f"{name}.json"
    json_path.write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
    md_path = directory / f"{name}.md"
    md_path.write_text(markdown(results, targets), encoding="utf-8")
    png_path = directory / f"{name}.png"
    plot(results, png_path)
    return [json_path, md_path, png_path]


def _num(value: float | None, digits: int = 0) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def _spread(stats: dict[str, Any], digits: int = 2) -> str:
    if stats.get("median") is None:
        return "–"
    return f"{stats['median']:.{digits}f} ({stats['min']:.{digits}f}–{stats['max']:.{digits}f})"


def results_table(results: dict[str, Any]) -> str:
    """The Markdown table of every (scenario, mode, workers, engine)."""
    header = (
        "| scenario | mode | workers | engine | pages | wall s median (min–max) | req/s | rows/s | CPU ms/req "
        "| server CPU ms/req | start-up share | peak RSS MB | retries | 429 (server) | rows / expected "
        "| bound s (steady / reachable) |"
    )
    lines = [header, "|" + "---|" * (header.count("|") - 1)]
    for row in results["summary"]:
        startup = row.get("startup_share") or {}
        lines.append(
            "| "
            + " | ".join(
                [
                    row["scenario"],
                    row["mode"],
                    str(row["workers"]),
                    row["engine"],
                    str(row.get("pages", "–")),
                    _spread(row["wall_seconds"]),
                    _num(row["requests_per_second"]),
                    _num(row["rows_per_second"]),
                    _num(row["cpu_ms_per_request"], 3),
                    _num(row["server_cpu_ms_per_request"], 3),
                    "–" if startup.get("median") is None else f"{startup['median']:.1%}",
                    _num(row["peak_rss_mb"], 1),
                    _num(row["retries"]),
                    _num(row.get("server_429")),
                    f"{row['rows']} / {row['rows_expected']}",
                    f"{_num(row['bound_seconds'], 2)} / {_num(row.get('reachable_seconds'), 2)}",
                ]
            )
            + " |"
        )
    return "\n".join(lines)


def ratios_table(results: dict[str, Any]) -> str:
    """Per-pair ratios: median (min–max) over the repetitions, each pair run back to back."""
    header = "| scenario | mode | workers | pair | throughput ratio | wall ratio | CPU/request ratio | isolates |"
    lines = [header, "|" + "---|" * (header.count("|") - 1)]
    for ratio in results.get("ratios", []):
        lines.append(
            f"| {ratio['scenario']} | {ratio['mode']} | {ratio['workers']} | {ratio['numerator']} / "
            f"{ratio['denominator']} | {_spread(ratio['throughput'])} | {_spread(ratio['wall'])} | "
            f"{_spread(ratio['cpu_per_request'])} | {ratio['isolates']} |"
        )
    return "\n".join(lines)


def profiles_table(results: dict[str, Any]) -> str:
    """Each profiled engine's CPU per request, split by kind of work (ms per request)."""
    names = profiling.NAMES
    header = "| mode | workers | engine | CPU ms/req | " + " | ".join(names) + " |"
    lines = [header, "|" + "---|" * (header.count("|") - 1)]
    for profile in results.get("profiles", []):
        split = profile["split_ms_per_request"]
        lines.append(
            f"| {profile['mode']} | {profile['workers']} | {profile['engine']} | {profile['cpu_ms_per_request']:.3f} | "
            + " | ".join(f"{split.get(name, 0):.3f} ({profile['shares'].get(name, 0):.0%})" for name in names)
            + " |"
        )
    return "\n".join(lines)


def markdown(results: dict[str, Any], targets: Sequence[Target]) -> str:
    workload, machine = results["workload"], results["machine"]
    upsert = results.get("upsert_rate", {})
    e2e = [r for r in results["summary"] if r["mode"] == "e2e"]
    parts = [
        f"# Threads vs async: {results['name']}",
        "",
        f"{results['created_at']}, {machine['cpus']} CPUs, Python {machine['python']}, load average before "
        f"{machine['load_before']} and after {machine['load_after']}; {results['duration_seconds']} s in all.",
        "",
        f"Playground: {workload.get('rows_total')} rows in {workload.get('pages')} pages of "
        f"{workload.get('page_size')} ({', '.join(f'{t} {n}' for t, n in workload.get('rows_expected', {}).items())}), "
        f"latency {workload.get('latency_ms')} ms, scale {workload.get('scale')}. Tables of each clean cell (the "
        f"fewest giving {results['options']['min_waves']} waves): fetch {workload.get('tables_by_workers')}, end to "
        f"end {workload.get('e2e_tables_by_workers')}. "
        f"{results['options']['repetitions']} repetition(s) per cell, the engines back to back in a rotating order.",
        "",
        "Engines: **async** (this connector: aiohttp + asyncio, every resilience feature), **threads** (the "
        "original's stack: requests + ThreadPoolExecutor, the same resilience, tuned alike), **bare** (aiohttp "
        "fan-out, single-thread upserts, nothing else: the floor), **h11-async** / **h11-threads** (one h11 "
        "exchange, minimal logic, on asyncio / on threads: the same-library control).",
        "",
        "Bounds: steady `pages × latency / workers`; reachable `(1 + ceil(pages / workers)) × latency`. CPU is "
        "user + system of the process doing the fetching (a fresh process per run); start-up share is the time "
        "to the first row over the run. End-to-end wall is update() itself (under `Connector.debug` into DuckDB).",
        "",
        results_table(results),
        "",
        "## Ratios, per pair (median, min–max over repetitions)",
        "",
        ratios_table(results),
        "",
        f"Bare `op.upsert` rate ({upsert.get('rows')} rows of {', '.join(upsert.get('tables') or [])}, each "
        f"repetition a fresh process that fetched nothing): {_spread(upsert, 0)} rows/s "
        f"(samples: {', '.join(_num(x) for x in upsert.get('samples', []))}).",
    ]
    if e2e:
        parts += [
            "",
            "End-to-end, whole `debug()` (SDK start, schema, update, final write) in seconds: "
            + "; ".join(f"{r['engine']} {r['workers']}: {_spread(r['total_seconds'])}" for r in e2e)
            + ".",
        ]
    if results.get("profiles"):
        parts += [
            "",
            "## CPU per request by kind of work (py-spy, one run each; ms per request and share)",
            "",
            profiles_table(results),
        ]
    faulty = [r for r in results["runs"] if r["scenario"] == "faulty" and r.get("server_faults")]
    if faulty:
        faults = ", ".join(f"{name} {count}" for name, count in sorted(faulty[0]["server_faults"].items()))
        parts += [
            "",
            f"Faulty scenario: a fresh `--faults flaky --seed {results['options']['seed']}` playground per run, "
            f"{faulty[0]['workers']} workers, tables {', '.join(faulty[0]['rows_expected'])}, api_timeout_seconds 5, "
            f"base_delay 0.2, max_retries 5, thresholds 1000. The first run's server injected: {faults}.",
        ]
    if results.get("box"):
        parts += ["", box_section(results["box"])]
    if results.get("skipped"):
        parts += ["", "## Skipped", ""] + [f"- {line}" for line in results["skipped"]]
    parts += ["", "## Targets", ""] + [f"- {t.line()}" for t in targets]
    if results.get("failures"):
        parts += ["", "## Failed runs", ""] + [f"- {f.splitlines()[0]}" for f in results["failures"]]
    return "\n".join(parts) + "\n"


def plot(results: dict[str, Any], path: Path) -> None:
    """Fetch-only requests/s and end-to-end rows/s against max_workers for every engine, with the bounds; and the
    adaptive concurrency limit over time (from `summary["concurrency"]["samples"]`, see `benchmarks.adaptive`)."""
    # matplotlib by name: it is a dev-only dependency, and the SDK runs pipreqs over every .py file of the project.
    matplotlib = importlib.import_module("matplotlib")
    matplotlib.use("Agg")
    pyplot = importlib.import_module("matplotlib.pyplot")
    summary = [r for r in results["summary"] if r["scenario"] == "clean"]
    figure, axes = pyplot.subplots(1, 3, figsize=(19, 5.2), squeeze=False)
    latency = results["options"]["latency_ms"] / 1000
    for axis, mode in zip(axes[0][:2], ("fetch", "e2e"), strict=True):
        rows = [r for r in summary if r["mode"] == mode]
        workers = sorted({r["workers"] for r in rows})
        key = "requests_per_second" if mode == "fetch" else "rows_per_second"
        for engine, (color, marker) in ENGINE_STYLE.items():
            mine = sorted((r for r in rows if r["engine"] == engine), key=lambda r: r["workers"])
            if mine:
                ys = [r[key] or 0 for r in mine]
                spreads = [r.get(f"{key}_spread") or {} for r in mine]
                low = [y - (sp.get("min") or y) for y, sp in zip(ys, spreads, strict=True)]
                high = [(sp.get("max") or y) - y for y, sp in zip(ys, spreads, strict=True)]
                axis.errorbar(
                    [r["workers"] for r in mine],
                    ys,
                    yerr=[low, high],
                    marker=marker,
                    color=color,
                    label=engine,
                    capsize=3,
                )
        if mode == "fetch" and workers:
            axis.plot(workers, [w / latency for w in workers], "k--", label="steady bound: workers / latency")
            reachable = sorted(
                {(r["workers"], r["pages"] / r["reachable_seconds"]) for r in rows if r.get("reachable_seconds")}
            )
            axis.plot([w for w, _ in reachable], [v for _, v in reachable], "k:", label="reachable bound")
            axis.set_ylabel("requests/s (median, bars min–max)")
            axis.set_title("fetch-only: throughput vs max_workers")
        elif workers:
            rate = results.get("upsert_rate", {}).get("median")
            if rate:
                axis.axhline(rate, color="k", linestyle=":", label="bare op.upsert rate")
            axis.set_ylabel("rows/s (median, update() time)")
            axis.set_title("end to end under the SDK: rows/s vs max_workers")
        if workers:
            axis.set_xscale("log", base=2)
            axis.set_yscale("log")
            axis.set_xticks(workers)
            axis.set_xticklabels([str(w) for w in workers])
        axis.set_xlabel("max_workers")
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(fontsize="small")
    _plot_limits(axes[0][2], results)
    figure.suptitle(f"threads vs async, latency {latency * 1000:g} ms")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    pyplot.close(figure)


def _plot_limits(axis: Any, results: dict[str, Any]) -> None:
    """The adaptive limit over time, one line per adaptive run that reported samples."""
    drawn = 0
    for run in results["runs"]:
        samples = (run.get("concurrency") or {}).get("samples") or []
        if run["engine"].endswith("adaptive") and samples:
            label = f"{run['scenario']} {run['workers']} (rep {run['repetition'] + 1})"
            axis.step([t for t, _ in samples], [limit for _, limit in samples], where="post", label=label)
            drawn += 1
    axis.set_title("adaptive concurrency limit over time")
    axis.set_xlabel("seconds since the sync started")
    axis.set_ylabel('limit (summary["concurrency"]["samples"])')
    if drawn:
        axis.legend(fontsize="small")
    else:
        axis.text(
            0.5,
            0.5,
            "no samples: adaptive concurrency\nis not available in this build",
            ha="center",
            va="center",
            transform=axis.transAxes,
        )
    axis.grid(True, alpha=0.3)


def box_section(box: dict[str, Any]) -> str:
    """Issue 21's production box: one row per (workload, size, workers, place, engine)."""
    options = box["options"]
    header = (
        "| workload | size | workers | place | engine | runs | complete | process s | update s | CPU ms/req "
        "| process CPU ms/req | peak RSS MB | box peak MB | OOM kills | limit hits | state bytes | rows |"
    )
    lines = [
        "## Production box (issue 21)",
        "",
        f"Each run a whole `fivetran debug` process in a cgroup of {options['memory_bytes'] / (1 << 20):.0f} MiB and "
        f"{options['cpus']:g} CPU (place `box`) or unconfined (`machine`), the servers outside; "
        f"{options['repetitions']} repetition(s), scale {options['scale']:g}; load average before "
        f"{box['load_before']} and after {box['load_after']}; {box['duration_seconds']} s in all. Size: rows (big "
        "pages, end to end), rows (fetch heavy: pages × 5), parents. CPU ms/req: update()'s CPU over its requests; "
        "box peak: the cgroup's peak usage, page cache (DuckDB's files) included.",
        "",
        header,
        "|" + "---|" * (header.count("|") - 1),
    ]
    for row in box["summary"]:
        lines.append(
            f"| {row['workload']} | {row['size']:,} | {row['workers']} | {row['place']} | {row['engine']} "
            f"| {row['runs']} | {'yes' if row['complete'] else '**no**'} | {_num(row['seconds'], 1)} "
            f"| {_num(row['update_seconds'], 1)} | {_num(row['cpu_ms_per_request'], 2)} "
            f"| {_num(row['process_cpu_ms_per_request'], 2)} | {_num(row['peak_rss_mb'])} | {_num(row['box_peak_mb'])} "
            f"| {_num(row['oom_kills'])} | {_num(row['limit_hits'])} | {_num(row['state_bytes'])} | {row['rows']:,} |"
        )
    for line in box.get("skipped", []):
        lines += ["", f"- {line}"]
    for failure in box.get("failures", []):
        lines += ["", f"- FAILED {failure.splitlines()[0]}"]
    return "\n".join(lines)


def write_box(results: dict[str, Any], targets: Sequence[Target], directory: Path) -> list[Path]:
    """`--scenario box` alone: <name>.json and <name>.md."""
    directory.mkdir(parents=True, exist_ok=True)
    name = results["name"]
    results = {**results, "targets": [{"name": t.name, "verdict": t.verdict, "detail": t.detail} for t in targets]}
    json_path = directory / f"{name}.json"
    json_path.write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
    md_path = directory / f"{name}.md"
    text = [f"# The production box: {name}", "", f"{results['created_at']}, machine {results['machine']}.", ""]
    text += [box_section(results["box"]), "", "## Targets", ""] + [f"- {t.line()}" for t in targets]
    md_path.write_text("\n".join(text) + "\n", encoding="utf-8")
    return [json_path, md_path]
