from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp

from tests.devtools import pytest


@pytest.fixture
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session
