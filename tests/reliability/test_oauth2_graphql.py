"""The shop_graphql source under `fivetran debug` (real servers: authlib, strawberry-graphql): OAuth2 tokens that
expire and rotate within a sync and across two syncs with a SIGKILL between them, and a GraphQL error mid-walk.

Short lifetimes (1 s) over a slow API (0.25 s a page): the first run renews its token, each renewal rotating the
refresh token and revoking the one it used, and is killed (SIGKILL) once its state holds the live refresh token
(sealed: the test opens it with the client's secret) and part of the walk; the configured refresh token is dead by
then. The second run starts from the state's token, resumes the open pass at its saved cursor, renews again, and
lands exactly what the shop holds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from async_core.source.sealed import derive_key, unseal
from tests.devtools import pytest
from tests.e2e.project import Warehouse, make_project, run_debug, started_debug, state_of, wait_for
from tests.e2e.test_shop_graphql import configuration, held, landed
from tests.graphql_server import Fault, graphql_server, sample_orders
from tests.oauth2_server import CLIENT_ID, CLIENT_SECRET, oauth2_server
from tests.states import next_page

pytestmark = pytest.mark.reliability

KEY = derive_key(CLIENT_ID, CLIENT_SECRET)


def kept_token(folder: Path) -> str | None:
    state = state_of(folder)
    sealed = list((state or {}).get("refresh_tokens", {}).values())
    return unseal(KEY, sealed[0]) if sealed else None


def test_rotation_within_and_across_two_syncs_with_a_sigkill_between(tmp_path: Path) -> None:
    """Killed after rotating more than once; the rerun needs the state's token, resumes, lands everything."""
    orders = sample_orders(100)
    with (
        oauth2_server(lifetime=1) as auth,
        graphql_server(orders=orders, tokens=auth.tokens, fault=Fault(delay=0.25)) as api,
    ):
        configured = auth.issue_refresh_token()
        folder = make_project(tmp_path / "project", {**configuration(api, auth, configured), "max_workers": "1"})

        def rotated_and_saved() -> bool:
            live = auth.live_refresh_tokens()
            state = state_of(folder)
            return (
                auth.tokens.grants.count("refresh_token") >= 2
                and kept_token(folder) in live
                and state is not None
                and next_page(state, "orders") >= 3
            )

        with started_debug(folder) as process:
            assert wait_for(rotated_and_saved, timeout=60), (auth.tokens.grants, state_of(folder))
            process.kill()
        assert configured not in auth.live_refresh_tokens()
        killed_at, renewals = len(api.seen), auth.tokens.grants.count("refresh_token")
        rerun = run_debug(folder)
        assert rerun.returncode == 0, rerun.stdout[-3000:]
        assert landed(Warehouse(folder)) == held(orders)
        assert api.seen[killed_at]["after"] is not None  # resumed at the saved cursor, not from the start
        assert "refresh token revoked or unknown" not in auth.tokens.refused
        assert auth.tokens.grants.count("refresh_token") >= renewals + 2  # renewed within the rerun too
        assert kept_token(folder) in auth.live_refresh_tokens()
        shown = [t.refresh_token for t in auth.tokens.issued if t.refresh_token] + [CLIENT_SECRET]
    assert [s for s in shown if s and s in rerun.stdout] == []


def test_a_graphql_error_mid_walk_is_a_lost_page_and_the_next_run_lands_the_rest(tmp_path: Path) -> None:
    """The resolver fails on the third page: that page goes to sync_errors (the pass stays open there, nothing
    is taken for an empty last page); the next run walks on from its cursor and the warehouse is exact."""
    orders = sample_orders(40)
    with oauth2_server() as auth, graphql_server(orders=orders, tokens=auth.tokens, fault=Fault({3})) as api:
        folder = make_project(tmp_path / "project", configuration(api, auth, auth.issue_refresh_token()))
        first = run_debug(folder)
        warehouse = Warehouse(folder)
        assert sorted(landed(warehouse)) == list(range(1, 21)), first.stdout[-3000:]
        errors: list[Any] = warehouse.query("select table_name, page, error_type, message from tester.sync_errors")
        assert [(t, p, e) for t, p, e, _ in errors] == [("orders", 3, "FatalError")]
        assert "GraphQL error: the orders resolver failed" in errors[0][3]
        second = run_debug(folder)
        assert second.returncode == 0, second.stdout[-3000:]
        assert landed(warehouse) == held(orders)
        rerun = [seen["after"] for seen in api.seen[3:]]
        assert None not in rerun  # resumed, not walked from the start
        assert api.seen[2]["after"] in rerun  # the failed page asked again with its cursor
