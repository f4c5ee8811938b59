"""A source's own error rules, over real loopback HTTP: an error envelope on a 200, a 404 for the children of
deleted parents, records flagged as duplicates; with the rules declared and without them (today's behaviour)."""

from __future__ import annotations

import collections
import dataclasses
import re
from typing import Any

from aiohttp import web

from async_core import StdLog, run_sync
from async_core.settings import parse_settings
from async_core.source import (
    Column,
    PageNumber,
    Parent,
    RecordAction,
    RecordRule,
    ResponseAction,
    ResponseRule,
    Single,
    Source,
    TableSpec,
)
from async_core.sync import SyncResult
from sources.jsonplaceholder import SOURCE as JSONPLACEHOLDER
from tests.integration.servers import paged, rows, serve
from tests.sinks import RecordingSink

FAST = {"base_delay": "0", "max_delay": "0", "retry_jitter": "none", "enable_circuit_breaker": "false"}

# The shop's API: 25 orders in pages of 10 ({"data": [...], "total": 25}); orders 7 and 18 are duplicates the
# server flags, order 9 is corrupt. Page 2 answers {"error": "busy"} with a 200 the first time it is asked for.
# Customers 1..4; customers 2 and 4 were just deleted: their addresses answer 404 {"error": "customer not found"}.
DUPLICATES = {7, 18}
CORRUPT = 9
DELETED = {2, 4}


def order(i: int) -> dict[str, Any]:
    if i in DUPLICATES:
        return {"id": i, "item": f"item {i - 5}", "status": "DUPLICATE_RECORD", "duplicate_of": i - 5}
    if i == CORRUPT:
        return {"id": i, "item": "???", "status": "CORRUPT"}
    return {"id": i, "item": f"item {i}", "status": "OK"}


def shop() -> Any:
    asked: collections.Counter[str] = collections.Counter()

    async def handler(request: web.Request) -> web.StreamResponse:
        asked[request.path_qs] += 1
        if request.path == "/orders":
            page, size = int(request.query["page"]), int(request.query["per_page"])
            if page == 2 and asked[request.path_qs] == 1:
                return web.json_response({"error": "busy"})  # an error envelope, with a 200
            data = [order(i) for i in range((page - 1) * size + 1, min(page * size, 25) + 1)]
            return web.json_response({"data": data, "total": 25})
        if request.path == "/customers":
            return web.json_response({"data": [{"id": i, "name": f"c{i}"} for i in range(1, 5)]})
        customer = int(request.path.split("/")[2])
        if customer in DELETED:
            return web.json_response({"error": "customer not found"}, status=404)
        return web.json_response({"data": [{"id": 1, "city": f"city {customer}"}]})

    return handler


def is_envelope(body: Any) -> bool:
    return isinstance(body, dict) and "error" in body


BUSY = ResponseRule("busy envelope", 200, ResponseAction.RETRY, when=is_envelope, wait=0)
DELETED_CUSTOMER = ResponseRule(
    "deleted customer", 404, ResponseAction.SKIP, when=lambda body: body == {"error": "customer not found"}
)
DUPLICATE = RecordRule("duplicate", lambda record: record.get("status") == "DUPLICATE_RECORD", RecordAction.SKIP)
CORRUPTED = RecordRule("corrupt", lambda record: record.get("status") == "CORRUPT", RecordAction.REJECT)

ORDERS = TableSpec(
    name="orders",
    path="/orders",
    columns=(Column("id", "id", "INT"), Column("item", "item", "STRING")),
    records="data",
    paginator=PageNumber(total_path="total"),
)
CUSTOMERS = TableSpec(
    name="customers",
    path="/customers",
    columns=(Column("id", "id", "INT"), Column("name", "name", "STRING")),
    records="data",
    paginator=Single(),
)
ADDRESSES = TableSpec(
    name="addresses",
    path="/customers/{customer_id}/addresses",
    columns=(
        Column("customer_id", "id", "INT", from_parent=True),
        Column("id", "id", "INT"),
        Column("city", "city", "STRING"),
    ),
    primary_key=("customer_id", "id"),
    records="data",
    paginator=Single(),
    parent=Parent("customers"),
    response_rules=(DELETED_CUSTOMER,),
)
SHOP = Source(
    name="shop",
    tables=(ORDERS, CUSTOMERS, ADDRESSES),
    response_rules=(BUSY,),
    record_rules=(DUPLICATE, CORRUPTED),
)
BARE_SHOP = dataclasses.replace(
    SHOP,
    tables=(ORDERS, CUSTOMERS, dataclasses.replace(ADDRESSES, response_rules=())),
    response_rules=(),
    record_rules=(),
)


