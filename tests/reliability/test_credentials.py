"""Credentials stay home, for every kind of auth the connector has.

Against Fivetran's real mock API (basic, bearer, API key, session token), good and wrong credentials: no secret,
nor the session token the server handed out, appears in the result, a log line, a row or a checkpoint. And a next
link in a body that points to another origin is refused: the server there receives no request with credentials,
and its rows are not written.
"""

from __future__ import annotations

import base64
from typing import Any

from aiohttp import web

from async_core import StdLog, run_sync
from async_core.source import BearerAuth, Column, JsonLink, Source, TableSpec
from tests.api_playground_server import api_playground_server
from tests.devtools import pytest
from tests.integration.servers import serve
from tests.reliability.support import ListLog
from tests.sinks import RecordingSink

pytestmark = pytest.mark.reliability

AUTH_TABLES = "items_basic_auth,items_bearer_auth,items_api_key_auth,items_session_auth"


def secrets_of(credentials: Any) -> list[str]:
    basic = f"{credentials.http_basic_username}:{credentials.http_basic_password}"
    return [
        credentials.http_basic_password,
        base64.b64encode(basic.encode()).decode(),
        credentials.http_bearer_token,
        credentials.api_key,
        credentials.session_password,
        base64.b64encode(f"{credentials.session_username}:{credentials.session_password}".encode()).decode()[:24],
    ]


@pytest.mark.parametrize("good", [True, False], ids=["good-credentials", "wrong-credentials"])
def test_no_secret_of_any_auth_kind_appears_in_results_logs_rows_or_state(good: bool) -> None:
    """Every auth table, with the right credentials (all land) or wrong passwords and keys (the sync fails): the
    secrets and the session token are nowhere but in the requests."""
    with api_playground_server() as server:
        credentials = server.credentials
        configuration = {
            "source": "api_playground",
            "base_url": server.base_url,
            "tables": AUTH_TABLES,
            "basic_username": credentials.http_basic_username,
            "basic_password": credentials.http_basic_password if good else "wrong-basic-pw-41",
            "bearer_token": credentials.http_bearer_token if good else "wrong-bearer-41",
            "api_key": credentials.api_key if good else "wrong-key-41",
            "session_username": credentials.session_username,
            "session_password": credentials.session_password if good else "wrong-session-pw-41",
        }
        sink, log = RecordingSink(), ListLog()
        result = run_sync(configuration, None, sink=sink, log=log)
    texts = "\n".join([repr(result), log.text(), repr(sink.calls)])
    wrong = ["wrong-basic-pw-41", "wrong-bearer-41", "wrong-key-41", "wrong-session-pw-41"]
    secrets = [*secrets_of(credentials), *wrong]
    assert [secret for secret in secrets if secret in texts] == []
    if good:
        assert result.status == "succeeded"
        for table in AUTH_TABLES.split(","):
            assert len(sink.rows(table)) == 20, table
    else:
        assert result.status == "failed"
        assert "CRITICAL" in (result.message or "")


TOKEN = "tok-credentials-test-7d1c"
LINKED = Source(
    name="linked",
    base_url="http://127.0.0.1:1",
    auth=BearerAuth(token_key="token"),
    tables=(
        TableSpec(
            name="things",
            path="/things",
            records="data",
            paginator=JsonLink(next_path="next"),
            columns=(Column("id", "id", "INT"),),
        ),
    ),
)


def test_a_body_next_link_to_another_origin_is_refused_and_gets_no_credential(monkeypatch: Any) -> None:
    """Page 1 links to a second server on another port: it gets no request, its rows are not written, and the
    page is lost with a ForeignOriginError (HIGH) in sync_errors; the sync is partial, not succeeded."""
    monkeypatch.setattr("sources.jsonplaceholder.SOURCE", LINKED)  # the catalogue loads sources/<name>.SOURCE

    async def elsewhere(request: web.Request) -> web.Response:
        return web.json_response({"data": [{"id": 99}], "next": None})

    with serve(elsewhere) as (other_url, other_seen):

        async def home(request: web.Request) -> web.Response:
            if request.headers.get("Authorization") != f"Bearer {TOKEN}":
                return web.json_response({"error": "no"}, status=401)
            return web.json_response({"data": [{"id": 1}, {"id": 2}], "next": f"{other_url}/things?page=2"})

        with serve(home) as (home_url, home_seen):
            sink = RecordingSink()
            configuration = {"source": "jsonplaceholder", "base_url": home_url, "tables": "things", "token": TOKEN}
            result = run_sync(configuration, None, sink=sink, log=StdLog())
    assert other_seen.requests == []
    assert len(home_seen.requests) == 1
    assert sorted(row["id"] for row in sink.rows("things")) == [1, 2]
    [error] = sink.rows("sync_errors")
    assert (error["severity"], error["error_type"], error["page"]) == ("HIGH", "ForeignOriginError", 2)
    assert result.status == "partial"
