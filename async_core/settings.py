"""configuration.json (every value a string) -> one frozen, typed `Settings`, validated in one place.

`parse_settings` checks every key and raises `ConfigurationError` naming the key, the value and what is allowed.
Unknown keys are not an error (a deployed connection may carry keys of an older version); they are returned so
that the caller can warn about them.

The configuration holds what a user decides (`PARSERS`: the threaded example's keys, the source, its base URL, its
tables, the request rate) and the source's own keys (credentials). How an API is read is the source's declaration
(`Source(policy=Policy(...))`, `async_core.source.policy`); the embedded playground's knobs are set by the tests,
the benchmark and the `playground` CLI directly (`Settings(playground_faults=...)`). The keys that moved out
(`MOVED_KEYS`) are still accepted and honoured for one release, with one warning each naming the new home
(`moved_key_warnings`).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import math
from collections.abc import Callable, Mapping
from typing import Any, TypeVar
from urllib.parse import urlsplit

from async_core.errors import ConfigurationError
from async_core.http import policy as http_policy
from async_core.http.limit import LimitMode
from async_core.http.retry import Jitter, RetryStrategy
from async_core.source.catalogue import DEFAULT_SOURCE, load_source
from async_core.source.policy import RANGES, WHOLE, Policy
from async_core.source.shard import ALL, Shard, check_tables, parse_shard
from async_core.source.spec import ConfigKey, Source, TableSpec

PLAYGROUND = "playground"
PLAYGROUND_PROFILES = ("none", "flaky")

T = TypeVar("T")


@dataclasses.dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything a sync is configured with. Defaults follow the threaded example where it has one.

    The keys of `PARSERS` come from the configuration; the fields of `Policy` from the source's declaration (or,
    for one release, from their old configuration keys); the `playground_*` fields only from code.
    """

    source: str = DEFAULT_SOURCE  # a module of sources/
    base_url: str = ""  # "" = the source's; "playground" starts the embedded server; anything else is a real API
    tables: tuple[str, ...] = ()  # () = the source's default tables
    shard: Shard = ALL  # this connection's share of the child tables' parents (`2/8`); 1/1: all of them
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
    memory_budget_mb: float = 48.0  # decoded MB of pages in flight, queued and held by the SDK until a checkpoint
    checkpoint_every_rows: int = 5000  # each checkpoint costs the SDK a flush (~0.2 s under fivetran debug)
    max_pages_per_table: int = 100_000  # a walk that goes further stops with an error: no paging without bound
    lost_page_syncs: int = 3  # a page lost in this many consecutive syncs fails the sync (someone must look)
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
    concurrency_min_gain_percent: float = 3.0  # the throughput a larger limit must add to be kept
    playground_capacity: int = 0  # requests the embedded playground serves at once before it slows; 0 = unbounded

    # The keys of MOVED_KEYS the configuration gave (honoured this release, over the source's and tables' policies).
    moved: frozenset[str] = frozenset()
    # The source's own keys (credentials, options), by name: never printed.
    source_values: Mapping[str, str] = dataclasses.field(default_factory=dict, repr=False)
    catalogue: Source = dataclasses.field(default_factory=lambda: load_source(DEFAULT_SOURCE), repr=False)

    def table_value(self, table: TableSpec, name: str) -> Any:
        """`page_size` or `max_pages_per_table` for `table`: a moved configuration key if given, else the table's
        `TablePolicy`, else the source's `Policy`."""
        own = getattr(table.policy, name) if table.policy is not None else None
        return getattr(self, name) if own is None or name in self.moved else own

    def http_policy(self) -> http_policy.HttpPolicy:
        """The HTTP client's knobs: the user's keys and the source's policy, as the client takes them."""
        return http_policy.HttpPolicy(**{name: getattr(self, name) for name in http_policy.FIELDS})

    @property
    def uses_playground(self) -> bool:
        return self.api_base_url == PLAYGROUND

    @property
    def api_base_url(self) -> str:
        """The configured `base_url`, or the source's own."""
        return self.base_url or self.catalogue.base_url


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


def _tables(source: Source, raw: str) -> tuple[str, ...]:
    allowed = ", ".join(source.table_names)
    names = [name.strip().lower() for name in raw.split(",") if name.strip()]
    if not names:
        raise ConfigurationError("tables", raw, f"expected a comma-separated list of tables from {allowed}")
    unknown = [name for name in names if name not in source.table_names]
    if unknown:
        raise ConfigurationError("tables", raw, f"unknown table {unknown[0]!r}; expected tables from {allowed}")
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


# The choices of every key that has a fixed set of values: one list each, read by the parsers and the setup form.
CHOICES: dict[str, tuple[str, ...]] = {
    "retry_strategy": tuple(s.value for s in RetryStrategy),
    "retry_jitter": tuple(j.value for j in Jitter),
    "concurrency": tuple(m.value for m in LimitMode),
    "playground_faults": PLAYGROUND_PROFILES,
}


