"""Declaration mistakes in a source's `Policy` and a table's `TablePolicy` are refused at import with one line
naming the field and the fix; a cross-key rule names the key the user can change (red team of issue 19)."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import sys
import types
from pathlib import Path
from typing import Any

from fivetran_connector_sdk_cli.configuration_command import prompt_for_configuration  # type: ignore[import-untyped]

import connector
from async_core import setup
from async_core.errors import ConfigurationError
from async_core.settings import parse_settings, unknown_key_warning
from async_core.source import BearerAuth, Column, ConfigKey, Policy, Source, TableDefaults, TablePolicy, TableSpec
from async_core.source.catalogue import known, load_source
from tests.devtools import pytest

ID = (Column("id", "id", "INT"),)
README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"retry_jitter": "bogus"}, "retry_jitter is 'bogus'; expected one of none, full, equal, decorrelated"),
        ({"concurrency": "x"}, "concurrency is 'x'; expected one of adaptive, fixed"),
        # "false" is a truthy string: accepted, it would have allowed plain http
        ({"allow_insecure_http": "false"}, "allow_insecure_http must be True or False, not 'false'"),
        ({"allow_insecure_http": 1}, "allow_insecure_http must be True or False, not 1"),
    ],
)
def test_a_bad_choice_or_switch_in_a_policy_names_the_field(arguments: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match="^policy: ") as raised:
        Policy(**arguments)
    assert message in str(raised.value)


def test_a_tables_policy_must_be_a_table_policy() -> None:
    """A source's Policy given to a table kept only page_size and max_pages_per_table; max_wait_seconds was
    silently ignored. A dict or a number failed at sync time with an AttributeError."""
    for policy in (Policy(max_wait_seconds=5), {"page_size": 10}, 5):
        with pytest.raises(ValueError, match=r"table 't': policy is a .*: expected TablePolicy\(page_size=") as raised:
            TableSpec("t", "/t", ID, policy=policy)  # type: ignore[arg-type]
        assert "\n" not in str(raised.value)


def test_a_sources_policy_must_be_a_policy() -> None:
    """A TablePolicy, a dict or None on the Source was accepted, then every sync failed with an AttributeError."""
    for policy in (TablePolicy(page_size=5), {"page_size": 5}, None):
        with pytest.raises(ValueError, match=r"source 's': policy is a .*: expected Policy\(\.\.\.\)"):
            Source(name="s", base_url="https://api.example.com", tables=(TableSpec("t", "/t", ID),), policy=policy)  # type: ignore[arg-type]


def test_a_base_delay_above_the_sources_max_delay_names_base_delay() -> None:
    """max_delay is no longer a configuration key: the error names base_delay (what the user set) and where
    max_delay now lives, not a key 'max_delay' with a value the configuration does not hold."""
    with pytest.raises(ConfigurationError) as raised:
        parse_settings({"base_delay": "40"})
    assert raised.value.key == "base_delay"
    assert "max_delay (30" in str(raised.value)
    assert "Policy(max_delay=" in str(raised.value)
    with pytest.raises(ConfigurationError) as moved:  # the moved key given: it is the one named, as before
        parse_settings({"base_delay": "40", "max_delay": "35"})
    assert moved.value.key == "max_delay"


def test_a_shard_of_a_source_without_child_tables_says_there_is_nothing_to_split() -> None:
    """jsonplaceholder has no child table: the fix 'tables = the child tables and their parents' was impossible."""
    with pytest.raises(ConfigurationError) as raised:
        parse_settings({"shard": "1/2"})
    assert raised.value.key == "shard"
    assert "source 'jsonplaceholder' has no child table" in str(raised.value)
    assert "leave shard empty (1/1)" in str(raised.value)


REQUIRED = Source(
    name="needs_token",
    base_url="https://api.example.com",
    keys=(ConfigKey("my_api_token", "API token", secret=True, required=True),),
    auth=BearerAuth(token_key="my_api_token"),
    tables=(TableSpec("t", "/t", ID),),
)


@pytest.mark.parametrize("given", [{}, {"my_api_token": ""}, {"my_api_token": "  "}])
def test_a_required_source_key_left_out_is_refused_naming_it(monkeypatch: Any, given: dict[str, str]) -> None:
    """The form marks it required, but validate_configuration accepted a configuration without it (and the setup
    test then failed with a traceback from the engine instead of a line)."""
    monkeypatch.setitem(sys.modules, "sources.needs_token", types.SimpleNamespace(SOURCE=REQUIRED))
    with pytest.raises(ConfigurationError) as raised:
        parse_settings({"source": "needs_token", **given})
    assert raised.value.key == "my_api_token"
    assert "required by source 'needs_token'" in str(raised.value)
    assert "API token" in str(raised.value)
    assert setup.test_connection({"source": "needs_token", **given}) == f"invalid configuration: {raised.value}"


def test_the_setup_test_reports_a_credential_an_auth_lacks_in_one_line(monkeypatch: Any) -> None:
    """A key an auth reads but the source does not declare required: the engine refuses it at start; the setup test
    says so in one line instead of raising."""
    optional = dataclasses.replace(REQUIRED, keys=(), name="needs_token")
    monkeypatch.setitem(sys.modules, "sources.needs_token", types.SimpleNamespace(SOURCE=optional))
    problem = setup.test_connection({"source": "needs_token"})
    assert problem is not None
    assert "'my_api_token'" in problem


def test_a_policy_only_field_in_the_configuration_is_pointed_to_its_home() -> None:
    """memory_budget_mb is in the README's policy table but was never a key: 'not known' did not say where it goes."""
    assert unknown_key_warning("memory_budget_mb") == (
        "configuration key 'memory_budget_mb' is ignored: it is not a configuration key but part of the source's "
        "declaration: Source(policy=Policy(memory_budget_mb=...)) in sources/<source>.py"
    )
    assert (
        unknown_key_warning("max_worker")
        == "configuration key 'max_worker' is not known to this connector and is ignored"
    )


