"""The error ledger: severities, and the per-table and global thresholds."""

import asyncio
import dataclasses
import gc

from async_core.errors import (
    AuthenticationError,
    FatalError,
    RecordError,
    RetryableError,
    Severity,
    WaitTooLongError,
)
from async_core.run.ledger import (
    SAMPLE_PER_SEVERITY,
    ErrorLedger,
    ErrorRecord,
    Verdict,
    record_for,
    record_ruled,
    severity_of,
)
from async_core.source.rules import RecordAction


def _error(table: str, severity: Severity = Severity.HIGH) -> ErrorRecord:
    return ErrorRecord(table=table, severity=severity, error_type="X", message="boom")


def test_classification() -> None:
    """The README's table: record MEDIUM, lost page HIGH, auth and bugs CRITICAL."""
    assert severity_of(RecordError("bad")) is Severity.MEDIUM
    assert severity_of(RetryableError("503")) is Severity.HIGH
    assert severity_of(FatalError("404", status=404)) is Severity.HIGH
    assert severity_of(WaitTooLongError("wait")) is Severity.HIGH
    assert severity_of(AuthenticationError("401", status=401)) is Severity.CRITICAL
    assert severity_of(KeyError("bug")) is Severity.CRITICAL


def test_low_errors_do_not_count_against_thresholds() -> None:
    """Recovered errors cost nothing: a hundred of them stop nothing."""
    ledger = ErrorLedger(per_table_threshold=1, total_threshold=1)
    verdicts = {ledger.record(_error("users", Severity.LOW)) for _ in range(100)}
    assert verdicts == {Verdict.CONTINUE}
    assert ledger.counted == 0
    assert ledger.summary()["errors_by_severity"]["LOW"] == 100


def test_past_the_per_table_threshold_only_that_table_stops() -> None:
    """Threshold 2: the third error of a table stops it; another table's first error does not."""
    ledger = ErrorLedger(per_table_threshold=2, total_threshold=100)
    assert [ledger.record(_error("posts")) for _ in range(3)] == [
        Verdict.CONTINUE,
        Verdict.CONTINUE,
        Verdict.STOP_TABLE,
    ]
    assert ledger.record(_error("users")) is Verdict.CONTINUE


def test_past_the_total_threshold_the_sync_stops_and_says_which_threshold() -> None:
    """Threshold 3 over all tables: the fourth error stops the sync, with a message naming the threshold."""
    ledger = ErrorLedger(per_table_threshold=100, total_threshold=3)
    verdicts = [ledger.record(_error(table)) for table in ("users", "posts", "comments", "users")]
    assert verdicts[-1] is Verdict.STOP_SYNC
    assert verdicts[:3] == [Verdict.CONTINUE] * 3
    assert ledger.stop_reason == ("total_error_threshold (3) exceeded: 4 errors; the most common: boom: 4 of 4 errors")


def test_the_threshold_line_counts_every_error_recorded_and_names_the_most_common_cause() -> None:
    """Issue 18, case 11: a page of 160 bad records read "exceeded: 16 errors" (the count when it crossed) while
    the log said 160, and the cause was only in sync_errors. The line is now read when the sync stops."""
    ledger = ErrorLedger(per_table_threshold=1000, total_threshold=15)
    bad = dataclasses.replace(_error("users"), message="field 'id' should be INT, got str")
    for _ in range(160):
        ledger.record(bad)
    ledger.record(dataclasses.replace(_error("users"), message="field 'v' is out of the INT range: 99999999999"))
    ledger.record(dataclasses.replace(_error("users"), message="field 'v' is out of the INT range: 88888888888"))
    assert ledger.stop_reason == (
        "total_error_threshold (15) exceeded: 162 errors; "
        "the most common: field 'id' should be INT, got str: 160 of 162 errors"
    )


def test_critical_stops_the_sync_at_once() -> None:
    """One CRITICAL error is enough."""
    ledger = ErrorLedger(per_table_threshold=100, total_threshold=100)
    assert ledger.record(_error("users", Severity.CRITICAL)) is Verdict.STOP_SYNC
    assert ledger.stop_reason is not None
    assert ledger.stop_reason.startswith("CRITICAL error in table users")


def test_record_for_keeps_tracebacks_of_bugs_only() -> None:
    """Our own errors have a message; an unexpected exception keeps its traceback for the dead letter."""
    empty: dict[str, int] = {}
    try:
        empty["missing"]
    except KeyError as exc:
        bug = record_for(exc, table="users", record_id="7")
    assert bug.severity is Severity.CRITICAL
    assert bug.traceback is not None
    assert "KeyError" in bug.traceback
    lost = RetryableError("HTTP 503", status=503)
    lost.attempts = 4
    page = record_for(lost, table="posts", page=3)
    assert (page.severity, page.attempts, page.page, page.traceback) == (Severity.HIGH, 4, 3, None)


def test_summary_shape() -> None:
    """The threaded example's error_summary keys."""
    ledger = ErrorLedger(per_table_threshold=10, total_threshold=10)
    ledger.record(_error("users", Severity.LOW))
    ledger.record(_error("posts", Severity.MEDIUM))
    assert ledger.summary() == {
        "total_errors": 2,
        "errors_by_severity": {"LOW": 1, "MEDIUM": 1, "HIGH": 0, "CRITICAL": 0},
        "errors_by_table": {"posts": 1, "users": 1},
    }


def test_cancelled_error_is_not_an_exception_we_classify() -> None:
    """CancelledError is a BaseException: `except Exception` in the engine never swallows it."""
    assert not issubclass(asyncio.CancelledError, Exception)


def test_the_ledger_counts_every_error_and_keeps_only_a_sample() -> None:
    """10,000 records skipped by a rule (LOW, each with its raw record) and 3 lost pages: all counted, by severity,
    table and rule; at most SAMPLE_PER_SEVERITY of each severity kept whole (every one is in sync_errors)."""
    gc.collect()  # what earlier tests in the same process left alive is not this ledger's (it failed after them)
    before = sum(isinstance(thing, ErrorRecord) for thing in gc.get_objects())
    ledger = ErrorLedger(per_table_threshold=100, total_threshold=100)
    for n in range(10_000):
        ledger.record(
            record_ruled(RecordAction.SKIP, rule="dupes", table="posts", page=n, record_id=str(n), raw_record={"n": n})
        )
    for page in range(3):
        ledger.record(record_for(RetryableError("HTTP 503"), table="users", page=page))
    alive = sum(isinstance(thing, ErrorRecord) for thing in gc.get_objects()) - before  # what the ledger holds
    assert alive <= 4 * SAMPLE_PER_SEVERITY
    assert sum(error.severity is Severity.HIGH for error in ledger.sample) == 3
    assert ledger.summary() == {
        "total_errors": 10_003,
        "errors_by_severity": {"LOW": 10_000, "MEDIUM": 0, "HIGH": 3, "CRITICAL": 0},
        "errors_by_table": {"posts": 10_000, "users": 3},
        "errors_by_rule": {"dupes": 10_000},
    }
    assert (ledger.pages_lost, ledger.records_rejected) == ({"users": 3}, {})
