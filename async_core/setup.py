"""The setup form's content and its "Test connection" check, independent of the SDK (connector.py renders them).

The form lists every configuration key: the source as a dropdown of the modules in `sources/`, the secrets of every
source as password fields, enumerations as dropdowns, booleans as toggles, the rest as text with the default as a
placeholder. The connection test parses the configuration like a sync would, then fetches the first page of each
selected table (a child table: the parent's first page, then the first parent's child page) and says what failed.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Mapping
from typing import Literal

from async_core.errors import ConfigurationError, ConnectorError
from async_core.http.client import ApiClient, make_session
from async_core.http.retry import Jitter, RetryStrategy
from async_core.run.engine import Engine
from async_core.run.ledger import ErrorLedger
from async_core.run.metrics import Metrics
from async_core.run.walk import Walk, WalkStart
from async_core.settings import PARSERS, PLAYGROUND_PROFILES, Settings, parse_settings
from async_core.source.catalogue import known, load_source
from async_core.source.oauth2 import OAuth2RefreshToken
from async_core.source.pagination import PageRequest
from async_core.source.spec import TableSpec
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
    "base_url": '"playground" runs the embedded test server; empty = the source\'s own base URL',
    "tables": "Comma-separated; empty = the source's default tables",
    "max_workers": "Requests in flight at once, for the whole sync",
}
_CHOICES: dict[str, tuple[str, ...]] = {
    "retry_strategy": tuple(s.value for s in RetryStrategy),
    "retry_jitter": tuple(j.value for j in Jitter),
    "playground_faults": PLAYGROUND_PROFILES,
}


def form_fields() -> list[FormField]:
    """Every configuration key, in the README's order, then every source's own keys (secrets as passwords)."""
    defaults = Settings(catalogue=load_source())
    fields = [FormField("source", "Source", "dropdown", _DESCRIPTIONS["source"], options=tuple(known()))]
    for name in PARSERS:
        if name == "source":
            continue
        label = name.replace("_", " ").capitalize()
        default = getattr(defaults, name, "")
        description = _DESCRIPTIONS.get(name, "")
        if name in _CHOICES:
            fields.append(FormField(name, label, "dropdown", description, options=_CHOICES[name]))
        elif isinstance(default, bool):
            fields.append(FormField(name, label, "toggle", description))
        else:
            shown = default.value if hasattr(default, "value") else default
            placeholder = "" if shown in ("", ()) else str(shown)
            fields.append(FormField(name, label, "text", description, placeholder=placeholder))
    seen = {field.name for field in fields}
    for source_name in known():
        for key in load_source(source_name).keys:
            if key.name in seen:
                continue
            seen.add(key.name)
            kind: FieldKind = "password" if key.secret else "text"
            description = f"{key.description} (source {source_name})".strip()
            fields.append(FormField(key.name, key.label, kind, description, placeholder=key.default))
    return fields


def test_connection(configuration: Mapping[str, object]) -> str | None:
    """None when the first page of every selected table could be fetched; otherwise what failed, one line each."""
    try:
        settings, _ = parse_settings(configuration)
    except ConfigurationError as error:
        return f"invalid configuration: {error}"
    settings = dataclasses.replace(settings, max_retries=min(settings.max_retries, 1), max_wait_seconds=10.0)
    problems = asyncio.run(_probe(settings))
    return "; ".join(problems) if problems else None


async def _probe(settings: Settings) -> list[str]:
    problems: list[str] = []
    source = settings.catalogue
    async with api_base_url(settings) as base_url, make_session(settings) as session:
        metrics = Metrics()
        client = ApiClient(settings, session, base_url=base_url, metrics=metrics, allowed_hosts=source.allowed_hosts)
        engine = Engine(
            settings,
            source=source,
            starts={},
            base_url=base_url,
            client=client,
            bridge=None,
            ledger=ErrorLedger(per_table_threshold=1_000_000, total_threshold=1_000_000),
            metrics=metrics,
            log=lambda _line: None,
        )
        for name in settings.tables:
            if isinstance(source.auth_for(source.table(name)), OAuth2RefreshToken):
                # Not probed: a rotating refresh token used here would be replaced by one nobody keeps (a test has
                # no state), and the configured one may already be replaced by the state's after the first sync.
                continue
            try:
                await _first_page(engine, settings, source.table(name))
            except (ConnectorError, ValueError) as error:
                problems.append(f"{name}: {type(error).__name__}: {error}")
    return problems


async def _first_page(engine: Engine, settings: Settings, spec: TableSpec) -> None:
    parent_values = None
    if spec.parent is not None:
        parent = settings.catalogue.table(spec.parent.table)
        fetched = await engine.fetch(_walk(engine, settings, parent, None), 1, _first(parent, settings), expect=None)
        rows = [r for r in fetched.records if isinstance(r, dict)]
        if not rows:
            return  # no parent row, so no child page to ask for
        parent_values = spec.parent_values(rows[0])
    walk = _walk(engine, settings, spec, parent_values)
    await engine.fetch(walk, 1, _first(spec, settings), expect=None)


def _walk(engine: Engine, settings: Settings, spec: TableSpec, parent: Mapping[str, object] | None) -> Walk:
    return Walk(
        spec,
        pages=None,  # type: ignore[arg-type]  # the probe fetches through the engine directly
        start=WalkStart(),
        page_size=settings.page_size or 1,
        max_pages=1,
        confirm_delay=0.0,
        parent=parent,
    )


def _first(spec: TableSpec, settings: Settings) -> PageRequest:
    size = spec.paginator.page_size or settings.page_size
    if spec.paginator.max_page_size:
        size = min(size, spec.paginator.max_page_size)
    return spec.paginator.request(1, size) if size else PageRequest()