def sync(source: Source, base_url: str, sink: RecordingSink, tables: tuple[str, ...], **overrides: str) -> SyncResult:
    configuration = {"base_url": base_url, "page_size": "10", **FAST, **overrides}
    settings, _ = parse_settings(configuration)
    settings = dataclasses.replace(settings, source=source.name, catalogue=source, tables=tables)
    return run_sync(configuration, None, sink=sink, log=StdLog(), settings=settings)


def errors(sink: RecordingSink) -> list[tuple[str, int | None, str, str, str | None]]:
    """(table, page, severity, error_type, rule) of each `sync_errors` row, in the order written."""
    return [
        (row["table_name"], row["page"], row["severity"], row["error_type"], row["rule"])
        for row in sink.rows("sync_errors")
    ]


def statuses(result: SyncResult) -> dict[str, str]:
    tables = result.summary["processing_summary"]["table_summaries"]
    return {name: table["status"] for name, table in tables.items()}


EXPECTED_ORDERS = [i for i in range(1, 26) if i not in DUPLICATES and i != CORRUPT]


def test_with_the_rules_every_expected_row_lands_and_the_sync_succeeds() -> None:
    """The envelope is retried, the deleted customers' 404s are empty pages, duplicates and the corrupt order
    are not written: every other row lands and every table is complete."""
    with serve(shop()) as (url, seen):
        sink = RecordingSink()
        result = sync(SHOP, url, sink, ("orders", "customers", "addresses"))
    assert sink.ids("orders") == EXPECTED_ORDERS
    assert sorted((r["customer_id"], r["city"]) for r in sink.rows("addresses")) == [(1, "city 1"), (3, "city 3")]
    assert result.status == "succeeded"
    assert statuses(result) == {"orders": "complete", "customers": "complete", "addresses": "complete"}
    assert seen.requests.count("/orders?page=2&per_page=10") == 2  # the envelope, then the page
    assert seen.requests.count("/customers/2/addresses") == 1  # a skipped page is believed, not confirmed


def test_skips_are_low_and_named_rejects_are_medium_with_the_raw_record() -> None:
    """The summary counts by severity and by rule; `sync_errors` says which rule fired, with the raw record."""
    with serve(shop()) as (url, _):
        sink = RecordingSink()
        result = sync(SHOP, url, sink, ("orders", "customers", "addresses"))
    summary = result.summary["error_summary"]
    assert summary["errors_by_rule"] == {"busy envelope": 1, "corrupt": 1, "deleted customer": 2, "duplicate": 2}
    assert summary["errors_by_severity"] == {"LOW": 5, "MEDIUM": 1, "HIGH": 0, "CRITICAL": 0}
    assert sorted(errors(sink)) == [
        ("addresses", 1, "LOW", "PageSkipped", "deleted customer"),
        ("addresses", 1, "LOW", "PageSkipped", "deleted customer"),
        ("orders", 1, "LOW", "RecordSkipped", "duplicate"),
        ("orders", 1, "MEDIUM", "RecordRejected", "corrupt"),
        ("orders", 2, "LOW", "RecordSkipped", "duplicate"),
    ]
    rejected = next(row for row in sink.rows("sync_errors") if row["rule"] == "corrupt")
    assert rejected["raw_record"] == {"id": 9, "item": "???", "status": "CORRUPT"}
    assert rejected["record_id"] == "9"
    skipped = [row["raw_record"] for row in sink.rows("sync_errors") if row["rule"] == "duplicate"]
    assert sorted(record["id"] for record in skipped) == [7, 18]


def test_thresholds_count_only_what_the_rules_call_errors() -> None:
    """total_error_threshold 1: with the duplicates skipped (LOW) only the corrupt order counts and the sync
    succeeds; with the same duplicates rejected (MEDIUM) they count, and the sync stops naming the threshold."""
    with serve(shop()) as (url, _):
        passed = sync(SHOP, url, RecordingSink(), ("orders",), total_error_threshold="1")
    assert passed.status == "succeeded"
    assert passed.summary["error_summary"]["errors_by_severity"] == {"LOW": 3, "MEDIUM": 1, "HIGH": 0, "CRITICAL": 0}
    rejecting = RecordRule("duplicate", DUPLICATE.when, RecordAction.REJECT)
    with serve(shop()) as (url, _):
        failed = sync(
            dataclasses.replace(SHOP, record_rules=(rejecting, CORRUPTED)),
            url,
            RecordingSink(),
            ("orders",),
            total_error_threshold="1",
        )
    assert failed.status == "failed"
    assert failed.message == (
        "total_error_threshold (1) exceeded: 2 errors; "
        "the most common: record rejected by rule 'duplicate': 1 of 2 errors"
    )


