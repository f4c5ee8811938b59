"""OAuth2 against a real authorization server (authlib, `tests.oauth2_server`): client credentials, the refresh
token grant with rotation, renewal before expiry and once on a 401, one token for every table, no secret shown."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from async_core import StdLog, run_sync
from async_core.source import Column, JsonLink, OAuth2ClientCredentials, OAuth2RefreshToken, PageNumber, TableSpec
from async_core.sync import SyncResult
from tests.devtools import pytest
from tests.integration.declared import FAST, declare, statuses
from tests.oauth2_server import CLIENT_ID, CLIENT_SECRET, OAuth2Server, oauth2_server
from tests.sinks import RecordingSink

COLUMNS = (Column("id", "id", "INT"), Column("customer", "customer", "STRING"), Column("amount", "amount", "INT"))
PAGES = PageNumber(page_param="page", size_param="per_page", total_path="total", page_size=5)
CLIENT = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}


def orders(name: str, auth: Any, paginator: Any = PAGES) -> TableSpec:
    return TableSpec(name=name, path="/orders", columns=COLUMNS, records="data", paginator=paginator, auth=auth)


SMALL_PAGES = PageNumber(page_param="page", size_param="per_page", total_path="total", page_size=2)  # 13 pages
SLOW = {"requests_per_second": "8", "max_workers": "1"}  # 13 pages (and the token requests) take over 1.6 s


def sync(url: str, sink: RecordingSink, state: Mapping[str, Any] | None = None, /, **configuration: str) -> SyncResult:
    """One sync of the declared source against `url`, with instant retries."""
    return run_sync({"base_url": url, **FAST, **configuration}, state, sink=sink, log=StdLog())


def secrets_of(server: OAuth2Server) -> list[str]:
    values = [CLIENT_SECRET]
    for token in server.tokens.issued:
        values += [token.access_token, *([token.refresh_token] if token.refresh_token else [])]
    return values


def shown(sink: RecordingSink, caplog: Any) -> str:
    """Everything a user could read: the rows (sync_errors included), the logs, and every state checkpointed."""
    states = sink.checkpoints()
    ours = [record.getMessage() for record in caplog.records if record.name.startswith("async_core")]
    return json.dumps([[c[2] for c in sink.calls if c[0] == "upsert"], states], default=str) + "\n".join(ours)


def test_client_credentials_one_token_for_every_table_of_the_source(monkeypatch: Any) -> None:
    """Two tables with equal declarations share one token: one token request for the sync."""
    with oauth2_server() as server:
        auth = OAuth2ClientCredentials(token_url="/oauth/token")
        name = declare(
            monkeypatch,
            orders("orders", auth),
            orders("orders_again", OAuth2ClientCredentials(token_url="/oauth/token")),
        )
        sink = RecordingSink()
        result = sync(server.base_url, sink, source=name, max_workers="4", **CLIENT)
    assert result.status == "succeeded", result.message
    assert sink.ids("orders") == sink.ids("orders_again") == list(range(1, 26))
    assert server.tokens.grants == ["client_credentials"]
    assert server.tokens.refused == []


def test_a_token_is_renewed_before_it_expires(monkeypatch: Any) -> None:
    """A 1 s token over a 1.5 s sync: renewed in time, so the server never refuses a request."""
    with oauth2_server(lifetime=1) as server:
        name = declare(
            monkeypatch,
            orders("orders", OAuth2ClientCredentials(token_url="/oauth/token", client_auth="post")),
        )
        sink = RecordingSink()
        result = sync(server.base_url, sink, source=name, requests_per_second="4", max_workers="1", **CLIENT)
    assert result.status == "succeeded", result.message
    assert sink.ids("orders") == list(range(1, 26))
    assert len(server.tokens.grants) >= 2
    assert server.tokens.refused == []


def test_a_401_renews_the_token_once_and_the_page_lands(monkeypatch: Any) -> None:
    """The server revokes the token early: the 401 buys one new token (shared by the pages that held the old one),
    each refused page is asked once more, nothing is lost."""
    with oauth2_server() as server:
        server.tokens.expire_at = {3}
        name = declare(monkeypatch, orders("orders", OAuth2ClientCredentials(token_url="/oauth/token")))
        sink = RecordingSink()
        result = sync(server.base_url, sink, source=name, max_workers="1", **CLIENT)
    assert result.status == "succeeded", result.message
    assert sink.ids("orders") == list(range(1, 26))
    assert server.tokens.grants == ["client_credentials", "client_credentials"]
    refused = server.tokens.refused
    assert refused
    assert set(refused) == {"expired"}
    assert server.tokens.resource_requests == 5 + len(refused)  # each refused page asked again once


@pytest.mark.parametrize(
    ("lifetime", "renewals"),
    [(3600, 1), pytest.param(1, 2, marks=pytest.mark.reliability, id="renewed-within-the-sync")],
)
def test_a_rotated_refresh_token_is_kept_in_the_state_for_the_next_sync(
    monkeypatch: Any, caplog: Any, lifetime: int, renewals: int
) -> None:
    """Each refresh revokes the token it used; the state keeps the live one (sealed), so the next sync can start,
    and no token is shown anywhere, the state included."""
    caplog.set_level(logging.DEBUG)
    with oauth2_server(lifetime=lifetime) as server:
        configured = server.issue_refresh_token()
        name = declare(monkeypatch, orders("orders", OAuth2RefreshToken(token_url="/oauth/token"), SMALL_PAGES))
        first = RecordingSink()
        keys = {**CLIENT, "refresh_token": configured}
        result = sync(server.base_url, first, source=name, **(SLOW if renewals > 1 else {}), **keys)
        assert result.status == "succeeded", result.message
        assert server.tokens.grants.count("refresh_token") >= renewals
        state = first.checkpoints()[-1]
        assert [value[:3] for value in state["refresh_tokens"].values()] == ["v1."]  # sealed, one grant
        assert configured not in server.live_refresh_tokens()
        second = RecordingSink()
        again = sync(server.base_url, second, state, source=name, **keys)
        assert again.status == "succeeded", again.message
        assert second.ids("orders") == list(range(1, 26))
        assert len(server.live_refresh_tokens()) == 1
        leaked = [s for s in secrets_of(server) if s in shown(first, caplog) or s in shown(second, caplog)]
    assert leaked == []


def test_a_dead_refresh_token_fails_the_sync_with_the_fix_and_no_token_in_it(monkeypatch: Any, caplog: Any) -> None:
    """Without the state (its rotated token lost), the configured token is refused: the message names the key."""
    caplog.set_level(logging.DEBUG)
    with oauth2_server() as server:
        configured = server.issue_refresh_token()
        name = declare(monkeypatch, orders("orders", OAuth2RefreshToken(token_url="/oauth/token")))
        keys = {**CLIENT, "refresh_token": configured}
        assert sync(server.base_url, RecordingSink(), source=name, **keys).status == "succeeded"
        sink = RecordingSink()
        result = sync(server.base_url, sink, source=name, **keys)  # the state of the first sync was not kept
    assert result.status == "failed"
    assert statuses(result) == {"orders": "cancelled"}  # CRITICAL: every request would be refused
    message = " ".join(row["message"] for row in sink.rows("sync_errors"))
    assert "invalid_grant" in message
    assert "'refresh_token'" in message
    assert [s for s in secrets_of(server) if s in shown(sink, caplog)] == []


def test_a_wrong_client_secret_fails_the_sync_naming_the_keys_not_the_secret(monkeypatch: Any, caplog: Any) -> None:
    """The token endpoint's 401 invalid_client is read (its body says why): CRITICAL, the fix named."""
    caplog.set_level(logging.DEBUG)
    with oauth2_server() as server:
        name = declare(monkeypatch, orders("orders", OAuth2ClientCredentials(token_url="/oauth/token")))
        sink = RecordingSink()
        result = sync(server.base_url, sink, source=name, client_id=CLIENT_ID, client_secret="wrong-secret-value")
    assert result.status == "failed"
    message = " ".join(row["message"] for row in sink.rows("sync_errors"))
    assert "(invalid_client): check 'client_id' and 'client_secret'" in message
    assert "wrong-secret-value" not in shown(sink, caplog)
    assert sink.ids("orders") == []


def test_an_access_token_echoed_into_next_links_is_in_no_saved_state(monkeypatch: Any, caplog: Any) -> None:
    """The resource's next links carry `access_token=<token>`; the walk follows them, and no checkpoint (one every
    5 rows, so open passes with a saved link) nor log line holds a token."""
    caplog.set_level(logging.DEBUG)
    links = JsonLink(next_path="next", size_param="per_page", page_size=5)
    with oauth2_server() as server:
        name = declare(monkeypatch, orders("orders", OAuth2ClientCredentials(token_url="/oauth/token"), links))
        sink = RecordingSink()
        result = sync(server.base_url, sink, source=name, checkpoint_every_rows="5", **CLIENT)
        assert result.status == "succeeded", result.message
        assert sink.ids("orders") == list(range(1, 26))
        saved = [json.dumps(state) for state in sink.checkpoints() if "page=" in json.dumps(state)]
        assert saved  # links were saved mid-walk
        assert [s for s in secrets_of(server) if s in shown(sink, caplog)] == []
