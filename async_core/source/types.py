"""Fivetran column types: what each accepts from a JSON document, and the value handed to the SDK.

INT, LONG          integers (not booleans) within Java's int / long range (the SDK fails the sync otherwise)
FLOAT              finite numbers (integers too) within the 32-bit range (+-3.4e38), rounded to 32 bits
DOUBLE             finite numbers (integers too) within the 64-bit range (+-1.8e308), as float
STRING             text (valid Unicode); integers are accepted and written as text (ids as STRING)
BOOLEAN            true / false
JSON               objects and arrays
UTC_DATETIME       an ISO 8601 timestamp ("2024-05-01T12:00:00Z", with an offset, or naive = UTC) or epoch
                   seconds, as an aware UTC datetime
NAIVE_DATETIME     an ISO 8601 timestamp without an offset (one with an offset is converted to UTC first)

A value the destination cannot hold (NaN, Infinity, 1e39 in a FLOAT, a 400-digit integer in a DOUBLE or a
timestamp, a lone surrogate anywhere in a JSON document) is a `RecordError`: the record is rejected to
`sync_errors`, the rest of its page lands. No other exception leaves a converter.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import struct
from collections.abc import Callable
from typing import Any

from async_core.errors import RecordError

FIVETRAN_TYPES = ("INT", "LONG", "FLOAT", "DOUBLE", "STRING", "BOOLEAN", "JSON", "UTC_DATETIME", "NAIVE_DATETIME")
_RANGES: dict[str, tuple[int, int]] = {"INT": (-(2**31), 2**31 - 1), "LONG": (-(2**63), 2**63 - 1)}

_FLOAT32 = struct.Struct("<f")

Converter = Callable[[Any], Any]


def converter_for(kind: str, field: str) -> Converter:
    """The function that checks one value of a column of type `kind` and returns what the SDK is given."""

    def wrong(value: Any) -> RecordError:
        return RecordError(f"field {field!r} should be {kind}, got {type(value).__name__}")

    if kind in _RANGES:
        low, high = _RANGES[kind]

        def integer(value: Any) -> Any:
            if type(value) is not int:
                raise wrong(value)
            if not low <= value <= high:
                raise RecordError(f"field {field!r} is out of the {kind} range: {value}")
            return value

        return integer
    if kind in ("FLOAT", "DOUBLE"):
        single = kind == "FLOAT"

        def number(value: Any) -> Any:
            if type(value) not in (int, float):
                raise wrong(value)
            try:
                result = float(value)  # an integer beyond 1.8e308 raises OverflowError
            except OverflowError:
                raise RecordError(f"field {field!r} is out of the {kind} range: {_shown(value)}") from None
            if not math.isfinite(result):
                raise RecordError(f"field {field!r} should be a finite {kind}, got {value!r}")
            if single:  # what a 32-bit column holds; beyond 3.4e38 ("<f" raises, where native "f" gives inf)
                try:
                    result = _FLOAT32.unpack(_FLOAT32.pack(result))[0]
                except OverflowError:
                    raise RecordError(f"field {field!r} is out of the {kind} range: {_shown(value)}") from None
            return result

        return number
    if kind == "STRING":

        def text(value: Any) -> Any:
            if type(value) is str:
                if not value.isascii():
                    _check_utf8(field, value)
                return value
            if type(value) is int:
                try:
                    return str(value)
                except ValueError:  # beyond sys.get_int_max_str_digits()
                    raise RecordError(f"field {field!r} is an integer too long to write as text") from None
            raise wrong(value)

        return text
    if kind == "BOOLEAN":

        def boolean(value: Any) -> Any:
            if type(value) is not bool:
                raise wrong(value)
            return value

        return boolean
    if kind == "JSON":

        def document(value: Any) -> Any:
            if not isinstance(value, dict | list):
                raise wrong(value)
            try:  # what the destination stores is JSON text: no NaN, no Infinity, no lone surrogate
                text = json.dumps(value, allow_nan=False, ensure_ascii=False)
            except (ValueError, TypeError, RecursionError) as exc:
                raise RecordError(f"field {field!r} is not a JSON document the destination can hold: {exc}") from None
            _check_utf8(field, text)
            return value

        return document
    naive = kind == "NAIVE_DATETIME"

    def timestamp(value: Any) -> Any:
        parsed = parse_timestamp(value, field)
        return parsed.replace(tzinfo=None) if naive else parsed

    return timestamp


def parse_timestamp(value: Any, field: str) -> dt.datetime:
    """An aware UTC datetime from an ISO 8601 string (naive = UTC) or epoch seconds; `RecordError` otherwise."""
    if type(value) in (int, float):
        try:  # a 400-digit integer overflows as a float: one rejected record, not a failed sync
            return dt.datetime.fromtimestamp(value, dt.UTC)
        except (OverflowError, OSError, ValueError):
            raise RecordError(f"field {field!r} is not a timestamp in range: {_shown(value)}") from None
    if type(value) is not str or len(value) > 64:
        raise RecordError(f"field {field!r} should be a timestamp, got {type(value).__name__}")
    try:
        parsed = dt.datetime.fromisoformat(value)
        return parsed.replace(tzinfo=dt.UTC) if parsed.tzinfo is None else parsed.astimezone(dt.UTC)
    except (ValueError, OverflowError):  # not ISO 8601, or outside years 1..9999 once in UTC
        raise RecordError(f"field {field!r} is not an ISO 8601 timestamp in range: {value[:64]!r}") from None


def _shown(value: Any) -> str:
    """A number as an error message shows it: a 400-digit integer by its first digits and its length."""
    if type(value) is int and not -(10**30) < value < 10**30:
        try:
            text = str(value)
        except ValueError:
            return "an integer of more than 4300 digits"
        return f"{text[:12]}... ({len(text.lstrip('-'))} digits)"
    return repr(value)


def _check_utf8(field: str, text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise RecordError(f"field {field!r} is not valid Unicode (a lone surrogate)") from None
