"""The box's connector, as `fivetran debug` loads it: the project folder's connector.py (`connector_py`) imports
this module by name and builds its `Connector` from `update_for(engine, result_path)` and `schema_for(engine)`.

The update times itself from inside (wall and CPU of update() alone) and writes one JSON object to `result_path`:
the process's start-up and the SDK's own work after update() are what the box's outside measurements add.
"""

from __future__ import annotations

import importlib
import json
import resource
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.box import source

source.install()  # before any configuration is parsed: `source = box` must load

Update = Callable[[dict[str, Any], dict[str, Any]], None]


def _workloads() -> Any:
    # benchmarks.workloads holds the engines and the schemas (imported here, after the box source is installed)
    return importlib.import_module("benchmarks.workloads")


def update_for(engine: str, result_path: str) -> Update:
    def update(configuration: dict[str, Any], state: dict[str, Any]) -> None:
        sdk = importlib.import_module("fivetran_connector_sdk")
        run = _workloads().ENGINES[engine]
        before = resource.getrusage(resource.RUSAGE_SELF)
        started = time.perf_counter()
        result = run(configuration, state, sink=sdk.Operations, log=sdk.Logging)
        seconds = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_SELF)
        summary = result.summary
        measured = {
            "engine": engine,
            "status": result.status,
            "message": result.message,
            "update_seconds": seconds,
            "update_cpu_seconds": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
            "requests": summary.get("resilience", {}).get("requests", 0),
            "checkpoints": result.checkpoints,
        }
        Path(result_path).write_text(json.dumps(measured, default=str), encoding="utf-8")
        if result.status == "failed":
            sdk.Operations.error(f"sync stopped: {result.message}")

    return update


def schema_for(engine: str) -> Callable[[dict[str, Any]], list[dict[str, Any]]]:
    workloads = _workloads()
    schema: Callable[[dict[str, Any]], list[dict[str, Any]]] = workloads.SCHEMAS.get(engine, workloads.schema_of)
    return schema


def connector_py(root: Path, engine: str, result_path: Path) -> str:
    """The project folder's connector.py: only importlib and sys are imported statically (pipreqs has nothing to
    look up); the rest comes from the benchmark's checkout."""
    return (
        f'"""The box\'s {engine} connector (benchmarks/box/entry.py), run by `fivetran debug`."""\n\n'
        "import importlib\nimport sys\n\n"
        f"sys.path.insert(0, {str(root)!r})\n"
        'entry = importlib.import_module("benchmarks.box.entry")\n'
        'sdk = importlib.import_module("fivetran_connector_sdk")\n'
        f"connector = sdk.Connector(update=entry.update_for({engine!r}, {str(result_path)!r}), "
        f"schema=entry.schema_for({engine!r}))\n"
    )
