"""A collection that changes while it is read, served over loopback HTTP in every paging style.

`Collection` holds rows `{"id", "updatedAt", "v"}` and a clock of its own (the `Date` header of every response);
`handler` serves it as `/t` in one paging style, ordered by `updatedAt` or by `id`, with an inclusive (`>=`) or
an exclusive (`>`) `updated_since`. `after` is called with the page number after each page is computed (before it
is sent): the test's hook to change the collection in the middle of a pass.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
from collections.abc import Callable
from email.utils import format_datetime
from typing import Any

from aiohttp import web

EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def stamp(moment: dt.datetime) -> str:
    """A cursor value as the server writes it (ISO 8601, UTC, whole seconds or microseconds)."""
    text = moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    return text


@dataclasses.dataclass
class Collection:
    """The server's rows and its clock."""

    rows: dict[int, dict[str, Any]] = dataclasses.field(default_factory=dict)
    now: dt.datetime = EPOCH + dt.timedelta(hours=1)
    order: str = "updatedAt"  # or "id"
    exclusive: bool = False
    next_id: int = 1
    after: Callable[[int], None] | None = None
    pace: float = 1.0  # seconds the server's clock moves per request served (time passes between pages and syncs)

    @classmethod
    def of(cls, count: int, **options: Any) -> Collection:
        """Rows 1..count, row i updated at EPOCH + i seconds."""
        collection = cls(**options)
        for _ in range(count):
            collection.insert(at=EPOCH + dt.timedelta(seconds=collection.next_id))
        return collection

    def insert(self, at: dt.datetime | None = None) -> int:
        key = self.next_id
        self.next_id += 1
        self.rows[key] = {"id": key, "updatedAt": stamp(at or self.now), "v": 0}
        return key

    def update(self, key: int, at: dt.datetime | None = None) -> None:
        row = self.rows[key]
        self.rows[key] = {**row, "updatedAt": stamp(at or self.now), "v": row["v"] + 1}

    def delete(self, key: int) -> None:
        self.rows.pop(key, None)

    def tick(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)

    def listed(self, since: str | None) -> list[dict[str, Any]]:
        rows = list(self.rows.values())
        if since is not None:
            bound = parse(since)
            rows = [
                r for r in rows if (parse(r["updatedAt"]) > bound if self.exclusive else parse(r["updatedAt"]) >= bound)
            ]
        if self.order == "id":
            return sorted(rows, key=lambda r: r["id"])
        return sorted(rows, key=lambda r: (parse(r["updatedAt"]), r["id"]))

    def page(self, since: str | None, start: int, size: int, number: int) -> tuple[list[dict[str, Any]], int]:
        listed = self.listed(since)
        body = [dict(r) for r in listed[start : start + size]]
        if self.after is not None:
            self.after(number)
        return body, len(listed)

    def position(self, row: dict[str, Any]) -> tuple[Any, ...]:
        return (row["id"],) if self.order == "id" else (parse(row["updatedAt"]), row["id"])

    def format_position(self, row: dict[str, Any]) -> str:
        return str(row["id"]) if self.order == "id" else f"{row['updatedAt']},{row['id']}"

    def parse_position(self, text: str) -> tuple[Any, ...]:
        if self.order == "id":
            return (int(text),)
        stamp_text, key = text.split(",")
        return (parse(stamp_text), int(key))

    def date(self) -> dict[str, str]:
        return {"Date": format_datetime(self.now, usegmt=True)}


def parse(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def handler(collection: Collection, style: str, *, fail: Callable[[web.Request], bool] | None = None) -> Any:
    """`/t` over `collection` in `style`: page_number (`page`, `per_page`, body `total`), offset (`offset`,
    `limit`, body `total`), json_link (`next` in the body: a page-number link) or cursor (`next_cursor`, a keyset
    token of the last row's (updatedAt, id); `updated_since` on the first request only). `fail`: requests that
    answer 500."""

    async def serve(request: web.Request) -> web.StreamResponse:
        if fail is not None and fail(request):
            return web.json_response({"error": "down"}, status=500, headers=collection.date())
        collection.tick(collection.pace)
        date = collection.date()  # the time the page is read at: before the hook changes anything
        query = request.query
        since = query.get("updated_since")
        if style == "page_number" or style == "json_link":
            size, number = int(query.get("per_page", "10")), int(query.get("page", "1"))
            data, total = collection.page(since, (number - 1) * size, size, number)
            body: dict[str, Any] = {"data": data, "total": total}
            if style == "json_link":
                more = number * size < total
                link = request.url.update_query(page=str(number + 1)) if more else None
                body = {"data": data, "next": str(link) if link else None, "total": total}
        elif style == "offset":
            size, offset = int(query.get("limit", "10")), int(query.get("offset", "0"))
            data, total = collection.page(since, offset, size, offset // size + 1)
            body = {"data": data, "total": total}
        elif style == "cursor":  # a keyset token of the server's order, carrying the first request's bound
            size = int(query.get("per_page", "10"))
            token = query.get("cursor")
            if token:
                since_text, position = base64.b64decode(token).decode().split("|")
                since = since_text or None
            listed = collection.listed(since)
            if token:
                listed = [r for r in listed if collection.position(r) > collection.parse_position(position)]
            data = [dict(r) for r in listed[:size]]
            if collection.after is not None:
                collection.after(0)
            token_out = None
            if len(listed) > size:
                text = f"{since or ''}|{collection.format_position(data[-1])}"
                token_out = base64.b64encode(text.encode()).decode()
            body = {"data": data, "next_cursor": token_out}
        else:
            raise AssertionError(style)
        return web.json_response(body, headers=date)

    return serve


def latest(rows: list[dict[str, Any]]) -> dict[int, int]:
    """The warehouse as a dict id -> version, from upserts in order (the last one wins)."""
    landed: dict[int, int] = {}
    for row in rows:
        landed[int(row["id"])] = int(row["v"])
    return landed
