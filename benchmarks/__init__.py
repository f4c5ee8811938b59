"""Threads vs async: the threaded baseline and the benchmark that compares it with `async_core`.

    benchmarks/threaded/   the threaded example's design (ThreadPoolExecutor, a requests.Session per thread,
                           op.upsert from the workers), reusing the pure parts of async_core
    server.py              the playground as a separate process
    workloads.py           child-process entry points: one engine, one mode, one JSON result
    runner.py              the matrix: worker counts, repetitions, alternation, scenarios
    targets.py             the targets, checked as PASS/FAIL lines
    report.py              results as JSON, Markdown and a PNG plot

Run it with `python -m benchmarks` (or `make bench`); `python -m benchmarks --smoke` runs in under a minute.
"""
