"""The asyncio variant of Fivetran's "Complex Error Handling with Multi-Threading" example.

This file stays thin: `schema()` and `update()` delegate to `async_core`, which runs the sync on an event loop
and feeds the SDK's operations from this (the calling) thread. See README.md.
"""

import json
from pathlib import Path

from fivetran_connector_sdk import Connector
from fivetran_connector_sdk import Logging as log
from fivetran_connector_sdk import Operations as op

from async_core import ConfigurationError, StateError, run_sync, schema_for, schema_selection


def schema(configuration: dict) -> list:
    """The configured source's tables with their column types, plus `sync_runs` and `sync_errors`."""
    return schema_for(*schema_selection(configuration))


def update(configuration: dict, state: dict) -> None:
    """One sync. A bad configuration or a stopped sync fails it with one clear line (`op.error`)."""
    try:
        result = run_sync(configuration, state, sink=op, log=log)
    except ConfigurationError as error:
        op.error(f"invalid configuration: {error}")
        return
    except StateError as error:
        op.error(f"cannot resume: {error}")
        return
    log.info("sync summary: " + json.dumps(result.summary, sort_keys=True))
    if result.status == "failed":
        op.error(f"sync stopped: {result.message}")


connector = Connector(update=update, schema=schema)

if __name__ == "__main__":
    configuration = json.loads((Path(__file__).parent / "configuration.json").read_text(encoding="utf-8"))
    connector.debug(configuration=configuration)
