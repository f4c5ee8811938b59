"""The third shipped source: OAuth2 + GraphQL + a nested list, declared in under 60 lines."""

from pathlib import Path

from async_core.source import GraphQL, OAuth2RefreshToken, Relay
from sources.shop_graphql import SOURCE


def test_the_declaration_uses_oauth2_graphql_and_a_nested_list_in_under_60_lines() -> None:
    """The whole module, docstring included, stays under 60 lines."""
    lines = (Path(__file__).resolve().parents[2] / "sources" / "shop_graphql.py").read_text().splitlines()
    orders = SOURCE.table("orders")
    assert len(lines) < 60
    assert isinstance(SOURCE.auth, OAuth2RefreshToken)
    assert isinstance(orders.body, GraphQL)
    assert isinstance(orders.paginator, Relay)
    assert [nested.table for nested in orders.nested] == ["order_line_items"]
