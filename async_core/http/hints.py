"""Server wait hints: how long a response asks us to wait before the next request. Pure parsing, no I/O.

Headers understood, the first one that asks for a wait wins:

    Retry-After: 120                              delta-seconds (a decimal is tolerated)
    Retry-After: Wed, 21 Oct 2026 07:28:00 GMT    HTTP-date; a date in the past means 0
    RateLimit: "default";r=0;t=10                 IETF draft (httpapi-ratelimit-headers): r remaining, t seconds
    RateLimit: limit=100, remaining=0, reset=10   the same draft's older dictionary form
    RateLimit-Remaining: 0 + RateLimit-Reset: 10  the older drafts' separate fields
    X-RateLimit-Remaining: 0 + X-RateLimit-Reset  delta-seconds, or an epoch timestamp when larger than 10^9
                                                  (in milliseconds when larger than 10^12)

A header that cannot be parsed is ignored, as if it were absent.
"""

from __future__ import annotations

import datetime
import email.utils
import math
import re
from collections.abc import Mapping

# Reset values above this are epoch timestamps, not delays: 10^9 s is 31 years, and the epoch passed 10^9 in 2001.
EPOCH_THRESHOLD = 1e9
# Epoch timestamps above this are in milliseconds (some APIs send Date.now()): 10^12 s would be the year 33,658,
# and the epoch passed 10^12 milliseconds in 2001. Read as seconds, they ask for a wait of 53,000 years.
EPOCH_MS_THRESHOLD = 1e12

_DECIMAL = re.compile(r"\d+(?:\.\d+)?")


def parse_wait_hint(headers: Mapping[str, str], *, now: float) -> float | None:
    """Seconds the server asks us to wait, or None when no header asks for a wait. Never negative.

    `now` is the current time in epoch seconds (`time.time()`), injected for HTTP-dates and epoch resets.
    Header names are matched case-insensitively, whether `headers` is aiohttp's CIMultiDict or a plain dict.
    Precedence: Retry-After, then RateLimit, then RateLimit-Remaining/-Reset, then X-RateLimit-Remaining/-Reset.
    A rate-limit header asks for a wait only when its remaining quota is 0 (or less).
    """
    lowered = _lowercase(headers)
    for hint in (
        _retry_after(lowered.get("retry-after"), now),
        _structured_ratelimit(lowered.get("ratelimit"), now),
        _remaining_reset(lowered.get("ratelimit-remaining"), lowered.get("ratelimit-reset"), now),
        _remaining_reset(lowered.get("x-ratelimit-remaining"), lowered.get("x-ratelimit-reset"), now),
    ):
        if hint is not None:
            return hint
    return None


RATE_LIMIT_HEADERS = ("retry-after", "ratelimit", "ratelimit-remaining", "x-ratelimit-remaining")


def has_rate_headers(headers: Mapping[str, str]) -> bool:
    """Whether any header `parse_wait_hint` or `parse_quota` reads is present: a cheap test for the hot path
    (four lookups in aiohttp's case-insensitive headers; a plain dict must have lower-case names)."""
    return any(name in headers for name in RATE_LIMIT_HEADERS)


def parse_quota(headers: Mapping[str, str], *, now: float) -> tuple[float, float] | None:
    """(remaining requests, seconds until the quota resets) from `RateLimit: ...;r=..;t=..`, `RateLimit-Remaining`
    with `RateLimit-Reset`, or `X-RateLimit-Remaining` with `X-RateLimit-Reset` (the first present); None when no
    header gives both. For a `RateLimit` field with several policies, the one with the least remaining."""
    lowered = _lowercase(headers)
    structured = lowered.get("ratelimit")
    if structured is not None:
        quotas: list[tuple[float, float]] = []
        for member in structured.split(","):
            _, *params = (part.strip() for part in member.split(";"))
            values = {key.strip().lower(): value.strip() for key, _, value in (p.partition("=") for p in params)}
            remaining, reset = _signed_number(values.get("r")), _reset_delay(values.get("t"), now)
            if remaining is not None and reset is not None:
                quotas.append((remaining, reset))
        if quotas:
            return min(quotas)
    for prefix in ("ratelimit-", "x-ratelimit-"):
        remaining = _signed_number(lowered.get(prefix + "remaining"))
        reset = _reset_delay(lowered.get(prefix + "reset"), now)
        if remaining is not None and reset is not None:
            return remaining, reset
    return None


def _lowercase(headers: Mapping[str, str]) -> dict[str, str]:
    """Lower-cased names; for a repeated header (a multidict) the first value wins."""
    lowered: dict[str, str] = {}
    for name, value in headers.items():
        lowered.setdefault(name.lower(), value)
    return lowered


def _number(raw: str | None) -> float | None:
    """A non-negative decimal number ("10", "1.5"), or None."""
    if raw is None:
        return None
    text = raw.strip()
    return float(text) if _DECIMAL.fullmatch(text) else None


def _signed_number(raw: str | None) -> float | None:
    """A finite number, possibly negative (some servers send remaining=-1), or None."""
    if raw is None:
        return None
    try:
        value = float(raw.strip())
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _retry_after(raw: str | None, now: float) -> float | None:
    if raw is None:
        return None
    seconds = _number(raw)
    if seconds is not None:
        return seconds
    try:
        when = email.utils.parsedate_to_datetime(raw.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # "-0000" parses naive; HTTP-dates are always GMT
        when = when.replace(tzinfo=datetime.UTC)
    return max(0.0, when.timestamp() - now)


def _reset_delay(raw: str | None, now: float) -> float | None:
    reset = _number(raw)
    if reset is None:
        return None
    if reset > EPOCH_MS_THRESHOLD:
        reset /= 1000.0
    return max(0.0, reset - now) if reset > EPOCH_THRESHOLD else reset


def _remaining_reset(remaining_raw: str | None, reset_raw: str | None, now: float) -> float | None:
    remaining = _signed_number(remaining_raw)
    if remaining is None or remaining > 0:
        return None
    return _reset_delay(reset_raw, now)


def _structured_ratelimit(raw: str | None, now: float) -> float | None:
    """The `RateLimit` field: a list of policies `"name";r=<remaining>;t=<seconds>`, or the older dictionary.

    When several policies are exhausted, the wait is the longest of their resets (all of them must have reset).
    """
    if raw is None:
        return None
    waits: list[float] = []
    dictionary: dict[str, str] = {}
    for member in raw.split(","):
        item, *params = (part.strip() for part in member.split(";"))
        if "=" in item:  # dictionary form: limit=100, remaining=0, reset=10
            key, _, value = item.partition("=")
            dictionary[key.strip().lower()] = value.strip()
            continue
        values = {key.strip().lower(): value.strip() for key, _, value in (p.partition("=") for p in params)}
        remaining = _signed_number(values.get("r"))
        if remaining is not None and remaining <= 0:
            wait = _reset_delay(values.get("t"), now)
            if wait is not None:
                waits.append(wait)
    if dictionary:
        wait = _remaining_reset(dictionary.get("remaining"), dictionary.get("reset"), now)
        if wait is not None:
            waits.append(wait)
    return max(waits) if waits else None
