"""A bad configuration ends `fivetran debug` at once: one line naming the key, no traceback, nothing written."""

from pathlib import Path

from tests.devtools import pytest
from tests.e2e.project import Warehouse, make_project, run_debug

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("max_workers", "abc"),
        ("max_workers", "0"),
        ("max_workers", "5000"),
        ("retry_strategy", "sometimes"),
        ("base_url", "ftp://x"),
    ],
)
def test_bad_value_fails_in_one_line(tmp_path: Path, key: str, value: str) -> None:
    """Exit non-zero; the key and the value in one line; no traceback; no state and no table written."""
    project = make_project(tmp_path / "project", {"base_url": "playground", key: value})
    result = run_debug(project)
    assert result.returncode != 0, result.stdout
    lines = [line for line in result.stdout.splitlines() if f"configuration key {key!r}" in line]
    assert len(lines) == 1, result.stdout
    assert repr(value) in lines[0]
    assert "Traceback" not in result.stdout
    assert not (project / "files" / "state.json").exists()
    assert Warehouse(project).tables() == set()
