"""`python -m benchmarks`: threads vs async on the playground; writes benchmarks/results/<name>.{json,md,png}.

    python -m benchmarks                 the full benchmark (about 20 minutes on 2 cores)
    python -m benchmarks --smoke         under a minute: tiny scale, 1 repetition, workers 4 and 16
    python -m benchmarks --workers 64,256 --repetitions 5 --modes fetch --no-scenarios --no-adaptive
    python -m benchmarks --scenario box  only the production box (issue 21): 1 GiB, half a CPU (benchmarks/box)

Exit status: 0 when every run ran (and, outside smoke mode, every target measured passed); 1 when a run failed or
rows are missing from a clean run; 2 when a target failed (unless --no-enforce).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import platform
import sys
from pathlib import Path

from benchmarks import report, targets
from benchmarks.box.scenario import SMOKE_BOX, BoxOptions, BoxScenario
from benchmarks.plan import ALL_TABLES, SMOKE, Options
from benchmarks.runner import Benchmark


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(",") if part.strip())


def _names(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def box_options(args: argparse.Namespace, smoke: bool) -> BoxOptions:
    changes = {
        key: value
        for key, value in {
            "scale": args.box_scale,
            "repetitions": args.box_repetitions,
            "workloads": args.box_workloads,
            "engines": args.box_engines,
            "places": args.box_places,
        }.items()
        if value is not None
    }
    return dataclasses.replace(SMOKE_BOX if smoke else BoxOptions(), **changes)


@dataclasses.dataclass(frozen=True)
class Parsed:
    """The session's options, whether targets are enforced, a saved result to re-check, and the box's options
    (None: no box; `box_only` (`--scenario box`): the box alone, the session's options then only name the results)."""

    options: Options
    enforce: bool
    saved: Path | None
    box: BoxOptions | None
    box_only: bool


def parse_options(argv: list[str]) -> tuple[Options, bool, Path | None]:
    parsed = parse_all(argv)
    return parsed.options, parsed.enforce, parsed.saved


def parse_all(argv: list[str]) -> Parsed:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="a run of under a minute; targets are not enforced")
    parser.add_argument("--name", help="results file name (default: latest, or smoke with --smoke)")
    parser.add_argument("--results-dir", type=Path, help="where to write the results (default: benchmarks/results)")
    parser.add_argument(
        "--engines", type=_names, help="fetch-only engines (default: async,threads,bare,h11-async,h11-threads)"
    )
    parser.add_argument("--e2e-engines", type=_names, help="end-to-end engines (default: async,threads,bare)")
    parser.add_argument("--workers", type=_ints, help="max_workers values, comma-separated (default: 4,16,64,256)")
    parser.add_argument("--e2e-workers", type=_ints, help="end-to-end max_workers values (default: 16,64)")
    parser.add_argument("--repetitions", type=int, help="runs per engine and cell (default: 3)")
    parser.add_argument("--modes", type=_names, help="fetch, e2e or both (default: fetch,e2e)")
    parser.add_argument("--tables", type=_names, help=f"tables (default: {','.join(ALL_TABLES)})")
    parser.add_argument("--scale", type=int, help="playground scale (default: 3)")
    parser.add_argument("--page-size", type=int, help="rows per page (default: 10)")
    parser.add_argument("--latency-ms", type=int, help="playground latency (default: 50)")
    parser.add_argument("--seed", type=int, help="playground seed (default: 1)")
    parser.add_argument("--rate-limit", type=float, dest="rate_limit_rps", help="requests_per_second of the scenario")
    parser.add_argument("--no-scenarios", action="store_true", help="skip overhead, rate-limited and faulty")
    parser.add_argument("--no-adaptive", action="store_true", help="skip issue 10's adaptive-concurrency scenarios")
    parser.add_argument("--no-profiles", action="store_true", help="skip the py-spy profiles")
    parser.add_argument("--no-enforce", action="store_true", help="exit 0 even when a target fails")
    parser.add_argument("--scenario", choices=("all", "box"), default="all", help="box: only the production box")
    parser.add_argument("--no-box", action="store_true", help="skip the production-box scenario")
    parser.add_argument("--box-scale", type=float, help="multiplies the box's row counts (default: 1)")
    parser.add_argument("--box-repetitions", type=int, help="runs per engine and box cell (default: 1)")
    parser.add_argument("--box-workloads", type=_names, help="big_pages,parents,fetch_heavy,end_to_end")
    parser.add_argument("--box-engines", type=_names, help="default: async,bare,bare-rows,threads")
    parser.add_argument("--box-places", type=_names, help="box, machine or both (fetch_heavy and end_to_end)")
    parser.add_argument("--from-json", type=Path, help="re-check and re-render a saved <name>.json; runs nothing")
    args = parser.parse_args(argv)
    options = SMOKE if args.smoke else Options()
    # the box runs with make bench, and in smoke mode only when asked for (tests/benchmarks/test_box.py)
    box = None if args.no_box or (args.smoke and args.scenario != "box") else box_options(args, args.smoke)
    if args.scenario == "box" and args.name is None:
        args.name = "box-smoke" if args.smoke else "box"
    changes = {
        key: value
        for key, value in {
            "name": args.name,
            "results_dir": args.results_dir,
            "workers": args.workers,
            "engines": args.engines,
            "e2e_engines": args.e2e_engines,
            "e2e_workers": args.e2e_workers,
            "repetitions": args.repetitions,
            "modes": args.modes,
            "tables": args.tables,
            "scale": args.scale,
            "page_size": args.page_size,
            "latency_ms": args.latency_ms,
            "seed": args.seed,
            "rate_limit_rps": args.rate_limit_rps,
        }.items()
        if value is not None
    }
    if args.no_scenarios:
        changes["scenarios"] = False
    if args.no_adaptive:
        changes["adaptive"] = False
    if args.no_profiles:
        changes["profiles"] = False
    if args.from_json:
        changes["name"] = args.from_json.stem
        changes.setdefault("results_dir", args.from_json.parent)
    enforce = not (args.no_enforce or options.smoke)
    return Parsed(dataclasses.replace(options, **changes), enforce, args.from_json, box, args.scenario == "box")


