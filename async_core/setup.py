"""The setup form's content and its "Test connection" check, independent of the SDK (connector.py renders them).

The form holds what a user decides (the keys of `async_core.settings.PARSERS`, in the README's order) and the keys
of one source: the SDK's form has no field that shows or hides others, so it cannot follow the `source` a user
picks; connector.py names the source the form is for. Every choice is a dropdown built from the one list of
`async_core.settings.CHOICES` (or the modules of `sources/`), booleans are toggles, secrets password fields, and
each field says its default (as the placeholder, and in the description). The connection test parses the
configuration like a sync would, then fetches the first page of each selected table (a child table: the parent's
first page, then the first parent's child page) and says what failed.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Mapping
from typing import Literal

from async_core.errors import ConfigurationError, ConnectorError
from async_core.http.client import ApiClient
from async_core.http.session import make_session
from async_core.run.ledger import ErrorLedger
from async_core.run.metrics import Metrics
from async_core.run.page_flow import PageFlow
from async_core.run.walk import Walk, WalkStart
from async_core.settings import CHOICES, PARSERS, Settings, check_source_keys, parse_settings
from async_core.source.catalogue import DEFAULT_SOURCE, known, load_source
from async_core.source.oauth2 import OAuth2RefreshToken
from async_core.source.pagination import PageRequest
from async_core.source.spec import Source, TableSpec
from async_core.sync import api_base_url

FieldKind = Literal["text", "password", "dropdown", "toggle"]


@dataclasses.dataclass(frozen=True)
class FormField:
    name: str
    label: str
    kind: FieldKind
    description: str = ""
    options: tuple[str, ...] = ()  # dropdowns
    placeholder: str = ""
    required: bool = False


_DESCRIPTIONS = {
    "source": "The API to sync: a module of sources/",
    "base_url": '"playground" runs the embedded test server; empty is the source\'s own base URL',
    "tables": "Comma-separated; empty is the source's default tables",
    "shard": "k/n: this connection's share of the child tables' parents (1/1 is all of them); see the README",
    "max_workers": "Requests in flight at once, for the whole sync (1 to 512)",
    "error_threshold_per_thread": "Errors (MEDIUM and above) a table may have before it stops",
    "total_error_threshold": "Errors (MEDIUM and above) the sync may have before it stops and fails",
    "api_timeout_seconds": "Bound on one attempt, connect to last byte",
    "enable_circuit_breaker": "Stop sending requests to a host that keeps failing, and probe it later",
    "retry_strategy": "base·2ⁿ, base, or base·(n+1) seconds between retries",
    "max_retries": "Retries per request after the first attempt",
    "failure_threshold": "Failures in a row that open the circuit breaker",
    "recovery_timeout": "Seconds the breaker stays open before it probes the host",
    "base_delay": "Seconds: the retry strategies' base",
    "requests_per_second": "A proactive rate limit; 0 is off",
}


def form_fields(source: str | Source = DEFAULT_SOURCE) -> list[FormField]:
    """The keys a user decides, in the README's order, then the keys of `source` (secrets as passwords)."""
    catalogue = source if isinstance(source, Source) else load_source(source)
    check_source_keys(catalogue)
    defaults = Settings(catalogue=catalogue)
    fields = []
    for name in PARSERS:
        label = name.replace("_", " ").capitalize()
        default = getattr(defaults, name)
        shown = default.value if hasattr(default, "value") else default
        if isinstance(shown, bool):
            shown = "on" if shown else "off"
        elif isinstance(shown, float):
            shown = f"{shown:g}"
        shown = ",".join(catalogue.default_tables or catalogue.table_names) if name == "tables" else str(shown)
        if name == "base_url":
            shown = catalogue.base_url
        description = f"{_DESCRIPTIONS[name]}. Default: {shown or 'none'}"
        required = name == "base_url" and not catalogue.base_url  # no default to fall back on
        if name == "source":
            options = tuple(known())
            fields.append(FormField(name, label, "dropdown", description, options, catalogue.name, required))
        elif name in CHOICES:
            fields.append(FormField(name, label, "dropdown", description, CHOICES[name], shown, required))
        elif isinstance(default, bool):
            fields.append(FormField(name, label, "toggle", description, required=required))
        else:
            fields.append(FormField(name, label, "text", description, placeholder=shown, required=required))
    for key in catalogue.keys:
        kind: FieldKind = "password" if key.secret else "text"
        description = f"{key.description} (source {catalogue.name})".strip()
        fields.append(FormField(key.name, key.label, kind, description, placeholder=key.default, required=key.required))
    return fields


