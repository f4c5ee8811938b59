"""Running the playground: in a loop, in a thread, as a process; and leaving nothing behind."""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from async_core.playground import FaultProfile, Playground
from tests.devtools import pytest

ROOT = Path(__file__).resolve().parents[2]


def get(base_url: str, path: str) -> tuple[int, dict[str, str], Any]:
    """A synchronous GET with the standard library (no environment proxies)."""
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=5)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), json.loads(response.read())
    finally:
        connection.close()


def open_sockets() -> int:
    """This process's open sockets (Linux); -1 elsewhere."""
    try:
        return sum(os.readlink(f"/proc/self/fd/{fd}").startswith("socket:") for fd in os.listdir("/proc/self/fd"))
    except OSError:
        return -1


async def test_in_a_running_loop_the_base_url_is_loopback_and_ephemeral() -> None:
    server = Playground()
    with pytest.raises(RuntimeError, match="not running"):
        _ = server.base_url
    async with server:
        parts = urlsplit(server.base_url)
        assert (parts.scheme, parts.hostname, parts.path) == ("http", "127.0.0.1", "")
        assert parts.port
        assert parts.port > 0
        with pytest.raises(RuntimeError, match="already running"):
            await server.start()
    with pytest.raises(RuntimeError, match="not running"):
        _ = server.base_url


async def test_a_stalled_handler_does_not_hold_shutdown() -> None:
    """A 60 s stall is cancelled at shutdown, within the runner's short shutdown timeout."""
    async with aiohttp.ClientSession() as session:
        server = Playground(FaultProfile(stall=1.0, stall_seconds=60))
        await server.start()
        request = asyncio.create_task(session.get(f"{server.base_url}/users"))
        await asyncio.sleep(0.1)  # the request reaches the server and stalls
        assert not request.done()
        started = time.monotonic()
        await server.stop()
        assert time.monotonic() - started < 1.0
        with pytest.raises(aiohttp.ClientError):
            await request
    assert [(r.fault, r.status) for r in server.requests] == [("stall", 0)]


async def test_a_stall_whose_client_left_leaves_no_task_behind() -> None:
    """aiohttp forgets a connection when its client goes away, not its handler: stop() ends those too."""
    server = Playground(FaultProfile(stall=1.0, stall_seconds=60))
    await server.start()
    async with aiohttp.ClientSession() as session:
        with pytest.raises(asyncio.TimeoutError):
            await session.get(f"{server.base_url}/users", timeout=aiohttp.ClientTimeout(total=0.1))
    await asyncio.sleep(0.05)  # the server sees the disconnection
    assert len(asyncio.all_tasks()) > 1  # the stalled handler
    started = time.monotonic()
    await server.stop()
    assert time.monotonic() - started < 1.0
    assert asyncio.all_tasks() == {asyncio.current_task()}
    assert [(r.fault, r.status) for r in server.requests] == [("stall", 0)]


def test_in_a_thread_for_synchronous_callers_and_nothing_left_after() -> None:
    threads_before = set(threading.enumerate())
    sockets_before = open_sockets()
    with Playground(scale=2).in_thread() as server:
        status, headers, rows = get(server.base_url, "/posts?_page=3&_limit=50")
        assert (status, headers["X-Total-Count"], [row["id"] for row in rows][:2]) == (200, "200", [101, 102])
        server.set_profile(FaultProfile(unavailable=1.0))
        assert get(server.base_url, "/posts")[0] == 503
        assert [r.status for r in server.requests] == [200, 503]
        server.reset_log()
        assert len(server.requests) == 0
        assert len(threading.enumerate()) == len(threads_before) + 1
    assert set(threading.enumerate()) == threads_before
    assert open_sockets() == sockets_before


def test_a_thread_that_cannot_start_says_why_and_leaves_nothing() -> None:
    threads_before = set(threading.enumerate())
    with Playground().in_thread() as first:
        port = urlsplit(first.base_url).port or 0
        with pytest.raises(RuntimeError, match="could not start"), Playground(port=port).in_thread():
            pass
    assert set(threading.enumerate()) == threads_before


def test_the_command_line_prints_its_url_serves_and_stops_on_sigterm() -> None:
    command = [sys.executable, "-m", "async_core.playground", "--port", "0", "--scale", "2", "--faults", "none"]
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("playground listening on http://127.0.0.1:")
        base_url = line.split()[-1]
        status, _, rows = get(base_url, "/users")
        assert (status, len(rows)) == (200, 20)
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=5)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0
    assert out == ""
    assert "playground stopped: 1 requests, faults: none" in err


def test_the_command_line_takes_overrides_and_outages() -> None:
    from async_core.playground.__main__ import parse_arguments

    arguments = parse_arguments(
        ["--faults", "flaky", "--seed", "4", "--latency-ms", "50", "--fault", "unavailable=0.3", "--outage", "10:30"]
    )
    fault_profile = arguments.profile
    assert (fault_profile.unavailable, fault_profile.reset, fault_profile.seed) == (0.3, 0.01, 4)
    assert (fault_profile.latency_ms, fault_profile.outages) == (50, ((10.0, 30.0),))
    assert parse_arguments(["--capacity", "32"]).profile.capacity == 32
    bad_arguments = (["--fault", "explode=0.1"], ["--outage", "30:10"], ["--fault", "reset=2"], ["--scale", "0"])
    for bad in (*bad_arguments, ["--capacity", "-1"]):
        with pytest.raises(SystemExit):
            parse_arguments(bad)