# One line per key a user decides: how its string becomes a typed value. The order is the order of the README's
# table and of the setup form.
PARSERS: dict[str, Callable[[str, str], Any]] = {
    "source": lambda key, raw: raw.strip(),  # checked by loading it (see parse_settings)
    "base_url": _base_url,
    "tables": lambda key, raw: raw,  # checked against the source's tables (see parse_settings)
    "shard": parse_shard,
    "max_workers": _integer(1, 512),
    "error_threshold_per_thread": _integer(1, 1_000_000),
    "total_error_threshold": _integer(1, 1_000_000),
    "api_timeout_seconds": _number(0.0, 3600.0, low_open=True),
    "enable_circuit_breaker": _boolean,
    "retry_strategy": _choice(RetryStrategy, CHOICES["retry_strategy"]),
    "max_retries": _integer(0, 100),
    "failure_threshold": _integer(1, 10_000),
    "recovery_timeout": _number(0.0, 3600.0, low_open=True),
    "base_delay": _number(0.0, 3600.0),
    "requests_per_second": _number(0.0, 100_000.0),
}


@dataclasses.dataclass(frozen=True)
class MovedKey:
    """A configuration key of the previous release: still parsed and honoured, with a warning naming its home."""

    parse: Callable[[str, str], Any]
    home: str


def _policy_parser(name: str) -> Callable[[str, str], Any]:
    if name in CHOICES:
        enum_type = {"retry_jitter": Jitter, "concurrency": LimitMode}[name]
        return _choice(enum_type, CHOICES[name])
    if name == "allow_insecure_http":
        return _boolean
    low, high, low_open = RANGES[name]
    return _integer(int(low), int(high)) if name in WHOLE else _number(low, high, low_open=low_open)


_POLICY_HOME = "the source's declaration: Source(policy=Policy({name}=...)) in sources/<source>.py"
_PLAYGROUND_HOME = (
    "the playground's own options: set by code (dataclasses.replace(settings, {name}=...) passed to "
    "run_sync(settings=...)) or the `playground` CLI"
)
POLICY_FIELDS = tuple(field.name for field in dataclasses.fields(Policy))
NEW_POLICY_FIELDS = frozenset({"memory_budget_mb"})  # never configuration keys: nothing to move, nothing honoured
MOVED_KEYS: dict[str, MovedKey] = {
    **{
        name: MovedKey(_policy_parser(name), _POLICY_HOME.format(name=name))
        for name in POLICY_FIELDS
        if name not in NEW_POLICY_FIELDS
    },
    "playground_faults": MovedKey(_profile, _PLAYGROUND_HOME.format(name="playground_faults")),
    "playground_scale": MovedKey(_integer(1, 1000), _PLAYGROUND_HOME.format(name="playground_scale")),
    "playground_latency_ms": MovedKey(_integer(0, 60_000), _PLAYGROUND_HOME.format(name="playground_latency_ms")),
    "playground_seed": MovedKey(_integer(0, 2**31 - 1), _PLAYGROUND_HOME.format(name="playground_seed")),
    "playground_capacity": MovedKey(_integer(0, 100_000), _PLAYGROUND_HOME.format(name="playground_capacity")),
}


def moved_key_warnings(configuration: Mapping[str, object]) -> list[str]:
    """One line per key of the configuration that moved out of it (still honoured this release), in key order."""
    return [
        f"configuration key {key!r} has moved to {MOVED_KEYS[key].home}; it is honoured in this release and will "
        "be ignored in the next: remove it from configuration.json"
        for key in sorted(set(configuration) & set(MOVED_KEYS))
    ]


def check_source_keys(source: Source) -> None:
    """A source's own keys must not be named like the connector's: one value would serve both, and the form would
    list the name twice (the SDK refuses that)."""
    for declared in source.keys:
        if declared.name in PARSERS or declared.name in MOVED_KEYS:
            raise ConfigurationError(
                "source",
                source.name,
                f"sources/{source.name}.py declares key {declared.name!r}, a key of the connector: rename it in "
                "its keys (and in the auth that reads it)",
            )


def unknown_key_warning(key: str) -> str:
    """The line for a configuration key that is ignored; a field that only a source declares says where it goes."""
    if key in NEW_POLICY_FIELDS:
        return (
            f"configuration key {key!r} is ignored: it is not a configuration key but part of "
            f"{_POLICY_HOME.format(name=key)}"
        )
    return f"configuration key {key!r} is not known to this connector and is ignored"


