"""The error ledger: every error of a sync as a record, counted by severity and table, judged against thresholds.

The threaded example's ErrorHandler, without locks: the ledger lives on the event loop and is only touched there.
Thresholds count errors of severity MEDIUM and above (LOW errors were recovered and cost nothing):
- a table whose count goes past `error_threshold_per_thread` stops; the other tables go on;
- a sync whose count goes past `total_error_threshold` stops, and so does any CRITICAL error.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import traceback
from collections import Counter
from typing import Any

from async_core.errors import AuthenticationError, ConnectorError, FetchError, RecordError, Severity


class Verdict(enum.Enum):
    """What the engine must do after an error is recorded."""

    CONTINUE = "continue"
    STOP_TABLE = "stop_table"
    STOP_SYNC = "stop_sync"


@dataclasses.dataclass(frozen=True, kw_only=True)
class ErrorRecord:
    """One error, with what is needed to find and replay what it cost."""

    table: str
    severity: Severity
    error_type: str
    message: str
    page: int | None = None
    record_id: str | None = None
    attempts: int = 1
    occurred_at: dt.datetime = dataclasses.field(default_factory=lambda: dt.datetime.now(dt.UTC))
    traceback: str | None = None  # only for unexpected errors (bugs)
    raw_record: Any = None  # the record as received, for records that failed validation
    rule: str | None = None  # the source's error rule that decided, if one did


def severity_of(error: BaseException) -> Severity:
    """The classification documented in the README's "Error handling" section."""
    if isinstance(error, AuthenticationError):
        return Severity.CRITICAL
    if isinstance(error, RecordError):
        return Severity.MEDIUM
    if isinstance(error, ConnectorError):
        return Severity.HIGH  # a page lost for this sync: retries exhausted, refused, not retryable, waited too long
    return Severity.CRITICAL  # not one of ours: a bug


def record_for(
    error: BaseException,
    *,
    table: str,
    page: int | None = None,
    record_id: str | None = None,
    raw_record: Any = None,
) -> ErrorRecord:
    """The ledger record for an exception; unexpected exceptions keep their traceback."""
    severity = severity_of(error)
    attempts = error.attempts if isinstance(error, FetchError) else 1
    trace = None if isinstance(error, ConnectorError) else "".join(traceback.format_exception(error))
    return ErrorRecord(
        table=table,
        severity=severity,
        error_type=type(error).__name__,
        message=str(error) or type(error).__name__,
        page=page,
        record_id=record_id,
        attempts=attempts,
        traceback=trace,
        raw_record=raw_record,
    )


def recovered_after_retry(*, table: str, page: int, attempts: int, last_error: str) -> ErrorRecord:
    """The LOW record of a request that needed retries and then succeeded."""
    return ErrorRecord(
        table=table,
        severity=Severity.LOW,
        error_type="RecoveredAfterRetry",
        message=f"succeeded after {attempts} attempts; last error {last_error}",
        page=page,
        attempts=attempts,
    )


class ErrorLedger:
    """Counts errors and says when a threshold is passed."""

    def __init__(self, *, per_table_threshold: int, total_threshold: int) -> None:
        self.per_table_threshold = per_table_threshold
        self.total_threshold = total_threshold
        self.records: list[ErrorRecord] = []
        self.by_severity: Counter[Severity] = Counter()
        self.by_table: Counter[str] = Counter()
        self._counted_by_table: Counter[str] = Counter()
        self.counted = 0  # errors of severity MEDIUM and above
        self.stop_reason: str | None = None

    def record(self, error: ErrorRecord) -> Verdict:
        """Adds `error` and judges it against the thresholds."""
        self.records.append(error)
        self.by_severity[error.severity] += 1
        self.by_table[error.table] += 1
        if error.severity < Severity.MEDIUM:
            return Verdict.CONTINUE
        self.counted += 1
        self._counted_by_table[error.table] += 1
        if error.severity is Severity.CRITICAL:
            self.stop_reason = self.stop_reason or f"CRITICAL error in table {error.table}: {error.message}"
            return Verdict.STOP_SYNC
        if self.counted > self.total_threshold:
            self.stop_reason = self.stop_reason or (
                f"total_error_threshold ({self.total_threshold}) exceeded: {self.counted} errors"
            )
            return Verdict.STOP_SYNC
        if self._counted_by_table[error.table] > self.per_table_threshold:
            return Verdict.STOP_TABLE
        return Verdict.CONTINUE

    def summary(self) -> dict[str, Any]:
        """The `error_summary` of the sync report, in the threaded example's shape."""
        return {
            "total_errors": len(self.records),
            "errors_by_severity": {severity.name: self.by_severity[severity] for severity in Severity},
            "errors_by_table": dict(sorted(self.by_table.items())),
        }
