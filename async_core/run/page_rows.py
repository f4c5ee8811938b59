"""A fetched page's records made into what the SDK thread writes: the rows (declared columns, types checked),
the other operations (a nested list's rows, the deletes a tombstone or a deleted-records table says), the
records refused (to `sync_errors`) or skipped by a rule, and the page's high cursor mark."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from typing import Any

from async_core.run.ledger import ErrorRecord, record_for, record_ruled
from async_core.run.messages import Op
from async_core.run.unread import UnreadCursors
from async_core.run.walk import Walk
from async_core.source.deletes import Tombstone
from async_core.source.incremental import Comparable, later
from async_core.source.records import compile_path, dig
from async_core.source.rules import RecordAction, Rules
from async_core.source.spec import TableSpec

# A timestamp cursor value further ahead of now than this does not move the watermark (the row is written).
FUTURE_TOLERANCE = dt.timedelta(days=1)


class PageRows:
    """Makes pages into rows: with each table's rules (`rules_for`), a sharded parent table's share of its rows
    (`shard_rows`), and the cursors' reading noted (`unread`)."""

    def __init__(
        self,
        rules_for: Callable[[TableSpec], Rules],
        shard_rows: Mapping[str, Callable[[Any], bool]],
        unread: UnreadCursors,
    ) -> None:
        self._rules_for = rules_for
        self._shard_rows = shard_rows
        self._unread = unread

    def of(
        self, walk: Walk, number: int, records: list[Any]
    ) -> tuple[list[dict[str, Any]], list[Op], list[ErrorRecord], list[ErrorRecord], Comparable | None]:
        """The page's rows; its other operations (a nested list's rows, the deletes its tombstones or a deleted-records
        table say); its rejected records (to `sync_errors`); the records its rules skipped; its high mark. A record
        whose nested list fails is rejected whole."""
        spec = walk.spec
        processed_at = dt.datetime.now(dt.UTC)
        transform, parent, lists = spec.transform, walk.parent, spec.lists
        tombstone = spec.deletes if isinstance(spec.deletes, Tombstone) else None
        deletes_of = spec.deletes_of
        ops: list[Op] = []
        rules = self._rules_for(spec)
        rule_for = rules.record if rules.records else None  # no call per record for a source without record rules
        rows: list[dict[str, Any]] = []
        rejected: list[ErrorRecord] = []
        skipped: list[ErrorRecord] = []
        owned = self._shard_rows.get(spec.name)
        if owned is not None:
            records = [record for record in records if owned(record)]
        for record in records:
            try:
                if tombstone is not None and tombstone.marks(record):  # only its key is read: the rest may be gone
                    ops.append(("delete", spec.name, spec.keys_of(record, processed_at, parent)))
                    continue
                rule = rule_for(record) if rule_for is not None else None
                if rule is None or rule.action is RecordAction.KEEP:
                    if deletes_of is not None:  # a deleted-records table: the record names a row of another table
                        ops.append(("delete", deletes_of, spec.keys_of(record, processed_at, parent)))
                        continue
                    row = transform(record, processed_at, parent)
                    if lists:  # every item first: a failing one rejects the record, and no item of it lands
                        ops += [("upsert", b.table, item) for b in lists for item in b.rows(record, row, processed_at)]
                    rows.append(row)
                    continue
                error = record_ruled(
                    rule.action,
                    rule=rule.name,
                    table=spec.name,
                    page=number,
                    record_id=record_id_of(spec, record),
                    raw_record=record,
                )
                (skipped if rule.action is RecordAction.SKIP else rejected).append(error)
            except Exception as exc:  # RecordError: MEDIUM; a bug in a transform or a rule (RuleBug): CRITICAL
                rejected.append(rejected_record(exc, spec, number, record))
        high: Comparable | None = None
        cursor = spec.cursor
        if cursor is not None:
            horizon = processed_at + FUTURE_TOLERANCE
            read = 0
            for record in records:
                value = cursor.value_of(record)
                if value is None:
                    continue
                read += 1
                if isinstance(value, dt.datetime) and value > horizon:
                    continue  # a date in the future (a sentinel, a bad clock) would hold every later change back
                high = later(high, value)
            self._unread.page(spec, records, read)
        return rows, ops, rejected, skipped, high


def record_id_of(spec: TableSpec, record: Any) -> str | None:
    """The record's primary key as text (for `sync_errors`), None when it has none."""
    if not isinstance(record, dict):
        return None
    key = [
        dig(record, compile_path(c.source)) for c in spec.columns if c.name in spec.primary_key and not c.from_parent
    ]
    if not any(k is not None for k in key):
        return None
    return str(key[0]) if len(key) == 1 else json.dumps(key, default=str)


def rejected_record(exc: Exception, spec: TableSpec, number: int, record: Any) -> ErrorRecord:
    """The error record of a record refused as a row (a `RecordError`, or a bug in a transform or a rule)."""
    return record_for(exc, table=spec.name, page=number, record_id=record_id_of(spec, record), raw_record=record)
