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

from fivetran_connector_sdk import ConfigurationForm, Connector, Test, form_field
from fivetran_connector_sdk import Logging as log
from fivetran_connector_sdk import Operations as op

from async_core import ConfigurationError, StateError, parse_settings, run_sync, schema_for, schema_selection
from async_core.setup import form_fields, test_connection
from async_core.source import Source

# The source whose keys (credentials) the setup form asks for. The SDK's form cannot show fields depending on the
# `source` a user picks, so a connector deployed for another source of sources/ names it here.
FORM_SOURCE = "jsonplaceholder"


def validate_configuration(configuration: dict) -> None:
    """Raises `ValueError` with one line naming the key, the value and what is allowed, for the first bad value."""
    try:
        parse_settings(configuration)
    except ConfigurationError as error:
        raise ValueError(str(error)) from None


def schema(configuration: dict) -> list:
    """The configured source's tables with their column types, plus `sync_runs` and `sync_errors`.

    A bad configuration is `update()`'s to report, in one line; here it falls back to the default tables rather than
    fail before that line is printed."""
    try:
        validate_configuration(configuration)
    except ValueError:
        log.warning("schema(): the configuration is invalid (the sync says why); declaring the default tables")
    return schema_for(*schema_selection(configuration))


def update(configuration: dict, state: dict) -> None:
    """One sync. A bad configuration or a stopped sync fails it with one clear line (`op.error`); a partial sync
    succeeds with a warning on the dashboard (`op.warning`)."""
    try:
        validate_configuration(configuration)
    except ValueError as error:
        op.error(f"invalid configuration: {error}")
        return
    try:
        result = run_sync(configuration, state, sink=op, log=log)
    except ConfigurationError as error:
        op.error(f"invalid configuration: {error}")
        return
    except StateError as error:
        op.error(f"cannot resume: {error}")
        return
    log.info("sync summary: " + json.dumps(result.summary, sort_keys=True))
    for line in result.warnings:  # to the dashboard: a cursor that read nothing, say
        op.warning(line)
    if result.status == "failed":
        op.error(f"sync stopped: {result.message}")
    elif result.status == "partial":
        op.warning(f"sync partial: {result.message}")


def configuration_form() -> ConfigurationForm:
    """The setup form: the keys a user decides and `FORM_SOURCE`'s credentials, and a "Test connection"."""
    return setup_form(FORM_SOURCE)


def setup_form(source: str | Source) -> ConfigurationForm:
    """The keys a user decides and `source`'s own keys (secrets as password fields, choices as dropdowns, switches
    as toggles, defaults as placeholders) and a "Test connection" that fetches the first page of each table."""
    form = ConfigurationForm()
    for field in form_fields(source):
        description = field.description or None
        placeholder = field.placeholder or None
        if field.kind == "dropdown":
            options = [form_field.DropdownFieldParam(value=option) for option in field.options]
            form.add_field(
                form_field.DropdownField(
                    field.name,
                    field.label,
                    fields=options,
                    description=description,
                    required=field.required,
                    placeholder=placeholder,
                )
            )
        elif field.kind == "toggle":
            form.add_field(
                form_field.ToggleField(field.name, field.label, description=description, required=field.required)
            )
        else:
            kind = form_field.TextField.password if field.kind == "password" else form_field.TextField.plain_text
            form.add_field(
                form_field.TextField(
                    field.name,
                    field.label,
                    kind,
                    description=description,
                    required=field.required,
                    placeholder=placeholder,
                )
            )
    form.add_test(label="Test connection: fetch the first page of each selected table", func=connection_test)
    return form


def connection_test(configuration: dict) -> object:
    """The setup test: a clear line for what failed (bad configuration, a table whose first page cannot be had)."""
    try:
        validate_configuration(configuration)
    except ValueError as error:
        return Test().failure(f"invalid configuration: {error}")
    problem = test_connection(configuration)
    return Test().success() if problem is None else Test().failure(problem)


connector = Connector(update=update, schema=schema, configuration_form=configuration_form)

if __name__ == "__main__":
    configuration = json.loads((Path(__file__).parent / "configuration.json").read_text(encoding="utf-8"))
    connector.debug(configuration=configuration)
