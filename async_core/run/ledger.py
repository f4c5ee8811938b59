"""The error ledger: every error of a sync as a record, counted by severity and table, judged against thresholds.

The threaded example's ErrorHandler, without locks: the ledger lives on the event loop and is only touched there.
Thresholds count errors of severity MEDIUM and above (LOW errors were recovered and cost nothing):
- a table whose count goes past `error_threshold_per_thread` stops; the other tables go on;
- a sync whose count goes past `total_error_threshold` stops, and so does any CRITICAL error.

A source's error rules (`async_core.source.rules`) decide what a response or a record means; the severity of what
they decide is set here, with everything else's, and the thresholds apply to it alike. A record that names its
rule is counted by rule name too (`errors_by_rule` in the summary, present only when a rule fired).

The ledger counts; it does not hoard. Every record goes to `sync_errors` as it happens (through the bridge); the
ledger keeps totals, and a bounded sample of records (the first `SAMPLE_PER_SEVERITY` of each severity), so that a
sync skipping millions of records by rule holds no more memory than one that skips none.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import traceback
from collections import Counter
from typing import Any

from async_core.errors import (
    AuthenticationError,
    ConnectorError,
    FetchError,
    RecordError,
    RuleBug,
    RuleStop,
    Severity,
)
from async_core.source.rules import RecordAction

# What a record rule's decision costs, as (severity, error type, message); KEEP costs nothing.
RECORD_RULE_OUTCOMES = {
    # expected (a duplicate): counted, not an error against the thresholds
    RecordAction.SKIP: (Severity.LOW, "RecordSkipped", "record skipped by rule {rule!r}"),
    # one record lost, in `sync_errors` with its raw form
    RecordAction.REJECT: (Severity.MEDIUM, "RecordRejected", "record rejected by rule {rule!r}"),
    RecordAction.STOP: (Severity.CRITICAL, "RecordStopped", "rule {rule!r} stops the sync at this record"),
}


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
    if isinstance(error, AuthenticationError) or (isinstance(error, RuleStop) and error.sync):
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
        rule=error.rule if isinstance(error, FetchError | RuleBug) else None,
    )


def record_ruled(
    action: RecordAction, *, rule: str, table: str, page: int, record_id: str | None, raw_record: Any
) -> ErrorRecord:
    """The record of a raw record that a record rule skipped, rejected, or stopped the sync for."""
    severity, error_type, message = RECORD_RULE_OUTCOMES[action]
    return ErrorRecord(
        table=table,
        severity=severity,
        error_type=error_type,
        message=message.format(rule=rule),
        page=page,
        record_id=record_id,
        raw_record=raw_record,
        rule=rule,
    )


def page_skipped(*, rule: str, table: str, page: int, status: int) -> ErrorRecord:
    """The LOW record of a page a response rule called expected-empty (it is written with no rows)."""
    return ErrorRecord(
        table=table,
        severity=Severity.LOW,
        error_type="PageSkipped",
        message=f"HTTP {status}: page skipped as empty by rule {rule!r}",
        page=page,
        rule=rule,
    )


def recovered_after_retry(
    *, table: str, page: int, attempts: int, last_error: str, rule: str | None = None
) -> ErrorRecord:
    """The LOW record of a request that needed retries and then succeeded (`rule`: a rule asked for the retry)."""
    return ErrorRecord(
        table=table,
        severity=Severity.LOW,
        error_type="RecoveredAfterRetry",
        message=f"succeeded after {attempts} attempts; last error {last_error}",
        page=page,
        attempts=attempts,
        rule=rule,
    )


SAMPLE_PER_SEVERITY = 25  # records kept whole per severity (the rest only counted: all are in sync_errors)


def cause_of(error: ErrorRecord) -> str:
    """What errors have in common, for counting causes: the message without the value after its first ": " and
    without where it happened (" (parent ...)"): "field 'v' is out of the INT range: 9e9" is "field 'v' is out of
    the INT range"; "HTTP 404 (parent customer_id=3, ...)" is "HTTP 404"."""
    text = error.message.partition(" (parent ")[0]
    head, colon, _ = text.partition(": ")
    return head if colon and not error.message.startswith("HTTP") else text