def main_box(options: Options, box: BoxOptions, enforce: bool) -> int:
    """`--scenario box`: the production box alone, written to <name>.json and <name>.md."""
    progress = options.results_dir / f"{options.name}.partial.json"
    result = BoxScenario(box, lambda line: print(line, file=sys.stderr, flush=True), progress).run()
    progress.unlink(missing_ok=True)
    results = {
        "name": options.name,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "box": result,
    }
    checked = targets.check_box(result)
    paths = report.write_box(results, checked, options.results_dir)
    print(report.box_section(result))
    for target in checked:
        print(target.line())
    for path in paths:
        print(f"wrote {path}")
    if result["failures"]:
        return 1
    return 2 if enforce and any(t.passed is False for t in checked) else 0


def main(argv: list[str]) -> int:
    parsed = parse_all(argv)
    options, enforce, saved = parsed.options, parsed.enforce, parsed.saved
    if parsed.box_only and parsed.box is not None and not saved:
        return main_box(options, parsed.box, enforce and not parsed.box.smoke)
    if saved:
        results = json.loads(saved.read_text(encoding="utf-8"))
        results.pop("targets", None)
        enforce = enforce and not results["options"].get("smoke")
    else:
        results = Benchmark(options).run()
        if parsed.box is not None:
            results["box"] = BoxScenario(parsed.box, lambda line: print(line, file=sys.stderr, flush=True)).run()
            results["failures"] += [f"box: {line}" for line in results["box"]["failures"]]
    checked = targets.check(results)
    paths = report.write_all(results, checked, options.results_dir)
    print(report.results_table(results))
    for target in checked:
        print(target.line())
    for path in paths:
        print(f"wrote {path}")
    missing = [
        f"{r['scenario']} {r['mode']} {r['engine']} {r['workers']}: {r['rows']} of {sum(r['rows_expected'].values())}"
        for r in results["runs"]
        if r["scenario"] in ("clean", "overhead") and r["rows_by_table"] != r["rows_expected"]
    ]
    for line in missing:
        print(f"ROWS MISSING {line}")
    if results["failures"] or missing:
        return 1
    if enforce and any(t.passed is False for t in checked):
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
