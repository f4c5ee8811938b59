"""The asyncio variant of Fivetran's "Complex Error Handling with Multi-Threading" example.

This file stays thin: `schema()` and `update()` delegate to `async_core`, which runs the sync on an event loop
and feeds the SDK's operations from this (the calling) thread. See README.md.
"""

# The version check comes before every other import: async_core uses `except*` (Python 3.11), which an older
# interpreter cannot even parse, and a deployed connection would report that as a traceback. The SDK's loader
# (`fivetran debug`, `fivetran deploy`) catches Exception but not SystemExit, so this message is the one line
# printed, on stderr, with exit status 1; a runner that imports connector.py stops here the same way.
# `raise SystemExit`, not `sys.exit()`, which the SDK's check of connector.py flags as a possible hang.
import sys

if sys.version_info < (3, 11):  # noqa: UP036 (ruff targets 3.11; this line is for the interpreters that are not)
    raise SystemExit(
        f"This connector needs Python 3.11 or newer, not {sys.version.split()[0]}: run `fivetran debug` and "
        "`fivetran deploy` from a Python 3.11+ virtualenv, and deploy with `--python-version 3.13`."
    )

import json
from pathlib import Path

from fivetran_connector_sdk import Connector
from fivetran_connector_sdk import Logging as log
from fivetran_connector_sdk import Operations as op

from async_core import ConfigurationError, run_sync, schema_for, schema_tables


def schema(configuration: dict) -> list:
    """The configured tables with their column types, plus `sync_runs` and `sync_errors`."""
    return schema_for(schema_tables(configuration))


def update(configuration: dict, state: dict) -> None:
    """One sync. A bad configuration or a stopped sync fails it with one clear line (`op.error`)."""
    try:
        result = run_sync(configuration, state, sink=op, log=log)
    except ConfigurationError as error:
        op.error(f"invalid configuration: {error}")
        return
    log.info("sync summary: " + json.dumps(result.summary, sort_keys=True))
    if result.status == "failed":
        op.error(f"sync stopped: {result.message}")


connector = Connector(update=update, schema=schema)

if __name__ == "__main__":
    configuration = json.loads((Path(__file__).parent / "configuration.json").read_text(encoding="utf-8"))
    connector.debug(configuration=configuration)
