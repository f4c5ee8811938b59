"""Below Python 3.11, connector.py stops in one line that names 3.11, before it imports anything that would not parse.

`async_core` uses `except*`, a SyntaxError on 3.10. The SDK's loader (`fivetran debug`) catches Exception and prints
it with its location; SystemExit goes through it, so the refusal is one line on stderr and exit status 1.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.devtools import pytest
from tests.e2e.project import ROOT, environment

pytestmark = pytest.mark.e2e

CONNECTOR = ROOT / "connector.py"

# Runs connector.py as if on Python 3.10: prints what it raised and which modules it imported before stopping.
AS_IF_ON_310 = """
import json, runpy, sys
before = set(sys.modules)
sys.version_info = (3, 10, 13, "final", 0)
try:
    runpy.run_path(sys.argv[1], run_name="connector")
except SystemExit as stop:
    print(json.dumps({"code": stop.code, "imported": sorted(set(sys.modules) - before)}))
"""

# The SDK's own loader, as `fivetran debug` calls it, with the version check seeing 3.10.
SDK_LOADER_AS_IF_ON_310 = """
import json, sys
from fivetran_connector_sdk_cli.cli_helpers import find_connector_object
sys.version_info = (3, 10, 13, "final", 0)
try:
    found = find_connector_object(sys.argv[1])
except SystemExit as stop:
    print(json.dumps({"code": stop.code}))
else:
    print(json.dumps({"returned": repr(found)}))
"""


def python(version: str) -> str | None:
    """A command that runs Python `version`: pythonX.Y from PATH, else pyenv's installation of it."""
    pyenv_root = os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))
    candidates = [shutil.which(f"python{version}"), *sorted(glob.glob(f"{pyenv_root}/versions/{version}.*/bin/python"))]
    for candidate in candidates:
        if candidate is None:
            continue
        probe = subprocess.run(
            [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if probe.returncode == 0 and probe.stdout.strip() == version:
            return candidate
    return None


@pytest.fixture
def python310() -> str:
    found = python("3.10")
    if found is None:
        pytest.skip("no Python 3.10 on this machine (neither python3.10 on PATH nor a pyenv 3.10.x)")
    return str(found)


def test_on_python_310_connector_py_prints_one_line_naming_311_and_exits_non_zero(
    tmp_path: Path, python310: str
) -> None:
    """The real 3.10 interpreter: exit status 1, stdout empty, stderr exactly one line that names 3.11."""
    result = subprocess.run(
        [python310, str(CONNECTOR)],
        cwd=tmp_path,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "Python 3.11 or newer" in lines[0]


def test_the_version_check_runs_before_any_other_import() -> None:
    """Seen as 3.10, connector.py stops with its message and has imported neither async_core nor the SDK."""
    result = subprocess.run(
        [sys.executable, "-c", AS_IF_ON_310, str(CONNECTOR)],
        env=environment(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    stopped = json.loads(result.stdout)
    assert "Python 3.11 or newer" in stopped["code"]
    assert "\n" not in stopped["code"]
    assert [name for name in stopped["imported"] if name.startswith(("async_core", "fivetran", "aiohttp"))] == []


def test_the_sdk_loader_lets_the_refusal_through_unchanged() -> None:
    """`fivetran debug`'s loader does not catch the SystemExit (which would print it as a multi-line SEVERE log)."""
    result = subprocess.run(
        [sys.executable, "-c", SDK_LOADER_AS_IF_ON_310, str(ROOT)],
        cwd=ROOT,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.count("\n") == 1, result.stdout
    assert "Python 3.11 or newer" in json.loads(result.stdout)["code"]
