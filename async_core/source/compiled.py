"""A table's transform, compiled once from its columns into one straight-line function.

Why: the transform runs for every record, on the event loop thread, which shares the GIL with the thread that calls
the SDK; a generic loop over columns (a call per column, a call per type check) cost ~8 µs a 5-column row here,
the generated function ~2 µs. This is what `dataclasses` and `attrs` do for `__init__`: the source is generated
from the declaration, so its behaviour is exactly `async_core.source.types` (each check below is the inline form of
the converter of that type; the other types call their converter).

The generated function, for a table with an INT `id` from `id` and an optional STRING `name` from `user.name`:

    def transform(record, processed_at, parent):
        if not isinstance(record, Mapping): raise RecordError(...)
        v0 = record.get('id')
        if v0 is None: raise RecordError("field 'id' is missing or null")
        if type(v0) is not int: raise _wrong0(v0)
        if not -2147483648 <= v0 <= 2147483647: raise RecordError(...)
        v1 = _dig(record, ('user', 'name'))
        if v1 is not None: v1 = _convert1(v1)
        row = {'id': v0, 'name': v1, 'processed_at': processed_at}
        if not _declared.issuperset(record): _keep(record, row)   # fields no column reads (undeclared="drop": none)
        return row
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from async_core.errors import RecordError
from async_core.source.records import compile_path, dig
from async_core.source.types import converter_for
from async_core.source.undeclared import compile_keep

Transform = Callable[[object, dt.datetime, Mapping[str, Any] | None], dict[str, Any]]
_RANGES = {"INT": (-(2**31), 2**31 - 1), "LONG": (-(2**63), 2**63 - 1), "SHORT": (-(2**15), 2**15 - 1)}


def compile_transform(
    columns: tuple[Any, ...], *, undeclared: str = "drop", also_declared: frozenset[str] = frozenset()
) -> Transform:
    """The transform of a table with these columns (`async_core.source.spec.Column`s; see the module docstring),
    and what it does with undeclared fields (`async_core.source.undeclared`); `also_declared`: fields read
    elsewhere (a nested list's), not undeclared."""
    declared = also_declared | frozenset(
        c.source for c in columns if not c.from_parent and len(compile_path(c.source)) == 1
    )
    taken = frozenset({*(c.name for c in columns), "processed_at"})
    keep = compile_keep(undeclared, declared, taken)
    namespace: dict[str, Any] = {
        "Mapping": Mapping,
        "RecordError": RecordError,
        "_dig": dig,
        "_declared": declared,
        "_keep": keep,
    }
    lines = [
        "def transform(record, processed_at, parent):",
        "    if not isinstance(record, Mapping):",
        "        raise RecordError(f'expected a JSON object, got {type(record).__name__}')",
    ]
    fields = []
    for index, column in enumerate(columns):
        value = f"v{index}"
        namespace[f"_convert{index}"] = converter_for(
            column.type, column.source, epoch=column.epoch, precision=column.precision, scale=column.scale
        )
        namespace[f"_wrong{index}"] = _wrong(column)
        lines += _read(index, column)
        lines += _check(index, column)
        fields.append(f"{column.name!r}: {value}")
    fields.append("'processed_at': processed_at")
    if keep is None:
        lines.append(f"    return {{{', '.join(fields)}}}")
    else:  # one C-level test per record; the loop over fields only for records that have undeclared ones
        lines.append(f"    row = {{{', '.join(fields)}}}")
        lines.append("    if not _declared.issuperset(record): _keep(record, row)")
        lines.append("    return row")
    exec(compile("\n".join(lines), "<transform>", "exec"), namespace)
    transform: Transform = namespace["transform"]
    return transform


def _wrong(column: Any) -> Callable[[Any], RecordError]:
    def wrong(value: Any) -> RecordError:
        return RecordError(f"field {column.source!r} should be {column.type}, got {type(value).__name__}")

    return wrong


def _read(index: int, column: Any) -> list[str]:
    value = f"v{index}"
    if column.from_parent:
        missing = repr(f"parent value {column.name!r} is missing")
        return [
            f"    {value} = parent.get({column.name!r}) if parent is not None else None",
            f"    if {value} is None: raise RecordError({missing})",
        ]
    path = compile_path(column.source)
    read = f"record.get({path[0]!r})" if len(path) == 1 else f"_dig(record, {path!r})"
    lines = [f"    {value} = {read}"]
    if column.required:
        lines.append(f"    if {value} is None: raise RecordError({f'field {column.source!r} is missing or null'!r})")
    return lines


def _check(index: int, column: Any) -> list[str]:
    """The type check and conversion of v<index>, inline for the common types."""
    value, kind = f"v{index}", column.type
    guard = "" if column.required or column.from_parent else f"if {value} is not None: "
    if kind in _RANGES:
        low, high = _RANGES[kind]
        range_error = repr(f"field {column.source!r} is out of the {kind} range: ")
        return [
            f"    if {value} is not None and type({value}) is not int: raise _wrong{index}({value})",
            f"    if {value} is not None and not {low} <= {value} <= {high}:",
            f"        raise RecordError({range_error} + str({value}))",
        ]
    if kind == "BOOLEAN":
        return [f"    if {value} is not None and type({value}) is not bool: raise _wrong{index}({value})"]
    if kind == "STRING":
        return [
            f"    if {value} is not None and (type({value}) is not str or not {value}.isascii()):",
            f"        {value} = _convert{index}({value})",
        ]
    return [f"    {guard}{value} = _convert{index}({value})"]
