"""JSONPlaceholder's six collections, as json-server serves them (also the embedded playground's).

Bare JSON arrays, `?_page=N&_limit=M` with `X-Total-Count` (or a Link header), integer ids, foreign keys
snake_cased, nested objects kept as JSON. No change cursor: every sync is a full pass. An API key, if configured,
is sent as a bearer token.
"""

from async_core.source import BearerAuth, Column, ConfigKey, JsonServer, Policy, Source, TableDefaults, TableSpec

ID = Column("id", "id", "INT")
TITLE = Column("title", "title", "STRING")

SOURCE = Source(
    name="jsonplaceholder",
    base_url="playground",  # the embedded server; set base_url to a json-server of your own
    auth=BearerAuth(token_key="api_key", optional=True),
    keys=(ConfigKey("api_key", "API key", "Sent as a bearer token, if set", secret=True),),
    default_tables=("users", "posts", "comments"),
    table_defaults=TableDefaults(paginator=JsonServer()),  # every collection pages the same way
    policy=Policy(page_size=25),  # rows per request (`_limit`)
    tables=(
        TableSpec(
            "users",
            "/users",
            (
                ID,
                Column("name", "name", "STRING"),
                Column("username", "username", "STRING"),
                Column("email", "email", "STRING"),
                Column("address", "address", "JSON"),
                Column("phone", "phone", "STRING"),
                Column("website", "website", "STRING"),
                Column("company", "company", "JSON"),
            ),
        ),
        TableSpec("posts", "/posts", (ID, Column("user_id", "userId", "INT"), TITLE, Column("body", "body", "STRING"))),
        TableSpec(
            "comments",
            "/comments",
            (
                ID,
                Column("post_id", "postId", "INT"),
                Column("name", "name", "STRING"),
                Column("email", "email", "STRING"),
                Column("body", "body", "STRING"),
            ),
        ),
        TableSpec("albums", "/albums", (ID, Column("user_id", "userId", "INT"), TITLE)),
        TableSpec(
            "photos",
            "/photos",
            (
                ID,
                Column("album_id", "albumId", "INT"),
                TITLE,
                Column("url", "url", "STRING"),
                Column("thumbnail_url", "thumbnailUrl", "STRING"),
            ),
        ),
        TableSpec(
            "todos",
            "/todos",
            (ID, Column("user_id", "userId", "INT"), TITLE, Column("completed", "completed", "BOOLEAN")),
        ),
    ),
)

TABLES = {spec.name: spec for spec in SOURCE.tables}  # by name, for tests and the benchmark