def parse_settings(configuration: Mapping[str, object]) -> tuple[Settings, list[str]]:
    """Builds `Settings` from the SDK's configuration; returns them with the unknown keys, sorted.

    Raises `ConfigurationError` for the first bad value (a value that is not a string is bad: the SDK only ever
    passes strings). Missing keys take the defaults. Keys whose value is blank take the default too (the SDK's
    form writes "" for a field left blank); a `tables` that is not blank must name a table. The source (key
    `source`) is loaded first: its tables and its own keys (credentials) are checked against it.
    """
    for key, raw in configuration.items():
        if not isinstance(raw, str):
            raise ConfigurationError(key, raw, "expected a string (configuration.json holds every value as a string)")
    raw_source = str(configuration.get("source", "")).strip() or DEFAULT_SOURCE
    source = load_source(raw_source)
    check_source_keys(source)
    values: dict[str, Any] = {"source": raw_source, "catalogue": source}
    # given with a value: a blank one takes the default, so it must not override a table's own policy either
    values["moved"] = frozenset(key for key in MOVED_KEYS if str(configuration.get(key, "")).strip())
    values.update({name: getattr(source.policy, name) for name in POLICY_FIELDS})
    parsers = {**PARSERS, **{key: moved.parse for key, moved in MOVED_KEYS.items()}}
    for key, parse in parsers.items():
        if key not in configuration or key == "source":
            continue
        raw = str(configuration[key])
        if raw.strip() == "":  # `fivetran configuration` writes "" for a field left blank: the default
            continue
        values[key] = parse(key, raw)
    values["tables"] = (
        _tables(source, values["tables"]) if "tables" in values else source.default_tables or source.table_names
    )
    source_keys: dict[str, ConfigKey | ConfigKeyLike] = {key.name: key for key in source.keys}
    for table in values["tables"]:
        for key in source.auth_for(source.table(table)).config_keys():
            source_keys.setdefault(key, ConfigKeyLike(key))
    for declared in source.keys:  # the form marks these required; configuration.json must give them too
        if declared.required and not str(configuration.get(declared.name, "")).strip():
            raise ConfigurationError(
                declared.name, "", f"required by source {source.name!r} ({declared.label}); set it in the configuration"
            )
    values["source_values"] = {
        name: _secret(name, str(configuration[name])) if getattr(spec, "secret", True) else str(configuration[name])
        for name, spec in source_keys.items()
        if name in configuration
    }
    settings = Settings(**values)
    _check_together(settings)
    unknown = sorted(set(configuration) - set(parsers) - set(source_keys))
    return settings, unknown


@dataclasses.dataclass(frozen=True)
class ConfigKeyLike:
    """A key an auth reads that the source did not list in `keys`: a secret."""

    name: str
    secret: bool = True


def _check_together(settings: Settings) -> None:
    """Rules that involve more than one key."""
    if settings.max_delay < settings.base_delay and "max_delay" in settings.moved:
        raise ConfigurationError(
            "max_delay", f"{settings.max_delay:g}", f"expected at least base_delay ({settings.base_delay:g})"
        )
    if settings.max_delay < settings.base_delay:  # max_delay is the source's: base_delay is the key to change
        raise ConfigurationError(
            "base_delay",
            f"{settings.base_delay:g}",
            f"expected at most the source's max_delay ({settings.max_delay:g} s, declared with "
            f"Source(policy=Policy(max_delay=...)) in sources/{settings.source}.py)",
        )
    if not settings.api_base_url:
        raise ConfigurationError("base_url", "", f"source {settings.source!r} has no default base URL; set base_url")
    if settings.shard.splits:
        check_tables("shard", settings.shard, settings.catalogue, settings.tables)
    if settings.breaker_minimum_calls > settings.breaker_window:
        raise ConfigurationError(
            "breaker_minimum_calls",
            str(settings.breaker_minimum_calls),
            f"expected at most breaker_window ({settings.breaker_window})",
        )
    if settings.uses_playground:
        return
    parts = urlsplit(settings.api_base_url)
    if parts.scheme == "http" and not settings.allow_insecure_http and not _is_loopback(parts.hostname or ""):
        raise ConfigurationError(
            "base_url",
            settings.api_base_url,
            "plain http is only allowed to a loopback host; use https, or declare "
            "Source(policy=Policy(allow_insecure_http=True)) in the source",
        )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def schema_selection(configuration: Mapping[str, object]) -> tuple[Source, tuple[str, ...]]:
    """The source and tables `schema()` declares. A bad value falls back to the default source or its default
    tables (`update()` reports the bad value with one clear line; `schema()` must not fail with a traceback first).
    """
    try:
        source = load_source(str(configuration.get("source", "")).strip() or DEFAULT_SOURCE)
    except ConfigurationError:
        source = load_source(DEFAULT_SOURCE)
    default = source.default_tables or source.table_names
    raw = configuration.get("tables")
    if not isinstance(raw, str) or not raw.strip():
        return source, default
    try:
        return source, _tables(source, raw)
    except ConfigurationError:
        return source, default
