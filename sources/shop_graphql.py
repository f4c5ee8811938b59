"""A shop's GraphQL API behind OAuth2 (a user's grant: a refresh token that rotates): orders in relay pages,
incremental on `updatedAt`, each order's line items in a table of their own (`order_line_items`).

Set `base_url` (the GraphQL host), `token_url` (the provider's token endpoint), `client_id`, `client_secret` and
`refresh_token` (from the user's authorisation). Each refresh answers a new refresh token and revokes the old one;
the connector keeps the new one in the state (README, Authentication), so the configured one is needed only once.
The tests run it against real servers: strawberry-graphql for the API, authlib for the authorization server.
"""

from async_core.source import (
    Column,
    ConfigKey,
    GraphQL,
    Incremental,
    NestedList,
    OAuth2RefreshToken,
    Relay,
    Source,
    TableSpec,
)

ORDERS = """
query Orders($first: Int!, $after: String, $since: String) {
  orders(first: $first, after: $after, updatedSince: $since) {
    nodes { id customer updatedAt lineItems { sku quantity } }
    pageInfo { hasNextPage endCursor }
  }
}
"""

LINE_ITEMS = NestedList(
    "order_line_items", "lineItems", (Column("sku", "sku", "STRING"),), key="sku", parent_key=("order_id",)
)

SOURCE = Source(
    name="shop_graphql",
    base_url="https://shop.example.com",
    auth=OAuth2RefreshToken(token_url_key="token_url"),
    keys=(
        ConfigKey("token_url", "Token URL", "The OAuth2 token endpoint", required=True),
        ConfigKey("client_id", "Client id", "The OAuth2 client", secret=True, required=True),
        ConfigKey("client_secret", "Client secret", "The OAuth2 client's secret", secret=True, required=True),
        ConfigKey("refresh_token", "Refresh token", "From the user's authorisation", secret=True, required=True),
    ),
    tables=(
        TableSpec(
            name="orders",
            path="/graphql",
            body=GraphQL(ORDERS),
            records="data.orders.nodes",
            paginator=Relay(page_info="data.orders.pageInfo", page_size=10),
            cursor=Incremental(field="updatedAt", param="since"),
            columns=(Column("id", "id", "INT"), Column("updated_at", "updatedAt", "UTC_DATETIME")),
            nested=(LINE_ITEMS,),
        ),
    ),
)
