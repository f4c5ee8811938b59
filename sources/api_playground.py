"""Fivetran's mock API, `fivetran-api-playground` (pip), as a source: every pagination style, incremental cursors,
four kinds of authentication, and a child table.

Run it with `playground start --port 5001` and set `base_url` to `http://127.0.0.1:5001`. Its credentials are
printed at start; set them as `basic_username`, `basic_password`, `bearer_token`, `api_key`, `session_username`
and `session_password`.

Its quirks, handled here: unknown query parameters get a 400, so each table sends only what its endpoint takes;
it sorts one shared list in place, so every table asks for the same order (`updatedAt`, ascending: the default,
sent explicitly); its `updated_since` is inclusive (the boundary row comes back: upserts absorb it); the keyset
endpoint takes `updated_since` on the first request only.

The paged endpoints sort by `updatedAt`, so their cursor is declared `sorted=True`: each request asks from the last
row's `updatedAt` (page 1 again), and a row updated while a table is read moves ahead of the walk instead of
shifting another row out of it (issue 17). The keyset endpoint's own `scroll_param` is strict (`>`): it would skip
rows sharing a page's last timestamp, so the walk uses the inclusive `updated_since` on every request instead.
"""

from async_core.source import (
    ApiKeyAuth,
    BasicAuth,
    BearerAuth,
    Column,
    ConfigKey,
    Cursor,
    Incremental,
    JsonLink,
    Offset,
    PageNumber,
    Parent,
    SessionAuth,
    Source,
    TableDefaults,
    TableSpec,
)

MAX_PAGE = 50  # the largest per_page / limit it accepts
ORDER = {"order_by": "updatedAt", "order_type": "asc"}
UPDATED_SINCE = Incremental(field="updatedAt", param="updated_since")
SORTED_SINCE = Incremental(field="updatedAt", param="updated_since", sorted=True)  # the paged endpoints' order

ITEM_COLUMNS = (
    Column("id", "id", "STRING"),
    Column("name", "name", "STRING"),
    Column("email", "email", "STRING"),
    Column("address", "address", "STRING"),
    Column("company", "company", "STRING"),
    Column("job", "job", "STRING"),
    Column("created_at", "createdAt", "UTC_DATETIME"),
    Column("updated_at", "updatedAt", "UTC_DATETIME"),
)


SOURCE = Source(
    name="api_playground",
    base_url="http://127.0.0.1:5001",
    keys=(
        ConfigKey("basic_username", "HTTP basic user name", "For items_basic_auth", secret=True),
        ConfigKey("basic_password", "HTTP basic password", "For items_basic_auth", secret=True),
        ConfigKey("bearer_token", "Bearer token", "For items_bearer_auth", secret=True),
        ConfigKey("api_key", "API key", "For items_api_key_auth (sent as 'apiKey <key>')", secret=True),
        ConfigKey("session_username", "Session user name", "For items_session_auth", secret=True),
        ConfigKey("session_password", "Session password", "For items_session_auth", secret=True),
    ),
    table_defaults=TableDefaults(records="data"),  # every endpoint answers {"data": [...], ...}
    default_tables=(
        "items_next_page_url",
        "items_page_number",
        "items_offset",
        "items_keyset",
        "items_since",
        "companies",
        "departments",
    ),
    tables=(
        TableSpec(
            "items_next_page_url",
            "/pagination/next_page_url",
            ITEM_COLUMNS,
            paginator=JsonLink(
                next_path="next_page_url",
                size_param="per_page",
                total_path="total_items",
                page_size=MAX_PAGE,
                max_page_size=MAX_PAGE,
            ),
            params=ORDER,
            cursor=SORTED_SINCE,
        ),
        TableSpec(
            "items_page_number",
            "/pagination/page_number",
            ITEM_COLUMNS,
            paginator=PageNumber(
                page_param="page",
                size_param="per_page",
                total_path="total_items",
                page_size=MAX_PAGE,
                max_page_size=MAX_PAGE,
            ),
            params=ORDER,
            cursor=SORTED_SINCE,
        ),
        TableSpec(
            "items_offset",
            "/pagination/offset",
            ITEM_COLUMNS,
            paginator=Offset(
                offset_param="offset",
                limit_param="limit",
                total_path="total",
                page_size=MAX_PAGE,
                max_page_size=MAX_PAGE,
            ),
            params=ORDER,
            cursor=SORTED_SINCE,
        ),
        TableSpec(
            "items_keyset",
            "/pagination/keyset",
            ITEM_COLUMNS,
            paginator=Cursor(cursor_path="scroll_param", cursor_param="scroll_param"),
            cursor=Incremental(field="updatedAt", param="updated_since", first_request_only=True, sorted=True),
        ),
        TableSpec(
            "items_since", "/incremental/timestamp", ITEM_COLUMNS, cursor=Incremental(field="updatedAt", param="since")
        ),
        TableSpec("items_basic_auth", "/auth/http_basic", ITEM_COLUMNS, auth=BasicAuth()),
        TableSpec("items_bearer_auth", "/auth/http_bearer", ITEM_COLUMNS, auth=BearerAuth()),
        TableSpec("items_api_key_auth", "/auth/api_key", ITEM_COLUMNS, auth=ApiKeyAuth(key="api_key", prefix="apiKey")),
        TableSpec(
            "items_session_auth",
            "/auth/session_token/data",
            ITEM_COLUMNS,
            auth=SessionAuth(login_path="/auth/session_token/login"),
        ),
        TableSpec(
            name="companies",
            path="/cursors/companies",
            primary_key=("company_id",),
            params=ORDER,
            cursor=UPDATED_SINCE,
            columns=(
                Column("company_id", "company_id", "INT"),
                Column("company_name", "company_name", "STRING"),
                Column("created_at", "createdAt", "UTC_DATETIME"),
                Column("updated_at", "updatedAt", "UTC_DATETIME"),
            ),
        ),
        TableSpec(
            name="departments",
            path="/cursors/{company_id}/departments",
            parent=Parent("companies"),
            primary_key=("company_id", "department_id"),
            params=ORDER,
            cursor=UPDATED_SINCE,
            columns=(
                Column("company_id", "company_id", "INT", from_parent=True),
                Column("department_id", "department_id", "INT"),
                Column("department_name", "department_name", "STRING"),
                Column("created_at", "createdAt", "UTC_DATETIME"),
                Column("updated_at", "updatedAt", "UTC_DATETIME"),
            ),
        ),
    ),
)
