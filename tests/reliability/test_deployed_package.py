"""What `fivetran deploy` uploads runs on what production has: the SDK and requirements.txt, nothing dev-only.

The package is the project folder as deploy sees it (tracked files plus untracked ones .gitignore does not exclude,
without `files/`, `__pycache__`, hidden files and configuration.json, which deploy skips too). A fresh virtual
environment gets only `fivetran-connector-sdk==3.0.0` and `-r requirements.txt`; the Makefile's pipreqs fix-up runs
with that environment's python; then that environment's `fivetran debug` syncs the embedded playground.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.devtools import pytest
from tests.e2e.project import ROOT, Warehouse

pytestmark = pytest.mark.reliability

SDK = "fivetran-connector-sdk==3.0.0"
SKIPPED_DIRECTORIES = {"files", "__pycache__", "crash-reports"}


def git_files(*arguments: str) -> list[str]:
    output = subprocess.run(
        ["git", "ls-files", "-z", *arguments], cwd=ROOT, capture_output=True, check=True, timeout=30
    ).stdout
    return [name for name in output.decode().split("\0") if name]


def deployed_files() -> list[str]:
    """The files deploy would upload, relative to the project root."""
    names = set(git_files()) | set(git_files("--others", "--exclude-standard"))
    kept = []
    for name in sorted(names):
        parts = Path(name).parts
        if SKIPPED_DIRECTORIES & set(parts[:-1]) or any(part.startswith(".") for part in parts):
            continue
        if name == "configuration.json" or name.endswith(".pyc") or not (ROOT / name).is_file():
            continue  # deploy skips configuration.json; a file deleted but still in the index is not uploaded
        kept.append(name)
    return kept


def run(command: list[str], *, cwd: Path, env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout
    )


@pytest.mark.timeout(600)  # installing into a fresh venv takes a minute or two
def test_the_deployed_package_syncs_with_only_its_runtime_requirements(tmp_path: Path) -> None:
    """A fresh venv with the SDK and requirements.txt only syncs 10/100/500 rows; pipreqs finds nothing missing."""
    package = tmp_path / "package"
    files = deployed_files()
    assert {"connector.py", "requirements.txt", "async_core/__init__.py", "sources/jsonplaceholder.py"} <= set(files)
    for name in files:
        (package / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, package / name)
    (package / "configuration.json").write_text(
        json.dumps({"base_url": "playground", "playground_faults": "none", "tables": "users,posts,comments"}),
        encoding="utf-8",
    )

    venv = tmp_path / "venv"
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update({"DO_NOT_TRACK": "1", "PYTHONUNBUFFERED": "1", "PATH": f"{venv / 'bin'}{os.pathsep}{env['PATH']}"})
    base_python = getattr(sys, "_base_executable", sys.executable)  # the interpreter behind this test's venv
    created = run([base_python, "-m", "venv", str(venv)], cwd=tmp_path, env=env, timeout=120)
    assert created.returncode == 0, created.stdout
    python = str(venv / "bin" / "python")
    installed = run(
        [python, "-m", "pip", "install", "--quiet", SDK, "-r", "requirements.txt"], cwd=package, env=env, timeout=400
    )
    assert installed.returncode == 0, installed.stdout[-3000:]
    fixed = run([python, "tools/pipreqs_top_level.py", "aiolimiter", "duckdb"], cwd=package, env=env, timeout=60)
    assert fixed.returncode == 0, fixed.stdout

    debug = run(
        [str(venv / "bin" / "fivetran"), "debug", "--configuration", "configuration.json"],
        cwd=package,
        env=env,
        timeout=180,
    )
    assert debug.returncode == 0, debug.stdout[-4000:]
    # pipreqs names the imports it could not match to an installed distribution (then it asks the network).
    unmatched = [line.strip() for line in debug.stdout.splitlines() if "not found locally" in line]
    assert "pipreqs check failed" not in debug.stdout, unmatched
    assert "Include the following dependency" not in debug.stdout
    assert "Traceback" not in debug.stdout
    warehouse = Warehouse(package)
    counts = {table: warehouse.count(table) for table in ("users", "posts", "comments")}
    assert counts == {"users": 10, "posts": 100, "comments": 500}
