"""The box server's API as a source (`benchmarks.box.server`): json-server paging (`_page`, `_limit`,
`X-Total-Count`) over three collections.

    items      big rows: `payload` is a string of `--row-bytes` characters
    parents    small rows, the parents of `children`
    children   /parents/{parent_id}/children: 1 to 3 rows per parent (1 + id % 3)

Not a module of `sources/` (it is not part of the connector): `install()` registers it as `sources.box` for the
process that runs the box's connector, so that `source = box` finds it.
"""

from __future__ import annotations

import sys

from async_core.source import Column, JsonServer, Parent, Source, TableSpec

NAME = "box"
PAGES = JsonServer()
ID = Column("id", "id", "INT")

SOURCE = Source(
    name=NAME,
    base_url="",
    default_tables=("items",),
    tables=(
        TableSpec(name="items", path="/items", columns=(ID, Column("payload", "payload", "STRING")), paginator=PAGES),
        TableSpec(name="parents", path="/parents", columns=(ID, Column("name", "name", "STRING")), paginator=PAGES),
        TableSpec(
            name="children",
            path="/parents/{parent_id}/children",
            parent=Parent("parents"),
            columns=(
                Column("parent_id", "id", "INT", from_parent=True),
                ID,
                Column("value", "value", "STRING"),
            ),
            paginator=PAGES,
        ),
    ),
)


def install() -> None:
    """Makes `source = box` load this module (the catalogue imports `sources.<name>`)."""
    sys.modules[f"sources.{NAME}"] = sys.modules[__name__]
