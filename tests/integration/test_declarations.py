"""Issue 18: declarations and values that cannot lie. Each numbered case of the issue, over real HTTP.

Each test serves the handler it needs on 127.0.0.1, declares the source a user would (`tests/integration/declared.py`)
and asserts what landed, what `sync_errors` says, what the state holds and what the server saw. Every one failed
before the fix it names (the case number is the issue's).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import json
from pathlib import Path
from typing import Any

from aiohttp import web

from async_core.source import (
    BearerAuth,
    Column,
    Incremental,
    JsonLink,
    JsonServer,
    Parent,
    RecordAction,
    RecordRule,
    SessionAuth,
    TableSpec,
)
from tests.devtools import pytest
from tests.integration.declared import ID, declare, errors, sync
from tests.integration.servers import paged, serve
from tests.sinks import RecordingSink
from tests.states import entry, open_pass


def numbered(count: int, **extra: Any) -> list[dict[str, Any]]:
    return [{"id": i, **extra} for i in range(1, count + 1)]


class SessionApi:
    """An API with a login: `POST /login` gives a token; one session per user (a new login ends the older one);
    a token is refused (401) after `uses` requests."""

    def __init__(self, data: dict[str, list[dict[str, Any]]], *, uses: int = 1000) -> None:
        self.data = data
        self.uses = uses
        self.logins = 0
        self.refused = 0
        self._token: str | None = None
        self._used = 0
        self._counter = itertools.count(1)

    async def __call__(self, request: web.Request) -> web.StreamResponse:
        if request.path == "/login":
            body = await request.json()
            if body != {"username": "ann", "password": "pw-9f2c"}:
                return web.json_response({"error": "bad login"}, status=403)
            self.logins += 1
            self._token, self._used = f"tok{next(self._counter)}", 0
            return web.json_response({"token": self._token})
        if request.headers.get("Authorization") != f"Token {self._token}" or self._used >= self.uses:
            self.refused += 1
            return web.json_response({"error": "session expired"}, status=401)
        self._used += 1
        rows = self.data[request.path.strip("/")]
        page, limit = int(request.query.get("_page", 1)), int(request.query.get("_limit", 10))
        return web.json_response(rows[(page - 1) * limit : page * limit])


# -- 6. SessionAuth logs in again after a 401 whatever the source's headers=


def test_a_session_logs_in_again_after_a_401_with_source_headers(monkeypatch: Any) -> None:
    """Case 6: with `headers=` declared (as the README's example does), `expire()` compared the merged headers with
    its own and never matched: 1 login, then CRITICAL AuthenticationError, 6 of 20 rows. Now: a new login, 20 rows."""
    table = TableSpec(name="items", path="/items", columns=(ID,), paginator=JsonServer())
    declare(monkeypatch, table, auth=SessionAuth(login_path="/login"), headers={"Accept": "application/json"})
    api = SessionApi({"items": numbered(20)}, uses=1)
    with serve(api) as (url, _):
        sink = RecordingSink()
        result = sync(url, sink, page_size="4", max_workers="1", session_username="ann", session_password="pw-9f2c")
    assert (result.status, sink.ids("items")) == ("succeeded", list(range(1, 21)))
    assert api.logins == api.refused + 1  # each token serves one request: a 401, a login, the request again
    assert errors(sink) == []


# -- 7. Equal SessionAuth declarations share one session


def test_equal_session_declarations_share_one_login(monkeypatch: Any) -> None:
    """Case 7: two tables each declaring `SessionAuth("/login")` logged in twice; an API that keeps one session per
    user then refused the older token (5 logins, 17 401s, failed). Equal declarations are one session now."""
    tables = [
        TableSpec(name=n, path=f"/{n}", columns=(ID,), paginator=JsonServer(), auth=SessionAuth(login_path="/login"))
        for n in ("orders", "refunds")
    ]
    declare(monkeypatch, *tables)
    api = SessionApi({"orders": numbered(30), "refunds": numbered(30)})
    with serve(api) as (url, _):
        sink = RecordingSink()
        result = sync(url, sink, page_size="5", session_username="ann", session_password="pw-9f2c")
    assert result.status == "succeeded", result.message
    assert (sink.ids("orders"), sink.ids("refunds")) == (list(range(1, 31)), list(range(1, 31)))
    assert (api.logins, api.refused) == (1, 0)


# -- 8. A credential echoed in next links is never saved in the state

TOKEN = "EAAB-s3cr3t-9d1f"


def graph_api(data: list[dict[str, Any]], *, failing: set[int] | None = None) -> Any:
    """Facebook's Graph API style: the token may come as a header or `access_token=`; its next links echo it. A
    page in `failing` answers 500 (the page is lost and the pass stays open)."""

    async def handler(request: web.Request) -> web.StreamResponse:
        query_token = request.query.get("access_token")
        if request.headers.get("Authorization") != f"Bearer {TOKEN}" and query_token != TOKEN:
            return web.json_response({"error": {"code": 190, "message": "Invalid OAuth access token"}}, status=401)
        after = int(request.query.get("after", 0))
        if failing and after in failing:
            return web.json_response({"error": "busy"}, status=500)
        rows = data[after : after + 5]
        following = f"{request.url.origin()}/items?after={after + 5}&access_token={TOKEN}&limit=5"
        return web.json_response({"data": rows, "next": following if after + 5 < len(data) else None})

    return handler


def test_a_token_echoed_in_next_links_is_not_saved_and_is_added_back_on_resume(monkeypatch: Any) -> None:
    """Case 8: `pass.resume.url` held `...&access_token=<token>` verbatim (and the SDK's "checkpoint recorded" line
    printed it). Now the saved link is without it, and a resumed sync adds it back from the configuration (to the
    last written page's link, asked again first to prove the collection did not shift)."""
    table = TableSpec(name="items", path="/items", columns=(ID,), records="data", paginator=JsonLink())
    declare(monkeypatch, table, auth=BearerAuth())
    data = numbered(20)
    with serve(graph_api(data, failing={10})) as (url, _):
        first = RecordingSink()
        result = sync(url, first, bearer_token=TOKEN, checkpoint_every_rows="1")
    assert result.status == "partial"
    assert first.checkpoints()
    assert all(TOKEN not in json.dumps(state) for state in first.checkpoints())
    saved = open_pass(first.checkpoints()[-1], "items")
    assert saved is not None
    assert saved["resume"]["signed"] == [["access_token", "bearer_token"]]
    assert saved["resume"]["url"].endswith("/items?after=10&limit=5")
    with serve(graph_api(data)) as (url, seen):
        second = RecordingSink()
        state = json.loads(json.dumps(first.checkpoints()[-1]).replace(saved["resume"]["url"].split("/items")[0], url))
        result = sync(url, second, state, bearer_token=TOKEN)
    assert (result.status, second.ids("items")) == ("succeeded", list(range(11, 21)))
    assert seen.requests[0] == f"/items?after=5&limit=5&access_token={TOKEN}"
    assert all(TOKEN not in json.dumps(state) for state in second.checkpoints())


def test_a_parameter_the_source_names_is_not_saved(monkeypatch: Any) -> None:
    """`secret_params=("sig",)`: a signature no configuration key holds is taken out of the saved link too."""

    async def handler(request: web.Request) -> web.StreamResponse:
        after = int(request.query.get("after", 0))
        if after == 10:
            return web.json_response({"error": "busy"}, status=500)
        following = f"{request.url.origin()}/items?after={after + 5}&sig=a1b2c3"
        return web.json_response({"data": numbered(20)[after : after + 5], "next": following})

    table = TableSpec(name="items", path="/items", columns=(ID,), records="data", paginator=JsonLink())
    declare(monkeypatch, table, secret_params=("sig",))
    with serve(handler) as (url, _):
        sink = RecordingSink()
        sync(url, sink, checkpoint_every_rows="1")
    assert sink.checkpoints()
    assert all("a1b2c3" not in json.dumps(state) for state in sink.checkpoints())
    saved = open_pass(sink.checkpoints()[-1], "items")
    assert saved is not None
    assert saved["resume"]["url"].endswith("/items?after=10")


# -- 1 and 10. Dotted parent keys; a parent that cannot be read, and a child's lost page, say which parent

CUSTOMER_KEY = Column("customer_id", "meta.id", "INT", from_parent=True)


def shop(*, archived: int | None = None) -> Any:
    """`/customers` (their ids under `meta.id`; the last one has none), 2 orders per customer under
    `/customers/{id}/orders`; customer `archived` answers 404 with the API's error code."""
    customers = [{"meta": {"id": i}, "name": f"c{i}"} for i in range(1, 5)] + [{"meta": {}, "name": "broken"}]

    async def handler(request: web.Request) -> web.StreamResponse:
        if request.path == "/customers":
            return web.json_response(customers)
        customer = int(request.path.split("/")[2])
        if customer == archived:
            return web.json_response({"error": {"code": "customer_archived", "message": "gone"}}, status=404)
        return web.json_response([{"id": customer * 10 + n} for n in (1, 2)])

    return handler


def shop_tables() -> tuple[TableSpec, TableSpec]:
    customers = TableSpec(
        name="customers",
        path="/customers",
        columns=(Column("id", "meta.id", "INT"), Column("name", "name", "STRING")),
    )
    orders = TableSpec(
        name="orders",
        path="/customers/{customer_id}/orders",
        columns=(CUSTOMER_KEY, ID),
        primary_key=("customer_id", "id"),
        parent=Parent("customers"),
    )
    return customers, orders


def test_a_dotted_parent_key_fills_the_child_path_and_an_unreadable_one_is_an_error(monkeypatch: Any) -> None:
    """Case 1: `Column("customer_id", "meta.id", from_parent=True)` landed 0 of 8 rows (only /customers was asked
    for, the child `complete`, `sync_errors` empty). Now the 8 rows land, and the parent row without `meta.id` is
    a MEDIUM error of the child table naming the parent table, the key and the path, with the parent record."""
    declare(monkeypatch, *shop_tables())
    with serve(shop()) as (url, seen):
        sink = RecordingSink()
        sync(url, sink, tables="orders")
    landed = sorted((row["customer_id"], row["id"]) for row in sink.rows("orders"))
    assert landed == [(c, c * 10 + n) for c in range(1, 5) for n in (1, 2)]
    assert sorted(path for path in seen.requests if path != "/customers") == [
        f"/customers/{c}/orders" for c in range(1, 5)
    ]
    (error,) = sink.rows("sync_errors")
    assert (error["table_name"], error["severity"], error["raw_record"]) == (
        "orders",
        "MEDIUM",
        {"meta": {}, "name": "broken"},
    )
    assert error["message"] == (
        "parent table 'customers': parent field 'meta.id' (for 'customer_id') is missing; "
        "its rows of /customers/{customer_id}/orders cannot be asked for"
    )


def test_a_lost_child_page_names_its_parent_the_path_and_the_apis_error_code(monkeypatch: Any) -> None:
    """Case 10: the row read `page 1`, `FatalError`, "HTTP 404", with no parent, path or the API's code; the rows a
    rule skipped did not name their parent either."""
    customers, orders = shop_tables()
    skip = RecordRule("test order", lambda record: record.get("id") == 41, RecordAction.SKIP)
    declare(monkeypatch, customers, dataclasses.replace(orders, record_rules=(skip,)))
    with serve(shop(archived=3)) as (url, _):
        sink = RecordingSink()
        sync(url, sink, tables="orders")
    skipped = [row["message"] for row in sink.rows("sync_errors") if row["error_type"] == "RecordSkipped"]
    assert skipped == ["record skipped by rule 'test order' (parent customer_id=4, path /customers/4/orders)"]
    lost = [row for row in sink.rows("sync_errors") if row["error_type"] == "FatalError"]
    assert [(row["table_name"], row["page"], row["message"]) for row in lost] == [
        (
            "orders",
            1,
            "HTTP 404 (API error code 'customer_archived') (parent customer_id=3, path /customers/3/orders)",
        )
    ]


# -- 3 and 4. Values the destination cannot hold are rejected one record at a time

VALUES = (
    ID,
    Column("f", "f", "FLOAT", required=False),
    Column("d", "d", "DOUBLE", required=False),
    Column("ts", "ts", "UTC_DATETIME", required=False),
)


def test_values_beyond_what_the_destination_holds_are_rejected_per_record(monkeypatch: Any) -> None:
    """Cases 3 and 4: `1e39` in a FLOAT landed as inf and `-3.5e38` as -inf, silently; a 401-digit integer in a
    DOUBLE or a UTC_DATETIME raised OverflowError and failed the whole sync as CRITICAL, in every later sync too.
    Now each is one MEDIUM record in sync_errors with its raw record, and every other row lands."""
    huge = 10**400
    data = [
        {"id": 1, "f": 1.5, "d": 2.5, "ts": 1700000000},
        {"id": 2, "f": 1e39},
        {"id": 3, "f": -3.5e38},
        {"id": 4, "d": huge},
        {"id": 5, "ts": huge},
        {"id": 6, "f": 3.4e38, "d": -0.0},
    ]

    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(text=json.dumps(data), content_type="application/json")

    declare(monkeypatch, TableSpec(name="t", path="/t", columns=VALUES))
    with serve(handler) as (url, _):
        sink = RecordingSink()
        result = sync(url, sink)
    assert result.status == "succeeded", result.message
    assert sink.ids("t") == [1, 6]
    rejected = {row["record_id"]: (row["severity"], row["message"]) for row in sink.rows("sync_errors")}
    assert rejected == {
        "2": ("MEDIUM", "field 'f' is out of the FLOAT range: 1e+39"),
        "3": ("MEDIUM", "field 'f' is out of the FLOAT range: -3.5e+38"),
        "4": ("MEDIUM", "field 'd' is out of the DOUBLE range: 100000000000... (401 digits)"),
        "5": ("MEDIUM", "field 'ts' is not a timestamp in range: 100000000000... (401 digits)"),
    }
    assert [row["raw_record"] for row in sink.rows("sync_errors")][2] == {"id": 4, "d": huge}


def test_a_huge_number_cursor_loses_no_row_of_its_page(monkeypatch: Any) -> None:
    """Case 4: as a number cursor, a 401-digit value was "unexpected error: OverflowError" and the page's valid rows
    were not written. Now the page lands whole and the watermark is the largest value that is a number."""
    data = [{"id": 1, "seq": 5}, {"id": 2, "seq": 10**400}, {"id": 3, "seq": 7}]

    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(text=json.dumps(data), content_type="application/json")

    cursor = Incremental(field="seq", param="seq_gt", kind="number")
    declare(monkeypatch, TableSpec(name="t", path="/t", columns=(ID,), cursor=cursor))
    with serve(handler) as (url, _):
        sink = RecordingSink()
        result = sync(url, sink)
    assert (result.status, sink.ids("t")) == ("succeeded", [1, 2, 3])
    assert entry(sink.checkpoints()[-1], "t")["watermark"] == 7


# -- 9. A cursor that reads nothing says so, once


def test_a_cursor_that_reads_no_value_warns_once_naming_the_field_and_the_value(monkeypatch: Any) -> None:
    """Case 9: `Incremental(field="id", kind="number")` over json-server 1.0's string ids left the watermark null,
    every sync a full pass, without a word. Now one warning (`op.warning` in connector.py) says why."""
    cursor = Incremental(field="id", param="id_gt", kind="number")
    table = TableSpec(
        name="t", path="/t", columns=(Column("id", "id", "STRING"),), cursor=cursor, paginator=JsonServer()
    )
    declare(monkeypatch, table)
    with serve(paged([{"id": str(i)} for i in range(1, 26)])) as (url, _):
        sink = RecordingSink()
        result = sync(url, sink, page_size="10")
    assert [row["id"] for row in sink.rows("t")] == [str(i) for i in range(1, 26)]
    assert result.warnings == (
        "table t: the cursor 'id' (kind='number') read no value in 25 record(s) (the first: str '1'); the watermark "
        "stays null and every sync is a full pass. Check the cursor's field and kind",
    )
    with serve(paged([{"id": i} for i in range(1, 26)])) as (url, _):
        fine = sync(url, RecordingSink(), page_size="10")
    assert fine.warnings == ()


# -- 11. The threshold line names its most common cause, with counts that agree


def test_the_threshold_line_names_the_most_common_cause_with_consistent_counts(monkeypatch: Any) -> None:
    """Case 11: an INT column fed strings failed with "total_error_threshold (15) exceeded: 16 errors" while the
    same log line said 160; the cause was only in sync_errors."""
    declare(monkeypatch, TableSpec(name="t", path="/t", columns=(ID,)))
    with serve(paged([{"id": str(i)} for i in range(1, 161)])) as (url, _):
        sink = RecordingSink()
        result = sync(url, sink, total_error_threshold="15")
    assert result.status == "failed"
    assert result.message == (
        "total_error_threshold (15) exceeded: 160 errors; "
        "the most common: field 'id' should be INT, got str: 160 of 160 errors"
    )
    assert result.summary["error_summary"]["total_errors"] == 160


# -- README: a parent selected with its child is listed once per sync


def customers_and_orders(count: int) -> Any:
    customers = paged([{"id": i} for i in range(1, count + 1)])

    async def handler(request: web.Request) -> web.StreamResponse:
        if request.path == "/customers":
            response: web.StreamResponse = await customers(request)
            return response
        customer = int(request.path.split("/")[2])
        return web.json_response([{"id": customer * 10 + n} for n in (1, 2)])

    return handler


def test_a_parent_selected_with_its_child_is_listed_once_per_sync(monkeypatch: Any) -> None:
    """customers (3 pages) and orders selected together: /customers was asked for 6 times (its own pass, then the
    child's listing); now 3, the child's parents taken from the parent's own pass. Every row lands as before."""
    customers = TableSpec(name="customers", path="/customers", columns=(ID,), paginator=JsonServer())
    orders = TableSpec(
        name="orders",
        path="/customers/{customer_id}/orders",
        columns=(Column("customer_id", "id", "INT", from_parent=True), ID),
        primary_key=("customer_id", "id"),
        parent=Parent("customers"),
    )
    declare(monkeypatch, customers, orders)
    with serve(customers_and_orders(25)) as (url, seen):
        sink = RecordingSink()
        result = sync(url, sink, tables="customers,orders", page_size="10")
    assert result.status == "succeeded", result.message
    assert sink.ids("customers") == list(range(1, 26))
    assert sorted((r["customer_id"], r["id"]) for r in sink.rows("orders")) == [
        (c, c * 10 + n) for c in range(1, 26) for n in (1, 2)
    ]
    listing = [path for path in seen.requests if path.startswith("/customers?")]
    assert sorted(listing) == [
        "/customers?_page=1&_limit=10",
        "/customers?_page=2&_limit=10",
        "/customers?_page=3&_limit=10",
    ]
    with serve(customers_and_orders(25)) as (url, seen):
        sync(url, RecordingSink(), tables="orders", page_size="10")  # the child alone still lists its parents
    assert len([path for path in seen.requests if path.startswith("/customers?")]) == 3


# -- 2. A column named processed_at is refused, and the API's field lands under another name


def test_an_apis_processed_at_lands_under_its_own_name_and_the_clash_is_refused(monkeypatch: Any) -> None:
    """Case 2: a declared `processed_at` (Shopify orders have one) was overwritten by the sync time in every row,
    its declared type too. The clash is refused at import with the fix; the fix lands the API's value."""
    clash = (ID, Column("processed_at", "processed_at", "UTC_DATETIME"))
    with pytest.raises(ValueError, match="column 'processed_at' is the connector's own"):
        TableSpec(name="orders", path="/orders", columns=clash)
    renamed = (ID, Column("source_processed_at", "processed_at", "UTC_DATETIME"))
    declare(monkeypatch, TableSpec(name="orders", path="/orders", columns=renamed))
    api = [{"id": 1, "processed_at": "2020-01-02T03:04:05Z"}]

    async def handler(request: web.Request) -> web.StreamResponse:
        return web.json_response(api)

    with serve(handler) as (url, _):
        sink = RecordingSink()
        sync(url, sink)
    (row,) = sink.rows("orders")
    assert row["source_processed_at"] == dt.datetime(2020, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    assert row["processed_at"] > dt.datetime(2026, 1, 1, tzinfo=dt.UTC)  # the sync's own time


# -- The README's examples are what the connector prints

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_text() -> str:
    return " ".join(README.read_text(encoding="utf-8").split())


def test_the_readmes_threshold_and_cursor_lines_are_the_connectors(monkeypatch: Any) -> None:
    """The README quotes the threshold line of case 11 and the start of case 9's warning: exactly these."""
    declare(monkeypatch, TableSpec(name="t", path="/t", columns=(ID,)))
    with serve(paged([{"id": str(i)} for i in range(1, 161)])) as (url, _):
        failed = sync(url, RecordingSink(), total_error_threshold="15")
    assert f"`sync stopped: {failed.message}`" in readme_text()
    cursor = Incremental(field="id", param="id_gt", kind="number")
    text_ids = TableSpec(name="t", path="/t", columns=(Column("id", "id", "STRING"),), cursor=cursor)
    declare(monkeypatch, text_ids)
    with serve(paged([{"id": str(i)} for i in range(1, 26)])) as (url, _):
        (warning,) = sync(url, RecordingSink()).warnings
    assert f"`{warning.split('; ')[0]}; ...`" in readme_text()
