"""The same-library control: one HTTP/1.1 exchange written once over h11, driven by threads or by asyncio.

`Exchange` is sans-I/O: it makes the request's bytes and parses the response from whatever bytes it is fed (h11,
pure Python, the parser httpx and httpcore use). The two drivers differ only in how they wait for the network:
- `h11-threads`: `ThreadPoolExecutor(max_workers)`, each thread with its own keep-alive socket (blocking
  `sendall`/`recv`);
- `h11-async`: one event loop, a task per page under `asyncio.Semaphore(max_workers)`, keep-alive connections on
  asyncio's streams (`open_connection`, `write`, `read`), at most `max_workers` of them.
The plan, rows and hand-off are `common`'s, the fan-out's structure `aio.fan_out`'s and `pool.start_pool`'s.

Why not httpx's `Client` against its `AsyncClient`: their connection pools differ in what they do per request. On
this machine the async pool spent about two thirds of the loop's CPU scanning every pooled connection through
anyio's attribute lookup on each request (`has_expired`, ~9 ms a request at 64 connections), which the sync pool
does with a plain socket call: a comparison of two pool implementations, not of two concurrency models.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import urllib.parse
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from async_core.settings import Settings
from benchmarks.devtools import h11
from benchmarks.minimal.aio import Get
from benchmarks.minimal.common import HEADERS

RECEIVE_BYTES = 64 * 1024
_REQUEST_HEADERS = [(name, value) for name, value in HEADERS.items()]


class Exchange:
    """One GET on a keep-alive connection, sans I/O: `request()` bytes out, `feed(data)` bytes in, until `done`."""

    def __init__(self, connection: h11.Connection, host: str, target: str) -> None:
        self._connection = connection
        self._host = host
        self._target = target
        self.status = 0
        self.headers: dict[str, str] = {}
        self._body: list[bytes] = []
        self.done = False

    def request(self) -> bytes:
        connection = self._connection
        if connection.our_state is h11.DONE and connection.their_state is h11.DONE:
            connection.start_next_cycle()
        headers = [("Host", self._host), *_REQUEST_HEADERS]
        data = connection.send(h11.Request(method="GET", target=self._target, headers=headers))
        return (data or b"") + (connection.send(h11.EndOfMessage()) or b"")

    def feed(self, data: bytes) -> None:
        """Parses `data` (b"" for end of stream); sets `done` at the end of the response."""
        connection = self._connection
        connection.receive_data(data)
        while True:
            event = connection.next_event()
            if event is h11.NEED_DATA:
                return
            if isinstance(event, h11.Response):
                self.status = event.status_code
                self.headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in event.headers}
            elif isinstance(event, h11.Data):
                self._body.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                self.done = True
                return
            elif isinstance(event, h11.ConnectionClosed):
                raise ConnectionError("the server closed the connection mid-response")

    def result(self) -> tuple[Mapping[str, str], Any]:
        if not 200 <= self.status < 300:
            raise RuntimeError(f"HTTP {self.status} for {self._target}")
        return self.headers, json.loads(b"".join(self._body))

    @property
    def reusable(self) -> bool:
        return self._connection.our_state is h11.DONE and self._connection.their_state is h11.DONE


def _split(url: str) -> tuple[str, int, str, str]:
    parts = urllib.parse.urlsplit(url)
    port = parts.port or 80
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    return parts.hostname or "", port, parts.netloc, target


class _SocketConnection:
    """A thread's keep-alive connection: a blocking socket and its h11 state."""

    def __init__(self, host: str, port: int, timeout: float) -> None:
        self.socket = socket.create_connection((host, port), timeout=timeout)
        self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.h11 = h11.Connection(h11.CLIENT)


def threaded_get(settings: Settings) -> tuple[Callable[[str], tuple[Mapping[str, str], Any]], Callable[[], None]]:
    """A blocking `get(url)` for pool threads (one connection per thread), and the function that closes them."""
    local = threading.local()
    opened: list[_SocketConnection] = []

    def get(url: str) -> tuple[Mapping[str, str], Any]:
        host, port, netloc, target = _split(url)
        connection: _SocketConnection | None = getattr(local, "connection", None)
        if connection is None:
            connection = _SocketConnection(host, port, settings.api_timeout_seconds)
            local.connection = connection
            opened.append(connection)  # list.append: atomic under the GIL
        exchange = Exchange(connection.h11, netloc, target)
        connection.socket.sendall(exchange.request())
        while not exchange.done:
            exchange.feed(connection.socket.recv(RECEIVE_BYTES))
        if not exchange.reusable:
            connection.socket.close()
            local.connection = None
        return exchange.result()

    def close() -> None:
        for connection in opened:
            connection.socket.close()

    return get, close


@contextlib.asynccontextmanager
async def h11_async_client(settings: Settings) -> AsyncIterator[Get]:
    """An async `get(url)`: idle keep-alive connections kept in a list (the semaphore bounds them to max_workers)."""
    idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, h11.Connection]] = []
    opened: list[asyncio.StreamWriter] = []

    async def get(url: str) -> tuple[Mapping[str, str], Any]:
        host, port, netloc, target = _split(url)
        if idle:
            reader, writer, connection = idle.pop()
        else:
            reader, writer = await asyncio.open_connection(host, port)
            connection = h11.Connection(h11.CLIENT)
            opened.append(writer)
        exchange = Exchange(connection, netloc, target)
        async with asyncio.timeout(settings.api_timeout_seconds):
            writer.write(exchange.request())
            while not exchange.done:
                exchange.feed(await reader.read(RECEIVE_BYTES))
        if exchange.reusable:
            idle.append((reader, writer, connection))
        else:
            writer.close()
        return exchange.result()

    try:
        yield get
    finally:
        for writer in opened:
            writer.close()
