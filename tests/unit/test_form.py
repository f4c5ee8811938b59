"""The setup form, built through the SDK's own form classes: what a user decides, one source's keys, and no more."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from async_core.settings import CHOICES, PARSERS
from async_core.source import BearerAuth, Column, ConfigKey, Source, TableSpec
from async_core.source.catalogue import known

ROOT = Path(__file__).resolve().parents[2]


def form(source: str | Source | None = None) -> dict[str, Any]:
    """The fields of connector.py's form (for `source`, else the one it ships with), by name, as the SDK holds them."""
    sys.path.insert(0, str(ROOT))
    import connector  # the project's own connector.py

    built = connector.configuration_form() if source is None else connector.setup_form(source)
    return {field.name: field for field in built.to_response().fields}


def test_the_jsonplaceholder_form_holds_what_a_user_decides_in_at_most_16_fields() -> None:
    """The threaded example's keys, source, base_url, tables, shard, requests_per_second, and the source's api_key:
    16 fields, in the README's order (which says how many); none of the playground's knobs or the source's tuning."""
    fields = form()
    assert list(fields) == [*PARSERS, "api_key"]
    assert len(fields) <= 16
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"(`jsonplaceholder`: {len(fields)} fields)" in readme
    assert not [name for name in fields if name.startswith("playground_")]
    assert {"page_size", "retry_jitter", "breaker_window", "concurrency_min_gain_percent"}.isdisjoint(fields)


def test_every_choice_is_a_dropdown_of_its_one_list() -> None:
    """`source` offers the modules of sources/; every other key with choices offers exactly its CHOICES list."""
    fields = form()
    assert [option.value for option in fields["source"].dropdown_options] == list(known())
    for name in set(CHOICES) & set(fields):
        assert [option.value for option in fields[name].dropdown_options] == list(CHOICES[name]), name
        assert fields[name].text_field is None, name
    assert fields["retry_strategy"].placeholder == "exponential_backoff"


def test_booleans_are_toggles_and_defaults_are_placeholders() -> None:
    """enable_circuit_breaker is a toggle saying its default; a number shows its default as the placeholder."""
    fields = form()
    assert fields["enable_circuit_breaker"].toggle
    assert "Default: on" in fields["enable_circuit_breaker"].description
    assert (fields["max_workers"].placeholder, fields["api_timeout_seconds"].placeholder) == ("3", "30")
    assert "Default: 3" in fields["max_workers"].description
    assert fields["api_key"].text_field == 1  # TextField.password


def test_a_value_without_a_default_is_required() -> None:
    """A source with no base URL of its own and a required token: both fields are `required`; the rest are not."""
    source = Source(
        name="my_api",
        auth=BearerAuth(token_key="my_api_token"),
        keys=(ConfigKey("my_api_token", "API token", secret=True, required=True),),
        tables=(TableSpec(name="orders", path="/orders", columns=(Column("id", "id", "INT"),)),),
    )
    fields = form(source)
    assert {name for name, field in fields.items() if field.required} == {"base_url", "my_api_token"}
    assert not form()["base_url"].required  # jsonplaceholder has its own (the playground)


def test_another_sources_form_asks_for_its_secrets_as_passwords() -> None:
    """The form for api_playground: its six credentials, every one a password field, after the user's keys."""
    fields = form("api_playground")
    secrets = ["basic_username", "basic_password", "bearer_token", "api_key", "session_username", "session_password"]
    assert list(fields) == [*PARSERS, *secrets]
    assert all(fields[name].text_field == 1 for name in secrets)
