"""JSONPlaceholder's six collections, as json-server serves them (also the embedded playground's).

Bare JSON arrays, `?_page=N&_limit=M` with `X-Total-Count` (or a Link header), integer ids, foreign keys
snake_cased, nested objects kept as JSON. No change cursor: every sync is a full pass. An API key, if configured,
is sent as a bearer token.
"""

from async_core.source import BearerAuth, Column, ConfigKey, JsonServer, Source, TableSpec

ID = Column("id", "id", "INT")
TITLE = Column("title", "title", "STRING")
PAGES = JsonServer()


def table(name: str, *columns: Column) -> TableSpec:
    return TableSpec(name=name, path=f"/{name}", columns=(ID, *columns), paginator=PAGES)


SOURCE = Source(
    name="jsonplaceholder",
    base_url="playground",  # the embedded server; set base_url to a json-server of your own
    auth=BearerAuth(token_key="api_key", optional=True),
    keys=(ConfigKey("api_key", "API key", "Sent as a bearer token, if set", secret=True),),
    default_tables=("users", "posts", "comments"),
    tables=(
        table(
            "users",
            Column("name", "name", "STRING"),
            Column("username", "username", "STRING"),
            Column("email", "email", "STRING"),
            Column("address", "address", "JSON"),
            Column("phone", "phone", "STRING"),
            Column("website", "website", "STRING"),
            Column("company", "company", "JSON"),
        ),
        table("posts", Column("user_id", "userId", "INT"), TITLE, Column("body", "body", "STRING")),
        table(
            "comments",
            Column("post_id", "postId", "INT"),
            Column("name", "name", "STRING"),
            Column("email", "email", "STRING"),
            Column("body", "body", "STRING"),
        ),
        table("albums", Column("user_id", "userId", "INT"), TITLE),
        table(
            "photos",
            Column("album_id", "albumId", "INT"),
            TITLE,
            Column("url", "url", "STRING"),
            Column("thumbnail_url", "thumbnailUrl", "STRING"),
        ),
        table("todos", Column("user_id", "userId", "INT"), TITLE, Column("completed", "completed", "BOOLEAN")),
    ),
)

TABLES = {spec.name: spec for spec in SOURCE.tables}  # by name, for tests and the benchmark
