"""The threaded baseline: Fivetran's "Complex Error Handling with Multi-Threading" design, on async_core's rules.

`ThreadPoolExecutor(max_workers)`, one `requests.Session` per worker thread, the retry strategies, wait hints,
retry budget, circuit breaker, thresholds and error classification of `async_core` implemented with blocking calls,
and the sink's `upsert` called from the worker threads as the original example does. Only the concurrency model
differs from `async_core.run_sync`.
"""

from benchmarks.threaded.engine import run_threaded

__all__ = ["run_threaded"]
