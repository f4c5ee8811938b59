"""One model of "the server is struggling": what each attempt's outcome says about the server. Pure.

Every attempt ends in one `Signal`, and each mechanism reads the same signal:

    signal       examples                                  breaker    concurrency limit
    OK           200 with data                             success    a latency sample (grow while steady)
    REFUSED      404, 400, 401: the server is up           success    a latency sample
    THROTTLED    408, 425, 429; 503 with a wait hint       -          shrink (the server asked to slow down)
    UNAVAILABLE  503 without a hint, 502, 504              failure    shrink, when over 25 % of recent outcomes
    TIMEOUT      no complete answer in api_timeout_seconds failure    shrink, when over 25 % of recent outcomes
    FAILED       500, reset, cut or invalid body           failure    -   (broken for this request, not loaded)
    NONE         refused by us (another origin, too large) -          -

The retry budget running out is a signal too: the client tells the limit to shrink (`ConcurrencyLimit.overload`).
"""

from __future__ import annotations

import enum

from async_core.errors import FatalError, FetchError, RetryableError
from async_core.http.responses import THROTTLING_STATUSES

UNAVAILABLE_STATUSES = frozenset({502, 503, 504})


class Signal(enum.Enum):
    """What one attempt says about the server (see the module docstring)."""

    OK = "ok"
    REFUSED = "refused"
    THROTTLED = "throttled"
    UNAVAILABLE = "unavailable"
    TIMEOUT = "timeout"
    FAILED = "failed"
    NONE = "none"


# The signals that count as a failure for the breaker, and those that shrink the concurrency limit.
BREAKER_FAILURES = frozenset({Signal.UNAVAILABLE, Signal.TIMEOUT, Signal.FAILED})
BREAKER_SUCCESSES = frozenset({Signal.OK, Signal.REFUSED})
OVERLOAD = frozenset({Signal.THROTTLED, Signal.UNAVAILABLE, Signal.TIMEOUT})


def classify(error: FetchError | None) -> Signal:
    """The signal of an attempt that succeeded (`None`) or raised `error`. A timeout is classified where it is
    caught (the client gives `Signal.TIMEOUT` itself): its `RetryableError` looks like any other."""
    if error is None:
        return Signal.OK
    status = error.status
    if isinstance(error, FatalError):
        return Signal.REFUSED if status is not None else Signal.NONE
    if status in THROTTLING_STATUSES:
        return Signal.THROTTLED
    if status in UNAVAILABLE_STATUSES:
        if status == 503 and isinstance(error, RetryableError) and error.wait_hint is not None:
            return Signal.THROTTLED
        return Signal.UNAVAILABLE
    return Signal.FAILED