def test_without_the_rules_todays_classification_applies() -> None:
    """No rules: the envelope loses page 2 (HIGH), each 404 loses a child page (HIGH), flagged records land as
    rows; the sync is partial and the summary has no `errors_by_rule`."""
    with serve(shop()) as (url, _):
        sink = RecordingSink()
        result = sync(BARE_SHOP, url, sink, ("orders", "customers", "addresses"))
    assert sink.ids("orders") == [*range(1, 11), *range(21, 26)]
    assert [r["customer_id"] for r in sink.rows("addresses")] in ([1, 3], [3, 1])
    assert result.status == "partial"
    assert statuses(result) == {"orders": "incomplete", "addresses": "incomplete", "customers": "complete"}
    assert sorted(errors(sink)) == [
        ("addresses", 1, "HIGH", "FatalError", None),
        ("addresses", 1, "HIGH", "FatalError", None),
        ("orders", 2, "HIGH", "FatalError", None),
    ]
    assert list(result.summary["error_summary"]) == ["total_errors", "errors_by_severity", "errors_by_table"]


def shape(value: Any) -> Any:
    return {key: shape(item) for key, item in value.items()} if isinstance(value, dict) else type(value).__name__


# The parts of the summary of the sync below that errors touch, as the code before error rules reported them
# (measured on core8 at 3f95c47). `resilience` and `concurrency` are the client's and not touched by rules.
SUMMARY_SHAPE_BEFORE_RULES = {
    "processing_summary": {
        "total_records_processed": "int",
        "total_errors": "int",
        "total_retries": "int",
        "worker_count": "int",
        "duration_seconds": "float",
        "table_summaries": {
            "posts": {
                "records_processed": "int",
                "pages": "int",
                "errors_encountered": "int",
                "duration_seconds": "float",
                "records_per_second": "float",
                "status": "str",
            }
        },
    },
    "error_summary": {
        "total_errors": "int",
        "errors_by_severity": {"LOW": "int", "MEDIUM": "int", "HIGH": "int", "CRITICAL": "int"},
        "errors_by_table": {"posts": "int"},
    },
}


def posts_with_a_404_and_a_bad_record(source: Source | None = None) -> tuple[SyncResult, RecordingSink]:
    """jsonplaceholder's posts, 30 in pages of 10: page 2 answers 404, the 4th post has no id."""
    data = rows("posts", 30)
    data[3]["id"] = None
    inner = paged(data)

    async def handler(request: web.Request) -> web.StreamResponse:
        if request.query.get("_page") == "2":
            return web.json_response({"error": "x"}, status=404)
        return await inner(request)

    with serve(handler) as (url, _):
        sink = RecordingSink()
        if source is None:
            configuration = {"base_url": url, "tables": "posts", "page_size": "10", **FAST}
            return run_sync(configuration, None, sink=sink, log=StdLog()), sink
        return sync(source, url, sink, ("posts",)), sink


def test_a_source_without_rules_reports_exactly_as_before() -> None:
    """jsonplaceholder (no rules), a 404 page and a record without id: the summary's shape, its error summary and
    the `sync_errors` rows are those the code reported before error rules existed."""
    result, sink = posts_with_a_404_and_a_bad_record()
    assert {key: shape(result.summary[key]) for key in SUMMARY_SHAPE_BEFORE_RULES} == SUMMARY_SHAPE_BEFORE_RULES
    assert result.summary["error_summary"] == {
        "total_errors": 2,
        "errors_by_severity": {"LOW": 0, "MEDIUM": 1, "HIGH": 1, "CRITICAL": 0},
        "errors_by_table": {"posts": 2},
    }
    dead_letters = [
        {k: v for k, v in row.items() if k not in ("occurred_at", "sync_id")} for row in sink.rows("sync_errors")
    ]
    assert dead_letters == [
        {
            "error_id": 1,
            "table_name": "posts",
            "page": 1,
            "record_id": None,
            "severity": "MEDIUM",
            "error_type": "RecordError",
            "rule": None,
            "message": "field 'id' is missing or null",
            "attempts": 1,
            "raw_record": {"id": None, "userId": 1, "title": "t4", "body": "b4"},
        },
        {
            "error_id": 2,
            "table_name": "posts",
            "page": 2,
            "record_id": None,
            "severity": "HIGH",
            "error_type": "FatalError",
            "rule": None,
            "message": "HTTP 404 (API error code 'x')",  # the API's code in the body: issue 18
            "attempts": 1,
            "raw_record": None,
        },
    ]


