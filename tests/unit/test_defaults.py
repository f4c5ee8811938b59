"""Table defaults on the source (dlt's resource_defaults) and what one table may set of the source's policy."""

from __future__ import annotations

from async_core.settings import parse_settings
from async_core.source import (
    Column,
    JsonServer,
    Policy,
    Relay,
    Single,
    Source,
    TableDefaults,
    TablePolicy,
    TableSpec,
)
from tests.devtools import pytest

ID = (Column("id", "id", "INT"),)
DEFAULTS = TableDefaults(records="data", paginator=JsonServer(), params={"order": "asc"})


def test_a_table_takes_the_defaults_it_leaves_out() -> None:
    """records, paginator and params left out: the source's."""
    source = Source(name="s", table_defaults=DEFAULTS, tables=(TableSpec("a", "/a", ID),))
    table = source.table("a")
    assert (table.records, table.paginator, dict(table.params)) == ("data", JsonServer(), {"order": "asc"})
    assert table.records_path == ("data",)  # compiled again from the default


def test_a_table_that_says_a_value_keeps_it_even_the_tablespec_default() -> None:
    """records="", paginator=Single(), params={} given: kept, although they equal TableSpec's own defaults."""
    source = Source(
        name="s",
        table_defaults=DEFAULTS,
        tables=(TableSpec("a", "/a", ID, records="", paginator=Single(), params={}),),
    )
    table = source.table("a")
    assert (table.records, table.paginator, dict(table.params)) == ("", Single(), {})


def test_without_defaults_a_table_has_tablespecs_own() -> None:
    source = Source(name="s", tables=(TableSpec("a", "/a", ID),))
    table = source.table("a")
    assert (table.records, table.paginator, dict(table.params)) == ("", Single(), {})


def test_a_default_is_validated_with_the_table_it_lands_in() -> None:
    """A default that makes a table wrong is refused naming that table: a Relay paginator on a table without a
    GraphQL body."""
    with pytest.raises(ValueError, match="table 'a': a Relay paginator needs a GraphQL body"):
        Source(
            name="s",
            table_defaults=TableDefaults(paginator=Relay(page_info="data.items.pageInfo")),
            tables=(TableSpec("a", "/a", ID),),
        )


def test_a_table_policy_sets_its_page_size_and_page_limit_over_the_sources(monkeypatch: object) -> None:
    """Source page size 25, table b 100 and at most 7 pages; a moved configuration key still wins this release."""
    import async_core.settings as settings_module

    source = Source(
        name="s",
        base_url="https://api.example.com",
        policy=Policy(page_size=25),
        tables=(
            TableSpec("a", "/a", ID),
            TableSpec("b", "/b", ID, policy=TablePolicy(page_size=100, max_pages_per_table=7)),
        ),
    )
    patch = monkeypatch.setattr  # type: ignore[attr-defined]
    patch(settings_module, "load_source", lambda name=None: source)
    settings, _ = parse_settings({"source": "s"})
    a, b = source.table("a"), source.table("b")
    assert (settings.table_value(a, "page_size"), settings.table_value(b, "page_size")) == (25, 100)
    assert settings.table_value(b, "max_pages_per_table") == 7
    assert settings.table_value(a, "max_pages_per_table") == Policy().max_pages_per_table
    moved, _ = parse_settings({"source": "s", "page_size": "10"})
    assert moved.table_value(b, "page_size") == 10
    with pytest.raises(ValueError, match="page_size is -1"):
        TablePolicy(page_size=-1)
