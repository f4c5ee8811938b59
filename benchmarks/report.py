"""A benchmark's results as `<name>.json` (everything), `<name>.md` (the tables and the targets) and `<name>.png`
(throughput against max_workers for both engines, with the bound drawn in)."""

from __future__ import annotations

import importlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.targets import Target

ENGINE_STYLE = {"async": ("tab:blue", "o"), "threads": ("tab:orange", "s")}


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


def _spread(stats: dict[str, float | None], digits: int = 2) -> str:
    if stats.get("median") is None:
        return "–"
    return f"{stats['median']:.{digits}f} ({stats['min']:.{digits}f}–{stats['max']:.{digits}f})"


def results_table(results: dict[str, Any]) -> str:
    """The Markdown table of every (scenario, mode, workers, engine)."""
    header = (
        "| scenario | mode | workers | engine | wall s median (min–max) | req/s | rows/s | CPU ms/req "
        "| server CPU ms/req | peak RSS MB | retries | errors | rows / expected | bound s | bound req/s |"
    )
    lines = [header, "|" + "---|" * (header.count("|") - 1)]
    for row in results["summary"]:
        lines.append(
            "| "
            + " | ".join(
                [
                    row["scenario"],
                    row["mode"],
                    str(row["workers"]),
                    row["engine"],
                    _spread(row["wall_seconds"]),
                    _num(row["requests_per_second"]),
                    _num(row["rows_per_second"]),
                    _num(row["cpu_ms_per_request"], 3),
                    _num(row["server_cpu_ms_per_request"], 3),
                    _num(row["peak_rss_mb"], 1),
                    _num(row["retries"]),
                    _num(row["errors"]),
                    f"{row['rows']} / {row['rows_expected']}",
                    _num(row["bound_seconds"], 2),
                    _num(row["bound_requests_per_second"]),
                ]
            )
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
        f"Workload: {workload.get('rows_total')} rows in {workload.get('pages')} pages of "
        f"{workload.get('page_size')} ({', '.join(f'{t} {n}' for t, n in workload.get('rows_expected', {}).items())}), "
        f"playground latency {workload.get('latency_ms')} ms, scale {workload.get('scale')}. "
        f"{results['options']['repetitions']} repetition(s) per cell, the engine that goes first alternating.",
        "",
        "The bound is `pages × latency / max_workers` seconds (`max_workers / latency` requests/s). CPU is user + "
        "system of the process doing the fetching (a fresh process per run); peak RSS is its `ru_maxrss`. "
        "End-to-end wall is update() itself (under `Connector.debug` into DuckDB).",
        "",
        results_table(results),
        "",
        f"Bare `op.upsert` rate measured in the same session: {_num(upsert.get('median'))} rows/s "
        f"(samples: {', '.join(_num(x) for x in upsert.get('samples', []))}).",
    ]
    if e2e:
        parts += [
            "",
            "End-to-end, whole `debug()` (SDK start, schema, update, final write) in seconds: "
            + "; ".join(f"{r['engine']} {r['workers']}: {_spread(r['total_seconds'])}" for r in e2e)
            + ".",
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
    parts += ["", "## Targets", ""] + [f"- {t.line()}" for t in targets]
    if results.get("failures"):
        parts += ["", "## Failed runs", ""] + [f"- {f.splitlines()[0]}" for f in results["failures"]]
    return "\n".join(parts) + "\n"


def plot(results: dict[str, Any], path: Path) -> None:
    """Requests/s against max_workers (fetch-only, and end-to-end rows/s), both engines, the bound drawn in."""
    # matplotlib by name: it is a dev-only dependency, and the SDK runs pipreqs over every .py file of the project.
    matplotlib = importlib.import_module("matplotlib")
    matplotlib.use("Agg")
    pyplot = importlib.import_module("matplotlib.pyplot")
    summary = [r for r in results["summary"] if r["scenario"] == "clean"]
    modes = [m for m in ("fetch", "e2e") if any(r["mode"] == m for r in summary)]
    figure, axes = pyplot.subplots(1, max(1, len(modes)), figsize=(6.5 * max(1, len(modes)), 4.8), squeeze=False)
    latency = results["options"]["latency_ms"] / 1000
    for axis, mode in zip(axes[0], modes, strict=False):
        rows = [r for r in summary if r["mode"] == mode]
        workers = sorted({r["workers"] for r in rows})
        key = "requests_per_second" if mode == "fetch" else "rows_per_second"
        for engine, (color, marker) in ENGINE_STYLE.items():
            mine = sorted((r for r in rows if r["engine"] == engine), key=lambda r: r["workers"])
            if not mine:
                continue
            xs = [r["workers"] for r in mine]
            ys = [r[key] or 0 for r in mine]
            axis.plot(xs, ys, marker=marker, color=color, label=engine)
        if mode == "fetch":
            axis.plot(workers, [w / latency for w in workers], "k--", label="bound: max_workers / latency")
            axis.set_ylabel("requests/s (median)")
            axis.set_title("fetch-only: throughput vs max_workers")
        else:
            rate = results.get("upsert_rate", {}).get("median")
            if rate:
                axis.axhline(rate, color="k", linestyle=":", label="bare op.upsert rate")
            total = results["workload"].get("rows_total", 0)
            bound = [total / r["bound_seconds"] for r in rows if r["engine"] == "async"]
            axis.plot(workers, bound, "k--", label="fetch bound (rows/s)")
            axis.set_ylabel("rows/s (median, update() time)")
            axis.set_title("end-to-end under the SDK: rows/s vs max_workers")
        axis.set_xscale("log", base=2)
        axis.set_yscale("log")
        axis.set_xticks(workers)
        axis.set_xticklabels([str(w) for w in workers])
        axis.set_xlabel("max_workers")
        axis.grid(True, which="both", alpha=0.3)
        axis.legend()
    figure.suptitle(f"threads vs async, latency {latency * 1000:g} ms, {results['workload'].get('pages')} pages")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    pyplot.close(figure)
