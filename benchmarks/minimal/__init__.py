"""Minimal engines: the floor (`bare`, aiohttp on asyncio) and the same-library control (httpx on asyncio and on
threads). Each does the least a sync must (see `common`); they differ only in the HTTP library and the model:

    bare           aiohttp     asyncio (one loop thread)     the floor the connector is measured against
    bare-rows      aiohttp     asyncio (one loop thread)     the floor's fetching, the connector's rows and schema
    h11-async      h11         asyncio (one loop thread)     } the control: one HTTP/1.1 exchange (sans-I/O),
    h11-threads    h11         ThreadPoolExecutor            } two concurrency models (see `h11pair`)
    httpx-async    httpx       asyncio (one loop thread)     } not in the default matrix: the two pools differ
    httpx-threads  httpx       ThreadPoolExecutor            } (see `h11pair`); `--engines` runs them
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from async_core.run.bridge import Sink
from async_core.sync import SyncResult
from benchmarks.minimal.aio import aiohttp_client, httpx_client, start_on_loop_thread
from benchmarks.minimal.common import records_of, run_minimal
from benchmarks.minimal.h11pair import h11_async_client, threaded_get
from benchmarks.minimal.pool import httpx_get, start_pool


def run_bare(
    configuration: Mapping[str, object], state: Mapping[str, Any] | None, *, sink: Sink, log: Any
) -> SyncResult:
    """What a user would write: aiohttp fan-out under a semaphore, the records upserted as they come from one
    thread (for a primary-key-only schema, `common.user_schema`), a checkpoint every `checkpoint_every_rows`."""
    return run_minimal(
        "bare", configuration, sink=sink, fetch_side=start_on_loop_thread(aiohttp_client), rows=records_of
    )


def run_bare_rows(
    configuration: Mapping[str, object], state: Mapping[str, Any] | None, *, sink: Sink, log: Any
) -> SyncResult:
    """`bare`'s fetching with the connector's output: each record mapped to the declared columns plus
    `processed_at`, under the connector's typed schema (with `sync_runs` and `sync_errors`). Against `bare` it
    measures what the connector's rows cost the SDK; against it, the connector's engine alone (issue 21)."""
    return run_minimal("bare-rows", configuration, sink=sink, fetch_side=start_on_loop_thread(aiohttp_client))


def run_httpx_async(
    configuration: Mapping[str, object], state: Mapping[str, Any] | None, *, sink: Sink, log: Any
) -> SyncResult:
    """httpx.AsyncClient on asyncio, the same minimal logic as `bare`."""
    return run_minimal("httpx-async", configuration, sink=sink, fetch_side=start_on_loop_thread(httpx_client))


def run_httpx_threads(
    configuration: Mapping[str, object], state: Mapping[str, Any] | None, *, sink: Sink, log: Any
) -> SyncResult:
    """httpx.Client in a ThreadPoolExecutor, the same minimal logic as `bare`."""
    return run_minimal("httpx-threads", configuration, sink=sink, fetch_side=start_pool(httpx_get))


def run_h11_async(
    configuration: Mapping[str, object], state: Mapping[str, Any] | None, *, sink: Sink, log: Any
) -> SyncResult:
    """h11 on asyncio's streams, the same minimal logic as `bare`."""
    return run_minimal("h11-async", configuration, sink=sink, fetch_side=start_on_loop_thread(h11_async_client))


def run_h11_threads(
    configuration: Mapping[str, object], state: Mapping[str, Any] | None, *, sink: Sink, log: Any
) -> SyncResult:
    """h11 on a blocking socket per thread in a ThreadPoolExecutor, the same minimal logic as `bare`."""
    return run_minimal("h11-threads", configuration, sink=sink, fetch_side=start_pool(threaded_get))


__all__ = ["run_bare", "run_h11_async", "run_h11_threads", "run_httpx_async", "run_httpx_threads"]
