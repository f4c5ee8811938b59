"""`fivetran debug` with `source` shop_graphql (OAuth2 refresh token + GraphQL relay pages) against real servers:
strawberry-graphql's aiohttp view for the API, authlib's Flask integration for the authorization server.

Two syncs: the first lands every order; between them the shop changes an order and takes a new one; the second
asks only for what changed (the watermark as a variable) and starts with the refresh token the first one was
given (the configured one is revoked by then), kept in the state, sealed: no token is ever printed, though the
local runner prints every checkpointed state.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.devtools import pytest
from tests.e2e.project import Warehouse, make_project, run_debug, state_of
from tests.graphql_server import GraphQLServer, graphql_server, sample_orders
from tests.oauth2_server import CLIENT_ID, CLIENT_SECRET, OAuth2Server, oauth2_server

pytestmark = pytest.mark.e2e


def configuration(api: GraphQLServer, auth: OAuth2Server, refresh_token: str) -> dict[str, str]:
    return {
        "source": "shop_graphql",
        "base_url": api.base_url,
        "token_url": auth.token_url,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "refresh_token": refresh_token,
    }


def landed(warehouse: Warehouse) -> dict[int, tuple[str, Any]]:
    """Each order's customer (an undeclared field: its own column) and its line items (the nested table)."""
    items: dict[int, list[tuple[str, int]]] = {}
    for order_id, sku, quantity in warehouse.query("select order_id, sku, quantity from tester.order_line_items"):
        items.setdefault(order_id, []).append((sku, quantity))
    rows = warehouse.query("select id, customer from tester.orders")
    return {row[0]: (row[1], sorted(items.get(row[0], []))) for row in rows}


def held(orders: list[dict[str, Any]]) -> dict[int, tuple[str, Any]]:
    return {o["id"]: (o["customer"], sorted((i["sku"], i["quantity"]) for i in o["line_items"])) for o in orders}


def test_two_syncs_land_exactly_what_the_shop_holds_with_a_rotated_token(tmp_path: Path) -> None:
    """The warehouse holds the server's orders after each sync; the second sync asks for changes only, and the
    refresh token it used came from the state (the configured one was revoked by the first sync's refresh)."""
    orders = sample_orders(25)
    with oauth2_server() as auth, graphql_server(orders=orders, tokens=auth.tokens) as api:
        configured = auth.issue_refresh_token()
        folder = make_project(tmp_path / "project", configuration(api, auth, configured))
        first = run_debug(folder)
        assert first.returncode == 0, first.stdout[-3000:]
        warehouse = Warehouse(folder)
        assert landed(warehouse) == held(orders)
        assert len(api.seen) == 3  # pages of 10

        orders[4] = {**orders[4], "customer": "renamed", "updated_at": "2024-05-03T00:00:00Z"}
        orders.append({**sample_orders(26)[-1], "updated_at": "2024-05-03T00:00:01Z"})
        second = run_debug(folder)
        assert second.returncode == 0, second.stdout[-3000:]
        assert landed(warehouse) == held(orders)
        assert api.seen[-1]["updatedSince"] == "2024-05-01T00:25:00Z"
        state = state_of(folder)
        assert state is not None
        assert [value[:3] for value in state["refresh_tokens"].values()] == ["v1."]  # one grant's token, sealed
        assert auth.tokens.grants == ["refresh_token", "refresh_token"]
        assert configured not in auth.live_refresh_tokens()
        assert auth.tokens.refused == []
    output = first.stdout + second.stdout
    assert [s for s in (CLIENT_SECRET, configured, *auth.live_refresh_tokens()) if s in output] == []
