"""A hostile server that echoes the request's credential into its error body: the secret reaches no `sync_errors`
message, no log line and no saved state (the API's error code, a GraphQL error's message)."""

from __future__ import annotations

import base64
import json
from typing import Any

from aiohttp import web

from async_core.source import ApiKeyAuth, BasicAuth, BearerAuth, GraphQL, Relay, SessionAuth, TableSpec
from tests.devtools import pytest
from tests.integration.declared import ID, declare, sync
from tests.integration.servers import serve
from tests.sinks import RecordingSink

TOKEN = "tok-7f3a9c1e"


def leaks(sink: RecordingSink, output: str) -> list[str]:
    """Where the token was found: the sync_errors rows, the checkpoints, the captured output."""
    found = []
    if TOKEN in json.dumps(sink.rows("sync_errors"), default=str):
        found.append("sync_errors")
    if any(TOKEN in json.dumps(state) for state in sink.checkpoints()):
        found.append("state")
    if TOKEN in output:
        found.append("log")
    return found


def basic_password(request: web.Request) -> str:
    pair = request.headers.get("Authorization", "").rpartition(" ")[2]
    return base64.b64decode(pair).decode("utf-8").partition(":")[2]


@pytest.mark.parametrize(
    ("auth", "config", "sent"),
    [
        (BearerAuth(), {"bearer_token": TOKEN}, lambda r: r.headers.get("Authorization", "").rpartition(" ")[2]),
        (ApiKeyAuth(param="api_key"), {"api_key": TOKEN}, lambda r: r.query.get("api_key", "")),
        (BasicAuth(), {"basic_username": "ann", "basic_password": TOKEN}, lambda r: basic_password(r)),
    ],
)
def test_an_error_code_that_echoes_the_credential_is_not_shown(
    monkeypatch: Any, capsys: Any, caplog: Any, auth: Any, config: dict[str, str], sent: Any
) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.json_response({"error": {"code": sent(request)}}, status=403)  # "your key <key> is refused"

    declare(monkeypatch, TableSpec(name="items", path="/items", columns=(ID,), records="data"), auth=auth)
    with serve(handler) as (url, _):
        sink = RecordingSink()
        result = sync(url, sink, None, **config)
    assert result.status != "succeeded"
    assert [row["error_type"] for row in sink.rows("sync_errors")] == ["AuthenticationError"]
    assert "HTTP 403" in sink.rows("sync_errors")[0]["message"]
    shown = capsys.readouterr()
    assert leaks(sink, shown.out + shown.err + caplog.text + json.dumps(result.summary, default=str)) == []


def test_a_graphql_error_message_that_echoes_the_token_is_not_shown(monkeypatch: Any, capsys: Any, caplog: Any) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        token = request.headers.get("Authorization", "").rpartition(" ")[2]
        return web.json_response({"data": None, "errors": [{"message": f"token {token} lacks scope read_orders"}]})

    table = TableSpec(
        name="orders",
        path="/graphql",
        columns=(ID,),
        records="data.orders.nodes",
        body=GraphQL("query($first: Int, $after: String) { orders { nodes { id } } }"),
        paginator=Relay(page_info="data.orders.pageInfo"),
    )
    declare(monkeypatch, table, auth=BearerAuth())
    with serve(handler) as (url, _):
        sink = RecordingSink()
        result = sync(url, sink, bearer_token=TOKEN)
    messages = [row["message"] for row in sink.rows("sync_errors")]
    assert len(messages) == 1
    assert "lacks scope read_orders" in messages[0]  # what the server said, still said
    shown = capsys.readouterr()
    assert leaks(sink, shown.out + shown.err + caplog.text + json.dumps(result.summary, default=str)) == []


def test_a_login_refused_with_the_password_as_its_code_does_not_show_the_password(
    monkeypatch: Any, capsys: Any, caplog: Any
) -> None:
    """The password goes in the login's body, not in a header: an error code echoing it was shown."""

    async def handler(request: web.Request) -> web.StreamResponse:
        body = await request.json()
        return web.json_response({"error": {"code": body["password"]}}, status=403)

    table = TableSpec(name="items", path="/items", columns=(ID,), records="data")
    declare(monkeypatch, table, auth=SessionAuth(login_path="/login"))
    with serve(handler) as (url, _):
        sink = RecordingSink()
        result = sync(url, sink, session_username="ann", session_password=TOKEN)
    assert result.status != "succeeded"
    assert "HTTP 403" in sink.rows("sync_errors")[0]["message"]
    shown = capsys.readouterr()
    assert leaks(sink, shown.out + shown.err + caplog.text + json.dumps(result.summary, default=str)) == []
