"""GraphQL against a real server (strawberry-graphql's aiohttp view, `tests.graphql_server`): relay cursors in
`first`/`after`, the cursor's lower bound as a variable, and the `errors` array classified like any response."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from async_core import StdLog, run_sync
from async_core.source import (
    Column,
    GraphQL,
    Incremental,
    Relay,
    ResponseAction,
    ResponseRule,
    TableSpec,
)
from async_core.sync import SyncResult
from tests.graphql_server import Fault, graphql_server, sample_orders
from tests.integration.declared import FAST, declare, statuses
from tests.sinks import RecordingSink

QUERY = """
query Orders($first: Int!, $after: String, $since: String) {
  orders(first: $first, after: $after, updatedSince: $since) {
    edges { node { id customer updatedAt } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
ORDERS = TableSpec(
    name="orders",
    path="/graphql",
    body=GraphQL(QUERY),
    records="data.orders.edges",
    paginator=Relay(page_info="data.orders.pageInfo", page_size=10),
    cursor=Incremental(field="node.updatedAt", param="since"),
    columns=(
        Column("id", "node.id", "INT"),
        Column("customer", "node.customer", "STRING"),
        Column("updated_at", "node.updatedAt", "UTC_DATETIME"),
    ),
)


def sync(url: str, sink: RecordingSink, state: Mapping[str, Any] | None = None, /, **configuration: str) -> SyncResult:
    return run_sync({"base_url": url, **FAST, **configuration}, state, sink=sink, log=StdLog())


def test_a_relay_walk_lands_every_order_with_first_and_after(monkeypatch: Any) -> None:
    """30 orders in pages of 10: `after` is the previous page's endCursor, the walk ends on hasNextPage false."""
    name = declare(monkeypatch, ORDERS)
    with graphql_server() as server:
        sink = RecordingSink()
        result = sync(server.base_url, sink, source=name)
    assert result.status == "succeeded", result.message
    assert sink.ids("orders") == list(range(1, 31))
    assert [(v["first"], v["after"] is None, v["updatedSince"]) for v in server.seen] == [
        (10, True, None),
        (10, False, None),
        (10, False, None),
    ]


def test_the_next_sync_sends_the_watermark_as_a_variable(monkeypatch: Any) -> None:
    """The second sync asks for what changed since the first one's largest updatedAt, and lands the new order."""
    name = declare(monkeypatch, ORDERS)
    orders = sample_orders(30)
    with graphql_server(orders=orders) as server:
        first = RecordingSink()
        assert sync(server.base_url, first, source=name).status == "succeeded"
        orders.append({**sample_orders(31)[-1], "updated_at": "2024-05-02T00:00:00Z"})
        second = RecordingSink()
        result = sync(server.base_url, second, first.checkpoints()[-1], source=name)
    assert result.status == "succeeded", result.message
    assert server.seen[-1]["updatedSince"] == "2024-05-01T00:30:00Z"
    assert second.ids("orders") == [30, 31]  # the boundary row again (inclusive), and the new one


def test_a_throttled_answer_is_retried_and_nothing_is_lost(monkeypatch: Any) -> None:
    """A 200 whose errors say THROTTLED is retried like a 503, not read as an empty last page."""
    name = declare(monkeypatch, ORDERS)
    with graphql_server(fault=Fault({2}, "THROTTLED")) as server:
        sink = RecordingSink()
        result = sync(server.base_url, sink, source=name)
    assert result.status == "succeeded", result.message
    assert sink.ids("orders") == list(range(1, 31))
    assert len(server.seen) == 4  # page 2 twice
    assert result.summary["processing_summary"]["total_retries"] == 1


def test_an_error_mid_walk_loses_the_page_and_the_next_sync_resumes_there(monkeypatch: Any) -> None:
    """A resolver's failure on page 2 is a lost page (HIGH), the pass stays open at page 2 with its cursor, and the
    next sync asks for page 1 again (to prove it still ends with the same key), then walks on from page 2 to the
    end."""
    name = declare(monkeypatch, ORDERS)
    with graphql_server(fault=Fault({2})) as server:
        first = RecordingSink()
        result = sync(server.base_url, first, source=name)
        assert result.status == "partial"
        assert statuses(result) == {"orders": "incomplete"}
        assert first.ids("orders") == list(range(1, 11))
        lost = first.rows("sync_errors")
        assert [(row["page"], row["error_type"]) for row in lost] == [(2, "FatalError")]
        assert "GraphQL error: the orders resolver failed" in lost[0]["message"]
        second = RecordingSink()
        again = sync(server.base_url, second, first.checkpoints()[-1], source=name)
    assert again.status == "succeeded", again.message
    assert second.ids("orders") == list(range(11, 31))
    assert server.seen[2]["after"] == server.seen[0]["after"]  # the proof: page 1 again
    assert server.seen[3]["after"] == server.seen[1]["after"]  # page 2 asked again with the same cursor


def test_a_response_rule_reads_the_errors_array_first(monkeypatch: Any) -> None:
    """A rule on status 200 decides before the default classification: here the error skips the page (LOW)."""

    def not_found(body: Any) -> bool:
        return any(e.get("extensions", {}).get("code") == "NOT_FOUND" for e in body.get("errors") or [])

    rule = ResponseRule("gone", status=200, action=ResponseAction.SKIP, when=not_found)
    name = declare(monkeypatch, ORDERS, response_rules=(rule,))
    with graphql_server(fault=Fault({1}, "NOT_FOUND")) as server:
        sink = RecordingSink()
        result = sync(server.base_url, sink, source=name)
    assert result.status == "succeeded", result.message
    assert sink.ids("orders") == []
    assert [(row["error_type"], row["rule"]) for row in sink.rows("sync_errors")] == [("PageSkipped", "gone")]