class ErrorLedger:
    """Counts errors and says when a threshold is passed."""

    def __init__(self, *, per_table_threshold: int, total_threshold: int) -> None:
        self.per_table_threshold = per_table_threshold
        self.total_threshold = total_threshold
        self.sample: list[ErrorRecord] = []  # the first SAMPLE_PER_SEVERITY records of each severity
        self.total = 0  # every error recorded
        self.pages_lost: Counter[str] = Counter()  # per table: pages that could not be fetched (HIGH and above)
        self.records_rejected: Counter[str] = Counter()  # per table: records lost (MEDIUM and above)
        self.torn: Counter[str] = Counter()  # per table: passes torn by data that changed while read (no page lost)
        self.by_severity: Counter[Severity] = Counter()
        self.by_table: Counter[str] = Counter()
        self.by_rule: Counter[str] = Counter()
        self._counted_by_table: Counter[str] = Counter()
        self.counted = 0  # errors of severity MEDIUM and above
        self._causes: Counter[str] = Counter()  # counted errors by their cause (`cause_of`)
        self._critical: str | None = None  # the first CRITICAL error's line
        self._over_total = False

    def record(self, error: ErrorRecord) -> Verdict:
        """Counts `error` (kept whole only in the sample) and judges it against the thresholds."""
        self.total += 1
        if self.by_severity[error.severity] < SAMPLE_PER_SEVERITY:
            self.sample.append(error)
        self.by_severity[error.severity] += 1
        if error.error_type == "TornPass":
            self.torn[error.table] += 1
        elif error.severity >= Severity.HIGH and error.page is not None and error.record_id is None:
            self.pages_lost[error.table] += 1
        if error.severity >= Severity.MEDIUM and error.raw_record is not None:
            self.records_rejected[error.table] += 1
        self.by_table[error.table] += 1
        if error.rule is not None:
            self.by_rule[error.rule] += 1
        if error.severity < Severity.MEDIUM:
            return Verdict.CONTINUE
        self.counted += 1
        self._counted_by_table[error.table] += 1
        self._causes[cause_of(error)] += 1
        if error.severity is Severity.CRITICAL:
            if self._critical is None and not self._over_total:
                self._critical = f"CRITICAL error in table {error.table}: {error.message}"
            return Verdict.STOP_SYNC
        if self.counted > self.total_threshold:
            self._over_total = self._over_total or self._critical is None
            return Verdict.STOP_SYNC
        if self._counted_by_table[error.table] > self.per_table_threshold:
            return Verdict.STOP_TABLE
        return Verdict.CONTINUE

    @property
    def stop_reason(self) -> str | None:
        """Why the sync stops, None while it need not: the first CRITICAL error, or the total threshold with the
        count as it is now (every error of the page that crossed it included) and its most common cause, which
        is otherwise only in `sync_errors`."""
        if self._critical is not None:
            return self._critical
        if not self._over_total:
            return None
        cause, count = self._causes.most_common(1)[0]
        return (
            f"total_error_threshold ({self.total_threshold}) exceeded: {self.counted} errors; "
            f"the most common: {cause}: {count} of {self.counted} errors"
        )

    def summary(self) -> dict[str, Any]:
        """The `error_summary` of the sync report, in the threaded example's shape; `errors_by_rule` only when a
        source's error rule fired (so a source without rules reports exactly as before)."""
        summary: dict[str, Any] = {
            "total_errors": self.total,
            "errors_by_severity": {severity.name: self.by_severity[severity] for severity in Severity},
            "errors_by_table": dict(sorted(self.by_table.items())),
        }
        if self.by_rule:
            summary["errors_by_rule"] = dict(sorted(self.by_rule.items()))
        return summary
