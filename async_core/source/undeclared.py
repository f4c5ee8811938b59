"""Fields a table does not declare: kept as columns of their own (the default), kept in one JSON column, or dropped.

Fivetran's advice is to declare only what needs a type or a key, and let the platform infer the rest: a field the
API adds later must arrive, not vanish. So by default (`undeclared="columns"`) every top-level field of a record
that no column reads goes out as a column of its own, named as Fivetran names it (`lineItems` -> `line_items`),
its value as JSON gave it (objects and arrays land as JSON; the platform infers the other types and widens them).

    "columns"   each undeclared field is a column; one whose name is taken (a declared column, `processed_at`,
                a `_fivetran_` name, another field of the record with the same Fivetran name) or that cannot be
                a column name goes, under its own key, into the JSON column `_undeclared` (never over a declared
                value); so does every field past MAX_UNDECLARED_COLUMNS distinct names in a table
    "json"      every undeclared field goes into the JSON column `_undeclared`, `{field: value}`
    "drop"      undeclared fields are not written (on purpose: the table says so)

A field counts as declared when a column reads it whole (its `source` is that top-level name). A dotted source
(`amount.value`) reads part of a field, so the field itself (`amount`, with a `currency` the table may not declare)
is still undeclared. A child record's copy of its parent's key, equal to the from_parent column of the same name,
is already in the row and is not written twice.

What the destination cannot hold is refused per record (`RecordError`, to `sync_errors`), as for declared columns:
a lone surrogate, NaN or Infinity (in a number or inside a JSON document). An integer beyond Java's long, which the
SDK would turn into a double and round, is written as its digits (text).
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Callable, Mapping
from typing import Any, Literal

from async_core.errors import RecordError

Undeclared = Literal["columns", "json", "drop"]
UNDECLARED_MODES: tuple[str, ...] = ("columns", "json", "drop")
UNDECLARED_COLUMN = "_undeclared"
RESERVED_PREFIX = "_fivetran"
# A table whose records keep bringing new field names (a map keyed by ids, say) must not grow columns without end.
MAX_UNDECLARED_COLUMNS = 500
MAX_NAME_LENGTH = 128  # longer names cannot be columns in most warehouses
_LONG = (-(2**63), 2**63 - 1)

_NON_WORD = re.compile(r"\W", re.ASCII)
_WORD_DASH_DOT = re.compile(r"[\w\-.]*", re.ASCII)
_UNDERSCORES = re.compile(r"_+")

Keep = Callable[[Mapping[str, Any], dict[str, Any]], None]


def fivetran_name(field: str) -> str:
    """The column name Fivetran gives a field (its "Fivetran naming", as the SDK's local runner applies it): accents
    removed, anything but ASCII letters, digits and `_` replaced by `_`, words in snake_case (`postId` -> `post_id`,
    `sku2` -> `sku_2`), a leading character that cannot start a name prefixed with `_`."""
    if not _WORD_DASH_DOT.fullmatch(field):
        decomposed = unicodedata.normalize("NFD", field)
        field = unicodedata.normalize("NFC", "".join(c for c in decomposed if unicodedata.category(c) != "Mn"))
    out: list[str] = []
    previous = "\0"
    for c in _NON_WORD.sub("_", field):
        if (previous.islower() and c.isupper()) or (previous.isdigit() != c.isdigit()):
            out.append("_")
        out.append(c.lower())
        previous = c
    name = _UNDERSCORES.sub("_", "".join(out))
    return "_" + name if name and not (name[0].isalnum() or name[0] == "_") else name


def compile_keep(mode: str, declared: frozenset[str], taken: frozenset[str]) -> Keep | None:
    """The function that adds a record's undeclared fields to its row, or None for "drop".

    `declared`: the record fields that columns read whole. `taken`: the row's declared column names (with
    `processed_at`). The function is called only for records that have an undeclared field.
    """
    if mode == "drop":
        return None
    if mode == "json":

        def keep_json(record: Mapping[str, Any], row: dict[str, Any]) -> None:
            spill = {key: _checked(key, value) for key, value in record.items() if key not in declared}
            if spill:
                row[UNDECLARED_COLUMN] = spill

        return keep_json

    names: dict[str, str] = {}  # field -> its Fivetran name (a cache, bounded below)
    columns: set[str] = set()  # the undeclared column names this table has written

    def usable(name: str) -> bool:
        if name in columns:
            return True
        if (
            not name
            or len(name) > MAX_NAME_LENGTH
            or name in taken
            or name.startswith(RESERVED_PREFIX)
            or name == UNDECLARED_COLUMN
            or len(columns) >= MAX_UNDECLARED_COLUMNS
        ):
            return False
        columns.add(name)
        return True

    def keep_columns(record: Mapping[str, Any], row: dict[str, Any]) -> None:
        spill: dict[str, Any] | None = None
        for key, value in record.items():
            if key in declared:
                continue
            name = names.get(key)
            if name is None:
                name = fivetran_name(key)
                if len(names) < 4 * MAX_UNDECLARED_COLUMNS:
                    names[key] = name
            if name not in row:
                if usable(name):
                    row[name] = _checked(key, value)
                    continue
            elif row[name] == value and type(row[name]) is type(value):  # True == 1 == 1.0 are not one value
                continue  # already in the row under this name (a child's copy of its parent's key)
            if spill is None:
                spill = {}
            spill[key] = _checked(key, value)
        if spill:
            row[UNDECLARED_COLUMN] = spill

    return keep_columns


def _checked(field: str, value: Any) -> Any:
    """An undeclared value as the SDK can write it, held to what `async_core.source.types` holds declared values
    to: refused (`RecordError`) if the destination cannot hold it."""
    kind = type(value)
    if kind is str:
        if not value.isascii():
            _check_utf8(field, value)
        return value
    if kind is int:
        if _LONG[0] <= value <= _LONG[1]:
            return value
        try:
            return str(value)  # the SDK would make it a double and lose digits
        except ValueError:  # beyond sys.get_int_max_str_digits()
            raise RecordError(f"undeclared field {field!r} is an integer too long to write as text") from None
    if kind is float:
        if not math.isfinite(value):  # the destination would store NULL
            raise RecordError(f"undeclared field {field!r} should be a finite number, got {value!r}")
        return value
    if kind is dict or kind is list:
        try:  # what the destination stores is JSON text: no NaN, no Infinity, no lone surrogate
            text = json.dumps(value, allow_nan=False, ensure_ascii=False)
        except (ValueError, TypeError, RecursionError) as exc:
            message = f"undeclared field {field!r} is not a JSON document the destination can hold: {exc}"
            raise RecordError(message) from None
        _check_utf8(field, text)
    return value


def _check_utf8(field: str, text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise RecordError(f"undeclared field {field!r} is not valid Unicode (a lone surrogate)") from None
