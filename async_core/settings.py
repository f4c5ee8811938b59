"""configuration.json (every value a string) -> one frozen, typed `Settings`, validated in one place.

`parse_settings` checks every key and raises `ConfigurationError` naming the key, the value and what is allowed.
Unknown keys are not an error (a deployed connection may carry keys of an older version); they are returned so
that the caller can warn about them.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import math
from collections.abc import Callable, Mapping
from typing import Any, TypeVar
from urllib.parse import urlsplit

from async_core.errors import ConfigurationError
from async_core.http.limit import LimitMode
from async_core.http.retry import Jitter, RetryStrategy
from async_core.source.spec import TABLES

PLAYGROUND = "playground"
PLAYGROUND_PROFILES = ("none", "flaky")
DEFAULT_TABLES = ("users", "posts", "comments")

T = TypeVar("T")


@dataclasses.dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything a sync is configured with. Defaults follow the threaded example where it has one."""

    base_url: str = PLAYGROUND  # "playground" starts the embedded server; anything else is a real API
    tables: tuple[str, ...] = DEFAULT_TABLES
    page_size: int = 25  # rows per request (`_limit`); 0 fetches each collection in one request
    max_workers: int = 3  # requests in flight at once, for the whole sync
    error_threshold_per_thread: int = 5  # errors (MEDIUM and above) a table may have before it stops
    total_error_threshold: int = 15  # errors (MEDIUM and above) the sync may have before it stops
    api_timeout_seconds: float = 30.0  # bound on one attempt, connect to last byte
    enable_circuit_breaker: bool = True
    failure_threshold: int = 5  # consecutive failures that open the breaker
    recovery_timeout: float = 30.0  # seconds the breaker stays open before one probe
    retry_strategy: RetryStrategy = RetryStrategy.EXPONENTIAL_BACKOFF
    max_retries: int = 3
    base_delay: float = 1.0
    max_delay: float = 30.0
    retry_jitter: Jitter = Jitter.FULL
    retry_budget_percent: float = 20.0
    max_wait_seconds: float = 300.0  # longest server-asked wait (or outage) a table sits through
    requests_per_second: float = 0.0  # 0 = no proactive limit
    max_response_mb: float = 50.0
    checkpoint_every_rows: int = 5000  # each checkpoint costs the SDK a flush (~0.2 s under fivetran debug)
    api_key: str = dataclasses.field(default="", repr=False)  # never printed
    allow_insecure_http: bool = False
    playground_faults: str = "flaky"
    playground_scale: int = 1
    playground_latency_ms: int = 0
    # The flaky profile's random stream; with this seed the first requests of the default sync meet a 429 (in both
    # Retry-After forms), a 503 and a connection reset, so the first `make debug` shows the error handling at work.
    playground_seed: int = 59
    # A concurrent client's view of a struggling server (breaker by failure rate, adaptive concurrency).
    breaker_failure_percent: float = 50.0  # share of failures among the last breaker_window calls that opens it
    breaker_window: int = 100  # calls the breaker's failure rate is measured over (a sliding window)
    breaker_minimum_calls: int = 40  # calls in the window before the rate may open it
    breaker_half_open_probes: int = 3  # requests let through after recovery_timeout, judged together
    concurrency: LimitMode = LimitMode.ADAPTIVE  # adaptive: between 1 and max_workers; fixed: max_workers
    concurrency_initial: int = 8  # where the adaptive limit starts (at most max_workers); slow start from there
    concurrency_latency_tolerance: float = 1.5  # recent latency over baseline that counts as a queue
    playground_capacity: int = 0  # requests the embedded playground serves at once before it slows; 0 = unbounded

    @property
    def uses_playground(self) -> bool:
        return self.base_url == PLAYGROUND


def _integer(low: int, high: int) -> Callable[[str, str], int]:
    def parse(key: str, raw: str) -> int:
        try:
            value = int(raw.strip())
        except ValueError:
            raise ConfigurationError(key, raw, f"expected a whole number from {low} to {high}") from None
        if not low <= value <= high:
            raise ConfigurationError(key, raw, f"expected a whole number from {low} to {high}")
        return value

    return parse


def _number(low: float, high: float, *, low_open: bool = False) -> Callable[[str, str], float]:
    bound = f"greater than {low:g}" if low_open else f"at least {low:g}"

    def parse(key: str, raw: str) -> float:
        try:
            value = float(raw.strip())
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or value > high or value < low or (low_open and value == low):
            raise ConfigurationError(key, raw, f"expected a number {bound} and at most {high:g}")
        return value

    return parse


def _boolean(key: str, raw: str) -> bool:
    text = raw.strip().lower()
    if text in ("true", "false"):
        return text == "true"
    raise ConfigurationError(key, raw, 'expected "true" or "false"')


def _choice(enum_type: Callable[[str], T], allowed: tuple[str, ...]) -> Callable[[str, str], T]:
    def parse(key: str, raw: str) -> T:
        text = raw.strip().lower()
        if text not in allowed:
            raise ConfigurationError(key, raw, f"expected one of {', '.join(allowed)}")
        return enum_type(text)

    return parse


def _tables(key: str, raw: str) -> tuple[str, ...]:
    names = [name.strip().lower() for name in raw.split(",") if name.strip()]
    if not names:
        raise ConfigurationError(key, raw, f"expected a comma-separated list of tables from {', '.join(TABLES)}")
    unknown = [name for name in names if name not in TABLES]
    if unknown:
        raise ConfigurationError(key, raw, f"unknown table {unknown[0]!r}; expected tables from {', '.join(TABLES)}")
    return tuple(dict.fromkeys(names))  # keeps the order given, drops repeats


