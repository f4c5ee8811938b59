"""The adaptive concurrency limit against the embedded playground with a capacity (a real server on loopback).

Loose bounds only: this runs on a loaded 2-core machine, where the client's own event loop adds latency. The
strict check (the limit within ±30 % of the capacity, throughput against a sweep of fixed settings) belongs to
the benchmark, which reads the same `concurrency` summary.
"""

from __future__ import annotations

import statistics

from async_core import StdLog, run_sync
from tests.sinks import RecordingSink

CAPACITY = 32


def test_with_max_workers_256_the_limit_settles_in_a_band_around_the_servers_capacity() -> None:
    """Capacity 32 (slower above, 503 above 64), max_workers 256, 1000 pages: every row lands, the limit starts
    at 8, climbs past 32, and spends the rest of the sync between 16 and 56 (its median), never near 256."""
    configuration = {
        "base_url": "playground",
        "tables": "photos",
        "page_size": "10",
        "max_workers": "256",
        "playground_faults": "none",
        "playground_capacity": str(CAPACITY),
        "playground_latency_ms": "100",
        "playground_scale": "2",
        "base_delay": "0.05",
        "max_delay": "0.5",
    }
    sink = RecordingSink()
    result = run_sync(configuration, None, sink=sink, log=StdLog())
    assert result.status == "succeeded"
    assert len(sink.ids("photos")) == 10_000
    path = result.summary["concurrency"]
    assert (path["mode"], path["start"]) == ("adaptive", 8)
    assert path["max"] >= CAPACITY
    assert path["max"] < 128
    samples = path["samples"]
    later = [limit for seconds, limit in samples if seconds >= samples[-1][0] / 3]
    assert CAPACITY / 2 <= statistics.median(later) <= CAPACITY * 1.75, samples
