"""Regressions from the red team: links, parent values, logins and base URLs that lead somewhere else.

Each test serves the handlers it needs on 127.0.0.1 (over https where an allowed host needs it, with a certificate
made for the test), declares the source a user would (`tests/integration/declared.py`), and asserts what each
server saw, what landed and what the sync said. Every one failed before core8's "Fix what the red team found".
"""

from __future__ import annotations

import datetime as dt
import importlib
import ipaddress
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from aiohttp import web

from async_core.source import BearerAuth, Column, JsonLink, Parent, SessionAuth, TableSpec
from tests.devtools import pytest
from tests.integration.declared import ID, declare, errors, sync
from tests.integration.servers import serve
from tests.sinks import RecordingSink
from tests.states import open_pass

# cryptography (which the SDK brings) by name: its wheel has no top_level.txt, so a static import sends the SDK's
# pipreqs check to the network (see tests/devtools.py).
x509: Any = importlib.import_module("cryptography.x509")
NameOID: Any = importlib.import_module("cryptography.x509.oid").NameOID
hashes: Any = importlib.import_module("cryptography.hazmat.primitives.hashes")
serialization: Any = importlib.import_module("cryptography.hazmat.primitives.serialization")
ec: Any = importlib.import_module("cryptography.hazmat.primitives.asymmetric.ec")

SECRET = "s3cret-token"


def thirty_rows_by_link(user_info: dict[str, bool] | None = None) -> Any:
    """`{"data": [...10 rows], "next": "/t?p=N"}` over 30 rows; while `user_info["on"]`, the next link is absolute
    and carries user info on the same host (http://u:p@127.0.0.1:port/t?p=N)."""

    async def handler(request: web.Request) -> web.StreamResponse:
        page = int(request.query.get("p", 1))
        following = f"/t?p={page + 1}" if page < 3 else None
        if following and user_info and user_info["on"]:
            following = f"http://u:p@{request.host}{following}"
        return web.json_response({"data": [{"id": i} for i in range(10 * page - 9, 10 * page + 1)], "next": following})

    return handler


def linked(monkeypatch: Any, **source: Any) -> None:
    declare(monkeypatch, TableSpec(name="t", path="/t", columns=(ID,), records="data", paginator=JsonLink()), **source)


# -- next links


def test_a_next_link_with_user_info_is_refused_and_the_table_alone_is_incomplete(monkeypatch: Any) -> None:
    """A next link http://u:p@<home>/t?p=2: refused with ForeignOriginError before it is sent, page 1's rows land,
    the sync is partial (aiohttp's ValueError on it failed the whole sync as a CRITICAL bug)."""
    linked(monkeypatch, auth=BearerAuth())
    with serve(thirty_rows_by_link({"on": True})) as (url, seen):
        sink = RecordingSink()
        result = sync(url, sink, bearer_token=SECRET)
    assert seen.requests == ["/t"]
    assert sink.ids("t") == list(range(1, 11))
    assert result.status == "partial"
    assert errors(sink) == [("t", 2, "ForeignOriginError")]


def test_after_a_refused_user_info_link_the_next_sync_starts_the_pass_over(monkeypatch: Any) -> None:
    """The refused link is the open pass's resume point; once the server behaves, the next sync starts at page 1
    and lands all 30 rows (it resumed at the link and failed the same way every sync)."""
    linked(monkeypatch, auth=BearerAuth())
    user_info = {"on": True}
    with serve(thirty_rows_by_link(user_info)) as (url, seen):
        first = RecordingSink()
        sync(url, first, bearer_token=SECRET)
        state = first.checkpoints()[-1]
        user_info["on"] = False
        seen.requests.clear()
        second = RecordingSink()
        result = sync(url, second, state, bearer_token=SECRET)
    assert open_pass(state, "t") is not None
    assert seen.requests == ["/t", "/t?p=2", "/t?p=3"]
    assert second.ids("t") == list(range(1, 31))
    assert result.status == "succeeded"
    assert open_pass(second.checkpoints()[-1], "t") is None


