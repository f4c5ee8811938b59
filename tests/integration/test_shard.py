"""`shard`: connections with shards 1/2 and 2/2 of a child table land together exactly what one unsharded
connection lands, none twice; the parent table splits the same way (a parent lands with its children)."""

from __future__ import annotations

import dataclasses
from typing import Any

from aiohttp import web

from async_core import StdLog, run_sync
from async_core.settings import parse_settings
from async_core.source import Column, Parent, Source, TableSpec
from async_core.source.shard import parse_shard
from tests.devtools import pytest
from tests.integration.servers import serve
from tests.sinks import RecordingSink

FAST = {"base_delay": "0", "max_delay": "0", "retry_jitter": "none", "enable_circuit_breaker": "false"}
COMPANIES = TableSpec(name="companies", path="/companies", records="data", columns=(Column("id", "id", "INT"),))
DEPARTMENTS = TableSpec(
    name="departments",
    path="/companies/{company_id}/departments",
    records="data",
    columns=(Column("company_id", "id", "INT", from_parent=True), Column("department_id", "id", "STRING")),
    primary_key=("company_id", "department_id"),
    parent=Parent("companies"),
)
SOURCE = Source(name="org_api", tables=(COMPANIES, DEPARTMENTS))


def org_api(parents: int) -> Any:
    """`parents` companies (pages of `_limit`), each with 1 to 3 departments."""

    async def handler(request: web.Request) -> web.StreamResponse:
        if request.path == "/companies":
            return web.json_response({"data": [{"id": n} for n in range(1, parents + 1)]})
        company = int(request.path.split("/")[2])
        return web.json_response({"data": [{"id": f"{company}-d{k}"} for k in range(1 + company % 3)]})

    return handler


def keys(sink: RecordingSink, table: str) -> list[tuple[Any, ...]]:
    spec = SOURCE.table(table)
    return [tuple(row[name] for name in spec.primary_key) for row in sink.rows(table)]


def sync(url: str, shard: str) -> RecordingSink:
    configuration = {"base_url": url, "max_workers": "16", "checkpoint_every_rows": "5000", **FAST}
    settings, _ = parse_settings(configuration)
    settings = dataclasses.replace(
        settings,
        source=SOURCE.name,
        catalogue=SOURCE,
        tables=("companies", "departments"),
        shard=parse_shard("shard", shard),
    )
    sink = RecordingSink()
    result = run_sync(configuration, None, sink=sink, log=StdLog(), settings=settings)
    assert result.status == "succeeded", result.message
    return sink


@pytest.mark.parametrize(
    "parents", [pytest.param(300, id="300"), pytest.param(10_000, id="10000", marks=pytest.mark.reliability)]
)
def test_two_shards_land_together_what_one_connection_lands_none_twice(parents: int) -> None:
    """Issue 21's check at 10,000 parents (the reliability suite: three syncs of 10,000 parent walks), and at 300
    in make test."""
    with serve(org_api(parents)) as (url, _):
        whole, first, second = sync(url, "1/1"), sync(url, "1/2"), sync(url, "2/2")
    for table in ("companies", "departments"):
        together = keys(first, table) + keys(second, table)
        assert len(together) == len(set(together)), f"{table}: a row landed in both shards"
        assert sorted(together) == sorted(keys(whole, table)), table
        assert keys(first, table), f"{table}: shard 1/2 landed nothing"
        assert keys(second, table), f"{table}: shard 2/2 landed nothing"
    # a company lands in the shard that walks its departments
    for sink in (first, second):
        assert {key[0] for key in keys(sink, "departments")} == {key[0] for key in keys(sink, "companies")}
    assert len(keys(whole, "departments")) == sum(1 + n % 3 for n in range(1, parents + 1))
