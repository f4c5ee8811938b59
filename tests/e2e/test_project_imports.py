"""`fivetran debug` in the project folder runs pipreqs over every .py file (tests and benchmarks included) and
compares the imports with requirements.txt. This checks the whole tree the way the SDK does: no import sends
pipreqs to the network, and the imports it finds are exactly the runtime requirements."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.devtools import pytest
from tests.e2e.project import FIVETRAN, ROOT, environment

pytestmark = pytest.mark.e2e

# What the SDK passes to pipreqs: fivetran_connector_sdk_common.constants.EXCLUDED_PIPREQS_DIRS, plus every folder
# of the project that holds a pyvenv.cfg (.venv, .venv-3.13, ...).
EXCLUDED_PIPREQS_DIRS = ["bin", "etc", "include", "lib", "Lib", "lib64", "Scripts", "share"]


def ignored_folders() -> str:
    virtualenvs = sorted(path.name for path in ROOT.iterdir() if (path / "pyvenv.cfg").is_file())
    return ",".join(EXCLUDED_PIPREQS_DIRS + virtualenvs)


PREINSTALLED = {"fivetran_connector_sdk", "requests"}  # the SDK drops these before comparing


def requirement_names(path: Path) -> set[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return {line.split("==")[0].strip().lower() for line in lines if line.strip() and not line.startswith("#")}


def test_pipreqs_over_the_whole_project_stays_offline_and_finds_only_runtime_imports(tmp_path: Path) -> None:
    """pipreqs resolves every import locally, and what it finds is requirements.txt (plus what Fivetran preinstalls)."""
    found = tmp_path / "found.txt"
    result = subprocess.run(
        [str(FIVETRAN.parent / "pipreqs"), str(ROOT), "--savepath", str(found), "--ignore", ignored_folders()],
        env=environment(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "not found locally" not in result.stderr, result.stderr
    assert requirement_names(found) - PREINSTALLED == requirement_names(ROOT / "requirements.txt")