def test_a_resume_link_on_a_base_url_that_moved_restarts_the_pass(monkeypatch: Any) -> None:
    """A pass left open at a next link of the old host (page 2 answered 404), then base_url moves to another port:
    the next sync starts over at page 1 on the new host and lands all 30 rows (the old link was refused every
    sync, until someone reset the state)."""
    linked(monkeypatch)
    serving = thirty_rows_by_link()

    async def page_two_missing(request: web.Request) -> web.StreamResponse:
        if request.query.get("p") == "2":
            return web.json_response({}, status=404)
        return await serving(request)

    with serve(page_two_missing) as (old_url, _):
        first = RecordingSink()
        sync(old_url, first)
    state = first.checkpoints()[-1]
    with serve(serving) as (new_url, seen):
        second = RecordingSink()
        result = sync(new_url, second, state)
    resume = open_pass(state, "t")
    assert resume is not None
    assert resume["resume"]["url"] == f"{old_url}/t?p=2"
    assert seen.requests == ["/t", "/t?p=2", "/t?p=3"]
    assert second.ids("t") == list(range(1, 31))
    assert result.status == "succeeded"
    assert second.rows("sync_errors") == []


# -- parent values in a child's path


def _declare_companies_and_departments(monkeypatch: Any) -> None:
    """companies (key `cid`, a string) and their departments at /companies/{cid}/departments, behind bearer auth."""
    companies = TableSpec(
        name="companies", path="/companies", columns=(Column("cid", "cid", "STRING"),), primary_key=("cid",)
    )
    departments = TableSpec(
        name="departments",
        path="/companies/{cid}/departments",
        columns=(Column("cid", "cid", "STRING", from_parent=True), ID),
        primary_key=("cid", "id"),
        parent=Parent("companies"),
    )
    declare(monkeypatch, companies, departments, auth=BearerAuth())


def test_a_parent_value_fills_one_path_segment_and_cannot_climb_the_path(monkeypatch: Any) -> None:
    """A parent key "1/../../admin/secrets?" is percent-encoded into one segment: the child asks
    /companies/1%2F..%2F..%2Fadmin%2Fsecrets%3F/departments, never /admin/secrets with the source's token."""

    async def handler(request: web.Request) -> web.StreamResponse:
        if request.path == "/companies":
            return web.json_response([{"cid": "1"}, {"cid": "1/../../admin/secrets?"}])
        if request.path == "/admin/secrets":
            return web.json_response([{"id": 666}])
        return web.json_response([{"id": 1}])

    _declare_companies_and_departments(monkeypatch)
    with serve(handler) as (url, seen):
        sink = RecordingSink()
        result = sync(url, sink, tables="departments", bearer_token=SECRET)
    assert sorted(seen.requests) == [
        "/companies",
        "/companies/1%2F..%2F..%2Fadmin%2Fsecrets%3F/departments",
        "/companies/1/departments",
    ]
    assert sorted(row["id"] for row in sink.rows("departments")) == [1, 1]
    assert result.status == "succeeded"


def test_a_parent_value_of_dot_dot_cannot_climb_the_path(monkeypatch: Any) -> None:
    """A parent key ".." is not sent as a path segment: the child never asks /departments (the template's
    /companies/../departments resolved), and nothing served there is written as that parent's departments."""

    async def handler(request: web.Request) -> web.StreamResponse:
        if request.path == "/companies":
            return web.json_response([{"cid": "1"}, {"cid": ".."}])
        if request.path == "/departments":
            return web.json_response([{"id": 666}])
        return web.json_response([{"id": 1}])

    _declare_companies_and_departments(monkeypatch)
    with serve(handler) as (url, seen):
        sink = RecordingSink()
        sync(url, sink, tables="departments", bearer_token=SECRET)
    assert "/departments" not in seen.requests
    assert [row["id"] for row in sink.rows("departments")] == [1]


