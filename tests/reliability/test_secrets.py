"""The API key never leaves the Authorization header: not in logs, warehouse, state, errors or crash reports.

Three runs of the real `fivetran debug` against inline servers (a good run, a 401, and 500s until the retries run
out), each server echoing the Authorization header it got into its error bodies, as careless APIs do; then every
file of the project folder (configuration.json aside, where the key belongs), every table of the warehouse dumped
as text, and the output are searched for the key. In process: results, messages and exceptions.
"""

from __future__ import annotations

import traceback
from pathlib import Path
from typing import Any

from aiohttp import web

from async_core import ConfigurationError, parse_settings
from tests.devtools import duckdb, pytest
from tests.e2e.project import make_project
from tests.integration.servers import paged, rows, serve
from tests.reliability.support import START_SECONDS, checked_sync, port_of, settings_of, time_bound, timed_debug

pytestmark = pytest.mark.reliability

API_KEY = "sk-live-RELIABILITY-7f3a9c1e-do-not-leak"
BEARER = f"Bearer {API_KEY}"


def guarded(request: web.Request, collection: str) -> Any:
    """A JSONPlaceholder-like collection that only answers with the right bearer token."""
    if request.headers.get("Authorization") != BEARER:
        return web.json_response({"error": "bad token", "got": request.headers.get("Authorization")}, status=401)
    return paged(rows(collection, 30 if collection == "posts" else 10))(request)


async def good_server(request: web.Request) -> web.StreamResponse:
    response: web.StreamResponse = await guarded(request, request.path.strip("/"))
    return response


async def refusing_server(request: web.Request) -> web.StreamResponse:
    return web.json_response({"error": "token revoked", "token": request.headers.get("Authorization")}, status=401)


async def broken_server(request: web.Request) -> web.StreamResponse:
    return web.json_response({"error": "internal", "echo": dict(request.headers)}, status=500)


SERVERS = {"succeeds": good_server, "unauthorized": refusing_server, "server-errors": broken_server}


def every_text(project: Path) -> dict[str, str]:
    """Every file of the project folder but configuration.json, as text (bytes decoded leniently), and every table
    of the warehouse in every schema, dumped row by row."""
    texts = {
        str(path.relative_to(project)): path.read_bytes().decode("utf-8", "replace")
        for path in project.rglob("*")
        if path.is_file() and path.name != "configuration.json"
    }
    warehouse = project / "files" / "warehouse.db"
    if warehouse.exists():
        connection = duckdb.connect(str(warehouse), read_only=True)
        try:
            tables = connection.execute("select table_schema, table_name from information_schema.tables").fetchall()
            for schema, table in tables:
                dumped = connection.execute(f'select columns(*)::varchar from "{schema}"."{table}"').fetchall()
                texts[f"warehouse:{schema}.{table}"] = "\n".join(repr(row) for row in dumped)
        finally:
            connection.close()
    return texts


@pytest.mark.parametrize("server", list(SERVERS))
def test_the_key_appears_nowhere_after_fivetran_debug(tmp_path: Path, server: str) -> None:
    """After a good run, a 401 and 500s: the key is in no output, state, table, file or crash report."""
    config = {
        "base_url": "",
        "tables": "users,posts",
        "page_size": "10",
        "api_key": API_KEY,
        "max_retries": "2",
        "base_delay": "0.01",
        "max_delay": "0.02",
        "api_timeout_seconds": "5",
        "failure_threshold": "10",
        "total_error_threshold": "1",
    }
    with serve(SERVERS[server]) as (url, seen):
        config["base_url"] = url
        project = make_project(tmp_path / "project", config)
        bound = time_bound(settings_of(config), requests=4) + START_SECONDS
        result = timed_debug(project, bound=bound)
    texts = every_text(project)
    texts["output"] = result.stdout
    leaks = sorted(name for name, text in texts.items() if API_KEY in text)
    assert leaks == []
    assert "warehouse:tester.sync_runs" in texts
    assert (project / "files" / "state.json").exists()
    expected_exit = {"succeeds": 0, "unauthorized": 1, "server-errors": 1}[server]
    assert result.returncode == expected_exit, result.stdout[-3000:]
    if server == "unauthorized":
        assert len(seen.requests) == 2  # the first page of each table, then the CRITICAL error stops the sync
        assert "CRITICAL error in table" in result.stdout
    if server == "server-errors":
        assert "total_error_threshold (1) exceeded: 2 errors" in result.stdout
    if server == "succeeds":
        assert len(texts["warehouse:tester.posts"].splitlines()) == 30


def in_process_texts(run: Any) -> str:
    return "\n".join([repr(run.result), run.log.text(), repr(run.sink.calls)])


@pytest.mark.parametrize("server", list(SERVERS))
def test_the_key_appears_in_no_result_message_or_log_line(server: str) -> None:
    """In process: the SyncResult (message, summary), every log line and every call made to the SDK."""
    with serve(SERVERS[server]) as (url, _):
        config = {
            "base_url": url,
            "tables": "users,posts",
            "page_size": "10",
            "api_key": API_KEY,
            "max_retries": "2",
            "base_delay": "0.01",
            "max_delay": "0.02",
            "failure_threshold": "10",
            "api_timeout_seconds": "2",
        }
        run = checked_sync(config, bound=time_bound(settings_of(config), requests=4), ports=[port_of(url)])
    assert API_KEY not in in_process_texts(run)
    expected_status = {"succeeds": "succeeded", "unauthorized": "failed", "server-errors": "partial"}[server]
    assert run.result.status == expected_status


def test_the_settings_never_print_the_key() -> None:
    """repr and str of the settings, and a configuration error about another key, do not carry the key."""
    settings, _ = parse_settings({"api_key": API_KEY})
    assert settings.source_values["api_key"] == API_KEY
    assert API_KEY not in repr(settings)
    assert API_KEY not in str(settings)
    with pytest.raises(ConfigurationError) as refused:
        parse_settings({"api_key": API_KEY, "max_workers": "many"})
    assert API_KEY not in "".join(traceback.format_exception(refused.value))


def test_an_api_key_with_a_line_break_is_refused_without_echoing_it() -> None:
    """An api_key with CR/LF is a ConfigurationError naming api_key without its value, not a crash in aiohttp."""
    bad_key = f"{API_KEY}\r\nX-Injected: 1"
    with serve(good_server) as (url, seen), pytest.raises(ConfigurationError) as refused:
        checked_sync({"base_url": url, "tables": "posts", "api_key": bad_key}, bound=10.0, ports=[port_of(url)])
    assert refused.value.key == "api_key"
    assert API_KEY not in str(refused.value)
    assert seen.requests == []


@pytest.mark.parametrize(
    ("base_url", "allowed"),
    [
        ("http://api.example.com", False),
        ("http://127.0.0.1.example.com", False),
        ("http://10.0.0.8:8080", False),
        ("http://localhost:8000", True),
        ("http://127.0.0.2:8000", True),
        ("http://[::1]:8000", True),
        ("https://api.example.com", True),
    ],
)
def test_plain_http_is_allowed_only_to_loopback_unless_insecure_http_is_allowed(base_url: str, allowed: bool) -> None:
    """Plain http to a non-loopback host is refused naming base_url; allow_insecure_http "true" allows it."""
    if allowed:
        assert parse_settings({"base_url": base_url})[0].base_url == base_url
    else:
        with pytest.raises(ConfigurationError) as refused:
            parse_settings({"base_url": base_url})
        assert refused.value.key == "base_url"
        assert "allow_insecure_http" in str(refused.value)
    assert parse_settings({"base_url": base_url, "allow_insecure_http": "true"})[0].base_url == base_url