def _base_url(key: str, raw: str) -> str:
    text = raw.strip()
    if text.lower() == PLAYGROUND:
        return PLAYGROUND
    parts = urlsplit(text)
    if "@" in parts.netloc:  # user info: checked first, so that no later message echoes the password
        redacted = f"{parts.scheme}://<redacted>@{parts.netloc.rpartition('@')[2]}"
        raise ConfigurationError(
            key,
            redacted,
            "expected a base URL without user:password; put the API key in api_key (sent as a header, only to "
            "this origin, never logged)",
        )
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(key, raw, f'expected "{PLAYGROUND}" or an http(s) URL such as https://api.example.com')
    if parts.query or parts.fragment:
        raise ConfigurationError(key, raw, "expected a base URL without a query or fragment")
    return text.rstrip("/")


def _secret(key: str, raw: str) -> str:
    """An API key: sent in a header, so no control characters; never echoed, even in the error."""
    if any(ord(char) < 32 or ord(char) == 127 for char in raw):
        raise ConfigurationError(key, "<redacted>", "expected a key without control characters (line breaks, tabs)")
    return raw.strip()


def _profile(key: str, raw: str) -> str:
    text = raw.strip().lower()
    if text not in PLAYGROUND_PROFILES:
        raise ConfigurationError(key, raw, f"expected one of {', '.join(PLAYGROUND_PROFILES)}")
    return text


# One line per key: how its string becomes a typed value. The order is the order of the README's table.
PARSERS: dict[str, Callable[[str, str], Any]] = {
    "base_url": _base_url,
    "tables": _tables,
    "page_size": _integer(0, 10_000),
    "max_workers": _integer(1, 512),
    "error_threshold_per_thread": _integer(1, 1_000_000),
    "total_error_threshold": _integer(1, 1_000_000),
    "api_timeout_seconds": _number(0.0, 3600.0, low_open=True),
    "enable_circuit_breaker": _boolean,
    "failure_threshold": _integer(1, 10_000),
    "recovery_timeout": _number(0.0, 3600.0, low_open=True),
    "retry_strategy": _choice(RetryStrategy, tuple(s.value for s in RetryStrategy)),
    "max_retries": _integer(0, 100),
    "base_delay": _number(0.0, 3600.0),
    "max_delay": _number(0.0, 3600.0),
    "retry_jitter": _choice(Jitter, tuple(j.value for j in Jitter)),
    "retry_budget_percent": _number(0.0, 100.0),
    "max_wait_seconds": _number(0.0, 86_400.0),
    "requests_per_second": _number(0.0, 100_000.0),
    "max_response_mb": _number(0.0, 4096.0, low_open=True),
    "checkpoint_every_rows": _integer(1, 10_000_000),
    "api_key": _secret,
    "allow_insecure_http": _boolean,
    "playground_faults": _profile,
    "playground_scale": _integer(1, 1000),
    "playground_latency_ms": _integer(0, 60_000),
    "playground_seed": _integer(0, 2**31 - 1),
    "breaker_failure_percent": _number(0.0, 100.0, low_open=True),
    "breaker_window": _integer(1, 10_000),
    "breaker_minimum_calls": _integer(1, 10_000),
    "breaker_half_open_probes": _integer(1, 100),
    "concurrency": _choice(LimitMode, tuple(m.value for m in LimitMode)),
    "concurrency_initial": _integer(1, 512),
    "concurrency_latency_tolerance": _number(1.0, 100.0, low_open=True),
    "playground_capacity": _integer(0, 100_000),
}


def parse_settings(configuration: Mapping[str, object]) -> tuple[Settings, list[str]]:
    """Builds `Settings` from the SDK's configuration; returns them with the unknown keys, sorted.

    Raises `ConfigurationError` for the first bad value (a value that is not a string is bad: the SDK only ever
    passes strings). Missing keys take the defaults. Keys whose value is an empty string take the default too,
    except `tables` and `base_url`, which must say something when given.
    """
    values: dict[str, Any] = {}
    for key, parse in PARSERS.items():
        if key not in configuration:
            continue
        raw = configuration[key]
        if not isinstance(raw, str):
            raise ConfigurationError(key, raw, "expected a string (configuration.json holds every value as a string)")
        if raw.strip() == "" and key not in ("tables", "base_url", "api_key"):
            continue
        values[key] = parse(key, raw)
    settings = Settings(**values)
    _check_together(settings)
    unknown = sorted(set(configuration) - set(PARSERS))
    return settings, unknown


def _check_together(settings: Settings) -> None:
    """Rules that involve more than one key."""
    if settings.max_delay < settings.base_delay:
        raise ConfigurationError(
            "max_delay", f"{settings.max_delay:g}", f"expected at least base_delay ({settings.base_delay:g})"
        )
    if settings.breaker_minimum_calls > settings.breaker_window:
        raise ConfigurationError(
            "breaker_minimum_calls",
            str(settings.breaker_minimum_calls),
            f"expected at most breaker_window ({settings.breaker_window})",
        )
    if settings.uses_playground:
        return
    parts = urlsplit(settings.base_url)
    if parts.scheme == "http" and not settings.allow_insecure_http and not _is_loopback(parts.hostname or ""):
        raise ConfigurationError(
            "base_url",
            settings.base_url,
            'plain http is only allowed to a loopback host; use https, or set allow_insecure_http to "true"',
        )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def schema_tables(configuration: Mapping[str, object]) -> tuple[str, ...]:
    """The tables `schema()` declares: those configured, or the defaults when the value is not valid
    (`update()` reports the bad value; `schema()` must not fail with a traceback first)."""
    raw = configuration.get("tables")
    if not isinstance(raw, str):
        return DEFAULT_TABLES
    try:
        return _tables("tables", raw)
    except ConfigurationError:
        return DEFAULT_TABLES
