"""The sync report, in the threaded example's shape, and the progress line of long syncs."""

from __future__ import annotations

from typing import Any

from async_core.http.breaker import CircuitBreaker
from async_core.run.ledger import ErrorLedger
from async_core.run.metrics import Metrics


def build_summary(
    *, metrics: Metrics, ledger: ErrorLedger, breaker: CircuitBreaker | None, max_workers: int, elapsed: float
) -> dict[str, Any]:
    """`processing_summary` and `error_summary` as in the threaded example, plus the resilience counters and the
    concurrency limit's path (start, min, max, final, and [seconds, limit] points for a plot)."""
    tables = {
        name: {
            "records_processed": table.records_written,
            "pages": table.pages,
            "errors_encountered": table.errors,
            "duration_seconds": round(table.duration, 3),
            "records_per_second": round(table.records_written / table.duration, 2) if table.duration > 0 else 0.0,
            "status": table.status,
        }
        for name, table in sorted(metrics.tables.items())
    }
    return {
        "processing_summary": {
            "total_records_processed": metrics.records_written,
            "total_errors": ledger.total,
            "total_retries": metrics.retries,
            "worker_count": max_workers,
            "duration_seconds": round(elapsed, 3),
            "table_summaries": tables,
        },
        "error_summary": ledger.summary(),
        "resilience": {
            "requests": metrics.requests,
            "retries": metrics.retries,
            "retries_succeeded": metrics.retries_succeeded,
            "retry_budget_refusals": metrics.budget_refusals,
            "retries_deferred": metrics.retries_deferred,
            "breaker_opens": breaker.opens if breaker else 0,
            "breaker_probes": breaker.probes if breaker else 0,
            "breaker_rejections": metrics.breaker_rejections,
            "rate_gate_waits": metrics.gate_waits,
            "rate_gate_wait_seconds": round(metrics.gate_wait_seconds, 3),
        },
        "concurrency": metrics.concurrency.summary(),
    }


def progress_line(*, metrics: Metrics, ledger: ErrorLedger, breaker: CircuitBreaker | None, elapsed: float) -> str:
    """One line for the log during long syncs."""
    written = metrics.records_written
    rate = written / elapsed if elapsed > 0 else 0.0
    state = breaker.state.name if breaker else "DISABLED"
    path = metrics.concurrency
    return (
        f"progress: {written} rows in {elapsed:.1f} s ({rate:.0f} rows/s), {metrics.in_flight} requests in flight, "
        f"{metrics.retries} retries, {ledger.total} errors, breaker {state}, "
        f"concurrency limit {path.current:.0f} ({path.mode}; {path.low:.0f} to {path.high:.0f} so far)"
    )
