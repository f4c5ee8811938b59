"""Issue 18: declarations and values that cannot lie. Each numbered case of the issue, over real HTTP.

Each test serves the handler it needs on 127.0.0.1, declares the source a user would (`tests/integration/declared.py`)
and asserts what landed, what `sync_errors` says, what the state holds and what the server saw. Every one failed
before the fix it names (the case number is the issue's).
"""

from __future__ import annotations

import itertools
from typing import Any

from aiohttp import web

from async_core.source import JsonServer, SessionAuth, TableSpec
from tests.integration.declared import ID, declare, errors, sync
from tests.integration.servers import serve
from tests.sinks import RecordingSink


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
