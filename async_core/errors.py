"""The connector's exception tree and error severities.

    ConnectorError                  anything this package raises on purpose
    ├── ConfigurationError          a configuration value is wrong (names the key, the value, what is allowed)
    ├── StateError                  the saved state is of a version this connector does not know
    ├── FetchError                  a request did not give usable data
    │   ├── RetryableError          worth another attempt: timeouts, resets, 408/425/429/5xx, bad or cut JSON
    │   │   └── CircuitOpenError    the host's breaker refused the request without touching the network
    │   └── FatalError              another attempt cannot help: other 4xx, a refused redirect, a body too large
    │       ├── AuthenticationError 401 / 403: every request will fail the same way
    │       │   └── CredentialsExpired  the token expired while the request waited for its turn: not sent
    │       ├── ForeignOriginError  a next link or redirect leaves the source's origin: refused, no credential sent
    │       └── RuleStop            a source's error rule stops the table (HIGH) or the sync (CRITICAL)
    ├── WaitTooLongError            the server (or the breaker) asks for a wait longer than `max_wait_seconds`
    ├── RecordError                 one record cannot be validated or transformed (goes to `sync_errors`)
    └── SyncStopped                 the sync must stop: a threshold was passed or a CRITICAL error happened

    RuleBug                         a source's error rule raised: a bug in the source, so deliberately not a
                                    ConnectorError (CRITICAL, kept with its traceback, like any other bug)

A `FetchError` raised because of a source's error rule (`async_core.source.rules`) names it in `rule`.
aiohttp's exceptions are translated into this tree in one place, `http/client.py`, with `raise ... from exc`.
`asyncio.CancelledError` is never caught here without being re-raised.
"""

from __future__ import annotations

import enum


class Severity(enum.IntEnum):
    """How bad an error is; the order matters (thresholds count MEDIUM and above)."""

    LOW = 1  # recovered on its own: a retried request that then succeeded
    MEDIUM = 2  # one record lost to validation or transformation (it is in `sync_errors`)
    HIGH = 3  # a page lost for this sync: retries exhausted, or not retryable (the next sync fetches it again)
    CRITICAL = 4  # the sync cannot go on: authentication refused, or a bug


class ConnectorError(Exception):
    """Base of every error this package raises on purpose."""


class ConfigurationError(ConnectorError):
    """A configuration value is not allowed. The message is one line: key, value, what is allowed."""

    def __init__(self, key: str, value: object, allowed: str) -> None:
        self.key = key
        self.value = value
        self.allowed = allowed
        super().__init__(f"configuration key {key!r} has value {value!r}: {allowed}")


class FetchError(ConnectorError):
    """A request did not give usable data. `status` is the HTTP status when there was a response."""

    def __init__(self, message: str, *, status: int | None = None, rule: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.rule = rule  # the source's error rule that decided, if one did
        self.attempts = 1  # set by the client to the attempts made before it gave up


class RetryableError(FetchError):
    """Another attempt may succeed. `wait_hint` is the wait the server asked for, in seconds, if it said one."""

    def __init__(
        self, message: str, *, status: int | None = None, wait_hint: float | None = None, rule: str | None = None
    ) -> None:
        super().__init__(message, status=status, rule=rule)
        self.wait_hint = wait_hint


class CircuitOpenError(RetryableError):
    """The breaker is open: the request was refused locally. `retry_in` is when the next probe may go, in seconds."""

    def __init__(self, retry_in: float) -> None:
        super().__init__(f"circuit breaker open; next probe in {retry_in:.1f} s")
        self.retry_in = retry_in


class FatalError(FetchError):
    """Another attempt cannot help."""


class AuthenticationError(FatalError):
    """The server refused the credentials (401 or 403)."""


class CredentialsExpired(AuthenticationError):
    """The request's token expired while it waited for admission (a rate limit, a pause): it was not sent; the
    caller renews the token and asks again."""


class ForeignOriginError(FatalError):
    """A URL the connector did not build (a next link, a redirect) points off the source's origin."""


class RuleStop(FatalError):
    """A source's error rule says: stop the table (`sync` False) or the whole sync (`sync` True)."""

    def __init__(self, message: str, *, sync: bool, rule: str, status: int | None = None) -> None:
        super().__init__(message, status=status, rule=rule)
        self.sync = sync


class RuleBug(Exception):
    """A source's error rule raised. Not a `ConnectorError`: it is a bug in the source, CRITICAL with the
    traceback of what the rule raised (its `__cause__`). One line: which rule, what it raised."""

    def __init__(self, rule: str, error: Exception) -> None:
        super().__init__(f"error rule {rule!r} raised {type(error).__name__}: {error}")
        self.rule = rule


class StateError(ConnectorError):
    """The saved state cannot be resumed (an unknown version): never silently treated as ours."""


class WaitTooLongError(ConnectorError):
    """A wait asked by the server, or an outage, exceeds `max_wait_seconds`."""


class RecordError(ConnectorError):
    """One record failed validation or transformation."""


class SyncStopped(ConnectorError):
    """The sync must stop now; the message says why (which threshold, or the CRITICAL error)."""