def test_connection(configuration: Mapping[str, object]) -> str | None:
    """None when the first page of every selected table could be fetched; otherwise what failed, one line each."""
    try:
        settings, _ = parse_settings(configuration)
    except ConfigurationError as error:
        return f"invalid configuration: {error}"
    settings = dataclasses.replace(settings, max_retries=min(settings.max_retries, 1), max_wait_seconds=10.0)
    try:
        problems = asyncio.run(_probe(settings))
    except ConfigurationError as error:  # a credential an auth reads, found missing when the engine starts it
        return f"invalid configuration: {error}"
    return "; ".join(problems) if problems else None


async def _probe(settings: Settings) -> list[str]:
    problems: list[str] = []
    source = settings.catalogue
    policy = settings.http_policy()
    async with api_base_url(settings) as base_url, make_session(policy) as session:
        metrics = Metrics()
        client = ApiClient(policy, session, base_url=base_url, metrics=metrics, allowed_hosts=source.allowed_hosts)
        pages = PageFlow(
            settings,
            source=source,
            base_url=base_url,
            client=client,
            bridge=None,  # the probe only fetches: nothing is written
            ledger=ErrorLedger(per_table_threshold=1_000_000, total_threshold=1_000_000),
            metrics=metrics,
        )
        # Each wait of a request is bounded by max_wait_seconds, each attempt by api_timeout_seconds; this bounds
        # a table's probe as a whole (a parent's page, then a child's), whatever the server does.
        attempts = settings.max_retries + 1
        bound = 2 * (settings.max_wait_seconds + attempts * settings.api_timeout_seconds + settings.max_delay)
        for name in settings.tables:
            if isinstance(source.auth_for(source.table(name)), OAuth2RefreshToken):
                # Not probed: a rotating refresh token used here would be replaced by one nobody keeps (a test has
                # no state), and the configured one may already be replaced by the state's after the first sync.
                continue
            try:
                async with asyncio.timeout(bound):
                    await _first_page(pages, settings, source.table(name))
            except (ConnectorError, ValueError) as error:
                problems.append(f"{name}: {type(error).__name__}: {error}")
            except TimeoutError:
                problems.append(f"{name}: no first page within {bound:g} s")
    return problems


async def _first_page(pages: PageFlow, settings: Settings, spec: TableSpec) -> None:
    parent_values = None
    if spec.parent is not None:
        parent = settings.catalogue.table(spec.parent.table)
        fetched = await pages.fetch(_walk(settings, parent, None), 1, _first(parent, settings), expect=None)
        rows = [r for r in fetched.records if isinstance(r, dict)]
        if not rows:
            return  # no parent row, so no child page to ask for
        parent_values = spec.parent_values(rows[0])
    walk = _walk(settings, spec, parent_values)
    await pages.fetch(walk, 1, _first(spec, settings), expect=None)


def _walk(settings: Settings, spec: TableSpec, parent: Mapping[str, object] | None) -> Walk:
    return Walk(
        spec,
        pages=None,  # type: ignore[arg-type]  # the probe fetches through the page flow directly
        start=WalkStart(),
        page_size=settings.table_value(spec, "page_size") or 1,
        max_pages=1,
        confirm_delay=0.0,
        parent=parent,
    )


def _first(spec: TableSpec, settings: Settings) -> PageRequest:
    size = spec.paginator.page_size or settings.table_value(spec, "page_size")
    if spec.paginator.max_page_size:
        size = min(size, spec.paginator.max_page_size)
    return spec.paginator.request(1, size) if size else PageRequest()
