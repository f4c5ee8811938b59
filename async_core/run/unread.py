"""Cursors that read nothing: a table whose cursor could not read one value in a whole sync's records.

`Incremental(field="id", kind="number")` over json-server 1.0's `"id": "1"` reads no value: the watermark stays
null and every sync is a full pass. Nothing fails, so nothing would say so; the engine warns once per table (the
warning reaches the dashboard through `op.warning`), naming the field and the first value it could not read.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from async_core.source.records import compile_path, dig
from async_core.source.spec import TableSpec


@dataclasses.dataclass
class _Seen:
    records: int = 0
    read: int = 0
    first: Any = None  # the raw value of the first record whose cursor could not be read
    first_set: bool = False


class UnreadCursors:
    """Counts, per table with a cursor, its records and the cursor values read from them."""

    def __init__(self) -> None:
        self._tables: dict[str, _Seen] = {}

    def page(self, spec: TableSpec, records: list[Any], read: int) -> None:
        """One page of `spec`'s records, of which `read` gave a cursor value."""
        if spec.cursor is None or not records:
            return
        seen = self._tables.setdefault(spec.name, _Seen())
        seen.records += len(records)
        seen.read += read
        if read == 0 and not seen.first_set:
            seen.first, seen.first_set = dig(records[0], compile_path(spec.cursor.field)), True

    def warning(self, spec: TableSpec) -> str | None:
        """The warning for `spec`, once its records are all in: None when its cursor read a value (or it had no
        records)."""
        seen = self._tables.get(spec.name)
        cursor = spec.cursor
        if seen is None or cursor is None or seen.read or not seen.records:
            return None
        shown = "missing" if seen.first is None else f"{type(seen.first).__name__} {_brief(seen.first)}"
        return (
            f"table {spec.name}: the cursor {cursor.field!r} (kind={cursor.kind!r}) read no value in "
            f"{seen.records} record(s) (the first: {shown}); the watermark stays null and every sync is a full "
            f"pass. Check the cursor's field and kind"
        )


def _brief(value: Any) -> str:
    text = repr(value) if not isinstance(value, int) or abs(value) < 10**30 else "of many digits"
    return text if len(text) <= 60 else text[:57] + "..."
