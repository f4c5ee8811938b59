"""The setup form and its connection test, as the SDK's CLI runs them (`fivetran configuration --test`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.devtools import pytest
from tests.e2e.project import FIVETRAN, ROOT, environment, make_project

pytestmark = pytest.mark.e2e


def run_setup_test(folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(FIVETRAN), "configuration", "--test", "--non-interactive"],
        cwd=folder,
        env=environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_connection_test_passes_on_the_playground(tmp_path: Path) -> None:
    """With the shipped-style configuration the test fetches a first page of each table and passes."""
    project = make_project(tmp_path / "project", {"base_url": "playground", "playground_faults": "none"})
    result = run_setup_test(project)
    assert result.returncode == 0, result.stdout[-2000:]
    assert "[connection_test - Test connection: fetch the first page of each selected table]: PASSED" in result.stdout


def test_the_connection_test_names_a_bad_value_in_one_line(tmp_path: Path) -> None:
    """A bad configuration value fails the test with the line that names the key and what is allowed."""
    project = make_project(tmp_path / "project", {"base_url": "playground", "max_workers": "lots"})
    result = run_setup_test(project)
    assert result.returncode == 1
    assert "configuration key 'max_workers' has value 'lots': expected a whole number from 1 to 512" in result.stdout


def test_the_form_lists_every_key_with_secrets_as_passwords() -> None:
    """Every configuration key is a field; the source's secrets are password fields (the shipped form's
    jsonplaceholder, and api_playground's form); choices are dropdowns."""
    sys.path.insert(0, str(ROOT))
    import connector  # the project's own connector.py
    from async_core.settings import PARSERS

    fields = {field.name: field for field in connector.configuration_form().to_response().fields}
    assert set(PARSERS) <= set(fields)
    assert fields["api_key"].text_field == 1  # TextField.password
    other = {field.name: field for field in connector.setup_form("api_playground").to_response().fields}
    assert set(PARSERS) <= set(other)
    for secret in ("api_key", "bearer_token", "basic_password", "session_password"):
        assert other[secret].text_field == 1, secret  # TextField.password
    assert [option.value for option in fields["source"].dropdown_options] == [
        "api_playground",
        "jsonplaceholder",
        "shop_graphql",
    ]
    assert fields["enable_circuit_breaker"].toggle
