"""Fivetran column types: what each accepts from a JSON document, and the value handed to the SDK.

INT, LONG          integers (not booleans) within Java's int / long range (the SDK fails the sync otherwise)
FLOAT              finite numbers (integers too) within the 32-bit range (+-3.4e38), rounded to 32 bits
DOUBLE             finite numbers (integers too) within the 64-bit range (+-1.8e308), as float
STRING             text (valid Unicode); integers are accepted and written as text (ids as STRING)
BOOLEAN            true / false
JSON               objects and arrays
UTC_DATETIME       an ISO 8601 timestamp ("2024-05-01T12:00:00Z", with an offset, or naive = UTC) or an epoch
                   number, as an aware UTC datetime; the epoch's unit is declared (`epoch="s"`, the default, or
                   `"ms"`), never guessed from the number's size
NAIVE_DATETIME     an ISO 8601 timestamp without an offset (one with an offset is converted to UTC first)
SHORT              integers (not booleans) within -32768..32767 (the SDK itself checks only the INT range)
DECIMAL            an exact number with its declared `precision` and `scale` (money is not a double): an integer,
                   a JSON number read from its text (`ExactFloat`, never through a double), or a numeric string
                   ("12.30"); written as text, which the SDK takes. More digits before the point than
                   precision - scale (the destination would store NULL) or more significant digits after it than
                   the scale (it would round) are refused
NAIVE_DATE         an ISO 8601 date ("2024-05-01"), written as YYYY-MM-DD; a timestamp is refused (its time lost)
BINARY             a base64 string (standard alphabet, padded), as bytes

A value the destination cannot hold (NaN, Infinity, 1e39 in a FLOAT, a 400-digit integer in a DOUBLE or a
timestamp, a lone surrogate anywhere in a JSON document) is a `RecordError`: the record is rejected to
`sync_errors`, the rest of its page lands. No other exception leaves a converter.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import decimal
import json
import math
import struct
from collections.abc import Callable
from typing import Any

from async_core.errors import RecordError

FIVETRAN_TYPES = (
    *("INT", "LONG", "FLOAT", "DOUBLE", "STRING", "BOOLEAN", "JSON", "UTC_DATETIME", "NAIVE_DATETIME"),
    *("SHORT", "DECIMAL", "NAIVE_DATE", "BINARY"),
)
_RANGES: dict[str, tuple[int, int]] = {
    "INT": (-(2**31), 2**31 - 1),
    "LONG": (-(2**63), 2**63 - 1),
    "SHORT": (-(2**15), 2**15 - 1),
}
EPOCH_UNITS = ("s", "ms")
MAX_DECIMAL_PRECISION = 38  # the most any destination's DECIMAL holds
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class ExactFloat(float):
    """A JSON number with a fraction or an exponent, with the text it was written as (`text`). Used as `json.loads`'s
    `parse_float` for tables with a DECIMAL column, so that such a column gets the digits the API sent ("0.10"),
    not the nearest double; it is a float everywhere else."""

    __slots__ = ("text",)
    text: str

    def __new__(cls, text: str) -> ExactFloat:
        number = super().__new__(cls, text)
        number.text = text
        return number


_NUMBERS = (int, float, ExactFloat)

_FLOAT32 = struct.Struct("<f")

Converter = Callable[[Any], Any]


def converter_for(
    kind: str, field: str, *, epoch: str = "s", precision: int | None = None, scale: int | None = None
) -> Converter:
    """The function that checks one value of a column of type `kind` and returns what the SDK is given.
    `epoch`: the unit of epoch numbers in a timestamp column; `precision`, `scale`: a DECIMAL column's."""

    def wrong(value: Any) -> RecordError:
        return RecordError(f"field {field!r} should be {kind}, got {type(value).__name__}")

    if kind == "DECIMAL":
        return _decimal_converter(field, precision or MAX_DECIMAL_PRECISION, scale or 0, wrong)
    if kind == "NAIVE_DATE":
        return _date_converter(field, wrong)
    if kind == "BINARY":
        return _binary_converter(field, wrong)

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
            if type(value) not in _NUMBERS:
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
        parsed = parse_timestamp(value, field, epoch=epoch)
        return parsed.replace(tzinfo=None) if naive else parsed

    return timestamp


def parse_timestamp(value: Any, field: str, *, epoch: str = "s") -> dt.datetime:
    """An aware UTC datetime from an ISO 8601 string (naive = UTC) or an epoch number in the declared unit (`epoch`:
    "s" or "ms"); `RecordError` otherwise."""
    if type(value) in _NUMBERS:
        try:  # a 400-digit integer overflows as a float: one rejected record, not a failed sync
            if epoch == "ms":  # exact for integers (a float of milliseconds would round to the microsecond anyway)
                return _EPOCH + dt.timedelta(milliseconds=value)
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


def _decimal_converter(field: str, precision: int, scale: int, wrong: Callable[[Any], RecordError]) -> Converter:
    whole = precision - scale  # digits the column holds before the point

    def exact(value: Any) -> Any:
        kind = type(value)
        try:
            if kind is int:
                number = decimal.Decimal(value)
            elif kind is ExactFloat:
                number = decimal.Decimal(value.text)
            elif kind is float:  # not read from its text (a value built in code): its shortest repr
                number = decimal.Decimal(repr(value))
            elif kind is str and len(value) <= 100:
                number = decimal.Decimal(value.strip())
            else:
                raise wrong(value)
        except (decimal.InvalidOperation, ValueError):  # ValueError: an integer beyond the str conversion limit
            raise RecordError(f"field {field!r} should be DECIMAL({precision},{scale}), got {_shown(value)}") from None
        if not number.is_finite():
            raise RecordError(f"field {field!r} should be a finite DECIMAL, got {value!r}")
        _, digits, exponent = number.as_tuple()
        assert isinstance(exponent, int)  # finite
        if any(digits):
            if number.adjusted() + 1 > whole:
                raise RecordError(
                    f"field {field!r} has {number.adjusted() + 1} digits before the point, more than "
                    f"DECIMAL({precision},{scale}) holds ({whole}): {_shown(value)}"
                )
            trailing = len(digits) - len("".join(map(str, digits)).rstrip("0"))
            if -(exponent + trailing) > scale:
                raise RecordError(
                    f"field {field!r} has {-(exponent + trailing)} digits after the point, more than the scale of "
                    f"DECIMAL({precision},{scale}) (the destination would round): {_shown(value)}"
                )
        return format(number, "f")

    return exact


def _date_converter(field: str, wrong: Callable[[Any], RecordError]) -> Converter:
    def date(value: Any) -> Any:
        if type(value) is not str:
            raise wrong(value)
        try:
            if len(value) <= 16:  # "2024-05-01", "20240501", "2024-W18-3"; a timestamp is longer
                return dt.date.fromisoformat(value).isoformat()
        except ValueError:
            pass
        raise RecordError(f"field {field!r} should be an ISO 8601 date (YYYY-MM-DD), got {value[:64]!r}")

    return date


def _binary_converter(field: str, wrong: Callable[[Any], RecordError]) -> Converter:
    def binary(value: Any) -> Any:
        if type(value) is not str:
            raise wrong(value)
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):  # ValueError: non-ASCII text
            raise RecordError(f"field {field!r} should be base64 (BINARY), got {value[:64]!r}") from None

    return binary


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