def test_rules_that_never_fire_change_nothing_in_the_report() -> None:
    """The same sync with rules declared that match nothing: the same summary shape, no `errors_by_rule`, the
    same dead letters."""
    bare, bare_sink = posts_with_a_404_and_a_bad_record()
    idle = dataclasses.replace(
        JSONPLACEHOLDER,
        response_rules=(ResponseRule("teapot", 418, ResponseAction.SKIP),),
        record_rules=(RecordRule("never", lambda record: False, RecordAction.REJECT),),
    )
    ruled, ruled_sink = posts_with_a_404_and_a_bad_record(idle)
    assert shape(ruled.summary) == shape(bare.summary)
    assert ruled.summary["error_summary"] == bare.summary["error_summary"]
    assert errors(ruled_sink) == errors(bare_sink)


def test_a_response_rule_that_raises_fails_the_sync_with_its_traceback() -> None:
    """A body predicate that raises is a bug: CRITICAL, the traceback in `sync_errors`, the sync failed in one
    line naming the rule; never a silent skip."""
    broken = ResponseRule("broken", 404, ResponseAction.SKIP, when=lambda body: body["missing"])
    source = dataclasses.replace(
        SHOP, tables=(ORDERS, CUSTOMERS, dataclasses.replace(ADDRESSES, response_rules=(broken,)))
    )
    with serve(shop()) as (url, _):
        sink = RecordingSink()
        result = sync(source, url, sink, ("customers", "addresses"))
    assert result.status == "failed"
    assert re.fullmatch(  # the first deleted customer whose 404 reaches the rule: 2 or 4
        r"CRITICAL error in table addresses: error rule 'broken' raised KeyError: 'missing' "
        r"\(parent customer_id=(\d), path /customers/\1/addresses\)",
        result.message or "",
    )
    critical = [row for row in sink.rows("sync_errors") if row["severity"] == "CRITICAL"]
    assert critical  # one per deleted customer whose 404 reached the rule before the stop: 1 or 2
    assert {(row["rule"], row["error_type"]) for row in critical} == {("broken", "RuleBug")}
    assert all("Traceback" in row["message"] and 'body["missing"]' in row["message"] for row in critical)


def test_a_record_rule_that_raises_fails_the_sync_with_its_traceback() -> None:
    """A record rule that raises on some record: CRITICAL with the raw record and the traceback; sync failed."""
    broken = RecordRule("broken", lambda record: record["duplicate_of"] > 0, RecordAction.SKIP)
    source = dataclasses.replace(SHOP, record_rules=(broken,))
    with serve(shop()) as (url, _):
        sink = RecordingSink()
        result = sync(source, url, sink, ("orders",))
    assert result.status == "failed"
    assert result.message == "CRITICAL error in table orders: error rule 'broken' raised KeyError: 'duplicate_of'"
    critical = next(row for row in sink.rows("sync_errors") if row["severity"] == "CRITICAL")
    assert (critical["rule"], critical["error_type"]) == ("broken", "RuleBug")
    assert critical["raw_record"]["status"] == "OK"
    assert "Traceback" in critical["message"]


def test_stop_table_loses_the_page_and_stops_only_that_table() -> None:
    """STOP_TABLE on the children's 404: HIGH with the rule, the addresses table stopped, orders complete."""
    stop = ResponseRule("gone means stop", 404, ResponseAction.STOP_TABLE)
    source = dataclasses.replace(
        SHOP, tables=(ORDERS, CUSTOMERS, dataclasses.replace(ADDRESSES, response_rules=(stop,)))
    )
    with serve(shop()) as (url, _):
        sink = RecordingSink()
        result = sync(source, url, sink, ("orders", "customers", "addresses"))
    assert result.status == "partial"
    assert statuses(result)["addresses"] == "stopped"
    assert statuses(result)["orders"] == "complete"
    assert ("addresses", 1, "HIGH", "RuleStop", "gone means stop") in errors(sink)


def test_stop_sync_is_critical() -> None:
    """STOP_SYNC on the envelope: CRITICAL, the sync fails naming the rule."""
    stop = ResponseRule("envelope stops", 200, ResponseAction.STOP_SYNC, when=is_envelope)
    source = dataclasses.replace(SHOP, response_rules=(stop,))
    with serve(shop()) as (url, _):
        sink = RecordingSink()
        result = sync(source, url, sink, ("orders",))
    assert result.status == "failed"
    assert result.message == "CRITICAL error in table orders: HTTP 200: rule 'envelope stops' stops the sync"
    assert ("orders", 2, "CRITICAL", "RuleStop", "envelope stops") in errors(sink)