def test_the_readmes_source_row_and_keys_table_name_every_source_of_the_form() -> None:
    """The form's `source` dropdown offers every module of sources/; the README's row named two of three, and its
    table of source keys left out shop_graphql's four (OAuth2) keys."""
    text = README.read_text(encoding="utf-8").split("## Configuration file", 1)[1].split("\n## ", 1)[0]
    row = next(line for line in text.splitlines() if line.startswith("| `source` |"))
    allowed = row.split(" | ")[2]
    assert [name for name in known() if f"`{name}`" not in allowed] == []
    keys_table = text.split("| source | key | meaning |", 1)[1].split("\n\n", 1)[0]
    for name in known():
        declared = [key.name for key in load_source(name).keys]
        line = next((line for line in keys_table.splitlines() if line.startswith(f"| `{name}` |")), "")
        assert [key for key in declared if f"`{key}`" not in line] == [], name


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"records": 5}, 'table defaults: records is 5; expected a dotted path string such as "data"'),
        ({"paginator": "x"}, "table defaults: paginator is 'x'; expected a paginator such as JsonServer()"),
        ({"params": "abc"}, "table defaults: params is 'abc'; expected a mapping of names to strings"),
        ({"params": {"page": 1}}, "table defaults: params is {'page': 1}; expected a mapping of names to strings"),
    ],
)
def test_bad_table_defaults_are_refused_naming_the_field(arguments: dict[str, Any], message: str) -> None:
    """A paginator 'x' was accepted (then failed at sync time); records=5 an AttributeError; params a cryptic
    dict() error."""
    with pytest.raises(ValueError) as raised:
        TableDefaults(**arguments)
    assert str(raised.value) == message


def test_a_sources_table_defaults_must_be_table_defaults() -> None:
    with pytest.raises(ValueError, match=r"source 's': table_defaults is a dict: expected TableDefaults\("):
        Source(name="s", tables=(TableSpec("t", "/t", ID),), table_defaults={"records": "data"})  # type: ignore[arg-type]


def test_the_sdks_own_form_prompt_answered_with_defaults_gives_a_valid_configuration() -> None:
    """`fivetran configuration` writes "" for every field left blank (the placeholders say the defaults): the
    configuration it wrote was refused ("tables" has value ""), though the form and the README say empty is the
    source's default tables."""
    with contextlib.redirect_stdout(io.StringIO()):
        answers = prompt_for_configuration(
            connector.configuration_form().to_response().fields, input_fn=lambda _: "", secret_fn=lambda _: ""
        )
    assert answers["tables"] == ""
    connector.validate_configuration(answers)
    settings, unknown = parse_settings(answers)
    assert settings.tables == ("users", "posts", "comments")
    assert unknown == []
    with pytest.raises(ConfigurationError, match="'tables' has value ' , ,'"):  # names nothing, though not blank
        parse_settings({"tables": " , ,"})


def test_a_bound_in_a_policy_message_is_written_out() -> None:
    """ "at most 1e+07" and "from 1 to 1e+08" read like a formula; the numbers are written as a user types them."""
    with pytest.raises(ValueError, match=r"checkpoint_every_rows is 0; expected at least 1, at most 10000000$"):
        Policy(checkpoint_every_rows=0)
    with pytest.raises(ValueError, match=r"expected a whole number from 1 to 100000000$"):
        TablePolicy(max_pages_per_table=0)
    with pytest.raises(ValueError, match=r"max_delay is -1; expected at least 0, at most 3600$"):
        Policy(max_delay=-1)


def test_a_source_key_named_like_a_configuration_key_is_refused(monkeypatch: Any) -> None:
    """ConfigKey('max_workers') was parsed as the connector's key and the source's at once, and the form listed
    'max_workers' twice (the SDK's `fivetran configuration` refuses a duplicate field name)."""
    clash = dataclasses.replace(REQUIRED, keys=(ConfigKey("max_workers", "Workers"),), name="needs_token")
    monkeypatch.setitem(sys.modules, "sources.needs_token", types.SimpleNamespace(SOURCE=clash))
    with pytest.raises(ConfigurationError, match="declares key 'max_workers', a key of the connector") as raised:
        parse_settings({"source": "needs_token", "my_api_token": "t"})
    assert raised.value.key == "source"
    with pytest.raises(ConfigurationError, match="declares key 'max_workers'"):
        setup.form_fields(clash)
    moved = dataclasses.replace(clash, keys=(ConfigKey("page_size", "Page size"),))  # a moved key too
    with pytest.raises(ConfigurationError, match="declares key 'page_size'"):
        setup.form_fields(moved)


def test_a_blank_moved_key_does_not_override_a_tables_policy(monkeypatch: Any) -> None:
    """ "page_size": "" (an old file's blank value) took the default, yet counted as given: it replaced the
    table's TablePolicy(page_size=100) with the source's 25."""
    table = TableSpec("t", "/t", ID, policy=TablePolicy(page_size=100, max_pages_per_table=9))
    own = Source(name="table_policy", base_url="https://api.example.com", tables=(table,))
    monkeypatch.setitem(sys.modules, "sources.table_policy", types.SimpleNamespace(SOURCE=own))
    settings, _ = parse_settings({"source": "table_policy", "page_size": "", "max_pages_per_table": " "})
    assert settings.table_value(table, "page_size") == 100
    assert settings.table_value(table, "max_pages_per_table") == 9
    given, _ = parse_settings({"source": "table_policy", "page_size": "7"})  # a value given still wins
    assert given.table_value(table, "page_size") == 7
