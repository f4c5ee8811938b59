"""One HTTP exchange with the real playground, as aiohttp (the connector's client) sees it."""

from __future__ import annotations

import base64
import dataclasses
import json
import re
from collections.abc import Mapping
from typing import Any

import aiohttp

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")  # what every createdAt / updatedAt looks like
ITEM_KEYS = ["id", "name", "email", "address", "company", "job", "createdAt", "updatedAt"]


@dataclasses.dataclass(frozen=True)
class Reply:
    status: int
    headers: Mapping[str, str]  # aiohttp's, case-insensitive (multidict not imported: pipreqs)
    content_type: str
    body: Any  # the decoded JSON, or the text when the reply is not JSON


async def call(client: aiohttp.ClientSession, method: str, url: str, **kwargs: Any) -> Reply:
    async with client.request(method, url, **kwargs) as response:
        text = await response.text()
        body: Any = json.loads(text) if response.content_type == "application/json" else text
        return Reply(response.status, response.headers, response.content_type, body)


async def get(client: aiohttp.ClientSession, url: str, **kwargs: Any) -> Reply:
    return await call(client, "GET", url, **kwargs)


def basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