def test_a_retry_rule_that_keeps_matching_loses_the_page_after_its_retries() -> None:
    """An envelope every time: retried `max_retries` times, then the page is lost (HIGH) with the rule's name."""

    async def always_busy(request: web.Request) -> web.StreamResponse:
        return web.json_response({"error": "busy"})

    with serve(always_busy) as (url, seen):
        sink = RecordingSink()
        result = sync(SHOP, url, sink, ("orders",), max_retries="2")
    assert len(seen.requests) == 3
    assert errors(sink) == [("orders", 1, "HIGH", "RetryableError", "busy envelope")]
    assert sink.rows("sync_errors")[0]["attempts"] == 3
    assert result.summary["error_summary"]["errors_by_rule"] == {"busy envelope": 1}


def test_a_skipped_page_inside_a_total_counts_as_written_and_the_pass_completes() -> None:
    """SKIP on page 2 of a fanned-out total: pages 1 and 3 land, page 2 is written with no rows (LOW, named),
    and the table's pass is complete, not held open."""
    skip = ResponseRule("envelope is empty", 200, ResponseAction.SKIP, when=is_envelope)
    with serve(shop()) as (url, seen):
        sink = RecordingSink()
        result = sync(dataclasses.replace(SHOP, response_rules=(skip,)), url, sink, ("orders",))
    assert sink.ids("orders") == [i for i in EXPECTED_ORDERS if not 11 <= i <= 20]
    assert seen.requests.count("/orders?page=2&per_page=10") == 1
    assert statuses(result) == {"orders": "complete"}
    assert result.status == "succeeded"
    assert ("orders", 2, "LOW", "PageSkipped", "envelope is empty") in errors(sink)


def test_a_status_the_rules_read_but_do_not_match_is_classified_as_always() -> None:
    """The deleted-customer rule reads every 404 of addresses; a 404 with another body is today's HIGH
    `HTTP 404`, and an HTML 404 reaches a rule as None."""

    async def handler(request: web.Request) -> web.StreamResponse:
        if request.path == "/customers":
            return web.json_response({"data": [{"id": 1, "name": "c1"}, {"id": 2, "name": "c2"}]})
        if request.path == "/customers/1/addresses":
            return web.json_response({"error": "no such route"}, status=404)
        return web.Response(text="<html>Not Found</html>", status=404, content_type="text/html")

    bodies: list[Any] = []

    def html_404(body: Any) -> bool:
        bodies.append(body)
        return body is None

    html = ResponseRule("html 404", 404, ResponseAction.SKIP, when=html_404)
    addresses = dataclasses.replace(ADDRESSES, response_rules=(DELETED_CUSTOMER, html))
    with serve(handler) as (url, _):
        sink = RecordingSink()
        result = sync(
            dataclasses.replace(SHOP, tables=(ORDERS, CUSTOMERS, addresses)), url, sink, ("customers", "addresses")
        )
    assert sorted(bodies, key=repr) == [None, {"error": "no such route"}]
    assert sorted(errors(sink)) == [
        ("addresses", 1, "HIGH", "FatalError", None),
        ("addresses", 1, "LOW", "PageSkipped", "html 404"),
    ]
    lost = next(row["message"] for row in sink.rows("sync_errors") if row["severity"] == "HIGH")
    assert lost == "HTTP 404 (parent customer_id=1, path /customers/1/addresses)"
    assert statuses(result)["addresses"] == "incomplete"


def test_every_skipped_record_gets_its_sync_errors_row_beyond_the_ledgers_sample() -> None:
    """400 duplicates (16 times the ledger's sample of a severity): each one lands in `sync_errors` with its raw
    record, and the summary counts them all."""
    data = [{"id": n, "item": f"item {n}", "status": "DUPLICATE_RECORD"} for n in range(1, 401)]

    async def handler(request: web.Request) -> web.StreamResponse:
        page, size = int(request.query["page"]), int(request.query["per_page"])
        return web.json_response({"data": data[(page - 1) * size : page * size], "total": len(data)})

    with serve(handler) as (url, _):
        sink = RecordingSink()
        result = sync(SHOP, url, sink, ("orders",), page_size="50")
    assert result.status == "succeeded"
    assert sorted(row["raw_record"]["id"] for row in sink.rows("sync_errors")) == list(range(1, 401))
    assert result.summary["error_summary"]["errors_by_rule"] == {"duplicate": 400}
    assert result.summary["processing_summary"]["total_errors"] == 400
