"""What every table of a source has unless it says otherwise (dlt's `resource_defaults`), and what one table may
tune of the source's `Policy`.

    Source(..., table_defaults=TableDefaults(records="data", paginator=JsonServer(), params={"order": "asc"}))

A table that leaves `records`, `paginator` or `params` out takes the source's default; one that gives a value, even
the same as `TableSpec`'s own default (`records=""`, `paginator=Single()`, `params={}`), keeps it. Without
`table_defaults` a table's defaults are `TableSpec`'s, as before.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, TypeVar

from async_core.source.pagination import Paginator, Single
from async_core.source.policy import RANGES, written

T = TypeVar("T")  # a `TableSpec` (not imported: spec.py imports this module)


class _LeftOut(str):
    """The `records` of a table that did not give one: "" (a bare array) unless the source's defaults say."""

    __slots__ = ()


class _LeftOutParams(dict[str, str]):
    """The `params` of a table that did not give any: none unless the source's defaults say."""


RECORDS_LEFT_OUT = _LeftOut("")
PAGINATOR_LEFT_OUT: Paginator = Single()  # compared by identity: a table's own `Single()` is another object


def params_left_out() -> dict[str, str]:
    return _LeftOutParams()


@dataclasses.dataclass(frozen=True, kw_only=True)
class TableDefaults:
    """The source's defaults for its tables' `records`, `paginator` and `params`; None: `TableSpec`'s own."""

    records: str | None = None
    paginator: Paginator | None = None
    params: Mapping[str, str] | None = None

    def __post_init__(self) -> None:
        if self.records is not None and not isinstance(self.records, str):
            raise ValueError(
                f'table defaults: records is {self.records!r}; expected a dotted path string such as "data"'
            )
        if self.paginator is not None and not isinstance(self.paginator, Paginator):
            raise ValueError(
                f"table defaults: paginator is {self.paginator!r}; expected a paginator such as JsonServer()"
            )
        if self.params is not None and (
            not isinstance(self.params, Mapping)
            or not all(isinstance(k, str) and isinstance(v, str) for k, v in self.params.items())
        ):
            raise ValueError(f"table defaults: params is {self.params!r}; expected a mapping of names to strings")

    def apply(self, tables: tuple[T, ...]) -> tuple[T, ...]:
        """`tables` (`TableSpec`s) with every field they left out set to this default (each table re-validated)."""
        applied: tuple[T, ...] = tuple(self._applied(table) for table in tables)
        return applied

    def _applied(self, table: Any) -> Any:
        changes: dict[str, Any] = {}
        if self.records is not None and type(table.records) is _LeftOut:
            changes["records"] = self.records
        if self.paginator is not None and table.paginator is PAGINATOR_LEFT_OUT:
            changes["paginator"] = self.paginator
        if self.params is not None and type(table.params) is _LeftOutParams:
            changes["params"] = dict(self.params)
        return dataclasses.replace(table, **changes) if changes else table


@dataclasses.dataclass(frozen=True, kw_only=True)
class TablePolicy:
    """What one table may set of its source's `Policy`; None: the source's. (A moved configuration key, honoured
    for one release, still wins over both.)"""

    page_size: int | None = None
    max_pages_per_table: int | None = None

    def __post_init__(self) -> None:
        for name in ("page_size", "max_pages_per_table"):
            value = getattr(self, name)
            low, high, _ = RANGES[name]
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high
            ):
                raise ValueError(
                    f"table policy: {name} is {value!r}; expected a whole number from {written(low)} to {written(high)}"
                )
