"""Incremental sync: a cursor field, how its lower bound is sent, and the watermark's arithmetic. No I/O here.

A pass fixes its lower bound when it starts (`since` = watermark - lookback). The watermark only moves when a pass
completes, to the largest cursor value of the pages written (the engine tracks it over the contiguous prefix of
written pages), and never backwards. An inclusive API sends the boundary rows again at the next pass; upserts
absorb them, and one pass per sync means it cannot loop. An exclusive API (`exclusive=True`, `>`) is sent the
bound one step of the parameter's resolution lower (a second for `%S` formats), so rows sharing the boundary value
come back too.

Data changes while it is read, so what a pass may claim depends on the API's order:
- `sorted=True` (the API returns rows in ascending cursor order, and filters on the bound): the engine walks by
  keyset. Each request sends the last written row's cursor value as the bound (page 1 again, or the first request
  of a link or token walk); an updated row moves ahead of the walk, never behind it. A page that is one tie value
  at the bound's resolution is read again at twice the size (one response cannot shift), and only a tie longer
  than the API's largest page is paged inside (page 2 at the same bound, or the server's link). The state resumes
  from the bound, never from a page number.
- otherwise: a row changed while the pass read it tears the pass (see `async_core.run.walk`), and the watermark
  never passes the pass's own start (the server's `Date` when the pass's first page was served, less one second
  for its resolution; the local clock when there is no `Date`), so a row changed during the pass is read again by
  the next one. Timestamp cursors only: a number cursor has no clock to compare with.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Mapping
from typing import Any, Literal

from async_core.errors import RecordError
from async_core.source.records import compile_path, dig
from async_core.source.types import EPOCH_UNITS, parse_timestamp

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

_LONG = (-(2**63), 2**63 - 1)
CursorKind = Literal["timestamp", "number", "string"]
Comparable = dt.datetime | int | float | str


@dataclasses.dataclass(frozen=True)
class Incremental:
    """A table's change cursor.

    `field`: where the cursor is in a record (dotted path). `param`: the query parameter that carries the lower
    bound. `kind`: how values compare. `format`: how a timestamp is written in the parameter (strftime, UTC).
    `lookback`: seconds (timestamps) or units (numbers) subtracted from the watermark, for APIs whose clocks or
    commits lag. `first_request_only`: send the bound on a walk's first request only (keyset APIs refuse it on
    the next ones). `epoch`: the unit of a timestamp cursor sent as a number ("s" or "ms"), declared, never
    guessed; `format="%s"` writes the bound in epoch seconds, `"%ms"` in epoch milliseconds. `sorted`: the API
    returns rows in ascending order of this cursor (and the bound filters them): the walk is a keyset walk (see
    the module docstring). `exclusive`: the API's bound is strict (`>`).
    """

    field: str
    param: str
    kind: CursorKind = "timestamp"
    format: str = "%Y-%m-%dT%H:%M:%SZ"
    lookback: float = 0.0
    first_request_only: bool = False
    epoch: str = "s"
    sorted: bool = False
    exclusive: bool = False

    def __post_init__(self) -> None:
        if self.kind not in ("timestamp", "number", "string"):
            raise ValueError(f"cursor kind {self.kind!r}: expected timestamp, number or string")
        if self.epoch not in EPOCH_UNITS:
            raise ValueError(f"cursor epoch {self.epoch!r}: expected one of {', '.join(EPOCH_UNITS)}")
        if not math.isfinite(self.lookback) or self.lookback < 0:
            raise ValueError(f"cursor lookback {self.lookback!r}: expected a finite number >= 0")
        if self.exclusive and self.kind == "string":
            raise ValueError(
                f"cursor {self.field!r}: an exclusive bound on a string cursor cannot step back to re-read the rows "
                "sharing the boundary value; use an inclusive parameter (`>=`)"
            )
        object.__setattr__(self, "_path", compile_path(self.field))

    def value_of(self, record: Any) -> Comparable | None:
        """The cursor value of one raw record, or None when it has none (or one that does not parse)."""
        path: tuple[str, ...] = object.__getattribute__(self, "_path")
        raw = dig(record, path) if isinstance(record, Mapping) else None
        if raw is None:
            return None
        try:
            return self.parse(raw)
        except RecordError:
            return None

    def parse(self, raw: Any) -> Comparable:
        if self.kind == "timestamp":
            return parse_timestamp(raw, self.field, epoch=self.epoch)
        if self.kind == "number":
            if isinstance(raw, bool) or not isinstance(raw, int | float):
                raise RecordError(f"cursor {self.field!r} is not a number: {repr(raw)[:40]}")
            # an int stays exact (64-bit ids lose digits as floats); one beyond 64 bits (a 400-digit number, which
            # math.isfinite cannot even take) or NaN/Infinity is not a watermark any API could be sent
            if isinstance(raw, int) and not _LONG[0] <= raw <= _LONG[1]:
                raise RecordError(f"cursor {self.field!r} is a number beyond 64 bits")
            if isinstance(raw, float) and not math.isfinite(raw):
                raise RecordError(f"cursor {self.field!r} is not a finite number: {raw!r}")
            return raw
        if not isinstance(raw, str):
            raise RecordError(f"cursor {self.field!r} is not a string: got {type(raw).__name__}")
        return raw

    def to_state(self, value: Comparable) -> str | float:
        return value.isoformat() if isinstance(value, dt.datetime) else value

    def from_state(self, value: object) -> Comparable | None:
        """A watermark read back from a state; None when absent, not of this cursor's kind, or out of range."""
        if value is None:
            return None
        try:
            parsed = self.parse(value)
            self.since(parsed)  # a value whose lower bound cannot be computed is not kept
            return parsed
        except (RecordError, OverflowError, ValueError):
            return None

    def since(self, watermark: Comparable) -> Comparable:
        """The lower bound a pass sends: the watermark less the lookback (and one step, for an exclusive API)."""
        if isinstance(watermark, dt.datetime):
            try:
                return self.lower(watermark - dt.timedelta(seconds=self.lookback))
            except OverflowError:  # the lookback reaches before year 1: from the beginning
                return dt.datetime.min.replace(tzinfo=dt.UTC)
        if isinstance(watermark, int | float):
            lookback = (
                int(self.lookback)
                if isinstance(watermark, int) and float(self.lookback).is_integer()
                else self.lookback
            )
            return self.lower(watermark - lookback)
        return watermark

    def lower(self, value: Comparable) -> Comparable:
        """The bound that returns the rows at `value` and after: `value` itself for an inclusive API; for an
        exclusive one, one step of the parameter's resolution below it (a timestamp is floored to the resolution
        first: the parameter drops what is finer). A string cannot step back: it is sent as it is."""
        if not self.exclusive:
            return value
        if isinstance(value, dt.datetime):
            if "%f" in self.format:
                return value - dt.timedelta(microseconds=1)
            if self.format == "%ms":
                return value.replace(microsecond=value.microsecond // 1000 * 1000) - dt.timedelta(milliseconds=1)
            try:
                return value.replace(microsecond=0) - dt.timedelta(seconds=1)
            except OverflowError:
                return dt.datetime.min.replace(tzinfo=dt.UTC)
        if isinstance(value, int):
            return value - 1
        if isinstance(value, float):
            return math.nextafter(value, -math.inf)
        return value

    def param_value(self, since: Comparable) -> str:
        """The bound as the API reads it. A timestamp in `format` (UTC; "%s" is epoch seconds, computed here since
        the C library's %s would use the local time zone); a number as written."""
        if isinstance(since, dt.datetime):
            if self.format == "%s":
                return str(int(since.timestamp()))
            if self.format == "%ms":  # exact: whole milliseconds since the epoch, from the datetime's parts
                return str((since - EPOCH) // dt.timedelta(milliseconds=1))
            utc = since.astimezone(dt.UTC)
            return utc.strftime(self.format.replace("%Y", f"{utc.year:04d}"))  # the C library drops zeros < 1000
        if isinstance(since, float):
            return str(int(since)) if since.is_integer() else repr(since)
        if isinstance(since, int):
            return str(since)
        return since


def later(a: Comparable | None, b: Comparable | None) -> Comparable | None:
    """The larger of two cursor values of the same kind (None is smaller than anything)."""
    if a is None:
        return b
    if b is None:
        return a
    return b if b > a else a  # type: ignore[operator]
