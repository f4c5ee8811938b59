"""A throwaway copy of the connector project, run with the real `fivetran debug`, and its DuckDB warehouse.

The copy holds what `fivetran deploy` would upload for production (connector.py, async_core, sources, requirements.txt)
and a configuration.json written by the test, so every end-to-end test runs the real SDK runner in its own folder.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.devtools import duckdb

ROOT = Path(__file__).resolve().parents[2]
RUNTIME = ("connector.py", "requirements.txt", "async_core", "sources")
FIVETRAN = Path(sys.executable).parent / "fivetran"


def make_project(folder: Path, configuration: Mapping[str, str]) -> Path:
    """Copies the runtime files into `folder` and writes its configuration.json."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in RUNTIME:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, folder / name, ignore=shutil.ignore_patterns("__pycache__"), dirs_exist_ok=True)
        else:
            shutil.copy2(source, folder / name)
    write_configuration(folder, configuration)
    return folder


def write_configuration(folder: Path, configuration: Mapping[str, str]) -> None:
    (folder / "configuration.json").write_text(json.dumps(dict(configuration), indent=2), encoding="utf-8")


def debug_command() -> list[str]:
    return [str(FIVETRAN), "debug", "--configuration", "configuration.json"]


def environment() -> dict[str, str]:
    env = dict(os.environ)
    env.update({"DO_NOT_TRACK": "1", "PYTHONUNBUFFERED": "1"})
    env["PATH"] = f"{FIVETRAN.parent}{os.pathsep}{env.get('PATH', '')}"  # the CLI runs pipreqs from PATH
    env.pop("PYTHONPATH", None)  # the copy must stand on its own
    return env


def run_debug(folder: Path, *, timeout: float = 150) -> subprocess.CompletedProcess[str]:
    """Runs `fivetran debug` in `folder` to the end; output is stdout and stderr together."""
    return subprocess.run(
        debug_command(),
        cwd=folder,
        env=environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
        check=False,
    )


@contextmanager
def started_debug(folder: Path) -> Iterator[subprocess.Popen[str]]:
    """`fivetran debug` in the background; killed on exit if still running."""
    process = subprocess.Popen(
        debug_command(), cwd=folder, env=environment(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)


def wait_for(predicate: Any, *, timeout: float, interval: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


def state_of(folder: Path) -> dict[str, Any] | None:
    path = folder / "files" / "state.json"
    if not path.exists():
        return None
    try:
        state: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return None  # being replaced right now
    return state


class Warehouse:
    """Read-only view of files/warehouse.db (schema `tester`)."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / "files" / "warehouse.db"

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        connection = duckdb.connect(str(self.path), read_only=True)
        try:
            rows: list[tuple[Any, ...]] = connection.execute(sql).fetchall()
            return rows
        finally:
            connection.close()

    def tables(self) -> set[str]:
        """The connector's tables (schema `tester`); the SDK's own bookkeeping table is not one."""
        if not self.path.exists():
            return set()
        query = "select table_name from information_schema.tables where table_schema = 'tester'"
        return {row[0] for row in self.query(query)}

    def count(self, table: str) -> int:
        return int(self.query(f"select count(*) from tester.{table}")[0][0])

    def ids(self, table: str) -> list[int]:
        return [row[0] for row in self.query(f"select id from tester.{table} order by id")]