# -- a login body is a credential


@pytest.fixture
def tls(tmp_path: Path) -> Iterator[tuple[ssl.SSLContext, ssl.SSLContext]]:
    """(server context, client context) for https://127.0.0.1: a self-signed certificate made for this test."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert_file, key_file)
    yield server, ssl.create_default_context(cafile=str(cert_file))


def test_a_login_redirected_to_an_allowed_host_does_not_send_the_password_there(
    monkeypatch: Any, tls: tuple[ssl.SSLContext, ssl.SSLContext]
) -> None:
    """The login POST answers 307 to https://<allowed host>/collect: the body (username and password) is not sent
    there; the allowed host sees no request, and the sync fails (the 307 repeated the body to the other host)."""
    server_tls, client_tls = tls
    monkeypatch.setattr("aiohttp.connector._SSL_CONTEXT_VERIFIED", client_tls)  # trust the test's certificate
    bodies: list[str] = []

    async def allowed_host(request: web.Request) -> web.StreamResponse:
        bodies.append(await request.text())
        return web.json_response({"token": "collected"})

    with serve(allowed_host, tls=server_tls) as (partner_url, partner_saw):

        async def home(request: web.Request) -> web.StreamResponse:
            if request.path == "/login":
                raise web.HTTPTemporaryRedirect(f"{partner_url}/collect")
            return web.json_response({"data": [{"id": 1}], "next": None})

        linked(monkeypatch, auth=SessionAuth(login_path="/login"), allowed_hosts=frozenset({"127.0.0.1"}))
        with serve(home) as (url, seen):
            sink = RecordingSink()
            result = sync(url, sink, session_username="alice", session_password="hunter2")
    assert bodies == []
    assert partner_saw.requests == []
    assert seen.requests == ["/login"]
    assert result.status == "failed"
    assert errors(sink) == [("t", 1, "ForeignOriginError")]


# -- a base_url that is not the API


async def html_page(request: web.Request) -> web.StreamResponse:
    return web.Response(text="<html>hello</html>", content_type="text/html")


async def error_envelope(request: web.Request) -> web.StreamResponse:
    return web.json_response({"error": "wrong host"})


def two_enveloped_tables(monkeypatch: Any) -> None:
    declare(
        monkeypatch,
        TableSpec(name="a", path="/a", columns=(ID,), records="data"),
        TableSpec(name="b", path="/b", columns=(ID,), records="data"),
    )


def test_a_base_url_answering_html_fails_the_sync_with_one_line(monkeypatch: Any) -> None:
    """Every path answers 200 text/html (a web site, a captive portal): the sync fails with one line that says
    nothing could be fetched and to check base_url (it ended partial, which the platform counts as a success)."""
    two_enveloped_tables(monkeypatch)
    with serve(html_page) as (url, _):
        sink = RecordingSink()
        result = sync(url, sink)
    assert result.status == "failed"
    assert result.message == (
        "nothing could be fetched: every table's first request failed (a: expected a JSON response, got content "
        "type 'text/html; charset=utf-8'); check base_url and the tables' paths"
    )
    assert sorted(errors(sink)) == [("a", 1, "FatalError"), ("b", 1, "FatalError")]


def test_a_base_url_answering_an_error_envelope_fails_the_sync_with_one_line(monkeypatch: Any) -> None:
    """Every path answers 200 {"error": "wrong host"}, no records where the tables expect them: the sync fails with
    one line naming the first table's error and base_url."""
    two_enveloped_tables(monkeypatch)
    with serve(error_envelope) as (url, _):
        sink = RecordingSink()
        result = sync(url, sink)
    assert result.status == "failed"
    assert result.message == (
        "nothing could be fetched: every table's first request failed (a: expected a JSON array of records at "
        "'data', got NoneType); check base_url and the tables' paths"
    )
    assert sorted(errors(sink)) == [("a", 1, "FatalError"), ("b", 1, "FatalError")]
