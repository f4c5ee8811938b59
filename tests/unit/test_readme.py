"""The README's configuration table is the code's: the same keys, in the same order, with the same defaults."""

import dataclasses
import re
from pathlib import Path

from async_core.settings import MOVED_KEYS, NEW_POLICY_FIELDS, PARSERS, Settings
from async_core.source.catalogue import load_source
from async_core.source.policy import Policy
from tests.devtools import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


def configuration_table(header: str = "| key | default |") -> list[tuple[str, str]]:
    """(key, default) of each row of the table under "## Configuration file" that starts with `header`."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## Configuration file", 1)[1].split("\n## ", 1)[0]
    table = section.split(header, 1)[1].split("\n\n", 1)[0]  # up to the blank line after it
    return re.findall(r"^\| `(\w+)` \| `?([^`|]*?)`? \|", table, flags=re.MULTILINE)


def test_the_table_lists_every_key_in_order() -> None:
    """One row per key the settings parse, in the parsers' order."""
    assert [key for key, _ in configuration_table()] == list(PARSERS)


def test_the_policy_and_playground_tables_list_every_moved_key() -> None:
    """The source's policy table has one row per `Policy` field, in its order; the playground's table the rest of
    the keys that moved out of the configuration: together, exactly `MOVED_KEYS`."""
    policy = [key for key, _ in configuration_table("| field | default |")]
    playground = [key for key, _ in configuration_table("| knob | default |")]
    assert policy == [field.name for field in dataclasses.fields(Policy)]
    assert [key for key in policy if key not in NEW_POLICY_FIELDS] + playground == list(MOVED_KEYS)


@pytest.mark.parametrize("header", ["| key | default |", "| field | default |", "| knob | default |"])
def test_the_table_gives_the_codes_defaults(header: str) -> None:
    """Each default in the tables is the Settings default (for a policy field, `Policy`'s, the same), as
    configuration.json would write it."""
    defaults = {field.name: field.default for field in dataclasses.fields(Settings)}
    policy = {field.name: field.default for field in dataclasses.fields(Policy)}
    for key, documented in configuration_table(header):
        value = defaults[key]
        assert policy.get(key, value) == value, key
        if isinstance(value, tuple):
            expected = ",".join(value)
        elif isinstance(value, bool):
            expected = str(value).lower()
        elif isinstance(value, float):
            expected = f"{value:g}" if documented != f"{value}" else f"{value}"
        else:
            expected = str(getattr(value, "value", value))
        assert documented == (expected or "empty"), key


def test_source_keys_are_not_configuration_keys() -> None:
    """api_key belongs to the jsonplaceholder source (a source key), not to the connector's own table."""
    keys = [key for key, _ in configuration_table()]
    assert "api_key" not in keys
    assert "api_key" in {key.name for key in load_source("jsonplaceholder").keys}


TEMPLATE_SECTIONS = [
    "Connector overview",
    "Requirements",
    "Getting started",
    "Features",
    "Configuration file",
    "Requirements file",
    "Authentication",
    "Pagination",
    "Data handling",
    "Error handling",
    "Tables created",
    "Additional files",
    "Additional considerations",
]


def test_the_sections_are_those_of_fivetrans_readme_template() -> None:
    """The `##` headings are the example README template's, in its order, after the two commands."""
    text = README.read_text(encoding="utf-8")
    outside_code = re.sub(r"(?ms)^```.*?^```", "", text)
    assert re.findall(r"^## (.+)$", outside_code, flags=re.MULTILINE) == TEMPLATE_SECTIONS
    first = text.split("\n## ", 1)[0]
    assert first.index("make debug") < first.index("make test")
